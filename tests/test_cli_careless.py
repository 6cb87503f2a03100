"""The command with 2 sources, link cycles, Ctrl-C, careless outputs and
hostile names (issue #13, points 1, 2, 5, 10 and 12)."""

import json
import os
import signal
import threading

import numpy as np
import pytest
from PIL import Image

from skfingerprint import load
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.cli import main

from cli_helpers import FIT, fit_two_sources
from cli_helpers import last_error as _last_error
from cli_helpers import make_tree as _tree


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """A tree of exactly 2 sources and a model fitted on it by the command."""
    return fit_two_sources(tmp_path_factory)


# --- point 1: exactly 2 sources ---------------------------------------------

def test_binary_scores_follow_scikit_learn_conventions():
    rng = np.random.RandomState(0)
    Z = np.vstack([rng.normal(0, 1, (6, 4)) + 3, rng.normal(0, 1, (6, 4)) - 3])
    y = np.repeat(["a", "b"], 6)
    clf = NearestFingerprintClassifier().fit(Z, y)
    d = clf.decision_function(Z)
    assert d.shape == (12,)  # one score per bag for 2 classes, as in scikit-learn
    assert clf.predict_proba(Z).shape == (12, 2)
    np.testing.assert_array_equal(clf.predict(Z), clf.classes_[(d > 0).astype(int)])


def test_attribute_with_a_model_of_two_sources(two, capsys):
    root, model = two
    assert main(["attribute", model, os.path.join(root, "a"), "--bag-size", "3",
                 "--json"]) == 0
    bags = json.loads(capsys.readouterr().out)["bags"]
    assert len(bags) == 2
    clf = load(model).steps[-1][1]
    for b in bags:
        assert set(b["probabilities"]) == {"a", "b"}
        assert b["runner_up"] in {"a", "b"} and b["runner_up"] != b["source"]
        # the score of the predicted source is d for 'b' and -d for 'a':
        # never negative, as the predicted source is the one d favours
        assert b["score"] >= 0
    assert np.isfinite([b["score"] for b in bags]).all()
    assert main(["attribute", model, os.path.join(root, "b"), "-q"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1].split()[2] in clf.classes_


# --- point 2: one walker, with the cycle guard ---------------------------------

def _within(fn, seconds=60):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("status", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the command did not return"
    return out["status"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_attribute_survives_a_symlink_cycle_and_skips_macosx(two, tmp_path, capsys):
    root, model = two
    folder = tmp_path / "suspect"
    _tree(folder, sources=("x",), n=3)
    os.symlink(folder, folder / "x" / "loop")  # x/loop -> suspect: a cycle
    (folder / "__MACOSX").mkdir()
    Image.new("RGB", (8, 8)).save(folder / "__MACOSX" / "._0.png")
    assert _within(lambda: main(["attribute", model, str(folder), "--json"])) == 0
    files = json.loads(capsys.readouterr().out)["bags"][0]["files"]
    assert sorted(os.path.basename(f) for f in files) == ["0.png", "1.png", "2.png"]


# --- point 5: Ctrl-C during fit ------------------------------------------------

@pytest.fixture
def ctrl_c_after_first_epoch(monkeypatch):
    from skorch.callbacks import EpochTimer

    original = EpochTimer.on_epoch_begin

    def on_epoch_begin(self, net, **kwargs):
        original(self, net, **kwargs)
        if len(net.history) == 2:  # epoch 2 begins: epoch 1 is complete
            signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C

    monkeypatch.setattr(EpochTimer, "on_epoch_begin", on_epoch_begin)


def _fit_args(root, out, *extra):
    args = ["fit", root, *FIT, "-o", str(out), *extra]
    args[args.index("--epochs") + 1] = "3"
    return args


def test_interrupted_fit_exits_130_and_keeps_the_existing_model(
        two, tmp_path, capsys, ctrl_c_after_first_epoch):
    root, model = two
    out = tmp_path / "model.skfp"
    out.write_bytes(open(model, "rb").read())
    before = out.read_bytes()
    assert main(_fit_args(root, out)) == 130
    assert out.read_bytes() == before
    err = capsys.readouterr().err
    assert "warning: Training interrupted after epoch 1" in err  # the library's word
    assert "--save-on-interrupt" in err
    fresh = tmp_path / "fresh.skfp"
    assert main(_fit_args(root, fresh)) == 130
    assert not fresh.exists()


def test_save_on_interrupt_saves_the_partly_trained_model(
        two, tmp_path, ctrl_c_after_first_epoch):
    root, model = two
    out = tmp_path / "model.skfp"
    out.write_bytes(open(model, "rb").read())
    before = out.read_bytes()
    assert main(_fit_args(root, out, "--save-on-interrupt")) == 130
    assert out.read_bytes() != before
    history = load(out).steps[0][1].net_.history
    assert [h["epoch"] for h in history if h.get("batches")] == [1]  # one epoch of 3


# --- point 10: careless outputs --------------------------------------------------

@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a POSIX user that file permissions apply to")
def test_read_only_output_folder_is_refused_before_training(two, tmp_path, capsys):
    root, _ = two
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["fit", root, *FIT, "-o", str(folder / "m.skfp")]) == 2
    finally:
        folder.chmod(0o755)
    assert "cannot write" in _last_error(capsys)


def test_unwritable_output_folder_is_refused_before_training(two, tmp_path, capsys,
                                                             monkeypatch):
    """The writability probe runs before any training (simulated failure)."""
    import tempfile

    import skfingerprint.cli._fit as fit_command

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    trained = []
    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    monkeypatch.setattr(fit_command, "_train", lambda *a: trained.append(1))
    root, _ = two
    assert main(["fit", root, *FIT, "-o", str(tmp_path / "m.skfp")]) == 2
    assert "cannot write" in _last_error(capsys) and not trained


def test_output_onto_a_training_image_needs_force(tmp_path, capsys):
    root = _tree(tmp_path / "tree")
    image = os.path.join(root, "a", "0.png")
    before = open(image, "rb").read()
    assert main(["fit", root, *FIT, "-o", image]) == 2
    last = _last_error(capsys)
    assert "--force" in last and "not a model file" in last
    assert open(image, "rb").read() == before


def test_output_over_an_existing_model_needs_no_force(two, tmp_path):
    root, model = two
    out = tmp_path / "m.skfp"
    out.write_bytes(open(model, "rb").read())
    assert main(["fit", root, *FIT, "-o", str(out)]) == 0


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_symlink_output_is_written_through(two, tmp_path):
    root, _ = two
    target = tmp_path / "models" / "real.skfp"
    target.parent.mkdir()
    link = tmp_path / "current.skfp"
    os.symlink(target, link)
    assert main(["fit", root, *FIT, "-o", str(link)]) == 0
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert load(target).steps[0][0] == "fingerprint"


# --- point 12: terminal escape codes in names ----------------------------------------

def test_escape_codes_in_source_names_are_not_printed_raw(tmp_path, capsys):
    evil = "gan\x1b[2J\x1b]0;pwned\x07"
    root = _tree(tmp_path / "tree", sources=("real", evil))
    model = str(tmp_path / "m.skfp")
    assert main(["fit", root, *FIT, "-o", model]) == 0
    assert main(["attribute", model, os.path.join(root, evil), "--bag-size", "3"]) == 0
    assert main(["families", model, root]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out and "\x07" not in out.out
    assert "\\x1b" in out.out
    assert main(["attribute", model, os.path.join(root, evil), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)  # JSON escapes them itself
    assert evil in parsed["bags"][0]["probabilities"]
