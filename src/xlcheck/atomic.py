"""Atomic file writes: a temporary file in the destination folder, then os.replace.

On any error the destination is left exactly as it was (no half-written workbook, ever).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import XlcheckError


class WriteError(XlcheckError):
    """A workbook could not be written (the message, in Chinese, is shown to the user)."""


@contextmanager
def staged(folder: Path, data: bytes, like: Path | None = None) -> Iterator[str]:
    """A temporary file in `folder` holding `data` (synced to disk, with the mode of `like`);
    the caller moves or links it into place; whatever is left is removed afterwards."""
    fd, tmp = tempfile.mkstemp(prefix=".~xlcheck-", suffix=".tmp", dir=str(folder))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _set_mode(tmp, like)
        yield tmp
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def write_atomic(dst: Path, data: bytes, *, like: Path | None = None) -> None:
    """Write `data` to `dst` through a temporary file in the same folder and os.replace."""
    dst = Path(dst)
    with staged(dst.parent, data, like if like is not None else (dst if dst.exists() else None)) as tmp:
        os.replace(tmp, dst)


def _set_mode(tmp: str, like: Path | None) -> None:
    """mkstemp makes 0600 files: give the result the mode of `like`, else the usual umask mode."""
    try:
        if like is not None:
            mode = os.stat(like).st_mode & 0o7777
        else:
            umask = os.umask(0o022)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
    except OSError:
        pass
