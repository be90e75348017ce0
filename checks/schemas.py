"""pandera schemas of the four tables (VAL030–VAL035), declared from interface.toml.

Each table's schema is declarative: allowed values per column, the 二级指标 allowed for the row's
一级指标, number columns, required cells. Every check carries the id of the rule it reports under
(check name "VAL031" or "VAL034|年度目标值"), so each rule keeps its own severity and text.

The CLI validates each chunk of a run at once: the chunk's rows of a table become one DataFrame
(with the workbook's index and the row as hidden columns), validated with lazy=True;
`SchemaErrors.failure_cases` say which check failed in which column and become findings at the
exact cell. The six rules share that one validation (the batch's memo).

A single open book (the Excel button, xlwings Lite, the service) evaluates the same declared checks
row by row: xlwings Lite has no pandas, and pandera's import alone costs most of the add-in's
one-second budget. tests/test_schemas.py holds both evaluators to the same findings.

Not here, to avoid duplicates: 自评得分's range and non-numeric 自评得分 (PTS004/PTS005); text that is a
number with commas, full-width digits, units or fuzzy words (VAL003–VAL006); error values (VAL007);
a problem row without 改进措施 (EXP012).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from xlcheck.model import ErrorValue
from xlcheck.numbers import parse_number
from xlcheck.rules import rule

from ._shared import QUAL, QUANT_DIRECTIONS, clean_text, direction, interface, where

WB = "_wb"


# ---------------------------------------------------------------- predicates (pre-screen and pandera)

def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def is_number_like(v) -> bool:
    """A number, or text that reads as one (VAL003–VAL006 report the text forms)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return parse_number(v).kind != "none" if isinstance(v, str) else False


@dataclass(frozen=True)
class ElementCheck:
    rule: str
    column: str
    ok: Callable[[object], bool]          # on non-blank values


@dataclass(frozen=True)
class RowCheck:
    rule: str
    column: str                           # the cell the finding points at
    ok: Callable[[dict], bool]            # on the whole row {header: value}


@dataclass(frozen=True)
class TableSchema:
    table: str
    columns: tuple[str, ...]              # columns the schema reads (all must exist)
    elements: tuple[ElementCheck, ...]
    rows: tuple[RowCheck, ...]
    required: tuple[str, ...]


def table_schemas(iface) -> list[TableSchema]:
    """The declarative content of the four schemas, from interface.toml."""
    levels = iface.levels
    dirs = set(iface.directions)
    status = set(iface.task_status)

    def l2_ok(row):
        l1, l2 = clean_text(row.get("一级指标")), row.get("二级指标")
        if l1 not in levels or _blank(l2):
            return True
        return clean_text(l2) in levels[l1]

    def quantity_ok(col):
        def ok(row):
            v = row.get(col)
            return _blank(v) or direction(row.get("指标方向")) not in QUANT_DIRECTIONS or is_number_like(v)
        return ok

    def qual_rate_given(row):
        return direction(row.get("指标方向")) != QUAL or not _blank(row.get("完成率"))

    out = []
    ind = iface.tables.get("indicators")
    if ind is not None:
        out.append(TableSchema(
            "indicators", ("一级指标", "二级指标", "指标方向", "年度目标值", "年度实现值", "完成率",
                           *[h for h in ind.required if h not in ("一级指标", "二级指标", "指标方向", "年度目标值", "年度实现值")]),
            (ElementCheck("VAL030", "一级指标", lambda v: clean_text(v) in levels),
             ElementCheck("VAL032", "指标方向", lambda v: direction(v) in dirs),
             ElementCheck("VAL034", "完成率", is_number_like)),
            (RowCheck("VAL031", "二级指标", l2_ok),
             RowCheck("VAL034", "年度目标值", quantity_ok("年度目标值")),
             RowCheck("VAL034", "年度实现值", quantity_ok("年度实现值")),
             RowCheck("VAL035", "完成率", qual_rate_given)),
            ind.required))
    tasks = iface.tables.get("tasks")
    if tasks is not None:
        cols = tuple(dict.fromkeys(("完成状态", *tasks.numbers, *tasks.required)))
        out.append(TableSchema(
            "tasks", cols,
            (ElementCheck("VAL033", "完成状态", lambda v: clean_text(v) in status),
             *(ElementCheck("VAL034", h, is_number_like) for h in tasks.numbers)),
            (), tasks.required))
    scores = iface.tables.get("scores")
    if scores is not None and scores.required:
        out.append(TableSchema("scores", scores.required, (), (), scores.required))
    problems = iface.tables.get("problems")
    if problems is not None and problems.required:
        out.append(TableSchema("problems", problems.required, (), (), problems.required))
    return out


# ---------------------------------------------------------------- frames

def _rows(workbooks, schema: TableSchema):
    """(workbook index, TableRow, {column: value}) of every table row of the batch."""
    for i, wb in enumerate(workbooks):
        t = wb.tables.get(schema.table)
        if t is None or not all(t.has(c) for c in schema.columns):
            continue   # STR006 / STR007 report the missing table or column
        columns = schema.columns
        for r in t.rows:
            cells = r.cells
            vals = {}
            for c in columns:   # errors (VAL007's) and blank text count as empty; runs for every cell of the batch
                cell = cells.get(c)
                v = None if cell is None else cell.value
                if v is not None and (isinstance(v, ErrorValue) or isinstance(v, str) and not v.strip()):
                    v = None
                vals[c] = v
            yield i, r, vals


def _pandera_schema(schema: TableSchema):
    import pandera.pandas as pa
    columns = {}
    for c in schema.columns:
        checks = [pa.Check(e.ok, element_wise=True, ignore_na=True, name=f"{e.rule}|{e.column}")
                  for e in schema.elements if e.column == c]
        columns[c] = pa.Column(object, checks=checks, nullable=c not in schema.required, coerce=False)
    columns[WB] = pa.Column(int)
    wide = [pa.Check(lambda df, ok=rc.ok: _row_check(df, schema.columns, ok), name=f"{rc.rule}|{rc.column}")
            for rc in schema.rows]
    return pa.DataFrameSchema(columns, checks=wide, strict=False)


def _row_check(df, columns, ok):
    """A cross-column predicate over every row ({column: value} as the row checks expect)."""
    import pandas as pd
    cols = [df[c].tolist() for c in columns]
    return pd.Series([bool(ok(dict(zip(columns, vals)))) for vals in zip(*cols)], index=df.index)


def _direct(schema: TableSchema, rows, out: dict) -> None:
    """The schema's checks evaluated row by row (same predicates, same results as pandera)."""
    for i, r, vals in rows:
        for c in schema.columns:
            if c in schema.required and vals.get(c) is None:
                out.setdefault("VAL035", []).append((i, r, c, None))
            for e in schema.elements:
                if e.column == c and vals.get(c) is not None and not e.ok(vals[c]):
                    out.setdefault(e.rule, []).append((i, r, c, vals[c]))
        for rc in schema.rows:
            if not rc.ok(vals):
                out.setdefault(rc.rule, []).append((i, r, rc.column, vals.get(rc.column)))


def validate_batch(workbooks, iface, *, engine: str | None = None) -> dict[str, list]:
    """{rule id: [(workbook index, TableRow, column, value)]} for the whole batch.

    engine "pandera" (default for several workbooks) or "direct" (default for one: see above)."""
    out: dict[str, list] = {}
    if engine is None:
        engine = "pandera" if len(workbooks) > 1 else "direct"
    for schema in table_schemas(iface):
        rows = list(_rows(workbooks, schema))
        if not rows:
            continue
        if engine == "direct":
            _direct(schema, rows, out)
            continue
        import pandas as pd
        import pandera.pandas as pa
        df = pd.DataFrame({c: pd.Series([v[c] for _, _, v in rows], dtype=object) for c in schema.columns})
        df[WB] = [i for i, _, _ in rows]
        try:
            _pandera_schema(schema).validate(df, lazy=True)
            continue
        except pa.errors.SchemaErrors as e:
            fc = e.failure_cases
        seen = set()
        for rec in fc.itertuples(index=False):
            check, idx, col = str(rec.check), rec.index, rec.column
            if idx is None or (isinstance(idx, float) and idx != idx):
                continue
            if check == "not_nullable":
                rid, column = "VAL035", col
            elif "|" in check:
                rid, column = check.split("|", 1)
            else:
                continue
            key = (rid, column, int(idx))
            if key in seen:
                continue
            seen.add(key)
            i, r, vals = rows[int(idx)]
            out.setdefault(rid, []).append((i, r, column, vals.get(column)))
    for found in out.values():   # the order the direct evaluator gives: by workbook, then row
        found.sort(key=lambda x: (x[0], x[1].index))
    return out


def _results(workbooks, ctx) -> dict[str, list]:
    """The batch's validation, run once for the six VAL03x rules (shared through ctx.batch_memo)."""
    key = ("schemas", tuple(id(wb) for wb in workbooks))
    res = ctx.batch_memo.get(key)
    if res is None:
        res = ctx.batch_memo[key] = validate_batch(workbooks, interface(ctx))
    return res


# ---------------------------------------------------------------- messages

def _params(rid, wb, r, column, value, iface):
    cell = r.get(column)
    shown = clean_text(value)
    base = dict(value=shown, row=r.index, loc=where(cell, iface))
    if rid == "VAL030":
        return cell, dict(base, expected="、".join(iface.levels), allowed="、".join(iface.levels))
    if rid == "VAL031":
        l1 = clean_text(r.value("一级指标"))
        allowed = "、".join(iface.levels.get(l1, ()))
        return cell, dict(base, expected=allowed, allowed=allowed, level1=l1)
    if rid == "VAL032":
        return cell, dict(base, expected="、".join(iface.directions), allowed="、".join(iface.directions))
    if rid == "VAL033":
        return cell, dict(base, expected="、".join(iface.task_status), allowed="、".join(iface.task_status))
    if rid == "VAL034":
        hint = "只填数字。"
        if column in ("年度目标值", "年度实现值"):
            d = direction(r.value("指标方向"))
            hint = f"指标方向为“{d}”时目标值和实现值应填写数字（单位填在计量单位列）；无法量化的指标请将指标方向选为“定性”。"
        elif column == "完成率":
            hint = "完成率应为百分比数字（如 100%）。"
        return cell, dict(base, expected="数字", hint=hint)
    if rid == "VAL035":
        hint = ""
        if column == "完成率":
            hint = "定性指标的完成率由填报人填写（达成填 100%）。"
        elif column in ("年度目标值", "年度实现值"):
            hint = "没有目标值就无法计算完成率。"
        return cell, dict(base, value="", expected="必填", hint=hint)
    return cell, base


def _findings(workbooks, ctx):
    iface = interface(ctx)
    for i, r, column, value in _results(workbooks, ctx).get(ctx.rule.id, ()):
        cell, params = _params(ctx.rule.id, workbooks[i], r, column, value, iface)
        yield i, ctx.report(cell, **params)


@rule("VAL030", scope="batch")
def level1_allowed(workbooks, ctx):
    """绩效指标的一级指标应为 产出指标、效益指标、满意度指标 之一（interface.toml 的 choices.levels）。
    （pandera 表结构校验，一批工作簿一次完成。）

    示例：一级指标填为“产出”，报“一级指标填报为“产出”，应为 产出指标、效益指标、满意度指标 之一”。
    """
    yield from _findings(workbooks, ctx)


@rule("VAL031", scope="batch")
def level2_allowed(workbooks, ctx):
    """绩效指标的二级指标应属于该行的一级指标：产出指标下为数量、质量、时效、成本指标；效益指标下为
    经济效益、社会效益、生态效益、可持续影响指标；满意度指标下为服务对象满意度指标。（pandera）

    示例：一级指标“产出指标”、二级指标“社会效益指标”，报“二级指标不属于一级指标“产出指标””。
    """
    yield from _findings(workbooks, ctx)


@rule("VAL032", scope="batch")
def direction_allowed(workbooks, ctx):
    """绩效指标的指标方向应为 ≥、≤、=、定性 之一（也接受 >=、<=）。（pandera）

    示例：指标方向填为“增加”，报“指标方向填报为“增加”，应为 ≥、≤、=、定性 之一”。
    """
    yield from _findings(workbooks, ctx)


@rule("VAL033", scope="batch")
def status_allowed(workbooks, ctx):
    """年度主要任务的完成状态应为 完成、部分完成、未完成 之一。（pandera）

    示例：完成状态填为“基本完成”，报“完成状态填报为“基本完成”，应为 完成、部分完成、未完成 之一”。
    """
    yield from _findings(workbooks, ctx)


@rule("VAL034", scope="batch")
def numbers_are_numbers(wb_list, ctx):
    """数字列填写了完全不是数字的内容：任务涉及资金、指标完成率，以及指标方向为 ≥ ≤ = 时的年度目标值和
    年度实现值。（带单位、千分位、全角或模糊用语的数字由 VAL003–VAL006 报告；自评得分由 PTS 规则检查。）

    示例：指标方向 ≥ 的行，年度目标值填为“合格”，报“不是数字……无法量化的指标请将指标方向选为“定性””。
    """
    yield from _findings(wb_list, ctx)


@rule("VAL035", scope="batch")
def table_required(workbooks, ctx):
    """表格中每一行的必填项：任务的任务名称、完成状态；指标的一级指标、二级指标、三级指标、指标方向、
    年度目标值、年度实现值，定性指标的完成率；问题清单的存在的主要问题（清单见 interface.toml）。（pandera）

    示例：指标“参加线上线下学习活动”没有年度目标值，报““绩效指标”第 1 行“年度目标值”未填写。没有目标值就无法计算完成率”。
    """
    yield from _findings(workbooks, ctx)
