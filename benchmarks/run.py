#!/usr/bin/env python3
"""xlcheck performance benchmark (SPEC 7).

    python benchmarks/run.py                      # 1,000 workbooks, 3 rounds
    python benchmarks/run.py --files 200 --repeat 1   # quick run
    python benchmarks/run.py --baseline-files all     # baseline on every file (slow)

Generates (once, cached in --out) a varied collection of filled workbooks, then measures whole
processes side by side, alternating the contenders round by round, and prints seconds, ratios and
the SPEC 7 targets with PASS/FAIL. Results go to OUT/results.json and OUT/results.md.
See benchmarks/README.md for what each row means.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PY = sys.executable
TIMEOUT = 900          # seconds for one measured process (a hung run must not hang the benchmark)
E_RUNS = 5             # (e) is the median of this many fresh processes

# targets: key -> (description, limit text, test)
TARGETS = {
    "b_over_a": ("(b) xlcheck --jobs 1 / (a) calamine read", "≤ 6", lambda v: v <= 6),
    "d_over_b": ("(d) openpyxl+pandera / (b) xlcheck --jobs 1", "≥ 8", lambda v: v >= 8),
    "b_over_c": ("(b) --jobs 1 / (c) --jobs 2", "≥ 1.7", lambda v: v >= 1.7),
    "e_seconds": ("(e) one workbook, fresh process (s)", "≤ 1.0", lambda v: v <= 1.0),
    "mem_n_over_quarter": ("(f) peak memory N / N/4 files", "≤ 1.3", lambda v: v <= 1.3),
    "rows_per_row_ratio": ("(g) cost per row 10,000 / 2,500 rows", "within 1.5×",
                           lambda v: max(v, 1 / v) <= 1.5 if v > 0 else False),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env() -> dict:
    """The environment of measured processes: as a normal installation runs (bytecode caches on)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def xlcheck_cmd() -> list[str]:
    script = Path(PY).parent / ("xlcheck.exe" if os.name == "nt" else "xlcheck")
    return [str(script)] if script.exists() else [PY, "-m", "xlcheck"]


# ----------------------------------------------------------------------------- running

class Runner:
    def __init__(self, out: Path):
        self.tmp = Path(tempfile.mkdtemp(prefix="run-", dir=out))
        self.env = child_env()
        self.n = 0

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, argv: list[str], ok_codes=(0,)) -> dict:
        """One measured process through _mem.py: {"wall_s", "cpu_s", "maxrss_kib", "returncode"}."""
        self.n += 1
        res_file = self.tmp / f"{self.n}.json"
        cmd = [PY, str(HERE / "_mem.py"), "--out", str(res_file), "--", *argv]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self.env, cwd=REPO, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"error": f"timed out after {TIMEOUT} s", "cmd": argv}
        try:
            doc = json.loads(res_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"error": f"no result (exit {proc.returncode}): {err.decode(errors='replace')[-500:]}",
                    "cmd": argv}
        doc["cpu_s"] = round(doc.pop("user_s") + doc.pop("sys_s"), 4)
        if doc["returncode"] not in ok_codes:
            doc["error"] = (f"exit status {doc['returncode']}: "
                            f"{err.decode(errors='replace').strip()[-500:]}")
            doc["cmd"] = argv
        return doc


def summary(samples: list[dict]) -> dict:
    good = [s for s in samples if "error" not in s]
    out = {"runs": len(samples), "samples": samples}
    if good:
        out["wall_s"] = round(statistics.median(s["wall_s"] for s in good), 4)
        out["cpu_s"] = round(statistics.median(s["cpu_s"] for s in good), 4)
        out["maxrss_mib"] = round(max(s["maxrss_kib"] for s in good) / 1024, 1)
    if len(good) < len(samples):
        out["error"] = next(s["error"] for s in samples if "error" in s)
    return out


# ----------------------------------------------------------------------------- machine

def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    try:
        import xlcheck
        version = xlcheck.__version__
    except Exception:
        version = "?"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "xlcheck": version,
        "commit": git("rev-parse", "--short", "HEAD"),
        "worktree_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


# ----------------------------------------------------------------------------- report

def fmt(v, nd=2):
    return "—" if v is None else f"{v:.{nd}f}"


def render(res: dict) -> str:
    """The results as Markdown (also what is printed)."""
    m, r, t = res["machine"], res["rows"], res["targets"]
    n = res["files"]
    md = []
    md.append(f"# xlcheck benchmark — {n} workbooks, {res['repeat']} round(s)\n")
    md.append(f"- Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
              f"Python {m['python']} ({m['implementation']}), {m['platform']}")
    md.append(f"- xlcheck {m['xlcheck']}, commit {m['commit']}{' + uncommitted changes' if m['worktree_dirty'] else ''}; "
              f"run {m['date']}; load average {res['load_before']} → {res['load_after']}")
    md.append(f"- Collection: {n} files ({res['collection']['distinct']} distinct workbooks copied in turn; "
              f"{res['collection']['bytes'] / 1e6:.1f} MB); statuses of the distinct ones: "
              + ", ".join(f"{k} {v}" for k, v in sorted(res["collection"]["statuses"].items())))
    md.append(f"- Measured wall-clock of whole processes (interpreter start and imports included), "
              f"median of {res['repeat']} alternating round(s); CPU = user + sys of the process tree; "
              f"memory = peak RSS of the largest process. Total measuring time "
              f"{res['elapsed_s']:.0f} s (generation excluded).\n")
    md.append("| | measurement | wall s | CPU s | ms / file | peak MiB |")
    md.append("|---|---|---:|---:|---:|---:|")
    for key, label in (("a", "python-calamine: read every sheet's values (floor)"),
                       ("b", "`xlcheck --no-write --jobs 1`"),
                       ("c", "`xlcheck --no-write --jobs 2`"),
                       ("d", "openpyxl + pandera baseline")):
        s = r[key]
        per = s.get("wall_s") and 1000 * s["wall_s"] / n
        if key == "d" and r["d"].get("extrapolated"):
            label += f" (extrapolated from {r['d']['sample_files']} files)"
        md.append(f"| {key} | {label} | {fmt(s.get('wall_s'))} | {fmt(s.get('cpu_s'))} | "
                  f"{fmt(per, 1)} | {fmt(s.get('maxrss_mib'), 0)} |")
    d = r["d"]
    if d.get("extrapolated"):
        md.append(f"\n(d) measured on {d['sample_files']} of the {n} files "
                  f"({fmt(d['sample_wall_s'])} s; process with no file {fmt(d['startup_wall_s'])} s) and "
                  f"extrapolated linearly: startup + (sample − startup) × {n}/{d['sample_files']}.")
    e = r["e"]
    md.append(f"\n(e) one workbook as the add-in sees it (`{e['file']}`, fresh process: start, imports, "
              f"read, check): median {fmt(e.get('wall_s'))} s of {e['runs']} "
              f"(min {fmt(e.get('min_s'))}, max {fmt(e.get('max_s'))}); CPU {fmt(e.get('cpu_s'))} s.\n")
    md.append("(f) `xlcheck --no-write --jobs 1` by number of files:\n")
    md.append("| files | wall s | ms / file | peak MiB |")
    md.append("|---:|---:|---:|---:|")
    for row in r["f"]:
        md.append(f"| {row['files']} | {fmt(row.get('wall_s'))} | "
                  f"{fmt(row.get('wall_s') and 1000 * row['wall_s'] / row['files'], 1)} | "
                  f"{fmt(row.get('maxrss_mib'), 0)} |")
    md.append("\n(g) `xlcheck --no-write --jobs 1` on one workbook by number of indicator rows "
              "(cost per row = (t − t(10 rows)) / (rows − 10)):\n")
    md.append("| indicator rows | wall s | CPU s | ms per row | peak MiB |")
    md.append("|---:|---:|---:|---:|---:|")
    for row in r["g"]:
        md.append(f"| {row['rows']} | {fmt(row.get('wall_s'))} | {fmt(row.get('cpu_s'))} | "
                  f"{fmt(row.get('ms_per_row'), 3)} | {fmt(row.get('maxrss_mib'), 0)} |")
    md.append("\n## Targets (SPEC 7)\n")
    md.append("| target | value | required | result |")
    md.append("|---|---:|---:|---|")
    for key, (desc, limit, _) in TARGETS.items():
        v = t[key]
        md.append(f"| {desc} | {fmt(v['value'])} | {limit} | {v['result']} |")
    info = res.get("info", {})
    if info:
        md.append("\nFor information (CPU-time ratios, less sensitive to other load on the machine): "
                  + "; ".join(f"{k} {fmt(v)}" for k, v in info.items()) + ".")
    if res.get("errors"):
        md.append("\n## Errors\n")
        md.extend(f"- {e}" for e in res["errors"])
    return "\n".join(md) + "\n"


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--files", type=int, default=1000, help="number of workbooks (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating rounds; medians are reported (default 3)")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="cache and results folder (default benchmarks/out/)")
    ap.add_argument("--baseline-files", default="100",
                    help="files the slow openpyxl+pandera baseline (d) reads per round, extrapolated "
                         "to --files; 'all' for every file (default 100)")
    a = ap.parse_args(argv)
    if a.files < 4:
        ap.error("--files must be at least 4")
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    n = a.files
    k = n if a.baseline_files == "all" else max(1, min(n, int(a.baseline_files)))
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    # ---- generation (not measured)
    t_gen = time.perf_counter()
    generate.prune(out)
    coll = generate.build_collection(out, n, log)
    distinct = generate.build_distinct(out, log)
    rows = generate.build_rows(out, log)
    parts = [coll / f"part{i}" for i in range(1, 5)]
    counts = [sum(1 for _ in p.glob("*.xlsx")) for p in parts]
    coll_bytes = sum(f.stat().st_size for p in parts for f in p.glob("*.xlsx"))
    largest_example = max(sorted((REPO / "examples").glob("*.xlsx")), key=lambda p: p.stat().st_size)
    log(f"generation/cache: {time.perf_counter() - t_gen:.1f} s")

    runner = Runner(out)
    xl = xlcheck_cmd()
    xl_args = ["--no-write", "--quiet", "--format", "json"]
    errors: list[str] = []
    try:
        t0 = time.perf_counter()
        load_before = loadavg()
        # ---- warm-up (not measured): bytecode caches, page cache; statuses of the distinct workbooks
        proc = subprocess.run([*xl, "--no-write", "--quiet", "--format", "json", str(distinct)],
                              capture_output=True, env=runner.env, cwd=REPO)
        statuses: dict[str, int] = {}
        try:
            for f in json.loads(proc.stdout)["files"]:
                statuses[f["status"]] = statuses.get(f["status"], 0) + 1
        except (ValueError, KeyError):
            errors.append(f"warm-up xlcheck run on the distinct workbooks failed (exit {proc.returncode}): "
                          f"{proc.stderr.decode(errors='replace').strip()[-300:]}")
        runner.run([PY, str(HERE / "_calamine_read.py"), str(coll)])
        runner.run([PY, str(HERE / "baseline.py"), "--limit", "1", str(coll)])
        log(f"warm-up done ({time.perf_counter() - t0:.1f} s); distinct workbooks: {statuses}")

        # ---- (a)-(d) and (g), alternating
        jobs = {
            "a": ([PY, str(HERE / "_calamine_read.py"), str(coll)], (0,)),
            "b": ([*xl, *xl_args, "--jobs", "1", str(coll)], (0, 1)),
            "c": ([*xl, *xl_args, "--jobs", "2", str(coll)], (0, 1)),
            "d": ([PY, str(HERE / "baseline.py"), "--limit", str(k), str(coll)], (0,)),
        }
        if k < n:
            jobs["d0"] = ([PY, str(HERE / "baseline.py"), "--limit", "0", str(coll)], (0,))
        for rows_n, path in sorted(rows.items()):
            jobs[f"g{rows_n}"] = ([*xl, *xl_args, "--jobs", "1", str(path)], (0, 1))
        samples: dict[str, list] = {key: [] for key in jobs}
        keys = list(jobs)
        for rnd in range(a.repeat):
            t_round = time.perf_counter()
            order = keys[rnd % len(keys):] + keys[:rnd % len(keys)]
            for key in order:
                argv, ok = jobs[key]
                s = runner.run(argv, ok)
                samples[key].append(s)
                log(f"round {rnd + 1}/{a.repeat} {key:>6}: "
                    + (s["error"] if "error" in s else f"{s['wall_s']:.2f} s, {s['maxrss_kib'] // 1024} MiB"))
            if rnd == 0:
                took = time.perf_counter() - t_round
                log(f"round 1 took {took:.0f} s; about {took * a.repeat * 1.15 + 10:.0f} s to measure in all")
        sm = {key: summary(v) for key, v in samples.items()}

        # ---- (e) one workbook, fresh process
        code = ("from xlcheck.reader import read_workbook; from xlcheck.runner import check_workbooks; "
                "from xlcheck.rules import load_checks; "
                f"check_workbooks([read_workbook({str(largest_example)!r})], load_checks())")
        e_samples = [runner.run([PY, "-c", code]) for _ in range(E_RUNS)]
        e = summary(e_samples)
        good = [s["wall_s"] for s in e_samples if "error" not in s]
        e.update(file=str(largest_example.relative_to(REPO)),
                 min_s=min(good) if good else None, max_s=max(good) if good else None)
        log(f"(e) {e.get('wall_s')} s")

        # ---- (f) memory and time by number of files (N from the (b) rounds)
        f_rows = []
        for m in (1, 2):   # part1 = N/4 files, part1 + part2 = N/2
            s = runner.run([*xl, *xl_args, "--jobs", "1", *map(str, parts[:m])], (0, 1))
            files = sum(counts[:m])
            row = {"files": files, "wall_s": s.get("wall_s"), "cpu_s": s.get("cpu_s"),
                   "maxrss_mib": round(s["maxrss_kib"] / 1024, 1) if "maxrss_kib" in s else None}
            if "error" in s:
                row["error"] = s["error"]
            f_rows.append(row)
            log(f"(f) {files} files: {row['wall_s']} s, {row['maxrss_mib']} MiB")
        f_rows.append({"files": n, "wall_s": sm["b"].get("wall_s"), "cpu_s": sm["b"].get("cpu_s"),
                       "maxrss_mib": sm["b"].get("maxrss_mib")})
        elapsed = time.perf_counter() - t0
        load_after = loadavg()
    finally:
        runner.close()

    # ---- derived numbers
    def w(key):
        return sm[key].get("wall_s")

    d = dict(sm["d"])
    if k < n and w("d") is not None and w("d0") is not None:
        d.update(extrapolated=True, sample_files=k, sample_wall_s=w("d"), startup_wall_s=w("d0"),
                 wall_s=round(w("d0") + (w("d") - w("d0")) * n / k, 4),
                 cpu_s=round(sm["d0"]["cpu_s"] + (sm["d"]["cpu_s"] - sm["d0"]["cpu_s"]) * n / k, 4),
                 startup=sm["d0"])
    g_rows = []
    ref_rows = min(rows)
    for rows_n in sorted(rows):
        s = sm[f"g{rows_n}"]
        row = {"rows": rows_n, "wall_s": s.get("wall_s"), "cpu_s": s.get("cpu_s"),
               "maxrss_mib": s.get("maxrss_mib"), "samples": s["samples"]}
        if rows_n != ref_rows and s.get("wall_s") is not None and w(f"g{ref_rows}") is not None:
            row["ms_per_row"] = 1000 * (s["wall_s"] - w(f"g{ref_rows}")) / (rows_n - ref_rows)
        g_rows.append(row)

    def ratio(x, y):
        return x / y if x is not None and y else None

    per_row = {row["rows"]: row.get("ms_per_row") for row in g_rows}
    values = {
        "b_over_a": ratio(w("b"), w("a")),
        "d_over_b": ratio(d.get("wall_s"), w("b")),
        "b_over_c": ratio(w("b"), w("c")),
        "e_seconds": e.get("wall_s"),
        "mem_n_over_quarter": ratio(f_rows[-1]["maxrss_mib"], f_rows[0]["maxrss_mib"]),
        "rows_per_row_ratio": ratio(per_row.get(max(rows)), per_row.get(generate.ROWS_SIZES[0])),
    }
    targets = {}
    for key, (desc, limit, test) in TARGETS.items():
        v = values[key]
        targets[key] = {"description": desc, "value": v, "required": limit,
                        "result": "—" if v is None else ("PASS" if test(v) else "FAIL")}
    info = {
        "CPU (b)/(a)": ratio(sm["b"].get("cpu_s"), sm["a"].get("cpu_s")),
        "CPU (d)/(b)": ratio(d.get("cpu_s"), sm["b"].get("cpu_s")),
    }
    for key, s in list(sm.items()) + [("e", e)]:
        if s.get("error"):
            errors.append(f"({key}) {s['error']}")
    for row in f_rows:
        if row.get("error"):
            errors.append(f"(f) {row['files']} files: {row['error']}")
    res = {
        "files": n, "repeat": a.repeat, "baseline_files": k, "machine": machine(),
        "load_before": load_before, "load_after": load_after, "elapsed_s": round(elapsed, 1),
        "collection": {"path": str(coll), "distinct": len(list(distinct.glob("*.xlsx"))),
                       "parts": counts, "bytes": coll_bytes, "statuses": statuses},
        "commands": {key: argv for key, (argv, _) in jobs.items()} | {"e": [PY, "-c", code]},
        "rows": {"a": sm["a"], "b": sm["b"], "c": sm["c"], "d": d, "e": e, "f": f_rows, "g": g_rows},
        "targets": targets, "info": info, "errors": errors,
    }
    (out / "results.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    text = render(res)
    (out / "results.md").write_text(text, encoding="utf-8")
    print(text)
    log(f"written {out / 'results.json'} and {out / 'results.md'}")
    if elapsed > 300:
        log(f"note: measuring took {elapsed:.0f} s (> 5 minutes)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
