"""Property tests for numbers.Interval (SPEC 3 rounding): a value computed and then rounded to its
shown decimals always passes; a value further than half a unit from what the inputs allow always
fails. Exact Fraction arithmetic, no epsilon."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, example, given, settings, strategies as st

from xlcheck import formulas
from xlcheck.numbers import Interval, format_shown, parse_number, round_shown

settings.register_profile("xlcheck", max_examples=150, deadline=None)
settings.load_profile("xlcheck")

# amounts in 万元 with two decimals, as districts report them
cents = st.integers(min_value=1, max_value=10**9)
decimals = st.integers(min_value=0, max_value=4)


def amount(c: int) -> float:
    return float(Decimal(c) / 100)


def shown(value: Fraction, d: int, percent: bool = False) -> float:
    """What a cell shows after rounding `value` to d decimals (as the float Excel stores)."""
    scale = d + (2 if percent else 0)
    return float(round_shown(value, scale))


@given(st.fractions(min_value=-10**6, max_value=10**6), decimals, st.booleans())
def test_rounded_value_stands_for_an_interval_containing_it(x, d, percent):
    iv = Interval.shown(shown(x, d, percent), d, percent)
    assert iv.contains(x)
    half = Fraction(1, 2 * 10 ** (d + (2 if percent else 0)))
    assert iv.hi - iv.lo == 2 * half


@given(st.fractions(min_value=-10**6, max_value=10**6), decimals, st.booleans(), st.integers(1, 50))
def test_perturbation_beyond_half_a_unit_fails(x, d, percent, k):
    scale = d + (2 if percent else 0)
    unit = Fraction(1, 10 ** scale)
    y = Fraction(round_shown(x, scale)) + k * unit        # k ≥ 1 units away from the right rounding
    assume(abs(y - x) > unit / 2)
    assert not Interval.shown(float(y), d, percent).contains(x)
    y2 = Fraction(round_shown(x, scale)) - k * unit
    assume(abs(y2 - x) > unit / 2)
    assert not Interval.shown(float(y2), d, percent).contains(x)


@given(cents, cents, decimals)
@example(21, 41782, 2)            # seed 003: 0.21 / 417.82 = 0.0503 % → 0.05%
@example(552949, 552951, 0)       # seed 000: 5529.49 / 5529.51 → 100%
@example(65466, 65755, 2)         # seed 002: 654.66 / 657.55 → 99.56%
def test_ratio_rounded_to_its_decimals_passes(a, b, d):
    ia, ib = Interval.shown(amount(a), 2), Interval.shown(amount(b), 2)
    rate = Fraction(a, b)
    reported = Interval.shown(shown(rate, d, True), d, True)
    computed = ia / ib
    assert computed is not None and reported.intersects(computed)


@given(cents, cents, decimals, st.integers(1, 1000))
def test_ratio_off_by_more_than_the_slack_fails(a, b, d, k):
    ia, ib = Interval.shown(amount(a), 2), Interval.shown(amount(b), 2)
    computed = ia / ib
    scale = d + 2
    unit = Fraction(1, 10 ** scale)
    y = Fraction(round_shown(computed.hi, scale)) + k * unit
    assume(y - computed.hi > unit / 2)
    assert not Interval.shown(float(y), d, True).intersects(computed)


def test_seed_003_adjust_rate_fails():
    computed = Interval.shown(0.21, 2) / Interval.shown(417.82, 2)
    assert not Interval.shown(0.0, 2, True).intersects(computed)
    assert Interval.shown(0.0005, 2, True).intersects(computed)


@given(st.lists(cents, min_size=1, max_size=6), st.integers(0, 3))
def test_sum_of_shown_parts_passes(parts, extra):
    total = sum(Fraction(c, 100) for c in parts)
    s = Interval(Fraction(0), Fraction(0))
    for c in parts:
        s = s + Interval.shown(amount(c), 2)
    assert Interval.shown(float(total), 2).intersects(s)
    # one cent more than the parts' slack allows is a mismatch
    far = total + Fraction(len(parts) + 1 + extra, 100)
    assert not Interval.shown(float(far), 2).intersects(s)


@given(cents, cents, st.data())
def test_interval_arithmetic_is_sound(a, b, data):
    ia, ib = Interval.shown(amount(a), 2), Interval.shown(amount(b), 2)
    # any values inside the inputs' intervals give results inside the computed intervals
    x = data.draw(st.fractions(min_value=ia.lo, max_value=ia.hi))
    y = data.draw(st.fractions(min_value=ib.lo, max_value=ib.hi))
    assert (ia + ib).contains(x + y)
    assert (ia - ib).contains(x - y)
    assert (ia * ib).contains(x * y)
    q = ia / ib
    assert q is not None and q.contains(x / y)


def test_division_by_an_interval_containing_zero_is_unknown():
    assert Interval.shown(1.0, 2) / Interval.shown(0.0, 2) is None
    assert Interval.shown(1.0, 2) / Interval.shown(0.004, 2) is None


@given(st.integers(0, 10**6), decimals)
def test_text_numbers_read_back_to_the_same_interval(c, d):
    v = Fraction(c, 100)
    text = format_shown(v, d)
    p = parse_number(f"{Decimal(text):,}")               # "1,288.38" with thousands separators
    assert p.kind in ("number", "text")
    assert Interval.shown(p.value, p.decimals).contains(Fraction(round_shown(v, d)))


# ---------------------------------------------------------------- 完成率 candidates (arithmetic.py)

def _rate(d, t: Fraction, a: Fraction) -> Fraction:
    """SPEC 2.2 on exact values (an oracle written here, and the face-value evaluator agrees)."""
    if d == "≥":
        r = a / t
    elif d == "≤":
        r = Fraction(1) if a <= t else t / a
    else:
        r = Fraction(1) if a == t else a / t
    assert formulas.indicator_rate(d, t, a) == r
    return r


@given(st.sampled_from(["≥", "≤", "="]), cents, cents, st.data())
def test_rate_candidates_contain_every_rate_the_inputs_allow(d, t, a, data):
    it, ia = Interval.shown(amount(t), 2), Interval.shown(amount(a), 2)
    assume(it.lo > 0 and ia.lo > 0)
    cands = formulas.indicator_rate_candidates(d, it, ia)
    tt = data.draw(st.fractions(min_value=it.lo, max_value=it.hi))
    aa = data.draw(st.fractions(min_value=ia.lo, max_value=ia.hi))
    r = _rate(d, tt, aa)
    assert any(c.contains(r) for c in cands), (d, tt, aa, r, cands)


@given(st.sampled_from(["≥", "≤", "="]), cents, cents, decimals)
def test_indicator_rate_rounded_passes(d, t, a, dec):
    it, ia = Interval.shown(amount(t), 2), Interval.shown(amount(a), 2)
    cands = formulas.indicator_rate_candidates(d, it, ia)
    r = _rate(d, Fraction(t, 100), Fraction(a, 100))
    reported = Interval.shown(shown(r, dec, True), dec, True)
    assert any(reported.intersects(c) for c in cands)
