"""The "straightforward implementation" xlcheck is measured against (SPEC 7: xlcheck ≥ 10× faster).

    python benchmarks/baseline.py [--limit K] PATH [PATH ...]   (files, or folders searched recursively)

What a competent developer would write first, file by file, with the usual libraries:

- ``openpyxl.load_workbook(path, data_only=False)`` (formulas must be seen, as the checker does);
- the defined names' cells into a dict, the four Excel Tables (by their refs) into pandas DataFrames,
  blank rows dropped;
- one simple ``pandera`` ``DataFrameSchema`` per table, validated (lazily, all failures collected)
  for each table of each file;
- a few arithmetic checks (调整后预算, 支出构成, 基本+项目, 任务资金, 指标完成率与偏差原因, 自评得分).

It prints one line of totals. ``--limit K`` checks only the first K files (K = 0: imports and
schemas only, the fixed cost of the process); run.py uses that to extrapolate to the whole
collection when measuring every file would take too long.
"""
from __future__ import annotations

import sys
import warnings

import openpyxl
import pandas as pd
import pandera.pandas as pa
from openpyxl.utils import range_boundaries

from _calamine_read import files  # same file walk as the floor (a): both see the same files

warnings.filterwarnings("ignore")

NUM = pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True)
TEXT = pa.Column(str, nullable=True, coerce=True)


def _rate_ok(v) -> bool:
    # a formula (the template's), or a typed fraction in a sane range
    return v is None or (isinstance(v, str) and v.startswith("=")) or (
        isinstance(v, (int, float)) and 0 <= v <= 10)


SCHEMAS = {
    "tasks": pa.DataFrameSchema({
        "序号": pa.Column(int, nullable=True, coerce=True),
        "任务名称": pa.Column(str, nullable=False),
        "预期目标": TEXT, "目标完成情况": TEXT, "关键指标": TEXT, "指标完成情况": TEXT,
        "涉及资金（万元）": NUM,
        "完成状态": pa.Column(str, pa.Check.isin(["完成", "部分完成", "未完成"]), nullable=True),
        "未完成原因": TEXT,
    }),
    "indicators": pa.DataFrameSchema({
        "一级指标": pa.Column(str, pa.Check.isin(["产出指标", "效益指标", "满意度指标"])),
        "二级指标": pa.Column(str),
        "三级指标": pa.Column(str, pa.Check.str_length(1, 200)),
        "指标方向": pa.Column(str, pa.Check.isin(["≥", "≤", "=", "定性"])),
        "年度目标值": pa.Column(object, nullable=True),
        "计量单位": TEXT,
        "年度实现值": pa.Column(object, nullable=True),
        "完成率": pa.Column(object, pa.Check(lambda s: s.map(_rate_ok)), nullable=True),
        "偏差原因": TEXT, "改进措施": TEXT,
    }),
    "scores": pa.DataFrameSchema({
        "一级指标": pa.Column(str), "一级分值": NUM, "二级指标": pa.Column(str), "二级分值": NUM,
        "三级指标": pa.Column(str, unique=True), "分值": NUM, "指标解释": TEXT, "评分标准": TEXT,
        "自评得分": NUM, "扣分原因": TEXT, "改进措施": TEXT,
    }, checks=[pa.Check(lambda df: ~(pd.to_numeric(df["自评得分"], errors="coerce")
                                      > pd.to_numeric(df["分值"], errors="coerce")), name="得分不超过分值")]),
    "problems": pa.DataFrameSchema({
        "序号": pa.Column(int, nullable=True, coerce=True),
        "存在的主要问题": pa.Column(str), "改进措施": TEXT,
    }),
}


def read(path):
    wb = openpyxl.load_workbook(path, data_only=False)
    names = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if len(dests) == 1 and dests[0][0] in wb.sheetnames and ":" not in dests[0][1]:
            names[name] = wb[dests[0][0]][dests[0][1].replace("$", "")].value
    tables = {}
    for ws in wb.worksheets:
        for t in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(t.ref)
            rows = [list(r) for r in ws.iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1,
                                                  values_only=True)]
            df = pd.DataFrame(rows[1:], columns=[str(h) for h in rows[0]])
            blank = df.map(lambda v: (v.startswith("=") or not v.strip()) if isinstance(v, str) else pd.isna(v))
            tables[t.displayName.lower()] = df[~blank.all(axis=1)]   # blank rows (formulas only)
    return names, tables


def num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).replace(",", "").strip())
    except (TypeError, ValueError):
        return None


def check(names, tables) -> list[str]:
    issues = []
    for tname, schema in SCHEMAS.items():
        df = tables.get(tname)
        if df is None:
            issues.append(f"missing table {tname}")
            continue
        try:
            schema.validate(df, lazy=True)
        except pa.errors.SchemaErrors as e:
            issues.extend(f"{tname}: {c}" for c in e.failure_cases["check"].astype(str))
        except pa.errors.SchemaError as e:
            issues.append(f"{tname}: {e}")
    n = {k: num(v) for k, v in names.items()}

    def close(a, b):
        return a is not None and b is not None and abs(a - b) < 0.005

    parts = [n.get(k) for k in ("spend_general", "spend_gov_fund", "spend_soe_capital", "spend_other")]
    if None not in parts and not close(sum(parts), n.get("spend_actual")):
        issues.append("支出构成之和 != 实际支出")
    if not close((n.get("spend_basic") or 0) + (n.get("spend_project") or 0), n.get("spend_actual")):
        issues.append("基本支出 + 项目支出 != 实际支出")
    if None in (n.get("budget_initial"), n.get("budget_adjustment")):
        issues.append("预算数不是数字")
    tasks = tables.get("tasks")
    if tasks is not None and len(tasks):
        funds = pd.to_numeric(tasks["涉及资金（万元）"], errors="coerce").sum()
        if not close(float(funds), n.get("spend_project")):
            issues.append("任务资金之和 != 项目支出")
    ind = tables.get("indicators")
    if ind is not None:
        for _, r in ind.iterrows():
            t, a = num(r["年度目标值"]), num(r["年度实现值"])
            if r["指标方向"] == "≥" and t and a is not None and a / t < 1 and not r["偏差原因"]:
                issues.append(f"指标“{r['三级指标']}”未完成且无偏差原因")
    sc = tables.get("scores")
    if sc is not None and len(sc):
        total = pd.to_numeric(sc["自评得分"], errors="coerce").sum()
        if total > 100:
            issues.append("总分超过100")
        lost = pd.to_numeric(sc["分值"], errors="coerce") > pd.to_numeric(sc["自评得分"], errors="coerce")
        for _, r in sc[lost].iterrows():
            if not r["扣分原因"]:
                issues.append(f"“{r['三级指标']}”扣分但无扣分原因")
    return issues


def main(argv) -> int:
    limit = None
    if argv[:1] == ["--limit"]:
        limit, argv = int(argv[1]), argv[2:]
    n_files = n_issues = 0
    for p in files(argv):
        if limit is not None and n_files >= limit:
            break
        names, tables = read(p)
        n_issues += len(check(names, tables))
        n_files += 1
    print(f"{n_files} files, {n_issues} issues")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
