"""Image folders of issue 40: a re-encoded copy follows the file's content,
symlinked and odd-format source folders are never lost silently, and a file
replaced after the scan is the one named."""

import os

import numpy as np
import pytest
from PIL import Image

from skfingerprint.datasets import load_image_folder, reencoded_copies


def _png(path, seed, size=16):
    rng = np.random.RandomState(seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rng.randint(0, 256, (size, size, 3)).astype(np.uint8)).save(path)
    return str(path)


# --- 6: the --reencode cache is keyed on the content --------------------------------

def test_replaced_file_of_same_size_and_time_gets_a_new_copy(tmp_path):
    path = _png(tmp_path / "img" / "a.png", seed=0)
    st = os.stat(path)
    first = reencoded_copies([path], "png", data_home=tmp_path / "home")[0]
    np.testing.assert_array_equal(np.asarray(Image.open(first)),
                                  np.asarray(Image.open(path)))
    # replaced by another image of the same size, with the same modification time
    _png(path, seed=1)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    second = reencoded_copies([path], "png", data_home=tmp_path / "home")[0]
    np.testing.assert_array_equal(np.asarray(Image.open(second)),
                                  np.asarray(Image.open(path)))
    # an unchanged file keeps its copy (written once)
    before = os.stat(second).st_mtime_ns
    assert reencoded_copies([path], "png", data_home=tmp_path / "home")[0] == second
    assert os.stat(second).st_mtime_ns == before
