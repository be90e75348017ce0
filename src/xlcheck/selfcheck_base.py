"""The machinery of the live checks (xlcheck.selfcheck): where tables sit, conditions written
once as Excel text (per row for conditional formats, over ranges for the panel's counts) and as
the same computation in Python, and the kinds of check built from them."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from xlcheck import formulas
from xlcheck.numbers import round_shown

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
    return formulas.num(v)


def _text(v) -> str:
    # the text a formula sees in a cell (LEN, TRIM): numbers as Excel writes them in General
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


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
        if self.op == "short":   # blank counts as short
            return f"(LEN(TRIM({x}))<{self.b})"
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
        if self.op == "short":
            return len(_trim(_text(x))) < self.b
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
    """Excel's ROUND: half away from zero on the number's decimal digits (any magnitude)."""
    return float(round_shown(float(x), places))


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
