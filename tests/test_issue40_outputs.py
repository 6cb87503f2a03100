"""Careless and hostile command-line inputs of issue 40: outputs that replace
what they should not, an empty --reencode, awkward --groups files."""

import os
import socket
import stat

import numpy as np
import pytest
from PIL import Image

from skfingerprint._atomic import atomic_open
from skfingerprint.augment import check_reencode
from skfingerprint.cli import main
from skfingerprint.cli._errors import CommandError
from skfingerprint.cli._fit import read_groups

from cli_helpers import FIT, fit_two_sources
from cli_helpers import last_error as _last_error
from cli_helpers import make_tree as _tree


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """A tree of exactly 2 sources and a model fitted on it by the command."""
    return fit_two_sources(tmp_path_factory)


# --- 1: families --plot over an existing file ---------------------------------------

def test_families_plot_refuses_an_existing_file_without_force(two, capsys):
    root, model = two
    image = os.path.join(root, "a", "0.png")
    before = open(image, "rb").read()
    assert main(["families", model, root, "--plot", image]) == 2
    last = _last_error(capsys)
    assert "--force" in last and "--plot" in last and "exists" in last
    assert open(image, "rb").read() == before


def test_families_plot_with_force_replaces_the_file_atomically(two, tmp_path, monkeypatch):
    root, model = two
    plot = tmp_path / "families.png"
    plot.write_bytes(b"old")
    assert main(["families", model, root, "--plot", str(plot), "--force"]) == 0
    assert plot.read_bytes().startswith(b"\x89PNG")
    # a failure while drawing leaves the old file as it was and no temporary file
    plot.write_bytes(b"old")
    import matplotlib.figure

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["families", model, root, "--plot", str(plot), "--force"])
    assert plot.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["families.png"]


def test_families_plot_to_a_new_file_needs_no_force(two, tmp_path):
    root, model = two
    plot = tmp_path / "new.png"
    assert main(["families", model, root, "--plot", str(plot)]) == 0
    assert plot.read_bytes().startswith(b"\x89PNG")


# --- 2: --force replaces only regular files -------------------------------------

def _special_files(tmp_path):
    """(kind, path) of a FIFO, a socket and (where allowed) a device node."""
    found = []
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        found.append(("FIFO", fifo))
    if hasattr(socket, "AF_UNIX"):
        sock_path = tmp_path / "sock"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(sock_path))
        sock.close()
        found.append(("socket", sock_path))
    if hasattr(os, "mknod"):
        node = tmp_path / "null"
        try:  # a second name of /dev/null's device, inside tmp_path
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            found.append(("device", node))
        except (OSError, PermissionError):
            pass
    return found


def _kind(path):
    mode = os.lstat(path).st_mode
    return stat.S_IFMT(mode)


def test_atomic_open_replaces_only_regular_files(tmp_path):
    specials = _special_files(tmp_path)
    assert specials
    for _, path in specials:
        before = _kind(path)
        with pytest.raises(ValueError, match="not a regular file"):
            with atomic_open(path) as f:
                f.write(b"x")
        assert _kind(path) == before
    # a link to a FIFO is refused too
    link = tmp_path / "link"
    os.symlink(specials[0][1], link)
    with pytest.raises(ValueError, match="not a regular file"):
        with atomic_open(link) as f:
            f.write(b"x")
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fit_force_does_not_replace_a_fifo(two, tmp_path, capsys):
    root, _ = two
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    for extra in ([], ["--force"]):
        assert main(["fit", root, *FIT, "-o", str(fifo), *extra]) == 2
        last = _last_error(capsys)
        assert "not a regular file" in last and "FIFO" in last
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# --- 7: --reencode "" ------------------------------------------------------------

@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_reencode_is_an_error(spec):
    with pytest.raises(ValueError, match="empty"):
        check_reencode(spec)
    assert check_reencode("none") is None and check_reencode(None) is None


def test_empty_reencode_option_is_a_usage_error(tmp_path, capsys):
    root = _tree(tmp_path / "tree")
    with pytest.raises(SystemExit) as info:
        main(["fit", root, *FIT, "-o", str(tmp_path / "m.skfp"), "--reencode", ""])
    assert info.value.code == 2
    assert "empty" in capsys.readouterr().err


# --- 8: --groups with a BOM, with an unclosed quote --------------------------------

def test_groups_file_with_a_bom_is_read(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_bytes("source,group\na,fam\nb,fam\n".encode("utf-8-sig"))
    assert read_groups(str(path), np.array(["a", "b", "c"])) == {
        "a": "fam", "b": "fam", "c": "c"}
    path.write_bytes("a,fam\n".encode("utf-8-sig"))  # no header: the BOM is not in 'a'
    assert read_groups(str(path), np.array(["a", "b"])) == {"a": "fam", "b": "b"}


@pytest.mark.parametrize("text", ['a,"fam\nb,fam\n', 'a,"fam"x\n'])
def test_groups_file_with_a_bad_quote_is_refused(tmp_path, text):
    path = tmp_path / "groups.csv"
    path.write_text(text)
    with pytest.raises(CommandError, match="quote"):
        read_groups(str(path), np.array(["a", "b"]))


# --- 4: an error in a DataLoader worker is reported by its own message ------------

def _worker_error(message):
    """The exception torch raises in the main process for ``ValueError(message)``
    raised in a DataLoader worker."""
    from torch._utils import ExceptionWrapper

    def read_image():
        raise ValueError(message)

    try:
        read_image()
    except ValueError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    try:
        wrapped.reraise()
    except ValueError as exc:
        return exc


def test_worker_error_is_unwrapped_to_its_one_line_message():
    from skfingerprint.cli._errors import user_errors

    original = ("Cannot read image file 'a/3.jpg': it is not a readable image or is "
                "truncated/corrupt. Remove or replace the file.")
    exc = _worker_error(original)
    assert "Original Traceback" in str(exc)  # what torch gives
    with pytest.raises(CommandError) as info:
        with user_errors():
            raise exc
    assert str(info.value) == original  # no trace, and no option note from the trace


@pytest.mark.slow
def test_truncated_jpeg_with_workers_is_one_line(tmp_path, capsys):
    root = tmp_path / "tree"
    rng = np.random.RandomState(0)
    for s in "ab":
        (root / s).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.randint(0, 256, (32, 32, 3)).astype(np.uint8)).save(
                root / s / f"{i}.jpg", quality=90)
    bad = root / "a" / "3.jpg"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # the header reads; the pixels do not
    assert main(["fit", str(root), *FIT, "--num-workers", "2", "--no-augment",
                 "-o", str(tmp_path / "m.skfp")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "3.jpg" in err
    assert len(err) < 400
