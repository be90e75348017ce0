"""校验 inside Excel: `validate(book)` checks an open xlwings Book and writes 审核结果 into it.

Engine-agnostic: the same function serves the desktop add-in (ribbon 绩效自评 → 校验, through
xlwings' RunPython: `main()`), xlwings Lite (`addin/lite/main.py` → `validate_async`), and tests on
any OS through xlwings' remote interface (`remote_book(book_payload(path))`).

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
    """Entry point of the xlwings Lite script (addin/lite/main.py)."""
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
        _try(setters[prop], sheet.range((r0, c0), (r1, c1)), v)
    engine = _engine(book)
    for i, col in enumerate(layout.columns, 1):
        width = col.width * 5.7 + 3 if engine == "remote" else col.width   # remote: points
        _try(setattr, sheet.range((1, i)), "column_width", width)
        if col.hidden:
            _try(setattr, sheet.range((1, i)).columns, "hidden", True)
    if layout.max_row > layout.header_row:
        _try(sheet.range((layout.header_row + 1, 1), (layout.max_row, ncols)).rows.autofit)
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
    _try(setattr, sheet.range((1, 1)).font, "bold", True)
    _try(setattr, sheet.range((1, 1)).font, "size", 14)
    _try(setattr, sheet.range((1, 1)).font, "color", (192, 0, 0))
    _try(setattr, sheet.range((1, 1)), "column_width", 120 * 5.7 if _engine(book) == "remote" else 120)
    _try(setattr, sheet.range((2, 1), (len(rows), 1)), "wrap_text", True)
    sheet.activate()
    _try(sheet.range((1, 1)).select)
    return sheet


# ---------------------------------------------------------------- the remote interface (tests, any OS)

def _payload_value(v):
    """A model value as the Office.js client sends it (dates as ISO strings, errors as text)."""
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, _dt.date):
        return f"{v.isoformat()}T00:00:00.000Z"
    if isinstance(v, (bool, int, float)):
        return v
    return str(v)


def _quote_sheet(name: str) -> str:
    import re
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) else "'" + name.replace("'", "''") + "'"


def book_payload(path, *, name: str | None = None, active_sheet: int = 0) -> dict:
    """The JSON book payload xlwings' remote interface receives from the Office.js client
    (xlwings Lite / xlwings Server), built from a workbook file: values only, as the client sends
    them — no formulas, no number formats (see xlwings_reader for how the reader copes)."""
    import xlwings as xw
    from pathlib import Path
    from .ooxml import range_bounds, read_package
    from .reader import _NAME_REF
    raw = read_package(path)
    sheets = []
    for sname in raw.sheets:
        grid = raw.cells.get(sname, {})
        nrows = max((r for r, _c in grid), default=0)
        ncols = max((c for _r, c in grid), default=0)
        values = [["" for _ in range(ncols)] for _ in range(nrows)]
        rmin = cmin = None
        for (r, c), cell in grid.items():
            values[r - 1][c - 1] = _payload_value(cell.value)
            if cell.value not in (None, ""):
                rmin = r if rmin is None else min(rmin, r)
                cmin = c if cmin is None else min(cmin, c)
        tables = []
        for t in raw.tables:
            if t.sheet != sname:
                continue
            r0, c0, r1, c1 = range_bounds(t.ref)
            from .ooxml import col_letters
            tables.append({
                "name": t.name, "range_address": t.ref,
                "header_row_range_address": f"{col_letters(c0)}{r0}:{col_letters(c1)}{r0}",
                "data_body_range_address": f"{col_letters(c0)}{r0 + 1}:{col_letters(c1)}{r1}",
                "total_row_range_address": None, "show_headers": True, "show_totals": False,
                "table_style": "TableStyleLight1", "show_autofilter": True,
                "show_table_style_first_column": False, "show_table_style_last_column": False,
                "show_table_style_row_stripes": False, "show_table_style_column_stripes": False,
                "row_count": r1 - r0 + 1, "column_count": c1 - c0 + 1, "columns": list(t.columns),
            })
        used = (f"{_a1(rmin or 1, cmin or 1)}:{_a1(nrows, ncols)}" if nrows and ncols else None)
        sheets.append({
            "name": sname, "values": values or [[]], "pictures": [], "shapes": [], "charts": [],
            "notes": [], "tables": tables, "print_area": None, "visibility": "Visible",
            "used_range_address": used, "show_gridlines": True, "pivot_tables": [],
        })
    names = []
    for d in raw.names:
        if d.name.startswith("_xlnm."):
            continue
        m = _NAME_REF.match(d.text.lstrip("="))
        sheet_index = address = None
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            if sheet in raw.sheets:
                sheet_index = raw.sheets.index(sheet)
                address = d.text.split("!")[-1].replace("$", "")
        local = d.local_sheet
        names.append({
            "name": d.name, "refers_to": "=" + d.text.lstrip("="), "sheet_index": sheet_index,
            "address": address, "book_scope": local is None,
            "scope_sheet_name": raw.sheets[local] if local is not None else None,
            "scope_sheet_index": local,
        })
    return {
        "client": "Office.js", "version": xw.__version__,
        "book": {"name": name or Path(path).name, "active_sheet_index": active_sheet, "selection": "A1"},
        "names": names, "sheets": sheets,
    }


def _a1(r: int, c: int) -> str:
    from .ooxml import col_letters
    return f"{col_letters(c)}{r}"


def remote_book(payload: dict):
    """An xlwings Book on the remote interface (no Excel): `book.json()` holds what it did."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw
    if "remote" not in [e.name for e in xw.engines]:   # xlwings was imported before the key was set
        from xlwings.pro import _xlremote
        xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
    return xw.Book(json=payload)


# ---------------------------------------------------------------- installing the desktop add-in

ADDIN_FILE = "xlcheck.xlam"
# The template's ribbon macro runs `import <file name up to its last dot>; <same>.main()`, so the
# add-in is installed under this name: its button runs `import xlcheck.addin;xlcheck.addin.main()`.
INSTALLED_NAME = "xlcheck.addin.xlam"
CONFIG_NAME = "myaddin"   # PROJECT_NAME of the xlwings VBA module in the add-in template


def ribbon_command(addin_file_name: str) -> str:
    """The Python command the template's RibbonMyAddin.RunMain runs for an add-in file name
    (VBA: Left(ThisWorkbook.Name, InStrRev(ThisWorkbook.Name, ".") - 1))."""
    module = addin_file_name[:addin_file_name.rfind(".")]
    return f"import {module};{module}.main()"


def addin_file() -> "Path | None":
    """The built add-in: beside the package (installed data) or in the source tree's addin/."""
    from pathlib import Path
    here = Path(__file__).resolve().parent
    for p in (here / "addin" / ADDIN_FILE, here.parent.parent / "addin" / ADDIN_FILE):
        if p.is_file():
            return p
    return None


def config_file(platform: str | None = None) -> "Path":
    """Where the add-in's VBA (xlwings GetConfig, user layer) reads its settings."""
    import sys
    from pathlib import Path
    platform = platform or sys.platform
    home = Path(os.path.expanduser("~"))
    if platform.startswith("darwin"):   # Excel's sandbox home
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{CONFIG_NAME}.conf"
    return home / f".{CONFIG_NAME}" / f"{CONFIG_NAME}.conf"


def write_interpreter_config(path, interpreter: str, platform: str | None = None) -> None:
    """Set INTERPRETER_WIN / INTERPRETER_MAC in the add-in's config file, keeping other settings."""
    import sys
    from pathlib import Path
    platform = platform or sys.platform
    key = "INTERPRETER_MAC" if platform.startswith("darwin") else "INTERPRETER_WIN"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if path.exists():
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if not ln.strip().strip('"').upper().startswith(key)]
    lines.append(f'"{key}","{interpreter}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def install_addin(xlam=None, *, echo=print) -> int:
    """`xlcheck addin install`: copy the add-in into Excel's XLSTART folder with xlwings' own
    installer (as `xlwings addin install --file` does), named INSTALLED_NAME, and point it at this
    Python. Returns the exit code."""
    import argparse
    import sys
    from pathlib import Path
    if not (sys.platform.startswith("win") or sys.platform.startswith("darwin")):
        echo("无法安装：Excel 加载项只能安装在 Windows 或 macOS 的 Microsoft Excel 中。"
             "在本系统上请使用命令行 xlcheck 文件或文件夹 进行审核，或在 Excel 中使用 xlwings Lite（见 addin/README.md）。")
        return 2
    path = Path(xlam) if xlam else addin_file()
    if path is None or not path.is_file():
        echo(f"找不到加载项文件 {ADDIN_FILE}。请用 --file 指定（源码目录 addin/{ADDIN_FILE}）。")
        return 2
    try:
        import shutil
        import tempfile
        import xlwings.cli as xwcli
        with tempfile.TemporaryDirectory() as tmp:
            named = Path(tmp) / INSTALLED_NAME      # see INSTALLED_NAME: the name selects the module
            shutil.copyfile(path, named)
            xwcli.addin_install(argparse.Namespace(file=str(named), dir=None, glob=False))
        conf = config_file()
        write_interpreter_config(conf, sys.executable)
    except Exception as e:  # Excel missing, XLSTART not writable …
        echo(f"安装失败：{type(e).__name__}: {e}")
        echo("请确认已安装 Microsoft Excel 并至少打开过一次，然后关闭 Excel 再运行本命令。")
        return 1
    echo(f"已安装“绩效自评”加载项（{INSTALLED_NAME}），Python：{sys.executable}")
    echo(f"设置文件：{conf}")
    echo("请完全退出并重新打开 Excel：功能区出现“绩效自评”选项卡，点击“校验”即可审核当前工作簿。")
    return 0
