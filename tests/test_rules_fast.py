"""The integer-backed numbers.Interval and the per-cell number memos against a plain Fraction
reference (the implementation they replaced): same intervals, same answers, exactly."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import example, given, settings, strategies as st

from xlcheck.model import Cell, ErrorValue
from xlcheck.numbers import Interval, cell_interval, cell_parsed, parse_number, value_decimals

settings.register_profile("xlcheck", max_examples=150, deadline=None)
settings.load_profile("xlcheck")


# ---------------------------------------------------------------- the Fraction reference

def _dec(v) -> Decimal:
    if isinstance(v, Fraction):
        return Decimal(v.numerator) / Decimal(v.denominator)
    return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def ref_shown(value, decimals, percent=False) -> tuple[Fraction, Fraction]:
    if decimals is None:
        decimals = value_decimals(value) if not isinstance(value, Fraction) else 10
        percent = False
    scale = decimals + (2 if percent else 0)
    d = _dec(value)
    from decimal import Context
    prec = d.adjusted() + scale + 3 if d else 0
    mid = Fraction(d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP,
                              context=Context(prec=prec) if prec > 28 else None))
    half = Fraction(1, 2 * 10 ** scale)
    return mid - half, mid + half


def ref_mul(a, b):
    p = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return min(p), max(p)


def ref_div(a, b):
    if b[0] <= 0 <= b[1]:
        return None
    return ref_mul(a, (1 / b[1], 1 / b[0]))


def pair(iv):
    return None if iv is None else (iv.lo, iv.hi)


values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.integers(-10**8, 10**8).map(lambda c: c / 100),
    st.integers(-10**12, 10**12),
    st.decimals(min_value=-10**9, max_value=10**9, places=4).map(float),
)
decimals = st.one_of(st.none(), st.integers(0, 12))
shown_args = st.tuples(values, st.integers(0, 6), st.booleans())


@given(values, decimals, st.booleans())
@example(0.5, 0, False)
@example(-0.5, 0, False)
@example(2.675, 2, False)          # 2.675 is below its decimal as a float, but shown as 2.68
@example(-2.675, 2, False)
@example(-0.0, 2, True)
@example(1e-07, None, False)
@example(1.5e15, 0, False)
@example(5e-324, 3, False)
def test_shown_matches_the_decimal_rounding(v, d, percent):
    assert pair(Interval.shown(v, d, percent)) == ref_shown(v, d, percent)


@given(st.fractions(min_value=-10**6, max_value=10**6), decimals, st.booleans())
def test_shown_of_a_fraction(v, d, percent):
    assert pair(Interval.shown(v, d, percent)) == ref_shown(v, d, percent)


@given(shown_args, shown_args, st.fractions(min_value=-10**6, max_value=10**6))
def test_operations_match_fraction_arithmetic(a, b, x):
    ia, ib = Interval.shown(*a), Interval.shown(*b)
    ra, rb = ref_shown(*a), ref_shown(*b)
    assert pair(ia + ib) == (ra[0] + rb[0], ra[1] + rb[1])
    assert pair(ia - ib) == (ra[0] - rb[1], ra[1] - rb[0])
    assert pair(-ia) == (-ra[1], -ra[0])
    assert pair(ia * ib) == ref_mul(ra, rb)
    assert pair(ia / ib) == ref_div(ra, rb)
    assert pair(ia.hull(ib)) == (min(ra[0], rb[0]), max(ra[1], rb[1]))
    assert pair(ia.clamp_max(x)) == (min(ra[0], x), min(ra[1], x))
    assert ia.intersects(ib) == (ra[0] <= rb[1] and rb[0] <= ra[1])
    assert ia.contains(x) == (ra[0] <= x <= ra[1])
    assert ia.mid == (ra[0] + ra[1]) / 2
    assert ia.lo_above(x) == (ra[0] > x) and ia.hi_below(x) == (ra[1] < x)
    assert ia.above_all(ib) == (ra[0] > rb[1])
    q, rq = ia / ib, ref_div(ra, rb)
    if q is not None:      # results of results (denominators no longer powers of ten)
        assert pair(q * ia) == ref_mul(rq, ra) and pair(q - ia) == (rq[0] - ra[1], rq[1] - ra[0])
        assert pair(q / ia) == ref_div(rq, ra)


@given(shown_args)
def test_equality_hash_repr_as_a_pair_of_fractions(a):
    iv = Interval.shown(*a)
    lo, hi = ref_shown(*a)
    same = Interval(lo, hi)
    assert iv == same and hash(iv) == hash(same) == hash((lo, hi))
    assert repr(iv) == f"Interval(lo={lo!r}, hi={hi!r})"
    assert iv != Interval(lo, hi + 1)
    import pickle
    assert pickle.loads(pickle.dumps(iv)) == iv


@given(st.one_of(values, st.fractions(), st.decimals(allow_nan=False, allow_infinity=False, places=5)))
def test_exact(v):
    f = Fraction(_dec(v)) if isinstance(v, float) else Fraction(v)
    assert pair(Interval.exact(v)) == (f, f)


# ---------------------------------------------------------------- per-cell memos

cell_values = st.one_of(
    st.none(), st.booleans(), values, st.just(float("inf")), st.just(float("nan")),
    st.sampled_from(["1,288.38", "９６．０３％", "415.32 平方米", "1000余人次", " 12 ", "", "无", "96.03%", "¥12"]),
    st.sampled_from(["#DIV/0!", "#REF!"]).map(ErrorValue),
)


@given(cell_values, st.one_of(st.none(), st.integers(0, 4)), st.booleans())
def test_cell_memos_match_parse_number(v, d, percent):
    cell = Cell("s", "A1", v, None, "General", d, percent)
    p = parse_number(v) if not isinstance(v, ErrorValue) else parse_number(None)
    assert cell_parsed(cell) == p and cell_parsed(cell) == p          # twice: memo
    if isinstance(v, (int, float)) and not isinstance(v, bool) and p.kind == "number":
        want = pair(Interval.shown(v, d, percent))
    elif p.kind in ("text", "fullwidth", "unit") and p.value is not None:
        want = pair(Interval.shown(p.value, p.decimals, p.percent))
    else:
        want = None
    assert pair(cell_interval(cell)) == want


def test_cell_memo_follows_a_new_value():
    cell = Cell("s", "A1", 1.5, None, "0.00", 2)
    assert cell_interval(cell) == Interval.shown(1.5, 2)
    cell.value = "2.25"
    assert cell_parsed(cell).value == 2.25 and cell_interval(cell) == Interval.shown(2.25, 2)
    cell.value = None
    assert cell_interval(cell) is None and cell_parsed(cell).kind == "none"


# ---------------------------------------------------------------- text folding

def _text_module():
    import sys
    from xlcheck.rules import load_checks
    checks = load_checks()
    return sys.modules[checks.get("TXT002").func.__module__.rsplit(".", 1)[0] + "._text"]


@given(st.text(alphabet=st.sampled_from(list("预算数万元，。；：（）％．０１２３ａＺ＿\u3000 ,.;:()%09aZ_\n😀")
                                       + [chr(0xFF01), chr(0xFF5E), chr(0xFF5F), chr(0xFF00)])))
def test_fold_is_the_full_width_translation(text):
    from xlcheck.wording import fold
    assert fold(text) == "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else " " if c == "\u3000" else c
                                 for c in text)
