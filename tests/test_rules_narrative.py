"""Narrative (TXT): stray years, stated amounts and rates. Text helpers on the seeds' own sentences,
then the rules on two real workbooks (GOOD: legitimate other years and correct figures; BAD)."""
from pathlib import Path

import pytest

from xlcheck.checks._text import (indicator_rate, is_placeholder, meaningful_chars,
                                  normalize_text, stated_figures, stated_scores, stray_years)
from xlcheck.fill import fill
from xlcheck.framework import load_framework, normalize_name
from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks

SEEDS = Path("/work/shared/seeds")

# ---------------------------------------------------------------- stray years (helper)


@pytest.mark.parametrize("text", [
    "2022 年各项工作任务按照年初制定的计划稳步推进，预算支出率为 100%。",          # seed 000, 2023 report
    "2022年，我会较好的完成了部门整体年度绩效目标。",
    "（二）履职效能分析\n2022年部门整体支出绩效自评总分为 100 分。",
    "一是2022年我会组织培训 5 期。",
    "全会上下团结一致，2022 年各项任务圆满完成。",
    "2022年我会加强党建工作，组织培训 5 期。",
])
def test_stray_year_found(text):
    found = stray_years(text, 2023)
    assert [m.year for m in found] == [2022]


@pytest.mark.parametrize("text, year", [
    ("花都区工商联被全国工商联授予2020—2021年度全国“五好”县级工商联，连续六年获此荣誉。", 2021),   # seed 002
    ("新雅街商会荣获 2021 年度广东省工商联系统“四好”商会。", 2022),
    ("天河区民营女企业家商会、兴华街道商会分别获评2021年度广东省、广州市工商联系统“四好”商会。", 2022),  # 003
    ("目前已完成政府采购招标，企业报名、组织遴选等工作，开班仪式于2022年1月举行。", 2021),           # seed 002
    ("2022年以来，在白云区委和区政府领导下，区工商联系统坚持以习近平新时代中国特色社会主义思想为指导。", 2023),
    ("黄埔区物业管理行业协会荣获2021-2022年度全国“四好”商会。", 2022),                              # seed 004
    ("2023 年部门整体支出绩效自评总分为 100 分。", 2023),
    ("争取到由全国工商联和科技部联合主办的 2023 全国工商联民营企业家科技创新战略研讨班在穗举办。", 2023),
    ("其他收入比2021年增加 0.001609 万元。", 2022),
    ("2024年，我会将继续加强绩效目标管理，提高指标设置的科学性。", 2023),     # a plan for next year
    ("2022年决算支出 5100.20 万元，本年增长 8.4%。", 2023),                  # a comparison
    ("制定并认真落实《2020 年党风廉政建设工作方案》。", 2021),               # a document's title
    ("4家入围“2021年广东省百强民营企业”。", 2022),                           # a list's title
])
def test_legitimate_other_year_not_flagged(text, year):
    assert stray_years(text, year) == []


SEED_YEARS = {"000": 2023, "001": 2022, "002": 2021, "003": 2022, "004": 2022}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seeds not available")
def test_seeds_stray_years_only_in_000():
    found = {}
    for p in sorted(SEEDS.glob("*.txt")):
        k = p.name[:3]
        found[k] = [(m.year, m.excerpt) for m in stray_years(p.read_text(encoding="utf-8"), SEED_YEARS[k])]
    assert [y for y, _ in found["000"]] == [2022] and "各项工作任务" in found["000"][0][1]
    assert all(found[k] == [] for k in ("001", "002", "003", "004")), found


# ---------------------------------------------------------------- stated figures (helper)

def _figs(text):
    return [(s.kind, s.label, s.text) for s in stated_figures(text)]


def test_stated_figures_department_sentence():
    assert _figs("2023 年，广州市工商联全年预算数 5529.51 万元，支出数 5529.49 万元，执行率为 100%。") == [
        ("budget_adjusted", "全年预算数", "5529.51"), ("spend_actual", "支出数", "5529.49"), ("rate", "执行率", "100%")]
    assert _figs("全年预算数1,291.73万元,执行数1,288.38万元,完成预算的99.7%。") == [
        ("budget_adjusted", "全年预算数", "1,291.73"), ("spend_actual", "执行数", "1,288.38"), ("rate", "完成预算的", "99.7%")]
    assert _figs("本年决算收入654.66万元，预算收入657.55万元，完成当年预算的99.56%。") == [
        ("spend_actual", "决算收入", "654.66"), ("budget_adjusted", "预算收入", "657.55"), ("rate", "完成当年预算的", "99.56%")]
    assert _figs("本年度年初预算480.00万元，调整后预算496.50万元。") == [
        ("budget_initial", "年初预算", "480.00"), ("budget_adjusted", "调整后预算", "496.50")]


@pytest.mark.parametrize("text", [
    "1. 2021 年花都区民营企业投诉中心运营经费项目绩效自评综述：全年预算数为 2.3 万元，执行数为 2.29 万元，完成预算的 99.6%。",
    "2022年区工商联工作经费项目年度预算为14.12万元，预算执行14.12万元，执行率100%。",
    "全年一般公共预算支出执行率为 100%。",
    "基本支出 345.34万元，比上年决算数增加 40.2 万元，增长 13.2%。",
    "指标完成率 100%。",
    "年中追加预算数 16.50 万元，用于一次性抚恤金。",
    "受疫情形势影响，部分项目计划未能按时开展，导致资金执行率和完成率较低。",
])
def test_stated_figures_not_attributable(text):
    assert stated_figures(text) == []


# ---------------------------------------------------------------- stated scores (helper)

FW = load_framework()
NAMES = {normalize_name(a): (1, a) for a, _ in FW.level1}
NAMES.update({normalize_name(b): (2, b) for _, b, _ in FW.level2})


@pytest.mark.parametrize("text, expected", [
    ("2023 年部门整体支出绩效自评总分为 100 分，其中履职效能分值为 50 分，自评得分 50 分；管理效率分值为 50 分，自评得分 50 分。",
     [(None, "100"), ("履职效能", "50"), ("管理效率", "50")]),
    ("部门整体支出绩效自评分为 99.5分。", [(None, "99.5")]),
    ("我会部门整体支出绩效自评得分为 99.5 分。", [(None, "99.5")]),
    ("2022年度部门整体支出绩效自评总分95.91分，评价等级为优。", [(None, "95.91")]),
    ("得分 95.91", [(None, "95.91")]),
    ("加强绩效管理，部门整体支出绩效自评得分为 99.5 分。", [(None, "99.5")]),
    ("90分≤得分≤100分；得分率为 95.5%。", []),
])
def test_stated_scores(text, expected):
    assert [(s.target, s.text) for s in stated_scores(text, NAMES)] == expected


# ---------------------------------------------------------------- explanation quality (helper)

def test_explanation_quality_helpers():
    ph = ["无", "暂无", "略", "/", "—", "同上", "见上", "N/A"]
    for t in ("无", " 暂无。", "同上", "/", "——", "n/a", "...", "－"):
        assert is_placeholder(t, ph), t
    assert not is_placeholder("无法按期完成，原因是疫情", ph)
    assert meaningful_chars("因疫情，2 场取消。") == 7
    assert normalize_text("因疫情影响， 部分工作未能开展。") == normalize_text("因疫情影响部分工作未能开展")


# ---------------------------------------------------------------- the rules on real workbooks

GOOD_CELLS = {
    "dept_name": "广州市某区工商业联合会", "eval_year": 2023,
    "budget_initial": 5529.51, "budget_adjustment": 0.00, "spend_actual": 5529.49,
    "text_work": "2023年以来，我会坚持以习近平新时代中国特色社会主义思想为指导。花都区工商联被全国工商联授予2020—2021年度"
                 "全国“五好”县级工商联，连续六年获此荣誉。新雅街商会荣获2022年度广东省工商联系统“四好”商会。"
                 "第二期“鲲鹏计划”开班仪式于2024年1月举行。",
    "text_finance": "2023 年，广州市工商联全年预算数 5529.51 万元，支出数 5529.49 万元，执行率为 100%。",
    "text_effectiveness": "2023 年各项工作任务按照年初制定的计划稳步推进，预算支出率为 100%。"
                          "投诉中心运营经费项目全年预算数为 2.3 万元，执行数为 2.29 万元，完成预算的 99.6%。",
    "budget_note": "全年预算数5,529.51万元，执行数5,529.49万元，完成预算的100.00%。",
}
GOOD_TABLES = {"tasks": [{"序号": 1, "任务名称": "民营企业投诉中心运营", "完成状态": "完成",
                          "指标完成情况": "全年预算数为 2.3 万元，执行数为 2.29 万元，完成预算的 99.6%"}]}

BAD_CELLS = {
    **GOOD_CELLS,
    "text_effectiveness": "2022 年各项工作任务按照年初制定的计划稳步推进，绩效目标完成情况较好。",   # -> TXT001
    "text_finance": "2023 年，全年预算数 5529.51 万元，支出数 5528.49 万元，执行率为 99%。",          # TXT002, TXT003
}
BAD_TABLES = {"scores": [{"三级指标": "结转结余率", "自评得分": 1,
                          "扣分原因": "2022年，结转资金占比偏高，超过控制目标"}]}                 # -> TXT001


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("txt")
    fill(d / "good.xlsx", cells=GOOD_CELLS, tables=GOOD_TABLES)
    fill(d / "bad.xlsx", cells=BAD_CELLS, tables=BAD_TABLES)
    res = check_workbooks([read_workbook(d / "good.xlsx"), read_workbook(d / "bad.xlsx")], load_checks())
    # TXT010 (sections left blank) is pinned in test_verdict.py: these workbooks fill only some texts
    return [[f for f in r.findings if f.rule.startswith("TXT") and f.rule != "TXT010"] for r in res]


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_good_workbook_has_no_narrative_finding(results):
    assert results[0] == [], [f.message for f in results[0]]


def test_txt001_stray_year(results):
    f = of(results[1], "TXT001")
    assert {x.field for x in f} == {"text_effectiveness", "scores.扣分原因"}
    m = next(x for x in f if x.field == "text_effectiveness").message
    assert "2022 年" in m and "被评价年度为 2023 年" in m and "各项工作任务" in m
    assert not of(results[0], "TXT001")


def test_txt002_stated_amount(results):
    f = of(results[1], "TXT002")
    assert len(f) == 1 and f[0].field == "text_finance"
    assert "支出数 5528.49 万元" in f[0].message and "5529.49" in f[0].message
    assert "5529.51" not in f[0].message   # the budget figure is right
    assert not of(results[0], "TXT002")


def test_txt003_stated_rate(results):
    f = of(results[1], "TXT003")
    assert len(f) == 1 and f[0].field == "text_finance"
    assert "执行率 99%" in f[0].message and "100.00%" in f[0].message
    assert not of(results[0], "TXT003")   # 100 %, 100.00 % and the project's 99.6 % are fine


def test_rules_are_documented():
    for r in load_checks().rules:
        if r.family == "TXT":
            assert r.explanation and r.example and r.title and r.message, r.id


def test_indicator_rate_from_targets(tmp_path):
    fill(tmp_path / "r.xlsx", tables={"indicators": [
        {"三级指标": "a", "指标方向": "≥", "年度目标值": 4, "年度实现值": 6},
        {"三级指标": "b", "指标方向": "≤", "年度目标值": 5, "年度实现值": 6},
        {"三级指标": "c", "指标方向": "定性", "年度目标值": "合格", "年度实现值": "合格", "完成率": 1},
        {"三级指标": "d", "指标方向": "≥", "年度目标值": "415.32 平方米", "年度实现值": "415.32 平方米"},
    ]})
    rows = read_workbook(tmp_path / "r.xlsx").tables["indicators"].rows
    rates = [indicator_rate(r) for r in rows]
    assert rates[0].text() == "150.00%"
    assert rates[1].below() and rates[1].text() == "83.33%"
    assert rates[2].reported and not rates[2].below()
    assert rates[3] is not None and not rates[3].below() and not rates[3].above(1)
