"""Saving and loading model weights: ``save`` writes a model's ``state_dict``
to an ``.npz`` file atomically, ``load`` reads it back (all or nothing).

The file holds one array per parameter / buffer, by dotted name, plus a
``__convcore__`` entry: JSON with the format name, its version and each
entry's dtype. ``save`` writes a temporary file in the target's directory,
flushes and fsyncs it, renames it over the target (``os.replace``, atomic)
and fsyncs the directory, so a crash at any point leaves either the old file
or the new one, never a damaged file.

Devices: the file always holds host (NumPy) arrays, since ``state_dict``
copies a GPU model's arrays to the host; ``load`` copies them to the model's
device, so a model saved on one device loads on the other.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from typing import Any, Union

import numpy as np
from numpy.lib.npyio import NpzFile

from .nn.layer import Layer

__all__ = ["FORMAT", "VERSION", "load", "save"]

FORMAT = "convcore.state_dict"
VERSION = 1
_MARKER = "__convcore__"

PathLike = Union[str, "os.PathLike[str]"]


def _fsync_directory(directory: str) -> None:
    """Makes the rename durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def save(model: Layer, path: PathLike) -> None:
    """Writes ``model.state_dict()`` to ``path`` (an .npz file) atomically; a
    replaced file keeps its permission bits, a new one gets 0o644. On any error
    (or interrupt) the temporary file is removed and ``path`` is untouched."""
    path = os.fspath(path)
    state = model.state_dict()
    if _MARKER in state:
        raise ValueError(f"save: a state entry is named {_MARKER!r}, which the format reserves")
    meta = {"format": FORMAT, "version": VERSION,
            "dtypes": {name: str(arr.dtype) for name, arr in state.items()}}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            arrays: dict[str, Any] = {_MARKER: np.array(json.dumps(meta)), **state}
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def load(model: Layer, path: PathLike) -> None:
    """Loads weights written by :func:`save` into ``model``: FileNotFoundError
    for a missing file, ValueError for a file that is not a convcore file or
    whose names / shapes do not match the model (which is then unchanged)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    not_ours = f"load: {path!r} is not a convcore model file"
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{not_ours} ({exc})") from exc
    if not isinstance(data, NpzFile):
        raise ValueError(f"{not_ours} (a single array, not an .npz archive)")
    with data:
        if _MARKER not in data.files:
            raise ValueError(f"{not_ours} (no {_MARKER!r} entry)")
        try:
            meta = json.loads(str(data[_MARKER]))
            state = {name: data[name] for name in data.files if name != _MARKER}
        except (ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ValueError(f"{not_ours} ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{not_ours} (format marker {meta!r})")
    if meta.get("version", 0) > VERSION:
        raise ValueError(f"load: {path!r} has format version {meta['version']}; "
                         f"this convcore reads up to {VERSION}")
    recorded = {name: str(arr.dtype) for name, arr in state.items()}
    if meta.get("dtypes") != recorded:
        raise ValueError(f"load: {path!r} is damaged: its entries do not match the recorded "
                         f"names and dtypes")
    model.load_state_dict(state)
