#!/usr/bin/env python3
"""Build the xlwings Lite script from the current sources (built, never committed).

    python addin/build_lite.py [--out DIR] [--source TREE]

writes DIR/main.py (default DIR: build/lite/ in this repository) — xlcheck's engine, its rule set
(checks/) and the template hints embedded as a base64 zip, plus the `validate` script — and
DIR/requirements.txt (a copy of addin/lite/requirements.txt). Paste both into the xlwings Lite task
pane (addin/README.md, 方式二). `--source` builds from another tree, e.g. a `git archive` export of
a release tag. tests/test_lite_pyodide.py runs exactly this build under Pyodide.

The template hints (number formats and formulas of template.xlsx's named cells and table columns,
`xlcheck.xlwings_reader.TemplateHints`) are read here, where lxml is installed, by the source
tree's own code, and shipped as xlcheck/template_hints.json: Lite has no lxml to read template.xlsx.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_OUT = REPO / "build" / "lite"


def _build_addin():
    spec = importlib.util.spec_from_file_location("build_addin", HERE / "build_addin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HINTS = """import json, sys
from xlcheck.xlwings_reader import HINTS_FILE, hints_from_package
hints = json.dumps(hints_from_package(sys.argv[1]).to_dict(), ensure_ascii=False, sort_keys=True)
sys.stdout.buffer.write(f"{HINTS_FILE}\\n{hints}".encode("utf-8"))
"""


def template_hints(source: Path = REPO) -> tuple[str, bytes]:
    """(bundle path, JSON) of the template hints of `source`/template.xlsx, computed by that tree's
    xlcheck (its src/ first on the path), so the format is the one its xlwings_reader loads."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(Path(source) / "src"),
                                                                    os.environ.get("PYTHONPATH")))))
    proc = subprocess.run([sys.executable, "-c", HINTS, str(Path(source) / "template.xlsx")], env=env,
                          capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"template hints of {source}/template.xlsx:\n{proc.stderr.decode(errors='replace')}")
    name, _, data = proc.stdout.partition(b"\n")
    return "xlcheck/" + name.decode(), data


def build(out: Path = DEFAULT_OUT, source: Path = REPO) -> dict[str, Path]:
    mod = _build_addin()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    main = out / "main.py"
    files = mod.bundle_files(Path(source)) + [template_hints(Path(source))]
    main.write_text(mod.build_lite_main(files), encoding="utf-8")
    req = out / "requirements.txt"
    if req.resolve() != (HERE / "lite" / "requirements.txt").resolve():
        shutil.copyfile(HERE / "lite" / "requirements.txt", req)
    return {"lite_main": main, "lite_requirements": req}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build/lite/)")
    ap.add_argument("--source", type=Path, default=REPO,
                    help="source tree whose src/ and checks/ are embedded and whose template.xlsx gives the "
                         "template hints (default: this repository)")
    args = ap.parse_args(argv)
    for what, p in build(args.out, args.source).items():
        print(f"{what:<18} {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
