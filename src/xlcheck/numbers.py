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


# ---------------------------------------------------------------- intervals

# Beyond Excel's 15 significant digits a budget figure is no figure: such values (and NaN/inf
# from hostile files) are not numbers to the checks, so float sums in rules cannot overflow.
MAX_MAGNITUDE = 1e15


def _finite(v) -> bool:
    return isinstance(v, int) or (v - v == 0 and abs(v) < MAX_MAGNITUDE)

@dataclass(frozen=True, slots=True)
class Interval:
    lo: Fraction
    hi: Fraction

    @classmethod
    def exact(cls, value: float | int | Fraction) -> "Interval":
        f = Fraction(value) if not isinstance(value, float) else Fraction(to_decimal(value))
        return cls(f, f)

    @classmethod
    def shown(cls, value: float | int | Fraction, decimals: int | None, percent: bool = False) -> "Interval":
        """The interval a reported value stands for, given the decimals it is shown with."""
        if decimals is None:
            decimals = value_decimals(value) if not isinstance(value, Fraction) else 10
            percent = False  # decimals of the raw value already count in fraction units
        scale = decimals + (2 if percent else 0)
        mid = Fraction(round_shown(value, scale))
        half = Fraction(1, 2 * 10 ** scale)
        return cls(mid - half, mid + half)

    @classmethod
    def of_cell(cls, cell) -> "Interval | None":
        """Interval of a numeric cell (None when it holds no number)."""
        v = cell.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
            return None
        return cls.shown(v, cell.decimals, cell.percent)

    @property
    def mid(self) -> Fraction:
        return (self.lo + self.hi) / 2

    def __add__(self, o: "Interval") -> "Interval":
        return Interval(self.lo + o.lo, self.hi + o.hi)

    def __sub__(self, o: "Interval") -> "Interval":
        return Interval(self.lo - o.hi, self.hi - o.lo)

    def __neg__(self) -> "Interval":
        return Interval(-self.hi, -self.lo)

    def __mul__(self, o: "Interval") -> "Interval":
        p = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return Interval(min(p), max(p))

    def __truediv__(self, o: "Interval") -> "Interval | None":
        """None when the divisor's interval contains 0 (the quotient is unbounded)."""
        if o.lo <= 0 <= o.hi:
            return None
        return self * Interval(1 / o.hi, 1 / o.lo)

    def contains(self, x: Fraction | float | int) -> bool:
        x = Fraction(x) if not isinstance(x, float) else Fraction(to_decimal(x))
        return self.lo <= x <= self.hi

    def intersects(self, o: "Interval") -> bool:
        return self.lo <= o.hi and o.lo <= self.hi

    def clamp_max(self, cap: Fraction) -> "Interval":
        return Interval(min(self.lo, cap), min(self.hi, cap))

    def hull(self, o: "Interval") -> "Interval":
        return Interval(min(self.lo, o.lo), max(self.hi, o.hi))


def sum_intervals(items) -> Interval:
    total = Interval(Fraction(0), Fraction(0))
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
