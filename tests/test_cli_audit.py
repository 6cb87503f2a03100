"""``skfingerprint audit`` (and the audit that ``fit`` runs): names printed
safely, files the library trains on never fatal, ``--reencode``."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from skfingerprint.cli import main

RNG = np.random.RandomState(0)


def _images(folder, n, fmt="png", **kw):
    folder = os.fsencode(folder)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        img = Image.fromarray(RNG.randint(0, 256, (16, 16, 3)).astype(np.uint8))
        path = os.path.join(folder, f"{i}.{fmt}".encode())
        img.save(path, **kw)
        paths.append(os.fsdecode(path))
    return paths


def test_a_folder_name_that_is_not_utf8_is_printed_escaped(tmp_path, capsys):
    root = tmp_path / "tree"
    try:
        _images(os.path.join(os.fsencode(root), b"bad\xff"), 6)
    except (OSError, UnicodeError):
        pytest.skip("the file system refuses names that are not UTF-8")
    _images(root / "good", 6, "jpg", quality=75)
    assert main(["audit", str(root)]) == 0  # no UnicodeEncodeError
    out = capsys.readouterr().out
    assert "bad\\udcff" in out and "\udcff" not in out
    assert main(["audit", str(root), "--json"]) == 0
    assert "bad\udcff" in json.loads(capsys.readouterr().out)["sources"]


def test_terminal_escapes_in_folder_names_are_not_printed(tmp_path, capsys):
    root = tmp_path / "tree"
    _images(root / "a\x1b[31mb", 6)
    _images(root / "good", 6, "jpg", quality=75)
    assert main(["audit", str(root)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "a\\x1b[31mb" in out


def test_audit_skips_nothing_and_survives_zero_quantisation_tables(
        tmp_path, capsys, zero_quantisation_tables):
    root = tmp_path / "tree"
    _images(root / "a", 8)
    jpegs = _images(root / "b", 8, "jpg", quality=80)
    zero_quantisation_tables(jpegs[0])
    assert main(["audit", str(root)]) == 0
    captured = capsys.readouterr()
    assert "zero entry" in captured.out and "0.jpg" in captured.out
    assert main(["audit", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["per_source"]["b"]["n_files"] == 8  # kept, quality unknown
    assert report["per_source"]["b"]["jpeg_quality"]["unknown"] == 0.125


def test_audit_skips_a_file_it_cannot_read(tmp_path, capsys):
    root = tmp_path / "tree"
    _images(root / "a", 6)
    _images(root / "b", 6, "jpg", quality=80)
    (root / "b" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xdb not a jpeg")
    assert main(["audit", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["per_source"]["b"]["n_files"] == 6


def test_audit_of_a_source_of_one_image(tmp_path, capsys):
    root = tmp_path / "tree"
    _images(root / "a", 6)
    _images(root / "b", 6, "jpg", quality=80)
    _images(root / "c", 1)
    assert main(["audit", str(root)]) == 0
    out = capsys.readouterr().out
    assert "'c' has a single file" in out


@pytest.mark.parametrize("case", ["one_image_source", "zero_tables"])
def test_fit_is_never_stopped_by_its_advisory_audit(tmp_path, capsys, case,
                                                     zero_quantisation_tables):
    root = tmp_path / "tree"
    _images(root / "a", 8)
    jpegs = _images(root / "b", 8, "jpg", quality=90)
    if case == "one_image_source":
        _images(root / "c", 1)
    else:
        zero_quantisation_tables(jpegs[0])
    model = str(tmp_path / "m.skfp")
    status = main(["fit", str(root), "--bag-size", "1", "--epochs", "1", "--seed", "0",
                   "--device", "cpu", "--threads", "1", "-q", "-o", model])
    err = capsys.readouterr().err
    assert status == 0, err
    assert os.path.isfile(model)


def test_audit_reencode_checks_the_copies_fit_trains_on(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(tmp_path / "home"))  # the copies
    root = tmp_path / "tree"
    _images(root / "real", 20, "jpg", quality=75)
    _images(root / "gan", 20)
    _images(root / "vae", 20)
    assert main(["audit", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["confounded"] is True
    assert main(["audit", str(root), "--reencode", "jpeg:90", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["confounded"] is False and report["reencode"] == "jpeg:90"
    assert report["per_source"]["real"]["formats"] == {"png": 1.0}
    assert main(["audit", str(root), "--reencode", "jpeg:90"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Audit of copies re-encoded with jpeg:90")
    assert "No confound found" in out
    assert sorted(os.listdir(root / "real"))[0].endswith(".jpg")  # files untouched
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(root), "--reencode", "gif"])
    assert exc.value.code == 2 and "--reencode" in capsys.readouterr().err
