#!/usr/bin/env python3
"""Time `xlcheck.addin.validate` as the add-in sees a workbook, without Excel.

    python addin/bench_validate.py [WORKBOOK …] [--runs 7]    # default: the largest examples/*.xlsx

Two numbers, each the median of `--runs` runs:

* validate: `validate(book)` on a fresh `xw.Book(json=payload)` (xlwings' remote interface; the
  payload is the Office.js client's JSON, built once from the file by tests/payloads.py;
  recalculate the file in Excel or LibreOffice first so that formula cells carry values), in a warm process: reading the
  book, the checks, laying out and writing 审核结果 (as actions).
* end to end: a new interpreter that imports xlcheck.addin, opens the payload and validates — what
  one click costs on the desktop, where RunPython starts a new Python each time (SPEC 7: < 1 s).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "tests"))      # the client-faithful payload builder
    from payloads import book_payload
    from xlcheck.addin import remote_book, validate
    paths = args.paths or [max((ROOT / "examples").glob("*.xlsx"), key=lambda p: p.stat().st_size)]
    for path in paths:
        payload = book_payload(path)
        times, cpu = [], []
        for _ in range(args.runs + 1):            # one warm-up (loads the rule set once per process)
            book = remote_book(json.loads(json.dumps(payload)))
            t, c = time.perf_counter(), time.process_time()
            result = validate(book)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        warm = statistics.median(times[1:])
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False)
        code = ("import json,os,sys;os.environ.setdefault('XLWINGS_LICENSE_KEY','noncommercial');"
                f"sys.path.insert(0,{str(ROOT / 'src')!r});"
                "from xlcheck.addin import remote_book,validate;"
                f"validate(remote_book(json.load(open({fh.name!r},encoding='utf-8'))))")
        import resource
        e2e, e2e_cpu = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            e2e.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            e2e_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        os.unlink(fh.name)
        print(f"{path.name}: {len(result.findings) if result else 0} findings; "
              f"validate median {warm * 1000:.1f} ms wall / {statistics.median(cpu[1:]) * 1000:.1f} ms CPU "
              f"(first call in a process {times[0] * 1000:.1f} ms); end to end (python start + import + validate) "
              f"median {statistics.median(e2e) * 1000:.0f} ms wall / {statistics.median(e2e_cpu) * 1000:.0f} ms CPU; "
              f"{args.runs} runs, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
