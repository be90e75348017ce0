#!/usr/bin/env python3
"""Build the xlwings Lite script from the current sources (built, never committed).

    python addin/build_lite.py [--out DIR] [--source TREE]

writes DIR/main.py (default DIR: build/lite/ in this repository) — xlcheck's engine, its rule set
(checks/) and template.xlsx embedded as a base64 zip, plus the `validate` script — and
DIR/requirements.txt (a copy of addin/lite/requirements.txt). Paste both into the xlwings Lite task
pane (addin/README.md, 方式二). `--source` builds from another tree, e.g. a `git archive` export of
a release tag. tests/test_lite_pyodide.py runs exactly this build under Pyodide.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
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


def build(out: Path = DEFAULT_OUT, source: Path = REPO) -> dict[str, Path]:
    mod = _build_addin()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    main = out / "main.py"
    main.write_text(mod.build_lite_main(mod.bundle_files(Path(source))), encoding="utf-8")
    req = out / "requirements.txt"
    if req.resolve() != (HERE / "lite" / "requirements.txt").resolve():
        shutil.copyfile(HERE / "lite" / "requirements.txt", req)
    return {"lite_main": main, "lite_requirements": req}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build/lite/)")
    ap.add_argument("--source", type=Path, default=REPO,
                    help="source tree whose src/, checks/ and template.xlsx are embedded (default: this repository)")
    args = ap.parse_args(argv)
    for what, p in build(args.out, args.source).items():
        print(f"{what:<18} {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
