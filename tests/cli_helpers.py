"""Helpers shared by the command-line test modules: a tiny image tree, the
fit options that train in a second, and the last error line printed."""

import os

import numpy as np
from PIL import Image

from skfingerprint.cli import main

FIT = ["--bag-size", "2", "--epochs", "1", "--seed", "0", "--device", "cpu",
       "--threads", "1", "-q"]


def make_tree(root, sources=("a", "b"), n=6, size=8, seed=0):
    """``root/<source>/<i>.png``: ``n`` random ``size`` px RGB images per source."""
    rng = np.random.RandomState(seed)
    for s in sources:
        os.makedirs(os.path.join(root, s), exist_ok=True)
        for i in range(n):
            img = rng.randint(0, 256, (size, size, 3)).astype(np.uint8)
            Image.fromarray(img).save(os.path.join(root, s, f"{i}.png"))
    return str(root)


def fit_two_sources(tmp_path_factory):
    """A tree of exactly 2 sources and a model fitted on it by the command."""
    root = make_tree(tmp_path_factory.mktemp("two"))
    model = str(tmp_path_factory.mktemp("m") / "model.skfp")
    assert main(["fit", root, *FIT, "-o", model]) == 0
    return root, model


def last_error(capsys):
    """The last line written to standard error."""
    return capsys.readouterr().err.strip().splitlines()[-1]
