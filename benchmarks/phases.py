#!/usr/bin/env python3
"""Where one workbook's time goes, in process: reading, building the model, the rules.

    python benchmarks/phases.py                # the 30 distinct benchmark workbooks, 5 rounds
    python benchmarks/phases.py --rules 20     # also the 20 most expensive workbook rules
    python benchmarks/phases.py --profile read # cProfile of one phase (read | model | rules)
    python benchmarks/phases.py --gc DIR       # the garbage collector's share of checking DIR's files

A diagnostic for development, not a target: run.py measures whole processes. Times are
process-CPU milliseconds per workbook, the median over rounds; python-calamine reading every
sheet of the same files is printed alongside as the yardstick.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _files(out: Path) -> list[str]:
    import generate
    folder = generate.build_distinct(out, log=lambda *a: None)
    return sorted(str(p) for p in folder.glob("*.xlsx"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rules", type=int, default=0, help="list the N most expensive workbook rules")
    ap.add_argument("--profile", choices=("read", "model", "rules"))
    ap.add_argument("--gc", type=Path, metavar="DIR", help="time the collector while check_paths runs over DIR")
    args = ap.parse_args(argv)
    if args.gc:
        return gc_share(args.gc)

    from xlcheck import ooxml, reader
    from xlcheck.rules import Context, load_checks
    from xlcheck.runner import check_workbooks

    files = _files(args.out)
    checks = load_checks(None)
    # warm: imports (pandera included), lru caches
    check_workbooks([reader.build_model(ooxml.read_package(f), f) for f in files], checks)

    def read():
        return [ooxml.read_package(f) for f in files]

    def model():
        # fresh RawBooks each time: the model takes over their cell dicts
        fresh = read()
        t = time.process_time()
        out = [reader.build_model(r, f) for r, f in zip(fresh, files)]
        return out, time.process_time() - t

    def rules():
        # fresh models each time: rules memoise per workbook and per cell, so a second pass over
        # the same objects would measure warm caches
        wbs, _ = model()
        t = time.process_time()
        check_workbooks(wbs, checks)
        return None, time.process_time() - t

    phases = {"read": read, "model": model, "rules": rules}
    if args.profile:
        import cProfile
        import pstats
        pr = cProfile.Profile()
        for _ in range(args.rounds):
            if args.profile == "rules":
                wbs, _ = model()
                pr.enable()
                check_workbooks(wbs, checks)
            else:
                pr.enable()
                phases[args.profile]()
            pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(35)
        return 0

    def calamine():
        import python_calamine
        for f in files:
            wb = python_calamine.CalamineWorkbook.from_path(f)
            for s in wb.sheet_names:
                wb.get_sheet_by_name(s).to_python()

    phases["calamine (yardstick)"] = calamine
    times = collections.defaultdict(list)
    for _ in range(args.rounds):
        for name, fn in phases.items():
            t = time.process_time()
            got = fn()
            spent = time.process_time() - t
            if isinstance(got, tuple):       # a phase that times only its own part
                spent = got[1]
            times[name].append(spent * 1000 / len(files))
    print(f"{len(files)} workbooks, median of {args.rounds} rounds, CPU ms per workbook")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:<22} {v:7.3f}")
    ours = med["read"] + med["model"] + med["rules"]
    print(f"  {'read+model+rules':<22} {ours:7.3f}   ({ours / med['calamine (yardstick)']:.2f}× calamine)")

    if args.rules:
        per = collections.Counter()
        for _ in range(args.rounds):
            wbs, _ = model()
            for wb in wbs:
                for r in checks.by_scope("workbook"):
                    t0 = time.perf_counter()
                    if all(wb.has(n) for n in r.needs):
                        list(r.func(wb, Context(checks, r)) or ())
                    per[r.id] += time.perf_counter() - t0
        n = args.rounds * len(files)
        print("workbook rules, wall µs per workbook (shared memos count at their first user):")
        for rid, v in per.most_common(args.rules):
            print(f"  {rid:<8} {v * 1e6 / n:8.0f}")
    return 0


def gc_share(folder: Path) -> int:
    """CPU of check_paths over a folder's workbooks and the collector's part of it, per generation
    (gc.callbacks time each collection; imports happen before the clock starts)."""
    import gc

    import pandera  # noqa: F401  (imported by the batch rules; out of the timing)
    from xlcheck.runner import check_paths, load_checks
    files = sorted(str(p) for p in folder.rglob("*.xlsx"))
    load_checks(None)
    spent = collections.Counter()
    count = collections.Counter()
    started = {}

    def timer(phase, info):
        g = info["generation"]
        if phase == "start":
            started[g] = time.perf_counter()
        else:
            spent[g] += time.perf_counter() - started[g]
            count[g] += 1
    gc.callbacks.append(timer)
    t = time.process_time()
    n = sum(1 for _ in check_paths(files))
    total = time.process_time() - t
    gc.callbacks.remove(timer)
    print(f"{n} workbooks: {total * 1000 / n:.2f} CPU ms per workbook")
    for g in range(3):
        print(f"  generation {g}: {count[g]:5d} collections, {spent[g] * 1000 / n:6.2f} ms per workbook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
