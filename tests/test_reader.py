"""The file reader: names and tables found by their public names, never by fixed addresses."""
import zipfile

import openpyxl
import pytest

from xlcheck.errors import ReadError
from xlcheck.fill import fill
from xlcheck.model import ErrorValue
from xlcheck.reader import read_workbook

NAMES = """template_version dept_name eval_year unit_count org_structure preparer preparer_phone fill_date
budget_initial budget_adjustment budget_adjusted spend_actual spend_general spend_gov_fund spend_soe_capital
spend_other spend_basic spend_project budget_completion_rate budget_adjust_rate spend_prev_year spend_yoy_rate
project_l1_count project_l2_count project_eval_funds project_eval_share budget_note score_total grade
text_duties text_work text_goal text_finance text_management text_conclusion text_effectiveness text_efficiency""".split()
HEADERS = {
    "tasks": "序号 任务名称 预期目标 目标完成情况 关键指标 指标完成情况 涉及资金（万元） 完成状态 未完成原因",
    "indicators": "一级指标 二级指标 三级指标 指标方向 年度目标值 计量单位 年度实现值 完成率 偏差原因 改进措施",
    "scores": "一级指标 一级分值 二级指标 二级分值 三级指标 分值 指标解释 评分标准 自评得分 扣分原因 改进措施",
    "problems": "序号 存在的主要问题 改进措施",
}
CELLS = {"dept_name": "广州市天河区工商业联合会", "eval_year": 2022, "budget_initial": 417.82,
         "budget_adjustment": 0.21, "spend_actual": "1,288.38", "spend_general": 401.42,
         "text_conclusion": "自评总分为 95 分。"}
INDICATORS = [
    {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "走访基层商会数", "指标方向": "≥",
     "年度目标值": 23, "计量单位": "个", "年度实现值": 31},
    {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "参加学习人次", "指标方向": "≥",
     "年度目标值": 1000, "计量单位": "人次", "年度实现值": "1000余人次"},
]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    p = tmp_path_factory.mktemp("reader") / "filled.xlsx"
    fill(p, cells=CELLS, tables={"indicators": INDICATORS,
                                 "problems": [{"序号": 1, "存在的主要问题": "培训形式单一", "改进措施": "丰富培训形式"}]})
    return p


def test_every_public_name_resolves_to_one_cell(filled):
    wb = read_workbook(filled)
    assert set(NAMES) <= set(wb.names)
    for n in NAMES:
        c = wb.names[n]
        assert c.sheet in wb.sheets and c.address and c.field == n
    assert wb.template_version == "1.1"
    assert wb.problems == []


def test_tables_have_exact_headers_and_fields(filled):
    wb = read_workbook(filled)
    for name, headers in HEADERS.items():
        t = wb.tables[name]
        assert [h for h in t.headers if h in headers.split()] == headers.split()
    ind = wb.tables["indicators"]
    assert [r.index for r in ind.rows] == [1, 2]   # the 38 provisioned blank rows are ignored
    c = ind.rows[0]["年度实现值"]
    assert (c.value, c.field, c.row) == (31, "indicators.年度实现值", 1)
    assert len(wb.tables["scores"].rows) == 26


def test_values_carry_place_formula_and_decimals(filled):
    wb = read_workbook(filled)
    init = wb.names["budget_initial"]
    assert init.value == 417.82 and init.decimals == 2 and not init.percent and init.formula is None
    rate = wb.names["budget_adjust_rate"]
    assert rate.formula and rate.percent and rate.decimals == 2
    # the cached value written with the template equals 0.21 / 417.82
    assert rate.value == pytest.approx(0.21 / 417.82)


def test_typed_text_in_number_cells_stays_visible(filled):
    wb = read_workbook(filled)
    assert wb.names["spend_actual"].value == "1,288.38"
    assert wb.tables["indicators"].rows[1]["年度实现值"].value == "1000余人次"


def test_blank_rows_in_the_middle_keep_their_real_index(tmp_path):
    p = tmp_path / "gap.xlsx"
    fill(p, tables={"problems": [{"序号": 1, "存在的主要问题": "甲", "改进措施": "乙"},
                                 {}, {"序号": 3, "存在的主要问题": "丙", "改进措施": "丁"}]})
    rows = read_workbook(p).tables["problems"].rows
    assert [r.index for r in rows] == [1, 3]
    assert rows[1]["存在的主要问题"].value == "丙"


def test_deleted_name_is_a_structure_problem_not_a_crash(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    del wb.defined_names["budget_initial"]
    wb.defined_names["spend_actual"].attr_text = "#REF!"
    p = tmp_path / "noname.xlsx"
    wb.save(p)
    m = read_workbook(p)
    assert "budget_initial" not in m.names and "spend_actual" not in m.names
    assert [(pr.kind, pr.name) for pr in m.problems] == [("name", "spend_actual")]
    assert not m.has("budget_initial")


def test_renamed_sheet_is_followed_through_the_names(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    sheet = wb.defined_names["budget_initial"].attr_text.split("!")[0].strip("'")
    wb[sheet].title = "资金"      # openpyxl does not rewrite the names, Excel does: emulate Excel
    for dn in wb.defined_names.values():
        dn.attr_text = dn.attr_text.replace(f"'{sheet}'!", "'资金'!").replace(f"{sheet}!", "'资金'!")
    p = tmp_path / "renamed.xlsx"
    wb.save(p)
    m = read_workbook(p)
    assert m.names["budget_initial"].sheet == "资金" and m.names["budget_initial"].value == 417.82


def test_name_pointing_at_a_missing_sheet(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    wb.defined_names["dept_name"].attr_text = "'不存在'!$B$3"
    p = tmp_path / "missing-sheet.xlsx"
    wb.save(p)
    m = read_workbook(p)
    assert ("name", "dept_name") in [(pr.kind, pr.name) for pr in m.problems]


def test_file_without_cached_values(filled, tmp_path):
    """openpyxl saves formulas without values: the reader sees the formula and no value."""
    wb = openpyxl.load_workbook(filled)
    p = tmp_path / "nocache.xlsx"
    wb.save(p)
    m = read_workbook(p)
    rate = m.names["budget_completion_rate"]
    assert rate.formula and rate.value is None
    assert m.names["budget_initial"].value == 417.82


def test_error_values_are_typed(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    ws_name, ref = next(iter(wb.defined_names["budget_initial"].destinations))
    wb[ws_name][ref.replace("$", "")].value = "#DIV/0!"
    p = tmp_path / "err.xlsx"
    wb.save(p)
    v = read_workbook(p).names["budget_initial"].value
    assert isinstance(v, ErrorValue) and v == "#DIV/0!"


def test_not_a_workbook(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"<html>not a workbook</html>")
    with pytest.raises(ReadError):
        read_workbook(p)
    z = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ReadError):
        read_workbook(z)


@pytest.mark.libreoffice
def test_file_saved_by_libreoffice(filled, tmp_path, libreoffice):
    [out] = libreoffice([filled], tmp_path / "lo")
    m = read_workbook(out)
    assert set(NAMES) <= set(m.names)
    assert set(HEADERS) <= set(m.tables)
    assert m.names["budget_initial"].value == 417.82
    assert m.names["spend_actual"].value == "1,288.38"
    ind = m.tables["indicators"]
    assert [r.value("三级指标") for r in ind.rows] == ["走访基层商会数", "参加学习人次"]
    # LibreOffice recalculated the formulas and wrote their values
    assert m.names["budget_adjust_rate"].value == pytest.approx(0.21 / 417.82)
    assert ind.rows[0]["完成率"].value == pytest.approx(31 / 23)
