"""Workbooks for the benchmark, filled through ``xlcheck.fill.fill`` (the template's public interface).

Three kinds, all derived from ``examples/data/*.toml``:

- ``distinct``: ~30 different workbooks — clean ones (clean-2024 moved to other departments and
  years), the seed data files as they are (real mistakes), clean ones with random defects (typed
  text numbers, wrong typed rates, missing explanations, wrong sums …) and a few large ones
  (200 indicator rows);
- ``collection``: N files, copies of the distinct ones in turn (byte-identical copies, names vary),
  split into four sub-folders ``part1`` … ``part4`` so that N/4, N/2 and N files are at hand;
- ``rows``: one workbook with 2,500 indicator rows and one with 10,000 (cost per table row).

Everything is cached under the output folder, keyed by a hash of this file and the data files
(and by the count for the collection); ``python benchmarks/generate.py --files 200`` builds it alone.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "examples" / "data"
TABLES = ("tasks", "indicators", "scores", "problems")
ROWS_SIZES = (2500, 10000)
LARGE_ROWS = 200
SEED = 20240607


# ----------------------------------------------------------------------------- cache keys

def _data_files() -> list[Path]:
    return sorted(DATA.glob("*.toml"))


def code_hash() -> str:
    """Hash of the generator code, its input data and the template the workbooks are filled from
    (not of the count)."""
    h = hashlib.sha256()
    for p in [Path(__file__).resolve(), *_data_files(), REPO / "template.xlsx"]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


# ----------------------------------------------------------------------------- data variants

def load(name: str) -> dict:
    with open(DATA / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def _replace_text(obj, subs: list[tuple[str, str]]):
    if isinstance(obj, str):
        for a, b in subs:
            obj = obj.replace(a, b)
        return obj
    if isinstance(obj, dict):
        return {k: _replace_text(v, subs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_text(v, subs) for v in obj]
    return obj


def relocate(data: dict, dept: str, year: int) -> dict:
    """clean-2024 moved to department `dept` and year `year`, consistently (texts and dates too)."""
    d = copy.deepcopy(data)
    base = int(d["cells"]["eval_year"])
    old_dept = d["cells"]["dept_name"]
    subs = [(old_dept, dept), (f"{base + 1}年", f"{year + 1}年"), (f"{base}年", f"{year}年")]
    d = _replace_text(d, subs)
    d["cells"]["dept_name"] = dept
    d["cells"]["eval_year"] = year
    fd = d["cells"].get("fill_date")
    if isinstance(fd, dt.date):
        d["cells"]["fill_date"] = fd.replace(year=year + 1)
    return d


def many_indicators(data: dict, n: int) -> dict:
    """`data` with n indicator rows: its own rows in turn, each 三级指标 made unique."""
    d = copy.deepcopy(data)
    src = d["indicators"]
    rows = []
    for i in range(n):
        r = dict(src[i % len(src)])
        if i >= len(src):   # every row its own name and explanations
            k = i // len(src) + 1
            for col in ("三级指标", "偏差原因", "改进措施"):
                if r.get(col):
                    r[col] = f"{r[col]}（{k}）"
        rows.append(r)
    d["indicators"] = rows
    return d


def _fmt_thousands(x: float) -> str:
    return f"{x:,.2f}"


def perturb(data: dict, rng: random.Random, n: int) -> tuple[dict, list[str]]:
    """Apply n random defects of the kinds districts make; returns (data, what was done)."""
    d = copy.deepcopy(data)
    cells = d["cells"]
    done = []

    def text_number():
        k = rng.choice(["budget_initial", "spend_actual", "spend_basic", "spend_project", "spend_prev_year"])
        if isinstance(cells.get(k), (int, float)):
            cells[k] = rng.choice([_fmt_thousands(cells[k]), f"{cells[k]:.2f}", f"{cells[k]:.2f}万元"])
            done.append(f"text number {k}")

    def text_number_in_table():
        rows = [r for r in d["indicators"] if isinstance(r.get("年度实现值"), (int, float))]
        if rows:
            r = rng.choice(rows)
            r["年度实现值"] = f"{r['年度实现值']}{r.get('计量单位', '')}"
            done.append("text number indicators.年度实现值")

    def wrong_rate():
        k = rng.choice(["budget_completion_rate", "budget_adjust_rate", "spend_yoy_rate"])
        cells[k] = round(rng.uniform(0.5, 1.2), 4)   # typed over the template's formula
        done.append(f"wrong typed rate {k}")

    def wrong_indicator_rate():
        r = rng.choice(d["indicators"])
        r["完成率"] = round(rng.uniform(0.6, 1.4), 4)
        done.append("wrong typed indicators.完成率")

    def missing_deviation():
        for r in d["indicators"]:
            if r.get("偏差原因"):
                r["偏差原因"] = ""
                r["改进措施"] = ""
                done.append("missing 偏差原因/改进措施")
                return

    def missing_deduction_reason():
        for r in d["scores"]:
            if r.get("扣分原因"):
                r["扣分原因"] = ""
                done.append("missing 扣分原因")
                return

    def missing_budget_note():
        cells["budget_note"] = ""
        cells["spend_actual"] = round(cells["spend_actual"] * 0.8, 2)
        done.append("completion < 90 % without budget_note")

    def wrong_sum():
        cells["spend_basic"] = round(cells["spend_basic"] + rng.choice([0.1, 1.0, 10.0]), 2)
        done.append("spend_basic + spend_project != spend_actual")

    def over_score():
        r = rng.choice(d["scores"])
        r["自评得分"] = 30
        done.append("score above 分值")

    def task_funds():
        t = rng.choice(d["tasks"])
        t["涉及资金（万元）"] = round(t["涉及资金（万元）"] * 1.5, 2)
        done.append("task funds != spend_project")

    def blank_required():
        k = rng.choice(["preparer", "preparer_phone", "text_conclusion"])
        cells[k] = ""
        done.append(f"blank {k}")

    kinds = [text_number, text_number_in_table, wrong_rate, wrong_indicator_rate, missing_deviation,
             missing_deduction_reason, missing_budget_note, wrong_sum, over_score, task_funds,
             blank_required]
    for f in rng.sample(kinds, n):
        f()
    return d, done


def _tables(data: dict) -> dict:
    return {t: [dict(r) for r in data.get(t, [])] for t in TABLES}


def _cells(data: dict) -> dict:
    # [reported] values (seeds): typed over the template's formulas, as the district did
    return {**data.get("cells", {}), **data.get("reported", {})}


def plan() -> list[tuple[str, dict, str]]:
    """[(file stem, data, description)] of the distinct workbooks."""
    rng = random.Random(SEED)
    clean = load("clean-2024")
    seeds = [p.stem for p in _data_files() if p.stem != "clean-2024"]
    out = []
    k = 0

    def dept():
        nonlocal k
        k += 1
        return f"某区{k}工商联"

    years = [2021, 2022, 2023, 2024]
    for i in range(8):
        name = dept()
        y = years[i % 4]
        out.append((f"clean-{name}-{y}", relocate(clean, name, y), "clean"))
    for s in seeds:
        out.append((f"seed-{s}", load(s), "seed data file (real mistakes)"))
    for i in range(14):
        name = dept()
        y = years[i % 4]
        d, done = perturb(relocate(clean, name, y), rng, rng.randint(1, 3))
        out.append((f"defect-{name}-{y}", d, "; ".join(done)))
    for i in range(3):
        name = dept()
        y = years[(i + 1) % 4]
        d = many_indicators(relocate(clean, name, y), LARGE_ROWS)
        desc = f"{LARGE_ROWS} indicator rows"
        if i == 2:
            d, done = perturb(d, rng, 2)
            desc += "; " + "; ".join(done)
        out.append((f"large-{name}-{y}", d, desc))
    return out


# ----------------------------------------------------------------------------- building

def _fill(path: Path, data: dict) -> None:
    from xlcheck.fill import fill
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    fill(tmp, cells=_cells(data), tables=_tables(data))
    tmp.replace(path)


def build_distinct(out: Path, log=print) -> Path:
    d = out / f"distinct-{code_hash()}"
    manifest = d / "manifest.json"
    if manifest.exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    t0 = time.perf_counter()
    entries = []
    for stem, data, desc in plan():
        p = d / f"{stem}.xlsx"
        _fill(p, data)
        entries.append({"file": p.name, "kind": desc, "indicator_rows": len(data.get("indicators", []))})
    manifest.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"generated {len(entries)} distinct workbooks in {time.perf_counter() - t0:.1f} s → {d}")
    return d


def build_collection(out: Path, count: int, log=print) -> Path:
    """N files in part1..part4 (file i goes to part 1 + 4i // N), copies of the distinct ones in turn."""
    distinct = build_distinct(out, log)
    c = out / f"collection-{code_hash()}-n{count}"
    done = c / "done.json"
    if done.exists():
        return c
    shutil.rmtree(c, ignore_errors=True)
    srcs = sorted(p for p in distinct.glob("*.xlsx"))
    for part in range(1, 5):
        (c / f"part{part}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        src = srcs[i % len(srcs)]
        part = 1 + (4 * i) // count
        shutil.copyfile(src, c / f"part{part}" / f"{i:05d}-{src.name}")
    done.write_text(json.dumps({"files": count, "distinct": len(srcs)}), encoding="utf-8")
    log(f"collection of {count} files → {c}")
    return c


def build_rows(out: Path, log=print) -> dict[int, Path]:
    """{rows: path} for the workbooks with many indicator rows (and the clean reference, rows 10)."""
    d = out / f"rows-{code_hash()}"
    d.mkdir(parents=True, exist_ok=True)
    clean = relocate(load("clean-2024"), "某区行数工商联", 2024)
    paths = {len(clean["indicators"]): d / f"rows-{len(clean['indicators'])}.xlsx"}
    paths.update({n: d / f"rows-{n}.xlsx" for n in ROWS_SIZES})
    for n, p in paths.items():
        if not p.exists():
            t0 = time.perf_counter()
            _fill(p, many_indicators(clean, n))
            log(f"generated {p.name} in {time.perf_counter() - t0:.1f} s")
    return paths


def prune(out: Path) -> None:
    """Remove cached folders of other generator versions (collections of other counts stay)."""
    h = code_hash()
    for p in out.iterdir():
        m = re.match(r"^(?:distinct|collection|rows)-([0-9a-f]{12})(?:-n\d+)?$", p.name)
        if p.is_dir() and m and m.group(1) != h:
            shutil.rmtree(p, ignore_errors=True)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="generate the benchmark workbooks (cached)")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    print(build_collection(a.out, a.files))
    print(build_rows(a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
