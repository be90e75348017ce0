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


# ---------------------------------------------------------------- the package reader, part by part
# Each fixture below is one way real producers write a package that the old regex reader misread
# (issue 13). The parts are written by the test with zipfile; the expected values are what the XML
# says, by the OOXML rules (ECMA-376 Part 1, §18).

from datetime import datetime
from pathlib import Path

from xlcheck.ooxml import read_package

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
BOM = b"\xef\xbb\xbf"


def _workbook(sheet_attrs='r:id="rId1"', ns_r=f'xmlns:r="{R}"', pr="", names="") -> str:
    return (f'{DECL}<workbook xmlns="{NS}" {ns_r}>{pr}<sheets><sheet name="S" sheetId="1" {sheet_attrs}/>'
            f"</sheets>{names}</workbook>")


def _sheet(cells: str, prefix: str = "") -> str:
    p = prefix + ":" if prefix else ""
    decl = f'xmlns:{prefix}="{NS}"' if prefix else f'xmlns="{NS}"'
    return f"{DECL}<{p}worksheet {decl}><{p}sheetData>{cells}</{p}sheetData></{p}worksheet>"


def _styles(num_fmts="", xfs='<xf numFmtId="0"/>', dxfs="") -> str:
    return (f'{DECL}<styleSheet xmlns="{NS}">{num_fmts}<cellXfs count="9">{xfs}</cellXfs>{dxfs}'
            "</styleSheet>")


def make_package(path, sheet, *, workbook=None, styles=None, strings=None) -> Path:
    """A minimal package; each part is str (written UTF-8) or bytes (written as given)."""
    rels = [f'<Relationship Id="rId1" Type="{R}/worksheet" Target="worksheets/sheet1.xml"/>']
    parts = {"xl/workbook.xml": workbook if workbook is not None else _workbook(),
             "xl/worksheets/sheet1.xml": sheet}
    if styles is not None:
        rels.append(f'<Relationship Id="rId2" Type="{R}/styles" Target="styles.xml"/>')
        parts["xl/styles.xml"] = styles
    if strings is not None:
        rels.append(f'<Relationship Id="rId3" Type="{R}/sharedStrings" Target="sharedStrings.xml"/>')
        parts["xl/sharedStrings.xml"] = strings
    pkg_rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts["_rels/.rels"] = (f'{DECL}<Relationships xmlns="{pkg_rels}"><Relationship Id="rId1" '
                            f'Type="{R}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = f'{DECL}<Relationships xmlns="{pkg_rels}">{"".join(rels)}</Relationships>'
    parts["[Content_Types].xml"] = (f'{DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                    'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body.encode("utf-8") if isinstance(body, str) else body)
    return path


def cells_of(path) -> dict:
    book = read_package(path)
    return {c.address: c for c in book.cells["S"].values()}


def test_bom_and_prefixed_elements(tmp_path):
    sheet = BOM + _sheet('<x:row r="2"><x:c r="B2"><x:v>7.5</x:v></x:c>'
                         '<x:c r="C2" t="s"><x:v>0</x:v></x:c></x:row>', prefix="x").encode()
    sst = BOM + (f'{DECL}<x:sst xmlns:x="{NS}"><x:si><x:t>收入</x:t></x:si></x:sst>').encode()
    book = BOM + _workbook().encode()
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet, workbook=book, strings=sst))
    assert got["B2"].value == 7.5 and got["C2"].value == "收入"


def test_bom_on_workbook_finds_the_sheets(tmp_path):
    book = (f'{DECL}<x:workbook xmlns:x="{NS}" xmlns:r="{R}"><x:sheets><x:sheet name="S" sheetId="1" '
            'r:id="rId1"/></x:sheets></x:workbook>')
    p = make_package(tmp_path / "p.xlsx", _sheet('<row r="1"><c r="A1"><v>1</v></c></row>'),
                     workbook=BOM + book.encode())
    assert read_package(p).sheets == ["S"] and cells_of(p)["A1"].value == 1


def test_value_with_space_preserve_attribute(tmp_path):
    sheet = _sheet('<row r="1"><c r="A1"><v xml:space="preserve">42</v></c>'
                   '<c r="B1" t="str"><f>A1&amp;" "</f><v xml:space="preserve">42 </v></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet))
    assert got["A1"].value == 42 and got["B1"].value == "42 " and got["B1"].formula == 'A1&" "'


DATE_STYLES = _styles(xfs='<xf numFmtId="0"/><xf numFmtId="14"/>')


def test_date1904(tmp_path):
    sheet = _sheet('<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43831</v></c></row>')
    p = make_package(tmp_path / "p.xlsx", sheet, styles=DATE_STYLES,
                     workbook=_workbook(pr='<workbookPr date1904="1"/>'))
    got = cells_of(p)
    assert got["A1"].value == datetime(1904, 1, 1) and got["B1"].value == datetime(2024, 1, 2)
    assert read_package(p).date1904


def test_1900_serials_around_the_fictitious_leap_day(tmp_path):
    """Excel's 1900 system counts a 29 February 1900: serial 1 is 1900-01-01, 59 is 1900-02-28,
    60 is the day that never was (kept as the number), 61 is 1900-03-01."""
    sheet = _sheet('<row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="1"><v>59.5</v></c>'
                   '<c r="C1" s="1"><v>60</v></c><c r="D1" s="1"><v>61</v></c>'
                   '<c r="E1" s="1"><v>45000</v></c><c r="F1" s="1"><v>0.25</v></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet, styles=DATE_STYLES))
    assert got["F1"].value == datetime(1899, 12, 31, 6)      # Excel shows day 0 as 1900-01-00
    assert got["A1"].value == datetime(1900, 1, 1)
    assert got["B1"].value == datetime(1900, 2, 28, 12)
    assert got["C1"].value == 60
    assert got["D1"].value == datetime(1900, 3, 1)
    assert got["E1"].value == datetime(2023, 3, 15)


@pytest.mark.parametrize("fmt,is_date", [
    ("General", False), ("@", False), ("0.00%", False), ("#,##0.00", False), ("0.00E+00", False),
    ("yyyy-mm-dd", True), ("yyyy\\-mm\\-dd", True), ('yyyy"年"m"月"d"日"', True), ("h:mm AM/PM", True),
    ("[$-804]yyyy/m/d", True), ("[DBNum1]yyyy\"年\"m\"月\"", True), ("[Red]0.00", False), ("[DBNum1]General", False),
    ("[h]:mm:ss", True), ("[mm]:ss", True), ("[SS]", True),                 # elapsed time
    ('0" days"', False), ('0"h"', False), ("0\\h", False), ('"unclosed d', False),  # literal text
    ("#,##0.00_);[Red](#,##0.00)", False), ("0_s", False), ("0*d", False),    # padding, repeat
    ('"a;b"yyyy', True), ("0;yyyy", False), ("0;[h]", False),              # only the first section
])
def test_is_date_format(fmt, is_date):
    """One definition for both readers: the file reader's styles and the xlwings path's template hints."""
    from xlcheck.ooxml import is_date_format
    assert is_date_format(fmt) is is_date


def test_serial_to_datetime_both_date_systems():
    """The one serial conversion of both readers (the xlwings path gets serials from Office.js
    before ExcelApi 1.12): Excel's phantom 1900-02-29, the 1904 system, out of range kept."""
    from datetime import timedelta

    from xlcheck.ooxml import serial_to_datetime
    assert serial_to_datetime(0.25) == datetime(1899, 12, 31, 6)
    assert serial_to_datetime(1) == datetime(1900, 1, 1) and serial_to_datetime(59) == datetime(1900, 2, 28)
    assert serial_to_datetime(60) == 60 and serial_to_datetime(61) == datetime(1900, 3, 1)
    assert serial_to_datetime(45000.5) == datetime(2023, 3, 15, 12)
    assert abs(serial_to_datetime(45000 + 1 / 3) - datetime(2023, 3, 15, 8)) < timedelta(milliseconds=1)
    assert serial_to_datetime(0, True) == datetime(1904, 1, 1) and serial_to_datetime(60, True) == datetime(1904, 3, 1)
    assert serial_to_datetime(1e10) == 1e10


def test_line_ends_are_normalised(tmp_path):
    """A literal CR LF in XML text is one line feed (XML 1.0 §2.11); an escaped &#13; is kept."""
    sheet = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>第一行\r\n第二行</t></is></c>'
                   '<c r="B1" t="str"><f>"a"&amp;\r\n"b"</f><v>ab</v></c>'
                   '<c r="C1" t="inlineStr"><is><t>x&#13;\ny</t></is></c></row>').encode()
    sst = f'{DECL}<sst xmlns="{NS}"><si><t>甲\r\n乙</t></si></sst>'.encode()
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet + b"", strings=sst))
    assert got["A1"].value == "第一行\n第二行"
    assert got["B1"].formula == '"a"&\n"b"'
    assert got["C1"].value == "x\r\ny"


def test_cells_without_r_follow_the_previous_cell(tmp_path):
    sheet = _sheet('<row r="3"><c r="B3"><v>1</v></c><c s="0"><v>2</v></c><c r="E3"/><c s="0"><v>4</v></c>'
                   '</row><row><c s="0"><v>5</v></c></row>')
    book = read_package(make_package(tmp_path / "p.xlsx", sheet))
    got = {k: c.value for k, c in book.cells["S"].items()}
    assert got == {(3, 2): 1, (3, 3): 2, (3, 6): 4, (4, 1): 5}
    assert book.cells["S"][(3, 6)].address == "F3"


def test_lower_case_reference(tmp_path):
    got = cells_of(make_package(tmp_path / "p.xlsx", _sheet('<row r="1"><c r="b1"><v>3</v></c></row>')))
    assert got["B1"].value == 3


def test_iso_dates_t_d(tmp_path):
    sheet = _sheet('<row r="1"><c r="A1" t="d"><v>2023-06-30T00:00:00</v></c>'
                   '<c r="B1" t="d"><v>2023-06-30</v></c><c r="C1" t="d"><v>2023-06-30T08:15:00Z</v></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet))
    assert got["A1"].value == datetime(2023, 6, 30) == got["B1"].value
    assert got["C1"].value == datetime(2023, 6, 30, 8, 15)


def test_xhhhh_escapes(tmp_path):
    """ST_Xstring: _x000D_ is a carriage return, _x005F_ escapes an underscore that would
    otherwise start an escape."""
    sst = f'{DECL}<sst xmlns="{NS}"><si><t>a_x000D_b</t></si><si><r><t>_x005F_x0041_</t></r></si></sst>'
    sheet = _sheet('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
                   '<c r="C1" t="inlineStr"><is><t>甲_x4e59_</t></is></c>'
                   '<c r="D1" t="inlineStr"><is><t>_x005F_x0041_</t></is></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet, strings=sst))
    assert got["A1"].value == "a\rb" and got["B1"].value == "_x0041_" and got["C1"].value == "甲乙"
    assert got["D1"].value == "_x0041_"


def test_dxf_number_format_is_not_a_cell_format(tmp_path):
    """A conditional format's <dxf> may declare a numFmt with an id a cell style also uses."""
    styles = _styles(num_fmts='<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>',
                     xfs='<xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="2"/>',
                     dxfs='<dxfs count="1"><dxf><numFmt numFmtId="2" formatCode="yyyy-mm-dd"/></dxf></dxfs>')
    sheet = _sheet('<row r="1"><c r="A1" s="1"><v>0.5</v></c><c r="B1" s="2"><v>45000</v></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet, styles=styles))
    assert got["A1"].number_format == "0.0%" and got["A1"].percent
    assert got["B1"].number_format == "0.00" and got["B1"].value == 45000 and got["B1"].decimals == 2


def test_utf16_parts(tmp_path):
    def utf16(xml: str) -> bytes:
        return xml.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")   # with its BOM
    sheet = utf16(_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>单位</t></is></c><c r="B1"><v>9</v></c></row>'))
    p = make_package(tmp_path / "p.xlsx", sheet, workbook=utf16(_workbook()))
    got = cells_of(p)
    assert read_package(p).sheets == ["S"] and got["A1"].value == "单位" and got["B1"].value == 9


def test_relationship_id_under_another_prefix(tmp_path):
    wb = _workbook(sheet_attrs='relationships:id="rId1"', ns_r=f'xmlns:r="{R}" xmlns:relationships="{R}"')
    got = cells_of(make_package(tmp_path / "p.xlsx", _sheet('<row r="1"><c r="A1"><v>5</v></c></row>'), workbook=wb))
    assert got["A1"].value == 5


def test_shared_formula_dependents_are_formula_cells(tmp_path):
    sheet = _sheet('<row r="1"><c r="A1"><f t="shared" ref="A1:A2" si="0">B1*2</f><v>2</v></c></row>'
                   '<row r="2"><c r="A2"><f t="shared" si="0"/><v>4</v></c></row>')
    got = cells_of(make_package(tmp_path / "p.xlsx", sheet))
    assert got["A1"].formula == "B1*2" and got["A2"].formula == "(shared)" and got["A2"].value == 4


def test_a_declared_entity_is_refused(tmp_path):
    sheet = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e "x">]>'
             f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is>'
             '</c></row></sheetData></worksheet>')
    with pytest.raises(ReadError) as e:
        read_package(make_package(tmp_path / "p.xlsx", sheet))
    assert e.value.rule == "FILE009"


def test_read_layout_keeps_empty_styled_cells(tmp_path):
    """The xlwings path's template hints need the format and formula of cells nobody filled yet."""
    from xlcheck.ooxml import read_layout
    styles = _styles(xfs='<xf numFmtId="0"/><xf numFmtId="10"/>')
    sheet = _sheet('<row r="2"><c r="A2" s="1"/><c r="B2" s="1"><f>A2*2</f></c><c r="C2"><v>1</v></c></row>')
    p = make_package(tmp_path / "p.xlsx", sheet, styles=styles)
    book, grids = read_layout(p.read_bytes())
    assert grids["S"] == {(2, 1): ("0.00%", None), (2, 2): ("0.00%", "A2*2"), (2, 3): ("General", None)}
    assert set(book.cells["S"]) == {(2, 2), (2, 3)}


def test_the_xlwings_path_needs_no_lxml():
    """The add-in (also under Pyodide, where lxml may be missing) builds its model from a RawBook and
    lays out the review sheet: none of that may import lxml; reading a file still does."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['lxml'] = None\n"
            "import xlcheck.addin, xlcheck.xlwings_reader, xlcheck.ooxml\n"
            "from xlcheck.reader import build_model\n"
            "from xlcheck.review import review_layout, read_notes\n"
            "from xlcheck.rules import load_checks\n"
            "load_checks()\n"
            "try:\n    xlcheck.ooxml.read_package\nexcept ImportError:\n    print('reader needs lxml')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "reader needs lxml"
