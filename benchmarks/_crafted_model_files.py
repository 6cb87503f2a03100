"""Crafting hostile model files (one copy of each trick).

Used by ``benchmarks.hostile_model_files`` and by the tests
(``tests/test_hostile_model_files.py``, the issue-13 block of
``tests/test_bad_input.py``), which import it as
``benchmarks._crafted_model_files`` from the repository root.
"""

import hashlib
import io
import json
import zipfile


def members(path):
    """``(meta, payload)``: the two members of a saved model file."""
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("meta.json")), zf.read("model.skops")


def envelope(path, meta, payload, *, fix_digest=True, compression=zipfile.ZIP_DEFLATED):
    """Write a model file of ``meta`` and ``payload`` (digest fixed unless told)."""
    meta = dict(meta)
    if fix_digest:
        meta["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.writestr("model.skops", payload)
    return str(path)


def rewrite_payload(payload, change, compression=zipfile.ZIP_STORED, extra=()):
    """A copy of the skops archive with ``change(name, bytes) -> bytes`` applied,
    and the ``(name, bytes)`` members of ``extra`` added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as src, \
            zipfile.ZipFile(out, "w", compression=compression) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
        for name, data in extra:
            dst.writestr(name, data)
    return out.getvalue()


def huge_npy(shape):
    """A payload change that gives every ``.npy`` member a header of ``shape``."""
    from numpy.lib import format as npy

    def change(name, data):
        if not name.endswith(".npy"):
            return data
        f = io.BytesIO(data)
        npy.read_magic(f)
        _, _, dtype = npy.read_array_header_1_0(f)
        head = io.BytesIO()
        npy.write_array_header_1_0(head, {"descr": npy.dtype_to_descr(dtype),
                                          "fortran_order": False, "shape": shape})
        return head.getvalue() + data[f.tell():]

    return change


def popen_schema(name, data):
    """A payload change that makes the top object ``subprocess.Popen``."""
    if name != "schema.json":
        return data
    schema = json.loads(data)
    schema.update({"__class__": "Popen", "__module__": "subprocess"})
    return json.dumps(schema).encode()
