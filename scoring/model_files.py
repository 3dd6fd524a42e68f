"""Model files on disk: their SHA-256, and writing one so that no reader sees half of it.

A LightGBM file that is truncated or altered can abort the process that parses it (LightGBM
fails inside an OpenMP region and calls ``terminate``), so serving parses only bytes whose
SHA-256 is the one training registered. Pure: no Django, no LightGBM.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path``: a reader sees the old file or the whole new one.

    The bytes go to a temporary file in the same directory (a rename is atomic only within a
    file system), reach the disk (fsync), and are renamed over ``path``; the directory is
    synced so the rename survives a crash. On any failure the temporary file is removed and
    ``path`` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
