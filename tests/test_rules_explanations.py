"""Explanations (EXP): real workbooks filled through the template's names and tables.

Shared cores: GOOD (every required explanation present and real: no EXP finding), BAD (one mistake
per rule) and PROBLEM (a listed problem without a measure: EXP012, and EXP008 quiet).
"""
import pytest

from xlcheck.fill import fill
from xlcheck.framework import load_framework
from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks

from helpers_rules import framework_scores as scores, indicator as ind

FW = load_framework()


BASE = {"dept_name": "广州市某区工商业联合会", "eval_year": 2023,
        "budget_initial": 500.00, "budget_adjustment": 0.00, "spend_actual": 400.00}   # 80.00 %

REASON_A = "受疫情影响，两期线下培训未能按计划举办"
GOOD = dict(
    cells={**BASE, "budget_note": "预算完成率80.00%，主要是政府采购项目中标价低于预算，结余资金已收回财政。"},
    tables={
        "indicators": [
            ind("产出指标", "举办培训期数", 10, 8, 偏差原因=REASON_A, 改进措施="改为线上线下结合方式，年内补办培训"),
            ind("产出指标", "举办活动次数", 4, 6, 偏差原因="年初目标设置偏低，下年度将按实际需求调高目标值"),
            ind("产出指标", "走访企业数", 50, 56),                                 # 112 %: no reason needed
            ind("产出指标", "培训人均成本", 5, 4.5, "≤"),                         # ≤: 100 %
        ],
        "tasks": [
            {"序号": 1, "任务名称": "推动商会改革发展", "完成状态": "部分完成",
             "未完成原因": "两个镇街商会换届推迟至次年一季度，章程修订尚未完成"},
            {"序号": 2, "任务名称": "开展理想信念教育", "完成状态": "完成"},
        ],
        "scores": scores(**{
            "部门整体绩效目标产出指标完成情况": {"自评得分": 18, "扣分原因": "产出指标“举办培训期数”完成80%，两期培训未举办",
                                           "改进措施": "改为线上线下结合方式，年内补办培训"},
            "部门预算资金支出率": {"自评得分": 8, "扣分原因": "预算完成率80.00%，按评分标准计8分",
                           "改进措施": "按月分析支出进度，及时调整采购计划"},
        }),
        "problems": [{"序号": 1, "存在的主要问题": "部分培训未按计划举办，预算执行偏慢",
                      "改进措施": "提前筹划培训安排，按月跟踪支出进度"}],
    },
)

BAD = dict(
    cells=dict(BASE),   # 80 % and no budget_note -> EXP007
    tables={
        "indicators": [
            ind("产出指标", "举办培训期数", 10, 8),                                   # 80 %, nothing -> EXP003, EXP004
            ind("产出指标", "举办活动次数", 4, 6),                                    # 150 %, no reason -> EXP005
            ind("产出指标", "走访基层商会数", 23, 31, 完成率=1.35),                    # 135 % reported -> EXP005
            ind("产出指标", "走访企业数", 50, 56),                                    # 112 %: fine
        ],
        "tasks": [{"序号": 1, "任务名称": "推动商会改革发展", "完成状态": "未完成"}],   # -> EXP006
        "scores": scores(**{
            "部门整体绩效目标产出指标完成情况": {"自评得分": 18},                      # -> EXP001, EXP002
            "部门预算资金支出率": {"自评得分": 8, "扣分原因": "无", "改进措施": "加强管理"},   # EXP009, EXP010
            "结转结余率": {"自评得分": 1.5, "扣分原因": "因疫情影响，部分工作未能按计划开展。",
                      "改进措施": "加强结转结余资金的清理，及时收回财政"},
            "资产盘点情况": {"自评得分": 0.5, "扣分原因": "因疫情影响，部分工作未能按计划开展",   # pasted -> EXP011
                       "改进措施": "年底前组织全面资产盘点，做到账实相符"},
        }),
        # no problems at all -> EXP008
    },
)

PROBLEM = dict(
    cells={**BASE, "spend_actual": 500.00},
    tables={
        "scores": scores(**{"结转结余率": {"自评得分": 1.5, "扣分原因": "年末结转资金占比偏高，超过控制目标",
                                       "改进措施": "加强结转结余资金的清理，及时收回财政"}}),
        "problems": [{"序号": 1, "存在的主要问题": "结转结余资金占比偏高", "改进措施": "无"},      # -> EXP012
                     {"序号": 2, "存在的主要问题": "项目预算不够精准",
                      "改进措施": "加强项目前期调研，细化支出预算"}],
    },
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    wbs = []
    for name, spec in (("good", GOOD), ("bad", BAD), ("problem", PROBLEM)):
        p = d / f"{name}.xlsx"
        fill(p, cells=spec["cells"], tables=spec["tables"])
        wbs.append(read_workbook(p))
    res = check_workbooks(wbs, load_checks())
    return {n: [f for f in r.findings if f.rule.startswith("EXP")] for n, r in zip(("good", "bad", "problem"), res)}


@pytest.fixture(scope="module")
def good(results):
    return results["good"]


@pytest.fixture(scope="module")
def bad(results):
    return results["bad"]


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_good_workbook_has_no_explanation_finding(good):
    assert good == [], [f.message for f in good]


def test_exp001_002_deduction_without_reason_or_measure(bad, good):
    f1, f2 = of(bad, "EXP001"), of(bad, "EXP002")
    assert len(f1) == 1 and len(f2) == 1
    assert f1[0].message == ("“部门整体绩效目标产出指标完成情况”自评得分 18.00 分，低于分值 20 分（扣 2 分），"
                             "未填写扣分原因")
    assert f1[0].field == "scores.扣分原因" and f1[0].row == 1
    assert f2[0].field == "scores.改进措施" and "未填写改进措施" in f2[0].message
    assert not of(good, "EXP001") and not of(good, "EXP002")


def test_exp003_004_shortfall_without_reason_or_measure(bad, good):
    f3, f4 = of(bad, "EXP003"), of(bad, "EXP004")
    assert len(f3) == 1 and len(f4) == 1
    assert "举办培训期数" in f3[0].message and "80.00%" in f3[0].message and "偏差原因" in f3[0].message
    assert f3[0].field == "indicators.偏差原因" and f3[0].row == 1
    assert f4[0].field == "indicators.改进措施"
    assert not of(good, "EXP003") and not of(good, "EXP004")


def test_exp005_overachievement_without_reason(bad, good):
    f = of(bad, "EXP005")
    assert len(f) == 2
    msgs = " ".join(x.message for x in f)
    assert "举办活动次数" in msgs and "150.00%" in msgs and "120%" in msgs
    assert "走访基层商会数" in msgs and "134.78%" in msgs   # the true rate, not the typed 135%
    assert "走访企业数" not in msgs    # 112 % is below the threshold
    assert all(x.severity == "warning" for x in f)
    assert not of(good, "EXP005")


def test_exp006_task_not_done_without_reason(bad, good):
    f = of(bad, "EXP006")
    assert len(f) == 1 and "推动商会改革发展" in f[0].message and "“未完成”" in f[0].message
    assert not of(good, "EXP006")


def test_exp007_low_completion_without_note(bad, good):
    f = of(bad, "EXP007")
    assert len(f) == 1
    assert "80.00%" in f[0].message and "90%" in f[0].message and f[0].field == "budget_note"
    assert not of(good, "EXP007")


def test_exp008_deductions_without_problems(bad, good, results):
    f = of(bad, "EXP008")
    assert len(f) == 1
    assert "共扣 5 分" in f[0].message and f[0].field == "problems.存在的主要问题"
    assert f[0].sheet and f[0].cell
    assert not of(good, "EXP008") and not of(results["problem"], "EXP008")


def test_exp009_placeholder(bad, good):
    f = of(bad, "EXP009")
    assert len(f) == 1 and "“无”" in f[0].message and "部门预算资金支出率" in f[0].message
    assert not of(good, "EXP009")


def test_exp010_too_short(bad, good):
    f = of(bad, "EXP010")
    assert len(f) == 1 and "“加强管理”" in f[0].message and "6" in f[0].message
    assert not of(good, "EXP010")


def test_exp011_pasted_under_two_items(bad, good):
    f = of(bad, "EXP011")
    assert len(f) == 1
    assert "资产盘点情况" in f[0].message and "结转结余率" in f[0].message
    assert f[0].field == "scores.扣分原因"
    assert not of(good, "EXP011")    # the same measure on an indicator and on its score row is fine


def test_exp012_problem_without_measure(results, good):
    f = of(results["problem"], "EXP012")
    assert len(f) == 1 and "结转结余资金占比偏高" in f[0].message and f[0].field == "problems.改进措施"
    assert not of(good, "EXP012")


def test_rules_are_documented():
    for r in load_checks().rules:
        if r.family == "EXP":
            assert r.explanation and r.example and r.title and r.message, r.id
