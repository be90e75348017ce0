"""Live checks that the template carries as formulas and conditional formatting (the 自查 panel).

Each check mirrors one Python rule on what a formula can judge while the filler types. One
definition gives three things: the Excel count formula for the panel, the conditional-format
rule that turns the offending cells red (error) or amber (warning), and the same computation in
Python for the cached values (template.xlsx and filled copies show the counts without a
recalculation). Only functions in ALLOWED_FUNCTIONS are used: Excel 2010+, WPS 表格 and
LibreOffice evaluate them alike (no dynamic arrays, no structured references).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Callable

from xlcheck import calc

# Functions the template's formulas and conditional formats may use (tests/test_selfcheck.py
# scans every formula of the template against this list).
ALLOWED_FUNCTIONS = frozenset("""AND OR NOT IF IFERROR ISNUMBER ISERROR LEN TRIM SUM SUMPRODUCT COUNT
COUNTIF MATCH ROUND ABS MAX MIN ROW HYPERLINK""".split())

# rows of a growing table covered by the live checks: rows the filler adds stay checked
EXTENT = 500
_BIG = 1048577   # one past Excel's last row: "no failing row"

RED_FILL, RED_FONT = "FFC7CE", "9C0006"      # Excel's own "light red fill, dark red text"
AMBER_FILL, AMBER_FONT = "FFEB9C", "9C5700"  # "yellow fill, dark yellow text"


def q(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


@dataclass
class TableAt:
    """Where a table sits: its sheet, first and last data rows, header -> column letter."""
    sheet: str
    first: int
    last: int
    cols: dict[str, str]
    grows: bool = True   # tasks, indicators, problems: filler may add rows

    @property
    def end(self) -> int:
        return self.first + EXTENT - 1 if self.grows else self.last

    def rng(self, header: str, absolute=True) -> str:
        c = self.cols[header]
        if absolute:
            return f"{q(self.sheet)}!${c}${self.first}:${c}${self.end}"
        return f"{c}{self.first}:{c}{self.end}"


@dataclass
class Layout:
    names: dict[str, tuple[str, str]]          # defined name -> (sheet, "B5")
    tables: dict[str, TableAt]


# ---------------------------------------------------------------- value semantics (as Excel)

def _blank(v) -> bool:
    # LEN(TRIM(x))=0: TRIM removes ASCII spaces only
    return v is None or (isinstance(v, str) and not v.strip(" "))


def _number(v):
    return calc.num(v)


def _trim(v):
    # TRIM: no leading or trailing spaces, inner runs of spaces made one (other whitespace kept)
    return " ".join(p for p in v.split(" ") if p) if isinstance(v, str) else v


# ---------------------------------------------------------------- row conditions

@dataclass(frozen=True)
class Atom:
    """One condition on a row (table) or on named cells: op over operands.

    Operands are table headers (in a row check), defined names (in a name check) or numbers.
    ops: num (ISNUMBER), lt / gt (numeric comparison; operands gated by num), blank, filled,
    ne (TRIM(x)<>"text").
    """
    op: str
    a: str
    b: object = None

    def excel(self, ref: Callable[[str], str]) -> str:
        x = ref(self.a)
        y = ref(self.b) if isinstance(self.b, str) and self.op in ("lt", "gt", "outside") else self.b
        if self.op == "num":
            return f"ISNUMBER({x})"
        if self.op == "lt":
            return f"({x}<{_lit(y)})"
        if self.op == "gt":
            return f"({x}>{_lit(y)})"
        if self.op == "blank":
            return f"(LEN(TRIM({x}))=0)"
        if self.op == "filled":
            return f"(LEN(TRIM({x}))>0)"
        if self.op == "ne":
            return f'(TRIM({x})<>"{self.b}")'
        if self.op in ("rate_below", "rate_above"):
            return _rate_excel(x, self.op == "rate_above", self.b)
        if self.op == "any":   # conditions that exclude each other: a sum works in arrays too
            return "(((" + ")+(".join(c.excel(ref) for c in self.b) + "))>0)"
        if self.op == "placeholder":   # b: the range holding the words (the panel's hidden column)
            return f"(LEN(TRIM({x}))>0)*ISNUMBER(MATCH(TRIM({x}),{self.b[0]},0))"
        if self.op == "notnum":
            return f"(ISNUMBER({x})=FALSE)"
        if self.op == "outside":   # OR() would collapse an array: add the comparisons instead
            return f"(({x}<0)+({x}>{y})>0)"
        raise ValueError(self.op)

    def py(self, get: Callable[[str], object]) -> bool:
        x = get(self.a)
        if self.op == "num":
            return _number(x) is not None
        if self.op in ("lt", "gt"):
            y = get(self.b) if isinstance(self.b, str) else self.b
            nx, ny = _number(x), _number(y)
            if nx is None or ny is None:
                return False
            return nx < ny if self.op == "lt" else nx > ny
        if self.op == "blank":
            return _blank(x)
        if self.op == "filled":
            return not _blank(x)
        if self.op == "ne":
            return _trim("" if x is None else x) != self.b
        if self.op in ("rate_below", "rate_above"):
            return _rate_py(x, self.op == "rate_above", self.b)
        if self.op == "any":
            return any(c.py(get) for c in self.b)
        if self.op == "placeholder":   # MATCH compares text without regard to case
            return isinstance(x, str) and bool(_trim(x)) and _trim(x).casefold() in self.b[1]
        if self.op == "notnum":
            return _number(x) is None
        if self.op == "outside":
            nx, ny = _number(x), _number(get(self.b))
            return nx is not None and ny is not None and (nx < 0 or nx > ny)
        raise ValueError(self.op)


# 完成率 judged as shown (0.00%, half away from zero), as the Python rules judge it: below 100%
# when under 0.99995, above the threshold from threshold + 0.00005 on. Comparisons only: inside
# SUMPRODUCT, arithmetic on a text cell would turn the whole sum into #VALUE!, and IF() over
# ranges would need an array formula in Excel.
_HALF_SHOWN = Fraction(1, 20000)


def _rate_bound(above: bool, threshold) -> float:
    return float(Fraction(threshold) + _HALF_SHOWN) if above else float(1 - _HALF_SHOWN)


def _rate_excel(x: str, above: bool, threshold) -> str:
    b = _rate_bound(above, threshold)
    # ISNUMBER first: Excel ranks any text above every number
    return f"(ISNUMBER({x})*({x}>={b!r}))" if above else f"(ISNUMBER({x})*({x}<{b!r}))"


def _rate_py(v, above: bool, threshold) -> bool:
    n = _number(v)
    if n is None:
        return False
    b = _rate_bound(above, threshold)
    return n >= b if above else n < b


def excel_round(x: float, places: int) -> float:
    """Excel's ROUND: half away from zero on the number's decimal digits."""
    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(d)


def _lit(v) -> str:
    if isinstance(v, str):
        return v
    return f"{float(v):g}"


def num(a):
    return Atom("num", a)


def lt(a, b):
    return Atom("lt", a, b)


def gt(a, b):
    return Atom("gt", a, b)


def blank(a):
    return Atom("blank", a)


def filled(a):
    return Atom("filled", a)


def ne(a, text):
    return Atom("ne", a, text)


# ---------------------------------------------------------------- checks

# Placeholder in a conditional-format formula for the panel cell holding the check's count:
# Excel caps such formulas at 255 characters, so long conditions are not repeated there.
COUNT_CELL = "{count}"
CF_MAX_CHARS = 255

Getter = Callable[[str, str], object]     # (sheet, "B5") -> value as a spreadsheet holds it


@dataclass
class Result:
    count: int
    first: tuple[str, str] | None   # (sheet, "I5") of the first failing cell


@dataclass
class Check:
    key: str
    rule: str          # the Python rule this line mirrors
    label: str         # the panel's text
    severity: str      # error | warning
    sheet: str         # the sheet of every cell this check marks
    count: str         # Excel expression: number of failing cells
    first: str         # Excel expression: coordinate text ("I5") of the first failing cell, "" if none
                       # (may read the panel's count cell through COUNT_CELL)
    cf: list[tuple[str, str]]        # (sqref, formula) conditional formats on `sheet`
    py: Callable[[Getter], Result]


def _row_check(key, rule, label, severity, t: TableAt, when: list[Atom], flag: str) -> Check:
    return _row_pairs(key, rule, label, severity, t, [(when, flag)])


def _row_pairs(key, rule, label, severity, t: TableAt, pairs: list[tuple[list[Atom], str]]) -> Check:
    """Rows of table `t` where a pair's conditions hold mark that pair's column (one or two pairs)."""
    assert 1 <= len(pairs) <= 2
    rel = lambda h: f"${t.cols[h]}{t.first}"
    arr = lambda h: t.rng(h)
    prods, firsts, cf = [], [], []
    for when, flag in pairs:
        col = t.cols[flag]
        prod = "*".join(a.excel(arr) for a in when)
        prods.append(prod)
        firsts.append((col, f"({_BIG}-SUMPRODUCT(MAX(({prod})*({_BIG}-ROW({t.rng(flag)})))))"))
        cf.append((f"{col}{t.first}:{col}{t.end}", "AND(" + ",".join(a.excel(rel) for a in when) + ")"))
    count = "+".join(f"SUMPRODUCT({p})" for p in prods)
    if len(firsts) == 1:
        (c1, r1), = firsts
        at = f'"{c1}"&{r1}'
    else:
        (c1, r1), (c2, r2) = firsts
        at = f'IF({r1}<={r2},"{c1}"&{r1},"{c2}"&{r2})'
    first = f'IF({COUNT_CELL}=0,"",{at})'

    def py(get: Getter) -> Result:
        n, best = 0, None
        for r in range(t.first, t.end + 1):
            g = lambda h, r=r: get(t.sheet, f"{t.cols[h]}{r}")
            for when, flag in pairs:
                if all(a.py(g) for a in when):
                    n += 1
                    best = best or (t.sheet, f"{t.cols[flag]}{r}")
        return Result(n, best)

    return Check(key, rule, label, severity, t.sheet, count, first, cf, py)


def _required_in_rows(key, label, t: TableAt, required: list[str], skip=("完成率",), qual=False) -> Check:
    """VAL035: in a filled row (any input cell not blank; formula columns `skip` do not count),
    every required column is filled; a 定性 indicator needs its 完成率 typed (`qual`)."""
    inputs = [h for h in t.cols if h not in skip]
    rel = lambda h: f"${t.cols[h]}{t.first}"
    filled_arr = f"(LEN(TRIM({'&'.join(t.rng(h) for h in inputs)}))>0)"
    filled_rel = f"(LEN(TRIM({'&'.join(rel(h) for h in inputs)}))>0)"
    holes = [(h, f"(LEN(TRIM({t.rng(h)}))=0)", f"(LEN(TRIM({rel(h)}))=0)") for h in required]
    if qual:
        d, r = "指标方向", "完成率"
        holes.append((r, f'(TRIM({t.rng(d)})="定性")*(LEN(TRIM({t.rng(r)}))=0)',
                      f'(TRIM({rel(d)})="定性")*(LEN(TRIM({rel(r)}))=0)'))
    count = "+".join(f"SUMPRODUCT({filled_arr}*{arr})" for _, arr, _ in holes)
    anyhole = "(((" + ")+(".join(arr for _, arr, _ in holes) + "))>0)"
    col0 = t.cols[required[0]]
    row = f"({_BIG}-SUMPRODUCT(MAX({filled_arr}*({anyhole})*({_BIG}-ROW({t.rng(required[0])})))))"
    first = f'IF({COUNT_CELL}=0,"","{col0}"&{row})'   # the row's first required cell: its holes are red
    cf = [(f"{t.cols[h]}{t.first}:{t.cols[h]}{t.end}", f"AND({filled_rel},{one})") for h, _, one in holes]

    def py(get: Getter) -> Result:
        n, best = 0, None
        for r in range(t.first, t.end + 1):
            v = {h: get(t.sheet, f"{t.cols[h]}{r}") for h in t.cols}
            if all(_blank(v[h]) for h in inputs):
                continue
            k = sum(_blank(v[h]) for h in required)
            if qual and _trim(v["指标方向"] or "") == "定性" and _blank(v["完成率"]):
                k += 1
            if k:
                n += k
                best = best or (t.sheet, f"{col0}{r}")
        return Result(n, best)

    return Check(key, "VAL035", label, "error", t.sheet, count, first, cf, py)


def _names_check(key, rule, label, severity, layout: Layout, names: list[str],
                 when: Callable[[str], list[Atom]]) -> Check:
    """One failing cell per name whose conditions hold (conditions refer to defined names)."""
    conds = {n: "AND(" + ",".join(a.excel(lambda s: s) for a in when(n)) + ")" for n in names}
    count = "+".join(f"IF({c},1,0)" for c in conds.values())
    sheet = _one_sheet(layout, names)
    first = '""'
    for n in reversed(names):
        first = f'IF({conds[n]},"{layout.names[n][1]}",{first})'
    cf = [(layout.names[n][1], conds[n]) for n in names]

    def py(get: Getter) -> Result:
        g = lambda s: get(*layout.names[s])
        bad = [n for n in names if all(a.py(g) for a in when(n))]
        return Result(len(bad), layout.names[bad[0]] if bad else None)

    return Check(key, rule, label, severity, sheet, count, first, cf, py)


def _one_sheet(layout: Layout, names) -> str:
    sheets = {layout.names[n][0] for n in names}
    assert len(sheets) == 1, f"a live check marks cells of one sheet: {names}"
    return sheets.pop()


def _breakdown(key, rule, label, layout: Layout, parts: list[str], total: str) -> Check:
    """Σ parts = total at shown precision (2 decimals): some values inside the parts' and the
    total's rounding intervals (half-open, ±0.005; a blank part is an exact 0) make it true."""
    n_filled = "+".join(f"IF(LEN(TRIM({p}))>0,1,0)" for p in parts)
    n_num = "+".join(f"IF(ISNUMBER({p}),1,0)" for p in parts)
    diff = "ABS(" + "+".join(f"IF(ISNUMBER({p}),ROUND({p},2),0)" for p in parts) + f"-ROUND({total},2))"
    # IF, not AND, guards the arithmetic: AND evaluates every argument, and text would raise #VALUE!
    cond = (f"IF(AND(ISNUMBER({total}),{n_filled}>0,{n_filled}={n_num}),"
            f"ROUND({diff},2)>=0.005*({n_filled}+1),FALSE)")
    count = f"IF({cond},1,0)"
    # the finding points at the first filled part; every filled part turns red
    sheet = _one_sheet(layout, [*parts, total])
    first = '""'
    for p in reversed(parts):
        first = f'IF(LEN(TRIM({p}))>0,"{layout.names[p][1]}",{first})'
    first = f'IF({cond},{first},"")'
    cf = [(layout.names[p][1], f"AND({COUNT_CELL}>0,LEN(TRIM({p}))>0)") for p in parts]

    def py(get: Getter) -> Result:
        vals = [get(*layout.names[p]) for p in parts]
        tv = _number(get(*layout.names[total]))
        filled_ = [v for v in vals if not _blank(v)]
        nums = [_number(v) for v in vals]
        if tv is None or not filled_ or len(filled_) != sum(x is not None for x in nums):
            return Result(0, None)
        d = abs(sum(round(x, 2) for x in nums if x is not None) - round(tv, 2))
        if round(d, 2) >= 0.005 * (len(filled_) + 1):
            at = next(p for p, v in zip(parts, vals) if not _blank(v))
            return Result(1, layout.names[at])
        return Result(0, None)

    return Check(key, rule, label, "error", sheet, count, first, cf, py)


def _custom(key, rule, label, severity, cond: str, at: tuple[str, str], py_cond: Callable[[Getter], bool]) -> Check:
    """A whole-workbook condition counted once, marking one cell."""
    sheet, coord = at
    # a long condition is not repeated in the conditional format: it reads the panel's count
    cf = cond if len(cond) <= 200 else f"{COUNT_CELL}>0"
    return Check(key, rule, label, severity, sheet, f"IF({cond},1,0)", f'IF({cond},"{coord}","")',
                 [(coord, cf)], lambda get: Result(1, at) if py_cond(get) else Result(0, None))


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
    out.append(_names_check("texts", "TXT010", "文字说明未填写", "error", layout, texts,
                            lambda n: [blank(n)]))
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


def _placeholder_checks(layout: Layout, placeholders, below: Atom, above: Atom, low: Fraction) -> list[Check]:
    """EXP009: an explanation that is owed holds only a placeholder word (无, 同上 …)."""
    rng, words = placeholders
    keys = frozenset(_trim(w).casefold() for w in words if _trim(w))
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
