"""fill(): names and table rows, table extension, cached values; formulas.py; LibreOffice agrees."""
import datetime as dt
import math
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from xlcheck import formulas
from xlcheck.fill import cached_values, fill, fill_openpyxl, find_table, inject_cached_values
from xlcheck.framework import load_framework
from xlcheck.template_package import finalize_package
from xlcheck.template_panel import live_checks

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.xlsx"

# seed 004 (黄埔区 2022): 26 scores summing to 95.91
SEED_SCORES = [20, 16, 9.91, 3, 2, 2, 2, 2, 5, 3, 7, 0.5, 1.5, 1, 2, 3, 1, 1, 2, 1, 1, 2, 2, 2, 2, 2]
BUDGET = {"budget_initial": 417.82, "budget_adjustment": 0.21, "spend_actual": 401.42}
INDICATORS = [
    {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "推荐获评市以上奖励", "指标方向": "≥",
     "年度目标值": 23, "计量单位": "项", "年度实现值": 31, "偏差原因": "目标设置偏低，实际推荐数量超出预期较多"},
    {"一级指标": "产出指标", "二级指标": "成本指标", "三级指标": "培训人均成本", "指标方向": "≤",
     "年度目标值": 5, "计量单位": "万元", "年度实现值": 6},
    {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "报表按时报送", "指标方向": "≤",
     "年度目标值": 6, "计量单位": "天", "年度实现值": 5},
    {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "覆盖率", "指标方向": "=",
     "年度目标值": 1, "计量单位": "%", "年度实现值": 1},
    {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "完成率", "指标方向": "=",
     "年度目标值": 1, "计量单位": "%", "年度实现值": 0.9603},
    {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "会员满意度", "指标方向": "定性",
     "年度目标值": "满意", "年度实现值": "满意", "完成率": 1},
    {"三级指标": "目标为零", "指标方向": "≥", "年度目标值": 0, "年度实现值": 3},
    {"三级指标": "文字实现值", "指标方向": "≥", "年度目标值": 1000, "年度实现值": "1000余人次"},
    {"三级指标": "未选方向", "年度目标值": 10, "年度实现值": 9},
]


def names(wb):
    out = {}
    for n, dn in wb.defined_names.items():
        (sheet, ref), = dn.destinations
        out[n] = wb[sheet][ref.replace("$", "")]
    return out


def table_rows(wb, name):
    ws, t = find_table(wb, name)
    c0, r0, c1, r1 = range_boundaries(t.ref)
    heads = [ws.cell(r0, c).value for c in range(c0, c1 + 1)]
    return [dict(zip(heads, (ws.cell(r, c) for c in range(c0, c1 + 1)))) for r in range(r0 + 1, r1 + 1)]


def same(a, b):
    """Spreadsheet values equal: blank == "", numbers to 15 significant digits (LibreOffice)."""
    a = None if a == "" else a
    b = None if b == "" else b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-15)
    return a == b


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    p = tmp_path_factory.mktemp("fill") / "seed.xlsx"
    fill(p, cells={"dept_name": "广州市黄埔区工商业联合会", "eval_year": 2022, "unit_count": 1,
                   "fill_date": dt.date(2023, 3, 15), **BUDGET, "spend_general": 401.42,
                   "spend_basic": 300.1, "spend_project": 101.32, "spend_prev_year": 390.5,
                   "project_eval_funds": 80.5},
         tables={"indicators": INDICATORS,
                 "scores": [{"三级指标": f.name, "自评得分": s}
                            for f, s in zip(load_framework().rows, SEED_SCORES)],
                 "tasks": [{"序号": 1, "任务名称": "商会培育", "涉及资金（万元）": 12.5, "完成状态": "完成"}],
                 "problems": [{"序号": 1, "存在的主要问题": "指标设置偏低", "改进措施": "合理设置目标值"}]})
    return p


# ---------------------------------------------------------------- writing through the interface

def test_fill_writes_names_and_rows(seed):
    wb = openpyxl.load_workbook(seed)
    n = names(wb)
    assert n["dept_name"].value == "广州市黄埔区工商业联合会" and n["eval_year"].value == 2022
    assert n["budget_initial"].value == 417.82 and n["fill_date"].value == dt.datetime(2023, 3, 15)
    assert n["budget_adjusted"].value == formulas.EXCEL["budget_adjusted"]   # formula kept
    ind = table_rows(wb, "indicators")
    assert [r["三级指标"].value for r in ind[:3]] == ["推荐获评市以上奖励", "培训人均成本", "报表按时报送"]
    assert ind[3]["指标方向"].value == "=" and ind[3]["指标方向"].data_type == "s"
    assert ind[5]["完成率"].value == 1                                    # 定性: typed over the formula
    assert ind[0]["完成率"].value.startswith("=IFERROR(")
    assert ind[7]["年度实现值"].value == "1000余人次"                     # text stays text
    assert table_rows(wb, "tasks")[0]["涉及资金（万元）"].value == 12.5
    assert table_rows(wb, "problems")[0]["改进措施"].value == "合理设置目标值"
    assert [r["自评得分"].value for r in table_rows(wb, "scores")] == SEED_SCORES


def test_cached_values_after_fill(seed):
    wb = openpyxl.load_workbook(seed, data_only=True)
    n = names(wb)
    assert n["budget_adjusted"].value == formulas.budget_adjusted(417.82, 0.21) == pytest.approx(418.03)
    assert n["budget_completion_rate"].value == 401.42 / (417.82 + 0.21)
    assert n["budget_adjust_rate"].value == 0.21 / 417.82
    assert n["spend_yoy_rate"].value == pytest.approx((401.42 - 390.5) / 390.5, rel=1e-13)   # as Excel, to the last digits
    assert n["project_eval_share"].value == 80.5 / 101.32
    assert n["score_total"].value == 95.91 and n["grade"].value == "优"
    rates = [r["完成率"].value for r in table_rows(wb, "indicators")]
    assert rates[:9] == [31 / 23, 5 / 6, 1, 1, 0.9603, 1, None, None, None]
    assert rates[9:] == [None] * 31          # formula rows of blank inputs: cached ""


def test_scores_matched_by_name_only_inputs_written(tmp_path):
    p = tmp_path / "s.xlsx"
    fill(p, tables={"scores": [
        {"三级指标": "采购意向公开合规性(及时性)", "自评得分": 1, "扣分原因": "个别采购意向公开不及时",
         "改进措施": "按时公开", "分值": 99, "指标解释": "改掉"},
        {"三级指标": "部门预算资金支出率", "自评得分": 9.6}]})
    wb = openpyxl.load_workbook(p)
    rows = {r["三级指标"].value: r for r in table_rows(wb, "scores")}
    r = rows["采购意向公开合规性（及时性）"]
    assert (r["自评得分"].value, r["扣分原因"].value, r["分值"].value) == (1, "个别采购意向公开不及时", 1.5)
    assert r["指标解释"].value == "反映采购意向公开完整性、及时性情况"
    assert rows["部门预算资金支出率"]["自评得分"].value == 9.6
    assert openpyxl.load_workbook(p, data_only=True)["自评评分"][names(wb)["score_total"].coordinate].value == 10.6
    with pytest.raises(KeyError, match="没有三级指标“不存在的指标”"):
        fill(tmp_path / "x.xlsx", tables={"scores": [{"三级指标": "不存在的指标", "自评得分": 1}]})


def test_unknown_name_table_or_column_raise(tmp_path):
    with pytest.raises(KeyError, match="no_such_name"):
        fill(tmp_path / "a.xlsx", cells={"no_such_name": 1})
    with pytest.raises(KeyError, match="nope"):
        fill(tmp_path / "a.xlsx", tables={"nope": [{}]})
    with pytest.raises(KeyError, match="没有列“金额”"):
        fill(tmp_path / "a.xlsx", tables={"tasks": [{"金额": 1}]})
    assert not list(tmp_path.iterdir())


def test_fill_extends_tables(tmp_path):
    p = tmp_path / "big.xlsx"
    ind = [{"三级指标": f"指标{i}", "指标方向": "≥", "年度目标值": 10, "年度实现值": i} for i in range(1, 46)]
    tasks = [{"序号": i, "任务名称": f"任务{i}", "完成状态": "完成"} for i in range(1, 26)]
    fill(p, tables={"indicators": ind, "tasks": tasks,
                    "problems": [{"序号": i, "存在的主要问题": f"问题{i}"} for i in range(1, 13)]},
         template=TEMPLATE)
    wb = openpyxl.load_workbook(p)
    ws, t = find_table(wb, "indicators")
    assert t.ref == "A3:J48" and t.autoFilter.ref == "A3:J48"
    assert find_table(wb, "tasks")[1].ref == "A3:I28" and find_table(wb, "problems")[1].ref == "A3:C15"
    last = table_rows(wb, "indicators")[-1]
    assert last["三级指标"].value == "指标45"
    assert last["完成率"].value == formulas.indicator_rate_formula("D48", "E48", "G48")
    assert not last["完成率"].protection.locked and last["完成率"].number_format == "0.00%"
    assert not last["偏差原因"].protection.locked and last["偏差原因"].fill.fgColor.rgb.endswith("FFF2CC")
    ranges = {r for dv in ws.data_validations.dataValidation for r in str(dv.sqref).split()}
    assert {"A4:A48", "B4:B48", "D4:D48", "H4:H48"} <= ranges
    tasks_ws = find_table(wb, "tasks")[0]
    assert "H4:H28" in {r for dv in tasks_ws.data_validations.dataValidation for r in str(dv.sqref).split()}
    cached = openpyxl.load_workbook(p, data_only=True)
    assert [r["完成率"].value for r in table_rows(cached, "indicators")][-3:] == [43 / 10, 44 / 10, 45 / 10]


def test_overwritten_formula_feeds_its_dependants(tmp_path):
    p = tmp_path / "o.xlsx"
    fill(p, cells={**BUDGET, "budget_adjusted": 500, "score_total": 85})
    n = names(openpyxl.load_workbook(p, data_only=True))
    assert n["budget_adjusted"].value == 500
    assert n["budget_completion_rate"].value == 401.42 / 500
    assert n["grade"].value == "良"


def test_fill_openpyxl_then_inject_cached_values(tmp_path):
    p = tmp_path / "o.xlsx"
    wb = openpyxl.load_workbook(TEMPLATE)
    fill_openpyxl(wb, {**BUDGET}, {"indicators": INDICATORS[:2]})
    wb.save(p)
    n = names(openpyxl.load_workbook(p, data_only=True))
    assert n["budget_adjusted"].value is None                     # openpyxl writes no values
    before = zipfile.ZipFile(p).read("xl/styles.xml")
    inject_cached_values(p)
    w = openpyxl.load_workbook(p, data_only=True)
    n = names(w)
    assert n["budget_adjusted"].value == pytest.approx(418.03)
    assert n["budget_completion_rate"].value == 401.42 / (417.82 + 0.21)
    assert [r["完成率"].value for r in table_rows(w, "indicators")][:2] == [31 / 23, 5 / 6]
    assert zipfile.ZipFile(p).read("xl/styles.xml") == before   # nothing else touched


def test_changed_formula_gets_no_cached_value(tmp_path):
    p = tmp_path / "c.xlsx"
    wb = openpyxl.load_workbook(TEMPLATE)
    fill_openpyxl(wb, {**BUDGET})
    names(wb)["budget_adjusted"].value = "=budget_initial*2"
    vals = {k[1]: v for k, v in cached_values(wb).items() if k[0] == "基本信息"}
    coord = names(wb)["budget_adjusted"].coordinate
    assert coord not in vals                                      # unknown formula: no guess
    assert names(wb)["budget_completion_rate"].coordinate not in vals   # reads it
    assert vals[names(wb)["budget_adjust_rate"].coordinate] == 0.21 / 417.82


def test_fill_is_deterministic(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    fill(a, cells=BUDGET)
    fill(b, cells=BUDGET, template=TEMPLATE)
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- formulas

def test_calc_single_cells():
    assert formulas.budget_adjusted(417.82, 0.21) == 417.82 + 0.21
    assert formulas.budget_adjusted(417.82, None) == "" and formulas.budget_adjusted("417.82", 0) == ""
    assert formulas.budget_completion_rate(401.42, 0) == "" and formulas.budget_completion_rate(None, 5) == ""
    assert formulas.budget_adjust_rate(0.21, 417.82) == 0.21 / 417.82
    assert formulas.spend_yoy_rate(110, 100) == pytest.approx(0.1) and formulas.spend_yoy_rate(110, None) == ""
    assert formulas.spend_yoy_rate(110, 0) == ""
    assert formulas.project_eval_share(True, 5) == ""                 # booleans are not numbers
    assert formulas.score_total([None, "", "x"]) == "" and formulas.score_total([1.5, "2", None, 2]) == 3.5
    assert formulas.score_total(SEED_SCORES) == 95.91
    assert [formulas.grade(x, load_framework()) for x in (95.91, 90, 89.999999, 80, 79.99, 60, 0, -1, "", "优")] == \
        ["优", "优", "良", "良", "中", "中", "差", "差", "", ""]


def test_calc_indicator_rate_by_direction():
    r = formulas.indicator_rate
    assert r("≥", 23, 31) == 31 / 23 and r(">=", 23, 31) == 31 / 23
    assert r("≤", 5, 6) == 5 / 6 and r("≤", 6, 5) == 1 and r("≤", 5, 5) == 1 and r("<=", 0, 0) == 1
    assert r("=", 1, 1) == 1 and r("=", 100, 96.03) == 96.03 / 100
    assert r("定性", 1, 1) == "" and r(None, 1, 1) == "" and r("≥", 0, 3) == ""
    assert r("≥", 1000, "1000余人次") == "" and r("≥", None, 5) == ""


# ---------------------------------------------------------------- LibreOffice recalculates the same

@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_calc(seed, tmp_path, libreoffice):
    edge = tmp_path / "edge.xlsx"
    fw = load_framework().rows
    edge_scores = {f.name: f.points for f in fw}
    edge_scores.update({fw[0].name: 17.3, fw[1].name: 16.1, fw[2].name: 9.6, fw[10].name: 4.0})  # 90
    fill(edge, cells={"budget_initial": 100, "budget_adjustment": -100, "spend_actual": 20,
                      "spend_prev_year": 0, "project_eval_funds": 10, "spend_project": 0},
         tables={"scores": [{"三级指标": k, "自评得分": v} for k, v in edge_scores.items()],
                 "indicators": [{"指标方向": d, "年度目标值": t, "年度实现值": a}
                                for i in range(15)
                                for d, t, a in [("≥", 3, i), ("≤", 3, i), ("=", 3, i)]]})
    over = tmp_path / "over.xlsx"
    fill(over, cells={**BUDGET, "budget_adjusted": 500, "score_total": 79.999})
    # a wrong cached value proves LibreOffice recalculates instead of reading caches
    tampered = tmp_path / "tampered.xlsx"
    wb = openpyxl.load_workbook(seed)
    rate = names(wb)["budget_completion_rate"]
    tampered.write_bytes(finalize_package(seed.read_bytes(), {(rate.parent.title, rate.coordinate): 12345.0},
                                          fixed_core=False))
    blank = tmp_path / "template.xlsx"
    blank.write_bytes(TEMPLATE.read_bytes())
    files = [blank, seed, edge, over, tampered]
    converted = libreoffice(files, tmp_path / "lo")

    checked = 0
    for src, out in zip(files, converted):
        formulas = openpyxl.load_workbook(src)
        ours = openpyxl.load_workbook(src, data_only=True)
        lo = openpyxl.load_workbook(out, data_only=True)
        want = {k: v for k, v in cached_values(formulas).items()}
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type != "f":
                        continue
                    key = (ws.title, c.coordinate)
                    assert key in want, f"{src.name}: no computed value for formula cell {key}"
                    got = lo[ws.title][c.coordinate].value
                    assert same(got, want[key]), f"{src.name} {key}: LibreOffice {got!r}, formulas {want[key]!r}"
                    if src is not tampered:
                        assert same(ours[ws.title][c.coordinate].value, want[key]), (src.name, key)
                    checked += 1
    # blank 7 + 40; seed, tampered 7 + 39 (定性 rate typed); edge 7 + 45 (extended); over 5 + 40;
    # and in each, the 自查 panel: selfcheck_count, selfcheck_status, 3 cells per live check, and
    # the conclusion at the top of every sheet but the panel and the review sheet
    tpl = openpyxl.load_workbook(TEMPLATE)
    panel = 2 + 3 * len(live_checks(tpl)) + len(tpl.sheetnames) - 2
    assert checked == 47 + 2 * 46 + 52 + 45 + 5 * panel

    lo_seed = names(openpyxl.load_workbook(converted[1], data_only=True))
    assert lo_seed["budget_completion_rate"].value == pytest.approx(0.960266009616535, rel=1e-13)
    assert (lo_seed["score_total"].value, lo_seed["grade"].value) == (95.91, "优")
    lo_edge = names(openpyxl.load_workbook(converted[2], data_only=True))
    assert lo_edge["budget_completion_rate"].value in (None, "") and lo_edge["budget_adjust_rate"].value == -1
    assert (lo_edge["score_total"].value, lo_edge["grade"].value) == (90, "优")
    assert names(openpyxl.load_workbook(converted[3], data_only=True))["grade"].value == "中"
    assert names(openpyxl.load_workbook(converted[4], data_only=True))["budget_completion_rate"].value != 12345
