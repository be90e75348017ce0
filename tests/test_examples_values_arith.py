"""Acceptance of the structure, values and arithmetic families on examples/*.xlsx
(examples/README.md lists each seed's real mistakes and the correct figures that must not be flagged)."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers_rules import check, crashed, findings, rule_ids

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MINE = ("STR", "VAL", "ARI")
NAMES = ("clean-2024", "guangzhou-2023", "baiyun-2022", "huadu-2021", "tianhe-2022", "huangpu-2022")


@pytest.fixture(scope="module")
def results():
    paths = [EXAMPLES / f"{n}.xlsx" for n in NAMES]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"examples not built: {missing} (PYTHONPATH=src python examples/build.py)")
    return dict(zip(NAMES, check(*paths)))


def mine(res):
    return [f for f in res.findings if f.rule.startswith(MINE)]


def test_no_rule_crashes(results):
    for name, res in results.items():
        assert not crashed(res), name


def test_clean_example_has_nothing_from_these_families(results):
    assert mine(results["clean-2024"]) == []


@pytest.mark.parametrize("name", ["guangzhou-2023", "huadu-2021", "huangpu-2022"])
def test_correct_figures_of_seeds_000_002_004_are_not_flagged(results, name):
    # 5529.49 / 5529.51 reported 100%; 654.66 / 657.55 = 99.56%; 1,288.38 = 815.05 + 473.33
    # (VAL040/VAL041 are about sections the transcribed report lacks, not about its figures)
    assert [(f.rule, f.message) for f in mine(results[name]) if f.rule not in ("VAL040", "VAL041")] == []


# ---------------------------------------------------------------- seed 003 天河

def test_tianhe_adjust_rate_0_00_found(results):
    [f] = findings(results["tianhe-2022"], "ARI002")
    assert f.field == "budget_adjust_rate" and f.value == "0.00%" and f.expected == "0.05%"
    assert "0.21" in f.message and "417.82" in f.message


def test_tianhe_completion_rate_96_03_not_flagged(results):
    res = results["tianhe-2022"]
    assert not findings(res, "ARI003") and not findings(res, "ARI001")
    # only "typed over the formula" for both rates
    assert {f.field for f in findings(res, "STR008")} == {"budget_completion_rate", "budget_adjust_rate"}


def test_tianhe_fuzzy_quantities_found(results):
    got = {(f.row, f.value, f.expected) for f in findings(results["tianhe-2022"], "VAL006")}
    assert got == {(1, "1000余人次", "1000"), (2, "4000余人参加", "4000"), (6, "超过50场", "50")}


def test_tianhe_missing_targets_found(results):
    got = {(f.field, f.row) for f in findings(results["tianhe-2022"], "VAL035")}
    assert got == {("indicators.年度目标值", r) for r in range(1, 8)}


def test_tianhe_task_text_columns_are_not_numbers(results):
    assert not [f for f in mine(results["tianhe-2022"]) if (f.field or "").startswith("tasks.")]


# ---------------------------------------------------------------- seed 001 白云

def test_baiyun_capped_row_found_once(results):
    res = results["baiyun-2022"]
    [f] = findings(res, "ARI010")
    assert f.row == 7 and f.value == "100%" and f.expected == "120.00%"
    assert "10" in f.message and "12" in f.message


def test_baiyun_correct_rates_not_flagged(results):
    res = results["baiyun-2022"]
    # 150% (6/4), 135% (31/23 = 134.78%), 112% (56/50), 415.32 / 415.32 = 100%
    assert not findings(res, "ARI009") and not findings(res, "ARI011")
    assert {f.row for f in findings(res, "ARI010")} == {7}


def test_baiyun_number_with_unit_found(results):
    got = {(f.field, f.row, f.value) for f in findings(results["baiyun-2022"], "VAL005")}
    assert got == {("indicators.年度目标值", 8, "415.32 平方米"), ("indicators.年度实现值", 8, "415.32 平方米")}


def test_baiyun_typed_rates_reported_except_qualitative_rows(results):
    rows = {f.row for f in findings(results["baiyun-2022"], "STR009")}
    assert rows == {1, 2, 3, 4, 5, 6, 7, 8, 11, 12}
