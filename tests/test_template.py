"""template.xlsx: deterministic build, public interface (names, tables), styles, framework."""
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.utils import range_boundaries

from xlcheck import TEMPLATE_VERSION, formulas
from xlcheck.errors import ConfigError
from xlcheck.fill import fill
from xlcheck.framework import load_framework
from xlcheck.template import SHEET_REVIEW, build_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.xlsx"
SHARED_CHECK = ROOT.parent / "shared" / "tools" / "check_template_interface.py"

NAMES = """dept_name eval_year unit_count org_structure preparer preparer_phone fill_date
budget_initial budget_adjustment budget_adjusted spend_actual spend_general spend_gov_fund
spend_soe_capital spend_other spend_basic spend_project budget_completion_rate budget_adjust_rate
spend_prev_year spend_yoy_rate project_l1_count project_l2_count project_eval_funds project_eval_share
budget_note score_total grade text_duties text_work text_goal text_finance text_management
text_conclusion text_effectiveness text_efficiency""".split()
FORMULAS = set(formulas.FORMULA_NAMES)
HEADERS = {
    "tasks": ["序号", "任务名称", "预期目标", "目标完成情况", "关键指标", "指标完成情况",
              "涉及资金（万元）", "完成状态", "未完成原因"],
    "indicators": ["一级指标", "二级指标", "三级指标", "指标方向", "年度目标值", "计量单位",
                   "年度实现值", "完成率", "偏差原因", "改进措施"],
    "scores": ["一级指标", "一级分值", "二级指标", "二级分值", "三级指标", "分值", "指标解释",
               "评分标准", "自评得分", "扣分原因", "改进措施"],
    "problems": ["序号", "存在的主要问题", "改进措施"],
}
PROVISIONED = {"tasks": 20, "indicators": 40, "scores": 26, "problems": 10}
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    p = tmp_path_factory.mktemp("tpl") / "template.xlsx"
    build_template(p)
    return p


@pytest.fixture(scope="module")
def wb(built):
    return openpyxl.load_workbook(built)


def cell(wb, name):
    (sheet, ref), = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "")]


def tables(wb):
    return {t.displayName: (ws, t) for ws in wb.worksheets for t in ws.tables.values()}


# ---------------------------------------------------------------- determinism

def test_checked_in_template_equals_fresh_build(built):
    have, want = parts(TEMPLATE), parts(built)
    assert list(have) == list(want)
    stale = [n for n in want if have[n] != want[n]]
    assert not stale, f"template.xlsx is stale, rebuild it (parts differ: {stale})"


def test_build_is_deterministic(built, tmp_path):
    again = tmp_path / "again.xlsx"
    build_template(again)
    assert again.read_bytes() == built.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name != "again.xlsx"]   # no temp file left


# ---------------------------------------------------------------- names

def test_every_name_is_workbook_scoped_and_points_at_one_cell(wb):
    for name in NAMES + ["template_version"]:
        assert name in wb.defined_names, name
        dn = wb.defined_names[name]
        assert dn.localSheetId is None
        dests = list(dn.destinations)
        assert len(dests) == 1, name
        sheet, ref = dests[0]
        assert sheet in wb.sheetnames
        assert ref.count("$") == 2 and ":" not in ref, (name, ref)
    # no two names share a cell
    cells = [tuple(next(iter(wb.defined_names[n].destinations))) for n in NAMES]
    assert len(set(cells)) == len(cells)


def test_template_version_visible_and_locked(wb):
    c = cell(wb, "template_version")
    assert c.value == TEMPLATE_VERSION == "1.1"
    assert c.parent.title == "填报说明" and c.protection.locked


def test_formula_cells_locked_grey_with_defined_names(wb):
    for name in FORMULAS:
        c = cell(wb, name)
        assert isinstance(c.value, str) and c.value.startswith("="), name
        assert c.protection.locked and c.fill.fgColor.rgb.endswith("D9D9D9"), name
    assert cell(wb, "budget_completion_rate").value == formulas.EXCEL["budget_completion_rate"]
    assert "budget_adjusted" in cell(wb, "budget_completion_rate").value   # uses names, not addresses
    assert cell(wb, "grade").value == formulas.grade_formula(load_framework())


def test_input_cells_unlocked_yellow_bordered(wb):
    for name in set(NAMES) - FORMULAS:
        c = cell(wb, name)
        assert c.value is None, name
        assert not c.protection.locked, name
        assert c.fill.fgColor.rgb.endswith("FFF2CC"), name
        assert c.border.left.style == "thin", name


def test_number_formats(wb):
    for n in ("budget_initial", "budget_adjustment", "budget_adjusted", "spend_actual",
              "spend_project", "spend_prev_year", "project_eval_funds"):
        assert cell(wb, n).number_format == "#,##0.00", n
    for n in ("budget_completion_rate", "budget_adjust_rate", "spend_yoy_rate", "project_eval_share"):
        assert cell(wb, n).number_format == "0.00%", n
    assert cell(wb, "eval_year").number_format == "0"


def test_long_texts_wrapped_and_tall(wb):
    for n in NAMES:
        if n.startswith("text_"):
            c = cell(wb, n)
            assert c.alignment.wrap_text and c.parent.title == "文字说明"
            assert c.parent.row_dimensions[c.row].height >= 100


def test_required_cells_marked_and_one_grey(wb):
    iface = tomllib.loads((ROOT / "checks" / "interface.toml").read_text(encoding="utf-8"))
    for name in NAMES:
        c = cell(wb, name)
        if c.parent.title != "基本信息":
            continue
        label = c.parent.cell(c.row, 1).value
        assert label.endswith("（必填）") == (name in iface["required"]), (name, label)
    assert {"budget_adjustment", "spend_actual"} <= set(iface["required"])
    # computed cells are the only grey: framework texts are plain
    ws, table = tables(wb)["scores"]
    c0, r0, c1, r1 = range_boundaries(table.ref)
    fixed = ws.cell(r0 + 1, c0)
    assert fixed.protection.locked and fixed.fill.fill_type is None


def test_no_row_has_a_fixed_height(built):
    """Rows keep their heights but none is "custom": the spreadsheet refits a row as text is typed."""
    with zipfile.ZipFile(built) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/sheet"):
                rows = etree.fromstring(z.read(n)).iterfind(".//m:row", NS)
                assert not [r.get("r") for r in rows if r.get("customHeight")], n


def test_no_rows_beyond_the_tables(wb):
    """Computing the panel's cached values reads 500 rows per table without creating them."""
    for name, (ws, table) in tables(wb).items():
        assert ws.max_row <= range_boundaries(table.ref)[3] + 3, (name, ws.max_row)


@pytest.mark.libreoffice
def test_long_texts_print_in_full(tmp_path, libreoffice):
    """A long 文字说明 and a long qualitative indicator print to their last character (rendered
    by LibreOffice to PDF): rows grow, a text too long for Excel's tallest row is set smaller."""
    long_text = "".join(f"第{i}项工作按计划推进，完成年度目标，群众满意度持续提高。" for i in range(1, 61)) + "全文完毕。"
    target = "为会员企业解决融资、用工、用地等实际问题，每解决一项得一分，" * 3 + "目标末尾"
    actual = "已为企业解决融资问题十二项、用工问题九项、用地问题三项，" * 3 + "实现末尾"
    p = tmp_path / "long.xlsx"
    fill(p, cells={"text_work": long_text},
         tables={"indicators": [{"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "企业问题解决",
                                 "指标方向": "定性", "年度目标值": target, "年度实现值": actual, "完成率": 1}]})
    w = openpyxl.load_workbook(p)
    c = cell(w, "text_work")
    assert c.parent.row_dimensions[c.row].height <= 409 and c.font.sz < 11
    pdf, = libreoffice([p], tmp_path / "pdf", fmt="pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    for t in (long_text, target, actual):
        assert t[-12:] in flat and t[:12] in flat, t[-12:]


def test_department_and_year_prefilled(tmp_path):
    p = tmp_path / "d.xlsx"
    build_template(p, department="广州市天河区工商业联合会", year=2024)
    w = openpyxl.load_workbook(p)
    assert cell(w, "dept_name").value == "广州市天河区工商业联合会"
    assert cell(w, "eval_year").value == 2024


# ---------------------------------------------------------------- tables

def test_tables_headers_exact_and_provisioned(wb):
    t = tables(wb)
    assert set(t) == set(HEADERS)
    for name, headers in HEADERS.items():
        ws, table = t[name]
        c0, r0, c1, r1 = range_boundaries(table.ref)
        assert [ws.cell(r0, c).value for c in range(c0, c1 + 1)] == headers
        assert [col.name for col in table.tableColumns] == headers
        assert r1 - r0 == PROVISIONED[name]
        assert table.autoFilter.ref == table.ref


def test_scores_prefilled_with_framework(wb):
    fw = load_framework()
    ws, t = tables(wb)["scores"]
    c0, r0, c1, r1 = range_boundaries(t.ref)
    rows = [[ws.cell(r, c).value for c in range(c0, c0 + 8)] for r in range(r0 + 1, r1 + 1)]
    assert rows == [[f.level1, f.level1_points, f.level2, f.level2_points, f.name, f.points,
                     f.explanation, f.standard] for f in fw.rows]
    # total and grade sit right under the 自评得分 column, outside the table
    score_col = c0 + HEADERS["scores"].index("自评得分")
    for n in ("score_total", "grade"):
        c = cell(wb, n)
        assert c.parent is ws and c.column == score_col and c.row > r1
    assert f"$I${r0 + 1}:$I${r1}" in cell(wb, "score_total").value


def test_indicator_rate_cells_are_unlocked_formulas(wb):
    ws, t = tables(wb)["indicators"]
    c0, r0, c1, r1 = range_boundaries(t.ref)
    col = c0 + HEADERS["indicators"].index("完成率")
    for r in range(r0 + 1, r1 + 1):
        c = ws.cell(r, col)
        assert c.value == formulas.indicator_rate_formula(f"D{r}", f"E{r}", f"G{r}")
        assert not c.protection.locked and c.number_format == "0.00%"


def test_table_input_cells_unlocked(wb):
    for name, (ws, t) in tables(wb).items():
        c0, r0, c1, r1 = range_boundaries(t.ref)
        for c in range(c0, c1 + 1):
            header = ws.cell(r0, c).value
            locked = ws.cell(r0 + 1, c).protection.locked
            fixed = name == "scores" and header not in ("自评得分", "扣分原因", "改进措施")
            assert locked == fixed, (name, header)


def _validations(ws):
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out[rng] = dv
    return out


def test_data_validations(wb):
    t = tables(wb)
    ind = _validations(t["indicators"][0])
    assert ind["A4:A43"].type == "list" and ind["A4:A43"].formula1 == '"产出指标,效益指标,满意度指标"'
    l2 = ind["B4:B43"].formula1.strip('"').split(",")
    assert l2 == ["数量指标", "质量指标", "时效指标", "成本指标", "经济效益指标", "社会效益指标",
                  "生态效益指标", "可持续影响指标", "服务对象满意度指标"]
    assert ind["D4:D43"].formula1 == '"≥,≤,=,定性"'
    assert "定性" in ind["H4:H43"].prompt and ind["H4:H43"].showInputMessage
    tasks = _validations(t["tasks"][0])
    assert tasks["H4:H23"].formula1 == '"完成,部分完成,未完成"' and tasks["H4:H23"].prompt
    info_ws = cell(wb, "eval_year").parent
    info = _validations(info_ws)
    y = info[cell(wb, "eval_year").coordinate]
    assert (y.type, y.operator, y.formula1, y.formula2) == ("whole", "between", "2000", "2100")
    u = info[cell(wb, "unit_count").coordinate]
    assert (u.type, u.operator, u.formula1) == ("whole", "greaterThanOrEqual", "1")


def test_protection_without_password(wb):
    for ws in wb.worksheets:
        p = ws.protection
        if ws.title == SHEET_REVIEW:
            assert not p.sheet
            continue
        assert p.sheet, ws.title
        assert not p.password and not p.hashValue
        assert p.formatColumns is False and p.formatRows is False
        assert p.autoFilter is False and p.sort is False


def test_no_merged_cells(wb):
    assert all(not ws.merged_cells.ranges for ws in wb.worksheets)


def test_print_setup(wb):
    t = tables(wb)
    for name, (ws, table) in t.items():
        header_row = range_boundaries(table.ref)[1]
        assert ws.print_title_rows.replace("$", "") == f"{header_row}:{header_row}"
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == 9   # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0
    assert t["indicators"][0].page_setup.orientation == "landscape"


def test_formula_cells_have_cached_values(built):
    with zipfile.ZipFile(built) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        n = 0
        for s in sheets:
            for c in etree.fromstring(z.read(s)).iterfind(".//m:c", NS):
                if c.find("m:f", NS) is not None:
                    n += 1
                    assert c.find("m:v", NS) is not None, c.get("r")
    assert n > 7 + 40 + 20   # named formulas, 完成率 rows, the 自查 panel


def test_interface_as_in_interface_toml(wb):
    """Names, sheets, tables and headers are those of checks/interface.toml (the rules' source),
    the scoring table is the framework's, every sheet but the review sheet is protected."""
    iface = tomllib.loads((ROOT / "checks" / "interface.toml").read_text(encoding="utf-8"))
    t = tables(wb)
    for sheet, pieces in iface["sheets"].items():
        for p in pieces:
            if p in iface["tables"]:
                ws, table = t[p]
                c0, r0, c1, r1 = range_boundaries(table.ref)
                assert ws.title == sheet
                assert [ws.cell(r0, c).value for c in range(c0, c1 + 1)] == iface["tables"][p]["headers"]
            else:
                assert cell(wb, p).parent.title == sheet, p
    for name in iface["selfcheck"]["names"]:
        assert cell(wb, name).parent.title == iface["selfcheck"]["sheet"]
    for name in iface["formula_names"]:
        assert str(cell(wb, name).value).startswith("="), name
    assert TEMPLATE_VERSION == iface["versions"][-1] and "1.0" in iface["versions"]
    ws, table = t["scores"]
    c0, r0, c1, r1 = range_boundaries(table.ref)
    head = {ws.cell(r0, c).value: c for c in range(c0, c1 + 1)}
    got = [(ws.cell(r, head["三级指标"]).value, ws.cell(r, head["分值"]).value) for r in range(r0 + 1, r1 + 1)]
    assert got == [(r.name, r.points) for r in load_framework().rows]
    assert all(ws.protection.sheet for ws in wb.worksheets if ws.title != SHEET_REVIEW)


def test_shared_interface_check(built):
    """The project's acceptance script, when this checkout sits beside it (the test above holds
    the same contract in a fresh clone)."""
    if SHARED_CHECK.exists():
        r = subprocess.run([sys.executable, str(SHARED_CHECK), str(built)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout, r.stdout + r.stderr


# ---------------------------------------------------------------- framework

def test_framework_sums_and_order():
    fw = load_framework()
    assert len(fw.rows) == 26
    assert fw.total == 100 and sum(r.points for r in fw.rows) == pytest.approx(100)
    for l1, p in fw.level1:
        assert sum(p2 for a, _, p2 in fw.level2 if a == l1) == pytest.approx(p)
    for l1, l2, p in fw.level2:
        assert sum(r.points for r in fw.rows if (r.level1, r.level2) == (l1, l2)) == pytest.approx(p)
    assert fw.level1 == (("履职效能", 50), ("管理效率", 50))
    assert [(r.name, r.points) for r in fw.rows[11:13]] == [
        ("采购意向公开合规性（完整性）", 0.5), ("采购意向公开合规性（及时性）", 1.5)]
    assert fw.row("绩效管理制度执行").explanation.endswith("预算绩效管理制度的执行情况。")
    assert fw.row("资产盘点情况").explanation == "反映单位是否每年按要求进行资产盘点。"
    assert fw.row("部门预算资金支出率").standard == "得分 = 分值 × min(预算完成率, 100%)"
    assert all(r.explanation and r.standard for r in fw.rows)
    assert [(g.name, g.lower) for g in fw.grades] == [("优", 90), ("良", 80), ("中", 60), ("差", 0)]
    assert [fw.grade_for(x) for x in (100, 90, 89.99, 80, 60, 59.99, "")] == ["优", "优", "良", "良", "中", "差", ""]


def test_framework_errors_name_file_and_line(tmp_path):
    src = (ROOT / "checks" / "framework.toml").read_text(encoding="utf-8")
    bad = tmp_path / "fw.toml"
    bad.write_text(src.replace('"分值" = 10\n', '"分值" = 10 10\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fw\.toml 第 \d+ 行第 \d+ 列格式错误"):
        load_framework(bad)
    bad.write_text(src.replace('"分值" = 10\n', '"分值" = 9\n'), encoding="utf-8")
    line = src.splitlines().index('[["指标"]]') + 1   # the group's first row
    with pytest.raises(ConfigError, match=rf"fw\.toml 第 {line} 行：二级指标“整体效能”分值为 50，其三级指标分值合计为 49"):
        load_framework(bad)
    bad.write_text(src.replace('"分值" = 10\n', '"分值" = "十"\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match="“部门预算资金支出率”的“分值”应为正数"):
        load_framework(bad)
    with pytest.raises(ConfigError, match="无法读取"):
        load_framework(tmp_path / "missing.toml")


def test_template_from_edited_framework(tmp_path):
    src = (ROOT / "checks" / "framework.toml").read_text(encoding="utf-8")
    fw_path = tmp_path / "fw.toml"
    fw_path.write_text(src.replace('"下限" = 90', '"下限" = 85'), encoding="utf-8")
    p = tmp_path / "t.xlsx"
    build_template(p, framework=fw_path)
    w = openpyxl.load_workbook(p)
    assert "score_total>=85" in cell(w, "grade").value
