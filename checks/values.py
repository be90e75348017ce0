"""Values (VAL): required fields, plausible year and dates, numbers that are really numbers,
Excel error values, negative amounts, phone format.

The allowed values of the dropdown columns and the types of the table columns are validated by
the pandera schemas (schemas.py, VAL030–VAL035), many workbooks in one pass.
"""
from __future__ import annotations

import datetime as dt
import math
import re

from xlcheck.model import ErrorValue
from xlcheck.rules import rule

from ._shared import (QUANT_DIRECTIONS, clean_text, direction, fmt_number, fmt_parsed, interface, memo,
                      number, parsed, text_of, where)


@rule("VAL001")
def required_fields(wb, ctx):
    """必填项未填写：部门名称、被评价年度、填报人、联系电话、填报日期、年初预算数、年度预算调整数、
    实际支出数（清单在 interface.toml 的 required 中，可修改）。

    示例：联系电话为空，报“必填项“联系电话”未填写”。
    """
    iface = interface(ctx)
    for name in iface.required:
        cell = wb.names.get(name)
        if cell is not None and cell.blank and not cell.is_error:
            yield ctx.report(cell, value="", expected="必填", label=iface.label(name))


@rule("VAL002", needs=("eval_year",))
def eval_year(wb, ctx):
    """被评价年度应为四位整数年份，在合理范围内（thresholds.toml 的 year_min–year_max），且不晚于今年。

    示例：被评价年度填为“2022年”（文本），报“被评价年度填报为“2022年”：不是数字，应填写 2022”；
    填为 2030 而今年是 2025 年，报“晚于今年，不能评价尚未结束的年度”。
    """
    cell = wb.names["eval_year"]
    v = cell.value
    if cell.blank or cell.is_error:
        return
    lo, hi = int(ctx.thresholds.get("year_min", 2000)), int(ctx.thresholds.get("year_max", 2100))
    this_year = dt.date.today().year
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        p = parsed(cell)
        if p.value is not None and float(p.value).is_integer() and lo <= p.value <= hi:
            problem = f"不是数字，应填写 {int(p.value)}"
            exp = str(int(p.value))
        else:
            problem = "不是四位整数年份"
            exp = "四位年份"
        yield ctx.report(cell, value=clean_text(v), expected=exp, problem=problem)
        return
    if not math.isfinite(v):
        yield ctx.report(cell, value=str(v), expected="四位年份", problem="不是四位整数年份")
    elif not float(v).is_integer():
        yield ctx.report(cell, value=fmt_number(v), expected=str(round(v)), problem="不是整数年份")
    elif not lo <= v <= hi:
        yield ctx.report(cell, value=str(int(v)), expected=f"{lo}–{hi}", problem=f"不在合理范围 {lo}–{hi} 内")
    elif v > this_year:
        yield ctx.report(cell, value=str(int(v)), expected=f"不晚于 {this_year}",
                         problem=f"晚于今年（{this_year} 年），不能评价尚未开始的年度")


# ---------------------------------------------------------------- numbers typed as text

def _number_cells(wb, iface) -> list:
    """Every cell that should hold a number: named number cells and the number columns of tables
    (年度目标值 / 年度实现值 only where 指标方向 is ≥ ≤ =)."""
    out = [cell for cell in map(wb.names.get, iface.number_names) if cell is not None]
    for tname, spec in iface.tables.items():
        t = wb.tables.get(tname)
        if t is None:
            continue
        cols = [h for h in spec.numbers if t.has(h)]
        qcols = [h for h in spec.quantities if t.has(h)] if t.has("指标方向") else []
        for r in t.rows:
            cells = r.cells
            out.extend([cells[h] for h in cols])
            if qcols:
                d = cells.get("指标方向")
                if direction(None if d is None else d.value) in QUANT_DIRECTIONS:
                    out.extend([cells[h] for h in qcols])
    return out


def _text_cells(wb, iface) -> list:
    """(cell, parsed) of the number cells holding text, once for VAL003–VAL006."""
    return memo(wb, "val_text_cells", lambda: [
        (cell, parsed(cell)) for cell in _number_cells(wb, iface)
        if isinstance(cell.value, str) and not cell.is_error])


def _text_numbers(wb, ctx, kind):
    iface = interface(ctx)
    fuzzy_words = ctx.words.get("fuzzy_markers")
    for cell, p in _text_cells(wb, iface):
        if p.kind != kind:
            continue
        if kind == "fuzzy" and fuzzy_words is not None and p.extra not in fuzzy_words:
            continue
        yield ctx.report(cell, value=cell.value.strip(), expected=fmt_parsed(p), loc=where(cell, iface),
                         number=fmt_parsed(p), word=p.extra)


@rule("VAL003")
def text_number(wb, ctx):
    """数字以文本形式存储（如“1,288.38”带千分位逗号、前后有空格、以撇号开头）。

    文本不参与公式计算：依赖它的调整后预算数、完成率等会变成空白。数字单元格只填数字。

    示例：年初预算数填为文本“1,288.38”，报“年初预算数填报为文本“1,288.38”，应输入数字 1288.38”。
    """
    yield from _text_numbers(wb, ctx, "text")


@rule("VAL004")
def fullwidth_number(wb, ctx):
    """数字使用了全角字符（如“９６．０３％”），Excel 不把它当作数字。

    示例：预算完成率填为“９６．０３％”，报“使用了全角字符，应输入半角数字 96.03%”。
    """
    yield from _text_numbers(wb, ctx, "fullwidth")


@rule("VAL005")
def number_with_unit(wb, ctx):
    """数字后带了单位（如“415.32 平方米”“2个”），Excel 不把它当作数字。单位应写在“计量单位”列。

    示例：年度目标值填为“415.32 平方米”，报“带有单位“平方米”，应只输入数字 415.32，单位填在计量单位列”。
    """
    yield from _text_numbers(wb, ctx, "unit")


@rule("VAL006")
def fuzzy_number(wb, ctx):
    """数字单元格填写了模糊数量（如“1000余人次”“超过50场”“近4000”），无法计算完成率。

    模糊用语清单见 words.toml 的 fuzzy_markers。

    示例：年度实现值填为“1000余人次”，报“是模糊数量（“余”），应填写确切数字（如 1000）”。
    """
    yield from _text_numbers(wb, ctx, "fuzzy")


# ---------------------------------------------------------------- errors, signs, formats

_ERROR_HINTS = {
    "#DIV/0!": "除数为 0",
    "#REF!": "公式引用的单元格已被删除",
    "#VALUE!": "参与计算的单元格类型不对（如数字填成了文本）",
    "#NAME?": "公式中有无法识别的名称或函数",
    "#N/A": "公式找不到引用的值",
    "#NUM!": "数值无效或超出范围",
    "#NULL!": "引用的区域没有交集",
    "#SPILL!": "公式结果无法展开",
    "#CALC!": "公式计算出错",
}


def _typed_error(cell) -> bool:
    """An error value the filler put there: typed or pasted, or saved by LibreOffice as a formula
    that is nothing but the error (=#N/A), not one a real formula computed."""
    return isinstance(cell.value, ErrorValue) and (cell.formula is None or cell.formula.strip().startswith("#"))


@rule("VAL007")
def error_values(wb, ctx):
    """单元格中是 Excel 错误值（#DIV/0!、#REF!、#VALUE!、#NAME?、#N/A …），多为从别处粘贴而来。

    检查所有定义名称单元格和各表格的数据行中填写或粘贴的内容。公式单元格不在此列：审核程序
    自行计算公式，不采信公式保存的结果（同一工作簿不论由谁保存，结论相同）；公式被改动、
    名称失效由结构类规则报告。

    示例：预算调整率单元格粘贴成了错误值 #DIV/0!，报“预算调整率显示错误值 #DIV/0!（除数为 0）”。
    """
    iface = interface(ctx)
    seen = set()
    cells = [c for c in wb.names.values() if _typed_error(c)]
    for t in wb.tables.values():
        for r in t.rows:
            cells.extend([c for c in r.cells.values() if _typed_error(c)])
    for cell in cells:
        if id(cell) in seen:
            continue
        seen.add(id(cell))
        v = str(cell.value)
        hint = _ERROR_HINTS.get(v.upper(), "公式计算出错")
        yield ctx.report(cell, value=v, expected="", loc=where(cell, iface), hint=hint)


@rule("VAL008")
def negative_amounts(wb, ctx):
    """金额为负数（年度预算调整数除外，调减可为负数）。任务涉及资金也不得为负数。

    示例：实际支出数填为 -401.42，报“实际支出数为负数 -401.42 万元”。
    """
    iface = interface(ctx)
    cells = [wb.names[n] for n in iface.amounts if n in wb.names and n not in iface.may_be_negative]
    t = wb.tables.get("tasks")
    if t is not None and t.has("涉及资金（万元）"):
        cells.extend(t.column("涉及资金（万元）"))
    for cell in cells:
        v = number(cell)
        if v is not None and v < 0:
            yield ctx.report(cell, value=text_of(cell), expected="≥ 0", loc=where(cell, iface))


_PHONE_SPLIT = re.compile(r"[/、，,;；]|或")
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:0\d{2,3})?[2-9]\d{6,7}(?:(?:转|ext|x|-)\d{1,6})?$")


def phone_ok(text: str) -> bool:
    parts = [p for p in _PHONE_SPLIT.split(text) if p.strip()]
    if not parts:
        return False
    for p in parts:
        s = re.sub(r"[\s()（）]", "", p)
        s = re.sub(r"^(0\d{2,3})-", r"\1", s)
        if not (_MOBILE.match(s) or _LANDLINE.match(s)):
            return False
    return True


@rule("VAL009", needs=("preparer_phone",))
def phone_format(wb, ctx):
    """联系电话格式看起来不对：应为手机号（11 位）或含区号的固定电话（如 020-12345678），
    多个号码可用“/”或顿号分隔。

    示例：联系电话填为“12345”，提示“联系电话“12345”格式可能有误”。
    """
    cell = wb.names["preparer_phone"]
    if cell.blank or cell.is_error:
        return
    v = cell.value
    text = str(int(v)) if isinstance(v, float) and v.is_integer() else clean_text(v)
    if not phone_ok(text):
        yield ctx.report(cell, value=text, expected="手机号或 区号-电话号码")


@rule("VAL010")
def integer_counts(wb, ctx):
    """单位数、纳入自评的一级/二级项目数应为整数，且不小于规定的最小值（单位数至少为 1）。

    示例：单位数填为 0，报“单位数应为不小于 1 的整数，现为 0”。
    """
    iface = interface(ctx)
    for name, minimum in iface.counts.items():
        cell = wb.names.get(name)
        if cell is None or isinstance(cell.value, bool) or not isinstance(cell.value, (int, float)):
            continue  # blanks are allowed; text is VAL003–VAL006's
        v = cell.value
        if not float(v).is_integer() or v < minimum:
            yield ctx.report(cell, value=fmt_number(v), expected=f"≥ {minimum} 的整数", label=iface.label(name),
                             minimum=minimum)


@rule("VAL011", needs=("fill_date",))
def fill_date(wb, ctx):
    """填报日期应为日期，且不早于被评价年度开始、不晚于今天。

    示例：2023 年度的自评表，填报日期为 2022-03-10（沿用了上年的表），报“填报日期 2022-03-10 早于被评价年度 2023 年”。
    """
    cell = wb.names["fill_date"]
    if cell.blank or cell.is_error:
        return
    v = cell.value
    if isinstance(v, dt.datetime):
        d = v.date()
    elif isinstance(v, dt.date):
        d = v
    else:
        yield ctx.report(cell, value=clean_text(v), expected="日期", problem="不是日期，请按 2024-03-15 的格式填写")
        return
    year = number(wb.names.get("eval_year"))
    shown = d.isoformat()
    if year is not None and float(year).is_integer() and d.year < int(year):
        yield ctx.report(cell, value=shown, expected=f"不早于 {int(year)}-01-01",
                         problem=f"早于被评价年度 {int(year)} 年，可能沿用了以前年度的表格")
    elif d > dt.date.today():
        yield ctx.report(cell, value=shown, expected=f"不晚于 {dt.date.today().isoformat()}", problem="晚于今天")


# ---------------------------------------------------------------- completeness (SPEC 3)

def _first_cell(t, header: str) -> dict:
    """Where a finding about an empty (part of a) table points: its first data cell of `header`."""
    col = t.headers.index(header) if header in t.headers else 0
    from xlcheck.ooxml import col_letters
    return dict(sheet=t.sheet, cell=f"{col_letters(t.first_col + col)}{t.header_row + 1}",
                field=f"{t.name}.{t.headers[col]}", row=1)


@rule("VAL040", needs=("tasks",))
def no_tasks(wb, ctx):
    """“年度主要任务”表至少填写一项任务：没有任务，审核人无从判断部门做了什么。

    示例：年度主要任务表一行也没有填写。
    """
    t = wb.tables["tasks"]
    if not t.rows:
        yield ctx.report(None, value="", expected="至少一项任务", **_first_cell(t, "任务名称"))


@rule("VAL041", needs=("indicators",))
def no_indicators(wb, ctx):
    """“绩效指标”表至少填写产出指标和效益指标各一项：自评的产出、效益得分依据这些指标。

    示例：绩效指标表为空；或只有效益指标，没有一项产出指标。
    """
    t = wb.tables["indicators"]
    kinds = {clean_text(r.value("一级指标")) for r in t.rows}
    for kind in ctx.thresholds.get("required_indicator_kinds", ("产出指标", "效益指标")):
        if kind not in kinds:
            yield ctx.report(None, value="", expected=f"至少一项{kind}", kind=kind,
                             **_first_cell(t, "一级指标"))
