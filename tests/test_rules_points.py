"""Points (PTS): real workbooks filled through the template's names and tables.

Two shared cores: GOOD (consistent: no PTS finding at all) and BAD (one mistake per rule), plus
the GOOD workbook checked against an edited framework (the framework in force changed) and a
workbook whose scores table lost a name in a merge (seed 004).
"""
import shutil
from pathlib import Path

import openpyxl
import pytest

from xlcheck.fill import cached_values, fill, find_table, table_layout
from xlcheck.framework import load_framework, normalize_name
from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks
from xlcheck.template import save_workbook

from helpers_rules import framework_scores as full_scores, indicator as ind

FW = load_framework()
ROOT = Path(__file__).resolve().parents[1]


def build(path, cells, tables, edit=None):
    """fill(), then optionally edit the saved workbook with openpyxl (what a user might overwrite)."""
    fill(path, cells=cells, tables=tables)
    if edit is not None:
        wb = openpyxl.load_workbook(path)
        edit(wb)
        save_workbook(wb, path, cached=cached_values(wb), fixed_core=True)
    return path


def set_score_cell(wb, name, header, value):
    ws, t = find_table(wb, "scores")
    head, first, last, cols = table_layout(ws, t)
    for r in range(first, last + 1):
        if normalize_name(ws.cell(r, cols["三级指标"]).value) == normalize_name(name):
            ws.cell(r, cols[header]).value = value
            return
    raise KeyError(name)


def set_name(wb, name, value):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    wb[sheet][ref.replace("$", "")].value = value


CELLS = {
    "dept_name": "广州市某区工商业联合会", "eval_year": 2023,
    "budget_initial": 480.00, "budget_adjustment": 20.00, "spend_actual": 490.00,   # 98.00 %
}

# GOOD: 效益 19 (one 效益 indicator at 95 %), 支出率 10 × 98 % = 9.8; total 98.8, 优
GOOD_TABLES = {
    "indicators": [
        ind("产出指标", "举办培训期数", 6, 7, 偏差原因="培训需求旺盛，年中增加一期专题培训"),
        ind("产出指标", "走访会员企业数", 120, 126),
        ind("效益指标", "反映问题办结率", 1, 0.95, 计量单位="%", 偏差原因="部分问题涉及跨部门协调，年内尚未办结",
            改进措施="建立跨部门协调台账，逐项跟踪办理"),
    ],
    "scores": full_scores(**{
        "部门整体绩效目标效益指标完成情况": {"自评得分": 19, "扣分原因": "效益指标“反映问题办结率”完成95%，未达目标",
                                      "改进措施": "建立跨部门协调台账，逐项跟踪办理进度"},
        "部门预算资金支出率": {"自评得分": 9.8, "扣分原因": "预算完成率98.00%，按评分标准计9.8分",
                       "改进措施": "加强预算执行进度管理，按月分析支出进度"},
    }),
    "problems": [{"序号": 1, "存在的主要问题": "个别效益指标未完成，跨部门问题办结慢",
                  "改进措施": "建立跨部门协调台账，逐项跟踪办理"}],
}
GOOD_CELLS = {**CELLS, "text_conclusion": "2023 年部门整体支出绩效自评总分为 98.8 分，其中履职效能分值为 50 分，"
                                          "自评得分 48.8 分；管理效率分值为 50 分，自评得分 50 分。评价等级为优。"}

# BAD: one mistake per rule
BAD_TABLES = {
    "indicators": [
        ind("产出指标", "举办培训期数", 10, 8, 偏差原因="疫情影响部分培训取消", 改进措施="改为线上培训"),   # 80 %
        ind("效益指标", "反映问题办结率", 1, 1, 计量单位="%"),                                            # 100 %
    ],
    "scores": full_scores(**{
        "部门整体绩效目标产出指标完成情况": 20,        # full while an 产出 indicator is at 80 %  -> PTS010
        "部门整体绩效目标效益指标完成情况": 18,        # deducted while every 效益 indicator is met -> PTS010
        "部门预算资金支出率": 10,                      # 400 / 500 = 80 % -> 8 points            -> PTS009
        "结转结余率": 2.5,                             # above 2                                 -> PTS004
        "资产盘点情况": "",                            # not scored                              -> PTS005
        "财务管理合规性": "满分",                      # not a number                            -> PTS005
    }),
}
BAD_CELLS = {
    **CELLS, "budget_initial": 500.00, "budget_adjustment": 0.00, "spend_actual": 400.00,
    "text_conclusion": "部门整体支出绩效自评总分为 100 分，其中履职效能分值为 50 分，自评得分 50 分；"
                       "管理效率分值为 50 分，自评得分 50 分。评价等级为良。",
}


def _bad_edit(wb):
    set_name(wb, "score_total", 99)          # formula overwritten by a wrong constant -> PTS007
    set_name(wb, "grade", "良")               # wrong grade                             -> PTS008
    set_score_cell(wb, "预算决算公开合规性", "分值", 3)   # 信息公开 2 + 3 != 4        -> PTS006, PTS003


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pts")
    good = build(d / "good.xlsx", GOOD_CELLS, GOOD_TABLES)
    bad = build(d / "bad.xlsx", BAD_CELLS, BAD_TABLES, _bad_edit)
    merged = build(d / "merged.xlsx", GOOD_CELLS, GOOD_TABLES,
                   lambda wb: set_score_cell(wb, "采购意向公开合规性（及时性）", "三级指标", None))
    return {"good": good, "bad": bad, "merged": merged}


def run(path, checks=None):
    res = check_workbooks([read_workbook(path)], checks or load_checks())[0]
    return [f for f in res.findings if f.rule.startswith("PTS")]


@pytest.fixture(scope="module")
def good(files):
    return run(files["good"])


@pytest.fixture(scope="module")
def bad(files):
    return run(files["bad"])


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_good_workbook_has_no_points_finding(good):
    assert good == [], [f.message for f in good]


# ---------------------------------------------------------------- framework ↔ table

@pytest.fixture(scope="module")
def edited_checks(tmp_path_factory):
    """A bureau's checks directory whose framework changed after the workbook was filled."""
    d = tmp_path_factory.mktemp("checks") / "checks"
    shutil.copytree(ROOT / "checks", d, ignore=shutil.ignore_patterns("__pycache__"))
    fw = (d / "framework.toml").read_text(encoding="utf-8")
    fw = fw.replace('"三级指标" = "采购政策效能"', '"三级指标" = "采购政策执行效能"')
    # 固定资产利用率 2 -> 1, and a new 1-point row after it (资产管理 stays 10)
    head, tail = fw.split('"三级指标" = "固定资产利用率"\n"分值" = 2', 1)
    row_end = tail.index("[[")
    new_row = ('[["指标"]]\n"一级指标" = "管理效率"\n"一级分值" = 50\n"二级指标" = "资产管理"\n"二级分值" = 10\n'
               '"三级指标" = "资产报废合规性"\n"分值" = 1\n\n')
    fw = head + '"三级指标" = "固定资产利用率"\n"分值" = 1' + tail[:row_end] + new_row + tail[row_end:]
    (d / "framework.toml").write_text(fw, encoding="utf-8")
    return load_checks(d)


@pytest.fixture(scope="module")
def against_edited(files, edited_checks):
    return run(files["good"], edited_checks)


def test_pts001_missing_framework_row(against_edited, good):
    f = of(against_edited, "PTS001")
    assert len(f) == 1 and "资产报废合规性" in f[0].message and "1 分" in f[0].message
    assert f[0].field == "scores.三级指标"
    assert not of(good, "PTS001")


def test_pts002_renamed_row(against_edited, good):
    f = of(against_edited, "PTS002")
    assert len(f) == 1
    assert "采购政策效能" in f[0].message and "采购政策执行效能" in f[0].message
    assert not of(good, "PTS002")


def test_pts002_name_lost_in_merge(files):
    f = of(run(files["merged"]), "PTS002")
    assert len(f) == 1 and "（空白）" in f[0].message and "采购意向公开合规性（及时性）" in f[0].message


def test_pts003_weight_differs_from_framework(against_edited, bad, good):
    f = of(against_edited, "PTS003")
    assert len(f) == 1 and "固定资产利用率" in f[0].message and "评分框架为 1" in f[0].message
    f = of(bad, "PTS003")
    assert len(f) == 1 and "预算决算公开合规性" in f[0].message and f[0].value == "3"
    assert not of(good, "PTS003")


def test_pts006_children_do_not_sum_to_parent(bad, good):
    f = of(bad, "PTS006")
    assert len(f) == 1
    assert f[0].message == "二级指标“信息公开”分值为 4 分，其下各项合计 5 分（预算决算公开合规性 3、绩效信息公开情况 2）"
    assert not of(good, "PTS006")


# ---------------------------------------------------------------- scores

def test_pts004_score_above_points(bad, good):
    f = of(bad, "PTS004")
    assert len(f) == 1
    assert f[0].message == "“结转结余率”自评得分 2.50 超出 0～2 分的范围"
    assert f[0].field == "scores.自评得分" and f[0].row == 5
    assert not of(good, "PTS004")


def test_pts005_score_blank_or_not_a_number(bad, good):
    f = of(bad, "PTS005")
    msgs = sorted(x.message for x in f)
    assert len(f) == 2
    assert any("资产盘点情况" in m and "未填写" in m for m in msgs)
    assert any("财务管理合规性" in m and "满分" in m for m in msgs)
    assert not of(good, "PTS005")


def test_pts007_total_differs_from_sum(bad, good):
    f = of(bad, "PTS007")
    assert len(f) == 1
    # 100 - 2 (效益) - 2 (财务 "满分" is no number) - 1 (资产盘点 blank) + 0.5 (结转结余 2.5) = 95.5
    assert "99" in f[0].message and "95.5" in f[0].message
    assert f[0].field == "score_total"
    assert not of(good, "PTS007")


def test_pts008_grade_differs_from_total(bad, good):
    f = of(bad, "PTS008")
    assert len(f) == 1 and "“良”" in f[0].message and "“优”" in f[0].message and "95.5" in f[0].message
    assert not of(good, "PTS008")


def test_pts009_spend_rate_score(bad, good):
    f = of(bad, "PTS009")
    assert len(f) == 1
    m = f[0].message
    assert "10.00 分" in m and "10 × 80.00%" in m and "80.00%" in m and "400" in m and "500.00" in m and "8.00 分" in m
    assert f[0].expected == "8.00"
    assert not of(good, "PTS009")   # 10 x 98 % = 9.8 reported as 9.8


def test_pts010_indicator_scores(bad, good):
    f = of(bad, "PTS010")
    msgs = " ".join(x.message for x in f)
    assert len(f) == 2
    assert "举办培训期数" in msgs and "80.00%" in msgs and "满分 20 分" in msgs
    assert "效益指标共 1 项全部完成" in msgs and "扣 2 分" in msgs
    assert all(x.severity == "warning" for x in f)
    assert not of(good, "PTS010")   # 效益 19 with one 效益 indicator at 95 %


def test_pts011_conclusion_total_and_subtotals(bad, good):
    f = of(bad, "PTS011")
    assert len(f) == 1
    m = f[0].message
    assert "总分 100 分" in m and "95.5 分" in m
    assert "“履职效能”得分 50 分" in m and "48 分" in m          # 20 + 18 + 10
    assert "管理效率" not in m   # 资产盘点情况 not scored: an incomplete subtotal is not compared
    assert not of(good, "PTS011")


def test_pts012_conclusion_grade(bad, good):
    f = of(bad, "PTS012")
    assert len(f) == 1
    assert f[0].message == "自评结论写明评价等级为“良”，评分表各项得分合计 95.5 分应为“优”（90分≤得分≤100分）"
    assert not of(good, "PTS012")   # “评价等级为优”, 98.8


def test_rules_are_documented():
    checks = load_checks()
    for r in checks.rules:
        if r.family == "PTS":
            assert r.explanation and r.example, r.id
            assert r.title and r.message
