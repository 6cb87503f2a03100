"""The ``skfingerprint`` command: round trip, output formats and usage errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from skfingerprint import load
from skfingerprint.cli import build_parser, main
from skfingerprint.datasets import make_fingerprinted_images

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_tree(root, n_models=3, n_images=16, image_size=16, seed=0):
    data = make_fingerprinted_images(n_models=n_models, n_families=min(2, n_models),
                                     n_images_per_model=n_images,
                                     image_size=image_size, random_state=seed)
    for i, (img, label) in enumerate(zip(data.images, data.labels)):
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(os.path.join(folder, f"{i:04d}.png"))
    return data


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A folder tree of 3 sources x 16 PNGs and a model fitted on it by the CLI."""
    root = tmp_path_factory.mktemp("tree")
    data = _write_tree(str(root))
    model = str(tmp_path_factory.mktemp("model") / "model.skfp")
    status = main(["fit", str(root), "--bag-size", "4", "--epochs", "2",
                   "--seed", "0", "--device", "cpu", "--threads", "1", "-q", "-o", model])
    assert status == 0
    return str(root), model, data


def _assert_usage_error(capsys, status, *fragments):
    err = capsys.readouterr().err
    assert status == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert lines[-1].startswith("skfingerprint: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[-1]


def test_every_command_teaches_by_example(capsys):
    for argv in ([], ["demo"], ["zoo"], ["zoo", "build"], ["zoo", "info"],
                 ["zoo", "export"], ["fit"], ["attribute"], ["families"]):
        with pytest.raises(SystemExit) as exc:
            main(argv + ["--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out
        assert "skfingerprint " in out.split("examples:")[1]


def test_entry_point_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "skfingerprint.cli", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.startswith("skfingerprint ")


def test_fit_saves_a_safe_pipeline(fitted):
    root, model_path, data = fitted
    with open(model_path, "rb") as f:
        assert f.read(2) == b"PK"  # the skops envelope, not a pickle
    model = load(model_path)
    assert model.steps[0][0] == "fingerprint"
    assert model.classes_.tolist() == sorted(data.sources)
    encoder = model.steps[0][1]
    assert encoder.bag_size == 4 and encoder.max_epochs == 2
    # The common image size is recorded, so other sizes are resized to it.
    assert tuple(encoder.image_size) == (16, 16)
    # the encoder's own default augmentation (one meaning for "augment")
    assert encoder.augmentation == "auto"


def test_fit_no_augment_trains_on_the_images_as_they_are(fitted, tmp_path):
    root, _, _ = fitted
    model = str(tmp_path / "plain.skfp")
    assert main(["fit", root, "--bag-size", "4", "--epochs", "1", "--seed", "0",
                 "--device", "cpu", "--threads", "1", "-q", "--no-augment", "-o", model]) == 0
    assert load(model).steps[0][1].augmentation is None


def test_attribute_json(fitted, capsys):
    root, model, data = fitted
    source = sorted(data.sources)[0]
    folder = os.path.join(root, source)
    assert main(["attribute", model, folder, "--bag-size", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    bags = out["bags"]
    # 16 images in bags of 5: 5 + 5 + 5 + 1, in sorted file order.
    assert [b["n_images"] for b in bags] == [5, 5, 5, 1]
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    assert [f for b in bags for f in b["files"]] == files
    for b in bags:
        assert set(b["probabilities"]) == set(data.sources)
        assert sum(b["probabilities"].values()) == pytest.approx(1.0)
        assert b["probability"] == max(b["probabilities"].values())
        assert b["runner_up"] != b["source"]
        assert b["runner_up_probability"] <= b["probability"]
        assert b["probabilities"][b["runner_up"]] == b["runner_up_probability"]
        # nearest known relatives: the closest fingerprints, nearest first
        near = b["nearest_known_sources"]
        assert len(near) == min(3, len(data.sources))
        assert [n["distance"] for n in near] == sorted(n["distance"] for n in near)
        assert near[0]["source"] == b["nearest_source"]
        assert len({n["source"] for n in near}) == len(near)


def test_attribute_one_bag_of_files_as_text(fitted, capsys):
    root, model, data = fitted
    source = sorted(data.sources)[-1]
    files = sorted(os.path.join(root, source, f) for f in os.listdir(os.path.join(root, source)))
    assert main(["attribute", model, *files[:6], "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["bag", "images", "source"]
    assert len(lines) == 2  # one bag
    fields = lines[1].split()
    assert fields[0] == "1" and fields[1] == "6"
    assert fields[2] in data.sources
    assert os.path.basename(files[0]) in lines[1]


def test_families_plot_and_json(fitted, tmp_path, capsys):
    root, model, data = fitted
    plot = tmp_path / "families.png"
    assert main(["families", model, root, "--plot", str(plot), "--n-families", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["source"] for r in out["sources"]) == sorted(data.sources)
    assert {r["family"] for r in out["sources"]} == {0, 1}
    D = np.array(out["distances"])
    assert D.shape == (3, 3) and np.allclose(D, D.T) and np.allclose(np.diag(D), 0)
    with open(plot, "rb") as f:
        assert f.read(8) == PNG_MAGIC


@pytest.mark.parametrize("features, metric, axis", [
    ("encoder", "correlation", "distance (1 - mean |correlation|)"),
    ("encoder", "euclidean", "mean Euclidean distance"),
    ("spectrum", "correlation", "distance (1 - correlation of the mean spectra)"),
    ("spectrum", "euclidean", "Euclidean distance of the mean spectra"),
])
def test_families_plot_names_its_distance(fitted, tmp_path, monkeypatch, features,
                                          metric, axis):
    from skfingerprint.visualization import FamilyDendrogramDisplay

    root, model, _ = fitted
    drawn = []
    plot = FamilyDendrogramDisplay.plot

    def recording_plot(self, **kw):
        drawn.append(plot(self, **kw).ax_)
        return self

    monkeypatch.setattr(FamilyDendrogramDisplay, "plot", recording_plot)
    assert main(["families", model, root, "--plot", str(tmp_path / "f.png"),
                 "--features", features, "--metric", metric]) == 0
    assert [ax.get_xlabel() for ax in drawn] == [axis]


@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_fit_bad_folder_is_a_usage_error(tmp_path, capsys, kind):
    root = tmp_path / "images"
    if kind == "file":
        root.write_text("not a folder")
    elif kind == "empty":
        (root / "gan").mkdir(parents=True)
    status = main(["fit", str(root), "--bag-size", "4", "-o", str(tmp_path / "m.skfp")])
    _assert_usage_error(capsys, status, str(root))
    assert not (tmp_path / "m.skfp").exists()


def test_fit_needs_two_sources_and_full_bags(tmp_path, capsys):
    root = tmp_path / "one"
    _write_tree(str(root), n_models=1, n_images=4)
    status = main(["fit", str(root), "--bag-size", "2", "-q", "-o", str(tmp_path / "m")])
    _assert_usage_error(capsys, status, "2 source")
    root = tmp_path / "two"
    _write_tree(str(root), n_models=2, n_images=4)
    status = main(["fit", str(root), "--bag-size", "8", "-q", "-o", str(tmp_path / "m")])
    _assert_usage_error(capsys, status, "--bag-size")


def test_mixed_sizes_fit_in_patch_mode_and_attribute_a_large_jpeg(tmp_path, capsys):
    """No size option: the images differ in size, so fit uses patch mode."""
    from skfingerprint import load

    root = tmp_path / "mixed"
    _write_tree(str(root), n_models=2, n_images=4, image_size=16)
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(root / "A1" / "small.png")
    model_path = str(tmp_path / "m.skfp")
    assert main(["fit", str(root), "--bag-size", "2", "--epochs", "1", "-q",
                 "-o", model_path]) == 0
    encoder = load(model_path).steps[0][1]
    assert encoder.patch_size == 8 and encoder.image_size is None  # the smallest side
    big = tmp_path / "photo.jpg"
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 256, (300, 400, 3)).astype(np.uint8)).save(big)
    capsys.readouterr()
    assert main(["attribute", model_path, str(big), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the tree's two sources are A1 and B1 (two families of one model each)
    assert load(model_path).classes_.tolist() == ["A1", "B1"]
    assert out["bags"][0]["source"] in ("A1", "B1")


def test_unreadable_model_is_a_usage_error(fitted, tmp_path, capsys):
    root, _, _ = fitted
    junk = tmp_path / "junk.skfp"
    junk.write_bytes(b"\x80\x04 this is a pickle, not a model")
    _assert_usage_error(capsys, main(["attribute", str(junk), root]), "junk.skfp")
    _assert_usage_error(capsys, main(["families", str(tmp_path / "none.skfp"), root]),
                        "does not exist")


def test_attribute_bad_paths_are_usage_errors(fitted, tmp_path, capsys):
    _, model, _ = fitted
    _assert_usage_error(capsys, main(["attribute", model, str(tmp_path / "nothing")]),
                        "does not exist")
    (tmp_path / "empty").mkdir()
    _assert_usage_error(capsys, main(["attribute", model, str(tmp_path / "empty")]),
                        "no image files")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    _assert_usage_error(capsys, main(["attribute", model, str(text)]), "notes.png")


def test_argparse_mistakes_exit_2(capsys):
    for argv in (["fit", "somewhere"], ["attribute", "m.skfp"], ["fit", "x", "--bag-size",
                 "0", "-o", "m"], ["bogus"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "skfingerprint: error:" in capsys.readouterr().err


def test_zoo_info_does_not_build(tmp_path, capsys):
    assert main(["zoo", "info", "--data-home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "not cached" in out and "skfingerprint zoo build" in out
    assert not list(tmp_path.glob("**/zoo-*"))


def test_zoo_export_writes_a_folder_tree(tmp_path, monkeypatch, capsys):
    from sklearn.utils import Bunch

    import skfingerprint.datasets as datasets

    data = make_fingerprinted_images(n_models=2, n_images_per_model=3, image_size=8,
                                     random_state=0)

    def fake_zoo(*args, **kwargs):
        return Bunch(images=data.images, labels=data.labels, sources=data.sources)

    monkeypatch.setattr(datasets, "make_model_zoo", fake_zoo)
    out = tmp_path / "zoo"
    assert main(["zoo", "export", str(out), "--n-images", "2", "-q"]) == 0
    assert sorted(os.listdir(out)) == sorted(data.sources)
    for source in data.sources:
        assert sorted(os.listdir(out / source)) == ["00000.png", "00001.png"]
    # Not over an existing non-empty folder without --force.
    _assert_usage_error(capsys, main(["zoo", "export", str(out), "-q"]), "--force")


def test_demo_writes_the_report(tmp_path, monkeypatch, capsys):
    import skfingerprint._demo as demo

    tiny = dict(demo._SETTINGS["quick"], max_epochs=1, n_splits=2,
                synthetic={"n_models": 3, "n_families": 2, "n_images_per_model": 32,
                           "image_size": 8})
    monkeypatch.setitem(demo._SETTINGS, "quick", tiny)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--data", "synthetic", "--out", str(out), "-q",
                 "--device", "cpu"]) == 0
    names = set(os.listdir(out))
    pictures = {"demo_correlation_matrix.png", "demo_dendrogram.png", "demo_samples.png"}
    assert pictures | {"report.md", "results.json"} <= names
    for name in pictures:
        with open(out / name, "rb") as f:
            assert f.read(8) == PNG_MAGIC
    report_md = (out / "report.md").read_text()
    for name in pictures:
        assert f"]({name})" in report_md
    results = json.loads((out / "results.json").read_text())
    assert results["data_kind"] == "synthetic" and results["n_splits"] == 2
    assert len(results["accuracy"]) == 2
    assert all(0.0 <= a <= 1.0 for a in results["accuracy"])
    assert len(results["correlation_matrix"]) == len(results["sources"]) == 4  # 3 + real
    assert set(results["clusters"]) == set(results["sources"])


def test_parser_is_reusable():
    parser = build_parser()
    args = parser.parse_args(["fit", "root", "--bag-size", "8", "-o", "m.skfp"])
    assert (args.epochs, args.image_size, args.seed, args.device) == (None, None, 0, "auto")
    assert args.num_workers == "auto"
    args = parser.parse_args(["fit", "root", "--bag-size", "8", "-o", "m.skfp",
                              "--num-workers", "2"])
    assert args.num_workers == 2
    args = parser.parse_args(["demo", "--jobs", "1"])
    assert args.jobs == 1


@pytest.mark.parametrize("argv", [["fit", "root", "--bag-size", "8", "-o", "m", "--num-workers", "x"],
                                  ["fit", "root", "--bag-size", "8", "-o", "m", "--num-workers", "-1"],
                                  ["demo", "--jobs", "0"]])
def test_parser_refuses_bad_worker_counts(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_fit_reject_rate_calibrates_on_held_out_bags_and_attribute_says_unknown(
        tmp_path, capsys):
    """--reject-rate: threshold from held-out bags; a new source is 'unknown'."""
    known, new = tmp_path / "known", tmp_path / "new"
    data = make_fingerprinted_images(n_models=4, n_families=4, n_images_per_model=40,
                                     image_size=16, strength=0.05, random_state=0)
    unseen = data.sources[-1]
    for i, (img, label) in enumerate(zip(data.images, data.labels)):
        folder = (new if label == unseen else known) / label
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:04d}.png")
    model_path = str(tmp_path / "model.skfp")
    status = main(["fit", str(known), "--bag-size", "4", "--epochs", "8",
                   "--reject-rate", "0.1", "--calibration", "0.3", "--seed", "0",
                   "--device", "cpu", "--threads", "1", "-o", model_path])
    assert status == 0
    assert "in expectation" in capsys.readouterr().out  # the guarantee, in words
    model = load(model_path)
    clf = model.steps[-1][1]
    assert np.isfinite(clf.threshold_) and clf.false_rejection_rate == 0.1
    # held-out calibration makes the Mahalanobis score usable (docs/guide/open_set.md)
    assert clf.rejection_score == "mahalanobis"
    # the calibration bags were enrolled: every known bag counts in a fingerprint
    assert clf.class_counts_.tolist() == [10, 10, 10]

    assert main(["attribute", model_path, str(new / unseen), "--bag-size", "4",
                 "--json"]) == 0  # 40 images: 10 bags
    bags = json.loads(capsys.readouterr().out)["bags"]
    for b in bags:
        assert b["threshold"] == pytest.approx(clf.threshold_)
        assert (b["source"] == "unknown") == (b["unknown_score"] > b["threshold"])
        assert b["nearest_source"] in data.sources[:-1]
    assert sum(b["source"] == "unknown" for b in bags) >= 8  # of 10 bags
    assert main(["attribute", model_path, str(new / unseen), "--bag-size", "4"]) == 0
    assert "unknown" in capsys.readouterr().out
    # bags of a known source are attributed to it, not rejected
    source = data.sources[0]
    assert main(["attribute", model_path, str(known / source), "--bag-size", "4",
                 "--json"]) == 0
    bags = json.loads(capsys.readouterr().out)["bags"]
    assert sum(b["source"] == source for b in bags) >= 8


def test_reject_rate_needs_enough_bags(tmp_path, capsys):
    root = tmp_path / "tree"
    _write_tree(str(root), n_models=2, n_images=8)
    status = main(["fit", str(root), "--bag-size", "4", "--reject-rate", "0.05",
                   "-o", str(tmp_path / "m.skfp")])
    _assert_usage_error(capsys, status, "at least 3 bags per source")
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(root), "--bag-size", "4", "--reject-rate", "5",
              "-o", str(tmp_path / "m.skfp")])
    assert exc.value.code == 2


def _confounded_tree(root, n=24):
    """``real`` all JPEG q75, the fakes PNG: the format gives the source away."""
    rng = np.random.RandomState(0)
    for source in ("real", "fake_a", "fake_b"):
        os.makedirs(os.path.join(root, source))
        for i in range(n):
            img = Image.fromarray(rng.randint(0, 256, (16, 16, 3)).astype(np.uint8))
            if source == "real":
                img.save(os.path.join(root, source, f"{i}.jpg"), quality=75)
            else:
                img.save(os.path.join(root, source, f"{i}.png"))


def test_audit_flags_a_format_confound_and_fit_reencode_removes_it(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(tmp_path / "home"))  # the copies
    root = str(tmp_path / "tree")
    _confounded_tree(root)
    assert main(["audit", root, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["confounded"] is True
    assert main(["audit", root]) == 0
    assert "real" in capsys.readouterr().out
    # fit warns once (the audit), and --reencode leaves the files and trains
    model = str(tmp_path / "m.skfp")
    assert main(["fit", root, "--bag-size", "4", "--epochs", "1", "-q", "-o", model]) == 0
    assert "warning" in capsys.readouterr().err
    assert main(["fit", root, "--bag-size", "4", "--epochs", "1", "-q", "--reencode",
                 "jpeg:90", "--force", "-o", model]) == 0
    assert "warning" not in capsys.readouterr().err
    assert sorted(os.listdir(os.path.join(root, "real")))[0].endswith(".jpg")


def test_fit_groups_file_reaches_the_encoder_and_bad_files_are_usage_errors(
        tmp_path, capsys):
    root = tmp_path / "tree"
    data = _write_tree(str(root), n_models=3, n_images=16)
    a, b, c = data.sources
    groups = tmp_path / "groups.csv"
    groups.write_text(f"source,group\n{a},family_1\n{b},family_1\n\n")  # c: not listed
    model = str(tmp_path / "m.skfp")
    args = ["fit", str(root), "--bag-size", "4", "--epochs", "2", "--seed", "0",
            "--device", "cpu", "--threads", "1", "-q", "-o", model]
    assert main(args + ["--groups", str(groups)]) == 0
    encoder = load(model).steps[0][1]
    assert dict(zip(encoder.classes_, encoder.source_groups_)) == {
        a: "family_1", b: "family_1", c: c}
    # through the held-out calibration of --reject-rate too
    assert main(args + ["--groups", str(groups), "--reject-rate", "0.3", "--force"]) == 0
    assert load(model).steps[0][1].source_groups_.tolist() == ["family_1", "family_1", c]
    for text, fragment in ((f"{a},family_1\nnot_a_source,x\n", "not_a_source"),
                           (f"{a},family_1,extra\n", "line 1"),
                           (f"{a},x\n{a},y\n", "two groups")):
        groups.write_text(text)
        _assert_usage_error(capsys, main(args + ["--groups", str(groups), "--force"]),
                            fragment)
    status = main(args + ["--groups", str(tmp_path / "missing.csv"), "--force"])
    _assert_usage_error(capsys, status, "cannot read the groups file")


@pytest.fixture(scope="module")
def related(tmp_path_factory):
    """Known sources A1, A2, B1 (a model fitted on them) and an unknown B2,
    of two families that share most of their artifact."""
    data = make_fingerprinted_images(n_models=4, n_families=2, n_images_per_model=24,
                                     image_size=16, family_share=0.8, random_state=0)
    known, unknown = tmp_path_factory.mktemp("known"), tmp_path_factory.mktemp("unknown")
    for i, (img, label) in enumerate(zip(data.images, data.labels)):
        folder = unknown if label == "B2" else known / label
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(os.path.join(folder, f"{i:04d}.png"))
    model = str(tmp_path_factory.mktemp("model") / "model.skfp")
    assert main(["fit", str(known), "--bag-size", "4", "--epochs", "1", "--seed", "0",
                 "--device", "cpu", "--threads", "1", "-q", "-o", model]) == 0
    return str(known), str(unknown), model


def test_attribute_relatives_place_an_unknown_generator_next_to_its_family(related, capsys):
    known, unknown, model = related
    assert main(["attribute", model, unknown, "--bag-size", "8", "--relatives", known,
                 "--json"]) == 0
    bags = json.loads(capsys.readouterr().out)["bags"]
    assert len(bags) == 3
    for b in bags:
        rel = b["nearest_relatives"]
        assert [r["source"] for r in rel][0] == "B1"  # its family's known member
        assert sorted(r["source"] for r in rel) == ["A1", "A2", "B1"]
        assert [r["distance"] for r in rel] == sorted(r["distance"] for r in rel)
    # as text: one more line per bag
    assert main(["attribute", model, unknown, "--relatives", known]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].split(":")[0].strip() == "nearest relatives (residual spectrum)"
    assert lines[-1].split(": ")[1].startswith("B1 (")
    # without --relatives, no such key
    assert main(["attribute", model, unknown, "--json"]) == 0
    assert "nearest_relatives" not in json.loads(capsys.readouterr().out)["bags"][0]


def test_attribute_relatives_of_one_source_is_a_usage_error(related, tmp_path, capsys):
    known, unknown, model = related
    status = main(["attribute", model, unknown, "--relatives", os.path.join(known, "A1")])
    _assert_usage_error(capsys, status)


def test_families_by_spectrum(related, capsys):
    known, unknown, model = related
    assert main(["families", model, known, "--features", "spectrum", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["features"] == "spectrum"
    nearest = {r["source"]: r["nearest"] for r in out["sources"]}
    assert nearest["A1"] == "A2" and nearest["A2"] == "A1"
    assert main(["families", model, known, "--json"]) == 0
    by_encoder = json.loads(capsys.readouterr().out)
    assert by_encoder["features"] == "encoder"
    assert not np.allclose(by_encoder["distances"], out["distances"])


def test_families_euclidean_metric(related, capsys):
    """--metric euclidean: the encoder's fingerprints compared as the encoder
    is trained, the same matrix as fingerprint_distances(metric="euclidean")."""
    from skfingerprint.cli._common import folder_bags, load_model
    from skfingerprint.cluster import fingerprint_distances

    known, unknown, model = related
    assert main(["families", model, known, "--metric", "euclidean", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "euclidean"
    _, encoder = load_model(model)
    _, X, y = folder_bags(known, image_size=encoder.image_size, bag_size=encoder.bag_size,
                          seed=0)
    expected = fingerprint_distances(encoder.transform(X), y, metric="euclidean")
    np.testing.assert_allclose(out["distances"], expected, rtol=1e-6)
    assert main(["families", model, known, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "correlation"


def _main_status(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


def test_fit_runs_without_bag_size(tmp_path, capsys):
    """Issue 40: 'fit ROOT -o m.skfp' refused to run without --bag-size."""
    root = tmp_path / "tree"
    _write_tree(str(root), n_models=2, n_images=16)
    model = str(tmp_path / "m.skfp")
    assert _main_status(["fit", str(root), "--epochs", "1", "-q", "-o", model]) == 0
    from skfingerprint.cli._fit import DEFAULT_BAG_SIZE

    assert load(model).steps[0][1].bag_size == DEFAULT_BAG_SIZE == 8
    assert f"(default: {DEFAULT_BAG_SIZE}" in " ".join(
        build_parser()._subparsers._group_actions[0].choices["fit"].format_help().split())


def test_patch_size_and_image_size_exclude_each_other(tmp_path, capsys):
    """Issue 40: --image-size silently won over --patch-size."""
    root = tmp_path / "tree"
    _write_tree(str(root), n_models=2, n_images=4)
    status = _main_status(["fit", str(root), "--bag-size", "2", "--patch-size", "8",
                           "--image-size", "16", "-o", str(tmp_path / "m.skfp")])
    _assert_usage_error(capsys, status, "not allowed with argument")
    assert not (tmp_path / "m.skfp").exists()


def test_a_thin_image_is_refused_by_name_not_cropped_to_one_pixel(tmp_path, capsys):
    """Issue 40: one 1x500 image made fit choose patch_size=1 for every image."""
    root = tmp_path / "tree"
    _write_tree(str(root), n_models=2, n_images=4)
    Image.fromarray(np.zeros((1, 500, 3), np.uint8)).save(root / "A1" / "thin.png")
    status = main(["fit", str(root), "--bag-size", "2", "--epochs", "1", "-q",
                   "-o", str(tmp_path / "m.skfp")])
    _assert_usage_error(capsys, status, "thin.png", "1x500", "--image-size")
    assert not (tmp_path / "m.skfp").exists()


def test_attribute_pools_whole_bags_without_changing_the_model(fitted, monkeypatch,
                                                               capsys):
    from skfingerprint import SetFingerprintEncoder

    root, model, _ = fitted
    changed = []
    original = SetFingerprintEncoder.set_params
    monkeypatch.setattr(SetFingerprintEncoder, "set_params",
                        lambda self, **p: changed.append(p) or original(self, **p))
    assert load(model).steps[0][1].bag_size == 4
    assert main(["attribute", model, os.path.join(root, "A1"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert changed == [] and out["bags"][0]["n_images"] > 4


def test_attribute_errors_name_only_its_own_options(tmp_path, capsys):
    """A patch model and an image too small for its patch: no '--patch-size'
    (attribute has none) and no 'at most (1, 500)'."""
    root = tmp_path / "mixed"
    _write_tree(str(root), n_models=2, n_images=4, image_size=16)
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(root / "A1" / "small.png")
    model = str(tmp_path / "m.skfp")
    assert main(["fit", str(root), "--bag-size", "2", "--epochs", "1", "-q",
                 "-o", model]) == 0
    thin = tmp_path / "thin.png"
    Image.fromarray(np.zeros((1, 500, 3), np.uint8)).save(thin)
    capsys.readouterr()
    status = main(["attribute", model, str(thin)])
    err = capsys.readouterr().err
    assert status == 2 and "thin.png" in err and "1x500" in err
    assert "--patch-size" not in err and "at most" not in err
