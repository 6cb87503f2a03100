"""Bad input at every public entry point.

Each test feeds one public entry point one bad input and asserts a
``ValueError`` or ``TypeError`` (``NotFittedError`` is both) whose message
names the problem, or the documented warning; on the command line, exit
status 2 and one ``skfingerprint: error: ...`` line without a traceback.
The cases are parametrized and their ids read ``<entry point>-<case>``, so
``pytest tests/test_bad_input.py -q --co`` lists them by entry point.
Parameter errors are matched on the parameter's name and the kind of
problem (scikit-learn's constraint messages), not on whole sentences.

Accepted on purpose (tested as such at the end, not counted as bad input):
images of any size down to 1x1 (the encoder's phi is fully convolutional and
pools globally; the residual baselines give 0 for a 1x1 image), bags of a
different size or image size at ``SetFingerprintEncoder.transform``, a
single source for the unsupervised baselines, ``model_fingerprints`` and
``cluster_families``, boolean embeddings (numbers) for the metrics, and
labels unseen in ``fit`` at ``NearestFingerprintClassifier.score`` (counted
as wrong predictions, as by any scikit-learn classifier).
"""

import io
import json
import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from skorch.callbacks import Checkpoint, LoadInitState

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.cli import main
from skfingerprint.cluster import cluster_families, fingerprint_distances, model_fingerprints
from skfingerprint.datasets import (
    load_image_folder,
    load_image_manifest,
    make_fingerprinted_images,
    make_model_zoo,
)
from skfingerprint.metrics import (
    DecorrelationScorer,
    decorrelation_score,
    fingerprint_correlation_matrix,
)

RNG = np.random.RandomState(0)
X_GOOD = (RNG.rand(8, 2, 8, 8, 3) * 255).astype(np.uint8)
Y_GOOD = np.repeat(["a", "b"], 4)
Z_GOOD = RNG.randn(8, 4)


@dataclass
class Case:
    """One bad input: ``make(files)`` builds it; the entry point must raise."""

    id: str
    make: Callable
    exc: type
    match: str


def param_error(name):
    """What a bad parameter's error says: its name (and the kind of problem after)."""
    return rf"'{name}' parameter|{name}\b"


def _params(entry, cases, skip=()):
    return [pytest.param(entry, c, id=f"{entry}-{c.id}") for c in cases if c.id not in skip]


def _png(path, size=8, value=None, mode="RGB"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    arr = RNG.randint(0, 256, size=shape).astype(np.uint8) if value is None else np.full(
        shape, value, np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


def _truncated(path, fmt):
    """An 8x8 image whose header is intact and whose pixel data is cut short."""
    buf = io.BytesIO()
    Image.fromarray(RNG.randint(0, 256, (8, 8, 3)).astype(np.uint8)).save(buf, format=fmt)
    data = buf.getvalue()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data[: len(data) - 40])
    return str(path)


class Files:
    """Files on disk shared by the cases (made once per module)."""

    def __init__(self, root):
        self.root = str(root)
        j = lambda *p: os.path.join(self.root, *p)  # noqa: E731
        # 8 bags x 2 good 8x8 PNGs
        self.good = np.array([[_png(j("good", f"{b}_{i}.png")) for i in range(2)]
                              for b in range(8)])
        self.truncated_png = _truncated(j("bad", "truncated.png"), "PNG")
        self.truncated_jpeg = _truncated(j("bad", "truncated.jpg"), "JPEG")
        self.not_image = j("bad", "notes.png")
        with open(self.not_image, "w") as f:
            f.write("this is text, not a PNG")
        self.bigger = _png(j("bad", "bigger.png"), size=9)
        self.missing = j("bad", "missing.png")
        self.folder = j("good")
        self.text_file = j("bad", "notes.txt")
        with open(self.text_file, "w") as f:
            f.write("text")

    def with_file(self, path):
        """The good path bags with one image (not the first) replaced by ``path``."""
        out = self.good.astype(object)
        out[3, 1] = path
        return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return Files(tmp_path_factory.mktemp("bad_input_files"))


# ===========================================================================
# Bags (X) at the estimators: fit and transform
# ===========================================================================

BAG_CASES = [
    Case("ndim1", lambda f: np.zeros(5), ValueError,
         r"got a 1-dimensional array.*make_bags"),
    Case("ndim3", lambda f: np.zeros((8, 2, 8)), ValueError, r"3 dimensions.*X\[None\]"),
    Case("ndim6", lambda f: np.zeros((8, 2, 8, 8, 3, 1)), ValueError, "6 dimensions"),
    Case("empty_no_bags", lambda f: np.zeros((0, 2, 8, 8, 3)), ValueError,
         r"empty \(0 bags\)"),
    Case("empty_list", lambda f: [], ValueError, "X is empty"),
    Case("empty_bags_no_images", lambda f: np.zeros((8, 0, 8, 8, 3)), ValueError,
         "bags of 0 images"),
    Case("ragged_bags", lambda f: [np.zeros((2, 8, 8, 3))] * 7 + [np.zeros((3, 8, 8, 3))],
         ValueError, r"ragged.*X\[0\] has shape \(2, 8, 8, 3\) but X\[7\] has shape"),
    Case("mixed_image_sizes", lambda f: [[np.zeros((8, 8, 3)), np.zeros((6, 6, 3))]] * 8,
         ValueError, r"ragged.*X\[0\]\[1\] has shape \(6, 6, 3\).*resizing"),
    Case("object_mixed_types", lambda f: np.array([[1, "a"]] * 8, dtype=object), TypeError,
         "object array of mixed types"),
    Case("nan", lambda f: np.full((8, 2, 8, 8, 3), np.nan), ValueError, "contains NaN"),
    Case("inf", lambda f: np.full((8, 2, 8, 8, 3), np.inf), ValueError,
         "NaN or infinity"),
    Case("float_above_1", lambda f: np.full((8, 2, 8, 8, 3), 1.5), ValueError,
         r"floating-point images .* outside \[0, 1\].*divide uint8"),
    Case("float_negative", lambda f: np.full((8, 2, 8, 8, 3), -0.5), ValueError,
         r"outside \[0, 1\]"),
    Case("int_above_255", lambda f: np.full((8, 2, 8, 8, 3), 300, np.int32), ValueError,
         r"integer images .* outside \[0, 255\]"),
    Case("int_negative", lambda f: np.full((8, 2, 8, 8, 3), -1, np.int16), ValueError,
         r"outside \[0, 255\]"),
    Case("bool", lambda f: np.zeros((8, 2, 8, 8, 3), bool), TypeError, "boolean array"),
    Case("complex", lambda f: np.zeros((8, 2, 8, 8, 3), complex), ValueError,
         "Complex data not supported"),
    Case("numeric_strings", lambda f: np.array([["0.5", "0.25"]] * 8), ValueError,
         r"do not exist.*read as image file paths.*astype\(float\)"),
    Case("single_string", lambda f: "images/", TypeError, "single string.*load_image_folder"),
    Case("none", lambda f: None, TypeError, "array of bags.*NoneType"),
    Case("dict", lambda f: {"a": X_GOOD}, TypeError, "array of bags.*dict"),
    Case("sparse", lambda f: sp.csr_matrix(np.ones((8, 2))), TypeError,
         "sparse matrix.*toarray"),
    Case("seven_channels", lambda f: np.zeros((8, 2, 8, 8, 7)), ValueError,
         "7 channels.*channels-last"),
    Case("channels_first", lambda f: np.zeros((8, 2, 3, 8, 8)), ValueError,
         r"8 channels.*np.moveaxis"),
    Case("path_missing", lambda f: f.with_file(f.missing), ValueError,
         "1 image file.*do not exist.*missing.png"),
    Case("path_is_folder", lambda f: f.with_file(f.folder), ValueError,
         "do not exist \\(or are not files\\)"),
    Case("path_text_file", lambda f: f.with_file(f.text_file), ValueError,
         "notes.txt.*not a readable image"),
    Case("path_not_image", lambda f: f.with_file(f.not_image), ValueError,
         "notes.png.*not a readable image"),
    Case("path_truncated_png", lambda f: f.with_file(f.truncated_png), ValueError,
         "truncated.png.*truncated/corrupt"),
    Case("path_truncated_jpeg", lambda f: f.with_file(f.truncated_jpeg), ValueError,
         "truncated.jpg.*truncated/corrupt"),
    Case("path_mixed_sizes", lambda f: f.with_file(f.bigger), ValueError,
         r"bigger.png.*mixed sizes.*image_size="),
]

# Files whose header is fine are only decoded when pixels are needed:
# PRNUFingerprint.fit learns nothing but the image shape (from the first
# image), so it cannot see them; its transform does.
DECODE_TIME = {"path_text_file", "path_not_image", "path_truncated_png",
               "path_truncated_jpeg", "path_mixed_sizes"}

ESTIMATORS = {
    "SetFingerprintEncoder": lambda: SetFingerprintEncoder(
        4, channels=(4, 8), rho_hidden=16, max_epochs=1, device="cpu", random_state=0),
    "PRNUFingerprint": lambda: PRNUFingerprint(),
    "SpectrumFingerprint": lambda: SpectrumFingerprint(),
    "AttributionCNN": lambda: AttributionCNN(
        4, channels=(4,), max_epochs=1, device="cpu", random_state=0),
}
SUPERVISED = ("SetFingerprintEncoder", "AttributionCNN")


@pytest.fixture(scope="module")
def fitted():
    return {name: make().fit(X_GOOD, Y_GOOD) for name, make in ESTIMATORS.items()}


BAG_PARAMS = [
    p
    for name in ESTIMATORS
    for method in ("fit", "transform")
    for p in _params(f"{name}.{method}", BAG_CASES,
                     skip=DECODE_TIME if (name, method) == ("PRNUFingerprint", "fit") else ())
]


@pytest.mark.parametrize("entry, case", BAG_PARAMS)
def test_bad_bags(entry, case, files, fitted):
    name, method = entry.split(".")
    X = case.make(files)
    with pytest.raises(case.exc, match=case.match):
        if method == "fit":
            ESTIMATORS[name]().fit(X, Y_GOOD)
        else:
            fitted[name].transform(X)


# ------------------------------------------------------------- labels at fit
LABEL_CASES = [
    Case("none", lambda: None, ValueError, "requires y to be passed"),
    Case("too_few", lambda: Y_GOOD[:5], ValueError, "5 labels but X has 8 bags"),
    Case("2d", lambda: np.c_[Y_GOOD, Y_GOOD], ValueError, "1-dimensional"),
    Case("nan", lambda: np.array([0.0, 1, np.nan, 1, 0, 1, 0, 1]), ValueError,
         "NaN or infinite labels"),
    Case("continuous", lambda: np.linspace(0, 1, 8), ValueError,
         "Unknown label type.*continuous"),
    Case("single_source", lambda: np.repeat("a", 8), ValueError,
         r"at least 2 sources.*1 class \('a'\)"),
    Case("none_label", lambda: np.array(["a", None] * 4, dtype=object), ValueError,
         r"missing labels \(None\)"),
    Case("mixed_str_int", lambda: np.array(["a", 1] * 4, dtype=object), ValueError,
         r"mixes labels of different types \(numbers, strings\).*astype\(str\)"),
    Case("complex", lambda: np.arange(8) + 1j, ValueError, "complex numbers"),
]


@pytest.mark.parametrize(
    "entry, case", [p for n in SUPERVISED for p in _params(f"{n}.fit", LABEL_CASES)])
def test_bad_labels(entry, case):
    with pytest.raises(case.exc, match=case.match):
        ESTIMATORS[entry.split(".")[0]]().fit(X_GOOD, case.make())


# ---------------------------------------------------------- hyperparameters
def _enc(**kw):
    return SetFingerprintEncoder(max_epochs=1, device="cpu", random_state=0).set_params(**kw)


def _cnn(**kw):
    return AttributionCNN(4, max_epochs=1, device="cpu", random_state=0).set_params(**kw)


PARAM_CASES = {
    "SetFingerprintEncoder": (_enc, [
        # max_epochs=0 trains nothing (the shipped weights as they are): allowed
        *[(name, value, ValueError, rf"'{name}' parameter.*int in the range \[0, inf\)")
          for name, value in [("max_epochs", -1), ("max_epochs", 1.5),
                              ("max_epochs", "3"), ("max_epochs", None)]],
        *[(name, value, ValueError, rf"'{name}' parameter.*int in the range \[1, inf\)")
          for name, value in [("batch_size", 0), ("embedding_dim", 0), ("embedding_dim", -3),
                              ("embedding_dim", 2.0), ("chunk_size", 0),
                              ("patches_per_image", 0)]],
        *[(name, value, ValueError, rf"'{name}' parameter.*float in the range \(0.0, inf\)")
          for name in ("temperature", "lr") for value in (0, -1.0, np.nan, np.inf, "1")],
        ("bag_size", 0, ValueError, r"'bag_size' parameter.*int in the range.*or None"),
        ("bag_size", 3, ValueError, r"bag_size=3 is larger than the given bags \(2 images"),
        ("n_bags_per_model", 0, ValueError, r"'n_bags_per_model' parameter.*or None"),
        ("channels", (), ValueError, r"'channels' parameter.*non-empty tuple"),
        ("channels", (0,), ValueError, r"'channels' parameter.*tuple of positive"),
        ("channels", (16, "a"), ValueError, r"'channels' parameter.*tuple of positive"),
        ("channels", 16, ValueError, r"'channels' parameter.*tuple"),
        ("channels", (16.5,), ValueError, r"'channels' parameter.*tuple of positive"),
        ("full_res_layers", -1, ValueError, r"'full_res_layers' parameter.*range \[0, inf\)"),
        # 0 is a linear rho
        ("rho_hidden", -1, ValueError, r"'rho_hidden' parameter.*range \[0, inf\)"),
        ("rho_hidden", "wide", ValueError, r"'rho_hidden' parameter.*range \[0, inf\)"),
        ("pooling", "max", ValueError, r"'pooling' parameter.*among \{"),
        ("embedding_radius", 0, ValueError, r"'embedding_radius' parameter.*or None"),
        ("embedding_radius", np.nan, ValueError, r"'embedding_radius' parameter.*or None"),
        ("num_workers", -1, ValueError, r"'num_workers' parameter.*range \[0, inf\)"),
        ("num_workers", "many", ValueError, r"'num_workers' parameter.*among \{'auto'\}"),
        ("num_workers", 1.5, ValueError, r"'num_workers' parameter.*range \[0, inf\)"),
        ("precision", "fp16", ValueError, r"'precision' parameter.*among"),
        ("device", "tpu", ValueError, r"'device' parameter must be 'auto', 'cpu', 'cuda'"),
        ("device", None, ValueError, r"'device' parameter.*str.*device"),
        ("random_state", "x", ValueError, r"'random_state' parameter"),
        ("random_state", -1, ValueError, r"'random_state' parameter"),
        ("image_size", 0, ValueError, r"'image_size' parameter.*int in the range \[1, inf\)"),
        ("image_size", (8,), TypeError, r"image_size must be None, an int or a pair"),
        ("image_size", (8, 0), ValueError, "image_size must be positive"),
        ("image_size", "8", ValueError, r"'image_size' parameter.*Got '8'"),
        ("image_size", 16, ValueError, r"images of size \(8, 8\), but image_size=\(16, 16\)"),
        ("patch_size", 0, ValueError, r"'patch_size' parameter.*among \{'auto'\}.*Got 0"),
        ("patch_size", (8, 0), ValueError, "patch_size must be positive"),
        ("patch_size", "8", ValueError, r"'patch_size' parameter.*among \{'auto'\}.*Got '8'"),
        ("patch_size", 16, ValueError, r"size 8x8 \(height x width\), smaller than patch_size"),
        ("callbacks", "x", TypeError, "callbacks must be None or a list of skorch callbacks"),
        ("callbacks", [1], TypeError, "callbacks must hold skorch callbacks.*got 1"),
        ("verbose", "x", ValueError, r"'verbose' parameter"),
        ("augmentation", "jpeg", ValueError, r"'augmentation' parameter.*callable"),
        ("accelerator", "x", ValueError, r"'accelerator' parameter.*prepare"),
        ("scale_output", "yes", ValueError, r"'scale_output' parameter.*bool"),
        ("callbacks", [Checkpoint(load_best=True)], ValueError,
         "would load the criterion file 'criterion.pt'.*f_criterion=None"),
        ("callbacks", [LoadInitState(Checkpoint())], ValueError,
         "LoadInitState in callbacks would load the criterion file.*f_criterion=None"),
    ]),
    # scikit-learn's parameter validation: "The 'lr' parameter of AttributionCNN
    # must be a float in the range (0.0, inf). Got 0 instead."
    "AttributionCNN": (_cnn, [
        ("feature_dim", 0, ValueError, r"'feature_dim' parameter .* must be an int in"),
        ("max_epochs", 0, ValueError, r"'max_epochs' parameter .* must be an int in"),
        ("batch_size", 0, ValueError, r"'batch_size' parameter .* must be an int in"),
        ("lr", 0, ValueError, r"'lr' parameter .* must be a float in the range \(0"),
        ("lr", np.nan, ValueError, r"'lr' parameter .* must be a float in the range"),
        ("lr", np.inf, ValueError, r"'lr' parameter .* must be a float in the range"),
        ("channels", (), ValueError, r"'channels' parameter.*non-empty tuple"),
        ("channels", (8, 2.5), ValueError, r"'channels' parameter.*non-empty tuple"),
        ("channels", 8, ValueError, r"'channels' parameter .* must be an array-like"),
        ("highpass", "yes", ValueError, r"'highpass' parameter .* must be an instance of"),
        ("device", "tpu", ValueError, r"'device' parameter must be 'auto', 'cpu', 'cuda'"),
        ("device", 0, ValueError, r"'device' parameter .* must be an instance of 'str'"),
        ("image_size", 0, ValueError, r"'image_size' parameter .* must be None, an int in"),
        ("callbacks", "x", TypeError, r"'callbacks' parameter .* must be None, an inst"),
        ("callbacks", [1], TypeError, "callbacks must hold skorch callbacks.*got 1"),
        ("random_state", "x", ValueError, r"'random_state' parameter .* must be an int in"),
        ("verbose", -1, ValueError, r"'verbose' parameter .* must be"),
    ]),
    "PRNUFingerprint": (lambda **kw: PRNUFingerprint(**kw), [
        ("color", "gray", ValueError, r"'color' parameter .* must be a str among \{"),
        ("sigma", 0, ValueError, r"'sigma' parameter .* must be a float in the range \(0"),
        ("sigma", -1, ValueError, r"'sigma' parameter .* must be a float in the range"),
        ("sigma", np.nan, ValueError, r"'sigma' parameter .* must be a float in the range"),
        ("wavelet", "nope", ValueError, "wavelet must be a discrete PyWavelets wavelet"),
        ("wavelet", 4, ValueError, r"'wavelet' parameter .* must be an instance of 'str'"),
        ("levels", 0, ValueError, r"'levels' parameter .* must be an int in the range \[1"),
        ("windows", (2,), ValueError, r"'windows' parameter.*non-empty tuple of odd"),
        ("windows", (), ValueError, r"'windows' parameter.*non-empty tuple of odd"),
        ("windows", 3, ValueError, r"'windows' parameter .* must be an array-like"),
        ("zero_mean", "no", ValueError, r"'zero_mean' parameter .* must be an instance of"),
        ("batch_size", 0, ValueError, r"'batch_size' parameter .* must be an int in"),
        ("image_size", "8", TypeError, r"'image_size' parameter .* must be None, an int in"),
        ("image_size", (8,), TypeError, r"image_size must be None, an int or a pair"),
    ]),
    "SpectrumFingerprint": (lambda **kw: SpectrumFingerprint(**kw), [
        ("features", "fft", ValueError, r"'features' parameter .* must be a str among"),
        ("residual", "median", ValueError, r"'residual' parameter .* must be a str among"),
        ("color", "gray", ValueError, r"'color' parameter .* must be a str among"),
        ("sigma", 0, ValueError, r"'sigma' parameter .* must be a float in the range \(0"),
        ("levels", 0, ValueError, r"'levels' parameter .* must be an int in the range \[1"),
        ("standardize", None, ValueError, r"'standardize' parameter .* must be an instance"),
        ("batch_size", 0, ValueError, r"'batch_size' parameter .* must be an int in"),
        ("image_size", 0, ValueError, r"'image_size' parameter .* must be None, an int in"),
    ]),
}

def _short(value):
    """A short, stable id for a parameter value (callbacks by class name)."""
    if isinstance(value, list) and value and not isinstance(value[0], (int, str)):
        inner = ", ".join(
            f"{type(v).__name__}({type(v.checkpoint).__name__}())"
            if hasattr(v, "checkpoint") else f"{type(v).__name__}()" for v in value)
        return f"[{inner}]"
    return repr(value)


HYPER_PARAMS = [
    pytest.param(name, param, value, exc, match, id=f"{name}.fit-{param}={_short(value)}")
    for name, (_, cases) in PARAM_CASES.items()
    for param, value, exc, match in cases
]


@pytest.mark.parametrize("name, param, value, exc, match", HYPER_PARAMS)
def test_bad_hyperparameters(name, param, value, exc, match):
    make = PARAM_CASES[name][0]
    with pytest.raises(exc, match=match):
        make(**{param: value}).fit(X_GOOD, Y_GOOD)


def test_encoder_bag_size_larger_than_pooled_images():
    """With n_bags_per_model, bags are drawn from each source's pooled images."""
    with pytest.raises(ValueError, match=r"bag_size=9 is larger than the 8 images of"):
        _enc(bag_size=9, n_bags_per_model=2).fit(X_GOOD, Y_GOOD)


# Documented warnings (not errors) of SetFingerprintEncoder.fit.
WARNING_CASES = [
    pytest.param(dict(batch_size=1), X_GOOD, Y_GOOD, "batches of 4 bags are used",
                 id="SetFingerprintEncoder.fit-batch_size=1"),
    pytest.param(dict(batch_size=3), X_GOOD, Y_GOOD, "batch_size=3 is smaller",
                 id="SetFingerprintEncoder.fit-batch_size=3"),
    pytest.param({}, X_GOOD[3:5], Y_GOOD[3:5], "has a single training bag",
                 id="SetFingerprintEncoder.fit-one_bag_per_source"),
]


@pytest.mark.parametrize("params, X, y, match", WARNING_CASES)
def test_documented_warnings(params, X, y, match):
    with pytest.warns(UserWarning, match=match):
        _enc(channels=(4,), rho_hidden=8, **params).fit(X, y)


# ------------------------------------------------------------ transform only
TRANSFORM_CASES = [
    Case("grayscale_after_rgb", lambda f: X_GOOD[..., 0], ValueError,
         r"1 channel\(s\)|\(8, 8, 1\)"),
    Case("scalar_bags_after_images", lambda f: np.zeros((3, 2)), ValueError,
         "bags of scalar items.*unlike the bags seen in fit"),
    Case("rgba_after_rgb", lambda f: np.zeros((2, 2, 8, 8, 4), np.uint8), ValueError,
         r"4 channel\(s\)|\(8, 8, 4\)"),
]
SIZE_CASE = Case("other_image_size", lambda f: np.zeros((2, 2, 16, 16, 3), np.uint8),
                 ValueError, r"fitted on images of (shape|size) \(8, 8(, 3)?\).*patch")


@pytest.mark.parametrize("entry, case", [
    p for name in ESTIMATORS
    for p in _params(f"{name}.transform",
                     TRANSFORM_CASES + [SIZE_CASE])
])
def test_transform_input_unlike_fit(entry, case, files, fitted):
    with pytest.raises(case.exc, match=case.match):
        fitted[entry.split(".")[0]].transform(case.make(files))


@pytest.mark.parametrize("name", list(ESTIMATORS), ids=lambda n: f"{n}.transform-unfitted")
def test_transform_before_fit(name):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ESTIMATORS[name]().transform(X_GOOD)


# ===========================================================================
# make_bags
# ===========================================================================

IMAGES = (RNG.rand(10, 8, 8, 3) * 255).astype(np.uint8)
LABELS = np.repeat(["a", "b"], 5)

MAKE_BAGS_CASES = [
    Case("bag_size_zero", lambda: make_bags(IMAGES, LABELS, bag_size=0), ValueError,
         param_error("bag_size")),
    Case("bag_size_negative", lambda: make_bags(IMAGES, LABELS, bag_size=-2), ValueError,
         param_error("bag_size")),
    Case("bag_size_float", lambda: make_bags(IMAGES, LABELS, bag_size=1.5), TypeError,
         param_error("bag_size")),
    Case("bag_size_string", lambda: make_bags(IMAGES, LABELS, bag_size="2"), TypeError,
         param_error("bag_size")),
    Case("bag_size_larger_than_source", lambda: make_bags(IMAGES, LABELS, bag_size=6),
         ValueError, r"Source 'a' has 5 images, fewer than one bag of bag_size=6"),
    Case("n_bags_per_model_zero",
         lambda: make_bags(IMAGES, LABELS, bag_size=2, n_bags_per_model=0), ValueError,
         param_error("n_bags_per_model")),
    Case("n_bags_per_model_too_many",
         lambda: make_bags(IMAGES, LABELS, bag_size=2, n_bags_per_model=3), ValueError,
         r"enough for 2 disjoint bags.*replace=True"),
    Case("empty", lambda: make_bags(IMAGES[:0], LABELS[:0], bag_size=2), ValueError,
         "images is empty"),
    Case("ndim2", lambda: make_bags(IMAGES[:, :, 0, 0], LABELS, bag_size=2), ValueError,
         r"images must have shape \(n_images, H, W\)"),
    Case("already_bagged", lambda: make_bags(X_GOOD, Y_GOOD, bag_size=2), ValueError,
         "Already bagged data"),
    Case("ragged", lambda: make_bags([np.zeros((8, 8, 3)), np.zeros((6, 6, 3))], ["a", "b"],
                                     bag_size=1),
         ValueError, r"images is ragged: .*images\[1\] has shape \(6, 6, 3\)"),
    Case("nan", lambda: make_bags(np.full((4, 8, 8), np.nan), LABELS[:4], bag_size=2),
         ValueError, "images contains NaN"),
    Case("float_above_1", lambda: make_bags(np.full((4, 8, 8), 2.0), LABELS[:4], bag_size=2),
         ValueError, r"outside \[0, 1\]"),
    Case("int_above_255",
         lambda: make_bags(np.full((4, 8, 8), 256, np.int32), LABELS[:4], bag_size=2),
         ValueError, r"outside \[0, 255\]"),
    Case("bool", lambda: make_bags(np.zeros((4, 8, 8), bool), LABELS[:4], bag_size=2),
         TypeError, "images has dtype bool"),
    Case("complex", lambda: make_bags(np.zeros((4, 8, 8), complex), LABELS[:4], bag_size=2),
         TypeError, "images has dtype complex128"),
    Case("object_mixed", lambda: make_bags(np.array(["a.png", 3], dtype=object), ["a", "b"],
                                           bag_size=1),
         ValueError, "1-D array of paths"),
    Case("labels_too_few", lambda: make_bags(IMAGES, LABELS[:9], bag_size=2), ValueError,
         "labels has 9 entries but images has 10"),
    Case("labels_2d", lambda: make_bags(IMAGES, LABELS[:, None], bag_size=2), ValueError,
         "labels must be 1-dimensional"),
    Case("labels_none_value",
         lambda: make_bags(IMAGES, np.array(["a", None] * 5, dtype=object), bag_size=2),
         ValueError, r"labels contains missing labels \(None\)"),
    Case("labels_mixed_types",
         lambda: make_bags(IMAGES, np.array(["a", 1] * 5, dtype=object), bag_size=2),
         ValueError, "labels mixes labels of different types"),
    Case("labels_nan", lambda: make_bags(IMAGES, np.r_[np.zeros(9), np.nan], bag_size=1),
         ValueError, "labels contains NaN"),
    Case("random_state_string", lambda: make_bags(IMAGES, LABELS, bag_size=2,
                                                  random_state="x"),
         ValueError, param_error("random_state")),
]


@pytest.mark.parametrize("entry, case", _params("make_bags", MAKE_BAGS_CASES))
def test_make_bags_bad_input(entry, case):
    with pytest.raises(case.exc, match=case.match):
        case.make()


# ===========================================================================
# NearestFingerprintClassifier (scikit-learn's own input validation for X)
# ===========================================================================

Z_CASES = [
    Case("ndim1", lambda: np.zeros(8), ValueError, "Expected 2D array, got 1D array"),
    Case("ndim3", lambda: np.zeros((8, 2, 2)), ValueError, "Found array with dim 3"),
    Case("empty", lambda: np.zeros((0, 4)), ValueError, r"0 sample\(s\)"),
    Case("nan", lambda: np.full((8, 4), np.nan), ValueError, "contains NaN"),
    Case("inf", lambda: np.full((8, 4), np.inf), ValueError, "contains infinity"),
    Case("complex", lambda: Z_GOOD + 1j, ValueError, "Complex data not supported"),
    Case("strings", lambda: np.full((8, 4), "a"), (ValueError, TypeError),
         "(could not convert string to float|must hold numbers)"),
    Case("ragged", lambda: [[1.0, 2.0]] * 7 + [[1.0]], ValueError,
         "(inhomogeneous shape|ragged)"),
    Case("none", lambda: None, ValueError, "(Expected 2D array|is None)"),
    Case("one_feature", lambda: Z_GOOD[:, :1], ValueError, r"1 feature\(s\).*at least 2"),
]
Y_CASES = [
    Case("none", lambda: None, ValueError, "(requires y to be passed|y is None)"),
    Case("too_few", lambda: Y_GOOD[:5], ValueError,
         r"(inconsistent numbers of samples: \[8, 5\]|5 labels but Z has 8 rows)"),
    Case("nan", lambda: np.array([0.0, 1, np.nan, 1, 0, 1, 0, 1]), ValueError, "NaN"),
    Case("mixed_str_int", lambda: np.array(["a", 1] * 4, dtype=object), ValueError,
         "mixes labels of different types"),
    Case("none_label", lambda: np.array(["a", None] * 4, dtype=object), ValueError,
         r"missing labels \(None\)"),
    Case("2d", lambda: np.c_[Y_GOOD, Y_GOOD], ValueError,
         r"y should be a 1d array, got an array of shape \(8, 2\)"),
    Case("continuous", lambda: np.linspace(0, 1, 8), ValueError,
         "Unknown label type.*continuous"),
]
CLF_PARAM_CASES = [  # scikit-learn's parameter validation: name the parameter
    Case("metric=cosine", lambda: dict(metric="cosine"), ValueError,
         "'metric' parameter.*'correlation'"),
    Case("temperature=0", lambda: dict(temperature=0), ValueError,
         "'temperature' parameter.*'auto'.*range"),
    Case("temperature=-1", lambda: dict(temperature=-1.0), ValueError,
         "'temperature' parameter.*range"),
    Case("temperature=nan", lambda: dict(temperature=np.nan), ValueError,
         "'temperature' parameter.*range"),
    Case("temperature=inf", lambda: dict(temperature=np.inf), ValueError,
         "'temperature' parameter.*range"),
    Case("temperature='x'", lambda: dict(temperature="x"), ValueError,
         "'temperature' parameter.*'auto'"),
]


@pytest.fixture(scope="module")
def clf():
    return NearestFingerprintClassifier().fit(Z_GOOD, Y_GOOD)


@pytest.mark.parametrize("entry, case", _params("NearestFingerprintClassifier.fit", Z_CASES)
                         + _params("NearestFingerprintClassifier.fit", Y_CASES)
                         + _params("NearestFingerprintClassifier.fit", CLF_PARAM_CASES))
def test_classifier_fit_bad_input(entry, case):
    with pytest.raises(case.exc, match=case.match):
        if case in CLF_PARAM_CASES:
            NearestFingerprintClassifier(**case.make()).fit(Z_GOOD, Y_GOOD)
        elif case in Y_CASES:
            NearestFingerprintClassifier().fit(Z_GOOD, case.make())
        else:
            NearestFingerprintClassifier().fit(case.make(), Y_GOOD)


PREDICT_CASES = [
    Case("other_n_features", lambda: Z_GOOD[:, :3], ValueError,
         "X has 3 features, but NearestFingerprintClassifier is expecting 4"),
    Case("nan", lambda: np.full((2, 4), np.nan), ValueError, "contains NaN"),
    Case("empty", lambda: np.zeros((0, 4)), ValueError, r"0 sample\(s\)"),
    Case("ndim1", lambda: np.zeros(4), ValueError, "Expected 2D array"),
    Case("strings", lambda: np.full((2, 4), "a"), ValueError, "could not convert string"),
]


@pytest.mark.parametrize("entry, case",
                         _params("NearestFingerprintClassifier.predict", PREDICT_CASES))
def test_classifier_predict_bad_input(entry, case, clf):
    with pytest.raises(case.exc, match=case.match):
        clf.predict(case.make())


def test_classifier_predict_before_fit():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        NearestFingerprintClassifier().predict(Z_GOOD)


def test_classifier_score_labels_of_another_type(clf):
    """Integer labels against string classes_: scikit-learn refuses to compare."""
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(Z_GOOD, np.repeat([0, 1], 4))


# ===========================================================================
# Metrics and families: Z (embeddings) and y at every function
# ===========================================================================

METRIC_FUNCS = {
    "fingerprint_correlation_matrix": fingerprint_correlation_matrix,
    "decorrelation_score": decorrelation_score,
    "model_fingerprints": model_fingerprints,
    "fingerprint_distances": fingerprint_distances,
    "cluster_families": lambda Z, y, **kw: cluster_families(Z, y, n_families=1, **kw),
}
METRIC_Z_CASES = [
    Case("ndim1", lambda: np.zeros(8), ValueError, "Expected 2D array, got 1D array"),
    Case("ndim3", lambda: np.zeros((8, 2, 2)), ValueError, "Found array with dim 3"),
    Case("empty", lambda: np.zeros((0, 4)), ValueError, r"0 sample\(s\)"),
    Case("nan", lambda: np.full((8, 4), np.nan), ValueError, "Input Z contains NaN"),
    Case("inf", lambda: np.full((8, 4), np.inf), ValueError, "Input Z contains infinity"),
    Case("complex", lambda: Z_GOOD + 1j, ValueError,
         "Complex data not supported: Z has dtype complex128; embeddings must be real"),
    Case("strings", lambda: np.full((8, 4), "a"), TypeError,
         "Z must hold numbers .* holds strings"),
    Case("object_mixed", lambda: np.array([[1.0, "a"]] * 8, dtype=object), TypeError,
         "Z must hold numbers .* holds objects"),
    Case("ragged", lambda: [[1.0, 2.0]] * 7 + [[1.0]], ValueError,
         "Z is ragged: its rows do not all have the same length"),
    Case("none", lambda: None, ValueError, r"Z is None; pass an array of shape"),
    Case("one_feature", lambda: Z_GOOD[:, :1], ValueError,
         r"Z has 1 feature\(s\).*needs at least 2"),
]
METRIC_Y_CASES = [
    Case("none", lambda: None, ValueError, "y is None; give the source of every bag"),
    Case("too_few", lambda: Y_GOOD[:5], ValueError, "y has 5 labels but Z has 8 rows"),
    Case("too_many", lambda: np.r_[Y_GOOD, Y_GOOD], ValueError,
         "y has 16 labels but Z has 8 rows"),
    Case("2d", lambda: np.c_[Y_GOOD, Y_GOOD], ValueError, "y should be a 1d array"),
    Case("nan", lambda: np.array([0.0, 1, np.nan, 1, 0, 1, 0, 1]), ValueError,
         "y contains NaN or infinite labels"),
    Case("mixed_str_int", lambda: np.array(["a", 1] * 4, dtype=object), ValueError,
         "y mixes labels of different types"),
    Case("none_label", lambda: np.array(["a", None] * 4, dtype=object), ValueError,
         r"y contains missing labels \(None\)"),
    Case("continuous", lambda: np.linspace(0, 1, 8), ValueError,
         "Unknown label type: y looks 'continuous'"),
    Case("complex", lambda: np.arange(8) + 1j, ValueError, "y holds complex numbers"),
]
# labels (sources to include) and fingerprints (given instead of Z's class means)
METRIC_KW_CASES = [
    Case("labels_unseen", lambda: dict(labels=["a", "zzz"]), ValueError,
         r"labels \['zzz'\] have no bag in y"),
    Case("labels_of_another_type", lambda: dict(labels=[0, 1]), ValueError,
         r"labels \[0, 1\] have no bag in y"),
    Case("labels_duplicated", lambda: dict(labels=["a", "a"]), ValueError,
         "labels must not contain duplicates"),
    Case("labels_empty", lambda: dict(labels=[]), ValueError,
         "labels must be a non-empty 1-D array-like"),
]
FINGERPRINT_KW_CASES = [
    Case("fingerprints_wrong_shape", lambda: dict(fingerprints=np.zeros((2, 3))),
         ValueError, r"fingerprints has shape \(2, 3\); expected .* = \(2, 4\)"),
    Case("fingerprints_fewer_sources_than_y", lambda: dict(fingerprints=np.ones((1, 4))),
         ValueError, r"fingerprints has shape \(1, 4\); expected .* one row per source"),
    Case("fingerprints_nan", lambda: dict(fingerprints=np.full((2, 4), np.nan)),
         ValueError, "Input fingerprints contains NaN"),
    Case("fingerprints_1d", lambda: dict(fingerprints=np.zeros(4)), ValueError,
         "Expected 2D array"),
    Case("fingerprints_strings", lambda: dict(fingerprints=np.full((2, 4), "x")),
         TypeError, "fingerprints must hold numbers"),
]

METRIC_PARAMS = []
for _name in METRIC_FUNCS:
    METRIC_PARAMS += [pytest.param(_name, "Z", c, id=f"{_name}-Z_{c.id}")
                      for c in METRIC_Z_CASES]
    METRIC_PARAMS += [pytest.param(_name, "y", c, id=f"{_name}-y_{c.id}")
                      for c in METRIC_Y_CASES]
    METRIC_PARAMS += [pytest.param(_name, "kw", c, id=f"{_name}-{c.id}")
                      for c in METRIC_KW_CASES]
    if _name != "model_fingerprints":  # it computes fingerprints, takes none
        METRIC_PARAMS += [pytest.param(_name, "kw", c, id=f"{_name}-{c.id}")
                          for c in FINGERPRINT_KW_CASES]


@pytest.mark.parametrize("name, where, case", METRIC_PARAMS)
def test_metrics_bad_input(name, where, case):
    func = METRIC_FUNCS[name]
    with pytest.raises(case.exc, match=case.match):
        if where == "Z":
            func(case.make(), Y_GOOD)
        elif where == "y":
            func(Z_GOOD, case.make())
        else:
            func(Z_GOOD, Y_GOOD, **case.make())


SCORE_CASES = [
    Case("kind_unknown", lambda: decorrelation_score(Z_GOOD, Y_GOOD, kind="paper"),
         ValueError, "'kind' parameter.*among"),
    Case("single_source", lambda: decorrelation_score(Z_GOOD, np.repeat("a", 8)),
         ValueError, "needs at least 2 of them; got 1"),
    Case("one_bag_per_source", lambda: decorrelation_score(Z_GOOD[:2], ["a", "b"]),
         ValueError, r"Sources \['a', 'b'\] have fewer than 2 bags"),
]


@pytest.mark.parametrize("entry, case", _params("decorrelation_score", SCORE_CASES))
def test_decorrelation_score_bad_input(entry, case):
    with pytest.raises(case.exc, match=case.match):
        case.make()


FAMILY_CASES = [
    Case("both_given", lambda: dict(n_families=2, distance_threshold=0.5), ValueError,
         "exactly one of n_families and distance_threshold"),
    Case("neither_given", lambda: {}, ValueError,
         "exactly one of n_families and distance_threshold"),
    Case("n_families=0", lambda: dict(n_families=0), ValueError, param_error("n_families")),
    Case("n_families_more_than_sources", lambda: dict(n_families=5), ValueError,
         r"n_families must be between 1 and the number of sources \(2\); got 5"),
    Case("n_families=1.5", lambda: dict(n_families=1.5), TypeError, param_error("n_families")),
    Case("n_families='2'", lambda: dict(n_families="2"), TypeError, param_error("n_families")),
    *[Case(f"distance_threshold={v!r}", lambda v=v: dict(distance_threshold=v), ValueError,
           param_error("distance_threshold")) for v in (-1, np.nan, "x")],
]


@pytest.mark.parametrize("entry, case", _params("cluster_families", FAMILY_CASES))
def test_cluster_families_bad_arguments(entry, case):
    with pytest.raises(case.exc, match=case.match):
        cluster_families(Z_GOOD, Y_GOOD, **case.make())


class _NoTransform:
    def fit(self, X, y):
        return self


SCORER_CASES = [
    Case("kind_unknown", lambda est: DecorrelationScorer(kind="paper")(est, X_GOOD, Y_GOOD),
         ValueError, "'kind' parameter.*among"),
    Case("estimator_without_transform",
         lambda est: DecorrelationScorer()(_NoTransform(), X_GOOD, Y_GOOD), TypeError,
         "_NoTransform has no transform method and is not a Pipeline"),
    Case("estimator_unfitted",
         lambda est: DecorrelationScorer()(PRNUFingerprint(), X_GOOD, Y_GOOD),
         NotFittedError, "not fitted yet"),
    Case("X_not_bags", lambda est: DecorrelationScorer()(est, np.zeros(3), Y_GOOD),
         ValueError, "got a 1-dimensional array"),
    Case("X_nan", lambda est: DecorrelationScorer()(est, np.full(X_GOOD.shape, np.nan),
                                                    Y_GOOD), ValueError, "contains NaN"),
    Case("y_too_few", lambda est: DecorrelationScorer()(est, X_GOOD, Y_GOOD[:3]),
         ValueError, "y has 3 labels but Z has 8 rows"),
    Case("y_single_source", lambda est: DecorrelationScorer()(est, X_GOOD,
                                                              np.repeat("a", 8)),
         ValueError, "needs at least 2 of them; got 1"),
    Case("y_mixed_types",
         lambda est: DecorrelationScorer()(est, X_GOOD,
                                           np.array(["a", 1] * 4, dtype=object)),
         ValueError, "y mixes labels of different types"),
]


@pytest.mark.parametrize("entry, case", _params("DecorrelationScorer", SCORER_CASES))
def test_decorrelation_scorer_bad_input(entry, case, fitted):
    with pytest.raises(case.exc, match=case.match):
        case.make(fitted["PRNUFingerprint"])


# ===========================================================================
# Datasets
# ===========================================================================

@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """Folder trees: good, empty, non-image only, corrupt, mixed sizes, CSVs."""
    root = tmp_path_factory.mktemp("trees")
    t = {}

    def tree(name, files):
        base = root / name
        base.mkdir()
        for rel, maker in files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            maker(path)
        t[name] = str(base)

    good = {f"{s}/{i}.png": _png for s in "ab" for i in range(2)}
    tree("good", good)
    tree("empty", {})
    (root / "empty" / "a").mkdir()
    tree("non_image_only", {"a/readme.txt": lambda p: p.write_text("x"),
                            "a/data.npy": lambda p: p.write_bytes(b"\x93NUMPY")})
    tree("corrupt_png", {**good, "a/bad.png": lambda p: _truncated(p, "PNG")})
    tree("corrupt_jpeg", {**good, "a/bad.jpg": lambda p: _truncated(p, "JPEG")})
    tree("text_as_png", {**good, "b/fake.png": lambda p: p.write_text("not a PNG")})
    tree("broken_header_png", {**good, "b/half.png": lambda p: p.write_bytes(
        open(_png(root / "tmp.png"), "rb").read()[:20])})
    tree("mixed_sizes", {**good, "b/big.png": lambda p: _png(p, size=9)})
    t["file"] = str(root / "good" / "a" / "0.png")
    t["missing"] = str(root / "does_not_exist")
    csv = {
        "good": "path,label\ngood/a/0.png,a\ngood/b/0.png,b\n",
        "missing_image": "path,label\ngood/a/nope.png,a\n",
        "no_path_column": "file,generator\ngood/a/0.png,a\n",
        "empty_file": "",
        "header_only": "path,label\n",
        "corrupt_image": "path,label\ncorrupt_png/a/bad.png,a\n",
        "empty_label": "path,label\ngood/a/0.png,\n",
        "empty_path": "path,label\n,a\n",
        "duplicate": "path,label\ngood/a/0.png,a\ngood/a/0.png,a\n",
        "extra_field": "path,label\ngood/a/0.png,a,oops\n",
    }
    for name, text in csv.items():
        (root / f"{name}.csv").write_text(text)
        t[f"csv_{name}"] = str(root / f"{name}.csv")
    (root / "binary.csv").write_bytes(bytes(range(256)))
    t["csv_binary"] = str(root / "binary.csv")
    t["root"] = str(root)
    return t


FOLDER_CASES = [
    Case("missing_root", lambda t: load_image_folder(t["missing"]), ValueError,
         "does_not_exist' is not a folder"),
    Case("file_as_root", lambda t: load_image_folder(t["file"]), ValueError,
         "0.png' is not a folder"),
    Case("root_int", lambda t: load_image_folder(3), TypeError,
         param_error("root")),
    Case("root_none", lambda t: load_image_folder(None), TypeError,
         param_error("root")),
    Case("no_images", lambda t: load_image_folder(t["empty"]), ValueError,
         "No image files found"),
    Case("only_non_image_files", lambda t: load_image_folder(t["non_image_only"]),
         ValueError, r"No image files found .*\(and 2 other files\)"),
    Case("broken_header_png", lambda t: load_image_folder(t["broken_header_png"]),
         ValueError, "half.png.*not a readable image or is truncated/corrupt"),
    Case("text_as_png", lambda t: load_image_folder(t["text_as_png"]), ValueError,
         "fake.png.*not a readable image"),
    Case("truncated_png_verify", lambda t: load_image_folder(t["corrupt_png"], verify=True),
         ValueError, "bad.png.*truncated/corrupt"),
    Case("truncated_jpeg_verify",
         lambda t: load_image_folder(t["corrupt_jpeg"], verify=True), ValueError,
         "bad.jpg.*truncated/corrupt"),
    Case("layout_unknown", lambda t: load_image_folder(t["good"], layout="flat"),
         ValueError, param_error("layout")),
    Case("split_unknown", lambda t: load_image_folder(t["good"], split="test"),
         ValueError, param_error("split")),
    Case("real_label_empty", lambda t: load_image_folder(t["good"], real_label=""),
         ValueError, "real_label must be a non-empty str or None"),
    Case("image_size_zero", lambda t: load_image_folder(t["good"], image_size=0),
         ValueError, "image_size must be positive"),
    Case("image_size_string", lambda t: load_image_folder(t["good"], image_size="8"),
         TypeError, "image_size must be None, an int or a pair"),
    Case("extensions_empty", lambda t: load_image_folder(t["good"], extensions=[]),
         ValueError, "extensions must name at least one file extension"),
    Case("on_error_unknown", lambda t: load_image_folder(t["good"], on_error="ignore"),
         ValueError, param_error("on_error")),
    Case("families_not_mapping", lambda t: load_image_folder(t["good"], families=3),
         TypeError, param_error("families")),
]


@pytest.mark.parametrize("entry, case", _params("load_image_folder", FOLDER_CASES))
def test_load_image_folder_bad_input(entry, case, trees):
    with pytest.raises(case.exc, match=case.match):
        case.make(trees)


def test_truncated_files_are_found_when_decoded(trees):
    """Without verify=True only headers are read; decoding names the file."""
    data = load_image_folder(trees["corrupt_jpeg"])  # the header is intact
    X, y = make_bags(data.paths, data.labels, bag_size=1)
    with pytest.raises(ValueError, match="bad.jpg.*truncated/corrupt"):
        PRNUFingerprint().fit(X, y).transform(X)


MANIFEST_CASES = [
    Case("listed_image_missing", lambda t: load_image_manifest(t["csv_missing_image"]),
         ValueError, "nope.png' does not exist"),
    Case("no_path_column", lambda t: load_image_manifest(t["csv_no_path_column"]),
         ValueError, r"The column 'path' is not in .*\['file', 'generator'\].*path_col="),
    Case("empty_file", lambda t: load_image_manifest(t["csv_empty_file"]), ValueError,
         r"The column 'path' is not in .*its columns are \[\]"),
    Case("header_only", lambda t: load_image_manifest(t["csv_header_only"]), ValueError,
         "lists no image"),
    Case("corrupt_image_verify",
         lambda t: load_image_manifest(t["csv_corrupt_image"], verify=True), ValueError,
         "bad.png.*truncated/corrupt"),
    Case("binary_not_csv", lambda t: load_image_manifest(t["csv_binary"]), ValueError,
         "not a readable CSV text file.*UTF-8"),
    Case("manifest_missing", lambda t: load_image_manifest(t["missing"] + ".csv"),
         ValueError, "is not a file; pass the path of a CSV file"),
    Case("manifest_is_folder", lambda t: load_image_manifest(t["root"]), ValueError,
         "is not a file"),
    Case("manifest_int", lambda t: load_image_manifest(3), TypeError,
         "manifest must be the path of a CSV file or a DataFrame"),
    Case("empty_label", lambda t: load_image_manifest(t["csv_empty_label"]), ValueError,
         "line 2: the label of 'good/a/0.png' is empty"),
    Case("empty_path", lambda t: load_image_manifest(t["csv_empty_path"]), ValueError,
         "line 2: the path is empty"),
    Case("duplicate_image", lambda t: load_image_manifest(t["csv_duplicate"]), ValueError,
         r"listed twice \(line 2 and line 3\)"),
    Case("extra_field", lambda t: load_image_manifest(t["csv_extra_field"]), ValueError,
         "line 2: 3 fields, but the header names 2"),
    Case("path_col_none", lambda t: load_image_manifest(t["csv_good"], path_col=None),
         ValueError, "path_col must name a column"),
    Case("same_column_twice",
         lambda t: load_image_manifest(t["csv_good"], label_col="path"), ValueError,
         "must be different columns"),
    Case("columns_of_different_lengths",
         lambda t: load_image_manifest({"path": ["a.png", "b.png"], "label": ["a"]}),
         ValueError, "have different lengths"),
    Case("on_error_unknown",
         lambda t: load_image_manifest(t["csv_good"], on_error="warn"), ValueError,
         param_error("on_error")),
]


@pytest.mark.parametrize("entry, case", _params("load_image_manifest", MANIFEST_CASES))
def test_load_image_manifest_bad_input(entry, case, trees):
    with pytest.raises(case.exc, match=case.match):
        case.make(trees)


# --------------------------------------------------------------------------
# audit_confounds and check_reencode (issue 18, point 5): a separate block
# --------------------------------------------------------------------------
def _tree_files(root):
    """``(paths, labels)`` of a ``root/<source>/<file>`` tree, sorted."""
    found = sorted((s, f) for s in os.listdir(root) for f in os.listdir(os.path.join(root, s)))
    return [os.path.join(root, s, f) for s, f in found], [s for s, _ in found]


def _audit_call(*args, **kw):
    from skfingerprint.datasets import audit_confounds

    return audit_confounds(*args, **kw)


def _audit(tree, labels=None, **kw):
    paths, found = _tree_files(tree)
    return _audit_call(paths, found if labels is None else labels, **kw)


AUDIT_CASES = [
    Case("labels_length", lambda t: _audit(t["good"], ["a", "a", "b"]), ValueError,
         "different lengths"),
    Case("single_source", lambda t: _audit(t["good"], ["a"] * 4), ValueError,
         "at least two sources"),
    Case("no_labels", lambda t: _audit_call(_tree_files(t["good"])[0]), ValueError,
         "labels is required"),
    Case("bunch_and_labels",
         lambda t: _audit_call(dict(zip(["paths", "labels"], _tree_files(t["good"]))), ["a"]),
         ValueError, "labels was given with a Bunch"),
    Case("decoded_images",
         lambda t: _audit_call(np.zeros((4, 8, 8, 3), np.uint8), list("aabb")), TypeError,
         "not decoded images"),
    Case("paths_empty", lambda t: _audit_call([], []), ValueError, "paths is empty"),
    Case("unreadable_file", lambda t: _audit(t["text_as_png"]), ValueError,
         "fake.png.*not a readable image"),
    Case("missing_file",
         lambda t: _audit_call([t["missing"] + ".png", t["file"]], ["a", "b"]), ValueError,
         "does_not_exist.png' does not exist"),
    Case("paths_a_folder_string", lambda t: _audit_call(t["good"], ["a"]), ValueError,
         "'paths' parameter"),
    Case("on_error_unknown", lambda t: _audit(t["good"], on_error="warn"), ValueError,
         "'on_error' parameter"),
    Case("cv_one", lambda t: _audit(t["good"], cv=1), ValueError, "'cv' parameter"),
    Case("alpha_zero", lambda t: _audit(t["good"], alpha=0), ValueError,
         "'alpha' parameter"),
    Case("margin_above_half", lambda t: _audit(t["good"], margin=0.6), ValueError,
         "'margin' parameter"),
]


@pytest.mark.parametrize("entry, case", _params("audit_confounds", AUDIT_CASES))
def test_audit_confounds_bad_input(entry, case, trees):
    with pytest.raises(case.exc, match=case.match):
        case.make(trees)


@pytest.mark.parametrize("spec, exc, match", [
    ("jpeg", ValueError, "gives no JPEG quality"),
    ("jpeg:0", ValueError, r"quality must be an integer in \[1, 100\]"),
    ("webp:best", ValueError, r"quality must be an integer in \[1, 100\]"),
    ("png:90", ValueError, "PNG is lossless and takes no quality"),
    ("heic:90", ValueError, "names no known codec"),
    (90, TypeError, "reencode must be a str or None"),
], ids=lambda v: repr(v) if not isinstance(v, type) else v.__name__)
def test_check_reencode_bad_input(spec, exc, match):
    from skfingerprint.augment import check_reencode

    with pytest.raises(exc, match=match):
        check_reencode(spec)


ZOO_CASES = [
    Case("preset_unknown", lambda: dict(preset="huge"), ValueError,
         param_error("preset")),
    Case("image_size_not_power_of_two", lambda: dict(image_size=33), ValueError,
         "image_size must be a power of two between"),
    Case("image_size_zero", lambda: dict(image_size=0), ValueError,
         param_error("image_size")),
    Case("image_size_string", lambda: dict(image_size="16"), ValueError,
         param_error("image_size")),
    Case("image_size_huge", lambda: dict(image_size=2**20), ValueError,
         param_error("image_size")),
    Case("random_state_negative", lambda: dict(random_state=-1), ValueError,
         param_error("random_state")),
    Case("random_state_too_large", lambda: dict(random_state=2**40), ValueError,
         param_error("random_state")),
    Case("random_state_string", lambda: dict(random_state="x"), ValueError,
         param_error("random_state")),
    Case("data_home_int", lambda: dict(data_home=3), TypeError,
         param_error("data_home")),
    Case("data_home_is_a_file", lambda: dict(data_home="FILE"), NotADirectoryError,
         "data_home .* is a file, not a folder"),
    Case("n_jobs_zero", lambda: dict(n_jobs=0), ValueError,
         r"n_jobs must be None or a non-zero int \(-1: all CPUs\), got 0"),
    Case("n_jobs_string", lambda: dict(n_jobs="x"), ValueError,
         param_error("n_jobs")),
    Case("sample_size_not_multiple_of_8", lambda: dict(sample_size=100), ValueError,
         "sample_size must be a multiple of 8"),
    Case("sample_size_huge", lambda: dict(sample_size=4096), ValueError,
         param_error("sample_size")),
    Case("sample_size_float", lambda: dict(sample_size=96.0), ValueError,
         param_error("sample_size")),
]


@pytest.mark.parametrize("entry, case", _params("make_model_zoo", ZOO_CASES))
def test_make_model_zoo_bad_arguments(entry, case, tmp_path, monkeypatch):
    from skfingerprint.datasets._zoo import _build

    def never(*args, **kwargs):
        raise AssertionError("a bad argument must be refused before building")

    monkeypatch.setattr(_build, "build", never)
    kwargs = dict(data_home=str(tmp_path), verbose=False)
    kwargs.update(case.make())
    if kwargs["data_home"] == "FILE":
        kwargs["data_home"] = str(tmp_path / "a_file")
        (tmp_path / "a_file").write_text("x")
    with pytest.raises(case.exc, match=case.match):
        make_model_zoo(**kwargs)


SYNTHETIC_CASES = [
    Case("n_models=0", lambda: dict(n_models=0), ValueError,
         "n_models must be an integer >= 1, got 0"),
    Case("n_models=1.5", lambda: dict(n_models=1.5), ValueError,
         "n_models must be an integer >= 1"),
    Case("n_models='3'", lambda: dict(n_models="3"), ValueError,
         "n_models must be an integer >= 1, got '3'"),
    Case("n_families=0", lambda: dict(n_families=0), ValueError,
         "n_families must be an integer >= 1"),
    Case("n_families_more_than_models", lambda: dict(n_models=2, n_families=5),
         ValueError, "n_families=5 exceeds n_models=2"),
    Case("n_images_per_model=0", lambda: dict(n_images_per_model=0), ValueError,
         "n_images_per_model must be an integer >= 1"),
    Case("image_size=2", lambda: dict(image_size=2), ValueError,
         "image_size must be an integer >= 4, got 2"),
    Case("image_size='16'", lambda: dict(image_size="16"), ValueError,
         "image_size must be an integer >= 4"),
    Case("strength=-1", lambda: dict(strength=-1), ValueError,
         "strength must be a finite number >= 0"),
    Case("strength=nan", lambda: dict(strength=np.nan), ValueError,
         "strength must be a finite number >= 0"),
    Case("strength='x'", lambda: dict(strength="x"), ValueError,
         "strength must be a finite number >= 0"),
    Case("noise=-1", lambda: dict(noise=-1), ValueError, "noise must be a finite number"),
    Case("family_share=2", lambda: dict(family_share=2), ValueError,
         r"family_share must be in \[0, 1\], got 2"),
    Case("family_share=nan", lambda: dict(family_share=np.nan), ValueError,
         r"family_share must be in \[0, 1\]"),
    Case("family_share='x'", lambda: dict(family_share="x"), ValueError,
         r"family_share must be in \[0, 1\], got 'x'"),
    Case("random_state='x'", lambda: dict(random_state="x"), ValueError,
         "'x' cannot be used to seed"),
]


@pytest.mark.parametrize("entry, case",
                         _params("make_fingerprinted_images", SYNTHETIC_CASES))
def test_make_fingerprinted_images_bad_arguments(entry, case):
    kwargs = dict(n_images_per_model=2, image_size=8)
    kwargs.update(case.make())
    with pytest.raises(case.exc, match=case.match):
        make_fingerprinted_images(**kwargs)


# ===========================================================================
# save / load
# ===========================================================================

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved model and broken variants of its file."""
    root = tmp_path_factory.mktemp("saved")
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    good = root / "model.skfp"
    save(model, good)
    data = good.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}

    def rezip(name, **replace):
        with zipfile.ZipFile(root / name, "w") as zf:
            for n, content in {**parts, **replace}.items():
                zf.writestr(n, content)
        return str(root / name)

    payload = next(n for n in parts if not n.endswith(".json"))
    flipped = bytearray(parts[payload])
    flipped[len(flipped) // 2] ^= 0xFF
    meta = json.loads(parts["meta.json"])
    files = {
        "good": str(good),
        "folder": str(root),
        "missing": str(root / "nope.skfp"),
        "tampered_payload": rezip("tampered.skfp", **{payload: bytes(flipped)}),
        "tampered_meta": rezip("meta.skfp", **{"meta.json": b"{not json"}),
        "future_format": rezip("future.skfp", **{"meta.json": json.dumps(
            dict(meta, format_version=99)).encode()}),
    }
    for name, content in {"text": b"hello", "empty": b"",
                          "truncated": data[: len(data) // 2],
                          "pickle": pickle.dumps(model)}.items():
        (root / name).write_bytes(content)
        files[name] = str(root / name)
    with zipfile.ZipFile(root / "other.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    files["other_zip"] = str(root / "other.zip")
    files["model"] = model
    return files


SAVE_CASES = [
    Case("folder_missing", lambda s: save(s["model"], os.path.join(s["folder"], "no", "m")),
         FileNotFoundError, "the folder .* does not exist. Create it first"),
    Case("path_is_folder", lambda s: save(s["model"], s["folder"]), IsADirectoryError,
         "it is a folder. Give a file path"),
    Case("path_int", lambda s: save(s["model"], 3), TypeError,
         "path must be a str or os.PathLike file path, got int"),
    Case("path_empty", lambda s: save(s["model"], ""), ValueError,
         "path must be a non-empty file path"),
]
LOAD_CASES = [
    Case("missing", lambda s: load(s["missing"]), FileNotFoundError, "no such file"),
    Case("folder", lambda s: load(s["folder"]), IsADirectoryError, "it is a folder"),
    Case("path_int", lambda s: load(3), TypeError, "path must be a str or os.PathLike"),
    Case("text_file", lambda s: load(s["text"]), ValueError,
         r"not a skfingerprint model file \(not a ZIP archive\)"),
    Case("empty_file", lambda s: load(s["empty"]), ValueError, "not a ZIP archive"),
    Case("truncated", lambda s: load(s["truncated"]), ValueError,
         "truncated or corrupt"),
    Case("pickle", lambda s: load(s["pickle"]), ValueError,
         "Files from pickle or joblib are not read here"),
    Case("other_zip", lambda s: load(s["other_zip"]), ValueError,
         r"it holds \['a.txt'\], expected"),
    Case("tampered_payload", lambda s: load(s["tampered_payload"]), ValueError,
         r"modified or is corrupt \(SHA-256 digest mismatch\)"),
    Case("tampered_meta", lambda s: load(s["tampered_meta"]), ValueError,
         "modified or is corrupt.*unreadable meta.json"),
    Case("future_format", lambda s: load(s["future_format"]), ValueError,
         "format version 99, newer than"),
    Case("trusted_true", lambda s: load(s["good"], trusted=True), TypeError,
         "trusted=True is not accepted"),
]


@pytest.mark.parametrize("entry, case",
                         _params("save", SAVE_CASES) + _params("load", LOAD_CASES))
def test_save_load_bad_input(entry, case, saved):
    with pytest.raises(case.exc, match=case.match):
        case.make(saved)


# ===========================================================================
# Command line
# ===========================================================================

@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, trees, saved):
    """A model fitted by the CLI on a tree of 2 sources x 4 PNGs, and others."""
    root = tmp_path_factory.mktemp("cli")
    tree = root / "tree"
    for s in "ab":
        for i in range(4):
            _png(tree / s / f"{i}.png")
    one = root / "one_source"
    for i in range(4):
        _png(one / "a" / f"{i}.png")
    model = str(root / "model.skfp")
    status = main(["fit", str(tree), "--bag-size", "2", "--epochs", "1", "--seed", "0",
                   "--device", "cpu", "--threads", "1", "-q", "-o", model])
    assert status == 0
    text = root / "notes.txt"
    text.write_text("x")
    (root / "empty").mkdir()
    return dict(T=str(tree), ONE=str(one), M=model, R=str(root), TXT=str(text),
                EMPTY=str(root / "empty"), TAMPERED=saved["tampered_payload"],
                OTHER_MODEL=saved["good"], CORRUPT=trees["corrupt_png"],
                TEXT_PNG=trees["text_as_png"])


CLI_CASES = [
    # fit
    ("fit-root_missing", "fit R/nope --bag-size 2 -o R/m.skfp", "'R/nope' does not exist"),
    ("fit-root_is_file", "fit TXT --bag-size 2 -o R/m.skfp", "is not a folder"),
    ("fit-root_without_images", "fit EMPTY --bag-size 2 -o R/m.skfp", "No image files"),
    ("fit-one_source", "fit ONE --bag-size 2 -q -o R/m.skfp", "at least 2 source"),
    ("fit-bag_size_larger_than_sources", "fit T --bag-size 9 -q -o R/m.skfp",
     "--bag-size"),
    ("fit-corrupt_image", "fit CORRUPT --bag-size 1 --epochs 1 -q -o R/m.skfp",
     "bad.png"),
    ("fit-bag_size_0", "fit T --bag-size 0 -o R/m.skfp",
     "argument --bag-size: expected a positive integer, got '0'"),
    ("fit-bag_size_text", "fit T --bag-size x -o R/m.skfp",
     "argument --bag-size: expected a positive integer, got 'x'"),
    ("fit-epochs_0", "fit T --bag-size 2 --epochs 0 -o R/m.skfp",
     "re:--epochs 0 trains nothing: .* give --pretrained too"),
    ("fit-epochs_negative", "fit T --bag-size 2 --epochs -1 -o R/m.skfp", "argument --epochs"),
    ("fit-image_size_0", "fit T --bag-size 2 --image-size 0 -o R/m.skfp",
     "argument --image-size"),
    ("fit-bags_per_source_0", "fit T --bag-size 2 --bags-per-source 0 -o R/m.skfp",
     "argument --bags-per-source"),
    ("fit-num_workers_negative", "fit T --bag-size 2 --num-workers -1 -o R/m.skfp",
     "argument --num-workers: expected an integer >= 0, got '-1'"),
    ("fit-seed_negative", "fit T --bag-size 2 --seed -1 -o R/m.skfp",
     "argument --seed: expected an integer >= 0, got '-1'"),
    ("fit-seed_too_large", "fit T --bag-size 2 --seed 4294967296 -o R/m.skfp",
     "argument --seed: expected a seed between 0 and 2**32 - 1"),
    ("fit-device_unknown", "fit T --bag-size 2 --device tpu -q -o R/m.skfp",
     "re:device.*must be 'auto', 'cpu', 'cuda'.*--device"),
    ("fit-layout_unknown", "fit T --bag-size 2 --layout flat -o R/m.skfp",
     "argument --layout: invalid choice: 'flat'"),
    ("fit-output_folder_missing", "fit T --bag-size 2 -o R/no/m.skfp",
     "the folder of the output file"),
    ("fit-output_is_a_folder", "fit T --bag-size 2 -o R", "is a folder; give a file path"),
    ("fit-missing_required", "fit T", "the following arguments are required"),
    # attribute
    ("attribute-model_missing", "attribute R/none.skfp T", "does not exist"),
    ("attribute-model_not_a_model_file", "attribute TXT T", "not a ZIP archive"),
    ("attribute-model_tampered", "attribute TAMPERED T", "SHA-256 digest mismatch"),
    ("attribute-model_of_another_kind", "attribute OTHER_MODEL T",
     "holds a LogisticRegression, not a model made by 'skfingerprint fit'"),
    ("attribute-image_missing", "attribute M R/nope.png", "'R/nope.png' does not exist"),
    ("attribute-text_file", "attribute M TXT", "re:notes.txt.*not a readable image"),
    ("attribute-empty_folder", "attribute M EMPTY", "no image files"),
    ("attribute-text_as_png", "attribute M TEXT_PNG", "fake.png"),
    ("attribute-corrupt_png", "attribute M CORRUPT", "bad.png"),
    ("attribute-bag_size_0", "attribute M T --bag-size 0", "argument --bag-size"),
    ("attribute-no_paths", "attribute M", "the following arguments are required: PATH"),
    # families
    ("families-root_missing", "families M R/nope", "'R/nope' does not exist"),
    ("families-one_source", "families M ONE", "holds one source; families need at least 2"),
    ("families-n_families_too_many", "families M T --n-families 5",
     "--n-families 5 is more than the 2 sources"),
    ("families-plot_folder_missing", "families M T --plot R/no/plot.png",
     "No such file or directory"),
    ("families-model_missing", "families R/none.skfp T", "does not exist"),
    # zoo, demo, top level
    ("zoo-preset_unknown", "zoo build --preset huge", "argument --preset: invalid choice"),
    ("zoo-image_size_not_power_of_two", "zoo info --image-size 33 --data-home R",
     "image_size must be a power of two"),
    ("zoo-data_home_is_a_file", "zoo info --data-home TXT", "is a file, not a folder"),
    ("zoo-seed_negative", "zoo info --seed -3 --data-home R", "argument --seed"),
    ("demo-out_is_a_file", "demo --out TXT", "is a file, not a folder"),
    ("command_unknown", "bogus", "invalid choice: 'bogus'"),
    ("no_command", "", "the following arguments are required: COMMAND"),
]


@pytest.mark.parametrize("argv, fragment", [
    pytest.param(argv, fragment, id=f"cli-{name}") for name, argv, fragment in CLI_CASES])
def test_cli_bad_arguments(argv, fragment, cli_files, capsys):
    def expand(word):
        for key in sorted(cli_files, key=len, reverse=True):
            if word == key or word.startswith(key + "/"):
                return cli_files[key] + word[len(key):]
        return word

    args = [expand(w) for w in argv.split()]
    try:
        status = main(args)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("skfingerprint: error: "), err
    if fragment.startswith("re:"):
        assert re.search(fragment[3:], last), last
    else:
        assert fragment.replace("'R/", f"'{cli_files['R']}/") in last, last


# ===========================================================================
# Accepted on purpose (documented): not bad input
# ===========================================================================

@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_any_image_size_down_to_1x1_is_accepted(name):
    """phi is fully convolutional with global pooling: no minimum image size."""
    X = (RNG.rand(8, 2, 1, 1, 3) * 255).astype(np.uint8)
    Z = ESTIMATORS[name]().fit(X, Y_GOOD).transform(X)
    assert Z.shape[0] == 8 and np.isfinite(Z).all()


def test_encoder_transform_takes_other_bag_sizes_and_in_patch_mode_image_sizes(fitted):
    """Other bag sizes always; other image sizes in patch mode (issue #13, point 9:
    outside it they are refused, see SIZE_CASE)."""
    Z = fitted["SetFingerprintEncoder"].transform(np.zeros((3, 5, 8, 8, 3), np.uint8))
    assert Z.shape == (3, 4) and np.isfinite(Z).all()
    patched = ESTIMATORS["SetFingerprintEncoder"]().set_params(patch_size=8).fit(X_GOOD, Y_GOOD)
    Z = patched.transform(np.zeros((3, 5, 16, 12, 3), np.uint8))
    assert Z.shape == (3, 4) and np.isfinite(Z).all()


def test_unsupervised_baselines_and_families_take_one_source():
    one = np.repeat("a", 8)
    PRNUFingerprint().fit(X_GOOD, one)
    assert model_fingerprints(Z_GOOD, one)[1].shape == (1, 4)
    assert cluster_families(Z_GOOD, one, n_families=1) == {"a": 0}


def test_unseen_labels_at_score_count_as_wrong(clf):
    """As for any scikit-learn classifier: score compares, it does not validate."""
    y = np.repeat(["a", "never_seen"], 4)
    assert clf.score(Z_GOOD, y) == pytest.approx(np.mean(clf.predict(Z_GOOD) == y))
    assert clf.score(Z_GOOD, y) <= 0.5


# ===========================================================================
# Open set (issue 17): conformal thresholds, rejection scores, held-out calibration
# ===========================================================================

OPEN_SET_CASES = [
    Case("rejection_score=cosine", lambda: dict(rejection_score="cosine"), ValueError,
         "'rejection_score' parameter.*'relative_distance'"),
    Case("rejection_score=None", lambda: dict(rejection_score=None), ValueError,
         "'rejection_score' parameter"),
    Case("false_rejection_rate=1", lambda: dict(false_rejection_rate=1.0), ValueError,
         "'false_rejection_rate' parameter.*range"),
    Case("false_rejection_rate=True", lambda: dict(false_rejection_rate=True), ValueError,
         "'false_rejection_rate' parameter"),
    Case("reject_threshold=True", lambda: dict(reject_threshold=True), ValueError,
         "'reject_threshold' parameter.*boolean"),
    Case("reject_threshold=nan", lambda: dict(reject_threshold=np.nan), ValueError,
         "'reject_threshold' parameter"),
    Case("reject_threshold='x'", lambda: dict(reject_threshold="x"), ValueError,
         "'reject_threshold' parameter"),
    Case("unknown_label=None", lambda: dict(unknown_label=None), ValueError,
         "'unknown_label' parameter"),
]


@pytest.mark.parametrize("entry, case",
                         _params("NearestFingerprintClassifier(open set)", OPEN_SET_CASES))
def test_open_set_params_bad_input(entry, case):
    with pytest.raises(case.exc, match=case.match):
        NearestFingerprintClassifier(**case.make()).fit(Z_GOOD, Y_GOOD)


def _held_out(**params):
    from skfingerprint.classifiers import HeldOutRejectionClassifier

    return HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto"), **params)


HELD_OUT_CASES = [
    Case("calibration=kfold", lambda: _held_out(calibration="kfold"), ValueError,
         "'calibration' parameter.*'cross_fit'"),
    Case("n_splits=1", lambda: _held_out(n_splits=1), ValueError,
         "'n_splits' parameter.*range"),
    Case("calibration_size=0", lambda: _held_out(calibration="split", calibration_size=0),
         ValueError, "'calibration_size' parameter.*range"),
    Case("estimator=None", lambda: _held_out().set_params(estimator=None), ValueError,
         "'estimator' parameter"),
    Case("too_few_bags_for_folds", lambda: _held_out(n_splits=2), ValueError,
         "'a' has 3 bag.*n_splits=2.*lower n_splits"),
]


@pytest.mark.parametrize("entry, case",
                         _params("HeldOutRejectionClassifier.fit", HELD_OUT_CASES))
def test_held_out_rejection_bad_input(entry, case):
    y = np.repeat(["a", "b"], [3, 5])  # 3 bags of "a": 2 folds leave 1 for training
    X = np.random.RandomState(0).standard_normal((8, 3))
    with pytest.raises(case.exc, match=case.match):
        case.make().fit(X, y)


CONFORMAL_CASES = [
    Case("rate=1", lambda: ([1.0, 2.0], 1.0), ValueError,
         "'false_rejection_rate' parameter.*range"),
    Case("rate='x'", lambda: ([1.0, 2.0], "x"), ValueError, "'false_rejection_rate' parameter"),
    Case("scores=None", lambda: (None, 0.1), ValueError, "'scores' parameter.*array-like"),
    Case("empty", lambda: ([], 0.1), ValueError, "scores is empty"),
    Case("nan", lambda: ([1.0, np.nan], 0.1), ValueError, "scores contains NaN"),
]


@pytest.mark.parametrize("entry, case", _params("conformal_threshold", CONFORMAL_CASES))
def test_conformal_threshold_bad_input(entry, case):
    from skfingerprint.classifiers import conformal_threshold

    with pytest.raises(case.exc, match=case.match):
        conformal_threshold(*case.make())


# ===========================================================================
# Hostile files and careless users (issue #13): model files, images,
# manifests and the command.  Matched on the kind of problem.
# ===========================================================================
from skfingerprint._io import read_image, read_image_size  # noqa: E402

from benchmarks._crafted_model_files import (  # noqa: E402
    envelope, huge_npy, popen_schema, rewrite_payload)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Crafted model files, images, manifests and a tree for the command."""
    import skfingerprint._net_state as net_state

    root = tmp_path_factory.mktemp("hostile")
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    good = root / "good.skfp"
    save(model, good)
    with zipfile.ZipFile(good) as zf:
        meta, payload = json.loads(zf.read("meta.json")), zf.read("model.skops")
    files = {"root": str(root)}
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo.skfp")
        files["fifo"] = str(root / "fifo.skfp")
    files["bomb"] = envelope(root / "bomb.skfp", meta, bytes(32 << 20))
    files["inner_bomb"] = envelope(root / "inner.skfp", meta, rewrite_payload(
        payload, lambda n, d: d + bytes(32 << 20) if n.endswith(".npy") else d,
        compression=zipfile.ZIP_DEFLATED))
    files["huge_npy"] = envelope(root / "npy.skfp", meta,
                                       rewrite_payload(payload, huge_npy((10**6, 10**6))))
    files["popen"] = envelope(root / "popen.skfp", meta,
                                    rewrite_payload(payload, popen_schema))
    with zipfile.ZipFile(root / "nested.skfp", "w") as zf:
        zf.writestr("meta.json", "[" * 100000 + "]" * 100000)
        zf.writestr("model.skops", b"")
    files["nested_meta"] = str(root / "nested.skfp")
    save(LogisticRegression(C=-1.0), root / "param.skfp")
    files["bad_param"] = str(root / "param.skfp")

    X = (RNG.rand(4, 2, 8, 8, 3) * 255).astype(np.uint8)
    enc = SetFingerprintEncoder(embedding_dim=4, channels=(4,), rho_hidden=8,
                                max_epochs=1, device="cpu", random_state=0)
    enc.fit(X, ["a", "a", "b", "b"])
    dump = net_state.dump_net_state
    for name, change in {
        "huge_config": lambda s: s["module_config"].update(channels=[200000, 200000]),
        "deep_config": lambda s: s["module_config"].update(n_full_res=10**6),
        "weight_shape": lambda s: s["weights"].update(
            {k: np.zeros(3, np.float32) for k in sorted(s["weights"])[:1]}),
    }.items():
        def hostile_dump(*args, change=change):
            state = dump(*args)
            change(state)
            return state

        net_state.dump_net_state = hostile_dump
        try:
            save(enc, root / f"{name}.skfp")
        finally:
            net_state.dump_net_state = dump
        files[name] = str(root / f"{name}.skfp")

    # images: a PNG whose valid pixel stream stops at half the rows; a pixel bomb
    import struct

    def chunk(tag, data):
        crc = __import__("zlib").crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(range(1, 25)) for _ in range(4))
    (root / "short.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", __import__("zlib").compress(rows)) + chunk(b"IEND", b""))
    files["short_png"] = str(root / "short.png")
    Image.new("L", (9000, 9000)).save(root / "huge.png")
    files["pixel_bomb"] = str(root / "huge.png")

    # manifests
    for i in range(2):
        _png(root / "m" / f"{i}.png")
    _png(root / "elsewhere.png")
    (root / "m" / "dup.csv").write_text("path,label,label\n0.png,a,a\n1.png,b,b\n")
    (root / "m" / "out.csv").write_text("path,label\n0.png,a\n../elsewhere.png,b\n")
    files.update(dup_header=str(root / "m" / "dup.csv"), outside=str(root / "m" / "out.csv"))

    # the command: a training tree and an image -o would overwrite
    for s in "ab":
        for i in range(4):
            _png(root / "tree" / s / f"{i}.png")
    files["tree"] = str(root / "tree")
    files["cli_model"] = str(root / "cli.skfp")
    assert main(["fit", files["tree"], "--bag-size", "2", "--epochs", "1", "--device", "cpu",
                 "--threads", "1", "-q", "-o", files["cli_model"]]) == 0
    return files


HOSTILE_LOAD_CASES = [
    Case("fifo", lambda f: load(f["fifo"]), ValueError, "not a regular file"),
    Case("dev_zero", lambda f: load("/dev/zero"), ValueError, "not a regular file"),
    Case("decompression_bomb", lambda f: load(f["bomb"]), ValueError,
         "not a valid model file.*expanded"),
    Case("bomb_inside_payload", lambda f: load(f["inner_bomb"]), ValueError,
         "not a valid model file.*expanded"),
    Case("npy_header_huge_shape", lambda f: load(f["huge_npy"]), ValueError,
         "not a valid model file.*shape"),
    Case("meta_json_deeply_nested", lambda f: load(f["nested_meta"]), ValueError,
         "not a valid model file"),
    Case("stored_parameter_invalid", lambda f: load(f["bad_param"]), ValueError,
         "not a valid model file.*'C' parameter"),
    Case("module_config_huge", lambda f: load(f["huge_config"]), ValueError,
         "not a valid model file.*do not match the module"),
    Case("module_config_deep", lambda f: load(f["deep_config"]), ValueError,
         "not a valid model file.*tensors"),
    Case("weight_shape_mismatch", lambda f: load(f["weight_shape"]), ValueError,
         "not a valid model file.*shape"),
    Case("untrusted_popen", lambda f: load(f["popen"]), ValueError,
         r"not trusted: \['subprocess\.Popen'\]"),
]
HOSTILE_DATA_CASES = [
    Case("png_short_pixel_stream", lambda f: read_image(f["short_png"]), ValueError,
         "short.png.*truncated"),
    Case("png_pixel_bomb", lambda f: read_image_size(f["pixel_bomb"]), ValueError,
         "huge.png.*pixels"),
    Case("manifest_duplicated_column", lambda f: load_image_manifest(f["dup_header"]),
         ValueError, "'label' more than once"),
    Case("manifest_path_outside_root",
         lambda f: load_image_manifest(f["outside"], allow_outside_root=False),
         ValueError, "outside root"),
    Case("manifest_allow_outside_root_not_bool",
         lambda f: load_image_manifest(f["outside"], allow_outside_root="yes"),
         TypeError, "allow_outside_root"),
]


@pytest.mark.parametrize("case", [
    pytest.param(c, id=f"hostile-{c.id}") for c in HOSTILE_LOAD_CASES + HOSTILE_DATA_CASES])
def test_hostile_files_are_refused(case, hostile):
    if case.id == "fifo" and "fifo" not in hostile:
        pytest.skip("no FIFOs on this platform")
    if case.id == "dev_zero" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(case.exc, match=case.match):
        case.make(hostile)


HOSTILE_CLI_CASES = [
    ("fit-output_is_a_training_image", "fit tree --bag-size 2 -q -o tree/a/0.png",
     "not a model file; pass --force"),
    ("attribute-model_is_a_fifo", "attribute fifo tree", "not a regular file"),
    ("attribute-model_is_a_bomb", "attribute bomb tree", "not a valid model file"),
    ("attribute-model_names_popen", "attribute popen tree", "not trusted"),
    ("attribute-short_png", "attribute cli_model short_png", "truncated"),
]


@pytest.mark.parametrize("argv, fragment", [
    pytest.param(a, f, id=f"cli-hostile-{n}") for n, a, f in HOSTILE_CLI_CASES])
def test_cli_hostile_inputs(argv, fragment, hostile, capsys):
    if "fifo" in argv.split() and "fifo" not in hostile:
        pytest.skip("no FIFOs on this platform")
    args = [hostile.get(w.split("/")[0], w.split("/")[0]) + w[len(w.split("/")[0]):]
            if w.split("/")[0] in hostile else w for w in argv.split()]
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert fragment in err.strip().splitlines()[-1]
