"""Structure (STR): is this the standard template, intact?

Version known; sheets, defined names and tables present; table headers intact; computed cells
still formulas; no data typed outside the tables. The runner skips every other rule whose
`needs` are missing, so these rules are the ones that report a missing piece, once.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import xlcheck
from xlcheck import formulas
from xlcheck.ooxml import col_letters, range_bounds
from xlcheck.numbers import format_shown
from xlcheck.reader import normalize_header
from xlcheck.rules import rule

from ._shared import QUAL, clean_text, direction, fmt_amount, fmt_rate, interface, reported_text, text_of

ADVICE = "请使用最新模板重新填报"
# an older template: say exactly what to do (the data can be copied over, nothing is lost)
OLD_ADVICE = "请向财政局索取最新模板，把本表数据逐项复制到新模板后重新校验"


def _current() -> str:
    return xlcheck.TEMPLATE_VERSION


def _version_key(v: str):
    parts = re.findall(r"\d+", v)
    return tuple(int(p) for p in parts) if parts else None


def _is_foreign(wb, iface) -> bool:
    """Nothing of the template is there: not a workbook made from it at all."""
    return not any(n in wb.names for n in iface.names) and not any(t in wb.tables for t in iface.tables)


def _version_cell(wb):
    c = wb.names.get("template_version")
    return c if c is not None and c.sheet else None


@rule("STR001")
def version_missing(wb, ctx):
    """工作簿没有模板版本号（定义名称 template_version 缺失或为空）。

    标准模板在“填报说明”工作表中写有模板版本号。没有版本号，说明工作簿不是用标准模板制作的，
    或版本号被删除了；检查工具无法确认其结构，不作猜测。

    示例：把旧的 Word 表格另存为 Excel 报送，或从模板复制内容到新建的工作簿，即报此错误：
    请使用最新模板（当前为 1.1 版）重新填报。
    """
    iface = interface(ctx)
    v = wb.template_version
    if v:
        return
    detail = ("，也找不到模板中的任何定义名称和表格：这不是用标准模板填报的工作簿" if _is_foreign(wb, iface)
              else "，无法确认是否使用标准模板填报")
    yield ctx.report(_version_cell(wb), value="", expected=_current(), current=_current(), detail=detail,
                     field="template_version", advice=ADVICE)


@rule("STR002")
def version_unknown(wb, ctx):
    """模板版本号无法识别（不是已知的任何版本）。

    已知版本列在检查规则目录的 interface.toml 中。版本号比本工具认识的最新版本还新时，
    请升级 xlcheck；否则请使用最新模板重新填报。

    示例：版本号为“0.9-草稿”，报“模板版本“0.9-草稿”无法识别”，请使用最新模板（当前为 1.1 版）重新填报。
    """
    iface = interface(ctx)
    v = wb.template_version
    if not v or v in iface.versions:
        return
    cur = _current()
    kv, kc = _version_key(v), _version_key(cur)
    if kv is not None and kc is not None and kv < kc:
        return  # an older version: STR003 says what to do
    if kv is not None and kc is not None and kv > kc:
        advice = f"该版本比本工具支持的最新模板（{cur} 版）更新，请升级 xlcheck 后再审核"
    else:
        advice = f"{ADVICE}（当前模板为 {cur} 版）"
    yield ctx.report(_version_cell(wb), value=v, expected=cur, known="、".join(iface.versions),
                     current=cur, advice=advice, field="template_version")


@rule("STR003")
def version_old(wb, ctx):
    """工作簿使用的是旧版模板。

    旧版模板的结构、公式或下拉选项可能与当前规则不一致，检查结果不可靠。

    任何低于当前版本的版本号都算旧版（不论是否列在 interface.toml 中）。

    示例：当前模板为 2.0 版，工作簿的模板版本为 1.0，报“使用的是旧版模板 1.0”：请向财政局索取最新模板，
    把本表数据逐项复制到新模板后重新校验。
    """
    v, cur = wb.template_version, _current()
    if not v or v == cur or v in interface(ctx).compatible:
        return
    kv, kc = _version_key(v), _version_key(cur)
    if kv is None or kc is None or kv >= kc:
        return  # unreadable or newer versions are STR002's; a newer known version is fine
    yield ctx.report(_version_cell(wb), value=v, expected=cur, current=cur, advice=OLD_ADVICE,
                     field="template_version")


@rule("STR013")
def version_compatible(wb, ctx):
    """工作簿使用的旧版模板与当前版本数据结构相同：照常审核，提示有新模板。

    interface.toml 的 [compatible] 列出这样的旧版本（工作表、定义名称、表格、公式都与当前版本相同，
    只少了新增的功能），并写明新模板多了什么。已按旧版填好的工作簿不必重新誊写。

    示例：当前模板为 1.1 版，工作簿为 1.0 版，提示“新模板增加了“自查”表……下次填报请使用 1.1 版”。
    """
    v = wb.template_version
    news = interface(ctx).compatible.get(v) if v else None
    if news is not None and v != _current():
        yield ctx.report(_version_cell(wb), value=v, expected=_current(), current=_current(), news=news,
                         field="template_version")


def _missing_sheets(wb, iface):
    return [s for s in iface.sheets if s not in wb.sheets]


@rule("STR004")
def missing_sheet(wb, ctx):
    """模板的工作表被删除（或改名后其中的定义名称、表格失效）。

    每个缺失的工作表只报一次，并列出随之缺失的定义名称和表格（这些不再单独报告）。
    工作表改名而其中的定义名称和表格都还能找到时不报告：检查不依赖工作表名称。

    示例：“绩效指标”工作表被改名为“指标”，报“缺少工作表“绩效指标”（其中的表格 indicators 也随之缺失）”。
    """
    iface = interface(ctx)
    if _is_foreign(wb, iface):
        return
    for sheet in _missing_sheets(wb, iface):
        lost = [p for p in iface.sheets[sheet] if p not in wb.names and p not in wb.tables]
        if not lost:
            continue   # renamed, everything still found
        items = "、".join(_piece_label(p, iface) for p in lost)
        detail = f"（其中的{items}也随之缺失）"
        yield ctx.report(None, value="", expected=sheet, sheet_name=sheet, detail=detail)


def _piece_label(p, iface) -> str:
    if p in iface.tables:
        return f"表格“{iface.tables[p].label}”（{p}）"
    return f"“{iface.label(p)}”（{p}）"


def _covered_by_missing_sheet(p, wb, iface) -> bool:
    s = iface.sheet_of(p)
    return s is not None and s not in wb.sheets


@rule("STR005")
def missing_name(wb, ctx):
    """模板的定义名称缺失或失效（如指向的单元格被删除，显示 #REF!）。

    检查工具通过定义名称找到每个单元格，不依赖固定地址；名称缺失时，相关的检查无法进行。

    示例：删除了“基本信息”中年初预算数所在的行，名称 budget_initial 变为 #REF!，
    报“定义名称 budget_initial（年初预算数）失效：定义名称指向的单元格已被删除（#REF!）”。
    """
    iface = interface(ctx)
    if _is_foreign(wb, iface):
        return
    problems = {p.name: p.detail for p in wb.problems if p.kind == "name"}
    for name in iface.names:
        if name in wb.names or name == "template_version":  # the version is STR001's
            continue
        if _covered_by_missing_sheet(name, wb, iface):
            continue
        detail = problems.get(name, "工作簿中没有这个定义名称")
        yield ctx.report(None, value="", expected=name, name=name, label=iface.label(name), detail=detail,
                         field=name)


@rule("STR006")
def missing_table(wb, ctx):
    """模板的表格（Excel 表格 / ListObject）缺失或区域无效。

    检查工具按表格名称读取任务、指标、评分、问题各表；表格被删除或转换为普通区域后无法检查。

    示例：对“绩效指标”表格执行了“转换为区域”，报“缺少表格 indicators（绩效指标）”。
    """
    iface = interface(ctx)
    if _is_foreign(wb, iface):
        return
    problems = {p.name: p.detail for p in wb.problems if p.kind == "table"}
    for name, t in iface.tables.items():
        if name in wb.tables or _covered_by_missing_sheet(name, wb, iface):
            continue
        renamed = next((o for o in wb.tables.values() if o.name not in iface.tables
                        and all(o.has(h) for h in t.headers)), None)
        if renamed is not None:   # still there with the template's headers: say how to put it right
            detail = f"它在工作表“{renamed.sheet}”中被改名为“{renamed.name}”"
            advice = f"请在“表格设计 → 表名称”中改回 {name} 后重新校验"
            sheet = renamed.sheet
        else:
            detail = problems.get(name, "工作簿中没有这个表格（可能被删除或转换为普通区域）")
            advice = "请使用最新模板重新填报"
            sheet = iface.sheet_of(name)
        yield ctx.report(None, value="", expected=name, name=name, label=t.label, detail=detail,
                         advice=advice, sheet=sheet)


@lru_cache(maxsize=64)
def _normalized_headers(headers: tuple) -> list[str]:
    return [normalize_header(h) for h in headers]


@rule("STR007")
def headers(wb, ctx):
    """表格的列标题被修改或删除。

    列标题是模板的接口，检查和汇总按标题找列；改名或删除的列无法检查。增加的列不影响检查。

    示例：“绩效指标”表的“年度实现值”被改为“实际完成值”，报“第 7 列标题“实际完成值”应为“年度实现值””。
    """
    iface = interface(ctx)
    for name, spec in iface.tables.items():
        t = wb.tables.get(name)
        if t is None:
            continue
        want = _normalized_headers(spec.headers)
        got = list(t.headers)
        pos = {h: i for i, h in enumerate(got)}
        prev = -1
        for h in want:
            if h in pos:
                prev = pos[h]
                continue
            i = prev + 1
            col = t.first_col + i
            if i < len(got) and got[i] not in want:
                yield ctx.report(None, value=got[i], expected=h, table=spec.label, n=i + 1,
                                 problem=f"第 {i + 1} 列标题“{got[i]}”应为“{h}”",
                                 sheet=t.sheet, cell=f"{col_letters(col)}{t.header_row}", field=f"{name}.{h}")
                prev = i
            else:
                col = t.first_col + min(i, len(got))
                yield ctx.report(None, value="", expected=h, table=spec.label, n=i + 1,
                                 problem=f"缺少列“{h}”",
                                 sheet=t.sheet, cell=f"{col_letters(col)}{t.header_row}", field=f"{name}.{h}")


# ---------------------------------------------------------------- computed cells

def _formula_values(wb, ctx) -> dict:
    """What each named formula computes from the inputs as they are now (point values)."""
    values = {n: c.value for n, c in wb.names.items()}
    scores = wb.tables.get("scores")
    col = list(scores.column("自评得分")) if scores is not None and scores.has("自评得分") else []
    try:
        fw = ctx.framework
    except Exception:  # a broken framework file must not hide this finding
        fw = None
    return formulas.compute_names(values, [c.value for c in col], framework=fw) if fw else \
        formulas.compute_names(values, [c.value for c in col], formulas=[f for f in formulas.FORMULA_NAMES if f != "grade"])


def _compare(cell, expected: str, v, rate: bool) -> tuple[str, str]:
    """(expected, comparison) for a typed constant over a formula: "按公式应为 0.05%"; or, when the
    typed number equals the formula's, or reads the same at its shown decimals, say so and what
    still matters (never "填入 96.03%；应为 96.03%" nor "填入 100%；应为 100.00%")."""
    typed = cell.value
    if not (isinstance(v, (int, float)) and isinstance(typed, (int, float)) and not isinstance(typed, bool)):
        return expected, f"按公式应为 {expected}"
    if math.isclose(typed, v, rel_tol=1e-12, abs_tol=1e-12):
        return expected, "与公式结果相同，但手填的数不会随输入更新"
    shown = reported_text(cell)
    decimals = len(shown.rstrip("%").partition(".")[2]) if shown[-1:].isdigit() or shown.endswith("%") else None
    if decimals is not None and format_shown(v, decimals, rate) == shown:
        precise = fmt_rate(v, max(2, decimals + 1)) if rate else format_shown(v, decimals + 2, False)
        return precise, f"按公式为 {precise}，显示到 {decimals} 位小数时两者相同，但手填的数不会随输入更新"
    return expected, f"按公式应为 {expected}"


def _show(name, v, iface) -> str:
    if v is None or v == "":
        return "空白（输入不完整或不是数字）"
    if isinstance(v, str):
        return v
    if name in iface.rates:
        return fmt_rate(v)
    if name in iface.amounts:
        return fmt_amount(v)
    return f"{round(v, 2):g}"


@rule("STR008")
def formula_overwritten(wb, ctx):
    """自动计算的单元格（调整后预算数、预算完成率、预算调整率、比上年增减率、占项目支出比例、
    自评总分、评价等级）的公式被手工输入的数值覆盖。

    手工数值不会随输入变化而更新，常常与输入不一致。请恢复公式（从最新模板复制该单元格）。
    数值本身是否正确由算术类规则（ARI）另行检查。

    示例：预算调整率单元格被手工填入 0.00%，而公式按调整数 0.21 / 年初预算 417.82 应得 0.05%，
    报“预算调整率应由公式计算，现被手工填入 0.00%，按公式应为 0.05%”。
    """
    iface = interface(ctx)
    computed = None
    for name in iface.formula_names:
        cell = wb.names.get(name)
        if cell is None or cell.formula is not None or cell.blank:
            continue
        if computed is None:
            computed = _formula_values(wb, ctx)
        shown = reported_text(cell)
        expected, compare = _compare(cell, _show(name, computed.get(name), iface), computed.get(name),
                                     name in iface.rates)
        yield ctx.report(cell, value=shown, expected=expected, compare=compare, label=iface.label(name), name=name)


@rule("STR009", needs=("indicators.完成率", "indicators.指标方向", "indicators.年度目标值", "indicators.年度实现值"))
def rate_formula_overwritten(wb, ctx):
    """绩效指标表中非定性指标（指标方向为 ≥、≤、=）的完成率公式被手工数值覆盖。

    完成率按模板口径由公式计算（见“绩效指标”表说明）；只有定性指标才直接填写完成率。

    示例：指标方向 ≥、目标值 10、实现值 12 的行，完成率被手工填入 100%，公式应得 120%，
    报“第 7 行完成率应由公式计算，现被手工填入 100.00%，按公式应为 120.00%”。
    """
    t = wb.tables["indicators"]
    for r in t.rows:
        d = direction(r.value("指标方向"))
        if d in (None, QUAL):
            continue
        cell = r["完成率"]
        if cell.formula is not None or cell.blank:
            continue
        v = formulas.indicator_rate(d, r.value("年度目标值"), r.value("年度实现值"))
        shown = reported_text(cell)
        expected, compare = _compare(cell, fmt_rate(v) if isinstance(v, float) else "空白（目标值或实现值不是数字）",
                                     v, True)
        yield ctx.report(cell, value=shown, expected=expected, compare=compare, n=r.index, dir=d)


@rule("STR010")
def formula_cleared(wb, ctx):
    """自动计算的单元格公式被清除（单元格为空，也没有公式）。

    包括命名的计算单元格和绩效指标表中非定性指标的完成率。

    示例：预算完成率单元格被按 Delete 清空，报“预算完成率的公式被清除”，请从最新模板复制该单元格恢复公式。
    """
    iface = interface(ctx)
    for name in iface.formula_names:
        cell = wb.names.get(name)
        if cell is not None and cell.formula is None and cell.blank:
            yield ctx.report(cell, value="", expected="公式", what=f"“{iface.label(name)}”")
    t = wb.tables.get("indicators")
    if t is None or not t.has("完成率") or not t.has("指标方向"):
        return
    for r in t.rows:
        d = direction(r.value("指标方向"))
        if d in (None, QUAL):
            continue
        cell = r["完成率"]
        if cell.formula is None and cell.blank:
            yield ctx.report(cell, value="", expected="公式", what=f"“绩效指标”第 {r.index} 行“完成率”")


_NON_DIGIT = re.compile(r"\D")
_BLANKS = re.compile(r"\s+")


@rule("STR011")
def outside_tables(wb, ctx):
    """在表格之外填写了数据（表格最后一行的下方，或表格右侧）。

    表格之外的内容不会被检查，也不会进入汇总。行数不够时请扩展表格（在最后一行最后一格按 Tab 键），
    不要在表格下方或右侧直接填写。

    示例：“绩效指标”表格到第 43 行为止，第 45 行填写了一条指标，
    报“表格“绩效指标”下方有 3 个单元格填写了内容（A45 等）”。
    """
    iface = interface(ctx)
    named_rows = {(c.sheet, int(_NON_DIGIT.sub("", c.address))) for c in wb.names.values()
                  if c.sheet and c.address}
    table_boxes = []
    for t in wb.tables.values():
        try:
            r0, c0, r1, c1 = range_bounds(t.ref)
        except ValueError:
            continue
        table_boxes.append((t, r0, c0, r1, c1))
    for t, r0, c0, r1, c1 in table_boxes:
        grid = wb.cells.get(t.sheet, {})
        below, right = [], []
        others = [(orr0, oc0, orr1, oc1) for o, orr0, oc0, orr1, oc1 in table_boxes if o.sheet == t.sheet]
        # position first, in a tight loop: most cells are inside the table or above it
        outside = []
        for r, c in grid:
            if r > r1 or (c > c1 and r >= r0):
                outside.append((r, c))
        for r, c in outside:
            cell = grid[(r, c)]
            side = below if r > r1 else right
            if cell.blank and cell.formula is None:
                continue
            if (t.sheet, r) in named_rows:
                continue  # labels and hints beside the named cells (自评总分, 评价等级)
            if any(orr0 <= r <= orr1 and oc0 <= c <= oc1 for orr0, oc0, orr1, oc1 in others):
                continue
            side.append((r, c, cell))
        label = iface.tables[t.name].label if t.name in iface.tables else t.name
        for side, found in (("下方", below), ("右侧", right)):
            if not found:
                continue
            found.sort(key=lambda x: (x[0], x[1]))
            r, c, cell = found[0]
            yield ctx.report(cell, value=clean_text(text_of(cell))[:40], expected="", table=label, side=side,
                             count=len(found), first=cell.address)


@lru_cache(maxsize=512)   # the template's formulas, and the same few in every workbook
def _formula_key(text: str) -> str:
    """A formula compared as Excel means it: no "=", no blanks, upper case, no future-function prefix."""
    s = _BLANKS.sub("", text or "").lstrip("=").upper()
    return s.replace("_XLFN.", "").replace("_XLUDF.", "")


@rule("STR012")
def formula_changed(wb, ctx):
    """自动计算的单元格仍是公式，但公式被改成了与模板不同的内容。

    只检查模板中固定的单元格公式（调整后预算数、预算完成率、预算调整率、比上年增减率、项目资金占比）。
    改过的公式可能算错，甚至引用自身形成循环引用；检查工具自行重算，不受影响，但工作簿里显示的数会错。

    示例：调整后预算数的公式被改为 =budget_adjusted+budget_adjustment（引用自身），
    报“调整后预算数的公式与模板不同”，请从最新模板复制该单元格以恢复公式。
    """
    iface = interface(ctx)
    for name, template_formula in formulas.EXCEL.items():
        cell = wb.names.get(name)
        if cell is None or not cell.formula or cell.formula == "(shared)":
            continue
        if _formula_key(cell.formula) != _formula_key(template_formula):
            yield ctx.report(cell, value="=" + cell.formula, expected=template_formula,
                             what=f"“{iface.label(name)}”")
