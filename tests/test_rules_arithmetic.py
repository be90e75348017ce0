"""Arithmetic rules (ARI): the seeds' real figures, the rounding rule of SPEC 3, no epsilon."""
from __future__ import annotations

import copy as _copy
from pathlib import Path

import pytest

from helpers_rules import CLEAN_TABLES, build, cell_of, check, crashed, edit, findings, rule_ids, table_cell
from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks

# seed 003 (天河 2022): 417.82 + 0.21 = 418.03; 401.42 / 418.03 = 96.0266 %; 0.21 / 417.82 = 0.0503 %
TIANHE = {"budget_initial": 417.82, "budget_adjustment": 0.21, "spend_actual": 401.42, "spend_general": 401.42,
          "spend_basic": 387.30, "spend_project": 14.12, "project_eval_funds": 14.12, "spend_prev_year": None}
TIANHE_TASKS = [dict(t, **{"涉及资金（万元）": f}) for t, f in zip(CLEAN_TABLES["tasks"], (1, 2, 9.96))]


def typed(path, **values) -> Path:
    """Type constants over named formula cells (as districts do) and re-inject the other caches."""
    def f(wb):
        for name, v in values.items():
            cell_of(wb, name).value = v
    return edit(path, f)


def tianhe(tmp_path, **reported) -> Path:
    p = build(tmp_path / "tianhe.xlsx", cells=TIANHE, tables={"tasks": TIANHE_TASKS},
              drop=("spend_prev_year",))
    return typed(p, **reported) if reported else p


@pytest.fixture(scope="module")
def clean_res(tmp_path_factory):
    return check(build(tmp_path_factory.mktemp("ari") / "clean.xlsx"))


def test_clean_has_no_arithmetic_findings(clean_res):
    assert not crashed(clean_res)
    assert rule_ids(clean_res, ["ARI"]) == set()


# ---------------------------------------------------------------- single cells

def test_ari001_adjusted_budget(tmp_path):
    res = check(tianhe(tmp_path, budget_adjusted=418.30))
    [f] = findings(res, "ARI001")
    assert f.value == "418.30" and f.expected == "418.03"
    assert "417.82" in f.message and "0.21" in f.message


def test_ari001_correct_typed_value(tmp_path):
    res = check(tianhe(tmp_path, budget_adjusted=418.03))
    assert not findings(res, "ARI001")
    assert findings(res, "STR008")          # still a formula overwritten, but the value is right


def test_ari002_seed_003_adjust_rate_0_00(tmp_path):
    res = check(tianhe(tmp_path, budget_adjust_rate=0, budget_completion_rate=0.9603))
    [f] = findings(res, "ARI002")
    assert f.message == "预算调整率填报为 0.00%，按调整数 0.21 万元 / 年初预算 417.82 万元计算应为 0.05%。"
    assert f.value == "0.00%" and f.expected == "0.05%" and f.field == "budget_adjust_rate"
    assert not findings(res, "ARI003")      # 96.03% is right (401.42 / 418.03 = 96.0266 %)


def test_ari002_correct_rate(tmp_path):
    assert not findings(check(tianhe(tmp_path, budget_adjust_rate=0.0005)), "ARI002")


@pytest.mark.parametrize("cells, rate, wrong", [
    (TIANHE, 0.9603, False),                                                    # seed 003
    ({"budget_initial": 5529.51, "budget_adjustment": 0, "spend_actual": 5529.49, "spend_general": 5529.49,
      "spend_basic": 2963.18, "spend_project": 2566.31, "project_eval_funds": None}, 1.0, False),  # seed 000
    ({"budget_initial": 657.55, "budget_adjustment": 0, "spend_actual": 654.66, "spend_general": 654.66,
      "spend_basic": 491.61, "spend_project": 163.05, "project_eval_funds": 163.05}, 0.9956, False),  # seed 002
    (TIANHE, 0.98, True),
    (TIANHE, 0.9599, True),
    (TIANHE, 0.9602, False),      # 96.02% reaches 96.025%, and 401.415 / 418.035 = 96.0238%: it holds
])
def test_ari003_completion_rate_seeds(tmp_path, cells, rate, wrong):
    p = build(tmp_path / "x.xlsx", cells=cells, tables={"tasks": TIANHE_TASKS}, drop=("spend_prev_year", "project_eval_funds"))
    res = check(typed(p, budget_completion_rate=rate))
    assert bool(findings(res, "ARI003")) == wrong
    assert not findings(res, "ARI007") and not findings(res, "ARI008")


def test_ari003_recomputes_adjusted_budget_instead_of_trusting_it(tmp_path):
    # a wrong typed 调整后预算 does not make a completion rate computed from it right
    res = check(tianhe(tmp_path, budget_adjusted=401.42, budget_completion_rate=1.0))
    assert findings(res, "ARI001") and findings(res, "ARI003")
    [f] = findings(res, "ARI003")
    assert f.expected == "96.03%" and "418.03" in f.message


def test_formula_without_cached_value_reports_nothing(tmp_path):
    p = build(tmp_path / "x.xlsx")
    wb = read_workbook(p)
    wb.names["budget_adjust_rate"].value = None          # intact formula, no cache
    wb.names["budget_initial"].value = 100.0             # inputs changed since
    [res] = check_workbooks([wb], load_checks())
    assert not findings(res, "ARI002")


def test_ari004_yoy_rate(tmp_path):
    p = build(tmp_path / "x.xlsx")                     # 489.12 / 463.80 - 1 = 5.46 %
    [f] = findings(check(typed(p, spend_yoy_rate=0.045)), "ARI004")
    assert f.expected == "5.46%" and "463.80" in f.message and f.value == "4.5%"
    assert not findings(check(typed(p, spend_yoy_rate=0.0546)), "ARI004")
    assert not findings(check(typed(p, spend_yoy_rate=0.05)), "ARI004")     # typed “5%”: 5.46% rounds to it


def test_ari004_baiyun_growth(tmp_path):
    # seed 001: 435.27 vs 396.02: +9.91 %; the seed writes 9.9 % (1 decimal)
    p = build(tmp_path / "x.xlsx", cells={"spend_actual": 435.27, "spend_prev_year": 396.02, "budget_initial": 418.50,
                                           "budget_adjustment": 16.77, "spend_general": 435.27, "spend_basic": 345.34,
                                           "spend_project": 89.93, "project_eval_funds": 89.93},
              tables={"tasks": TIANHE_TASKS})
    assert not findings(check(typed(p, spend_yoy_rate=0.099)), "ARI004")      # 9.9% shown at 1 decimal? typed
    assert not findings(check(p), "ARI004")


def test_ari005_project_share(tmp_path):
    p = build(tmp_path / "x.xlsx")
    [f] = findings(check(typed(p, project_eval_share=0.9)), "ARI005")
    assert f.expected == "100.00%" and "86.75" in f.message
    assert not findings(check(typed(p, project_eval_share=1)), "ARI005")


def test_ari006_eval_funds_above_project_spending(tmp_path):
    res = check(build(tmp_path / "x.xlsx", cells={"project_eval_funds": 163.05}))
    [f] = findings(res, "ARI006")
    assert f.field == "project_eval_funds" and "86.75" in f.message
    assert not findings(res, "ARI005")     # the formula's cached 187.95 % agrees with its inputs


def test_ari007_fund_sources(tmp_path):
    res = check(build(tmp_path / "x.xlsx", cells={"spend_general": 400.00, "spend_other": 80.00}))
    [f] = findings(res, "ARI007")
    assert f.value == "480.00" and f.expected == "489.12" and "一般公共预算 400.00" in f.message


def test_ari007_rounding_slack_of_four_parts(tmp_path):
    # four parts at 2 decimals may differ from the total by up to 0.02 (+ 0.005): 489.10 + 0.01 + 0.01 + 0.01 = 489.13
    res = check(build(tmp_path / "x.xlsx", cells={"spend_general": 489.10, "spend_gov_fund": 0.01,
                                                 "spend_soe_capital": 0.01, "spend_other": 0.01}))
    assert not findings(res, "ARI007")


def test_ari007_nothing_filled(tmp_path):
    res = check(build(tmp_path / "x.xlsx", drop=("spend_general", "spend_gov_fund", "spend_soe_capital", "spend_other")))
    assert not findings(res, "ARI007")


def test_ari008_nature_breakdown(tmp_path):
    res = check(build(tmp_path / "x.xlsx", cells={"spend_basic": 412.37}))
    [f] = findings(res, "ARI008")
    assert f.value == "499.12" and f.field == "spend_basic" and "基本支出 412.37 + 项目支出 86.75" in f.message


# ---------------------------------------------------------------- indicators

def _ind(rows):
    return [dict({"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": f"指标{i}", "计量单位": "个"}, **r)
            for i, r in enumerate(rows, 1)]


def typed_rates(path, rates: dict) -> Path:
    def f(wb):
        for row, v in rates.items():
            table_cell(wb, "indicators", "完成率", row).value = v
    return edit(path, f)


BAIYUN = _ind([
    {"指标方向": "≥", "年度目标值": 4, "年度实现值": 6},        # 150%
    {"指标方向": "≥", "年度目标值": 23, "年度实现值": 31},      # 134.78% reported 135%
    {"指标方向": "≥", "年度目标值": 50, "年度实现值": 56},      # 112%
    {"指标方向": "≥", "年度目标值": 10, "年度实现值": 12},      # 120% reported 100%: capped
    {"指标方向": "≥", "年度目标值": "415.32 平方米", "年度实现值": "415.32 平方米"},
    {"指标方向": "定性", "年度目标值": "合格", "年度实现值": "合格", "完成率": 1.0},
])


def test_ari010_seed_001_mixed_convention(tmp_path):
    p = build(tmp_path / "x.xlsx", tables={"indicators": BAIYUN})
    res = check(typed_rates(p, {1: 1.5, 2: 1.35, 3: 1.12, 4: 1.0, 5: 1.0}))
    [f] = findings(res, "ARI010")
    assert f.row == 4 and f.field == "indicators.完成率"
    assert "100%" in f.message and "120.00%" in f.message and "1、2、3" in f.message
    # 135% for 31 / 23, 112%, 150% and 415.32 / 415.32 are right; the capped row is reported once
    assert not findings(res, "ARI009") and not findings(res, "ARI011")


def test_ari011_consistently_capped(tmp_path):
    rows = _ind([{"指标方向": "≥", "年度目标值": 10, "年度实现值": 12},
                 {"指标方向": "≥", "年度目标值": 5, "年度实现值": 5}])
    p = build(tmp_path / "x.xlsx", tables={"indicators": rows})
    res = check(typed_rates(p, {1: 1.0, 2: 1.0}))
    [f] = findings(res, "ARI011")
    assert f.row == 1 and f.severity == "warning"
    assert not findings(res, "ARI010") and not findings(res, "ARI009")


@pytest.mark.parametrize("direction, target, actual, rate, wrong", [
    ("≥", 6, 7, 1.1667, False), ("≥", 60, 70, 1.10, True), ("≥", 50, 56, 1.02, True),
    ("≥", 6, 7, 1.10, True),           # 7 and 6 个 are counts: exact, 7 / 6 is 116.67% (SPEC 3)
    ("≥", 0.90, 0.96, 1.0667, False),
    ("≤", 3.60, 3.28, 1.0, False), ("≤", 3.60, 3.28, 0.9111, True),
    ("≤", 3.60, 4.10, 0.878, False), ("≤", 3.60, 4.10, 1.0, True), ("≤", 3.60, 4.10, 0.80, True),
    ("≤", 3.60, 4.10, 1.1389, True),
    ("=", 20, 20, 1.0, False), ("=", 200, 210, 1.05, False), ("=", 200, 210, 1.0, True),
    ("=", 200, 190, 0.95, False), ("=", 200, 190, 1.0, True),
    (">=", 6, 7, 1.1667, False),
])
def test_ari009_indicator_rate_by_direction(tmp_path, direction, target, actual, rate, wrong):
    rows = _ind([{"指标方向": direction, "年度目标值": target, "年度实现值": actual}])
    p = build(tmp_path / "x.xlsx", tables={"indicators": rows})
    res = check(typed_rates(p, {1: rate}))
    got = findings(res, "ARI009") + findings(res, "ARI011")
    assert bool(got) == wrong, [f.message for f in got]


def test_ari009_amounts_shown_without_decimals_are_intervals(tmp_path):
    """7 and 6 平方米 shown without decimals stand for 6.5 … 7.5 and 5.5 … 6.5: 110% may be right."""
    rows = _ind([{"指标方向": "≥", "年度目标值": 6, "年度实现值": 7, "计量单位": "平方米"}])
    p = build(tmp_path / "x.xlsx", tables={"indicators": rows})
    assert not findings(check(typed_rates(p, {1: 1.10})), "ARI009")


def test_ari009_message_names_the_numbers(tmp_path):
    rows = _ind([{"指标方向": "≥", "年度目标值": 50, "年度实现值": 56, "三级指标": "走访企业数"}])
    p = build(tmp_path / "x.xlsx", tables={"indicators": rows})
    [f] = findings(check(typed_rates(p, {1: 1.02})), "ARI009")
    assert "走访企业数" in f.message and "50" in f.message and "56" in f.message
    assert f.value == "102%" and f.expected == "112.00%"


def test_ari009_formula_rates_are_right(tmp_path):
    # intact formulas with cached values computed like Excel: never wrong
    rows = _ind([{"指标方向": d, "年度目标值": t, "年度实现值": a}
                 for d, t, a in (("≥", 23, 31), ("≤", 3.6, 4.0), ("=", 20, 21), ("≥", 3, 1))])
    res = check(build(tmp_path / "x.xlsx", tables={"indicators": rows}))
    assert rule_ids(res, ["ARI"]) == set()


def test_ari009_skips_qualitative_and_fuzzy_rows(tmp_path):
    rows = _ind([{"指标方向": "定性", "年度目标值": "合格", "年度实现值": "合格", "完成率": 0.5},
                 {"指标方向": "≥", "年度目标值": 1000, "年度实现值": "1000余人次"}])
    p = build(tmp_path / "x.xlsx", tables={"indicators": rows})
    res = check(typed_rates(p, {2: 0.5}))
    assert not findings(res, "ARI009")


# ---------------------------------------------------------------- tasks

def test_ari012_task_funds_above_actual(tmp_path):
    tasks = _copy.deepcopy(CLEAN_TABLES["tasks"])
    tasks[2]["涉及资金（万元）"] = 996.0
    res = check(build(tmp_path / "x.xlsx", tables={"tasks": tasks}))
    [f] = findings(res, "ARI012")
    assert f.row == 3 and "996.00" in f.message and "489.12" in f.message
    assert not findings(res, "ARI013")


def test_ari013_task_funds_total_above_actual(tmp_path):
    tasks = _copy.deepcopy(CLEAN_TABLES["tasks"])
    for t, f in zip(tasks, (200.0, 200.0, 100.0)):
        t["涉及资金（万元）"] = f
    res = check(build(tmp_path / "x.xlsx", tables={"tasks": tasks}))
    [f] = findings(res, "ARI013")
    assert f.value == "500.00" and f.field == "tasks.涉及资金（万元）" and "489.12" in f.message


def test_ari013_total_within_actual(clean_res):
    assert not findings(clean_res, "ARI012") and not findings(clean_res, "ARI013")


def test_every_arithmetic_rule_is_documented():
    for r in load_checks().rules:
        if r.family == "ARI":
            assert r.explanation and r.example, r.id
