"""Which files a run checks: folders expanded recursively, lock files and the tool's own outputs skipped."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .sniff import CANDIDATE_SUFFIXES


def find_workbooks(inputs: Iterable[str | os.PathLike], skip_dirs: Iterable[Path] = ()) -> list[Path]:
    """Expand files and folders (recursively) into the paths to check.

    In folders: every file that may be a submission (.xlsx/.xlsm, and .xls/.et/.ods/.csv/.xlsb …, which
    are then reported with their reason); lock files `~$*`, macOS `._*` shadows and `__MACOSX`,
    the tool's outputs (skip_dirs) and directories — whatever their names — are skipped. Symbolic
    links to folders are not followed (no loops). A folder that cannot be listed is returned as
    itself, so that the run reports it instead of silently checking fewer files.
    Explicit files are kept (even `notes.pdf`: the user asked for it), except lock files."""
    skip = {Path(s).resolve() for s in skip_dirs}
    out: list[Path] = []
    seen: set[Path] = set()

    def add(q: Path, key: Path | None = None) -> None:
        key = key or q.resolve()
        if key not in seen:
            seen.add(key)
            out.append(q)

    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            if p.resolve() in skip:
                continue
            found, denied = [], []
            for root, dirs, files in os.walk(p, onerror=lambda e: denied.append(Path(e.filename))):
                r = Path(root)
                real = r.resolve()     # once per folder: a file's real path is then real / name
                dirs[:] = sorted(d for d in dirs if d != "__MACOSX" and (r / d).resolve() not in skip)
                found.extend((r / f, None if os.path.islink(r / f) else real / f)
                             for f in files if _candidate(r / f))
            for q, key in sorted(found) + [(d, None) for d in sorted(denied)]:
                add(q, key)
        elif not _is_lock(p):
            add(p)
    return out


def _is_lock(p: Path) -> bool:
    return p.name.startswith(("~$", ".~lock.")) or (p.name.startswith("._") and p.name != "._")


def _candidate(p: Path) -> bool:
    """A file in a folder that may be a district's submission (a regular file, not a lock file)."""
    if _is_lock(p) or p.suffix.lower() not in CANDIDATE_SUFFIXES:
        return False
    try:
        return p.is_file()
    except OSError:
        return False
