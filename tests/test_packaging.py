"""The wheel `pip install .` builds (the README's first command): every module and data file the
engine needs is inside, and the installed layout checks a workbook as the source tree does."""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the project's files (a stale build/ in the working tree would leak in)."""
    src, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (found,) = out.glob("xlcheck-*.whl")
    return found


def test_wheel_holds_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {f"xlcheck/{p.relative_to(ROOT / 'src' / 'xlcheck').as_posix()}"
               for p in (ROOT / "src" / "xlcheck").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    rules = {f"xlcheck/checks/{p.name}" for p in (ROOT / "checks").iterdir() if p.suffix in (".py", ".toml")}
    missing = sorted((sources | rules | {"xlcheck/template.xlsx", "xlcheck/addin/xlcheck.xlam"}) - names)
    assert not missing, missing


def test_installed_layout_gives_the_source_trees_findings(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    args = [str(ROOT / "examples" / "huangpu-2022.xlsx"), "--no-write", "--format", "json"]
    # -S: no .pth files, so the test environment's editable install cannot fill in what the wheel lacks
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *site.getsitepackages()])}
    proc = subprocess.run([sys.executable, "-S", "-c", "import xlcheck, sys; print(xlcheck.__file__, file=sys.stderr); "
                           "from xlcheck.cli import main; main(prog_name='xlcheck')", *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1 and proc.stdout.startswith("{"), proc.stderr[-3000:]   # huangpu: real mistakes
    assert proc.stderr.startswith(str(target)), proc.stderr[:300]      # the wheel's xlcheck ran
    installed = json.loads(proc.stdout)
    assert installed["files"][0]["findings"]
    tree = subprocess.run([sys.executable, "-m", "xlcheck", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert installed == json.loads(tree.stdout)
