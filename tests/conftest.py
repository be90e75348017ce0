"""Shared test helpers: LibreOffice headless recalculation."""
import fcntl
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# always recalculate on load, whatever the file's generator (default is "never" for xlsx)
_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:   # fail, never skip: CI installs LibreOffice
        raise RuntimeError("LibreOffice (soffice) is not installed")
    return exe


# one profile per pytest-xdist worker: LibreOffice instances on one profile collide, on two they run
# side by side; each profile stays warm between runs
_PROFILE = Path(tempfile.gettempdir()) / f"xlcheck-lo-profile-{os.getuid()}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@contextmanager
def _one_soffice_at_a_time():
    """One LibreOffice at a time on this worker's profile (also across test runs sharing it)."""
    _PROFILE.mkdir(exist_ok=True)
    with open(_PROFILE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def libreoffice_convert(paths, outdir, fmt="xlsx") -> list[Path]:
    """Open `paths` in one headless LibreOffice run, recalculate, and save them as `fmt` into
    `outdir`; returns the output paths in order."""
    paths = [Path(p) for p in paths]
    names = [p.stem for p in paths]
    assert len(set(names)) == len(names), "file names must differ: outputs share one directory"
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with _one_soffice_at_a_time():
        user = _PROFILE / "user"
        user.mkdir(exist_ok=True)
        (user / "registrymodifications.xcu").write_text(_XCU, encoding="utf-8")
        cmd = [soffice(), f"-env:UserInstallation={_PROFILE.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", fmt, "--outdir", str(outdir), *map(str, paths)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = [outdir / f"{n}.{fmt}" for n in names]
    missing = [str(p) for p in out if not p.exists()]
    assert not missing, f"LibreOffice did not write {missing}: {proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def libreoffice():
    """libreoffice(paths, outdir, fmt="xlsx") -> converted paths (recalculated on load)."""
    return libreoffice_convert
