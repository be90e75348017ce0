"""The review sheet (审核结果): its layout as plain data, and writing it into a workbook file.

* `review_layout(result, notes, now=...)` -> `ReviewSheet`: values, style keys, hyperlinks, widths,
  heights, filter, frozen rows, print titles — no I/O. The Excel add-in writes this through xlwings
  (`ReviewSheet.grid()` in one call, `cells_by_style()` for formatting in a few calls).
* `write_review(src, dst, result)`: the explanations already typed into the file's review sheet are
  read back, the sheet is laid out and written into the package by `ooxml.edit.write_sheet` (only
  that sheet's part is rewritten; see there), and the file is replaced atomically.

The sheet is NOT protected: it is regenerated on every run, the user types explanations into it and
may sort and filter it freely. The 填报单位说明 cells are still marked unlocked (and yellow, the
template's input colour), so protecting the sheet by hand keeps them editable.
"""
from __future__ import annotations

import errno
import functools
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import TEMPLATE_VERSION, __version__
from .atomic import WriteError, write_atomic
from .explanations import (ReviewNote, read_notes, COL_CELL, COL_LOCATOR, COL_NOTE, COL_RULE, COL_SHEET, REVIEW_SHEET,
                           format_locator)
from .findings import SEVERITY_LABELS
from .ooxml.refs import col_letters as _col

__all__ = ["HEADERS", "REVIEW_SHEET", "STYLES", "CellStyle", "ReviewSheet", "WriteError", "read_notes",
           "review_layout", "write_review"]

# ----------------------------------------------------------------------------------------------- layout

HEADERS = ("序号", "级别", COL_RULE, COL_SHEET, COL_CELL, "问题描述", "填报值", "计算值或期望值",
           COL_NOTE, "状态", COL_LOCATOR)
NCOLS = len(HEADERS)
C_NO, C_LEVEL, C_RULE, C_SHEET, C_CELL, C_MSG, C_VALUE, C_EXPECTED, C_NOTE, C_STATE, C_LOC = range(1, NCOLS + 1)

STATE_FIX, STATE_EXPLAIN, STATE_DONE, STATE_GONE = "待修改", "待说明", "已说明", "已消除"
STATUS_PASS, STATUS_FAIL = "通过", "未通过"
GONE_TITLE = "已消除的问题"
LEVEL_TO_SEVERITY = {v: k for k, v in SEVERITY_LABELS.items()}
HEADER_ROW = 7                     # the findings table's header row (rows above are frozen)
MAX_CELL_TEXT = 32767

# colours (RGB): severities, states, the template's input yellow
C_ERROR, C_WARNING, C_INFO, C_EXPLAINED, C_GONE = "FDE0E0", "FCE4D6", "DDEBF7", "DCE6D9", "F2F2F2"
C_INPUT, C_HEADER, C_BORDER = "FFF2CC", "BDD7EE", "BFBFBF"
FONT_NAME = "宋体"


@dataclass(frozen=True)
class CellStyle:
    """A cell's look, independent of any writer (OOXML here, xlwings in the add-in)."""
    fill: str | None = None          # background RGB, e.g. "FDE0E0"
    color: str | None = None         # font RGB
    bold: bool = False
    italic: bool = False
    underline: bool = False
    size: float = 11
    wrap: bool = False
    h_align: str | None = None       # "left" | "center" | "right"
    v_align: str = "center"          # "top" | "center"
    border: bool = False
    locked: bool = True


def _row_styles(fill: str, *, font: str | None = None) -> dict[str, CellStyle]:
    """The styles of one findings row: text, centred, hyperlink, level (bold)."""
    return {
        "": CellStyle(fill=fill, color=font, wrap=True, v_align="top", border=True),
        ".center": CellStyle(fill=fill, color=font, h_align="center", v_align="top", border=True),
        ".link": CellStyle(fill=fill, color="0563C1", underline=True, h_align="center", v_align="top",
                           border=True),
        ".level": CellStyle(fill=fill, color=font, bold=True, h_align="center", v_align="top", border=True),
    }


def _base_styles() -> dict[str, CellStyle]:
    st = {
        "title": CellStyle(bold=True, size=14),
        "label": CellStyle(bold=True),
        "value": CellStyle(h_align="left"),
        "pass": CellStyle(fill="C6EFCE", color="006100", bold=True, h_align="center", border=True),
        "fail": CellStyle(fill="FFC7CE", color="9C0006", bold=True, h_align="center", border=True),
        "count": CellStyle(h_align="center", border=True),
        "hint": CellStyle(color="595959", italic=True, size=10),
        "header": CellStyle(fill=C_HEADER, bold=True, h_align="center", wrap=True, border=True),
        "header.note": CellStyle(fill=C_INPUT, bold=True, h_align="center", wrap=True, border=True),
        "section": CellStyle(bold=True, color="595959"),
        "note": CellStyle(fill=C_INPUT, wrap=True, v_align="top", border=True, locked=False),
        "locator": CellStyle(color="808080", v_align="top"),
        "empty": CellStyle(color="006100", italic=True),
    }
    for key, fill, font in (("error", C_ERROR, None), ("warning", C_WARNING, None), ("info", C_INFO, None),
                            ("explained", C_EXPLAINED, None), ("gone", C_GONE, "808080")):
        for suffix, s in _row_styles(fill, font=font).items():
            st[key + suffix] = s
    st["error.level"] = CellStyle(fill=C_ERROR, color="C00000", bold=True, h_align="center", v_align="top",
                                  border=True)
    st["warning.level"] = CellStyle(fill=C_WARNING, color="C65911", bold=True, h_align="center", v_align="top",
                                    border=True)
    st["info.level"] = CellStyle(fill=C_INFO, color="1F4E78", bold=True, h_align="center", v_align="top",
                                 border=True)
    return st


STYLES = _base_styles()
# conditional format: a row whose 填报单位说明 gets typed turns grey-green at once (non-errors)
EXPLAINED_DXF = CellStyle(fill=C_EXPLAINED)


@dataclass
class ReviewCell:
    value: Any                      # str | int | None
    style: str                      # key into ReviewSheet.styles
    link: str | None = None         # internal location, e.g. "'基本信息'!C5"


@dataclass
class Column:
    header: str
    width: float
    hidden: bool = False


@dataclass
class ReviewSheet:
    name: str
    columns: list[Column]
    cells: dict[int, dict[int, ReviewCell]]        # sheet row -> column -> cell (1-based)
    row_heights: dict[int, float]
    styles: dict[str, CellStyle]
    header_row: int                                 # findings table header (frozen above and at it)
    last_row: int                                   # last row of the findings table
    gone_header_row: int | None                     # header of the 已消除的问题 block
    status: str                                     # 通过 | 未通过
    counts: dict[str, int]                          # error, warning, info, explained
    conditional: list[tuple[str, str, CellStyle]] = field(default_factory=list)   # sqref, formula, style
    tab_color: str | None = None
    footer_date: str = ""        # the review's date, ISO: Excel's &D prints in the viewer's locale (12/01/2026)

    @property
    def max_row(self) -> int:
        return max(self.cells) if self.cells else 1

    @property
    def freeze_rows(self) -> int:
        return self.header_row

    @property
    def autofilter(self) -> str:
        return f"A{self.header_row}:{_col(NCOLS)}{max(self.last_row, self.header_row)}"

    @property
    def print_titles(self) -> str:
        return f"${self.header_row}:${self.header_row}"

    @property
    def active_cell(self) -> str:
        """Where the cursor starts: the first 填报单位说明 cell."""
        return f"{_col(C_NOTE)}{self.header_row + 1}"

    @property
    def dimension(self) -> str:
        return f"A1:{_col(NCOLS)}{self.max_row}"

    def grid(self) -> list[list[Any]]:
        """All values, rows 1..max_row × columns A..K (None where empty): one bulk write."""
        out = [[None] * NCOLS for _ in range(self.max_row)]
        for r, row in self.cells.items():
            for c, cell in row.items():
                out[r - 1][c - 1] = cell.value
        return out

    def cells_by_style(self) -> dict[str, list[str]]:
        """Style key -> addresses ("A1"), to format with few calls."""
        out: dict[str, list[str]] = {}
        for r in sorted(self.cells):
            for c, cell in sorted(self.cells[r].items()):
                out.setdefault(cell.style, []).append(f"{_col(c)}{r}")
        return out

    def links(self) -> list[tuple[str, str, str]]:
        """(address, location, shown text) of every internal hyperlink."""
        return [(f"{_col(c)}{r}", cell.link, str(cell.value))
                for r in sorted(self.cells) for c, cell in sorted(self.cells[r].items()) if cell.link]


@dataclass
class _Entry:
    text: str
    keys: set
    note: ReviewNote | None
    rule: str
    used: bool = False


def _entries(notes: dict) -> list[_Entry]:
    """Group the two keys of each written explanation back into one entry."""
    entries: list[_Entry] = []
    by_id: dict[int, _Entry] = {}
    plain: dict[tuple, _Entry] = {}
    for key, text in notes.items():
        if text is None or not str(text).strip():
            continue
        if isinstance(text, ReviewNote):
            e = by_id.get(id(text))
            if e is None:
                e = by_id[id(text)] = _Entry(str(text), set(), text, text.rule)
                entries.append(e)
        else:  # plain read_explanations() output: pair the keys by rule and text
            g = (key[0], str(text).strip())
            e = plain.get(g)
            if e is None:
                e = plain[g] = _Entry(str(text).strip(), set(), None, key[0])
                entries.append(e)
        e.keys.add(key)
    return entries


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return f"{v:.10g}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d") if not (v.hour or v.minute or v.second) else v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def _location(sheet: str, cell: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + cell.replace("$", "")


def review_layout(result, notes: dict | None = None, *, now: datetime | None = None,
                  sheet_name: str = REVIEW_SHEET) -> ReviewSheet:
    """The review sheet of one FileResult as data.

    `notes` is what the filler wrote before (`read_notes(...)` or `read_explanations(wb)`): an
    explanation goes back on the finding with the same key (same rule, same place), falling back to
    (rule, sheet, cell); an explanation whose finding is gone lands in the 已消除的问题 block.
    """
    now = now or datetime.now()
    entries = _entries(notes or {})
    by_key = {k: e for e in entries for k in e.keys}
    cells: dict[int, dict[int, ReviewCell]] = {}

    def put(r, c, value, style, link=None):
        if isinstance(value, str):
            value = _clean(value)
        cells.setdefault(r, {})[c] = ReviewCell(value, style, link)

    # ---- findings (already ordered: errors first)
    rows = []
    for f in result.findings:
        if f.batch_level:
            continue    # about the collection, not this district: the run's report and summary say it
        e = by_key.get(f.key) or by_key.get((f.rule, f.sheet, f.cell))
        if e is not None:
            e.used = True
        note = e.text if e is not None else (f.explanation or "")
        explained = f.explained    # the runner judged the note (a placeholder explains nothing)
        state = STATE_FIX if f.severity == "error" else (
            STATE_DONE if explained else (f.note_problem if note and f.note_problem else STATE_EXPLAIN))
        rows.append((f, note, explained, state))
    counts = {s: sum(f.severity == s for f, *_ in rows) for s in ("error", "warning", "info")}
    counts["explained"] = sum(x[2] for x in rows)
    passed = counts["error"] == 0 and not any(f.severity == "warning" and not ex for f, _, ex, _ in rows)
    status = STATUS_PASS if passed else STATUS_FAIL

    # ---- header block
    title = "审核结果"
    who = " ".join(str(x) for x in (result.department, f"{result.year}年度" if result.year else None) if x)
    if who:
        title += f"：{who}部门整体支出绩效自评"
    put(1, 1, title, "title")
    tv = result.template_version or "未知"
    if result.template_version and result.template_version != TEMPLATE_VERSION:
        tv += f"（当前模板 {TEMPLATE_VERSION}）"
    block = (("审核结论", status, "pass" if passed else "fail"),
             ("审核时间", now.strftime("%Y-%m-%d %H:%M"), "value"),
             ("xlcheck 版本", __version__, "value"),
             ("模板版本", tv, "value"))
    for i, (label, value, style) in enumerate(block):
        put(2 + i, 1, label, "label")
        put(2 + i, 3, value, style)
    for i, (label, n) in enumerate((("错误", counts["error"]), ("警告", counts["warning"]),
                                    ("提示", counts["info"]), ("已说明", counts["explained"]))):
        put(2 + i, C_VALUE, label, "label")
        put(2 + i, C_EXPECTED, n, "count")
    put(6, 1, "错误须在原表中修改；警告如确属实际情况，请在黄色“填报单位说明”栏写明原因，重新审核后显示为“已说明”，"
              "不再影响审核结论。除该栏外，本表每次审核时重新生成。", "hint")

    # ---- findings table
    for c, h in enumerate(HEADERS, 1):
        put(HEADER_ROW, c, h, "header.note" if c == C_NOTE else "header")
    r = HEADER_ROW
    for i, (f, note, explained, state) in enumerate(rows, 1):
        r += 1
        key = "explained" if explained else f.severity
        link = _location(f.sheet, f.cell) if f.sheet and f.cell else None
        put(r, C_NO, i, key + ".center")
        put(r, C_LEVEL, SEVERITY_LABELS.get(f.severity, f.severity), f.severity + ".level" if not explained
            else key + ".level")
        put(r, C_RULE, f.rule, key + ".center")
        put(r, C_SHEET, f.sheet or "", key)
        put(r, C_CELL, (f.cell or "").replace("$", ""), key + (".link" if link else ".center"), link)
        put(r, C_MSG, f.message, key)
        put(r, C_VALUE, _show(f.value), key)
        put(r, C_EXPECTED, _show(f.expected), key)
        put(r, C_NOTE, note, "note")
        put(r, C_STATE, state, key + ".center")
        put(r, C_LOC, format_locator(f.field, f.row), "locator")
    last = r
    if not rows:
        put(HEADER_ROW + 1, C_MSG, "未发现问题。", "empty")

    # ---- explanations whose finding is gone
    gone = [e for e in entries if not e.used]
    gone_header = None
    if gone:
        r = max(last, HEADER_ROW + 1) + 2
        put(r, 1, f"{GONE_TITLE}（本次审核未再出现；保留填报单位原来的说明备查）", "section")
        r += 1
        gone_header = r
        for c, h in enumerate(HEADERS, 1):
            put(r, c, h, "header.note" if c == C_NOTE else "header")
        for i, e in enumerate(gone, 1):
            r += 1
            n = e.note
            if n is not None:
                sheet, cell, fld, row = n.sheet, n.cell, n.field, n.row
                level, msg, val, exp = n.level, n.message, n.value, n.expected
            else:
                sheet = cell = fld = None
                row = None
                for k in e.keys:
                    if isinstance(k[2], str):
                        sheet, cell = k[1], k[2]
                    else:
                        fld, row = k[1], k[2]
                level = msg = val = exp = None
            put(r, C_NO, i, "gone.center")
            put(r, C_LEVEL, level or "", "gone.center")
            put(r, C_RULE, e.rule, "gone.center")
            put(r, C_SHEET, sheet or "", "gone")
            put(r, C_CELL, cell or "", "gone.center")
            put(r, C_MSG, msg or "", "gone")
            put(r, C_VALUE, val or "", "gone")
            put(r, C_EXPECTED, exp or "", "gone")
            put(r, C_NOTE, e.text, "note")
            put(r, C_STATE, STATE_GONE, "gone.center")
            put(r, C_LOC, format_locator(fld, row), "locator")

    columns = _columns(cells)
    heights = _heights(cells, columns)
    heights[1] = 24
    conditional = []
    if rows:
        conditional.append((f"A{HEADER_ROW + 1}:{_col(C_STATE)}{last}",
                            f'AND(${_col(C_NOTE)}{HEADER_ROW + 1}<>"",${_col(C_LEVEL)}{HEADER_ROW + 1}<>"错误")',
                            EXPLAINED_DXF))
    return ReviewSheet(sheet_name, columns, cells, heights, dict(STYLES), HEADER_ROW, last, gone_header,
                       status, counts, conditional, "70AD47" if passed else "C00000",
                       footer_date=f"{now:%Y-%m-%d}")


@functools.lru_cache(maxsize=65536)
def text_width(s: str) -> float:
    """Display width in Excel column units: CJK and full-width characters count 2."""
    w = 0.0
    for ch in s:
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


# (min, max) widths; columns with max None take their header's width; wrap columns are capped
_WIDTHS = {C_NO: (5, 7), C_LEVEL: (6, 8), C_RULE: (8, 12), C_SHEET: (8, 16), C_CELL: (7, 10),
           C_MSG: (36, 60), C_VALUE: (10, 22), C_EXPECTED: (12, 24), C_NOTE: (36, 36), C_STATE: (8, 8),
           C_LOC: (12, 30)}
_WRAP_COLS = (C_MSG, C_VALUE, C_EXPECTED, C_NOTE)


def _columns(cells) -> list[Column]:
    widths = {c: text_width(h) + 2 for c, h in enumerate(HEADERS, 1)}
    for r, row in cells.items():
        if r <= HEADER_ROW:
            continue
        for c, cell in row.items():
            if cell.value is None or c not in _WIDTHS:
                continue
            longest = max((text_width(x) for x in str(cell.value).split("\n")), default=0)
            widths[c] = max(widths[c], longest + 2)
    out = []
    for c, h in enumerate(HEADERS, 1):
        lo, hi = _WIDTHS[c]
        out.append(Column(h, float(min(max(widths[c], lo), hi)), hidden=(c == C_LOC)))
    return out


LINE_HEIGHT = 16.0     # points per wrapped line (CJK fonts run taller than Latin ones)


def _heights(cells, columns) -> dict[int, float]:
    """Row heights that show wrapped text whole (Excel does not autofit rows of a generated file)."""
    out = {}
    for r, row in cells.items():
        if r < HEADER_ROW:
            continue
        lines = 1
        for c, cell in row.items():
            if c not in _WRAP_COLS or not isinstance(cell.value, str) or not cell.value:
                continue
            usable = max(columns[c - 1].width - 1.5, 1)
            n = sum(max(1, math.ceil(text_width(part) * 1.1 / usable)) for part in cell.value.split("\n"))
            lines = max(lines, n)
        if lines > 1:
            out[r] = round(lines * LINE_HEIGHT + 3, 1)
    return out


_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _clean(s: str) -> str:
    s = _ILLEGAL.sub("", s.replace("\r\n", "\n").replace("\r", "\n"))
    return s[:MAX_CELL_TEXT]


# ----------------------------------------------------------------------------------------------- the file

def write_review(src_path, dst_path, result, *, now: datetime | None = None) -> None:
    """Write the review sheet of `result` into a copy of `src_path` at `dst_path` (may be the same
    file). Atomic: on any error `dst_path` is left as it was. Raises WriteError (Chinese message)."""
    from .ooxml.edit import write_sheet   # lxml: the add-in's layout path (also under Pyodide) has none
    src, dst = Path(src_path), Path(dst_path)
    try:
        data = src.read_bytes()
    except OSError as e:
        raise WriteError(f"无法读取源文件（{_os_reason(e)}）") from e
    try:
        body = write_sheet(data, REVIEW_SHEET, lambda grid: review_layout(result, read_notes(grid), now=now))
    except WriteError:
        raise
    except Exception as e:
        raise WriteError(f"工作簿内部结构无法识别，未写入审核结果（{type(e).__name__}: {e}）") from e
    if dst.exists() and not os.access(dst, os.W_OK):
        raise WriteError("文件为只读，未写入审核结果")
    try:
        write_atomic(dst, body, like=src)
    except OSError as e:
        raise WriteError(f"无法写入（{_os_reason(e)}）") from e


def _os_reason(e: OSError) -> str:
    if isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EPERM):
        return "文件被占用或没有写入权限，可能正在 Excel 中打开"
    if e.errno == errno.ENOSPC:
        return "磁盘空间不足"
    if e.errno == errno.EROFS:
        return "所在磁盘为只读"
    if isinstance(e, FileNotFoundError):
        return "文件或文件夹不存在"
    return e.strerror or type(e).__name__
