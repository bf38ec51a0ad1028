"""Model files: one NumPy .npz holding the parameter arrays and the architecture as JSON.

The archive holds ``"0.weight"``, ``"0.bias"``, ... (a Net's state_dict) and
``"fastbp_architecture"``: a 0-d text array with the JSON record ``{"format":
"fastbp.Net", "version": 1, "dtype": "float32", "layers": [{"in_features": 2,
"out_features": 2, "activation": "sigmoid", "bias": true}, ...]}``.  Everything loads
with ``np.load(path, allow_pickle=False)``: nothing in it is a pickle, and a file with
one inside is refused.

A save writes a temporary file in the destination's directory, flushes it to disk and
renames it over the destination (atomic on POSIX and Windows), so a crash mid-save
leaves the old file whole, never a truncated one.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile

import numpy as np

from fastbp import _validate as v

__all__ = ["read_model", "write_model"]

ARCHITECTURE_KEY = "fastbp_architecture"
# Arrays under this prefix ride along for other readers (the command line's
# standardization and class labels); Net.load leaves them out.
EXTRA_PREFIX = "extra."
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
NPY_MAGIC = b"\x93NUMPY"
PICKLE_MAGIC = b"\x80"  # pickle protocols 2 and up


def write_model(path, record: dict, arrays: dict) -> None:
    """Write ``arrays`` and the JSON ``record`` to ``path`` (exactly that name) atomically."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    contents = dict(arrays)
    contents[ARCHITECTURE_KEY] = np.array(json.dumps(record))
    # O_EXCL: never write through a file (or link) that appeared under our random name;
    # mode 0o666 lets the umask decide the permissions, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **contents)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _sync_directory(directory)


def _sync_directory(directory):
    """Make the rename itself durable (POSIX); Windows cannot open a directory for this."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_model(path, extras: bool = False):
    """(architecture record, {name: array}) from a file written by :func:`write_model`;
    the arrays named ``extra.*`` are left out, or returned as a third item
    ``{name without the prefix: array}`` when ``extras`` is true.

    Raises ValueError naming the path and the problem for anything that is not a
    fastbp model: another file type, a truncated or corrupted archive, an .npz without
    the architecture record, pickled data.  OSError (missing file, no permission) passes.
    """
    path_str = os.fspath(path)

    def bad(problem):
        return ValueError(f"{path_str}: not a fastbp model file: {problem}")

    with open(path_str, "rb") as f:
        head = f.read(8)
        if not head.startswith(ZIP_MAGIC):
            raise bad(_describe_foreign(head))
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except ValueError as exc:
            if "pickle" in str(exc).lower():  # numpy: "Object arrays cannot be loaded when allow_pickle=False"
                raise bad("it contains pickled data (an object array), which fastbp never "
                          "writes and refuses to load") from None
            raise bad(f"truncated or corrupted ({exc})") from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise bad(f"truncated or corrupted ({type(exc).__name__}: {exc})") from None
    if ARCHITECTURE_KEY not in arrays:
        raise bad(f"no {ARCHITECTURE_KEY!r} record (the archive holds {sorted(arrays)})")
    text = arrays.pop(ARCHITECTURE_KEY)
    if text.dtype.kind != "U" or text.shape != ():
        raise bad(f"the {ARCHITECTURE_KEY!r} record is not text (dtype {text.dtype}, "
                  f"shape {v.shape_str(text.shape)})")
    try:
        record = v.model_record(json.loads(text.item()))
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise bad(str(exc)) from None
    extra = {name[len(EXTRA_PREFIX):]: arrays.pop(name) for name in list(arrays)
             if name.startswith(EXTRA_PREFIX)}
    return (record, arrays, extra) if extras else (record, arrays)


def _describe_foreign(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(NPY_MAGIC):
        return "it is a single .npy array, not an .npz model archive"
    if head.startswith(PICKLE_MAGIC):
        return "it looks like a pickle, which fastbp never loads"
    return f"not an .npz archive (it starts with {head!r})"
