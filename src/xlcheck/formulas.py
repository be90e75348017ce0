"""Point values of every formula the template holds, next to the Excel text of that formula.

Each function computes exactly what its Excel formula computes (the template writes the formula
text from here): a result is "" when an input is missing or not a number, or a divisor is 0.
These values are only the cached values shown to readers; the checker itself works with
rounding intervals (numbers.py) and never trusts them.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Mapping

from .numbers import Interval, cell_number

Value = float | str   # "" stands for a blank result

# Excel's ISNUMBER is true for dates too (they are serial numbers)
_EPOCH = _dt.datetime(1899, 12, 30)


def num(v) -> float | None:
    """The number Excel's ISNUMBER accepts, or None (text, bool, blank, error)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, _dt.datetime):
        return (v - _EPOCH).total_seconds() / 86400
    if isinstance(v, _dt.date):
        return float((v - _EPOCH.date()).days)
    return None


def _eq(a: float, b: float) -> bool:
    # spreadsheet comparisons treat values equal to ~15 digits (LibreOffice's approxEqual)
    if a == b:
        return True
    if a == 0 or b == 0:
        return False
    d = abs(a - b)
    e = 2.0 ** -48
    return d < e * abs(a) and d < e * abs(b)


# ---------------------------------------------------------------- single cells

EXCEL = {
    "budget_adjusted":
        '=IF(AND(ISNUMBER(budget_initial),ISNUMBER(budget_adjustment)),'
        'budget_initial+budget_adjustment,"")',
    "budget_completion_rate":
        '=IF(AND(ISNUMBER(spend_actual),ISNUMBER(budget_adjusted)),'
        'IF(budget_adjusted=0,"",spend_actual/budget_adjusted),"")',
    "budget_adjust_rate":
        '=IF(AND(ISNUMBER(budget_adjustment),ISNUMBER(budget_initial)),'
        'IF(budget_initial=0,"",budget_adjustment/budget_initial),"")',
    "spend_yoy_rate":
        '=IF(AND(ISNUMBER(spend_actual),ISNUMBER(spend_prev_year)),'
        'IF(spend_prev_year=0,"",(spend_actual-spend_prev_year)/spend_prev_year),"")',
    "project_eval_share":
        '=IF(AND(ISNUMBER(project_eval_funds),ISNUMBER(spend_project)),'
        'IF(spend_project=0,"",project_eval_funds/spend_project),"")',
}

# formula name -> defined names it reads, in evaluation order (score_total/grade read tables)
INPUTS = {
    "budget_adjusted": ("budget_initial", "budget_adjustment"),
    "budget_completion_rate": ("spend_actual", "budget_adjusted"),
    "budget_adjust_rate": ("budget_adjustment", "budget_initial"),
    "spend_yoy_rate": ("spend_actual", "spend_prev_year"),
    "project_eval_share": ("project_eval_funds", "spend_project"),
    "score_total": (),
    "grade": ("score_total",),
}
FORMULA_NAMES = tuple(INPUTS)


def _quotient(a, b):
    """a / b for floats, Fractions and Intervals; None where the spreadsheet shows "" (b = 0) or,
    for an interval, where b's interval contains 0."""
    if isinstance(b, Interval):
        return a / b
    return None if b == 0 else a / b


def _less_one(q):
    if q is None:
        return None
    return q - Interval(Fraction(1), Fraction(1)) if isinstance(q, Interval) else q - 1


# Each relation of the template once. The same function evaluates the spreadsheet's floats (the
# cached values fill.py writes), the filler's figures at face value (Fractions: thresholds) and
# rounding intervals (Intervals: consistency checks).
RELATIONS = {
    "budget_adjusted": lambda initial, adjustment: initial + adjustment,
    "budget_completion_rate": lambda spend, adjusted: _quotient(spend, adjusted),
    "budget_adjust_rate": lambda adjustment, initial: _quotient(adjustment, initial),
    # (a − p) / p as a / p − 1: each input once, so an interval stays exact
    "spend_yoy_rate": lambda spend, prev: _less_one(_quotient(spend, prev)),
    "project_eval_share": lambda funds, project: _quotient(funds, project),
}


def relation(name: str, *args):
    """The relation `name` over numbers of one kind (float, Fraction or Interval); None when an
    input is missing or the result is undefined."""
    if any(a is None for a in args):
        return None
    return RELATIONS[name](*args)


def _spreadsheet(name: str, *values) -> Value:
    """What the template's formula shows for these cell values ("" for a blank result)."""
    nums = [num(v) for v in values]
    r = relation(name, *nums)
    return "" if r is None else r


def budget_adjusted(budget_initial, budget_adjustment) -> Value:
    return _spreadsheet("budget_adjusted", budget_initial, budget_adjustment)


def budget_completion_rate(spend_actual, budget_adjusted) -> Value:
    return _spreadsheet("budget_completion_rate", spend_actual, budget_adjusted)


def budget_adjust_rate(budget_adjustment, budget_initial) -> Value:
    return _spreadsheet("budget_adjust_rate", budget_adjustment, budget_initial)


def spend_yoy_rate(spend_actual, spend_prev_year) -> Value:
    return _spreadsheet("spend_yoy_rate", spend_actual, spend_prev_year)


def project_eval_share(project_eval_funds, spend_project) -> Value:
    return _spreadsheet("project_eval_share", project_eval_funds, spend_project)


# ---------------------------------------------------------------- score total and grade

SCORE_DECIMALS = 6   # rounds away float noise of the sum so the grade bands cut cleanly


def score_total_formula(score_range: str) -> str:
    return f'=IF(COUNT({score_range})=0,"",ROUND(SUM({score_range}),{SCORE_DECIMALS}))'


def score_total(scores: Iterable) -> Value:
    """SUM of the numeric 自评得分 (text and blanks ignored, like SUM); "" when none is numeric."""
    vals = [n for n in (num(v) for v in scores) if n is not None]
    return round(math.fsum(vals), SCORE_DECIMALS) if vals else ""


def _bands(framework):
    """[(grade, lower bound)], highest first, from a Framework or such a list."""
    if hasattr(framework, "grades"):
        return [(g.name, float(g.lower)) for g in framework.grades]
    return [(n, float(lo)) for n, lo in framework]


_BAND_RE = re.compile(r'IF\(score_total>=(-?[0-9.]+),"([^"]*)",')


def grade_bands_from_formula(formula: str):
    """The bands a grade formula written by grade_formula() encodes, or None for another formula."""
    found = _BAND_RE.findall(formula or "")
    last = re.search(r',"([^"]*)"\)*,""\)$', formula or "")
    if not found or not last:
        return None
    bands = [(n, float(lo)) for lo, n in found] + [(last.group(1), float("-inf"))]
    return bands if grade_formula(bands) == formula else None


def grade_formula(framework) -> str:
    bands = _bands(framework)
    expr = f'"{bands[-1][0]}"'
    for name, lower in reversed(bands[:-1]):
        expr = f'IF(score_total>={lower:g},"{name}",{expr})'
    return f'=IF(ISNUMBER(score_total),{expr},"")'


def grade(score_total, framework) -> str:
    s = num(score_total)
    if s is None:
        return ""
    bands = _bands(framework)
    for name, lower in bands[:-1]:
        if s > lower or _eq(s, lower):
            return name
    return bands[-1][0]


# ---------------------------------------------------------------- indicator completion rate

GE, LE, EQ, QUAL = "≥", "≤", "=", "定性"
DIRECTIONS = (GE, LE, EQ, QUAL)


def indicator_rate_formula(direction: str, target: str, actual: str) -> str:
    """Excel formula of 完成率 for one row, given the cell refs of 指标方向, 年度目标值, 年度实现值."""
    d, t, a = direction, target, actual
    return (f'=IFERROR(IF(AND(ISNUMBER({t}),ISNUMBER({a})),'
            f'IF(OR({d}="≥",{d}=">="),{a}/{t},'
            f'IF(OR({d}="≤",{d}="<="),IF({a}<={t},1,{t}/{a}),'
            f'IF({d}="=",IF({a}={t},1,{a}/{t}),""))),""),"")')


def indicator_rate(direction, target, actual) -> Value | Fraction:
    """完成率 by SPEC 2.2: ≥ actual/target; ≤ 100% if actual ≤ target else target/actual;
    = 100% if equal else actual/target; 定性 (or anything else) "" — the filler types it.

    Cell values give the float a spreadsheet computes; two Fractions (face values, see
    `face_value`) give the exact rate."""
    exact = isinstance(target, Fraction) and isinstance(actual, Fraction)
    t, a = (target, actual) if exact else (num(target), num(actual))
    if t is None or a is None or not isinstance(direction, str):
        return ""
    one = Fraction(1) if exact else 1.0
    if direction in (GE, ">="):
        q = _quotient(a, t)
    elif direction in (LE, "<="):
        q = one if a < t or _eq(a, t) else _quotient(t, a)
    elif direction == EQ:
        q = one if _eq(a, t) else _quotient(a, t)
    else:
        q = None
    return "" if q is None else q


_ONE = Fraction(1)
_DIRECTION_ALIASES = {">=": GE, "≥": GE, "=>": GE, "≧": GE, "<=": LE, "≤": LE, "=<": LE, "≦": LE,
                      "=": EQ, "==": EQ, "定性": QUAL}


@lru_cache(maxsize=1024)
def _direction_text(value: str) -> str | None:
    s = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
    return _DIRECTION_ALIASES.get(s, s) if s else None


def direction(value) -> str | None:
    """指标方向 as one of ≥ ≤ = 定性 (also >=, <=, full-width forms); the stripped text otherwise;
    None when blank (the template's formula then computes no 完成率)."""
    if value is None:
        return None
    return _direction_text(value if isinstance(value, str) else str(value))


def indicator_rate_candidates(d: str, t: Interval, a: Interval) -> list[Interval] | None:
    """indicator_rate over rounding intervals (consistency checks): the values 完成率 can take for
    target t and actual a inside their intervals, one interval per branch of the formula; None when
    it cannot be computed (division by an interval containing 0, negative inputs)."""
    if d == GE:
        q = a / t
        return None if q is None else [q]
    if d == LE:
        if t.lo < 0 or a.lo < 0:
            return None
        out = []
        if a.lo <= t.hi:
            out.append(Interval(_ONE, _ONE))
        if a.hi > t.lo:   # some a > t: t / a, between t.lo / a.hi and (almost) min(1, t.hi / a.lo)
            hi = min(_ONE, t.hi / a.lo) if a.lo > 0 else _ONE
            out.append(Interval(t.lo / a.hi, hi))
        return out
    if d == EQ:
        q = a / t
        if q is None:
            return None
        return ([Interval(_ONE, _ONE)] if a.intersects(t) else []) + [q]
    return None




def face_value(cell) -> Fraction | None:
    """The number a cell holds exactly as the filler wrote it (also a plain text-number such as
    "1,288.38" or "９６．０３％"); None for fuzzy text ("1000余人次"), blanks, errors and dates.
    Threshold judgements (below 100 %, above budget …) use these, never rounding intervals."""
    if cell is None:
        return None
    v = cell_number(cell)
    return None if v is None else Fraction(repr(v))


# ---------------------------------------------------------------- all named formulas at once

FUNCS = {
    "budget_adjusted": budget_adjusted,
    "budget_completion_rate": budget_completion_rate,
    "budget_adjust_rate": budget_adjust_rate,
    "spend_yoy_rate": spend_yoy_rate,
    "project_eval_share": project_eval_share,
}


def compute_names(values: Mapping[str, object], scores: Iterable = (), *, framework=None,
                  formulas: Iterable[str] = FORMULA_NAMES) -> dict[str, Value]:
    """Values of the named formula cells listed in `formulas`, as a spreadsheet computes them.

    `values` maps defined names to what their cells hold; a formula name absent from `formulas`
    (its formula was overwritten by a constant) keeps its value from `values` and feeds the
    formulas that read it. `scores` are the 自评得分 column's values.
    """
    env = dict(values)
    formulas = set(formulas)
    out: dict[str, Value] = {}
    for name in FORMULA_NAMES:
        if name not in formulas:
            continue
        if name == "score_total":
            v = score_total(scores)
        elif name == "grade":
            v = grade(env.get("score_total"), framework)
        else:
            v = FUNCS[name](*(env.get(i) for i in INPUTS[name]))
        env[name] = out[name] = v
    return out
