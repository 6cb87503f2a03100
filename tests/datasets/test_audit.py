"""The confound audit: metadata read from headers, and the confound rule."""

import io
import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

from skfingerprint.augment import check_reencode, jpeg, reencode
from skfingerprint.datasets import (
    ConfoundAudit,
    audit_confounds,
    estimate_jpeg_quality,
    load_image_folder,
)

RNG = np.random.default_rng(0)
FAST = dict(n_permutations=19, alpha=0.05)  # p can reach 0.05 with 19 permutations


def _image(h=16, w=16, mode="RGB"):
    arr = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


def _write(path, img=None, **kw):
    (img or _image()).save(path, **kw)
    return str(path)


def _set(tmp_path, spec, n=16):
    """``spec``: source -> function(i) returning (extension, save kwargs, image)."""
    paths, labels = [], []
    for source, make in spec.items():
        os.makedirs(tmp_path / source, exist_ok=True)
        for i in range(n):
            ext, kw, img = make(i)
            paths.append(_write(tmp_path / source / f"{i}.{ext}", img, **kw))
            labels.append(source)
    return paths, labels


def png(i):
    return "png", {}, _image()


def jpeg_q(q):
    return lambda i: ("jpg", {"quality": q}, _image())


# --------------------------------------------------------------------------
# the two acceptance cases
# --------------------------------------------------------------------------
def test_flags_real_jpeg_q75_against_png_fakes(tmp_path):
    spec = {"real": jpeg_q(75), "ddpm": png, "gan": png, "vae": png}
    paths, labels = _set(tmp_path, spec, n=20)
    audit = audit_confounds(paths, labels, random_state=0)  # default rule
    assert isinstance(audit, ConfoundAudit)
    assert audit.confounded
    # three indistinguishable PNG sources: the multi-class score is diluted
    assert audit.score == pytest.approx(0.5) and audit.chance == 0.25
    assert audit.most_separable == "real" and audit.separability == 1.0
    assert audit.p_value <= 0.01
    assert audit.confounded_groups[0] == "encoding"
    text = audit.warnings[0]
    assert "'real' is 100% JPEG q~75" in text
    assert "every other source is 100% PNG" in text
    assert "--reencode jpeg:90" in text
    assert "CONFOUNDED" in audit.to_text() and "WARNING" in str(audit)


def test_quiet_on_a_balanced_set(tmp_path):
    # every source draws its files from one mix of formats, qualities and sizes
    def mixed(i):
        h, w = RNG.choice([16, 24, 32]), RNG.choice([16, 24, 32])
        kind = RNG.integers(3)
        if kind == 2:
            return "png", {}, _image(h, w)
        return "jpg", {"quality": int(RNG.choice([75, 90]))}, _image(h, w)

    paths, labels = _set(tmp_path, {s: mixed for s in "abcd"}, n=20)
    audit = audit_confounds(paths, labels, random_state=0)
    assert not audit.confounded
    assert audit.warnings == [] and audit.confounded_groups == []
    assert "No confound found" in audit.to_text()


# --------------------------------------------------------------------------
# what is read from the headers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_jpeg_quality_estimate_of_pillow_files(quality):
    buffer = io.BytesIO()
    _image(32, 32).save(buffer, "JPEG", quality=quality)
    q, exact = estimate_jpeg_quality(Image.open(buffer).quantization)
    assert abs(q - quality) <= 2
    assert exact


def test_annex_k_tables_are_pillows_quality_50():
    for mode in ("RGB", "L"):
        buffer = io.BytesIO()
        _image(mode=mode).save(buffer, "JPEG", quality=50)
        assert estimate_jpeg_quality(Image.open(buffer).quantization) == (50, True)


def test_custom_tables_are_not_standard_and_get_the_nearest_quality():
    buffer = io.BytesIO()
    table = [max(1, 3 * k // 8 + 2) for k in range(64)]  # not a scaled Annex K table
    _image().save(buffer, "JPEG", qtables=[table, table])
    q, exact = estimate_jpeg_quality(Image.open(buffer).quantization)
    assert not exact and 1 <= q <= 100


def test_estimate_jpeg_quality_refuses_bad_tables():
    with pytest.raises(ValueError, match="64 positive entries"):
        estimate_jpeg_quality({0: [1] * 10})


def test_chroma_subsampling_progressive_and_gray(tmp_path):
    paths, labels = [], []
    for sub in ("4:4:4", "4:2:2", "4:2:0"):
        for i in range(2):
            paths.append(_write(tmp_path / f"{sub.replace(':', '')}_{i}.jpg",
                                quality=90, subsampling=sub))
            labels.append(sub)
    for i in range(2):
        paths.append(_write(tmp_path / f"gray_{i}.jpg", _image(mode="L"), quality=90,
                            progressive=True))
        labels.append("gray")
    audit = audit_confounds(paths, labels, cv=2, random_state=0, **FAST)
    assert list(audit.files["subsampling"]) == ["4:4:4"] * 2 + ["4:2:2"] * 2 + [
        "4:2:0"] * 2 + ["gray"] * 2
    assert audit.per_source["4:2:2"]["subsampling"] == {"4:2:2": 1.0}
    assert audit.per_source["gray"]["progressive"] == 1.0
    assert audit.per_source["4:4:4"]["progressive"] == 0.0
    assert audit.per_source["gray"]["modes"] == {"L": 1.0}


def test_exif_and_icc_presence(tmp_path):
    exif = Image.Exif()
    exif[0x0110] = "a camera"  # Model
    icc = b"\0" * 128  # Pillow stores the bytes as given
    paths, labels = [], []
    for i in range(6):
        paths.append(_write(tmp_path / f"cam{i}.jpg", quality=90,
                            exif=exif.tobytes(), icc_profile=icc))
        labels.append("camera")
        paths.append(_write(tmp_path / f"png{i}.png", icc_profile=icc if i < 3 else None))
        labels.append("gen")
    audit = audit_confounds(paths, labels, cv=3, random_state=0, **FAST)
    assert audit.per_source["camera"]["exif"] == 1.0
    assert audit.per_source["camera"]["icc"] == 1.0
    assert audit.per_source["gen"]["exif"] == 0.0
    assert audit.per_source["gen"]["icc"] == 0.5
    assert audit.group_scores["metadata"] > 0.9
    assert audit.notes and "EXIF" in audit.notes[0]


def test_bit_depth_mode_and_webp_compression(tmp_path):
    paths = [
        _write(tmp_path / "a.png", Image.fromarray(
            RNG.integers(0, 65535, (8, 8), dtype=np.uint16))),  # 16-bit gray
        _write(tmp_path / "b.png", _image().convert("P", colors=16), bits=4),
        _write(tmp_path / "c.webp", quality=80),
        _write(tmp_path / "d.webp", lossless=True),
    ]
    audit = audit_confounds(paths, ["x", "x", "y", "y"], cv=2, random_state=0, **FAST)
    assert list(audit.files["bit_depth"])[:2] == [16, 4]
    assert list(audit.files["mode"])[1] == "P"
    assert list(audit.files["format"]) == ["png", "png", "webp", "webp"]
    assert list(audit.files["lossy"]) == [False, False, True, False]
    assert audit.per_source["y"]["lossy"] == 0.5


def test_mixed_sizes_are_summarised_and_a_size_confound_is_named(tmp_path):
    spec = {"big": lambda i: ("png", {}, _image(32 + 8 * (i % 3), 48)),
            "small": lambda i: ("png", {}, _image(16, 16))}
    paths, labels = _set(tmp_path, spec, n=12)
    audit = audit_confounds(paths, labels, cv=3, random_state=0, **FAST)
    big = audit.per_source["big"]
    assert big["n_sizes"] == 3
    assert big["height"] == {"min": 32, "median": 40.0, "max": 48}
    assert big["width"]["max"] == 48
    assert audit.per_source["small"]["n_sizes"] == 1
    assert audit.confounded and audit.confounded_groups == ["size"]
    assert "'small' is 100% 16x16" in audit.warnings[0]
    assert "32-48 x 48-48, 3 sizes" in audit.to_text()


def test_jpeg_quality_75_against_95_is_a_confound(tmp_path):
    paths, labels = _set(tmp_path, {"a": jpeg_q(75), "b": jpeg_q(95)}, n=12)
    audit = audit_confounds(paths, labels, cv=3, random_state=0, **FAST)
    assert audit.confounded and audit.confounded_groups == ["encoding"]
    assert "JPEG q~75" in audit.warnings[0] and "JPEG q~95" in audit.warnings[0]
    assert audit.per_source["b"]["jpeg_quality"]["median"] == 95


def test_reads_no_pixel(tmp_path, monkeypatch):
    paths, labels = _set(tmp_path, {"a": jpeg_q(80), "b": png}, n=6)

    def refuse(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    audit = audit_confounds(paths, labels, cv=2, random_state=0, **FAST)
    assert audit.per_source["a"]["formats"] == {"jpeg": 1.0}


# --------------------------------------------------------------------------
# inputs and outputs
# --------------------------------------------------------------------------
def test_takes_the_bunch_of_load_image_folder_and_bags_of_paths(tmp_path):
    paths, labels = _set(tmp_path, {"a": jpeg_q(80), "b": png}, n=6)
    with warnings.catch_warnings():  # the loader's own format warning, if any
        warnings.simplefilter("ignore")
        data = load_image_folder(tmp_path)
    from_bunch = audit_confounds(data, cv=2, random_state=0, **FAST)
    bags = np.asarray(paths, dtype=object).reshape(4, 3)
    from_bags = audit_confounds(bags, ["a", "a", "b", "b"], cv=2, random_state=0, **FAST)
    for audit in (from_bunch, from_bags):
        assert audit.sources == ["a", "b"]
        assert audit.per_source["a"]["n_files"] == 6
        assert audit.confounded


def test_report_is_deterministic_and_json_serialisable(tmp_path):
    paths, labels = _set(tmp_path, {"a": jpeg_q(80), "b": png, "c": png}, n=8)
    kw = dict(cv=4, random_state=3, **FAST)
    first, second = audit_confounds(paths, labels, **kw), audit_confounds(paths, labels, **kw)
    assert first.to_dict() == second.to_dict()
    payload = json.loads(json.dumps(first.to_dict(files=True)))
    assert payload["confounded"] is True
    assert payload["files"]["quality"][:2] == [80, 80]
    assert payload["per_source"]["b"]["formats"] == {"png": 1.0}
    assert payload["params"]["cv"] == 4
    text = first.to_text()
    for word in ("source", "JPEG q", "subsampling", "sizes", "EXIF", "ICC"):
        assert word in text.splitlines()[2]
    assert "ConfoundAudit" in repr(first)
    with pytest.warns(UserWarning, match="Possible format confound"):
        assert first.warn()


def test_paths_and_labels_are_not_modified(tmp_path):
    paths, labels = _set(tmp_path, {"a": png, "b": png}, n=4)
    paths_arr, labels_arr = np.asarray(paths), np.asarray(labels)
    before = (paths_arr.copy(), labels_arr.copy())
    audit = audit_confounds(paths_arr, labels_arr, cv=2, random_state=0, **FAST)
    assert not audit.confounded and not audit.warn()
    np.testing.assert_array_equal(paths_arr, before[0])
    np.testing.assert_array_equal(labels_arr, before[1])


def test_bad_input(tmp_path):
    paths, labels = _set(tmp_path, {"a": png, "b": png}, n=3)
    with pytest.raises(ValueError, match="different lengths"):
        audit_confounds(paths, labels[:-1])
    with pytest.raises(ValueError, match="at least two sources"):
        audit_confounds(paths, ["a"] * len(paths))
    with pytest.raises(ValueError, match="labels is required"):
        audit_confounds(paths)
    with pytest.raises(TypeError, match="not decoded images|needs the files"):
        audit_confounds(RNG.integers(0, 255, (6, 4, 4, 3)), labels)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        audit_confounds(paths, labels, alpha=2.0)


def test_unreadable_file_is_named_or_skipped(tmp_path):
    paths, labels = _set(tmp_path, {"a": png, "b": png}, n=3)
    bad = tmp_path / "a" / "broken.png"
    bad.write_text("not an image")
    paths, labels = paths + [str(bad)], labels + ["a"]
    with pytest.raises(ValueError, match="broken.png.*not a readable image"):
        audit_confounds(paths, labels)
    with pytest.warns(UserWarning, match="Skipped 1 of 7.*broken.png"):
        audit = audit_confounds(paths, labels, on_error="skip", cv=2, random_state=0,
                                **FAST)
    assert audit.skipped == [str(bad)]
    assert audit.per_source["a"]["n_files"] == 3


# --------------------------------------------------------------------------
# re-encoding (the remedy)
# --------------------------------------------------------------------------
def test_reencode_specs():
    img = RNG.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(reencode(img, "jpeg:70"), jpeg(img, 70))
    np.testing.assert_array_equal(reencode(img, "png"), img)
    np.testing.assert_array_equal(reencode(img, "webp"), img)  # lossless
    lossy = reencode(img, "webp:60")
    assert lossy.shape == img.shape and (lossy != img).any()
    assert reencode(img, None) is not img
    as_float = reencode(img / 255.0, "jpeg:70")
    assert as_float.dtype == np.float64 and as_float.max() <= 1.0
    gray = reencode(img[..., :1], "webp:60")
    assert gray.shape == img[..., :1].shape
    assert check_reencode(" WebP:80 ") == "webp:80" and check_reencode("none") is None


@pytest.mark.parametrize("spec, exc, match", [
    ("jpeg", ValueError, "gives no JPEG quality"),
    ("jpeg:101", ValueError, r"integer in \[1, 100\]"),
    ("jpeg:high", ValueError, r"integer in \[1, 100\]"),
    ("png:90", ValueError, "PNG is lossless"),
    ("gif", ValueError, "names no known codec"),
    (90, TypeError, "must be a str or None"),
])
def test_reencode_bad_specs(spec, exc, match):
    with pytest.raises(exc, match=match):
        check_reencode(spec)


def test_a_partial_confound_is_described_by_the_share_that_differs(tmp_path):
    spec = {"a": lambda i: ("jpg", {"quality": 80}, _image(8, 8)) if i < 40 else
            ("png", {}, _image(8, 8)),
            "b": lambda i: ("png", {}, _image(8, 8))}
    paths, labels = _set(tmp_path, spec, n=100)
    audit = audit_confounds(paths, labels, random_state=0)
    assert audit.per_source["a"]["formats"] == {"png": 0.6, "jpeg": 0.4}
    assert audit.confounded and audit.edge >= 0.1
    assert audit.warnings[0].startswith("JPEG q~80 makes up 40% of 'a' but 0% of 'b'")


def test_subset_for_the_classifier_keeps_every_source(tmp_path):
    spec = {"big": jpeg_q(90), "small": png}
    paths, labels = _set(tmp_path, spec, n=40)
    paths, labels = paths[:43], labels[:43]  # 'small' has 3 files
    audit = audit_confounds(paths, labels, max_samples=20, random_state=0, **FAST)
    # 19 of the 40 of "big" (its share of 20), all 3 of "small" (fewer than 10)
    assert audit.params["n_samples_used"] == 22
    assert audit.params["cv"] == 3
    assert audit.per_source["big"]["n_files"] == 40  # the table uses every file
    assert audit.confounded


# --------------------------------------------------------------------------
# issue 40: an effect size, not only a p-value; decoder-invisible differences
# --------------------------------------------------------------------------
def _coin_set(tmp_path, jpeg_counts, n):
    """Source k has ``jpeg_counts[k]`` JPEG q85 files of ``n``, the rest PNG."""
    paths, labels = [], []
    for k, n_jpeg in enumerate(jpeg_counts):
        source = f"s{k}"
        os.makedirs(tmp_path / source, exist_ok=True)
        for i in range(n):
            img = _image(8, 8)
            if i < n_jpeg:
                paths.append(_write(tmp_path / source / f"{i}.jpg", img, quality=85))
            else:
                paths.append(_write(tmp_path / source / f"{i}.png", img))
            labels.append(source)
    return paths, labels


def test_a_small_significant_difference_in_shares_is_not_a_confound(tmp_path):
    # 60% against 45% JPEG over 800 files: significant (p = 0.01), but a
    # metadata-only classifier buys only ~0.07 over chance: no model could
    # exploit it.  The permutation test alone flagged it.
    paths, labels = _coin_set(tmp_path, [240, 180], n=400)
    audit = audit_confounds(paths, labels, random_state=0)
    assert 0.55 <= audit.separability < 0.6
    assert not audit.confounded and audit.warnings == []
    assert "No confound found" in audit.to_text()
    # with no margin the permutation test runs, and alone it flags the set
    test_only = audit_confounds(paths, labels, random_state=0, margin=0.0)
    assert test_only.p_value <= 0.01 and test_only.confounded  # real, but small
    assert 0 < test_only.edge < 0.1
    assert "edge +0.0" in test_only.to_text()


def test_progressive_against_baseline_jpeg_is_a_note_not_a_confound(tmp_path):
    spec = {"gan": lambda i: ("jpg", {"quality": 85, "progressive": True}, _image()),
            "real": lambda i: ("jpg", {"quality": 85}, _image()),
            "vae": lambda i: ("jpg", {"quality": 85}, _image())}
    paths, labels = _set(tmp_path, spec, n=20)
    audit = audit_confounds(paths, labels, random_state=0)
    assert audit.group_scores["container"] == 1.0
    assert audit.group_scores["encoding"] == 0.5
    assert not audit.confounded and audit.warnings == []
    assert len(audit.notes) == 1
    note = audit.notes[0]
    assert note.startswith("'gan' is 100% progressive JPEG and every other source is "
                           "100% baseline JPEG")
    assert "same pixels" in note


def _rgba(alpha):
    def make(i):
        img = _image().convert("RGBA")
        a = (np.full((16, 16), 255, np.uint8) if alpha == "opaque"
             else RNG.integers(0, 256, (16, 16), dtype=np.uint8))
        img.putalpha(Image.fromarray(a))
        return "png", {}, img
    return make


def test_opaque_alpha_is_a_note_and_real_alpha_a_confound(tmp_path):
    paths, labels = _set(tmp_path / "opaque", {"a": _rgba("opaque"), "b": png, "c": png},
                         n=20)
    audit = audit_confounds(paths, labels, random_state=0)
    assert list(audit.files["mode"][:2]) == ["RGBA", "RGBA"]
    assert list(audit.files["alpha"][:2]) == ["opaque", "opaque"]
    assert list(audit.files["pixel_mode"][:2]) == ["RGB", "RGB"]
    assert audit.per_source["a"]["alpha"] == {"opaque": 1.0, "transparent": 0.0}
    assert not audit.confounded and audit.warnings == []
    assert audit.notes and "all-opaque alpha channel" in audit.notes[0]

    paths, labels = _set(tmp_path / "real", {"a": _rgba("real"), "b": png, "c": png},
                         n=20)
    audit = audit_confounds(paths, labels, random_state=0)
    assert audit.confounded and audit.confounded_groups == ["colour"]
    assert audit.warnings[0].startswith("'a' is 100% RGBA 8-bit and every other source "
                                        "is 100% RGB 8-bit")
    assert not audit.notes


def test_lossless_formats_decode_alike(tmp_path):
    spec = {"a": lambda i: ("bmp", {}, _image()), "b": png}
    paths, labels = _set(tmp_path, spec, n=20)
    audit = audit_confounds(paths, labels, random_state=0)
    assert set(audit.files["codec"]) == {"lossless"}
    assert not audit.confounded
    assert audit.notes and "BMP" in audit.notes[0]


def test_no_self_contradicting_sentences():
    from skfingerprint.datasets._audit_report import _contrast

    sources = ["gan", "real"]
    labels = np.asarray(["gan"] * 4 + ["real"] * 4)
    # one value everywhere: nothing to name, and no "100% of 'gan' but 100% of 'gan'"
    same = _contrast(["JPEG q~85"] * 8, labels, sources)
    assert "but" not in same and "same share" in same
    # mostly one value each but not dominant: the value whose share differs most
    mixed = _contrast(["PNG", "PNG", "JPEG", "JPEG", "PNG", "JPEG", "JPEG", "JPEG"],
                      labels, sources)
    assert mixed == "JPEG makes up 75% of 'real' but 50% of 'gan'"
    # shares that round alike are given as counts
    labels = np.asarray(["gan"] * 1000 + ["real"] * 999)
    values = ["PNG"] * 500 + ["JPEG"] * 500 + ["PNG"] * 500 + ["JPEG"] * 499
    tie = _contrast(values, labels, sources)
    assert "of 1000 files" in tie and "of 999 files" in tie


def test_warnings_never_name_one_source_twice(tmp_path):
    # every source draws one mix: the old wording named 'gan' against itself
    def mixed(i):
        return (("jpg", {"quality": 85}, _image()) if RNG.random() < 0.5
                else ("png", {}, _image()))

    paths, labels = _set(tmp_path, {s: mixed for s in ("ddpm", "gan", "real")}, n=30)
    audit = audit_confounds(paths, labels, random_state=0, margin=0.0, alpha=0.99,
                            n_permutations=1)  # force warnings to be written
    import re

    for text in audit.warnings + audit.notes:
        for a, b in re.findall(r"of '(\w+)' but [^']* of '(\w+)'", text):
            assert a != b, text


# --------------------------------------------------------------------------
# issue 40 defects: inputs the library trains on never make the audit raise
# --------------------------------------------------------------------------
def test_jpeg_with_zero_quantisation_tables_is_kept_with_an_unknown_quality(
        tmp_path, zero_quantisation_tables):
    from skfingerprint._io import read_image

    paths, labels = _set(tmp_path, {"a": jpeg_q(80), "b": png}, n=6)
    zero_quantisation_tables(paths[0])
    assert Image.open(paths[0]).quantization[0] == [0] * 64
    assert read_image(paths[0]).shape == (16, 16, 3)  # the library decodes it
    audit = audit_confounds(paths, labels, cv=2, random_state=0, **FAST)  # no raise
    assert audit.files["quality"][0] is None and audit.files["quality"][1] == 80
    assert audit.per_source["a"]["jpeg_quality"]["unknown"] == pytest.approx(1 / 6)
    assert audit.per_source["a"]["jpeg_quality"]["median"] == 80
    assert any("zero entry" in n and "0.jpg" in n for n in audit.notes)
    assert "1 unknown" not in audit.to_text() and "17% unknown" in audit.to_text()
    assert audit.skipped == []


def test_a_source_of_one_file_gets_no_verdict_but_no_error(tmp_path):
    paths, labels = _set(tmp_path, {"a": jpeg_q(80), "b": png, "c": png}, n=12)
    paths, labels = paths[:25], labels[:25]  # 'c' has a single file
    audit = audit_confounds(paths, labels, random_state=0)
    assert audit.per_source["c"]["n_files"] == 1  # in the table
    assert set(audit.source_scores) == {"a", "b"}  # not in the classifier
    assert audit.confounded and "'c' has a single file" in " ".join(audit.notes)
    assert "c" in audit.to_text()
    # two sources, one of them of one file: a table, no verdict
    audit = audit_confounds(paths[:13], labels[:13], random_state=0)
    assert not audit.confounded and audit.separability is None and audit.score is None
    assert "No verdict" in " ".join(audit.notes)
    assert "no verdict" in repr(audit)
    json.dumps(audit.to_dict(files=True))
