"""Helpers of the structure (STR), values (VAL) and arithmetic (ARI) families.

Kept small and stable: other families may import from here (read-only).

- `interface(ctx)`: the template's interface read from `interface.toml` of the checks directory
  (versions, sheets, names and their labels, tables and headers, dropdown choices).
- `number(cell)` / `interval(cell)` / `reported(cell)`: what a cell means as a number. Text that
  is plainly a number ("1,288.38", full-width "９６．０３％", "415.32 平方米") counts; fuzzy text
  ("1000余人次", "超过50场") does not (VAL reports it; ARI skips it).
- `direction(value)`: 指标方向 normalised to ≥ ≤ = 定性.
- `where(cell, iface)`: a Chinese description of a cell for messages ("绩效指标第 3 行“年度实现值”").
- formatting of amounts and rates for messages.

Rule-id coordination with the other families: VAL003–VAL006 report text in number cells
(including 自评得分), VAL034 non-numeric content there, VAL007 Excel error values; the range of
自评得分 and score_total = Σ 自评得分 belong to PTS.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from xlcheck import formulas
from xlcheck.formulas import EQ, GE, LE, QUAL  # noqa: F401  (the families import them from here)
from xlcheck.model import Cell
from xlcheck.rules import load_toml
from xlcheck.numbers import (Interval, ParsedNumber, cell_interval, cell_number, cell_parsed, format_shown,
                             round_shown, value_decimals)

NUMERIC_KINDS = ("number", "text", "fullwidth", "unit")
QUANT_DIRECTIONS = (GE, LE, EQ)


# ---------------------------------------------------------------- the template's interface

@dataclass(frozen=True)
class TableInterface:
    name: str
    label: str
    headers: tuple[str, ...]
    numbers: tuple[str, ...]        # number columns (every row)
    quantities: tuple[str, ...]     # number columns when 指标方向 is ≥ ≤ =
    required: tuple[str, ...]


@dataclass(frozen=True)
class Interface:
    versions: tuple[str, ...]
    compatible: dict                 # older version -> what the current one adds (same data layout)
    required: tuple[str, ...]
    formula_names: tuple[str, ...]
    amounts: tuple[str, ...]
    may_be_negative: tuple[str, ...]
    rates: tuple[str, ...]
    numbers: tuple[str, ...]
    counts: dict
    sheets: dict                     # sheet -> tuple of names and tables on it
    labels: dict
    tables: dict                     # name -> TableInterface
    directions: tuple[str, ...]
    task_status: tuple[str, ...]
    levels: dict                     # 一级指标 -> tuple of allowed 二级指标

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    def sheet_of(self, piece: str) -> str | None:
        for sheet, pieces in self.sheets.items():
            if piece in pieces:
                return sheet
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """Every defined name of the interface (in sheet order)."""
        return tuple(p for pieces in self.sheets.values() for p in pieces if p not in self.tables)

    @property
    def number_names(self) -> tuple[str, ...]:
        """Names whose cell holds a number (amounts, rates, counts, score_total)."""
        return self.amounts + self.rates + tuple(self.counts) + self.numbers


def interface(ctx_or_dir) -> Interface:
    """The interface of a checks directory (a Context, a Checks or a path), loaded once."""
    checks = getattr(ctx_or_dir, "checks", ctx_or_dir)
    if hasattr(checks, "derived"):
        iface = checks.derived.get("interface")
        if iface is None:
            iface = checks.derived["interface"] = _load_interface(str(checks.directory))
        return iface
    return _load_interface(str(Path(ctx_or_dir)))


@lru_cache(maxsize=8)
def _load_interface(directory: str) -> Interface:
    return _build(load_toml(Path(directory) / "interface.toml"))


def _t(v) -> tuple:
    return tuple(v or ())


def _build(data: dict) -> Interface:
    tables = {}
    for name, t in (data.get("tables") or {}).items():
        tables[name] = TableInterface(name, t.get("label", name), _t(t.get("headers")), _t(t.get("numbers")),
                                      _t(t.get("quantities")), _t(t.get("required")))
    choices = data.get("choices") or {}
    return Interface(
        versions=tuple(str(v) for v in data.get("versions", ())),
        compatible={str(k): str(v) for k, v in (data.get("compatible") or {}).items()},
        required=_t(data.get("required")), formula_names=_t(data.get("formula_names")),
        amounts=_t(data.get("amounts")), may_be_negative=_t(data.get("may_be_negative")),
        rates=_t(data.get("rates")), numbers=_t(data.get("numbers")),
        counts=dict(data.get("counts") or {}),
        sheets={s: _t(p) for s, p in (data.get("sheets") or {}).items()},
        labels=dict(data.get("labels") or {}), tables=tables,
        directions=_t(choices.get("directions")), task_status=_t(choices.get("task_status")),
        levels={k: _t(v) for k, v in (choices.get("levels") or {}).items()},
    )


# ---------------------------------------------------------------- numbers of cells

def parsed(cell: Cell | None) -> ParsedNumber:
    """parse_number of the cell's value; non-finite numbers (inf, nan) count as no number."""
    if cell is None:
        return _NO_NUMBER
    return cell_parsed(cell)


_NO_NUMBER = ParsedNumber("none")


def number(cell: Cell | None) -> float | None:
    """The number a cell holds, also when plainly typed as text; None for fuzzy text and blanks."""
    return None if cell is None else cell_number(cell)


@lru_cache(maxsize=16384)
def _shown(value, decimals, percent) -> Interval | None:
    try:
        return Interval.shown(value, decimals, percent)
    except (ArithmeticError, ValueError):   # inf, nan: no interval
        return None


def interval(cell: Cell | None) -> Interval | None:
    """Rounding interval of the number a cell holds (shown decimals), also for text-numbers."""
    return None if cell is None else cell_interval(cell)


# ---------------------------------------------------------------- per-workbook memo

def memo(wb, key, fn):
    """fn() once per workbook, shared by several rules."""
    m = wb.memo
    if key not in m:
        m[key] = fn()
    return m[key]


def typed_percent_decimals(cell: Cell | None) -> int | None:
    """Decimals a percentage typed over a formula was typed with, when fewer than the cell shows.

    Excel keeps what the filler typed: “135%” is stored as 1.35 and a 0.00% format only pads it to
    135.00%. A typed, non-zero percentage that has fewer decimals than its format shows therefore
    stands for the interval of the decimals it was typed with (135% → 134.5%…135.5%). Zero carries
    no precision of its own and keeps the format's decimals (0.00% → ±0.005%). Cached values of
    formulas and amounts are never widened.
    """
    if cell is None or cell.formula is not None or not cell.percent or cell.decimals is None:
        return None
    v = cell.value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v == 0 or not math.isfinite(v):
        return None
    own = max(0, value_decimals(v) - 2)
    return own if own < cell.decimals else None


def reported(cell: Cell | None) -> Interval | None:
    """The value a computed cell reports: its cached value or a typed constant.

    An intact formula without a cached value reports nothing (the formula computes it). A typed
    percentage stands for the decimals it was typed with (see typed_percent_decimals).
    """
    if cell is None or cell.blank:
        return None
    d = typed_percent_decimals(cell)
    if d is not None:
        return _shown(cell.value, d, True)
    return interval(cell)


def text_of(cell: Cell | None) -> str:
    """cell.text, never failing (a non-finite number shows as Python writes it)."""
    if cell is None:
        return ""
    try:
        return cell.text.strip()
    except (ArithmeticError, ValueError):
        return str(cell.value)


def reported_text(cell: Cell | None) -> str:
    """A reported value as the filler wrote it (135% rather than 135.00% for a typed 1.35)."""
    if cell is None:
        return ""
    d = typed_percent_decimals(cell)
    if d is not None:
        return format_shown(cell.value, d, True)
    return text_of(cell)


def is_typed(cell: Cell | None) -> bool:
    """A non-blank constant (no formula)."""
    return cell is not None and cell.formula is None and not cell.blank


def exact(x) -> Interval:
    return Interval.exact(x)


ZERO = Interval(Fraction(0), Fraction(0))


# ---------------------------------------------------------------- 指标方向

direction = formulas.direction   # one normalisation for every family (a blank is no direction)


# ---------------------------------------------------------------- messages

def where(cell: Cell | None, iface: Interface) -> str:
    """How a message names a cell: the label of a defined name, or table, row and column."""
    if cell is None or not cell.field:
        return f"{cell.sheet}!{cell.address}" if cell is not None else ""
    if "." in cell.field:
        t, col = cell.field.split(".", 1)
        label = iface.tables[t].label if t in iface.tables else t
        return f"“{label}”第 {cell.row} 行“{col}”" if cell.row else f"“{label}”“{col}”"
    return f"“{iface.label(cell.field)}”"


def fmt_amount(x) -> str:
    """An amount (万元) with two decimals; an Interval shows its midpoint."""
    if isinstance(x, Interval):
        x = x.mid
    return f"{round_shown(x, 2)}"


def fmt_rate(x, decimals: int = 2, avoid: str | None = None) -> str:
    """A rate as a percentage; with `avoid`, more decimals until it differs from that text."""
    if isinstance(x, Interval):
        x = x.mid
    s = format_shown(x, decimals, True)
    while avoid is not None and s == avoid and decimals < 6:
        decimals += 1
        s = format_shown(x, decimals, True)
    return s


def fmt_number(x, decimals: int | None = None) -> str:
    """A plain number as written: 1288.38, 1000, 96.03% for parsed percentages."""
    if isinstance(x, Interval):
        x = x.mid
    if decimals is None:
        f = float(x)
        return f"{f:.10g}" if not f.is_integer() else str(int(f))
    return f"{round_shown(x, decimals)}"


def fmt_parsed(p: ParsedNumber) -> str:
    """The number a text stands for, as the filler should type it ("96.03%", "1288.38")."""
    if p.value is None:
        return ""
    if p.percent:
        return format_shown(p.value, p.decimals or 0, True)
    return fmt_number(p.value, p.decimals)


_WS = re.compile(r"\s+")


def clean_text(value) -> str:
    """Text of a value with surrounding whitespace removed (None → "")."""
    if type(value) is str and len(value) <= 64:
        return _clean_short(value)   # dropdown choices and names, asked for per row
    return "" if value is None else _WS.sub(" ", str(value)).strip()


@lru_cache(maxsize=2048)
def _clean_short(value: str) -> str:
    return _WS.sub(" ", value).strip()
