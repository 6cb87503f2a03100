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


# --- 5: symlinked source folders, .jfif and .avif sources ----------------------------

def _rel(data, root):
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in data.paths]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_link_into_another_source_is_not_followed_and_named(tmp_path):
    root = tmp_path / "root"
    for s in "ab":
        for i in range(2):
            _png(root / s / f"{i}.png", seed=i)
    try:
        os.symlink(os.path.join("..", "b"), root / "a" / "zlink")
    except (OSError, NotImplementedError):
        pytest.skip("cannot create symbolic links here")
    with pytest.warns(UserWarning, match=r"Did not follow 1 link.*a/zlink.*source 'b'"):
        data = load_image_folder(root)
    assert _rel(data, root) == ["a/0.png", "a/1.png", "b/0.png", "b/1.png"]
    assert data.labels.tolist() == ["a", "a", "b", "b"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_links_inside_a_source_and_to_outside_folders_are_followed(tmp_path):
    root = tmp_path / "root"
    _png(root / "a" / "0.png", seed=0)
    _png(root / "a" / "sub" / "1.png", seed=1)
    _png(root / "b" / "0.png", seed=2)
    _png(tmp_path / "disk" / "2.png", seed=3)
    os.symlink(root / "a" / "sub", root / "a" / "again")  # inside its own source
    os.symlink(tmp_path / "disk", root / "b" / "more")  # a folder outside root
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_image_folder(root)
    assert _rel(data, root) == ["a/0.png", "a/again/1.png", "b/0.png", "b/more/2.png"]


def test_jfif_files_are_read_as_jpeg(tmp_path):
    root = tmp_path / "root"
    _png(root / "a" / "0.png", seed=0)
    rng = np.random.RandomState(0)
    for i in range(2):
        (root / "b").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)).save(
            root / "b" / f"{i}.jfif", format="JPEG")
    with pytest.warns(UserWarning, match="file format"):  # PNG against JPEG: a confound
        data = load_image_folder(root)
    assert data.sources.tolist() == ["a", "b"]
    assert data.formats.tolist() == ["png", "jpeg", "jpeg"]


def _avif_writable():
    from PIL import features

    return features.check("avif")


def test_avif_source_is_read_or_named(tmp_path):
    root = tmp_path / "root"
    _png(root / "a" / "0.png", seed=0)
    (root / "b").mkdir(parents=True)
    if _avif_writable():
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "b" / "0.avif")
        with pytest.warns(UserWarning, match="file format"):
            data = load_image_folder(root)
        assert data.sources.tolist() == ["a", "b"]
    else:
        (root / "b" / "0.avif").write_bytes(b"\0\0\0\x1cftypavif")
    # a source folder whose files are all of a format not read is named, never dropped
    # silently
    with pytest.warns(UserWarning, match=r"source folder 'b'.*0\.avif.*left out"):
        data = load_image_folder(root, extensions=(".png",))
    assert data.sources.tolist() == ["a"]


def test_avif_files_are_named_when_pillow_cannot_read_them(tmp_path, monkeypatch):
    from skfingerprint.datasets import _folder

    monkeypatch.setattr(_folder, "_avif_readable", lambda: False)
    root = tmp_path / "root"
    for s in "ab":
        _png(root / s / "0.png", seed=0)
    (root / "b" / "1.avif").write_bytes(b"\0\0\0\x1cftypavif")
    with pytest.warns(UserWarning, match=r"1\.avif.*source 'b'.*AVIF"):
        data = load_image_folder(root, extensions=(".png",))
    assert data.paths.size == 2


# --- 9: a file replaced by a larger image after the scan is named -------------------

def test_file_replaced_by_a_larger_image_after_the_scan_is_named(tmp_path):
    from skfingerprint import SetFingerprintEncoder, make_bags

    root = tmp_path / "root"
    for s in "ab":
        for i in range(4):
            _png(root / s / f"{i}.png", seed=10 * ord(s) + i)
    data = load_image_folder(root)
    X, y = make_bags(data.paths, data.labels, bag_size=2, random_state=0)
    replaced = X[0, 0]
    _png(replaced, seed=99, size=32)  # after the scan, before the bags are read
    encoder = SetFingerprintEncoder(embedding_dim=4, channels=(4,), rho_hidden=8,
                                    max_epochs=1, device="cpu", num_workers=0,
                                    random_state=0)
    with pytest.raises(ValueError, match="mixed sizes") as info:
        encoder.fit(X, y)
    assert repr(str(replaced)) in str(info.value)
