"""Live checks that the template carries as formulas and conditional formatting (the 自查 panel).

Each check mirrors one Python rule on what a formula can judge while the filler types. One
definition gives three things: the Excel count formula for the panel, the conditional-format
rule that turns the offending cells red (error) or amber (warning), and the same computation in
Python for the cached values (template.xlsx and filled copies show the counts without a
recalculation). Only functions in ALLOWED_FUNCTIONS are used: Excel 2010+, WPS 表格 and
LibreOffice evaluate them alike (no dynamic arrays, no structured references). The machinery
is in selfcheck_base; this module is the list.
"""
from __future__ import annotations

from fractions import Fraction

from xlcheck.selfcheck_base import (  # noqa: F401  (re-exported: the template and the tests use them)
    ALLOWED_FUNCTIONS, AMBER_FILL, AMBER_FONT, CF_MAX_CHARS, COUNT_CELL, EXTENT, RED_FILL, RED_FONT, Atom,
    Check, Getter, Layout, Result, TableAt, _blank, _breakdown, _custom, _names_check, _number, _required_in_rows,
    _row_check, _row_pairs, _trim, blank, excel_round, filled, lt, ne, num, q)


# ---------------------------------------------------------------- the list

def build_checks(layout: Layout, *, required: list[str], texts: list[str], thresholds: dict,
                 placeholders: tuple[str, list[str]] | None = None,
                 table_required: dict[str, list[str]] | None = None,
                 score_groups: list[tuple[int, int]] | None = None,
                 l1_groups: list[tuple[int, list[int]]] | None = None, total_points: float = 100) -> list[Check]:
    """The live checks for a workbook laid out as `layout`.

    `table_required`: table -> columns a filled row must fill (interface.toml);
    `placeholders`: (range holding the placeholder words, the words): an explanation that is only
    one of them (无, 同上 …) explains nothing (EXP009);
    `score_groups`: (first row, last row) of each 二级指标 group in the scores table;
    `l1_groups`: (row of the 一级指标's first row, [first rows of its 二级 groups]).
    """
    over_q = Fraction(str(thresholds.get("over_achievement", 1.2)))
    over = float(over_q)
    T = layout.tables
    ind, sc, tasks, probs = T["indicators"], T["scores"], T["tasks"], T["problems"]
    out: list[Check] = []
    out.append(_names_check("required", "VAL001", "必填项未填写", "error", layout, required,
                            lambda n: [blank(n)]))
    out.append(_breakdown("sources", "ARI007", "资金来源四项之和不等于实际支出数", layout,
                          ["spend_general", "spend_gov_fund", "spend_soe_capital", "spend_other"], "spend_actual"))
    out.append(_breakdown("nature", "ARI008", "基本支出 + 项目支出不等于实际支出数", layout,
                          ["spend_basic", "spend_project"], "spend_actual"))
    out.extend(_budget_checks(layout, Fraction(str(thresholds.get("budget_completion_min", 0.9)))))
    # completeness: at least one task, indicators covering 产出 and 效益, narrative texts filled
    task_cols = [h for h in tasks.cols]
    concat = "&".join(tasks.rng(h) for h in task_cols)
    cond_task = f"SUMPRODUCT(--(LEN(TRIM({concat}))>0))=0"
    at_task = (tasks.sheet, f"{tasks.cols['任务名称']}{tasks.first}")

    def py_task(get):
        return not any(any(not _blank(get(tasks.sheet, f"{c}{r}")) for c in tasks.cols.values())
                       for r in range(tasks.first, tasks.end + 1))
    out.append(_custom("no_task", "VAL040", "未填写任何年度主要任务", "error", cond_task, at_task, py_task))
    l1 = ind.rng("一级指标")
    for i, kind in enumerate(thresholds.get("required_indicator_kinds", ("产出指标", "效益指标"))):
        key, rid = f"no_kind{i}", "VAL041"
        cond = f'COUNTIF({l1},"{kind}")=0'

        def py_kind(get, kind=kind):
            return not any(get(ind.sheet, f"{ind.cols['一级指标']}{r}") == kind   # COUNTIF: exact
                           for r in range(ind.first, ind.end + 1))
        out.append(_custom(key, rid, f"绩效指标中没有{kind}", "error", cond,
                           (ind.sheet, f"{ind.cols['一级指标']}{ind.first}"), py_kind))
    if table_required:
        for name, label in (("tasks", "年度任务"), ("indicators", "绩效指标"), ("problems", "问题与措施")):
            cols = [h for h in table_required.get(name, ()) if h in T[name].cols]
            if cols:
                out.append(_required_in_rows(f"rows_{name}", f"“{label}”已填的行中必填项未填写", T[name], cols,
                                             qual=name == "indicators"))
    # a report section blank, shorter than the threshold (every character counted here; the
    # checker counts letters only, so it may find more) or only a placeholder word
    need = int(thresholds.get("min_narrative_chars", 20))
    ph = (lambda n: [Atom("placeholder", n, (placeholders[0], _keys(placeholders[1])))]) if placeholders else (
        lambda n: [])
    out.append(_names_check("texts", "TXT010", f"文字说明未填写、少于 {need} 字或只写了“略”等", "error", layout,
                            texts, lambda n: [Atom("any", n, (Atom("short", n, need), *ph(n)))]))
    # indicators
    below, above = Atom("rate_below", "完成率"), Atom("rate_above", "完成率", over_q)   # as shown
    out.append(_row_check("ind_reason", "EXP003", "完成率低于 100%，未填写偏差原因", "error", ind,
                          [below, blank("偏差原因")], "偏差原因"))
    out.append(_row_check("ind_measure", "EXP004", "完成率低于 100%，未填写改进措施", "error", ind,
                          [below, blank("改进措施")], "改进措施"))
    out.append(_row_check("ind_over", "EXP005", f"完成率高于 {over:.0%}，未在偏差原因中说明", "warning", ind,
                          [above, blank("偏差原因")], "偏差原因"))
    # tasks
    out.append(_row_check("task_reason", "EXP006", "任务未完成，未填写未完成原因", "error", tasks,
                          [filled("完成状态"), ne("完成状态", "完成"), blank("未完成原因")], "未完成原因"))
    # scores
    out.append(_row_check("score_blank", "PTS005", "自评得分未填写或不是数字", "error", sc,
                          [filled("三级指标"), Atom("notnum", "自评得分")], "自评得分"))
    out.append(_row_check("score_range", "PTS004", "自评得分超出 0～分值", "error", sc,
                          [num("自评得分"), num("分值"), Atom("outside", "自评得分", "分值")], "自评得分"))
    out.append(_row_check("ded_reason", "EXP001", "扣分未填写扣分原因", "error", sc,
                          [num("自评得分"), num("分值"), lt("自评得分", "分值"), blank("扣分原因")], "扣分原因"))
    out.append(_row_check("ded_measure", "EXP002", "扣分未填写改进措施", "error", sc,
                          [num("自评得分"), num("分值"), lt("自评得分", "分值"), blank("改进措施")], "改进措施"))
    if placeholders is not None:
        out.extend(_placeholder_checks(layout, placeholders, below, above,
                                       Fraction(str(thresholds.get("budget_completion_min", 0.9)))))
    ded = f"SUMPRODUCT(ISNUMBER({sc.rng('自评得分')})*ISNUMBER({sc.rng('分值')})*({sc.rng('自评得分')}<{sc.rng('分值')}))"
    cond_p = f"AND({ded}>0,SUMPRODUCT(--(LEN(TRIM({probs.rng('存在的主要问题')}))>0))=0)"
    at_p = (probs.sheet, f"{probs.cols['存在的主要问题']}{probs.first}")

    def py_problems(get):
        deducted = any(Atom("lt", "自评得分", "分值").py(lambda h, r=r: get(sc.sheet, f"{sc.cols[h]}{r}"))
                       for r in range(sc.first, sc.end + 1))
        listed = any(not _blank(get(probs.sheet, f"{probs.cols['存在的主要问题']}{r}"))
                     for r in range(probs.first, probs.end + 1))
        return deducted and not listed
    out.append(_custom("problems", "EXP008", "有扣分，未列出存在的主要问题", "error", cond_p, at_p, py_problems))
    # total and weights
    total_name = "score_total"
    s_sheet, s_coord = layout.names[total_name]
    rng = sc.rng("自评得分")
    cond_t = (f"IF(AND(ISNUMBER(score_total),COUNT({rng})>0),"
              f"OR(SUM({rng})<score_total-0.005,SUM({rng})>=score_total+0.005),FALSE)")

    def py_total(get):
        v = _number(get(s_sheet, s_coord))
        vals = [_number(get(sc.sheet, f"{sc.cols['自评得分']}{r}")) for r in range(sc.first, sc.end + 1)]
        vals = [x for x in vals if x is not None]
        if v is None or not vals:
            return False
        s = sum(vals)
        return s < v - 0.005 or s >= v + 0.005
    out.append(_custom("total", "PTS007", "自评总分不等于各项得分之和", "error", cond_t, (s_sheet, s_coord), py_total))
    if score_groups is not None:
        out.append(_weights(sc, score_groups, l1_groups or [], total_points))
    return out


def _keys(words) -> frozenset:
    return frozenset(_trim(w).casefold() for w in words if _trim(w))


def _placeholder_checks(layout: Layout, placeholders, below: Atom, above: Atom, low: Fraction) -> list[Check]:
    """EXP009: an explanation that is owed holds only a placeholder word (无, 同上 …)."""
    rng, words = placeholders
    keys = _keys(words)
    ph = lambda h: Atom("placeholder", h, (rng, keys))
    T = layout.tables
    sc, ind, tasks = T["scores"], T["indicators"], T["tasks"]
    ded = [num("自评得分"), num("分值"), lt("自评得分", "分值")]
    owed = Atom("any", "完成率", (below, above))
    label = "只写了“无”“同上”等占位文字"
    out = [
        _row_pairs("ph_scores", "EXP009", f"扣分原因、改进措施{label}", "error", sc,
                   [(ded + [ph("扣分原因")], "扣分原因"), (ded + [ph("改进措施")], "改进措施")]),
        _row_pairs("ph_indicators", "EXP009", f"偏差原因、改进措施{label}", "error", ind,
                   [([owed, ph("偏差原因")], "偏差原因"), ([below, ph("改进措施")], "改进措施")]),
        _row_check("ph_tasks", "EXP009", f"未完成原因{label}", "error", tasks,
                   [filled("完成状态"), ne("完成状态", "完成"), ph("未完成原因")], "未完成原因"),
    ]
    cond_low, cond_over, py_low, py_over = _budget_owed(layout, low)
    note, at = "budget_note", layout.names["budget_note"]
    cond = f"AND(LEN(TRIM({note}))>0,ISNUMBER(MATCH(TRIM({note}),{rng},0)),OR({cond_low},{cond_over}))"
    out.append(_custom("ph_note", "EXP009", f"预算执行情况说明{label}", "error", cond, at,
                       lambda get: ph(note).py(lambda h: get(*at)) and (py_low(get) or py_over(get))))
    return out


def _budget_owed(layout: Layout, low: Fraction):
    """When 预算执行情况说明 is owed, from the typed amounts at face value, as the Python rules
    judge it (a 预算完成率 or 调整后预算数 typed over its formula hides nothing): completion
    实际支出数 / (年初预算数 + 调整数) below the threshold as shown (0.00%), else spending above the
    adjusted budget; a blank adjustment counts as 0. (Excel conditions, Python predicates.)"""
    adj = "(budget_initial+IF(ISNUMBER(budget_adjustment),budget_adjustment,0))"
    ok = ("AND(ISNUMBER(spend_actual),ISNUMBER(budget_initial),"
          "OR(ISNUMBER(budget_adjustment),LEN(TRIM(budget_adjustment))=0))")
    low_f = float(low)
    is_low = f"IF({adj}=0,FALSE,ROUND(spend_actual/{adj},4)<{low_f!r})"
    cond_low = f"IF({ok},{is_low},FALSE)"
    cond_over = f"IF({ok},AND(NOT({is_low}),ROUND(spend_actual-{adj},6)>0),FALSE)"

    def inputs(get):
        g = lambda n: get(*layout.names[n])
        spend, ini, a = _number(g("spend_actual")), _number(g("budget_initial")), g("budget_adjustment")
        if spend is None or ini is None or (_number(a) is None and not _blank(a)):
            return None
        return spend, ini + (_number(a) or 0)

    def py_low(get):
        v = inputs(get)
        return v is not None and v[1] != 0 and excel_round(v[0] / v[1], 4) < low_f

    def py_over(get):
        v = inputs(get)
        return v is not None and not py_low(get) and excel_round(v[0] - v[1], 6) > 0

    return cond_low, cond_over, py_low, py_over


def _budget_checks(layout: Layout, low: Fraction) -> list[Check]:
    """EXP007 / EXP013: the note is owed (see _budget_owed) and blank."""
    cond_low, cond_over, py_low, py_over = _budget_owed(layout, low)
    at = layout.names["budget_note"]
    note = "LEN(TRIM(budget_note))=0"
    blank_note = lambda get: _blank(get(*at))
    return [
        _custom("budget_low", "EXP007", f"预算完成率低于 {float(low):.0%}，未填写预算执行情况说明", "error",
                f"AND({cond_low},{note})", at, lambda get: py_low(get) and blank_note(get)),
        _custom("budget_over", "EXP013", "实际支出超过调整后预算，未填写预算执行情况说明", "error",
                f"AND({cond_over},{note})", at, lambda get: py_over(get) and blank_note(get)),
    ]


def _weights(sc: TableAt, groups, l1_groups, total_points) -> Check:
    """PTS006: 三级分值之和 = 二级分值, 二级分值之和 = 一级分值, 一级分值合计 = 100 (framework rows)."""
    F, D, B = sc.cols["分值"], sc.cols["二级分值"], sc.cols["一级分值"]
    s = q(sc.sheet)
    conds, pys = [], []
    for a, b in groups:
        conds.append((f"ROUND(SUM({s}!${F}${a}:${F}${b})-{s}!${D}${a},6)<>0", (sc.sheet, f"{D}{a}")))
        pys.append((lambda g, a=a, b=b: round(sum(_number(g(f"{F}{r}")) or 0 for r in range(a, b + 1))
                                              - (_number(g(f"{D}{a}")) or 0), 6) != 0, (sc.sheet, f"{D}{a}")))
    for head, subs in l1_groups:
        parts = "+".join(f"{s}!${D}${r}" for r in subs)
        conds.append((f"ROUND({parts}-{s}!${B}${head},6)<>0", (sc.sheet, f"{B}{head}")))
        pys.append((lambda g, head=head, subs=subs: round(sum(_number(g(f"{D}{r}")) or 0 for r in subs)
                                                          - (_number(g(f"{B}{head}")) or 0), 6) != 0,
                    (sc.sheet, f"{B}{head}")))
    heads = [h for h, _ in l1_groups]
    if heads:
        conds.append((f"ROUND({'+'.join(f'{s}!${B}${r}' for r in heads)}-{total_points:g},6)<>0",
                      (sc.sheet, f"{B}{heads[0]}")))
        pys.append((lambda g: round(sum(_number(g(f"{B}{r}")) or 0 for r in heads) - total_points, 6) != 0,
                    (sc.sheet, f"{B}{heads[0]}")))
    count = "+".join(f"IF({c},1,0)" for c, _ in conds)
    first = '""'
    for c, (_, coord) in reversed(conds):
        first = f'IF({c},"{coord}",{first})'
    cf = [(coord, c.replace(f"{s}!", "")) for c, (_, coord) in conds]

    def py(get: Getter) -> Result:
        g = lambda coord: get(sc.sheet, coord)
        bad = [at for f, at in pys if f(g)]
        return Result(len(bad), bad[0] if bad else None)

    return Check("weights", "PTS006", "评分框架分值合计不符", "error", sc.sheet, count, first, cf, py)
