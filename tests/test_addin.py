"""校验 inside Excel, tested without Excel: xlwings' remote interface driven by a JSON book payload.

The payload is what the Office.js client (xlwings Lite / xlwings Server) sends: values only, no
formulas, no number formats. It is built from a real workbook filled through the template's public
interface (xlcheck.fill.fill), `xw.Book(json=payload)` is validated, and the assertions read what
xlwings would send back to Excel (`book.json()["actions"]`).
"""
from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path

import pytest

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")   # xlwings' remote interface (tests only)

import xlwings as xw  # noqa: E402

from xlcheck import addin  # noqa: E402
from xlcheck.explanations import REVIEW_SHEET  # noqa: E402
from xlcheck.fill import fill  # noqa: E402
from xlcheck.reader import build_model, read_workbook  # noqa: E402
from xlcheck.rules import load_checks  # noqa: E402
from xlcheck.runner import check_workbooks  # noqa: E402
from xlcheck.xlwings_reader import raw_from_book  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值", "填报单位说明", "状态", "定位"]
NOTE = "年中追加预算按财政批复口径填报，已与区财政局核对一致。"
_LINK = re.compile(r'^=HYPERLINK\("[^"]*","(.*)"\)$')


def _example(name="clean-2024"):
    data = tomllib.loads((ROOT / "examples" / "data" / f"{name}.toml").read_text(encoding="utf-8"))
    tables = {k: data[k] for k in ("tasks", "indicators", "scores", "problems") if k in data}
    return dict(data["cells"]), tables


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A clean, complete workbook with one mistake typed in: 预算调整率 0.00% over its formula
    (调整数 16.50 / 年初预算 480.00 = 3.44 %) — an error (ARI) and a warning (STR, explainable)."""
    cells, tables = _example()
    cells["budget_adjust_rate"] = 0
    path = tmp_path_factory.mktemp("addin") / "某区工商联-2024.xlsx"
    fill(path, cells, tables)
    return path


@pytest.fixture(scope="module")
def file_result(filled):
    return check_workbooks([read_workbook(filled)], load_checks())[0]


def _book(payload):
    return addin.remote_book(copy.deepcopy(payload))


def _sheet_index(book, name):
    return [s.name for s in book.sheets].index(name)


def _review_rows(book):
    """The values xlwings sends for the review sheet (the one bulk write), link formulas shown as
    the text Excel displays."""
    pos = _sheet_index(book, REVIEW_SHEET)
    writes = [a for a in book.json()["actions"] if a["func"] == "setValues" and a["sheet_position"] == pos]
    assert len(writes) == 1, "the review sheet is written in one bulk call"
    rows = []
    for row in writes[0]["values"]:
        out = []
        for v in row:
            m = _LINK.match(v) if isinstance(v, str) else None
            out.append(m.group(1) if m else (v[1:] if isinstance(v, str) and v.startswith("'") else v))
        rows.append(out)
    return rows


def _findings(rows):
    """Finding rows of the review sheet as dicts keyed by header (current block only)."""
    i = next(n for n, r in enumerate(rows) if r[:len(HEADERS)] == HEADERS)
    out = []
    for r in rows[i + 1:]:
        if not r[0] and not r[2]:
            break
        out.append(dict(zip(HEADERS, r)))
    return out


# ---------------------------------------------------------------- the review sheet

def test_addin_writes_review_sheet_rows(filled):
    book = _book(addin.book_payload(filled))
    result = addin.validate(book)
    assert result is not None and result.status == "fail"
    rows = _review_rows(book)
    assert rows[0][0].startswith("审核结果")
    assert ["审核结论", "未通过"] == [v for v in rows[1] if v not in (None, "")][:2]
    found = _findings(rows)
    ari = [f for f in found if f["规则"].startswith("ARI") and f["单元格"] == "B23"]
    assert ari, found
    assert ari[0]["级别"] == "错误" and ari[0]["状态"] == "待修改" and ari[0]["工作表"] == "基本信息"
    assert "预算调整率填报为 0.00%" in ari[0]["问题描述"] and "3.44%" in ari[0]["问题描述"]
    assert ari[0]["定位"] == "budget_adjust_rate"
    # errors first
    levels = [f["级别"] for f in found]
    assert levels == sorted(levels, key=["错误", "警告", "提示"].index)


def test_addin_findings_equal_the_command_line(filled, file_result):
    """One truth: the add-in shows exactly what the CLI finds in the same workbook."""
    book = _book(addin.book_payload(filled))
    result = addin.validate(book)
    key = lambda f: (f.rule, f.sheet, f.cell, f.message)  # noqa: E731
    assert sorted(map(key, result.findings)) == sorted(map(key, file_result.findings))
    shown = sorted((f["规则"], f["工作表"], f["单元格"], f["问题描述"]) for f in _findings(_review_rows(book)))
    assert shown == sorted(map(key, file_result.findings))


def test_addin_keeps_typed_explanation(filled, file_result, tmp_path):
    """A 审核结果 written by the file writer, a 填报单位说明 typed into it in Excel: 校验 keeps it,
    the warning shows 已说明 and no longer counts."""
    from xlcheck.review import write_review
    reviewed = tmp_path / "reviewed.xlsx"
    write_review(filled, reviewed, file_result)
    payload = addin.book_payload(reviewed)
    sheet = next(s for s in payload["sheets"] if s["name"] == REVIEW_SHEET)
    values = sheet["values"]
    header = next(i for i, r in enumerate(values) if r[:len(HEADERS)] == HEADERS)
    warn = next(i for i, r in enumerate(values) if i > header and r[1] == "警告")
    rule = values[warn][2]
    values[warn][HEADERS.index("填报单位说明")] = NOTE           # typed by the district officer
    book = _book(payload)
    result = addin.validate(book)
    row = next(f for f in _findings(_review_rows(book)) if f["规则"] == rule)
    assert row["填报单位说明"] == NOTE and row["状态"] == "已说明"
    explained = [f for f in result.findings if f.rule == rule]
    assert explained and all(f.explained for f in explained)
    assert not any(f.severity == "warning" and not f.explained for f in result.findings)


def test_addin_activates_review_sheet_selects_first_error_never_saves(filled):
    book = _book(addin.book_payload(filled))
    addin.validate(book)
    actions = book.json()["actions"]
    pos = _sheet_index(book, REVIEW_SHEET)
    assert actions[-2]["func"] == "activateSheet" and actions[-2]["args"] == [pos]
    select = actions[-1]
    assert select["func"] == "rangeSelect" and select["sheet_position"] == pos
    rows = _review_rows(book)
    first_error = next(i for i, r in enumerate(rows) if r[1] == "错误")
    assert select["start_row"] == first_error and select["start_column"] == 0
    assert book.sheets.active.name == REVIEW_SHEET
    assert not any(a["func"] == "save" for a in actions)
    # the review sheet is cleared and rewritten, not added twice
    assert sum(a["func"] == "sheetClear" for a in actions) == 1
    assert not any(a["func"] == "addSheet" for a in actions)


def test_addin_formats_in_few_calls(filled):
    """Formatting goes by style property and rectangle, not by cell: the number of calls does not
    grow with the number of findings."""
    book = _book(addin.book_payload(filled))
    result = addin.validate(book)
    actions = book.json()["actions"]
    assert sum(a["func"] == "setValues" for a in actions) == 1
    fmt = [a for a in actions if a["func"] not in ("setValues", "sheetClear", "activateSheet", "rangeSelect")]
    assert len(fmt) < 200
    assert any(a["func"] == "setRangeColor" for a in actions)
    assert any(a["func"] == "setColumnHidden" for a in actions)      # 定位
    assert len(result.findings) >= 2


def test_addin_rectangles_cover_exactly():
    cells = {(r, c) for r in range(8, 30) for c in (1, 2, 3, 5, 6, 7)} | {(2, 3), (3, 3)}
    rects = addin.rectangles(cells)
    covered = {(r, c) for r0, c0, r1, c1 in rects for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    assert covered == cells
    assert len(rects) == 3


def test_addin_creates_review_sheet_when_missing(filled):
    payload = addin.book_payload(filled)
    payload["sheets"] = [s for s in payload["sheets"] if s["name"] != REVIEW_SHEET]
    book = _book(payload)
    addin.validate(book)
    actions = book.json()["actions"]
    add = [a for a in actions if a["func"] == "addSheet"]
    assert len(add) == 1 and add[0]["args"][1] == REVIEW_SHEET
    assert [s.name for s in book.sheets][-1] == REVIEW_SHEET
    assert _findings(_review_rows(book))


def test_addin_not_template_gets_chinese_explanation(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = "预算表"
    wb.active["A1"] = "项目"
    wb.active["B1"] = 123.45
    path = tmp_path / "别的表格.xlsx"
    wb.save(path)
    book = _book(addin.book_payload(path))
    assert addin.validate(book) is None
    rows = _review_rows(book)
    assert rows[0][0] == addin.NOT_TEMPLATE_TITLE
    text = "".join(str(r[0]) for r in rows)
    assert "template_version" in text and "标准模板" in text and "预算表" in text
    assert book.sheets.active.name == REVIEW_SHEET


def test_addin_main_uses_the_calling_book(filled, monkeypatch):
    book = _book(addin.book_payload(filled))
    book.set_mock_caller()
    try:
        addin.main()
    finally:
        del xw.Book._mock_caller
    assert _findings(_review_rows(book))


def test_addin_main_reports_unexpected_error_in_the_sheet(filled, monkeypatch):
    book = _book(addin.book_payload(filled))
    book.set_mock_caller()

    def boom(*_a, **_k):
        raise RuntimeError("模拟故障")
    monkeypatch.setattr(addin, "validate", boom)
    try:
        addin.main()
    finally:
        del xw.Book._mock_caller
    rows = _review_rows(book)
    assert rows[0][0] == addin.ERROR_TITLE and "模拟故障" in rows[1][0]


def test_addin_text_that_excel_would_convert_stays_text():
    assert addin.cell_value("=") == "'="
    assert addin.cell_value("-12 万元") == "'-12 万元"
    for text in ("0.00%", "1,288.38", "９６．０３％", "2024-03-01", "3/4", "TRUE"):
        assert addin.cell_value(text) == "'" + text
    for text in ("ARI002", "B23", "预算调整率填报为 0.00%", "415.32 平方米", "020-12345678"):
        assert addin.cell_value(text) == text
    assert addin.cell_value("C5", "'基本信息'!C5") == '=HYPERLINK("#\'基本信息\'!C5","C5")'
    assert addin.cell_value(3) == 3


# ---------------------------------------------------------------- one truth, two readers

def _cmp(c):
    v = None if c is None or c.value == "" else c.value
    return (v, None if c is None else c.formula)


def test_addin_model_equals_file_model(filled):
    """The model built from the remote payload equals the file reader's: sheets, names (place,
    value, formula, number format), tables (ref, headers, rows) and every cell's value.

    Documented differences (the payload carries values only): number formats of cells that are
    neither named nor in a table (the model never reads them), and a template formula overwritten
    by a typed constant *equal to* the formula's result (indistinguishable without formulas)."""
    file_wb = read_workbook(filled)
    book = _book(addin.book_payload(filled))
    wb = build_model(raw_from_book(book), book.name)
    assert wb.sheets == file_wb.sheets
    assert set(wb.names) == set(file_wb.names)
    for n, c in file_wb.names.items():
        d = wb.names[n]
        assert (d.sheet, d.address, d.number_format, d.decimals, d.percent) == \
            (c.sheet, c.address, c.number_format, c.decimals, c.percent), n
        assert _cmp(d) == _cmp(c), n
    assert wb.names["budget_adjust_rate"].formula is None           # the typed 0.00% is seen as typed
    assert wb.names["budget_completion_rate"].formula is not None
    assert wb.names["budget_adjust_rate"].text == "0.00%"
    assert set(wb.tables) == set(file_wb.tables)
    for k, t in file_wb.tables.items():
        u = wb.tables[k]
        assert (u.sheet, u.ref, u.headers, [r.index for r in u.rows]) == (t.sheet, t.ref, t.headers, [r.index for r in t.rows])
        for r, s in zip(t.rows, u.rows):
            for h in t.headers:
                assert _cmp(s.get(h)) == _cmp(r.get(h)), (k, r.index, h)
                assert s[h].number_format == r[h].number_format, (k, r.index, h)
    for sheet, grid in file_wb.cells.items():
        other = wb.cells[sheet]
        for key in set(grid) | set(other):
            a, b = grid.get(key), other.get(key)
            va = None if a is None or a.value == "" else a.value
            vb = None if b is None or b.value == "" else b.value
            assert va == vb and type(va) is type(vb), (sheet, key, a, b)


def test_addin_reader_reads_in_bulk(filled, monkeypatch):
    """One values read per sheet, whatever the number of cells."""
    book = _book(addin.book_payload(filled))
    reads = []
    orig = xw.main.Range.value.fget

    def counting(self):
        reads.append(self.address)
        return orig(self)
    monkeypatch.setattr(xw.main.Range, "value", property(counting, xw.main.Range.value.fset))
    raw_from_book(book)
    assert len(reads) == len(book.sheets)


def test_addin_values_only_detects_constants_by_value(tmp_path):
    """Without formulas, a template formula cell whose value its formula cannot produce from the
    current inputs was typed over; one whose value matches keeps the formula."""
    cells, tables = _example()
    cells["budget_completion_rate"] = 0.9851       # typed, differs from 489.12 / 496.50
    path = tmp_path / "typed.xlsx"
    fill(path, cells, tables)
    wb = build_model(raw_from_book(_book(addin.book_payload(path))), "typed.xlsx")
    assert wb.names["budget_completion_rate"].formula is None
    assert wb.names["budget_adjusted"].formula is not None
    rate = wb.tables["indicators"].rows[0]["完成率"]
    assert rate.formula is not None and rate.percent and rate.decimals == 2


# ---------------------------------------------------------------- installing

def test_addin_install_unsupported_os_exits_2(monkeypatch):
    from click.testing import CliRunner
    from xlcheck.cli import main
    monkeypatch.setattr("sys.platform", "linux")
    res = CliRunner().invoke(main, ["addin", "install"])
    assert res.exit_code == 2
    assert "Windows" in res.output and "macOS" in res.output and "无法安装" in res.output


def test_addin_interpreter_config_keeps_other_settings(tmp_path):
    conf = tmp_path / ".myaddin" / "myaddin.conf"
    conf.parent.mkdir()
    conf.write_text('"SHOW CONSOLE","True"\n"INTERPRETER_WIN","C:\\old\\python.exe"\n', encoding="utf-8")
    addin.write_interpreter_config(conf, r"C:\Python311\python.exe", platform="win32")
    text = conf.read_text(encoding="utf-8")
    assert '"SHOW CONSOLE","True"' in text
    assert '"INTERPRETER_WIN","C:\\Python311\\python.exe"' in text and "old" not in text
    assert addin.config_file("darwin").parts[-3:] == ("com.microsoft.Excel", "Data", "myaddin.conf")
    assert addin.config_file("win32").parts[-2:] == (".myaddin", "myaddin.conf")


def test_addin_install_uses_xlwings_installer_and_module_name(monkeypatch, tmp_path):
    """On Windows/macOS the add-in goes through xlwings' own installer, under the name that makes
    the ribbon macro import xlcheck.addin, and the VBA is pointed at this Python."""
    import sys
    import xlwings.cli as xwcli
    seen = []

    def fake_install(args):
        p = Path(args.file)
        seen.append((p.name, p.read_bytes()[:2]))
    monkeypatch.setattr(xwcli, "addin_install", fake_install)
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    messages = []
    assert addin.install_addin(ROOT / "addin" / "xlcheck.xlam", echo=messages.append) == 0
    assert seen == [("xlcheck.addin.xlam", b"PK")]
    assert addin.ribbon_command(seen[0][0]) == "import xlcheck.addin;xlcheck.addin.main()"
    conf = tmp_path / ".myaddin" / "myaddin.conf"
    assert f'"INTERPRETER_WIN","{sys.executable}"' in conf.read_text(encoding="utf-8")
    assert any("已安装" in m for m in messages)


def test_addin_round_trip_keeps_explanation_written_in_excel(filled):
    """校验 → the officer types a 填报单位说明 into the sheet the add-in wrote → 校验 again."""
    payload = addin.book_payload(filled)
    first = _book(payload)
    addin.validate(first)
    rows = _review_rows(first)                       # what Excel now shows in 审核结果
    header = next(i for i, r in enumerate(rows) if r[:len(HEADERS)] == HEADERS)
    warn = next(i for i, r in enumerate(rows) if i > header and r[1] == "警告")
    rows[warn][HEADERS.index("填报单位说明")] = NOTE
    sheet = next(s for s in payload["sheets"] if s["name"] == REVIEW_SHEET)
    sheet["values"] = [["" if v is None else v for v in r] for r in rows]
    sheet["used_range_address"] = f"A1:K{len(rows)}"
    second = _book(payload)
    result = addin.validate(second)
    again = _findings(_review_rows(second))
    row = next(f for f in again if f["规则"] == rows[warn][2])
    assert row["填报单位说明"] == NOTE and row["状态"] == "已说明"
    assert [f["规则"] for f in again] == [r[2] for r in rows[header + 1:] if r[2]]
    assert sum(f.explained for f in result.findings) == 1
