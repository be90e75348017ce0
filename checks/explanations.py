"""Explanations (EXP): deductions, shortfalls, over-achievement, unfinished tasks and a low budget
completion need a reason and a remedy, and a real one (no placeholder, not too short, not pasted
under several items)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from fractions import Fraction

from xlcheck.framework import normalize_name
from xlcheck.numbers import format_amount as fmt_amount, format_rate
from xlcheck.ooxml import col_letters
from xlcheck.rules import rule

from ._text import (budget_adjusted_face, budget_rate_face, cell_number, face_value, exact, explanation_problem, fmt_num,
                    indicator_rates, is_placeholder, memo, normalize_text)


def _t(v) -> str:
    return "" if v is None else str(v).strip()


@dataclass
class Need:
    """One explanation the workbook owes: the cell it belongs in and why."""
    rule: str          # the EXP rule reporting it when blank
    cell: object       # Cell (may be an empty cell object of the table)
    what: str          # 扣分原因 / 改进措施 / 偏差原因 / 未完成原因 / 预算执行情况说明
    item: str          # “结转结余率” / 指标“举办活动次数” / 任务“…”
    make_why: Callable[[], str]   # builds “自评得分 16 分，低于分值 20 分”: only for what is reported
    figure: Callable[[], str] | None = None   # the computed value that makes it owed (134.78%), for 计算值或期望值

    @property
    def why(self) -> str:
        return self.make_why()


def _deductions(wb):
    t = wb.tables.get("scores")
    if t is None or not t.has("自评得分") or not t.has("分值"):
        return
    for r in t.rows:
        s, p = cell_number(r.get("自评得分")), cell_number(r.get("分值"))
        if s is not None and p is not None and s < p - 1e-9:
            yield r, s, p


def _ind_name(r) -> str:
    return _t(r.value("三级指标")) or f"第 {r.index} 行"


def _rate_shown(r, rate) -> str:
    """The row's 完成率 as reported, or as computed with its inputs ("90%（按目标值 50、实现值 45 计算）")."""
    shown = r["完成率"].text if rate.reported and r.get("完成率") is not None else rate.text()
    src = "" if rate.reported else f"（按目标值 {r['年度目标值'].text}、实现值 {r['年度实现值'].text} 计算）"
    return f"{shown}{src}"


def needs(wb, ctx) -> list[Need]:
    """Every explanation the workbook owes (computed once per workbook and checks directory)."""
    return memo(wb, "exp_needs", lambda: _needs(wb, ctx))


def _needs(wb, ctx) -> list[Need]:
    out: list[Need] = []
    for r, s, p in _deductions(wb):
        name = _t(r.value("三级指标")) or f"第 {r.index} 行"
        why = (lambda r=r, s=s, p=p:
               f"自评得分 {r['自评得分'].text} 分，低于分值 {fmt_num(p)} 分（扣 {fmt_num(exact(p) - exact(s))} 分）")
        for header, rid in (("扣分原因", "EXP001"), ("改进措施", "EXP002")):
            c = r.get(header)
            if c is not None:
                out.append(Need(rid, c, header, f"“{name}”", why))
    t = wb.tables.get("indicators")
    if t is not None:
        over = Fraction(str(ctx.thresholds.get("over_achievement", 1.2)))
        for r, rate in zip(t.rows, indicator_rates(wb)):
            if rate is None:
                continue
            below = rate.below()
            if not below and not rate.above(over):
                continue   # nothing owed: no texts to build
            item = f"指标“{_ind_name(r)}”"
            if below:
                why = lambda r=r, rate=rate: f"完成率 {_rate_shown(r, rate)}，低于 100%"
                for header, rid in (("偏差原因", "EXP003"), ("改进措施", "EXP004")):
                    c = r.get(header)
                    if c is not None:
                        out.append(Need(rid, c, header, item, why, rate.text))
            else:
                c = r.get("偏差原因")
                if c is not None:
                    out.append(Need("EXP005", c, "偏差原因", item, lambda r=r, rate=rate: (
                        f"完成率 {_rate_shown(r, rate)}，高于 {format_rate(over, 0)}（目标值可能设置偏低）"), rate.text))
    t = wb.tables.get("tasks")
    if t is not None and t.has("完成状态"):
        for r in t.rows:
            status = _t(r.value("完成状态"))
            if status and status != "完成":
                c = r.get("未完成原因")
                if c is not None:
                    name = _t(r.value("任务名称")) or f"第 {r.index} 行"
                    out.append(Need("EXP006", c, "未完成原因", f"任务“{name}”",
                                    lambda status=status: f"完成状态为“{status}”"))
    note = wb.names.get("budget_note")
    if note is not None:
        rate = budget_rate_face(wb)
        lim = Fraction(str(ctx.thresholds.get("budget_completion_min", 0.9)))
        spend, adj = face_value(wb.names.get("spend_actual")), budget_adjusted_face(wb)
        if rate is not None and rate < lim:
            out.append(Need("EXP007", note, "预算执行情况说明", "预算执行", lambda rate=rate: (
                            f"预算完成率 {format_rate(rate)}（实际支出 {wb.names['spend_actual'].text} 万元），"
                            f"低于 {format_rate(lim, 0)}")))
        elif spend is not None and adj is not None and spend > adj:
            out.append(Need("EXP013", note, "预算执行情况说明", "预算执行", lambda spend=spend, adj=adj: (
                            f"实际支出 {fmt_amount(spend)} 万元，超过调整后预算 {fmt_amount(adj)} 万元"
                            f"（超出 {fmt_amount(spend - adj)} 万元）")))
    return out


def _problems(wb, ctx) -> list[tuple[Need, str | None]]:
    """(need, explanation_problem of its cell): EXP001–EXP010 all ask, once per workbook."""
    return memo(wb, "exp_problems", lambda: [
        (n, explanation_problem(n.cell, ctx.words, ctx.thresholds)) for n in needs(wb, ctx)])


def _report_blank(wb, ctx, rid):
    for n, problem in _problems(wb, ctx):
        if n.rule == rid and problem == "blank":
            yield ctx.report(n.cell, value="", expected=n.figure() if n.figure else n.what, item=n.item,
                             why=n.why, what=n.what)


@rule("EXP001", needs=("scores.自评得分", "scores.扣分原因"))
def deduction_reason(wb, ctx):
    """自评得分低于分值（扣分）的指标须填写扣分原因。

    示例：“部门整体绩效目标效益指标完成情况”得 16 分（分值 20 分），扣分原因为空。
    """
    yield from _report_blank(wb, ctx, "EXP001")


@rule("EXP002", needs=("scores.自评得分", "scores.改进措施"))
def deduction_measure(wb, ctx):
    """自评得分低于分值（扣分）的指标须填写改进措施。

    示例：“部门预算资金支出率”得 9.91 分（分值 10 分），改进措施为空。
    """
    yield from _report_blank(wb, ctx, "EXP002")


@rule("EXP003", needs=("indicators.偏差原因",))
def shortfall_reason(wb, ctx):
    """完成率低于 100% 的绩效指标须填写偏差原因（未提供完成率时按目标值、实现值和指标方向计算）。

    示例：“乡村振兴产业对接成功案例”目标 1 个、实现 0 个，完成率 0%，偏差原因为空。
    """
    yield from _report_blank(wb, ctx, "EXP003")


@rule("EXP004", needs=("indicators.改进措施",))
def shortfall_measure(wb, ctx):
    """完成率低于 100% 的绩效指标须填写改进措施。

    示例：“走访企业数”目标 50 家、实现 45 家，完成率 90%，改进措施为空。
    """
    yield from _report_blank(wb, ctx, "EXP004")


@rule("EXP005", needs=("indicators.偏差原因",))
def overachievement_reason(wb, ctx):
    """完成率明显高于目标（默认高于 120%，见 thresholds.toml 的 over_achievement）的绩效指标须在
    偏差原因中说明：多半是目标值设置偏低。

    示例：“举办活动次数”目标 4 次、实现 6 次，完成率 150%；“走访基层商会数”目标 23 个、实现 31 个，
    完成率 135%，偏差原因均为空。
    """
    yield from _report_blank(wb, ctx, "EXP005")


@rule("EXP006", needs=("tasks.完成状态", "tasks.未完成原因"))
def task_reason(wb, ctx):
    """完成状态为“部分完成”或“未完成”的年度主要任务须填写未完成原因。

    示例：任务“推动商会发展”完成状态为“部分完成”，未完成原因为空。
    """
    yield from _report_blank(wb, ctx, "EXP006")


@rule("EXP007", needs=("budget_note", "spend_actual"))
def budget_note(wb, ctx):
    """预算完成率（实际支出数 / 调整后预算数）低于阈值（默认 90%，见 thresholds.toml 的
    budget_completion_min）时，须填写预算执行情况说明。

    示例：调整后预算 500.00 万元、实际支出 401.42 万元，完成率 80.28%，预算执行情况说明为空。
    """
    yield from _report_blank(wb, ctx, "EXP007")


@rule("EXP013", needs=("budget_note", "spend_actual"))
def overspend_note(wb, ctx):
    """实际支出数超过调整后预算数时须填写预算执行情况说明：按预算法，超预算支出须先经预算调整，
    审核人会问原因。

    示例：年初预算 1172.55 万元、无调整，实际支出 1268.72 万元，预算执行情况说明为空。
    """
    yield from _report_blank(wb, ctx, "EXP013")


def _real_problem(cell, ctx) -> bool:
    return cell is not None and not cell.blank and not is_placeholder(cell.value, ctx.words.get("placeholders", ()))


@rule("EXP008", needs=("scores.自评得分", "problems"))
def problems_listed(wb, ctx):
    """有扣分的自评表须在“存在的主要问题及改进措施”中至少列出一个问题。

    示例：“部门整体绩效目标效益指标完成情况”扣 4 分，问题表为空或只写了“无”。
    """
    ded = list(_deductions(wb))
    if not ded:
        return
    t = wb.tables["problems"]
    if any(_real_problem(r.get("存在的主要问题"), ctx) for r in t.rows):
        return
    header = "存在的主要问题" if t.has("存在的主要问题") else t.headers[0]
    col = t.first_col + t.headers.index(header)
    first = t.rows[0].get(header) if t.rows else None
    written = first.text if first is not None else ""
    names = "、".join(f"“{_t(r.value('三级指标'))}”" for r, _, _ in ded[:3]) + (f"等 {len(ded)} 项" if len(ded) > 3 else "")
    lost = sum(exact(p) - exact(s) for _, s, p in ded)
    yield ctx.report(None, value=written, expected="至少一个问题", sheet=t.sheet,
                     cell=f"{col_letters(col)}{t.header_row + 1}", field=f"problems.{header}", row=1,
                     items=names, lost=fmt_num(lost))


@rule("EXP009", needs=())
def placeholder(wb, ctx):
    """必须填写的说明（扣分原因、改进措施、偏差原因、未完成原因、预算执行情况说明）不能是占位文字
    （无、暂无、略、/、—、同上、见上……，词表见 words.toml 的 placeholders）。

    示例：“结转结余率”扣 1 分，扣分原因填“同上”。
    """
    for n, problem in _problems(wb, ctx):
        if problem == "placeholder":
            yield ctx.report(n.cell, expected=n.what, item=n.item, why=n.why, what=n.what)


@rule("EXP010", needs=())
def too_short(wb, ctx):
    """必须填写的说明不能过短（少于 thresholds.toml 的 min_explanation_chars 个汉字、字母或数字），
    过短的说明讲不清原因或措施。

    示例：指标“走访企业数”完成率 90%，偏差原因只写“疫情”。
    """
    need = int(ctx.thresholds.get("min_explanation_chars", 6))
    for n, problem in _problems(wb, ctx):
        if problem == "short":
            yield ctx.report(n.cell, expected=f"至少 {need} 个字", item=n.item, why=n.why, what=n.what,
                             min=need)


# table, column, header naming the item of a row, how an item is called
DUP_COLUMNS = (
    ("scores", "扣分原因", "三级指标", "指标"),
    ("scores", "改进措施", "三级指标", "指标"),
    ("indicators", "偏差原因", "三级指标", "指标"),
    ("indicators", "改进措施", "三级指标", "指标"),
    ("tasks", "未完成原因", "任务名称", "任务"),
    ("problems", "存在的主要问题", None, "问题"),
    ("problems", "改进措施", None, "问题"),
)


@rule("EXP011", needs=())
def pasted(wb, ctx):
    """同一段说明不能原样粘贴在多个不同指标（任务、问题）下：每一项的原因和措施应针对该项本身。
    去掉空格和标点后文字相同即视为重复；第一次出现的不报，之后每一处各报一次。

    示例：“结转结余率”和“资产盘点情况”的扣分原因都是“因疫情影响，部分工作未能按计划开展”。
    """
    ph = ctx.words.get("placeholders", ())
    for table, col, item_col, noun in DUP_COLUMNS:
        t = wb.tables.get(table)
        if t is None or not t.has(col):
            continue
        first: dict[str, tuple[object, str]] = {}
        for r in t.rows:
            c = r.cells.get(col)
            if c is None:
                continue
            v = c.value     # text only (a blank text is whitespace)
            if not isinstance(v, str) or not v.strip() or is_placeholder(v, ph):
                continue
            key = normalize_text(v)
            if not key:
                continue
            item = _t(r.value(item_col)) if item_col else ""
            item_key = normalize_name(item) if item else f"#{r.index}"
            if key not in first:
                first[key] = (r, item_key)
                continue
            r0, k0 = first[key]
            if k0 == item_key:
                continue   # the same item twice (a split row): not a paste across items
            name0 = (_t(r0.value(item_col)) if item_col else "") or f"第 {r0.index} 行"
            name = item or f"第 {r.index} 行"
            yield ctx.report(c, expected="针对本项的说明", col=col, noun=noun, name=name, first=name0,
                             first_row=r0.index, first_cell=r0[col].address)


@rule("EXP012", needs=("problems.存在的主要问题", "problems.改进措施"))
def problem_measure(wb, ctx):
    """“存在的主要问题及改进措施”中列出的每个问题都须有改进措施。

    示例：问题“项目预算不够精准”一行的改进措施为空或为“无”。
    """
    ph = ctx.words.get("placeholders", ())
    for r in wb.tables["problems"].rows:
        p, m = r.get("存在的主要问题"), r.get("改进措施")
        if p is None or m is None or p.blank or is_placeholder(p.value, ph):
            continue
        if m.blank or is_placeholder(m.value, ph):
            problem = str(p.value).strip()
            problem = problem[:30] + ("…" if len(problem) > 30 else "")
            if m.blank:
                yield ctx.report(m, value="", expected="改进措施", problem=problem, found="",
                                 message=f"问题“{problem}”未填写改进措施")
            else:
                yield ctx.report(m, expected="改进措施", problem=problem, found=m.text)
