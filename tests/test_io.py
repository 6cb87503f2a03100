"""Tests for skfingerprint._io: the colour rule, resizing and header reads."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, features

from skfingerprint._io import (
    IMAGE_EXTENSIONS,
    _crop_box,
    check_image_size,
    read_image,
    read_image_size,
)


def _rgb(h=6, w=7, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


def _save(path, arr, **kwargs):
    Image.fromarray(arr).save(path, **kwargs)
    return str(path)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".webp"])
def test_lossless_roundtrip(tmp_path, ext):
    if ext == ".webp":
        if not features.check("webp"):
            pytest.skip("Pillow built without WebP")
        kwargs = {"lossless": True}
    else:
        kwargs = {}
    arr = _rgb()
    path = _save(tmp_path / f"a{ext}", arr, **kwargs)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, arr)
    assert read_image_size(path) == (6, 7)


def test_jpeg(tmp_path):
    path = _save(tmp_path / "a.JPG", _rgb(), quality=95)
    assert read_image(path).shape == (6, 7, 3)
    assert read_image_size(path) == (6, 7)


def test_grayscale_replicated(tmp_path):
    gray = _rgb()[:, :, 0]
    path = _save(tmp_path / "g.png", gray)
    out = read_image(path)
    assert out.shape == (6, 7, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)
    np.testing.assert_array_equal(read_image(path, mode="keep")[:, :, 0], gray)


def test_rgba_composited_on_black(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = [[255, 0], [128, 64]]
    path = _save(tmp_path / "a.png", rgba)
    out = read_image(path)
    assert out.shape == (2, 2, 3)
    expected = np.rint(200 * rgba[..., 3].astype(float) / 255)
    np.testing.assert_allclose(out[..., 0], expected, atol=1)
    assert out[0, 1].tolist() == [0, 0, 0]  # fully transparent -> black
    assert out[0, 0].tolist() == [200, 200, 200]  # opaque -> unchanged


def test_la_and_transparent_palette(tmp_path):
    la = Image.fromarray(np.array([[[90, 255], [90, 0]]], dtype=np.uint8), mode="LA")
    la.save(tmp_path / "la.png")
    out = read_image(tmp_path / "la.png")
    assert out[0, 0].tolist() == [90] * 3 and out[0, 1].tolist() == [0] * 3
    pal = Image.new("P", (2, 1))
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    out = read_image(tmp_path / "p.png")
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [0, 255, 0]


def test_high_bit_depth_rule_is_value_independent(tmp_path):
    # A dark 16-bit image stays dark (fixed division by 257, no rescaling).
    dark = np.full((3, 3), 257 * 10, dtype=np.uint16)
    dark[0, 0] = 1
    Image.fromarray(dark).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png", mode="keep")
    assert out.shape == (3, 3, 1)
    assert out[1, 1, 0] == 10 and out[0, 0, 0] == 0
    flt = np.full((2, 2), 0.5, dtype=np.float32)
    Image.fromarray(flt).save(tmp_path / "f.tiff")
    assert read_image(tmp_path / "f.tiff")[0, 0].tolist() == [128] * 3


def test_exif_orientation_is_ignored(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees" for viewers
    Image.fromarray(_rgb(4, 9)).save(tmp_path / "r.jpg", exif=exif)
    assert read_image_size(tmp_path / "r.jpg") == (4, 9)
    assert read_image(tmp_path / "r.jpg").shape == (4, 9, 3)


def test_image_size_identity_crop_and_antialiasing(tmp_path):
    arr = _rgb(10, 20)
    path = _save(tmp_path / "a.png", arr)
    np.testing.assert_array_equal(read_image(path, image_size=(10, 20)), arr)
    # Only a crop is needed: the centre columns come back unchanged.
    np.testing.assert_array_equal(read_image(path, image_size=10), arr[:, 5:15])
    assert read_image(path, image_size=(3, 4)).shape == (3, 4, 3)
    assert read_image(path, image_size=(40, 13)).shape == (40, 13, 3)
    # Shrinking a one-pixel checkerboard by 2 averages it to grey.
    board = ((np.indices((16, 16)).sum(0) % 2) * 255).astype(np.uint8)
    path = _save(tmp_path / "b.png", board)
    small = read_image(path, image_size=8, mode="keep")
    assert small.shape == (8, 8, 1)
    assert np.abs(small[2:-2, 2:-2].astype(int) - 127).max() <= 2


def test_image_size_on_16_bit_grayscale(tmp_path):
    Image.fromarray(np.full((6, 4), 65535, dtype=np.uint16)).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", image_size=(3, 2), mode="keep")
    assert out.shape == (3, 2, 1) and (out == 255).all()


def test_unreadable_files_name_the_file(tmp_path):
    text = tmp_path / "text.png"
    text.write_text("not an image")
    for func in (read_image, read_image_size):
        with pytest.raises(ValueError, match="text.png"):
            func(text)
        with pytest.raises(ValueError, match="does not exist"):
            func(tmp_path / "missing.png")
        with pytest.raises(ValueError, match="not a file"):
            func(tmp_path)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_truncated_after_header(tmp_path, ext):
    path = _save(tmp_path / f"a{ext}", _rgb(64, 64))
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    assert read_image_size(path) == (64, 64)  # the header is intact
    with pytest.raises(ValueError, match=f"a{ext}.*truncated"):
        read_image(path)


@pytest.mark.parametrize(
    "bad, err",
    [(0, ValueError), (-1, ValueError), ((3, 0), ValueError), ("8", TypeError),
     (True, TypeError), (1.5, TypeError), ((1, 2, 3), TypeError),
     ((2.0, 2), TypeError)],
)
def test_check_image_size_errors(bad, err):
    with pytest.raises(err, match="image_size"):
        check_image_size(bad)
    with pytest.raises(err, match="image_size"):
        read_image("unused.png", image_size=bad)


def test_check_image_size_valid():
    assert check_image_size(np.int64(5)) == (5, 5)
    assert check_image_size([4, 6]) == (4, 6)
    assert ".png" in IMAGE_EXTENSIONS and ".jpg" in IMAGE_EXTENSIONS


def test_read_image_mode_error():
    with pytest.raises(ValueError, match="mode"):
        read_image("unused.png", mode="L")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 300), st.integers(1, 300), st.integers(1, 64), st.integers(1, 64)
)
def test_crop_box_property(width, height, th, tw):
    left, top, right, bottom = _crop_box(width, height, th, tw)
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    # Centred (to within a pixel) and one side kept whole.
    assert abs(left - (width - right)) <= 1 and abs(top - (height - bottom)) <= 1
    assert right - left == width or bottom - top == height
    # Aspect ratio as close as whole pixels allow.
    w, h = right - left, bottom - top
    if w == width:
        ideal = min(height, max(1.0, width * th / tw))
        assert abs(h - ideal) <= 0.5 + 1e-9
    else:
        ideal = min(width, max(1.0, height * tw / th))
        assert abs(w - ideal) <= 0.5 + 1e-9


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 24), st.integers(1, 24), st.integers(1, 24), st.integers(1, 24))
def test_read_image_size_is_exact(tmp_path_factory, h, w, th, tw):
    path = tmp_path_factory.mktemp("img") / "a.png"
    _save(path, _rgb(h, w))
    assert read_image(path, image_size=(th, tw)).shape == (th, tw, 3)
    assert read_image_size(os.fspath(path)) == (h, w)


# ---------------------------------------------------------------------------
# hostile and broken image files (issue #13, points 8 and 12)
# ---------------------------------------------------------------------------
def _png(path, width, height, rows=None, interlaced=False, seed=0):
    """A hand-made RGB PNG; with ``rows``, its valid pixel stream stops early."""
    import struct
    import zlib

    from skfingerprint._io import _ADAM7

    rng = np.random.RandomState(seed)
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    lines = []
    for x0, y0, dx, dy in passes:
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w and h:
            lines += [b"\x00" + rng.randint(1, 256, 3 * w).astype(np.uint8).tobytes()
                      for _ in range(h)]
    raw = b"".join(lines if rows is None else lines[:rows])

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, int(interlaced))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return str(path)


def test_png_with_a_short_pixel_stream_is_an_error_naming_the_file(tmp_path):
    path = _png(tmp_path / "short.png", 16, 16, rows=8)
    with pytest.raises(ValueError, match="short.png.*truncated"):
        read_image(path)


def test_png_cut_inside_its_last_row_is_an_error(tmp_path):
    import struct
    import zlib

    full = _png(tmp_path / "full.png", 16, 4)
    with open(full, "rb") as f:
        data = f.read()
    (length,) = struct.unpack(">I", data[33:37])  # the IDAT chunk follows IHDR
    raw = zlib.decompress(data[41:41 + length])[:-6]  # the last 2 pixels missing
    short = tmp_path / "cut.png"
    idat = zlib.compress(raw)
    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(
        ">I", zlib.crc32(b"IDAT" + idat) & 0xFFFFFFFF)
    short.write_bytes(data[:33] + chunk + data[41 + length + 4:])
    with pytest.raises(ValueError, match="cut.png.*truncated"):
        read_image(short)


def test_complete_hand_made_pngs_are_read(tmp_path):
    for interlaced in (False, True):
        path = _png(tmp_path / f"full{interlaced}.png", 13, 9, interlaced=interlaced)
        assert read_image(path).shape == (9, 13, 3)
    path = _png(tmp_path / "short_interlaced.png", 13, 9, rows=5, interlaced=True)
    with pytest.raises(ValueError, match="truncated"):
        read_image(path)


def test_short_png_is_skipped_with_a_warning_by_the_folder_loader(tmp_path):
    from skfingerprint.datasets import load_image_folder

    for source in ("a", "b"):
        for i in range(2):
            _png(tmp_path / source / f"{i}.png", 8, 8, seed=i)
    _png(tmp_path / "a" / "short.png", 8, 8, rows=3)
    with pytest.raises(ValueError, match="short.png"):
        load_image_folder(tmp_path, verify=True)
    with pytest.warns(UserWarning, match="short.png"):
        data = load_image_folder(tmp_path, verify=True, on_error="skip")
    assert len(data.paths) == 4


def test_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path, monkeypatch):
    import tracemalloc

    from skfingerprint._io import read_image_size

    path = tmp_path / "huge.png"
    Image.new("L", (9000, 9000)).save(path, optimize=True)  # ~80 KB on disk
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="huge.png.*pixels.*SKFINGERPRINT_MAX_IMAGE_PIXELS"):
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    with pytest.raises(ValueError, match="limit"):
        read_image_size(path)
    monkeypatch.setenv("SKFINGERPRINT_MAX_IMAGE_PIXELS", str(9000 * 9000))
    assert read_image_size(path) == (9000, 9000)
    monkeypatch.setenv("SKFINGERPRINT_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ValueError, match="SKFINGERPRINT_MAX_IMAGE_PIXELS"):
        read_image_size(path)
