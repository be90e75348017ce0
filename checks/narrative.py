"""Narrative (TXT): what the texts say against the evaluated year and the tables."""
from __future__ import annotations

from xlcheck.numbers import format_amount, parse_number
from xlcheck.rules import rule

from ._text import (budget_adjusted_interval, budget_rate_interval, cell_interval, fmt_rate, is_placeholder,
                    meaningful_chars, memo,
                    stated_figures, stray_years)

# table columns holding free text written for this year's report
TEXT_COLUMNS = (
    ("scores", "扣分原因"), ("scores", "改进措施"),
    ("indicators", "偏差原因"), ("indicators", "改进措施"),
    ("tasks", "目标完成情况"), ("tasks", "指标完成情况"), ("tasks", "未完成原因"),
    ("problems", "存在的主要问题"), ("problems", "改进措施"),
)
FIELD_LABELS = {
    "text_duties": "部门职能", "text_work": "年度总体工作和重点工作任务", "text_goal": "部门整体支出绩效目标",
    "text_finance": "部门整体收支情况", "text_management": "部门整体绩效管理情况",
    "text_conclusion": "自评结论", "text_effectiveness": "履职效能分析", "text_efficiency": "管理效率分析",
    "budget_note": "预算执行情况说明",
}


# a task row's texts state the task's (a project's) own budget and execution, not the department's
FIGURE_SKIP_TABLES = ("tasks",)


def text_cells(wb, skip_tables=()):
    """(label, cell) of every free-text cell: text_* names, budget_note, explanation columns."""
    for label, c, table in memo(wb, "txt_text_cells", lambda: list(_text_cells(wb))):
        if table not in skip_tables:
            yield label, c


def _text_cells(wb):
    """(label, cell, table or None) of every free-text cell (TXT001 and TXT002 walk the same)."""
    for name in sorted(wb.names):
        if name.startswith("text_") or name == "budget_note":
            c = wb.names[name]
            if isinstance(c.value, str) and c.value.strip():
                yield FIELD_LABELS.get(name, name), c, None
    for table, col in TEXT_COLUMNS:
        t = wb.tables.get(table)
        if t is None or not t.has(col):
            continue
        for r in t.rows:
            c = r.cells.get(col)
            if c is not None and isinstance(c.value, str) and c.value.strip():
                yield f"{col}（第 {r.index} 行）", c, table


def _eval_year(wb) -> int | None:
    v = parse_number(wb.value("eval_year")).value
    return int(v) if v is not None and float(v).is_integer() else None


@rule("TXT001", needs=("eval_year",))
def stray_year(wb, ctx):
    """文字中写的年度与被评价年度不一致：多半是从上年报告复制而来。只报告叙述本年度情况的写法——
    年份出现在句首或分句首（如“2022 年各项工作任务…”“2022年，…”“2022年部门…”）；年份区间
    （2020—2021年度）、奖项名称（荣获2021年度…“四好”商会）、写明月份的事件（于2022年1月举行）
    和“××年以来”不报。

    示例：2023 年度的履职效能分析写“2022 年各项工作任务按照年初制定的计划稳步推进”。
    """
    year = _eval_year(wb)
    if year is None:
        return
    for label, c in text_cells(wb):
        found = stray_years(c.value, year)
        if not found:
            continue
        years = "、".join(sorted({f"{m.year} 年" for m in found}))
        quotes = "；".join(f"“{m.excerpt}”" for m in found[:3])
        yield ctx.report(c, value=found[0].excerpt, expected=f"{year} 年", label=label, years=years,
                         quotes=quotes, year=year)


def _table_figures(wb):
    """kind → (interval, how the table gives it: a function building the text, called on a mismatch)."""
    out = {}
    for kind, name, label in (("budget_initial", "budget_initial", "年初预算数"),
                              ("spend_actual", "spend_actual", "实际支出数")):
        c = wb.names.get(name)
        iv = cell_interval(c) if c is not None else None
        if iv is not None:
            out[kind] = (iv, lambda label=label, c=c: f"{label} {c.text} 万元")
    adj = budget_adjusted_interval(wb)
    if adj is not None:
        out["budget_adjusted"] = (adj, lambda: f"调整后预算数 {fmt_rate_amount(adj)} 万元")
    rate = budget_rate_interval(wb)
    if rate is not None:
        out["rate"] = (rate, lambda: f"预算完成率为 {fmt_rate(rate)}（实际支出 {wb.names['spend_actual'].text} 万元 / "
                                     f"调整后预算 {fmt_rate_amount(adj)} 万元）")
    return out


def fmt_rate_amount(iv) -> str:
    return format_amount(iv.mid)


def _stated(wb):
    return [(label, c, stated_figures(c.value)) for label, c in text_cells(wb, FIGURE_SKIP_TABLES)]


def _mismatches(wb, kinds):
    table = memo(wb, "txt_table_figures", lambda: _table_figures(wb))
    for label, c, figures in memo(wb, "txt_stated", lambda: _stated(wb)):
        bad = []
        for st in figures:
            if st.kind not in kinds or st.kind not in table:
                continue
            iv, how = table[st.kind]
            if not st.interval.intersects(iv):
                bad.append((st, how()))
        if bad:
            yield label, c, bad


@rule("TXT002", needs=("spend_actual",))
def stated_amounts(wb, ctx):
    """文字中写明的部门预算数、支出数（执行数、决算收入）须与表内数字一致（按所写位数判断）。
    只核对能确定所指的写法：预算数/预算收入/年初预算数、支出数/执行数/决算收入；
    讲某个项目、上年或某一资金来源（一般公共预算、基本支出……）的数字不核对，年度主要任务表中
    各任务自己的预算执行数字也不核对。

    示例：部门整体收支情况写“全年预算数 5529.51 万元，支出数 5529.94 万元”，表内实际支出数为 5529.49 万元。
    """
    for label, c, bad in _mismatches(wb, ("budget_initial", "budget_adjusted", "spend_actual")):
        st, how = bad[0]
        detail = "；".join(f"写明{s.label} {s.text} 万元，表内{h}" for s, h in bad)
        yield ctx.report(c, value=f"{st.label} {st.text} 万元", expected=how, label=label, detail=detail)


@rule("TXT003", needs=("spend_actual",))
def stated_rate(wb, ctx):
    """文字中写明的预算执行率（完成率、支出率、“完成预算的 X%”）须与实际支出数 / 调整后预算数一致
    （按所写位数判断：5529.49 / 5529.51 写作 100% 相符，1288.38 / 1291.73 写作 99.7% 相符）。

    示例：写“完成当年预算的 96.5%”，表内实际支出 401.42 万元 / 调整后预算 418.03 万元 = 96.03%。
    """
    for label, c, bad in _mismatches(wb, ("rate",)):
        st, how = bad[0]
        detail = "；".join(f"写明{s.label} {s.text}，表内{h}" for s, h in bad)
        yield ctx.report(c, value=f"{st.label} {st.text}", expected=how, label=label, detail=detail)


NARRATIVE_FIELDS = ("text_duties", "text_work", "text_goal", "text_finance", "text_management",
                    "text_effectiveness", "text_efficiency", "text_conclusion")


@rule("TXT010")
def narrative_missing(wb, ctx):
    """报告的每一部分文字（部门职能、年度工作、绩效目标、收支情况、绩效管理、履职效能分析、
    管理效率分析、自评结论）都须写明实际内容：不能空着，不能是占位文字（words.toml 的
    placeholders），也不能少于 thresholds.toml 的 min_narrative_chars 个字。

    示例：“自评结论”为空；“管理效率分析”只写了“略”。
    """
    need = int(ctx.thresholds.get("min_narrative_chars", 20))
    ph = ctx.words.get("placeholders", ())
    for name in NARRATIVE_FIELDS:
        c = wb.names.get(name)
        if c is None or c.is_error:
            continue
        text = c.value if isinstance(c.value, str) else ("" if c.blank else c.text)
        if not text.strip():
            problem = "未填写"
        elif is_placeholder(text, ph):
            problem = f"只写了“{text.strip()}”"
        elif meaningful_chars(text) < need:
            problem = f"只有 {meaningful_chars(text)} 个字（至少 {need} 个字）"
        else:
            continue
        yield ctx.report(c, value=text.strip(), expected=f"至少 {need} 个字的实际内容",
                         label=FIELD_LABELS.get(name, name), problem=problem)
