"""Numbers as districts write them: shown decimals, text-numbers, and rounding intervals.

A reported value stands for the interval its shown decimals allow (401.42 is 401.415…401.425).
A relation holds when some choice of values inside the inputs' intervals makes it exactly true,
so all arithmetic here is exact (Fraction) interval arithmetic: no epsilon anywhere.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context as DecimalContext, Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd


# ---------------------------------------------------------------- number formats

_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


@lru_cache(maxsize=512)
def format_decimals(fmt: str | None) -> tuple[int | None, bool]:
    """(decimals shown, is percent) for an Excel number format; (None, False) for General/text."""
    if not fmt or fmt == "General" or fmt == "@":
        return None, False
    section = fmt.split(";", 1)[0]
    section = _QUOTED.sub("", section)
    if not any(ch in section for ch in "0#?"):
        return None, False
    percent = "%" in section
    m = re.search(r"\.([0#?]+)", section)
    return (len(m.group(1)) if m else 0), percent


def value_decimals(value: float | int) -> int:
    """Decimals a General-format number shows (Excel shows up to ~10 significant digits)."""
    if isinstance(value, int) or float(value).is_integer():
        return 0
    s = format(float(value), ".10g")
    if "e" in s:
        mant, exp = s.split("e")
        d = len(mant.split(".")[1]) if "." in mant else 0
        return max(0, d - int(exp))
    return len(s.split(".")[1]) if "." in s else 0


def to_decimal(value) -> Decimal:
    if type(value) is float:   # the common case first: isinstance(…, Fraction) goes through the ABC machinery
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def round_shown(value: float | int | Fraction, scale: int) -> Decimal:
    """Round like Excel's display: half away from zero (exact for any finite value: the
    precision grows with the number's magnitude, 1.7976931348623157e308 included)."""
    d = to_decimal(value)
    prec = (d.adjusted() + scale + 3) if d.is_finite() and d else 0
    ctx = DecimalContext(prec=prec) if prec > 28 else None
    return d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=ctx)


def format_shown(value: float | int | Fraction, decimals: int | None, percent: bool = False) -> str:
    """The number as the cell shows it: 401.42, 96.03%, 1,288.38 is shown without separators."""
    if percent:
        d = 2 if decimals is None else decimals
        return f"{round_shown(to_decimal(value) * 100, d)}%"
    if decimals is None:
        decimals = value_decimals(value) if not isinstance(value, Fraction) else 2
    return f"{round_shown(value, decimals)}"


def format_amount(value: float | Fraction | None) -> str:
    return "" if value is None else f"{round_shown(value, 2)}"


def format_rate(value: float | Fraction | None, decimals: int = 2) -> str:
    return "" if value is None else format_shown(value, decimals, True)


class ErrorValue(str):
    """An Excel error value such as #DIV/0! or #REF! (a cell value: never a number)."""


# ---------------------------------------------------------------- intervals

# Beyond Excel's 15 significant digits a budget figure is no figure: such values (and NaN/inf
# from hostile files) are not numbers to the checks, so float sums in rules cannot overflow.
MAX_MAGNITUDE = 1e15


def _finite(v) -> bool:
    return isinstance(v, int) or (v - v == 0 and abs(v) < MAX_MAGNITUDE)

def _ratio(x) -> tuple[int, int]:
    """(numerator, denominator > 0) of an exact rational: int, Fraction, Decimal; a float as its
    shown decimal (repr), as everywhere here."""
    if type(x) is int:
        return x, 1
    if type(x) is Fraction:
        return x.numerator, x.denominator
    if isinstance(x, float):
        return _float_ratio(x)
    f = Fraction(x)
    return f.numerator, f.denominator


def _float_parts(v: float) -> tuple[int, int]:
    """(n, k) with v's repr equal to n * 10**-k (the same value as Decimal(repr(v)))."""
    mant, e, exp = repr(v).partition("e")
    ip, _, fp = mant.partition(".")
    return int(ip + fp), len(fp) - (int(exp) if e else 0)


def _float_ratio(v: float) -> tuple[int, int]:
    if not v - v == 0:   # inf, nan: fail as Fraction(Decimal(...)) does
        Fraction(to_decimal(v))   # raises ValueError / OverflowError
    n, k = _float_parts(v)
    return (n, 10 ** k) if k > 0 else (n * 10 ** -k, 1)


def _scaled_half_up(value, scale: int) -> int:
    """round_shown(value, scale) * 10**scale, exactly, for an int or a finite float."""
    if type(value) is int:
        return value * 10 ** scale
    n, k = _float_parts(value)           # value = n * 10**-k
    if scale >= k:
        return n * 10 ** (scale - k)
    unit = 10 ** (k - scale)
    q, r = divmod(abs(n), unit)
    if 2 * r >= unit:                    # half away from zero, like ROUND_HALF_UP
        q += 1
    return -q if n < 0 else q


class Interval:
    """[lo, hi] with exact rational ends, kept as integers (lo = ln/ld, hi = hn/hd, ld, hd > 0).

    Integers rather than Fraction objects: the rules build and compare thousands of intervals per
    workbook, and Fraction's per-operation type checks dominated. `lo` and `hi` are Fractions as
    before; comparisons inside use cross-multiplication, so everything stays exact.
    """
    __slots__ = ("ln", "ld", "hn", "hd")

    def __init__(self, lo, hi):
        self.ln, self.ld = _ratio(lo)
        self.hn, self.hd = _ratio(hi)

    @classmethod
    def _of(cls, ln: int, ld: int, hn: int, hd: int) -> "Interval":
        iv = object.__new__(cls)
        iv.ln, iv.ld, iv.hn, iv.hd = ln, ld, hn, hd
        return iv

    @property
    def lo(self) -> Fraction:
        return Fraction(self.ln, self.ld)

    @property
    def hi(self) -> Fraction:
        return Fraction(self.hn, self.hd)

    def __eq__(self, o):
        if not isinstance(o, Interval):
            return NotImplemented
        return self.ln * o.ld == o.ln * self.ld and self.hn * o.hd == o.hn * self.hd

    def __hash__(self):
        return hash((self.lo, self.hi))

    def __repr__(self):
        return f"Interval(lo={self.lo!r}, hi={self.hi!r})"

    def __reduce__(self):
        return Interval, (self.lo, self.hi)

    @classmethod
    def exact(cls, value: float | int | Fraction) -> "Interval":
        n, d = _ratio(value)
        return cls._of(n, d, n, d)

    @classmethod
    def shown(cls, value: float | int | Fraction, decimals: int | None, percent: bool = False) -> "Interval":
        """The interval a reported value stands for, given the decimals it is shown with."""
        t = type(value)
        if decimals is None:
            if t is int:
                decimals = 0
            else:
                decimals = value_decimals(value) if t is float or not isinstance(value, Fraction) else 10
            percent = False  # decimals of the raw value already count in fraction units
        scale = decimals + 2 if percent else decimals
        if t is int:
            m = value * 10 ** scale
        elif t is float and value - value == 0:
            m = _scaled_half_up(value, scale)
        else:   # Fraction, Decimal, bool …: the general Decimal rounding
            mid = Fraction(round_shown(value, scale))
            m = mid.numerator * 10 ** scale // mid.denominator
        d = 2 * 10 ** scale
        return cls._of(2 * m - 1, d, 2 * m + 1, d)

    @classmethod
    def of_cell(cls, cell) -> "Interval | None":
        """Interval of a numeric cell (None when it holds no number)."""
        v = cell.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
            return None
        return cls.shown(v, cell.decimals, cell.percent)

    @property
    def mid(self) -> Fraction:
        return Fraction(self.ln * self.hd + self.hn * self.ld, 2 * self.ld * self.hd)

    def __add__(self, o: "Interval") -> "Interval":
        return Interval._of(*_add(self.ln, self.ld, o.ln, o.ld), *_add(self.hn, self.hd, o.hn, o.hd))

    def __sub__(self, o: "Interval") -> "Interval":
        return Interval._of(*_add(self.ln, self.ld, -o.hn, o.hd), *_add(self.hn, self.hd, -o.ln, o.ld))

    def __neg__(self) -> "Interval":
        return Interval._of(-self.hn, self.hd, -self.ln, self.ld)

    def __mul__(self, o: "Interval") -> "Interval":
        ln, ld, hn, hd = self.ln, self.ld, self.hn, self.hd
        oln, old, ohn, ohd = o.ln, o.ld, o.hn, o.hd
        if ln >= 0 and oln >= 0:          # both non-negative: the common case, no search
            return Interval._of(ln * oln, ld * old, hn * ohn, hd * ohd)
        p = ((ln * oln, ld * old), (ln * ohn, ld * ohd), (hn * oln, hd * old), (hn * ohn, hd * ohd))
        lo = hi = p[0]
        for q in p[1:]:
            if q[0] * lo[1] < lo[0] * q[1]:
                lo = q
            if q[0] * hi[1] > hi[0] * q[1]:
                hi = q
        return Interval._of(lo[0], lo[1], hi[0], hi[1])

    def __truediv__(self, o: "Interval") -> "Interval | None":
        """None when the divisor's interval contains 0 (the quotient is unbounded)."""
        if o.ln <= 0 <= o.hn:
            return None
        # 1/[a, b] = [1/b, 1/a] for 0 outside [a, b]; denominators kept positive
        ihn, ihd = (o.ld, o.ln) if o.ln > 0 else (-o.ld, -o.ln)
        iln, ild = (o.hd, o.hn) if o.hn > 0 else (-o.hd, -o.hn)
        return self * Interval._of(iln, ild, ihn, ihd)

    def contains(self, x: Fraction | float | int) -> bool:
        n, d = _ratio(x)
        return self.ln * d <= n * self.ld and n * self.hd <= self.hn * d

    def intersects(self, o: "Interval") -> bool:
        return self.ln * o.hd <= o.hn * self.ld and o.ln * self.hd <= self.hn * o.ld

    def clamp_max(self, cap: Fraction) -> "Interval":
        n, d = _ratio(cap)
        ln, ld = (self.ln, self.ld) if self.ln * d <= n * self.ld else (n, d)
        hn, hd = (self.hn, self.hd) if self.hn * d <= n * self.hd else (n, d)
        return Interval._of(ln, ld, hn, hd)

    def hull(self, o: "Interval") -> "Interval":
        ln, ld = (self.ln, self.ld) if self.ln * o.ld <= o.ln * self.ld else (o.ln, o.ld)
        hn, hd = (self.hn, self.hd) if self.hn * o.hd >= o.hn * self.hd else (o.hn, o.hd)
        return Interval._of(ln, ld, hn, hd)

    # comparisons with a number, without building Fractions (hot in the rules)
    def lo_above(self, x) -> bool:
        """lo > x: every value is above x."""
        if type(x) is int:
            return self.ln > x * self.ld
        n, d = _ratio(x)
        return self.ln * d > n * self.ld

    def hi_below(self, x) -> bool:
        """hi < x: every value is below x."""
        if type(x) is int:
            return self.hn < x * self.hd
        n, d = _ratio(x)
        return self.hn * d < n * self.hd

    def above_all(self, o: "Interval") -> bool:
        """lo > o.hi: every value is above every value of `o`."""
        return self.ln * o.hd > o.hn * self.ld


def _add(an: int, ad: int, bn: int, bd: int) -> tuple[int, int]:
    """an/ad + bn/bd over the least common denominator (shown decimals share theirs)."""
    if ad == bd:
        return an + bn, ad
    g = gcd(ad, bd)
    return an * (bd // g) + bn * (ad // g), ad // g * bd


def sum_intervals(items) -> Interval:
    total = Interval._of(0, 1, 0, 1)
    for i in items:
        total = total + i
    return total


# ---------------------------------------------------------------- text-numbers

FUZZY_MARKERS = ("余", "多", "超过", "超", "近", "约", "逾", "左右", "以上", "上下", "大约", "若干", "几")
_NUM = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """What a cell's content means as a number.

    kind: "number" (a real number), "text" (digits stored as text), "fullwidth" (full-width
    digits), "unit" (a number followed by a unit), "fuzzy" (余/超过/近…), "none" (no number).
    """
    kind: str
    value: float | None = None
    decimals: int | None = None
    percent: bool = False
    extra: str = ""            # the unit or fuzzy word found


@lru_cache(maxsize=4096)
def _parse_text(s: str) -> ParsedNumber:
    raw = s.strip()
    norm = unicodedata.normalize("NFKC", raw).replace("，", ",").strip()
    fullwidth = norm != raw and any("\uff10" <= ch <= "\uff19" or ch in "．％" for ch in raw)
    m = _NUM.search(norm)
    if not m:
        return ParsedNumber("none")
    digits = m.group(0).replace(",", "")
    before, after = norm[: m.start()].strip(), norm[m.end():].strip()
    percent = after.startswith("%")
    if percent:
        after = after[1:].strip()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    val = float(digits) / (100 if percent else 1)
    if not _finite(val):
        return ParsedNumber("none")
    fuzzy = [w for w in FUZZY_MARKERS if w in before or after.startswith(w) or w in after[:3]]
    if fuzzy:
        return ParsedNumber("fuzzy", val, decimals, percent, fuzzy[0])
    if before or after:
        if before and not after and before in ("¥", "￥", "$"):
            return ParsedNumber("unit", val, decimals, percent, before)
        if before:
            return ParsedNumber("none")
        return ParsedNumber("unit", val, decimals, percent, after)
    return ParsedNumber("fullwidth" if fullwidth else "text", val, decimals, percent)


def parse_number(value) -> ParsedNumber:
    if isinstance(value, bool) or value is None:
        return ParsedNumber("none")
    if isinstance(value, (int, float)):
        return ParsedNumber("number", float(value)) if _finite(value) else ParsedNumber("none")
    if isinstance(value, str):
        return _parse_text(value)
    return ParsedNumber("none")


def number_interval(cell) -> Interval | None:
    """Interval of a cell's number, also when typed as text ("96.03%" → 96.025%…96.035%)."""
    iv = Interval.of_cell(cell)
    if iv is not None:
        return iv
    p = parse_number(cell.value)
    if p.value is None or p.kind == "none":
        return None
    return Interval.shown(p.value, p.decimals, p.percent)


# ---------------------------------------------------------------- numbers of cells (memoized)

_NONE = ParsedNumber("none")
_NUMERIC_KINDS = frozenset(("number", "text", "fullwidth", "unit"))


def _parse_value(v) -> ParsedNumber:
    """parse_number, with an error value (#DIV/0! …) as no number."""
    if v is None or isinstance(v, bool):
        return _NONE
    if isinstance(v, (int, float)):
        return ParsedNumber("number", float(v)) if _finite(v) else _NONE
    if isinstance(v, str) and not isinstance(v, ErrorValue):
        return _parse_text(v)
    return _NONE


def _interval_of(cell) -> Interval | None:
    v = cell.value
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _shown_or_none(v, cell.decimals, cell.percent) if _finite(v) else None
    p = cell_parsed(cell)
    if p.kind in _NUMERIC_KINDS and p.value is not None:
        return _shown_or_none(p.value, p.decimals, p.percent)
    return None


@lru_cache(maxsize=16384, typed=True)   # intervals are immutable; the same figures recur in and across workbooks
def _shown_or_none(value, decimals, percent) -> Interval | None:
    try:
        return Interval.shown(value, decimals, percent)
    except (ArithmeticError, ValueError):   # inf, nan: no interval
        return None


def cell_parsed(cell) -> ParsedNumber:
    """parse_number of a cell's value (an error value, such as #DIV/0!, is no number)."""
    return _parse_value(cell.value)


def cell_interval(cell) -> Interval | None:
    """Rounding interval of the number a cell holds (shown decimals), also for text-numbers
    ("96.03%" → 96.025%…96.035%); None for fuzzy text, blanks, errors and non-numbers."""
    return _interval_of(cell)


def cell_number(cell) -> float | None:
    """The number a cell holds, also when plainly typed as text; None for fuzzy text, blanks,
    errors and non-numbers (parse_number's value for the numeric kinds)."""
    v = cell.value
    t = type(v)
    if t is float:        # no ParsedNumber needed for the common case
        return v if v - v == 0 and abs(v) < MAX_MAGNITUDE else None
    if t is int:
        return float(v)
    p = cell_parsed(cell)
    return p.value if p.kind in _NUMERIC_KINDS else None
