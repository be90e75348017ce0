#!/usr/bin/env python3
"""Build the example workbooks from their data files.

    python examples/build.py --check            # validate examples/data/*.toml against SPEC 2.1 / 2.2
    python examples/build.py [--out DIR] [NAME ...]   # build DIR/<NAME>.xlsx (default: examples/, all)

Each data file ``examples/data/<name>.toml`` has:

- ``[cells]``      input cells by defined name (SPEC 2.1; never a formula name);
- ``[reported]``   values the seed *reports* for computed cells: typed over the template's formula as a
                   constant after filling (a real mistake pattern, e.g. seed 003's 预算调整率 0.00%);
- ``[[tasks]]``, ``[[indicators]]``, ``[[scores]]``, ``[[problems]]``: table rows keyed by the table
  header texts of SPEC 2.2 (scores: only 三级指标 + 自评得分 / 扣分原因 / 改进措施, matched by 三级指标).

Building uses ``xlcheck.fill.fill(out_path, cells=..., tables=...)`` (run with PYTHONPATH=src), then
applies ``[reported]`` with openpyxl, re-injects cached values (``xlcheck.fill.inject_cached_values``
when it exists), normalises the zip package so that the output is byte-for-byte deterministic, and
finally re-opens the workbook to verify that every value landed where the data file says.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parent

# ----------------------------------------------------------------------------- SPEC 2.1

# input cells: name -> kind
INPUTS: dict[str, str] = {
    "dept_name": "text", "eval_year": "year", "unit_count": "int", "org_structure": "text",
    "preparer": "text", "preparer_phone": "text", "fill_date": "date",
    "budget_initial": "amount", "budget_adjustment": "amount",
    "spend_actual": "amount", "spend_general": "amount", "spend_gov_fund": "amount",
    "spend_soe_capital": "amount", "spend_other": "amount", "spend_basic": "amount",
    "spend_project": "amount", "spend_prev_year": "amount",
    "project_l1_count": "int", "project_l2_count": "int", "project_eval_funds": "amount",
    "budget_note": "text",
    "text_duties": "text", "text_work": "text", "text_goal": "text", "text_finance": "text",
    "text_management": "text", "text_conclusion": "text", "text_effectiveness": "text",
    "text_efficiency": "text",
}
REQUIRED = ("dept_name", "eval_year", "preparer", "preparer_phone", "fill_date")
# computed cells: name -> kind of the value a seed may report for it
FORMULAS: dict[str, str] = {
    "budget_adjusted": "amount", "budget_completion_rate": "rate", "budget_adjust_rate": "rate",
    "spend_yoy_rate": "rate", "project_eval_share": "rate", "score_total": "amount", "grade": "text",
}

# ----------------------------------------------------------------------------- SPEC 2.2

TABLES: dict[str, list[str]] = {
    "tasks": ["序号", "任务名称", "预期目标", "目标完成情况", "关键指标", "指标完成情况",
              "涉及资金（万元）", "完成状态", "未完成原因"],
    "indicators": ["一级指标", "二级指标", "三级指标", "指标方向", "年度目标值", "计量单位",
                   "年度实现值", "完成率", "偏差原因", "改进措施"],
    "scores": ["一级指标", "一级分值", "二级指标", "二级分值", "三级指标", "分值", "指标解释",
               "评分标准", "自评得分", "扣分原因", "改进措施"],
    "problems": ["序号", "存在的主要问题", "改进措施"],
}
SCORE_INPUTS = ("三级指标", "自评得分", "扣分原因", "改进措施")
LEVELS: dict[str, tuple[str, ...]] = {
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标",),
}
DIRECTIONS = ("≥", "≤", "=", "定性")
TASK_STATES = ("完成", "部分完成", "未完成")
TEXT_COLUMNS = {  # columns that hold text; everything else in a table is a number
    "tasks": {"任务名称", "预期目标", "目标完成情况", "关键指标", "指标完成情况", "完成状态", "未完成原因"},
    "indicators": {"一级指标", "二级指标", "三级指标", "指标方向", "计量单位", "偏差原因", "改进措施"},
    "scores": {"三级指标", "扣分原因", "改进措施"},
    "problems": {"存在的主要问题", "改进措施"},
}
# number columns where typed text is a real mistake kept from the seeds ("1000余人次", "415.32 平方米")
TEXT_ALLOWED = {("indicators", "年度目标值"), ("indicators", "年度实现值")}

# SPEC 2.3, used when checks/framework.toml cannot be read
FRAMEWORK_FALLBACK: dict[str, float] = {
    "部门整体绩效目标产出指标完成情况": 20, "部门整体绩效目标效益指标完成情况": 20,
    "部门预算资金支出率": 10, "新增预算项目事前绩效评估": 3, "结转结余率": 2, "财务管理合规性": 2,
    "预算决算公开合规性": 2, "绩效信息公开情况": 2, "绩效管理制度建设": 5, "绩效结果应用": 3,
    "绩效管理制度执行": 7, "采购意向公开合规性（完整性）": 0.5, "采购意向公开合规性（及时性）": 1.5,
    "采购内控制度建设": 1, "采购活动合规性": 2, "采购合同签订时效性": 3, "合同备案时效性": 1,
    "采购政策效能": 1, "资产配置合规性": 2, "资产收益上缴的及时性": 1, "资产盘点情况": 1, "数据质量": 2,
    "资产管理合规性": 2, "固定资产利用率": 2, "公用经费控制率": 2, "“三公”经费控制情况": 2,
}


def framework() -> dict[str, float]:
    """三级指标 -> 分值 of the framework in force (checks/framework.toml), SPEC 2.3 as fallback."""
    path = REPO / "checks" / "framework.toml"
    try:
        rows = tomllib.loads(path.read_text(encoding="utf-8"))["指标"]
        return {r["三级指标"]: r["分值"] for r in rows}
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return dict(FRAMEWORK_FALLBACK)


# ----------------------------------------------------------------------------- data files

def names_in(args_names: list[str]) -> list[str]:
    available = sorted(p.stem for p in DATA.glob("*.toml"))
    if not args_names:
        return available
    unknown = [n for n in args_names if n not in available]
    if unknown:
        raise SystemExit(f"unknown example(s): {', '.join(unknown)} (have: {', '.join(available)})")
    return list(args_names)


def load(name: str) -> dict:
    with open(DATA / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(name: str, data: dict, fw: dict[str, float]) -> list[str]:
    """Structural problems of one data file (keys, types, enumerations). Content mistakes copied from
    the seeds (wrong rates, unsupported totals, text in number places …) are intended and not checked."""
    errs: list[str] = []

    def err(msg: str) -> None:
        errs.append(f"{name}: {msg}")

    extra = set(data) - {"cells", "reported", *TABLES}
    if extra:
        err(f"unknown top-level keys {sorted(extra)}")

    cells = data.get("cells", {})
    for key, value in cells.items():
        if key in FORMULAS:
            err(f"[cells] {key} is a formula cell; put a reported value in [reported]")
            continue
        kind = INPUTS.get(key)
        if kind is None:
            err(f"[cells] unknown defined name {key!r}")
        elif kind == "text" and not isinstance(value, str):
            err(f"[cells] {key} should be text, got {value!r}")
        elif kind in ("int", "year") and not (isinstance(value, int) and not isinstance(value, bool)):
            err(f"[cells] {key} should be an integer, got {value!r}")
        elif kind == "year" and not 2000 <= value <= 2100:
            err(f"[cells] {key} = {value} is not a year")
        elif kind == "amount" and not _is_number(value):
            err(f"[cells] {key} should be an amount, got {value!r}")
        elif kind == "date" and not isinstance(value, (dt.date, str)):
            err(f"[cells] {key} should be a date, got {value!r}")
    for key in REQUIRED:
        if key not in cells:
            err(f"[cells] required {key} missing")

    for key, value in data.get("reported", {}).items():
        kind = FORMULAS.get(key)
        if kind is None:
            err(f"[reported] {key!r} is not a formula cell of SPEC 2.1")
        elif kind == "text" and not isinstance(value, str):
            err(f"[reported] {key} should be text")
        elif kind in ("amount", "rate") and not _is_number(value):
            err(f"[reported] {key} should be a number")
        elif kind == "rate" and not -10 <= value <= 10:
            err(f"[reported] {key} = {value}: rates are fractions (0.9603 for 96.03%)")

    for table, headers in TABLES.items():
        rows = data.get(table, [])
        if not isinstance(rows, list):
            err(f"{table} must be an array of tables ([[{table}]])")
            continue
        allowed = SCORE_INPUTS if table == "scores" else headers
        for i, row in enumerate(rows, 1):
            where = f"{table}[{i}]"
            for key, value in row.items():
                if key not in allowed:
                    err(f"{where}: unknown or non-input column {key!r}")
                    continue
                if key in TEXT_COLUMNS[table]:
                    if not isinstance(value, str):
                        err(f"{where}.{key} should be text, got {value!r}")
                elif isinstance(value, str):
                    if (table, key) not in TEXT_ALLOWED:
                        err(f"{where}.{key} should be a number, got {value!r}")
                elif not _is_number(value):
                    err(f"{where}.{key} should be a number, got {value!r}")
            if table == "indicators":
                l1, l2 = row.get("一级指标"), row.get("二级指标")
                if l1 not in LEVELS:
                    err(f"{where}.一级指标 {l1!r} not in {list(LEVELS)}")
                elif l2 not in LEVELS[l1]:
                    err(f"{where}.二级指标 {l2!r} not under {l1}")
                if row.get("指标方向") not in DIRECTIONS:
                    err(f"{where}.指标方向 {row.get('指标方向')!r} not in {DIRECTIONS}")
                if not row.get("三级指标"):
                    err(f"{where}.三级指标 missing")
                rate = row.get("完成率")
                if _is_number(rate) and not 0 <= rate <= 10:
                    err(f"{where}.完成率 = {rate}: rates are fractions (1.35 for 135%)")
            if table == "tasks" and row.get("完成状态") not in (None, *TASK_STATES):
                err(f"{where}.完成状态 {row.get('完成状态')!r} not in {TASK_STATES}")
        if table == "scores":
            seen: set[str] = set()
            for i, row in enumerate(rows, 1):
                item = row.get("三级指标")
                if item not in fw:
                    err(f"scores[{i}]: 三级指标 {item!r} is not in the framework")
                elif item in seen:
                    err(f"scores[{i}]: 三级指标 {item!r} listed twice")
                seen.add(item)
                score = row.get("自评得分")
                if _is_number(score) and item in fw and not 0 <= score <= fw[item]:
                    err(f"scores[{i}]: 自评得分 {score} outside [0, {fw[item]}] for {item}")
            missing = [k for k in fw if k not in seen]
            if rows and missing:
                err(f"scores: no row for {missing}")
        if table in ("tasks", "problems"):
            numbers = [r.get("序号") for r in rows]
            if numbers and numbers != list(range(1, len(rows) + 1)):
                err(f"{table}: 序号 should run 1..{len(rows)}, got {numbers}")
    return errs


# ----------------------------------------------------------------------------- build

def _tables(data: dict) -> dict[str, list[dict]]:
    return {t: [dict(r) for r in data.get(t, [])] for t in TABLES}


def _cell_of(wb, name: str):
    """(worksheet, coordinate) of a workbook-scoped defined name."""
    dn = wb.defined_names[name]
    for sheet, coord in dn.destinations:
        return wb[sheet], coord.replace("$", "")
    raise KeyError(name)


def apply_reported(path: Path, reported: dict) -> None:
    """Type the seed's reported values over the template's formula cells (as the district did)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for name, value in sorted(reported.items()):
        ws, coord = _cell_of(wb, name)
        ws[coord].value = value
    wb.save(path)
    from xlcheck import fill as fill_mod

    inject = getattr(fill_mod, "inject_cached_values", None)
    if inject is not None:
        inject(path)


FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
FIXED_W3CDTF = "2000-01-01T00:00:00Z"


def normalise(path: Path) -> None:
    """Make the package byte-for-byte deterministic: fixed zip entry times, fixed core.xml dates."""
    src = zipfile.ZipFile(path)
    buf = io.BytesIO()
    with src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = payload.decode("utf-8")
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rf"\g<1>{FIXED_W3CDTF}\g<2>", text)
                payload = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, payload)
    path.write_bytes(buf.getvalue())


def build(name: str, data: dict, out_dir: Path) -> Path:
    from xlcheck.fill import fill

    out = out_dir / f"{name}.xlsx"
    out_dir.mkdir(parents=True, exist_ok=True)
    fill(out, cells=dict(data.get("cells", {})), tables=_tables(data))
    if data.get("reported"):
        apply_reported(out, data["reported"])
    normalise(out)
    return out


# ----------------------------------------------------------------------------- verify

def _same(expected, got) -> bool:
    if _is_number(expected) and _is_number(got):
        return abs(float(expected) - float(got)) < 1e-9
    if isinstance(expected, dt.date) and isinstance(got, dt.datetime):
        return got.date() == expected
    if isinstance(expected, str) and isinstance(got, str):
        return expected == got
    return expected == got


def _table(wb, name: str):
    for ws in wb.worksheets:
        for tbl in ws.tables.values():
            if (tbl.displayName or tbl.name or "").lower() == name:
                return ws, tbl
    return None, None


def verify(path: Path, data: dict) -> list[str]:
    """Re-open the built workbook and confirm that every value of the data file landed."""
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    errs: list[str] = []
    wb = openpyxl.load_workbook(path)
    for section in ("cells", "reported"):
        for name, value in data.get(section, {}).items():
            try:
                ws, coord = _cell_of(wb, name)
            except KeyError:
                errs.append(f"{path.name}: defined name {name} missing")
                continue
            got = ws[coord].value
            if not _same(value, got):
                errs.append(f"{path.name}: {name} ({ws.title}!{coord}) = {got!r}, expected {value!r}")
    for table in TABLES:
        rows = data.get(table, [])
        ws, tbl = _table(wb, table)
        if tbl is None:
            errs.append(f"{path.name}: table {table} missing")
            continue
        c1, r1, c2, r2 = range_boundaries(tbl.ref)
        headers = {ws.cell(r1, c).value: c for c in range(c1, c2 + 1)}
        body = list(range(r1 + 1, r2 + 1))
        if table == "scores":
            col = headers.get("三级指标")
            index = {ws.cell(r, col).value: r for r in body}
            targets = [(index.get(row["三级指标"]), row) for row in rows]
        else:
            targets = list(zip(body, rows))
            if len(body) < len(rows):
                errs.append(f"{path.name}: table {table} has {len(body)} rows for {len(rows)}")
        for r, row in targets:
            if r is None:
                errs.append(f"{path.name}: scores row {row.get('三级指标')!r} not found")
                continue
            for key, value in row.items():
                c = headers.get(key)
                if c is None:
                    errs.append(f"{path.name}: table {table} has no column {key}")
                    continue
                got = ws.cell(r, c).value
                if not _same(value, got):
                    errs.append(f"{path.name}: {table} row {r - r1} {key} = {got!r}, expected {value!r}")
    return errs


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="examples to build (default: all in examples/data)")
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: examples/)")
    ap.add_argument("--check", action="store_true", help="only validate the data files")
    args = ap.parse_args(argv)

    fw = framework()
    names = names_in(args.names)
    datas = {n: load(n) for n in names}
    errs = [e for n in names for e in check(n, datas[n], fw)]
    if errs:
        print("\n".join(errs), file=sys.stderr)
        return 1
    if args.check:
        print(f"ok: {len(names)} data files ({', '.join(names)})")
        return 0

    try:
        import xlcheck.fill  # noqa: F401
    except ImportError as exc:
        print(f"cannot build: xlcheck.fill not importable ({exc}); run with PYTHONPATH=src",
              file=sys.stderr)
        return 2
    bad = 0
    for n in names:
        out = build(n, datas[n], args.out)
        problems = verify(out, datas[n])
        for p in problems:
            print(p, file=sys.stderr)
        bad += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
