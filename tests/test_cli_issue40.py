"""Issue 40, the command line: --relatives, --reencode, counts and rates in
messages, and the memory of 'attribute' on a large folder."""

import json
import os
import re
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from skfingerprint.cli import main
from skfingerprint.datasets import make_fingerprinted_images


def _save(images, labels, root, skip=()):
    for i, (img, label) in enumerate(zip(images, labels)):
        if label in skip:
            continue
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(os.path.join(folder, f"{i:04d}.png"))


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    """Known sources A1, A2, B1 (a model fitted on them), an unknown B2 (24
    images), and a --relatives folder in which B1 has only 3 images."""
    data = make_fingerprinted_images(n_models=4, n_families=2, n_images_per_model=24,
                                     image_size=16, family_share=0.8, random_state=0)
    known = str(tmp_path_factory.mktemp("known"))
    _save(data.images, data.labels, known, skip={"B2"})
    unknown = os.path.join(str(tmp_path_factory.mktemp("unknown")), "B2")
    keep = data.labels == "B2"
    _save(data.images[keep], data.labels[keep], os.path.dirname(unknown))
    few = str(tmp_path_factory.mktemp("few"))
    shutil.copytree(known, few, dirs_exist_ok=True)
    for name in sorted(os.listdir(os.path.join(few, "B1")))[3:]:
        os.remove(os.path.join(few, "B1", name))
    model = str(tmp_path_factory.mktemp("model") / "model.skfp")
    assert main(["fit", known, "--bag-size", "4", "--epochs", "1", "--seed", "0",
                 "--device", "cpu", "--threads", "1", "-q", "-o", model]) == 0
    return known, unknown, few, model


# -- 1. --relatives: ROOT's bags do not depend on the query -------------------

def test_relatives_reference_bags_do_not_depend_on_the_query(lineage, monkeypatch,
                                                             capsys):
    from skfingerprint.cluster import NearestRelatives

    known, unknown, _, model = lineage
    shapes = []
    original = NearestRelatives.fit
    monkeypatch.setattr(NearestRelatives, "fit",
                        lambda self, X, y: shapes.append(np.shape(X)) or original(self, X, y))
    for extra in (["--bag-size", "4"], ["--bag-size", "12"], []):  # 24 images: one bag
        assert main(["attribute", model, unknown, "--relatives", known, "--json",
                     *extra]) == 0
        capsys.readouterr()
    assert len(shapes) == 3 and shapes[0] == shapes[1] == shapes[2]


def test_relatives_with_a_known_source_of_few_images(lineage, capsys):
    """The documented one-bag use: B1 has 3 images in ROOT, the query 24."""
    _, unknown, few, model = lineage
    status = main(["attribute", model, unknown, "--relatives", few, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    (bag,) = json.loads(captured.out)["bags"]
    assert bag["n_images"] == 24
    rel = bag["nearest_relatives"]
    assert sorted(r["source"] for r in rel) == ["A1", "A2", "B1"]
    assert rel[0]["source"] == "B1"  # its family's known member, even from 3 images


# -- 2. --reencode reports the user's files ---------------------------------

def test_reencode_reports_the_users_files(lineage, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(tmp_path / "data"))
    _, unknown, _, model = lineage
    mine = sorted(os.path.join(unknown, f) for f in os.listdir(unknown))
    assert main(["attribute", model, unknown, "--reencode", "jpeg:90", "--bag-size", "8",
                 "--json"]) == 0
    bags = json.loads(capsys.readouterr().out)["bags"]
    assert [f for b in bags for f in b["files"]] == mine
    assert main(["attribute", model, *mine[:2], "--reencode", "jpeg:90"]) == 0
    out = capsys.readouterr().out
    assert os.path.basename(mine[0]) in out and os.path.basename(mine[1]) in out



# -- 3. one calibration warning per fit; rates and counts stay short ---------

def test_too_few_calibration_bags_warn_once_per_fit(lineage, tmp_path, capsys):
    known, _, _, _ = lineage
    assert main(["fit", known, "--bag-size", "4", "--epochs", "1", "--reject-rate",
                 "1e-300", "--threads", "1", "--device", "cpu", "--no-augment",
                 "-o", str(tmp_path / "m.skfp")]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert captured.err.count("too few for a conformal threshold") == 1
    assert "1e-300" in captured.err
    assert not re.search(r"\d{12}", text), text  # no 301-digit count of bags


@pytest.mark.parametrize("calibration", ["cross_fit", "split"])
def test_held_out_rejection_warns_once(calibration):
    from skfingerprint.classifiers import (
        HeldOutRejectionClassifier,
        InsufficientCalibrationWarning,
        NearestFingerprintClassifier,
    )

    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (12, 3)), rng.normal(5, 1, (12, 3))]
    y = np.repeat(["a", "b"], 12)
    clf = HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto",
                                     false_rejection_rate=0.01),
        calibration=calibration, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    found = [w for w in caught if issubclass(w.category, InsufficientCalibrationWarning)]
    assert len(found) == 1
    assert np.isposinf(clf.threshold_)


def test_the_count_of_bags_needed_is_short_for_a_tiny_rate():
    from skfingerprint.classifiers import InsufficientCalibrationWarning, conformal_threshold

    with pytest.warns(InsufficientCalibrationWarning) as record:
        conformal_threshold(np.arange(5.0), 1e-300)
    message = str(record[0].message)
    assert "1e-300" in message and not re.search(r"\d{12}", message)
    # a subnormal rate: the count overflows a float (an OverflowError before)
    with pytest.warns(InsufficientCalibrationWarning, match="more than 1e"):
        conformal_threshold(np.arange(5.0), 1e-320)


# -- 4. attribute streams a large bag chunk by chunk --------------------------

def test_attribute_pools_a_large_bag_chunk_by_chunk(lineage, monkeypatch, capsys):
    """A one-bag query larger than the network's chunk is read and pooled chunk
    by chunk (memory bounded by a chunk), with the answer of the whole bag."""
    from skfingerprint.cli import _attribute
    from skfingerprint.encoder._modules import DeepSet

    _, unknown, _, model = lineage
    assert main(["attribute", model, unknown, "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)["bags"][0]

    load_model = _attribute.load_model

    def small_chunks(path):
        model, encoder = load_model(path)
        encoder._module.chunk_size = 5  # 24 images: 5 chunks
        return model, encoder

    calls = []
    features = DeepSet.image_features
    monkeypatch.setattr(_attribute, "load_model", small_chunks)
    monkeypatch.setattr(DeepSet, "image_features",
                        lambda self, x: calls.append(x.shape[1]) or features(self, x))
    assert main(["attribute", model, unknown, "--json"]) == 0
    chunked = json.loads(capsys.readouterr().out)["bags"][0]
    assert calls == [5, 5, 5, 5, 4]
    assert chunked["n_images"] == 24 and chunked["source"] == whole["source"]
    assert chunked["score"] == pytest.approx(whole["score"], abs=1e-4)
    assert chunked["probabilities"] == pytest.approx(whole["probabilities"], abs=1e-4)


@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_encoder_pools_bags_larger_than_a_chunk_as_whole_bags(small_bags, pooling,
                                                              one_thread):
    """The chunked path gives the fingerprints of the whole bags, for both
    poolings, in patch mode too (several items per image)."""
    from skfingerprint import SetFingerprintEncoder

    X, y = small_bags
    enc = SetFingerprintEncoder(bag_size=4, max_epochs=1, pooling=pooling, patch_size=8,
                                patches_per_image=2, random_state=0, verbose=0,
                                device="cpu").fit(X, y)
    big = X.reshape(8, -1, *X.shape[2:])  # 8 bags of 48 images
    whole = enc.transform(big, whole_bags=True)
    enc._module.chunk_size = 10  # 5 images (10 patches) per chunk
    chunked = enc.transform(big, whole_bags=True)
    np.testing.assert_allclose(chunked, whole, rtol=1e-4, atol=1e-4)
