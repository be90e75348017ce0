"""校验 inside Excel, tested without Excel: xlwings' remote interface driven by a JSON book payload.

The payloads are built the way xlwings' Office.js client builds them (tests/payloads.py, which
cites the client code it follows): values only, no formulas, no number formats, values anchored at
A1, dates as ISO strings or (older Excel) serial numbers. Every workbook is recalculated by
LibreOffice first (one run for the module), so formula cells carry the values Excel would send.
`xw.Book(json=payload)` is validated, and the assertions read what xlwings would send back to
Excel (`book.json()["actions"]`) and compare with the command line's findings on the same file.
"""
from __future__ import annotations

import copy
import functools
import os
import re
import tomllib
from pathlib import Path

import pytest

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")   # xlwings' remote interface (tests only)

import xlwings as xw  # noqa: E402

from payloads import book_payload, recalculated  # noqa: E402
from xlcheck import addin, addin_install  # noqa: E402
from xlcheck.explanations import REVIEW_SHEET  # noqa: E402
from xlcheck.fill import fill  # noqa: E402
from xlcheck.reader import build_model, read_workbook  # noqa: E402
from xlcheck.rules import load_checks  # noqa: E402
from xlcheck.runner import check_workbooks  # noqa: E402
from xlcheck.xlwings_reader import is_date_format, raw_from_book  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值", "填报单位说明", "状态", "定位"]
NOTE = "年中追加预算按财政批复口径填报，已与区财政局核对一致。"
_LINK = re.compile(r'^=HYPERLINK\("[^"]*","(.*)"\)$')
EXAMPLES = sorted((ROOT / "examples").glob("*.xlsx"))
# a template formula typed over with a constant: the rules that see it (file side only, see payloads.py)
OVERWRITE_RULES = ("STR008", "STR009")


def _example(name="clean-2024"):
    data = tomllib.loads((ROOT / "examples" / "data" / f"{name}.toml").read_text(encoding="utf-8"))
    tables = {k: data[k] for k in ("tasks", "indicators", "scores", "problems") if k in data}
    return dict(data["cells"]), tables


def _variants(src: Path) -> list[Path]:
    """Examples changed the way real workbooks differ (saved by openpyxl, recalculated later)."""
    import openpyxl
    from openpyxl.styles import PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    out = []
    wb = openpyxl.load_workbook(ROOT / "examples" / "huangpu-2022.xlsx")     # sheet-scoped names
    for ws in wb.worksheets:
        ws.print_area = f"A1:{openpyxl.utils.get_column_letter(max(ws.max_column, 2))}{max(ws.max_row, 2)}"
    wb["文字说明"].defined_names["dept_name"] = DefinedName("dept_name", attr_text="'文字说明'!$B$4")
    wb["基本信息"].defined_names["本表备注"] = DefinedName("本表备注", attr_text="'基本信息'!$C$4")
    out.append(src / "v-names.xlsx")
    wb.save(out[-1])
    wb = openpyxl.load_workbook(ROOT / "examples" / "clean-2024.xlsx")      # error values
    sheet, ref = next(iter(wb.defined_names["budget_initial"].destinations))
    wb[sheet][ref.replace("$", "")].value = "#N/A"                          # an error constant
    ws = wb["绩效指标"]
    ws["G4"].value = "#DIV/0!"
    out.append(src / "v-errors.xlsx")
    wb.save(out[-1])
    wb = openpyxl.load_workbook(ROOT / "examples" / "tianhe-2022.xlsx")     # formatted empty rows/cols
    for name in ("基本信息", "绩效指标"):
        wb[name].cell(300, 16).fill = PatternFill("solid", fgColor="FFFF00")
    out.append(src / "v-trailing.xlsx")
    wb.save(out[-1])
    return out


def _restored(path: Path, findings, dst: Path) -> Path:
    """`path` with the template's formula put back into each cell a finding says was typed over."""
    import openpyxl
    tpl = openpyxl.load_workbook(ROOT / "template.xlsx")
    wb = openpyxl.load_workbook(path)
    for f in findings:
        wb[f.sheet][f.cell].value = tpl[f.sheet][f.cell].value
        assert str(wb[f.sheet][f.cell].value).startswith("="), (f.sheet, f.cell)
    wb.save(dst)
    return dst


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Every workbook of this module, recalculated in one LibreOffice run: stem -> path."""
    import openpyxl
    src = tmp_path_factory.mktemp("addin-src")
    paths = list(EXAMPLES) + _variants(src)
    cells, tables = _example()
    cells["budget_adjust_rate"] = 0
    paths.append(src / "某区工商联-2024.xlsx")
    fill(paths[-1], cells, tables)
    cells, tables = _example()
    cells["budget_completion_rate"] = 0.9851       # typed, differs from 489.12 / 496.50
    paths.append(src / "typed.xlsx")
    fill(paths[-1], cells, tables)
    other = openpyxl.Workbook()
    other.active.title = "预算表"
    other.active["A1"] = "项目"
    other.active["B1"] = 123.45
    paths.append(src / "别的表格.xlsx")
    other.save(paths[-1])
    checks = load_checks()
    for p in list(paths):
        typed = [f for f in check_workbooks([read_workbook(p)], checks)[0].findings if f.rule in OVERWRITE_RULES]
        if typed:
            paths.append(_restored(p, typed, src / f"restored-{p.stem}.xlsx"))
    out = recalculated(paths, tmp_path_factory.mktemp("addin-recalc"))
    return {p.stem: p for p in out}


@pytest.fixture(scope="module")
def filled(made) -> Path:
    """A clean, complete workbook with one mistake typed in: 预算调整率 0.00% over its formula
    (调整数 16.50 / 年初预算 480.00 = 3.44 %) — an error (ARI) and a warning (STR, explainable)."""
    return made["某区工商联-2024"]


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
    book = _book(book_payload(filled))
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
    book = _book(book_payload(filled))
    result = addin.validate(book)
    key = lambda f: (f.rule, f.sheet, f.cell, f.message)  # noqa: E731
    assert sorted(map(key, result.findings)) == sorted(map(key, file_result.findings))
    shown = sorted((f["规则"], f["工作表"], f["单元格"], f["问题描述"]) for f in _findings(_review_rows(book)))
    assert shown == sorted(map(key, file_result.findings))


CLIENT_CASES = [p.stem for p in EXAMPLES] + ["v-names", "v-errors", "v-trailing"]


@functools.lru_cache(maxsize=None)
def _cli(path: Path):
    """The command line's result for a file (once per file for the three client dialects)."""
    return check_workbooks([read_workbook(path)], load_checks())[0]


@pytest.mark.parametrize("client,dates", [("Office.js", "iso"), ("Office.js", "serial"), ("VBA", "iso")])
@pytest.mark.parametrize("stem", CLIENT_CASES)
def test_addin_client_payload_gives_the_cli_findings(made, stem, client, dates):
    """Every example and variant, as the Office.js client sends it (dates as ISO strings, or as
    serial numbers from Excel without ExcelApi 1.12) and as the VBA client (RunRemotePython) sends
    it: the add-in finds what `xlcheck` finds in the same file. The one difference allowed is the values-only path's blind spot: a template formula
    typed over with the constant it would compute (proved by putting the formula back and letting
    LibreOffice compute it). Nothing else differs."""
    import openpyxl
    path = made[stem]
    cli = _cli(path)
    res = addin.validate(_book(book_payload(path, client=client, dates=dates)))
    key = lambda f: (f.rule, f.sheet, f.cell, f.field, f.row, f.message, f.severity)  # noqa: E731
    cli_keys, addin_keys = set(map(key, cli.findings)), set(map(key, res.findings))
    assert not addin_keys - cli_keys
    blind = [f for f in cli.findings if key(f) not in addin_keys]
    if blind:
        typed = openpyxl.load_workbook(path, data_only=True)
        restored = openpyxl.load_workbook(made[f"restored-{stem}"], data_only=True)
        for f in blind:
            assert f.rule in OVERWRITE_RULES, f
            a, b = typed[f.sheet][f.cell].value, restored[f.sheet][f.cell].value
            assert isinstance(a, (int, float)) and abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1), (f, a, b)
    else:
        assert res.status == cli.status and res.counts == cli.counts
    assert any(f.rule == "VAL011" for f in cli.findings) == any(f.rule == "VAL011" for f in res.findings)


def test_addin_client_payload_variants_are_what_they_claim(made):
    """The variants exercise what they are named for: sheet-scoped names incl. Print_Area reach the
    payload, error values are sent as text, a formatted empty cell extends the values with empty
    trailing rows and columns, and serial dates are numbers."""
    names = book_payload(made["v-names"])["names"]
    local = {(n["name"], n["scope_sheet_name"]) for n in names if not n["book_scope"]}
    assert ("Print_Area", "基本信息") in local and ("dept_name", "文字说明") in local
    sheets = {s["name"]: s["values"] for s in book_payload(made["v-errors"])["sheets"]}
    assert any("#N/A" in row for row in sheets["基本信息"]) and any("#DIV/0!" in row for row in sheets["绩效指标"])
    values = {s["name"]: s["values"] for s in book_payload(made["v-trailing"])["sheets"]}["绩效指标"]
    assert len(values) == 300 and len(values[0]) == 16 and all(v == "" for v in values[-1])
    info = {s["name"]: s["values"] for s in book_payload(made["clean-2024"], dates="serial")["sheets"]}["基本信息"]
    iso = {s["name"]: s["values"] for s in book_payload(made["clean-2024"])["sheets"]}["基本信息"]
    r, c = next((r, c) for r, row in enumerate(iso) for c, v in enumerate(row) if isinstance(v, str) and v.endswith("Z"))
    assert isinstance(info[r][c], int) and iso[r][c].startswith("20")


def test_addin_keeps_typed_explanation(filled, file_result, tmp_path):
    """A 审核结果 written by the file writer, a 填报单位说明 typed into it in Excel: 校验 keeps it,
    the warning shows 已说明 and no longer counts."""
    from xlcheck.review import write_review
    reviewed = tmp_path / "reviewed.xlsx"
    write_review(filled, reviewed, file_result)
    payload = book_payload(reviewed)
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
    book = _book(book_payload(filled))
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
    book = _book(book_payload(filled))
    result = addin.validate(book)
    actions = book.json()["actions"]
    assert sum(a["func"] == "setValues" for a in actions) == 1
    fmt = [a for a in actions if a["func"] not in ("setValues", "sheetClear", "activateSheet", "rangeSelect")]
    assert len(fmt) < 200
    assert any(a["func"] == "setRangeColor" for a in actions)
    assert any(a["func"] == "setFontProperty" for a in actions)      # Office.js: bold headers
    assert len(result.findings) >= 2


def _xlwings_file(rel: str) -> str:
    return (Path(xw.__file__).parent / rel).read_text(encoding="utf-8")


def test_addin_client_action_lists_match_the_clients_source():
    """CLIENT_ACTIONS is what each client's own code handles: the VBA client (Remote.bas) and the
    Office Scripts client (xlwings.ts) as shipped in the installed xlwings, and xlwings-server's
    Office.js client as listed (names only) in addin/clients/officejs-actions.txt."""
    vba = {ln.split()[1].split("(")[0] for ln in _xlwings_file("addin/Remote.bas").splitlines()
           if ln.startswith("Sub ") and ln.rstrip().endswith("(wb As Workbook, action As Dictionary)")}
    assert vba and addin.CLIENT_ACTIONS["VBA"] == vba
    ts = set(re.findall(r"^registerCallback\((\w+)\);", _xlwings_file("js/xlwings.ts"), re.M))
    assert ts and addin.CLIENT_ACTIONS["Microsoft Office Scripts"] == ts
    listed = {ln.strip() for ln in (ROOT / "addin" / "clients" / "officejs-actions.txt").read_text(encoding="utf-8").splitlines()
              if ln.strip() and not ln.startswith("#")}
    assert addin.CLIENT_ACTIONS["Office.js"] == listed


@pytest.mark.parametrize("client", ["Office.js", "VBA", "Microsoft Office Scripts", "未知客户端"])
def test_addin_sends_only_actions_the_client_implements(filled, file_result, client):
    """A client stops at an action it has no handler for: every action sent is one the calling
    client implements, and what cannot be sent (column widths, wrap, borders …) is left out while
    the values, links and severity fills still arrive."""
    payload = book_payload(filled)
    payload["client"] = client
    book = _book(payload)
    result = addin.validate(book)
    sent = {a["func"] for a in book.json()["actions"]}
    allowed = addin.CLIENT_ACTIONS.get(client, addin.CLIENT_ACTIONS["VBA"] & addin.CLIENT_ACTIONS["Office.js"])
    assert sent <= allowed, sent - allowed
    assert {"setValues", "setRangeColor", "activateSheet", "rangeSelect"} <= sent
    key = lambda f: (f.rule, f.sheet, f.cell, f.message)  # noqa: E731
    shown = sorted((f["规则"], f["工作表"], f["单元格"], f["问题描述"]) for f in _findings(_review_rows(book)))
    assert shown == sorted(map(key, file_result.findings)) == sorted(map(key, result.findings))


def test_addin_rectangles_cover_exactly():
    cells = {(r, c) for r in range(8, 30) for c in (1, 2, 3, 5, 6, 7)} | {(2, 3), (3, 3)}
    rects = addin.rectangles(cells)
    covered = {(r, c) for r0, c0, r1, c1 in rects for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    assert covered == cells
    assert len(rects) == 3


def test_addin_creates_review_sheet_when_missing(filled):
    payload = book_payload(filled)
    payload["sheets"] = [s for s in payload["sheets"] if s["name"] != REVIEW_SHEET]
    book = _book(payload)
    addin.validate(book)
    actions = book.json()["actions"]
    add = [a for a in actions if a["func"] == "addSheet"]
    assert len(add) == 1 and add[0]["args"][1] == REVIEW_SHEET
    assert [s.name for s in book.sheets][-1] == REVIEW_SHEET
    assert _findings(_review_rows(book))


def test_addin_not_template_gets_chinese_explanation(made):
    path = made["别的表格"]
    book = _book(book_payload(path))
    assert addin.validate(book) is None
    rows = _review_rows(book)
    assert rows[0][0] == addin.NOT_TEMPLATE_TITLE
    text = "".join(str(r[0]) for r in rows)
    assert "template_version" in text and "标准模板" in text and "预算表" in text
    assert book.sheets.active.name == REVIEW_SHEET


def test_addin_main_uses_the_calling_book(filled, monkeypatch):
    book = _book(book_payload(filled))
    book.set_mock_caller()
    try:
        addin.main()
    finally:
        del xw.Book._mock_caller
    assert _findings(_review_rows(book))


def test_addin_main_reports_unexpected_error_in_the_sheet(filled, monkeypatch):
    book = _book(book_payload(filled))
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

    Documented differences (the payload carries values only): number format codes (the template's
    stand in: same decimals, percent and date-ness; LibreOffice spells yyyy-mm-dd as yyyy\\-mm\\-dd),
    formats of cells that are neither named nor in a table (the model never reads them), and a template formula overwritten
    by a typed constant *equal to* the formula's result (indistinguishable without formulas)."""
    file_wb = read_workbook(filled)
    book = _book(book_payload(filled))
    wb = build_model(raw_from_book(book), book.name)
    assert wb.sheets == file_wb.sheets
    assert set(wb.names) == set(file_wb.names)
    for n, c in file_wb.names.items():
        d = wb.names[n]
        assert (d.sheet, d.address, d.decimals, d.percent, is_date_format(d.number_format)) == \
            (c.sheet, c.address, c.decimals, c.percent, is_date_format(c.number_format)), n
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
                assert (s[h].decimals, s[h].percent) == (r[h].decimals, r[h].percent), (k, r.index, h)
    for sheet, grid in file_wb.cells.items():
        other = wb.cells[sheet]
        for key in set(grid) | set(other):
            a, b = grid.get(key), other.get(key)
            va = None if a is None or a.value == "" else a.value
            vb = None if b is None or b.value == "" else b.value
            assert va == vb and type(va) is type(vb), (sheet, key, a, b)


def test_addin_reader_reads_in_bulk(filled, monkeypatch):
    """One values read per sheet, whatever the number of cells."""
    book = _book(book_payload(filled))
    reads = []
    orig = xw.main.Range.value.fget

    def counting(self):
        reads.append(self.address)
        return orig(self)
    monkeypatch.setattr(xw.main.Range, "value", property(counting, xw.main.Range.value.fset))
    raw_from_book(book)
    assert len(reads) == len(book.sheets)


def test_addin_values_only_detects_constants_by_value(made):
    """Without formulas, a template formula cell whose value its formula cannot produce from the
    current inputs was typed over; one whose value matches keeps the formula."""
    path = made["typed"]
    wb = build_model(raw_from_book(_book(book_payload(path))), "typed.xlsx")
    assert wb.names["budget_completion_rate"].formula is None
    assert wb.names["budget_adjusted"].formula is not None
    rate = wb.tables["indicators"].rows[0]["完成率"]
    assert rate.formula is not None and rate.percent and rate.decimals == 2


def test_addin_template_hints_come_from_the_file_reader():
    """The template's formats and formulas are read by ooxml.read_layout, and survive the JSON that
    addin/build_lite.py embeds for xlwings Lite (no lxml there)."""
    import json

    from xlcheck.xlwings_reader import TemplateHints, hints_from_package, template_hints
    hints = hints_from_package(ROOT / "template.xlsx")
    assert hints == template_hints()
    assert hints.names["fill_date"] == ("yyyy-mm-dd", None) and hints.names["dept_name"] == ("General", None)
    fmt, formula = hints.names["budget_completion_rate"]
    assert fmt == "0.00%" and formula.startswith("IF(AND(ISNUMBER(spend_actual)")
    fmt, formula, first = hints.columns["indicators"]["完成率"]
    assert (fmt, first) == ("0.00%", 4) and formula.startswith("IFERROR(") and "G4/E4" in formula
    assert hints.columns["problems"]["序号"] == ("0", None, 4)
    assert TemplateHints.from_dict(json.loads(json.dumps(hints.to_dict()))) == hints


def test_addin_serial_dates_read_as_the_file_reader_reads_them():
    """Office.js before ExcelApi 1.12 sends a date as its serial: the template's date format turns
    it into the datetime the file reader gives (one conversion, xlcheck.ooxml.serial_to_datetime)."""
    from datetime import datetime

    from xlcheck.model import Cell
    from xlcheck.ooxml import DefinedName, RawBook
    from xlcheck.xlwings_reader import TemplateHints, apply_template_hints
    hints = TemplateHints({"a": ("yyyy-mm-dd", None), "b": ("yyyy\"年\"m\"月\"", None), "c": ("0.00", None)})
    grid = {(1, i): Cell("S", f"{col}1", v) for i, (col, v) in enumerate(zip("ABC", (45000.25, 60, 45000)), 1)}
    raw = RawBook(sheets=["S"], cells={"S": grid},
                  names=[DefinedName(n, f"S!${col}$1") for n, col in zip("abc", "ABC")])
    apply_template_hints(raw, fill_formulas=False, hints=hints)
    assert [grid[(1, i)].value for i in (1, 2, 3)] == [datetime(2023, 3, 15, 6), 60, 45000]
    assert grid[(1, 3)].decimals == 2


# ---------------------------------------------------------------- installing

def test_addin_install_unsupported_os_exits_2(monkeypatch):
    from click.testing import CliRunner
    from xlcheck.cli import main
    monkeypatch.setattr("sys.platform", "linux")
    res = CliRunner().invoke(main, ["addin", "install"])
    assert res.exit_code == 2
    assert "Windows" in res.output and "macOS" in res.output and "无法安装" in res.output


ZHANG = r"C:\Users\张三\AppData\Local\Programs\Python\Python311\python.exe"


def _vba_input(data: bytes, codepage: str = "cp936") -> dict[str, str]:
    """The config as xlwings' VBA GetConfig reads it: `Line Input #` in the ANSI code page (cp936
    on Chinese Windows), then `"KEY","VALUE"` split at the comma, quotes removed."""
    out = {}
    for line in data.decode(codepage).split("\r\n"):
        if line:
            key, _, value = line.partition(",")
            out[key.strip('"')] = value.strip('"')
    return out


def test_addin_config_is_read_back_by_vba_on_chinese_windows(tmp_path, monkeypatch):
    """A user named 张三: the config is written in the locale's code page as xlwings writes it, so
    the VBA reads the interpreter path back exactly (UTF-8 would come back as mojibake)."""
    import locale
    monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True: "cp936")
    conf = tmp_path / ".myaddin" / "myaddin.conf"
    conf.parent.mkdir()
    conf.write_bytes('"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","C:\\旧\\python.exe"\r\n'.encode("cp936"))
    addin_install.write_interpreter_config(conf, ZHANG, platform="win32", environ={})
    data = conf.read_bytes()
    assert _vba_input(data) == {"SHOW CONSOLE": "True", "INTERPRETER_WIN": ZHANG, "ADD_WORKBOOK_TO_PYTHONPATH": "False"}
    assert data.decode("utf-8", errors="replace") != data.decode("cp936")     # not UTF-8
    assert addin_install.config_file("darwin").parts[-3:] == ("com.microsoft.Excel", "Data", "myaddin.conf")
    assert addin_install.config_file("win32").parts[-2:] == (".myaddin", "myaddin.conf")


def test_addin_config_under_conda_names_the_environment(tmp_path, monkeypatch):
    """Anaconda on Windows: CONDA PATH / CONDA ENV (the VBA activates the environment), as
    xlwings' own config_create writes them; a stale INTERPRETER_WIN goes."""
    conf = tmp_path / "myaddin.conf"
    conf.write_bytes(b'"INTERPRETER_WIN","C:\\old\\python.exe"\r\n')
    env = {"CONDA_DEFAULT_ENV": "xlcheck", "CONDA_EXE": r"C:\Users\张三\miniconda3\Scripts\conda.exe"}
    addin_install.write_interpreter_config(conf, ZHANG, platform="win32", encoding="cp936", environ=env)
    assert _vba_input(conf.read_bytes()) == {"CONDA PATH": r"C:\Users\张三\miniconda3", "CONDA ENV": "xlcheck",
                                             "ADD_WORKBOOK_TO_PYTHONPATH": "False"}
    import xlwings.cli as xwcli      # the same root as xlwings computes, in this OS's path form
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "xlcheck")
    monkeypatch.setenv("CONDA_EXE", "/home/u/miniconda3/bin/conda")
    assert addin_install.conda_settings() == xwcli.get_conda_settings() == ("/home/u/miniconda3", "xlcheck")
    # on macOS xlwings writes the interpreter even under conda
    addin_install.write_interpreter_config(conf, "/opt/conda/bin/python", platform="darwin", encoding="utf-8", environ=env)
    assert _vba_input(conf.read_bytes(), "utf-8") == {"INTERPRETER_MAC": "/opt/conda/bin/python",
                                                       "ADD_WORKBOOK_TO_PYTHONPATH": "False"}


def test_addin_config_path_outside_the_code_page_fails_clearly(tmp_path, monkeypatch):
    import sys
    import xlwings
    import xlwings.cli as xwcli
    monkeypatch.setattr(xlwings, "apps", [])               # no running Excel
    monkeypatch.setattr(xwcli, "get_addin_dir", lambda global_location=False: str(tmp_path))
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setattr(sys, "executable", r"C:\Users\Ελένη\python.exe")      # not in cp936
    monkeypatch.setattr(addin_install, "config_encoding", lambda: "cp936")
    monkeypatch.setattr(addin_install, "config_file", lambda platform=None: tmp_path / ".myaddin" / "myaddin.conf")
    messages = []
    assert addin_install.install_addin(ROOT / "addin" / "xlcheck.xlam", echo=messages.append) == 1
    assert "安装失败" in messages[0] and "cp936" in messages[0]


def _install(monkeypatch, tmp_path, addin_dir):
    import xlwings
    import xlwings.cli as xwcli
    monkeypatch.setattr(xlwings, "apps", [])               # no running Excel: xlwings just copies
    monkeypatch.setattr(xwcli, "get_addin_dir", lambda global_location=False: str(addin_dir))
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setattr(addin_install, "config_file", lambda platform=None: tmp_path / ".myaddin" / "myaddin.conf")
    monkeypatch.delenv("CONDA_DEFAULT_ENV", raising=False)
    messages = []
    code = addin_install.install_addin(ROOT / "addin" / "xlcheck.xlam", echo=messages.append)
    return code, messages


def test_addin_install_lands_in_xlstart_under_the_module_name(monkeypatch, tmp_path):
    """xlwings' own installer copies the add-in into XLSTART under the name that makes the ribbon
    macro import xlcheck.addin; the VBA is pointed at this Python."""
    import sys
    xlstart = tmp_path / "XLSTART"
    xlstart.mkdir()
    code, messages = _install(monkeypatch, tmp_path, xlstart)
    assert code == 0, messages
    installed = xlstart / addin_install.INSTALLED_NAME
    assert installed.read_bytes() == (ROOT / "addin" / "xlcheck.xlam").read_bytes()
    assert addin_install.ribbon_command(installed.name) == "import xlcheck.addin;xlcheck.addin.main()"
    conf = _vba_input((tmp_path / ".myaddin" / "myaddin.conf").read_bytes(), addin_install.config_encoding())
    assert conf == {"INTERPRETER_WIN": sys.executable, "ADD_WORKBOOK_TO_PYTHONPATH": "False"}
    assert any("已安装" in m for m in messages)


def test_addin_install_reports_a_copy_that_did_not_land(monkeypatch, tmp_path):
    """xlwings' installer prints an English repr and returns when the copy fails: xlcheck checks
    the file and says so in Chinese, exit 1, and writes no config."""
    code, messages = _install(monkeypatch, tmp_path, tmp_path / "无此文件夹" / "XLSTART")
    assert code == 1
    assert messages[0].startswith("安装失败") and "XLSTART" in messages[0]
    assert not any("已安装" in m for m in messages)
    assert any("FileNotFoundError" in m for m in messages)          # xlwings' own words, as detail
    assert not (tmp_path / ".myaddin" / "myaddin.conf").exists()


def test_addin_round_trip_keeps_explanation_written_in_excel(filled):
    """校验 → the officer types a 填报单位说明 into the sheet the add-in wrote → 校验 again."""
    payload = book_payload(filled)
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


SITECUSTOMIZE = '''
# Excel's side of RunPython, mocked: Book.caller() returns the remote book of a payload
import atexit, json, os
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
import xlwings as xw
from xlcheck.addin import remote_book
_book = remote_book(json.load(open(os.environ["XLCHECK_TEST_PAYLOAD"], encoding="utf-8")))
_book.set_mock_caller()
def _dump():
    with open(os.environ["XLCHECK_TEST_ACTIONS"], "w", encoding="utf-8") as fh:
        json.dump({"argv": __import__("sys").argv, "json": _book.json()}, fh, ensure_ascii=False, default=str)
atexit.register(_dump)
'''


def test_addin_ribbon_command_as_the_vba_builds_it(filled, file_result, tmp_path):
    """绩效自评 → 校验: RibbonMyAddin.RunMain → RunPython → ExecuteWindows builds a command line
    (read here from the shipped VBA with olevba); run as built, with Book.caller mocked and the
    settings `xlcheck addin install` writes (a workbook on OneDrive, a user named 张三), it writes
    审核结果 with the CLI's findings."""
    import json
    import subprocess
    import sys
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(ROOT / "addin" / "xlcheck.xlam"))
    vba = {Path(n).stem: code for _f, _s, n, code in parser.extract_macros()}
    parser.close()
    src = vba["xlwings"]
    # the two lines of ExecuteWindows this test reproduces, verbatim
    assert ('RunCommand = CondaCmd & PythonInterpreter & " -B -c ""import xlwings.utils;'
            'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\""); " & PythonCommand & """ "') in src
    assert '" --wb=" & """" & ActiveWorkbook.Name & """ --from_xl=1" & " --app=" & Chr(34)' in src
    assert ('PYTHONPATH = AddExcelDir & ";" & ActiveFullName & ";" & ThisFullName & ";" & '
            'GetConfig("ONEDRIVE_CONSUMER_WIN") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & '
            'GetConfig("SHAREPOINT_WIN") & ";" & GetConfig("PYTHONPATH")') in src
    assert "ActiveFullName = ActiveWorkbook.FullName" in src and "ThisFullName = ThisWorkbook.FullName" in src
    assert 'AddExcelDir = GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")' in src
    assert 'PYTHONPATH = Replace(PYTHONPATH, "&", "^&")' in src and 'PYTHONPATH = Replace(PYTHONPATH, "\\", "\\\\")' in src
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in vba["RibbonMyAddin"]

    conf = dict(addin_install.config_settings(r"C:\Users\张三\AppData\Local\Programs\Python\Python311\python.exe",
                                      "win32", environ={}))
    add_dir = conf["ADD_WORKBOOK_TO_PYTHONPATH"]
    active = "https://d.docs.live.net/4f2a/自评/" + filled.name       # AutoSave on OneDrive: a URL
    this = r"C:\Users\张三\AppData\Roaming\Microsoft\Excel\XLSTART" + "\\" + addin_install.INSTALLED_NAME
    pythonpath = ";".join([add_dir, active, this, "", "", "", ""])
    pythonpath = pythonpath.replace("&", "^&").replace("\\", "\\\\")     # ExecuteWindows' escaping
    command = addin_install.ribbon_command(addin_install.INSTALLED_NAME)
    # RunCommand after cmd.exe (^& is &) and the C runtime's argument rules (\" is a literal quote,
    # other backslashes stay as they are)
    code = f'import xlwings.utils;xlwings.utils.prepare_sys_path("{pythonpath.replace("^&", "&")}"); {command}'
    argv = [sys.executable, "-B", "-c", code, f"--wb={filled.name}", "--from_xl=1",
            r"--app=C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE", "--hwnd=132456"]
    mock = tmp_path / "mock"
    mock.mkdir()
    (mock / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    payload, actions = tmp_path / "payload.json", tmp_path / "actions.json"
    payload.write_text(json.dumps(book_payload(filled), ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(mock), XLCHECK_TEST_PAYLOAD=str(payload), XLCHECK_TEST_ACTIONS=str(actions))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(actions.read_text(encoding="utf-8"))
    assert out["argv"][1:3] == [f"--wb={filled.name}", "--from_xl=1"]
    rows = _review_rows_of(out["json"]["actions"])
    assert rows[0][0].startswith("审核结果")
    key = lambda f: (f.rule, f.sheet, f.cell, f.message)  # noqa: E731
    assert sorted((f["规则"], f["工作表"], f["单元格"], f["问题描述"]) for f in _findings(rows)) == \
        sorted(map(key, file_result.findings))
    # with xlwings' default (the workbook's folder on sys.path) the OneDrive URL stops RunPython
    import xlwings.utils
    with pytest.raises(xw.XlwingsError):
        xlwings.utils.prepare_sys_path(";".join(["true", active, this, "", "", "", ""]))


def _review_rows_of(actions):
    from payloads import review_rows
    return review_rows(actions)
