"""校验 inside Excel: `validate(book)` checks an open xlwings Book and writes 审核结果 into it.

Engine-agnostic: the same function serves the desktop add-in (ribbon 绩效自评 → 校验, through
xlwings' RunPython: `main()`), xlwings Lite (the script addin/build_lite.py builds →
`validate_async`), the bureau's service and tests on any OS through xlwings' remote interface
(`remote_book(payload)`, payloads built the way xlwings' clients build them: tests/payloads.py).
On the remote interface only write actions the calling client implements are sent (CLIENT_ACTIONS).

It reads the book in bulk (xlwings_reader), runs the same checks as the command line, lays out the
review sheet with the file writer's own pure layout (`review.review_layout`), writes its values in
one call and its formatting in a few calls per style property, keeps what the filler typed in
填报单位说明, activates the review sheet and selects the first error's row. It never saves: the
user decides. A workbook that is not the template gets a review sheet that says so in Chinese.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import traceback
import unicodedata
from typing import Any

from .explanations import REVIEW_SHEET

NOT_TEMPLATE_TITLE = "无法校验：这不是部门整体支出绩效自评模板"
ERROR_TITLE = "校验未能完成"
# names and tables of the template (SPEC 2): a workbook with none of them is not the template
TEMPLATE_NAMES = frozenset(("template_version", "dept_name", "eval_year", "budget_initial", "spend_actual",
                            "score_total"))
TEMPLATE_TABLES = frozenset(("tasks", "indicators", "scores", "problems"))
FORMULA_START = ("=", "+", "-", "@")


# ---------------------------------------------------------------- checking

def is_template(wb) -> bool:
    """A workbook made from the xlcheck template: its version name, or any of its names or tables."""
    return (wb.template_version is not None or bool(wb.names.keys() & TEMPLATE_NAMES)
            or bool(wb.tables.keys() & TEMPLATE_TABLES))


def check_raw(raw, name: str, *, checks_dir=None):
    """(model, FileResult or None when the book is not the template) — the CLI's own checks."""
    from .reader import build_model
    from .rules import load_checks
    from .runner import check_workbooks
    wb = build_model(raw, name)
    if not is_template(wb):
        return wb, None
    return wb, check_workbooks([wb], load_checks(checks_dir))[0]


def validate(book, *, checks_dir=None, now: _dt.datetime | None = None):
    """Check an open xlwings Book and write 审核结果 into it (never saves). Returns the FileResult
    (None for a workbook that is not the template)."""
    from .xlwings_reader import raw_from_book
    return _validate(book, raw_from_book(book), checks_dir=checks_dir, now=now)


async def validate_async(book, *, checks_dir=None, now: _dt.datetime | None = None):
    """xlwings Lite: the same, with formulas fetched on demand (Lite reads are asynchronous)."""
    from .xlwings_reader import raw_from_book_async
    return _validate(book, await raw_from_book_async(book), checks_dir=checks_dir, now=now)


def _validate(book, raw, *, checks_dir, now):
    from .review import read_notes, review_layout
    wb, result = check_raw(raw, str(book.name), checks_dir=checks_dir)
    if result is None:
        write_message(book, NOT_TEMPLATE_TITLE, _not_template_lines(str(book.name), wb.sheets))
        return None
    notes = read_notes(wb.cells.get(REVIEW_SHEET, {}))
    write_layout(book, review_layout(result, notes, now=now))
    return result


def main():
    """Entry point of the ribbon button 绩效自评 → 校验 (xlwings RunPython, desktop Excel)."""
    import xlwings as xw
    book = xw.Book.caller()
    try:
        return validate(book)
    except Exception as e:  # the officer sees a sentence in the workbook, not a traceback window
        report_error(book, e)
        return None


async def main_async(book):
    """Entry point of the xlwings Lite script (built by addin/build_lite.py)."""
    try:
        return await validate_async(book)
    except Exception as e:
        report_error(book, e)
        return None


def report_error(book, e: BaseException) -> None:
    detail = traceback.format_exc(limit=4).strip().splitlines()
    write_message(book, ERROR_TITLE, [
        f"校验时出错：{type(e).__name__}: {e}",
        "除本表外，工作簿未被修改。请保存工作簿、重新打开后再试；仍然出错时，"
        "请把本表截图和工作簿发给财政部门的技术支持。",
        *("技术信息：" + line for line in detail[-3:]),
    ])


def _not_template_lines(book_name: str, sheets: list[str]) -> list[str]:
    others = "、".join(s for s in sheets if s != REVIEW_SHEET) or "（无）"
    return [
        f"工作簿“{book_name}”中没有模板版本（定义名称 template_version），"
        "也没有模板的定义名称和表格（年度任务、绩效指标、自评评分、问题与措施）。",
        "“校验”只审核用 xlcheck 标准模板（template.xlsx）填写的《部门整体支出绩效自评》工作簿。",
        "请向财政部门索取本单位的标准模板，把数据填入模板后再点击“校验”；"
        "不要改动模板的工作表名称、表头和定义名称。",
        f"本工作簿的工作表：{others}",
    ]


# ---------------------------------------------------------------- writing into the open book

def _engine(book) -> str:
    try:
        return book.app.engine.name
    except Exception:
        return "remote"


# Write actions each xlwings client implements: on the remote interface xlwings turns every write
# into an action that the client in Excel carries out, and a client stops at an action it lacks.
# "VBA": xlwings/addin/Remote.bas (RunRemotePython); "Microsoft Office Scripts": xlwings/js/xlwings.ts
# — both ship in the xlwings wheel and tests/test_addin.py reads them there; "Office.js":
# xlwings-server's client (xlwings Lite, xlwings Server), listed in addin/clients/officejs-actions.txt.
_COMMON_ACTIONS = frozenset((
    "activateSheet", "addHyperlink", "addPicture", "addSheet", "addTable", "alert", "copyRange",
    "deletePicture", "nameDelete", "namesAdd", "rangeClear", "rangeClearContents", "rangeClearFormats",
    "rangeDelete", "rangeInsert", "rangeSelect", "resizeTable", "runMacro", "setAutofit", "setNumberFormat",
    "setPictureHeight", "setPictureName", "setPictureWidth", "setRangeColor", "setRangeName",
    "setSheetName", "setTableName", "setTableStyle", "setValues", "sheetClear", "sheetClearContents",
    "sheetClearFormats", "sheetDelete", "showAutofilterTable", "showHeadersTable", "showTotalsTable",
    "updatePicture"))
CLIENT_ACTIONS = {
    "VBA": _COMMON_ACTIONS,
    "Microsoft Office Scripts": _COMMON_ACTIONS,
    "Office.js": _COMMON_ACTIONS | {"copyFromRange", "freezePaneAtRange", "freezePaneUnfreeze",
                                    "rangeAdjustIndent", "rangeGroup", "rangeUngroup", "setFontProperty"},
}
# what each formatting step sends on the remote interface
PROPERTY_ACTIONS = {"fill": "setRangeColor", "color": "setFontProperty", "bold": "setFontProperty",
                    "italic": "setFontProperty", "size": "setFontProperty", "wrap": "setWrapText",
                    "h_align": "setHorizontalAlignment", "v_align": "setVerticalAlignment",
                    "border": "setBorderProperty", "column_width": "setColumnWidth",
                    "hidden": "setColumnHidden", "autofit": "setAutofit", "freeze": "freezePaneAtRange",
                    "select": "rangeSelect"}


def client_actions(book) -> frozenset | None:
    """The write actions the calling client implements (None: not the remote interface, anything
    goes); an unknown client gets what every known client implements."""
    if _engine(book) != "remote":
        return None
    try:
        client = book.api["client"]
    except Exception:
        client = None
    return CLIENT_ACTIONS.get(client, _COMMON_ACTIONS)


def can(book, step: str) -> bool:
    """Whether a formatting step (PROPERTY_ACTIONS key) reaches Excel on this client; a step that
    cannot is left out (the review sheet keeps its values, links and fills), never sent to fail."""
    allowed = client_actions(book)
    return allowed is None or PROPERTY_ACTIONS[step] in allowed


def _try(fn, *args, **kwargs):
    """Formatting as far as the engine allows: a property an engine lacks is skipped, never fatal."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        return None


def _find_sheet(book, name: str):
    for s in book.sheets:
        if s.name == name:
            return s
    return None


def _review_sheet(book):
    """The 审核结果 sheet, cleared (values and formats); created after the last sheet if missing."""
    sheet = _find_sheet(book, REVIEW_SHEET)
    if sheet is None:
        sheets = book.sheets
        return sheets.add(REVIEW_SHEET, after=sheets[len(sheets) - 1])
    if _engine(book) == "excel":
        _try(lambda: sheet.api.Unprotect())        # protected by hand (no password): open it again
    sheet.clear()
    return sheet


_NUMBER_LIKE = re.compile(r"^[-+]?[$¥￥€£]?\s*[-+]?(?=[\d.])[\d,]*\.?\d*(?:[eE][-+]?\d+)?\s*%?$")
_DATE_LIKE = re.compile(r"^\d{1,4}([-/.])\d{1,2}(?:\1\d{1,4})?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$|"
                        r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?$|^\d{4}年\d{1,2}月(?:\d{1,2}日)?$|"
                        r"^\d{1,2}月\d{1,2}日$|^\d+\s+\d+/\d+$|^\(\d[\d,.]*\)$")


def excel_would_convert(text: str) -> bool:
    """Whether Excel turns this text into something else when it is written as a cell value: a
    formula (=, +, -, @), a number, percentage, date, time or logical value."""
    t = unicodedata.normalize("NFKC", text).strip()
    if not t:
        return False
    return (text.startswith(FORMULA_START) or t.startswith(FORMULA_START) or t.upper() in ("TRUE", "FALSE")
            or bool(_NUMBER_LIKE.match(t)) or bool(_DATE_LIKE.match(t)))


def cell_value(value, link: str | None = None):
    """A layout value as written through xlwings: text stays text exactly as the file writer
    stores it (a leading apostrophe where Excel would convert it); a hyperlink becomes a HYPERLINK
    formula, so that it is part of the one bulk write."""
    if link:
        target = ("#" + link).replace('"', '""')
        text = str(value).replace('"', '""')
        return f'=HYPERLINK("{target}","{text}")'
    if isinstance(value, str) and excel_would_convert(value):
        return "'" + value
    return value


def rectangles(cells) -> list[tuple[int, int, int, int]]:
    """Cover a set of (row, col) with few rectangles (r0, c0, r1, c1): runs per row, merged down."""
    by_row: dict[int, list[int]] = {}
    for r, c in cells:
        by_row.setdefault(r, []).append(c)
    open_: dict[tuple[int, int], list[int]] = {}
    out = []
    for r in sorted(by_row):
        cols = sorted(by_row[r])
        runs, start = [], cols[0]
        for a, b in zip(cols, cols[1:] + [None]):
            if b != a + 1:
                runs.append((start, a))
                start = b
        for run in runs:
            rect = open_.get(run)
            if rect is not None and rect[2] == r - 1:
                rect[2] = r
            else:
                if rect is not None:
                    out.append(tuple(rect))
                open_[run] = [r, run[0], r, run[1]]
    out.extend(tuple(x) for x in open_.values())
    return [(r0, c0, r1, c1) for r0, c0, r1, c1 in sorted(out)]


# style property -> (value of an unstyled cell, how to set it on an xlwings Range)
def _rgb(v: str) -> tuple[int, int, int]:
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def _set_fill(rng, v): rng.color = _rgb(v)
def _set_font_color(rng, v): rng.font.color = _rgb(v)
def _set_bold(rng, v): rng.font.bold = v
def _set_italic(rng, v): rng.font.italic = v
def _set_size(rng, v): rng.font.size = v
def _set_wrap(rng, v): rng.wrap_text = v
def _set_h_align(rng, v): rng.horizontal_alignment = v
def _set_v_align(rng, v): rng.vertical_alignment = v
def _set_border(rng, v):
    rng.borders.line_style = "continuous"
    rng.borders.color = (191, 191, 191)


PROPERTIES = (("fill", None, _set_fill), ("color", None, _set_font_color), ("bold", False, _set_bold),
              ("italic", False, _set_italic), ("size", 11, _set_size), ("wrap", False, _set_wrap),
              ("h_align", None, _set_h_align), ("v_align", None, _set_v_align),
              ("border", False, _set_border))


def format_plan(layout) -> list[tuple[str, Any, tuple[int, int, int, int]]]:
    """(property, value, rectangle) calls that give every cell its style: one call per property
    value and rectangle, not per cell."""
    where: dict[tuple[str, Any], list[tuple[int, int]]] = {}
    for r, row in layout.cells.items():
        for c, cell in row.items():
            st = layout.styles.get(cell.style)
            if st is None:
                continue
            for prop, default, _fn in PROPERTIES:
                v = getattr(st, prop)
                if v != default:
                    where.setdefault((prop, v), []).append((r, c))
    return [(prop, v, rect) for (prop, v), cells in where.items() for rect in rectangles(cells)]


def write_layout(book, layout):
    """Write a review_layout() ReviewSheet into the open book; returns the sheet."""
    desktop = _engine(book) == "excel"
    if desktop:
        _try(setattr, book.app, "screen_updating", False)
    try:
        return _write_layout(book, layout)
    finally:
        if desktop:
            _try(setattr, book.app, "screen_updating", True)


def _write_layout(book, layout):
    sheet = _review_sheet(book)
    ncols = len(layout.columns)
    grid = layout.grid()
    for r, row in layout.cells.items():
        for c, cell in row.items():
            grid[r - 1][c - 1] = cell_value(cell.value, cell.link)
    sheet.range((1, 1)).value = grid                      # one bulk write
    setters = {prop: fn for prop, _d, fn in PROPERTIES}
    for prop, v, (r0, c0, r1, c1) in format_plan(layout):
        if can(book, prop):
            _try(setters[prop], sheet.range((r0, c0), (r1, c1)), v)
    engine = _engine(book)
    for i, col in enumerate(layout.columns, 1):
        width = col.width * 5.7 + 3 if engine == "remote" else col.width   # remote: points
        if can(book, "column_width"):
            _try(setattr, sheet.range((1, i)), "column_width", width)
        if col.hidden and can(book, "hidden"):
            _try(setattr, sheet.range((1, i)).columns, "hidden", True)
    if layout.max_row > layout.header_row and can(book, "autofit"):
        _try(sheet.range((layout.header_row + 1, 1), (layout.max_row, ncols)).rows.autofit)
    if can(book, "freeze"):
        _try(sheet.freeze_panes.freeze_at, f"1:{layout.freeze_rows}")
    sheet.activate()
    if engine == "excel":
        _desktop_extras(book, sheet, layout)
    row = first_error_row(layout) or (layout.header_row + 1 if layout.last_row > layout.header_row else 1)
    _try(sheet.range((row, 1), (row, ncols)).select)
    return sheet


def first_error_row(layout) -> int | None:
    """Sheet row of the first 错误 finding (None when there is none)."""
    from .review import C_LEVEL
    for r in range(layout.header_row + 1, layout.last_row + 1):
        cell = layout.cells.get(r, {}).get(C_LEVEL)
        if cell is not None and cell.style.startswith("error"):
            return r
    return None


def _desktop_extras(book, sheet, layout):
    """Desktop Excel only (through its object model): filter buttons, frozen header, tab colour."""
    import sys
    if not sys.platform.startswith("win"):
        return
    rng = sheet.range(layout.autofilter)
    _try(lambda: rng.api.AutoFilter())
    if layout.tab_color:
        c = layout.tab_color
        _try(lambda: setattr(sheet.api.Tab, "Color", int(c[4:6] + c[2:4] + c[0:2], 16)))

    def freeze():
        win = book.app.api.ActiveWindow
        win.FreezePanes = False
        win.SplitColumn = 0
        win.SplitRow = layout.freeze_rows
        win.FreezePanes = True
    _try(freeze)


def write_message(book, title: str, lines: list[str]):
    """A review sheet that only says something (not the template; an unexpected error)."""
    sheet = _review_sheet(book)
    rows = [[title]] + [[line] for line in lines]
    sheet.range((1, 1)).value = [[cell_value(r[0])] for r in rows]
    if can(book, "bold"):
        _try(setattr, sheet.range((1, 1)).font, "bold", True)
        _try(setattr, sheet.range((1, 1)).font, "size", 14)
        _try(setattr, sheet.range((1, 1)).font, "color", (192, 0, 0))
    if can(book, "column_width"):
        _try(setattr, sheet.range((1, 1)), "column_width", 120 * 5.7 if _engine(book) == "remote" else 120)
    if can(book, "wrap"):
        _try(setattr, sheet.range((2, 1), (len(rows), 1)), "wrap_text", True)
    sheet.activate()
    _try(sheet.range((1, 1)).select)
    return sheet


# ---------------------------------------------------------------- the remote interface (tests, any OS)

def remote_book(payload: dict):
    """An xlwings Book on the remote interface (no Excel): `book.json()` holds what it did."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw
    if "remote" not in [e.name for e in xw.engines]:   # xlwings was imported before the key was set
        from xlwings.pro import _xlremote
        xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
    return xw.Book(json=payload)
