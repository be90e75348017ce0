"""Arithmetic (ARI): every formula relation of SPEC 2.1, indicator 完成率 per SPEC 2.2, task funds.

Rounding (SPEC 3): a reported value stands for the interval its shown decimals allow; a relation
holds when some choice of values inside the inputs' intervals makes it exactly true. All
arithmetic is exact interval arithmetic (numbers.Interval): no epsilon anywhere.

Checked values are the *reported* ones: the cached value of a named formula cell or the constant
typed over it; an intact formula without a cached value reports nothing. Inputs are always
recomputed from the input cells, never taken from cached results. Inputs that are not numbers
(fuzzy text, errors, blanks) make a relation unknowable: it is skipped (VAL reports them).
"""
from __future__ import annotations

from fractions import Fraction

from xlcheck import formulas
from xlcheck.rules import rule

from ._shared import (EQ, GE, LE, QUANT_DIRECTIONS, ZERO, Interval, clean_text, direction, fmt_amount,
                      fmt_number, fmt_rate, interface, interval, is_typed, memo, number, reported,
                      reported_text, where, exact)

ONE = Fraction(1)


def _iv(wb, name) -> Interval | None:
    return interval(wb.names.get(name))


def _adjusted(wb) -> Interval | None:
    """调整后预算数 recomputed from its inputs; a constant typed over it only when inputs are missing."""
    s = formulas.relation("budget_adjusted", _iv(wb, "budget_initial"), _iv(wb, "budget_adjustment"))
    if s is not None:
        return s
    c = wb.names.get("budget_adjusted")
    return interval(c) if is_typed(c) else None


def _shown(cell) -> str:
    return clean_text(cell.text) if cell is not None and not cell.blank else "0（未填）"


def _face(wb, name):
    return formulas.face_value(wb.names.get(name))


def _rate_finding(ctx, cell, computed: Interval | None, face, params):
    """A finding when the reported rate is out of the inputs' reach (`computed`, over intervals);
    the message shows the rate of the figures as typed (`face`), as Excel shows it."""
    rep = reported(cell)
    if rep is None or computed is None or rep.intersects(computed):
        return
    value = reported_text(cell)
    shown = face if face is not None else computed.mid
    yield ctx.report(cell, value=value, expected=fmt_rate(shown, 2, avoid=value), **params())


@rule("ARI001", needs=("budget_adjusted", "budget_initial", "budget_adjustment"))
def adjusted_budget(wb, ctx):
    """调整后预算数 = 年初预算数 + 年度预算调整数。

    示例：年初预算 417.82 万元、调整数 0.21 万元，调整后预算应为 418.03 万元；填报 418.30 即报错。
    """
    cell = wb.names["budget_adjusted"]
    rep = reported(cell)
    s = formulas.relation("budget_adjusted", _iv(wb, "budget_initial"), _iv(wb, "budget_adjustment"))
    if rep is None or s is None:
        return
    if not rep.intersects(s):
        yield ctx.report(cell, value=clean_text(cell.text), expected=fmt_amount(s),
                         init=_shown(wb.names["budget_initial"]), adj=_shown(wb.names["budget_adjustment"]))


@rule("ARI002", needs=("budget_adjust_rate", "budget_adjustment", "budget_initial"))
def adjust_rate(wb, ctx):
    """预算调整率 = 年度预算调整数 ÷ 年初预算数。

    示例：调整数 0.21 万元、年初预算 417.82 万元，预算调整率应为 0.05%（0.0503%），填报 0.00% 即报错：
    输入在显示精度内取任何值，结果都在 0.049%–0.051% 之间，落不进 0.00% 所代表的 ±0.005%。
    """
    q = formulas.relation("budget_adjust_rate", _iv(wb, "budget_adjustment"), _iv(wb, "budget_initial"))
    face = formulas.relation("budget_adjust_rate", _face(wb, "budget_adjustment"), _face(wb, "budget_initial"))
    yield from _rate_finding(ctx, wb.names["budget_adjust_rate"], q, face, lambda: dict(
        adj=_shown(wb.names["budget_adjustment"]), init=_shown(wb.names["budget_initial"])))


@rule("ARI003", needs=("budget_completion_rate", "spend_actual", "budget_initial", "budget_adjustment"))
def completion_rate(wb, ctx):
    """预算完成率 = 实际支出数 ÷ 调整后预算数（调整后预算数按年初预算数 + 调整数重新计算）。

    示例：实际支出 401.42 万元、调整后预算 418.03 万元，完成率 96.0266%，填报 96.03% 正确；
    5529.49 / 5529.51 填报 100% 也正确（99.9996% 在 100.00% 的舍入区间内）；填报 98.00% 即报错。
    """
    b = _adjusted(wb)
    q = formulas.relation("budget_completion_rate", _iv(wb, "spend_actual"), b)
    adj = formulas.relation("budget_adjusted", _face(wb, "budget_initial"), _face(wb, "budget_adjustment"))
    face = formulas.relation("budget_completion_rate", _face(wb, "spend_actual"), adj)
    yield from _rate_finding(ctx, wb.names["budget_completion_rate"], q, face, lambda: dict(
        actual=_shown(wb.names["spend_actual"]), adjusted=fmt_amount(b)))


@rule("ARI004", needs=("spend_yoy_rate", "spend_actual", "spend_prev_year"))
def yoy_rate(wb, ctx):
    """比上年增减率 = (实际支出数 − 上年实际支出数) ÷ 上年实际支出数。未填上年实际支出数时不计算。

    示例：实际支出 435.27 万元、上年 396.02 万元，增减率应为 9.91%；填报 9.00% 即报错。
    """
    q = formulas.relation("spend_yoy_rate", _iv(wb, "spend_actual"), _iv(wb, "spend_prev_year"))
    face = formulas.relation("spend_yoy_rate", _face(wb, "spend_actual"), _face(wb, "spend_prev_year"))
    yield from _rate_finding(ctx, wb.names["spend_yoy_rate"], q, face, lambda: dict(
        actual=_shown(wb.names["spend_actual"]), prev=_shown(wb.names["spend_prev_year"])))


@rule("ARI005", needs=("project_eval_share", "project_eval_funds", "spend_project"))
def project_share(wb, ctx):
    """占项目支出比例 = 纳入自评的项目资金 ÷ 项目支出。

    示例：纳入自评的项目资金 89.93 万元、项目支出 89.93 万元，比例应为 100.00%；填报 90.00% 即报错。
    """
    q = formulas.relation("project_eval_share", _iv(wb, "project_eval_funds"), _iv(wb, "spend_project"))
    face = formulas.relation("project_eval_share", _face(wb, "project_eval_funds"), _face(wb, "spend_project"))
    yield from _rate_finding(ctx, wb.names["project_eval_share"], q, face, lambda: dict(
        funds=_shown(wb.names["project_eval_funds"]), project=_shown(wb.names["spend_project"])))


@rule("ARI006", needs=("project_eval_funds", "spend_project"))
def project_funds_within(wb, ctx):
    """纳入自评的项目资金不应超过项目支出。

    示例：纳入自评的项目资金 163.05 万元，项目支出只有 89.93 万元，即报错。
    """
    cell = wb.names["project_eval_funds"]
    a, b = interval(cell), _iv(wb, "spend_project")
    if a is None or b is None:
        return
    if a.above_all(b):
        yield ctx.report(cell, value=clean_text(cell.text), expected=f"≤ {_shown(wb.names['spend_project'])}",
                         project=_shown(wb.names["spend_project"]))


def _breakdown(ctx, wb, parts, what):
    cells = [wb.names[n] for n in parts]
    if all(c.blank for c in cells):
        return
    ivs = []
    for c in cells:
        if c.blank:
            ivs.append(ZERO)
            continue
        iv = interval(c)
        if iv is None:
            return   # text or error: VAL's finding, the sum is unknowable
        ivs.append(iv)
    actual = wb.names["spend_actual"]
    b = interval(actual)
    if b is None:
        return
    total = ivs[0]
    for iv in ivs[1:]:
        total = total + iv
    if total.intersects(b):
        return
    iface = interface(ctx)
    items = " + ".join(f"{iface.label(n).replace('其中：', '')} {_shown(c)}" for n, c in zip(parts, cells))
    first = next(c for c in cells if not c.blank)
    yield ctx.report(first, value=fmt_amount(total), expected=clean_text(actual.text), items=items,
                     actual=clean_text(actual.text), what=what)


SOURCES = ("spend_general", "spend_gov_fund", "spend_soe_capital", "spend_other")
NATURE = ("spend_basic", "spend_project")


@rule("ARI007", needs=("spend_actual", *SOURCES))
def sources_sum(wb, ctx):
    """按资金来源：一般公共预算 + 政府性基金预算 + 国有资本经营预算 + 其他资金 = 实际支出数
    （填了任何一项时检查，未填的项按 0 计）。

    示例：实际支出 401.42 万元，其中一般公共预算 400.42、其余未填，合计 400.42 万元，即报错。
    """
    yield from _breakdown(ctx, wb, SOURCES, "资金来源")


@rule("ARI008", needs=("spend_actual", *NATURE))
def nature_sum(wb, ctx):
    """按支出性质：基本支出 + 项目支出 = 实际支出数（填了任何一项时检查，未填的项按 0 计）。

    示例：基本支出 345.34 万元 + 项目支出 89.93 万元 = 435.27 万元；实际支出填 435.94 万元即报错。
    """
    yield from _breakdown(ctx, wb, NATURE, "支出性质")


# ---------------------------------------------------------------- indicators

def _formula_text(d, tn, an) -> str:
    if d == LE and an <= tn:
        return "实现值不超过目标值，完成率为 100%"
    if d == LE:
        return "按目标值 ÷ 实现值计算"
    if d == EQ and an == tn:
        return "实现值等于目标值，完成率为 100%"
    return "按实现值 ÷ 目标值计算"


def _classify(wb, ctx):
    """Rows whose reported 完成率 matches no candidate: (row, kind, d, tn, an) with kind
    "capped" (reported 100% while the inputs give more, ≥ or =) or "wrong". Once per workbook."""
    counts = frozenset(ctx.words.get("count_units", ()))
    return memo(wb, "ari.classify", lambda: _classify_rows(wb, counts))


def _exact_count(cell, iv):
    n = number(cell)
    return exact(n) if n is not None and float(n).is_integer() else iv


def _classify_rows(wb, counts):
    bad = []
    for r in wb.tables["indicators"].rows:
        d = direction(r.value("指标方向"))
        if d not in QUANT_DIRECTIONS:
            continue
        rep = reported(r["完成率"])
        if rep is None:
            continue   # nothing reported: nothing to compare (before any arithmetic)
        tc, ac = r["年度目标值"], r["年度实现值"]
        ti, ai = interval(tc), interval(ac)
        if clean_text(r.value("计量单位")) in counts:   # 3 visits are 3, never 2.5…3.5
            ti, ai = _exact_count(tc, ti), _exact_count(ac, ai)
        if ti is None or ai is None:
            continue
        cands = formulas.indicator_rate_candidates(d, ti, ai)
        if cands is None:
            continue
        for c in cands:
            if rep.intersects(c):
                break
        else:
            capped = d in (GE, EQ) and rep.contains(ONE) and all(c.lo_above(ONE) for c in cands)
            bad.append((r, "capped" if capped else "wrong", d, number(tc), number(ac)))
    return bad


def _over_100_rows(wb) -> list[int]:
    """Rows (any direction) whose reported 完成率 is above 100%."""
    out = []
    for r in wb.tables["indicators"].rows:
        rep = reported(r.get("完成率"))
        if rep is not None and rep.lo_above(ONE):
            out.append(r.index)
    return out


_IND_NEEDS = ("indicators.指标方向", "indicators.年度目标值", "indicators.年度实现值", "indicators.完成率")


def _ind_params(r, d, tn, an):
    cell = r["完成率"]
    value = reported_text(cell)
    exp = formulas.indicator_rate(d, tn, an)
    return dict(value=value, expected=fmt_rate(exp, 2, avoid=value) if isinstance(exp, float) else "",
                n=r.index, name=clean_text(r.value("三级指标")) or f"第 {r.index} 行", dir=d,
                target=fmt_number(tn), actual=fmt_number(an), how=_formula_text(d, tn, an))


@rule("ARI009", needs=_IND_NEEDS)
def indicator_rate(wb, ctx):
    """绩效指标的完成率按指标方向计算：≥ 实现值 ÷ 目标值；≤ 实现值不超过目标值为 100%，
    否则目标值 ÷ 实现值；= 相等为 100%，否则按 ≥ 计算。定性指标不检查；目标值或实现值不是数字的行
    不检查（由数值类规则报告）。按显示精度判断：31 ÷ 23 = 134.78% 填报 135% 正确。

    示例：指标方向 ≥、目标值 50 家、实现值 56 家，完成率应为 112%；填报 102% 即报错。
    """
    for r, kind, d, tn, an in _classify(wb, ctx):
        if kind == "wrong":
            yield ctx.report(r["完成率"], **_ind_params(r, d, tn, an))


@rule("ARI010", needs=_IND_NEEDS)
def mixed_convention(wb, ctx):
    """同一张绩效指标表中完成率的口径不一致：一行超额完成却封顶填报 100%，而其他行的完成率超过 100%
    没有封顶。全表应统一按实现值 ÷ 目标值计算，不封顶。

    示例：目标 10 个、实现 12 个的行填报 100%（应为 120%），同表 6 ÷ 4 的行填报 150%、31 ÷ 23 的行填报 135%。
    """
    capped = [x for x in _classify(wb, ctx) if x[1] == "capped"]
    over = memo(wb, "ari.over", lambda: _over_100_rows(wb)) if capped else []
    over_set = set(over)
    for r, kind, d, tn, an in capped:
        others = [i for i in over[:7] if i != r.index]
        if others:
            rows = "、".join(str(i) for i in others[:5]) + ("等" if len(over) - (r.index in over_set) > 5 else "")
            yield ctx.report(r["完成率"], others=rows, **_ind_params(r, d, tn, an))


@rule("ARI011", needs=_IND_NEEDS)
def capped_rate(wb, ctx):
    """完成率被封顶为 100%：实现值超过目标值（指标方向 ≥ 或 =），完成率却填报 100%，而表中没有其他行
    超过 100%（口径一致地封顶）。模板口径不封顶，超额完成应如实反映。

    示例：指标方向 ≥、目标值 10、实现值 12，完成率填报 100%，应为 120%。
    """
    capped = [x for x in _classify(wb, ctx) if x[1] == "capped"]
    over = memo(wb, "ari.over", lambda: _over_100_rows(wb)) if capped else []
    for r, kind, d, tn, an in capped:
        if not [i for i in over[:2] if i != r.index]:
            yield ctx.report(r["完成率"], **_ind_params(r, d, tn, an))


# ---------------------------------------------------------------- tasks

FUNDS = "涉及资金（万元）"


@rule("ARI012", needs=(f"tasks.{FUNDS}", "spend_actual"))
def task_funds(wb, ctx):
    """单项任务的涉及资金不应超过部门实际支出数。

    示例：实际支出 401.42 万元，某项任务涉及资金填 996 万元（把 9.96 错写），即报错。
    """
    actual = wb.names["spend_actual"]
    b = interval(actual)
    if b is None:
        return
    iface = interface(ctx)
    for r in wb.tables["tasks"].rows:
        c = r[FUNDS]
        a = interval(c)
        if a is not None and a.above_all(b):
            yield ctx.report(c, value=clean_text(c.text), expected=f"≤ {clean_text(actual.text)}",
                             n=r.index, name=clean_text(r.value("任务名称")) or f"第 {r.index} 行",
                             actual=clean_text(actual.text), loc=where(c, iface))


@rule("ARI013", needs=(f"tasks.{FUNDS}", "spend_actual"))
def task_funds_total(wb, ctx):
    """各项任务涉及资金的合计不应超过部门实际支出数（已有单项超过时不再重复报告合计）。

    示例：实际支出 401.42 万元，四项任务涉及资金 150 + 120 + 90 + 60 = 420 万元，即报错。
    """
    actual = wb.names["spend_actual"]
    b = interval(actual)
    if b is None:
        return
    t = wb.tables["tasks"]
    cells = [c for c in t.column(FUNDS) if not c.blank]
    ivs = [interval(c) for c in cells]
    ivs = [iv for iv in ivs if iv is not None]
    if len(ivs) < 2 or any(iv.above_all(b) for iv in ivs):
        return
    total = ivs[0]
    for iv in ivs[1:]:
        total = total + iv
    if total.above_all(b):
        col = t.first_col + t.headers.index(FUNDS)
        from xlcheck.ooxml import col_letters
        yield ctx.report(None, value=fmt_amount(total), expected=f"≤ {clean_text(actual.text)}",
                         count=len(ivs), actual=clean_text(actual.text), sheet=t.sheet,
                         cell=f"{col_letters(col)}{t.header_row}", field=f"tasks.{FUNDS}")
