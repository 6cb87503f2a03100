"""Tests for load_image_folder and load_image_manifest."""

import csv
import hashlib
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, features

from skfingerprint._io import read_image
from skfingerprint.datasets import load_image_folder, load_image_manifest

SIZE = 16


def _img(seed, size=SIZE, channels=3):
    rng = np.random.RandomState(seed)
    hw = size if isinstance(size, tuple) else (size, size)
    shape = hw if channels == 1 else hw + (channels,)
    return rng.randint(0, 256, shape).astype(np.uint8)


def _write(path, arr=None, seed=0, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(_img(seed) if arr is None else arr).save(path, **kwargs)
    return path


def _truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def _checksums(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                out[path] = hashlib.sha256(open(path, "rb").read()).hexdigest()
            else:
                out[path] = "dir"
    return out


@pytest.fixture
def tree(tmp_path):
    """Two sources sharing png/jpg, with every kind of file a user may have."""
    root = tmp_path / "images"
    a, b = root / "ddpm", root / "stylegan2"
    _write(a / "rgb.png", seed=1)
    _write(a / "photo.jpg", seed=2, quality=95)
    _write(a / "gray.png", _img(3, channels=1))
    _write(a / "alpha.png", _img(4, channels=4))
    _write(a / "sub" / "deep" / "UPPER.PNG", seed=5)
    _write(a / "pic.bmp", seed=6)
    if features.check("webp"):
        _write(a / "pic.webp", seed=7, lossless=True)
    _write(b / "rgb.png", seed=8)
    _write(b / "photo.jpeg", seed=9)
    _write(b / ".hidden.png", seed=10)
    _write(b / ".cache" / "x.png", seed=11)
    _write(root / "__MACOSX" / "ddpm" / "y.png", seed=12)
    (b / "notes.txt").write_text("not an image")
    (b / "README").write_text("not an image")
    return root


def test_per_source_tree(tree):
    before = _checksums(tree)
    data = load_image_folder(tree)
    assert _checksums(tree) == before  # nothing the user gave is modified
    n_a = 7 if features.check("webp") else 6
    assert data.layout == "per_source"
    assert data.labels.tolist() == ["ddpm"] * n_a + ["stylegan2"] * 2
    assert data.sources.tolist() == ["ddpm", "stylegan2"]
    assert data.paths.shape == (n_a + 2,) and data.paths.dtype.kind == "U"
    assert all(os.path.isabs(p) for p in data.paths)
    rel = [os.path.relpath(p, tree).replace(os.sep, "/") for p in data.paths]
    assert rel[n_a:] == ["stylegan2/photo.jpeg", "stylegan2/rgb.png"]
    assert rel[:n_a] == sorted(rel[:n_a])
    assert "ddpm/sub/deep/UPPER.PNG" in rel
    assert data.image_size is None
    assert data.sizes.tolist() == [[SIZE, SIZE]] * len(rel)
    assert data.formats[rel.index("ddpm/photo.jpg")] == "jpeg"
    assert data.formats[rel.index("ddpm/pic.bmp")] == "bmp"
    assert data.families == {"ddpm": "unknown", "stylegan2": "unknown"}
    assert data.lineage == {"ddpm": ("ddpm",), "stylegan2": ("stylegan2",)}
    assert "splits" not in data
    assert "2 sources" in data.DESCR
    # Every path decodes to RGB with the documented rule.
    for p in data.paths:
        assert read_image(p).shape == (SIZE, SIZE, 3)
    gray = read_image(data.paths[rel.index("ddpm/gray.png")])
    assert (gray[..., 0] == gray[..., 2]).all()
    # Deterministic, whatever the current directory.
    again = load_image_folder(str(tree) + os.sep)
    np.testing.assert_array_equal(again.paths, data.paths)


def test_is_lazy(tree, monkeypatch):
    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    data = load_image_folder(tree)
    assert len(data.paths) > 0
    with pytest.raises(AssertionError, match="decoded"):
        load_image_folder(tree, verify=True)


def test_extensions_parameter(tree):
    data = load_image_folder(tree, extensions=["PNG"])
    assert all(p.lower().endswith(".png") for p in data.paths)
    assert len(data.paths) == 5
    data = load_image_folder(tree, extensions=".jpg")
    assert [os.path.basename(p) for p in data.paths] == ["photo.jpg"]


def test_corrupt_files(tree):
    text = tree / "stylegan2" / "text.png"
    text.write_text("I am text")
    empty = tree / "ddpm" / "empty.jpg"
    empty.write_bytes(b"")
    before = _checksums(tree)
    with pytest.raises(ValueError, match="empty.jpg"):
        load_image_folder(tree)
    with pytest.warns(UserWarning, match="Skipped 2 of") as record:
        data = load_image_folder(tree, on_error="skip")
    assert len([w for w in record if "Skipped" in str(w.message)]) == 1
    assert "text.png" in str(record[0].message)
    assert not any(p.endswith(("text.png", "empty.jpg")) for p in data.paths)
    assert data.labels.tolist().count("stylegan2") == 2
    assert _checksums(tree) == before


@pytest.mark.parametrize("name", ["trunc.png", "trunc.jpg"])
def test_truncated_after_header(tree, name):
    path = _write(tree / "stylegan2" / name, _img(0, size=64), seed=0)
    _truncate(path)
    # Headers are intact: found at load time only with verify=True.
    data = load_image_folder(tree, image_size=SIZE)
    assert str(path) in data.paths.tolist()
    with pytest.raises(ValueError, match=name):
        read_image(path)
    with pytest.raises(ValueError, match=name):
        load_image_folder(tree, image_size=SIZE, verify=True)
    with pytest.warns(UserWarning, match=f"Skipped 1 .*decoded.*{name}"):
        data = load_image_folder(tree, image_size=SIZE, verify=True, on_error="skip")
    assert str(path) not in data.paths.tolist()


def test_many_skipped_are_counted_in_one_warning(tmp_path):
    for i in range(6):
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "a" / f"bad{i}.png").write_text("x")
    _write(tmp_path / "a" / "good.png")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load_image_folder(tmp_path, on_error="skip")
    assert len(record) == 1
    assert "Skipped 6 of 7" in str(record[0].message)
    assert "and 3 more" in str(record[0].message)
    assert data.paths.shape == (1,)
    with pytest.raises(ValueError, match="could be read"):
        (tmp_path / "a" / "good.png").unlink()
        with pytest.warns(UserWarning):
            load_image_folder(tmp_path, on_error="skip")


def test_mixed_sizes(tmp_path):
    _write(tmp_path / "a" / "small.png", _img(0, size=8))
    _write(tmp_path / "a" / "wide.png", _img(1, size=(8, 12)))
    _write(tmp_path / "b" / "big.png", _img(2, size=(10, 6)))
    mixed = load_image_folder(tmp_path)  # recorded, not refused: the estimator decides
    assert mixed.sizes.tolist() == [[8, 8], [8, 12], [10, 6]] and mixed.image_size is None
    data = load_image_folder(tmp_path, image_size=(4, 6))
    assert data.image_size == (4, 6)
    assert data.sizes.tolist() == [[8, 8], [8, 12], [10, 6]]
    for p in data.paths:
        assert read_image(p, image_size=data.image_size).shape == (4, 6, 3)
    assert load_image_folder(tmp_path, image_size=5).image_size == (5, 5)


def _genimage(root, ai_ext="png", nature_ext="png"):
    for gen, mid in [("ADM", "imagenet_ai_0508_adm/"), ("BigGAN", "")]:
        for split, n in [("train", 2), ("val", 1)]:
            for kind, ext in [("ai", ai_ext), ("nature", nature_ext)]:
                for i in range(n):
                    _write(
                        os.path.join(root, gen, f"{mid}{split}/{kind}/{i}.{ext}"),
                        seed=i,
                    )


def test_genimage_layout(tmp_path):
    _genimage(tmp_path)
    data = load_image_folder(tmp_path)
    assert data.layout == "genimage"
    assert data.sources.tolist() == ["ADM", "BigGAN", "real"]
    assert data.labels.tolist().count("real") == 6
    assert data.labels.tolist().count("ADM") == 3
    assert sorted(set(data.splits.tolist())) == ["train", "val"]
    for p, label in zip(data.paths, data.labels):
        assert (os.sep + ("nature" if label == "real" else "ai") + os.sep) in p
    train = load_image_folder(tmp_path, split="val", real_label="nature")
    assert train.labels.tolist() == ["ADM", "BigGAN", "nature", "nature"]
    assert train.splits.tolist() == ["val"] * 4
    fakes = load_image_folder(tmp_path, real_label=None, layout="genimage")
    assert sorted(set(fakes.labels)) == ["ADM", "BigGAN"] and len(fakes.paths) == 6
    flat = load_image_folder(tmp_path, layout="per_source")
    assert flat.sources.tolist() == ["ADM", "BigGAN"] and len(flat.paths) == 12


def test_genimage_format_confound_warns(tmp_path):
    _genimage(tmp_path, ai_ext="png", nature_ext="JPEG")
    with pytest.warns(UserWarning, match="file format.*Re-encode"):
        data = load_image_folder(tmp_path)
    assert set(data.formats[data.labels == "real"]) == {"jpeg"}


def test_forensynths_layout(tmp_path):
    for gen, cats in [("progan", ["airplane", "cat"]), ("stylegan", ["car"])]:
        for cat in cats:
            for kind in ["0_real", "1_fake"]:
                _write(tmp_path / gen / cat / kind / "00001.png")
    data = load_image_folder(tmp_path)
    assert data.layout == "forensynths"
    assert data.labels.tolist() == ["progan"] * 2 + ["real"] * 3 + ["stylegan"]
    assert "splits" not in data
    with pytest.raises(ValueError, match="split.*only to the 'genimage'"):
        load_image_folder(tmp_path, split="train")


def test_layout_errors(tmp_path):
    _write(tmp_path / "a" / "x.png")
    _write(tmp_path / "b" / "train" / "ai" / "y.png")
    with pytest.raises(ValueError, match=r"x\.png.*does not follow.*'genimage'"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, layout="per_source").sources.tolist() == [
        "a", "b"
    ]
    with pytest.raises(ValueError, match="forensynths"):
        load_image_folder(tmp_path, layout="forensynths")
    with pytest.raises(ValueError, match="'layout' parameter"):
        load_image_folder(tmp_path, layout="flat")
    with pytest.raises(ValueError, match="'split' parameter"):
        load_image_folder(tmp_path, split="test")


def test_real_label_clash(tmp_path):
    _write(tmp_path / "real" / "train" / "ai" / "x.png")
    _write(tmp_path / "gan" / "train" / "nature" / "x.png")
    with pytest.raises(ValueError, match="real_label="):
        load_image_folder(tmp_path)
    data = load_image_folder(tmp_path, real_label="photos")
    assert data.labels.tolist() == ["photos", "real"]
    with pytest.raises(ValueError, match="real_label must"):
        load_image_folder(tmp_path, real_label="")


def test_empty_and_bad_roots(tmp_path):
    with pytest.raises(ValueError, match=r"No image files.*root/<source>"):
        load_image_folder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"1 other files"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="missing.*is not a folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="is not a folder"):
        load_image_folder(tmp_path / "a" / "notes.txt")
    with pytest.raises(TypeError, match="'root' parameter"):
        load_image_folder(3)


def test_loose_files_in_root_warn(tmp_path):
    _write(tmp_path / "loose.png")
    _write(tmp_path / "a" / "x.png")
    with pytest.warns(UserWarning, match=r"Ignored 1 image files directly"):
        data = load_image_folder(tmp_path)
    assert data.paths.shape == (1,)


def test_parameter_errors(tree):
    with pytest.raises(ValueError, match="on_error"):
        load_image_folder(tree, on_error="ignore")
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(tree, image_size=0)
    with pytest.raises(TypeError, match="extensions"):
        load_image_folder(tree, extensions=3)
    with pytest.raises(ValueError, match="extensions"):
        load_image_folder(tree, extensions=["."])
    with pytest.raises(TypeError, match="'families' parameter"):
        load_image_folder(tree, families=["gan"])


def test_families(tree):
    data = load_image_folder(tree, families={"ddpm": "diffusion", "stylegan2": "gan",
                                             "unused": "x"})
    # one mapping source -> family, as every dataset Bunch of the library
    assert data.families == {"ddpm": "diffusion", "stylegan2": "gan"}
    assert data.lineage["stylegan2"] == ("gan", "stylegan2")
    with pytest.raises(ValueError, match=r"no entry for the sources \['stylegan2'\]"):
        load_image_folder(tree, families={"ddpm": "diffusion"})
    paths, labels = load_image_folder(tree, return_X_y=True)
    np.testing.assert_array_equal(paths, data.paths)
    np.testing.assert_array_equal(labels, data.labels)


def test_format_confound_warning(tmp_path):
    for i in range(2):
        _write(tmp_path / "real" / f"{i}.jpg", seed=i)
        _write(tmp_path / "gan" / f"{i}.png", seed=i)
    with pytest.warns(UserWarning, match="'gan' is png while 'real' is jpeg"):
        load_image_folder(tmp_path)
    # A shared format in both sources: no warning.
    _write(tmp_path / "real" / "extra.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image_folder(tmp_path)


def test_resampling_confound_warning(tmp_path):
    _write(tmp_path / "a" / "x.png", _img(0, size=8))
    _write(tmp_path / "b" / "x.png", _img(0, size=12))
    with pytest.warns(UserWarning, match="every image of 'b' is resampled"):
        load_image_folder(tmp_path, image_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image_folder(tmp_path, image_size=4)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_symlinks_followed_safely(tmp_path):
    root = tmp_path / "root"
    _write(root / "a" / "x.png")
    outside = tmp_path / "outside"
    _write(outside / "y.png")
    try:
        os.symlink(outside, root / "linked")
        os.symlink(root, root / "a" / "loop")  # a cycle
        os.symlink(outside / "y.png", root / "a" / "y_link.png")
        os.symlink(tmp_path / "nowhere.png", root / "a" / "broken.png")
    except (OSError, NotImplementedError):
        pytest.skip("cannot create symbolic links here")
    with pytest.raises(ValueError, match="broken.png.*broken link"):
        load_image_folder(root)
    with pytest.warns(UserWarning, match="Skipped 1 of"):
        data = load_image_folder(root, on_error="skip")
    rel = [os.path.relpath(p, root).replace(os.sep, "/") for p in data.paths]
    assert rel == ["a/x.png", "a/y_link.png", "linked/y.png"]
    assert data.labels.tolist() == ["a", "a", "linked"]


_NAME = st.text("abcdefgh0123_-", min_size=1, max_size=6).filter(
    lambda s: s not in ("ai", "nature", "train", "val")
)


@settings(max_examples=20, deadline=None)
@given(
    st.dictionaries(
        _NAME,
        st.lists(st.tuples(st.lists(_NAME, max_size=2), _NAME), min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_random_trees_property(spec):
    """Labels are the folder names and every image is found exactly once."""
    tiny = np.zeros((2, 2, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as root:
        expected = {}
        for source, files in spec.items():
            written = set()
            for subdirs, name in files:
                # Folder names have no ".png" suffix, so files never clash with them.
                rel = os.path.join(source, *subdirs, name + ".png")
                if rel not in written:
                    _write(os.path.join(root, rel), tiny)
                    written.add(rel)
            expected[source] = len(written)
        data = load_image_folder(root, layout="per_source")
        labels, counts = np.unique(data.labels, return_counts=True)
        assert dict(zip(labels.tolist(), counts.tolist())) == expected
        assert len(set(data.paths.tolist())) == len(data.paths)
        for path, label in zip(data.paths, data.labels):
            assert os.path.relpath(path, root).split(os.sep)[0] == label
        keys = [(lab, os.path.relpath(p, root).replace(os.sep, "/"))
                for lab, p in zip(data.labels, data.paths)]
        assert keys == sorted(keys)


# ---------------------------------------------------------------------------
# load_image_manifest
# ---------------------------------------------------------------------------
def _manifest_tree(root):
    for i, (gen, ext) in enumerate([("vae", "png"), ("gan", "png"), ("vae", "jpg")]):
        _write(root / "imgs" / f"{i}.{ext}", seed=i)
    return [("imgs/0.png", "vae", "ae"), ("imgs/1.png", "gan", "gan"),
            ("imgs/2.jpg", "vae", "ae")]


def _write_csv(path, rows, header=("path", "label", "family"), delimiter=",",
               encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_manifest_csv(tmp_path):
    rows = _manifest_tree(tmp_path)
    csv_path = _write_csv(tmp_path / "m.csv", rows, encoding="utf-8-sig")
    before = _checksums(tmp_path)
    data = load_image_manifest(csv_path, family_col="family")
    assert _checksums(tmp_path) == before
    assert data.labels.tolist() == ["vae", "gan", "vae"]  # manifest order
    assert data.sources.tolist() == ["gan", "vae"]
    assert data.families == {"vae": "ae", "gan": "gan"}
    assert data.paths.tolist() == [str(tmp_path / r[0]) for r in rows]
    assert data.formats.tolist() == ["png", "png", "jpeg"]
    # Relative to another root, from another folder.
    sub = tmp_path / "lists"
    sub.mkdir()
    csv2 = _write_csv(sub / "m.tsv", [(r[0][5:], r[1], r[2]) for r in rows],
                      delimiter="\t")
    data2 = load_image_manifest(csv2, root=tmp_path / "imgs")
    np.testing.assert_array_equal(data2.paths, data.paths)
    assert data2.families == {"gan": "unknown", "vae": "unknown"}
    paths, labels = load_image_manifest(csv2, root=tmp_path / "imgs", return_X_y=True)
    np.testing.assert_array_equal(paths, data2.paths)
    np.testing.assert_array_equal(labels, data2.labels)
    # a source with two families is refused
    _write(tmp_path / "imgs" / "extra.png", seed=7)
    two = rows + [("imgs/extra.png", "vae", "other")]
    with pytest.raises(ValueError, match="'vae' has two families"):
        load_image_manifest(_write_csv(tmp_path / "two.csv", two), family_col="family")


def test_manifest_dataframe_like(tmp_path):
    rows = _manifest_tree(tmp_path)

    class FakeFrame:  # duck-typed like pandas/polars
        columns = ["file", "model", "label"]

        def __getitem__(self, key):
            return {"file": [str(tmp_path / r[0]) for r in rows],
                    "model": [0, 1, 0], "label": ["x"] * 3}[key]

    data = load_image_manifest(FakeFrame(), path_col="file", label_col="model")
    assert data.labels.tolist() == ["0", "1", "0"]  # the column's values, as str
    data = load_image_manifest(
        {"path": [r[0] for r in rows], "label": [r[1] for r in rows]}, root=tmp_path
    )
    assert data.labels.tolist() == ["vae", "gan", "vae"]


def test_manifest_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    rows = _manifest_tree(tmp_path)
    df = pd.DataFrame(rows, columns=["path", "label", "family"])
    data = load_image_manifest(df, root=tmp_path, family_col="family")
    assert data.labels.tolist() == ["vae", "gan", "vae"]


def test_manifest_errors(tmp_path):
    rows = _manifest_tree(tmp_path)
    with pytest.raises(ValueError, match=r"'source' is not in .*\['path', 'label'"):
        load_image_manifest(_write_csv(tmp_path / "a.csv", rows), label_col="source")
    bad = rows + [("imgs/0.png", "gan", "gan")]
    with pytest.raises(ValueError, match=r"listed twice \(line 2 and line 5\)"):
        load_image_manifest(_write_csv(tmp_path / "b.csv", bad))
    bad = rows + [("imgs/3.png", "", "gan")]
    with pytest.raises(ValueError, match=r"line 5: the label of 'imgs/3.png' is empty"):
        load_image_manifest(_write_csv(tmp_path / "c.csv", bad))
    with pytest.raises(ValueError, match="row 0: the path is empty"):
        load_image_manifest({"path": [float("nan")], "label": ["a"]})
    with pytest.raises(ValueError, match="lists no image"):
        load_image_manifest(_write_csv(tmp_path / "d.csv", []))
    with pytest.raises(ValueError, match="is not a file"):
        load_image_manifest(tmp_path / "missing.csv")
    with pytest.raises(TypeError, match="manifest must be"):
        load_image_manifest([("a.png", "x")])
    with pytest.raises(ValueError, match="different columns"):
        load_image_manifest({"path": []}, label_col="path")
    missing = rows + [("imgs/missing.png", "gan", "gan")]
    csv_path = _write_csv(tmp_path / "e.csv", missing)
    with pytest.raises(ValueError, match="missing.png"):
        load_image_manifest(csv_path)
    with pytest.warns(UserWarning, match="Skipped 1 of 4"):
        data = load_image_manifest(csv_path, on_error="skip", family_col="family")
    assert data.families == {"vae": "ae", "gan": "gan"}


def test_manifest_mixed_sizes(tmp_path):
    _write(tmp_path / "a.png", _img(0, size=8))
    _write(tmp_path / "b.png", _img(0, size=9))
    m = {"path": ["a.png", "b.png"], "label": ["x", "y"]}
    assert load_image_manifest(m, root=tmp_path).sizes.tolist() == [[8, 8], [9, 9]]
    with pytest.warns(UserWarning, match="resampled"):
        data = load_image_manifest(m, root=tmp_path, image_size=8)
    assert data.image_size == (8, 8)


# ---------------------------------------------------------------------------
# careless and hostile manifests (issue #13, point 12)
# ---------------------------------------------------------------------------
def _outside_tree(tmp_path):
    from PIL import Image

    root = tmp_path / "root"
    root.mkdir()
    for i in range(2):
        Image.new("RGB", (4, 4), (i, 0, 0)).save(root / f"{i}.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "outside.png")
    return root


def test_manifest_with_a_duplicated_header_column_is_refused(tmp_path):
    from skfingerprint.datasets import load_image_manifest

    root = _outside_tree(tmp_path)
    csv_path = root / "m.csv"
    csv_path.write_text("path,label,label\n0.png,a,b\n1.png,b,a\n")
    with pytest.raises(ValueError, match="'label' more than once"):
        load_image_manifest(csv_path)


def test_manifest_paths_outside_root_are_refused_on_request(tmp_path):
    from skfingerprint.datasets import load_image_manifest

    root = _outside_tree(tmp_path)
    csv_path = root / "m.csv"
    csv_path.write_text("path,label\n0.png,a\n../outside.png,b\n")
    assert len(load_image_manifest(csv_path).paths) == 2  # documented default
    with pytest.raises(ValueError, match="line 3.*outside root"):
        load_image_manifest(csv_path, allow_outside_root=False)
    csv_path.write_text(f"path,label\n0.png,a\n{tmp_path / 'outside.png'},b\n")
    with pytest.raises(ValueError, match="outside root"):
        load_image_manifest(csv_path, allow_outside_root=False)
    if hasattr(os, "symlink"):
        os.symlink(tmp_path / "outside.png", root / "link.png")
        csv_path.write_text("path,label\n0.png,a\nlink.png,b\n")
        with pytest.raises(ValueError, match="outside root"):
            load_image_manifest(csv_path, allow_outside_root=False)
    csv_path.write_text("path,label\n0.png,a\n1.png,b\n")
    assert len(load_image_manifest(csv_path, allow_outside_root=False).paths) == 2
    with pytest.raises(TypeError, match="allow_outside_root"):
        load_image_manifest(csv_path, allow_outside_root="no")


def test_list_image_files_is_the_folder_loaders_walker(tmp_path):
    from PIL import Image

    from skfingerprint.datasets import list_image_files, load_image_folder

    for rel in ["a/0.png", "a/sub/1.png", "b/2.png", "b/__MACOSX/x.png", "b/.h.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / rel)
    if hasattr(os, "symlink"):
        os.symlink(tmp_path, tmp_path / "a" / "loop")  # a cycle
    found = list_image_files(tmp_path)
    assert sorted(found) == sorted(load_image_folder(tmp_path).paths)
    assert [os.path.relpath(p, tmp_path) for p in found] == [
        os.path.join("a", "0.png"), os.path.join("a", "sub", "1.png"),
        os.path.join("b", "2.png")]
    with pytest.raises(ValueError, match="not a folder"):
        list_image_files(tmp_path / "a" / "0.png")


def test_reencode_makes_cached_copies_and_leaves_the_files(tmp_path):
    from skfingerprint.augment import reencode

    _write(tmp_path / "data" / "real" / "a.jpg", _img(0, size=16))
    _write(tmp_path / "data" / "fake" / "b.png", _img(1, size=(16, 24)))
    before = {p: p.read_bytes() for p in (tmp_path / "data").rglob("*.*")}
    home = tmp_path / "home"
    data = load_image_folder(tmp_path / "data", reencode="jpeg:90", data_home=home)
    assert data.reencode == "jpeg:90" and set(data.formats) == {"PNG"}
    for copy, original in zip(data.paths, data.original_paths):
        assert copy.startswith(str(home))
        np.testing.assert_array_equal(read_image(copy),
                                      reencode(read_image(original), "jpeg:90"))
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*.*")} == before
    again = load_image_folder(tmp_path / "data", reencode="jpeg:90", data_home=home)
    assert again.paths.tolist() == data.paths.tolist()  # reused, not rewritten
    with pytest.raises(ValueError, match="no JPEG quality"):
        load_image_folder(tmp_path / "data", reencode="jpeg")
