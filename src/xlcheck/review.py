"""The review sheet (审核结果): its layout as plain data, and a surgical, lossless write into a package.

Two layers:

* `review_layout(result, notes, now=...)` -> `ReviewSheet`: values, style keys, hyperlinks, widths,
  heights, filter, frozen rows, print titles — no I/O. The Excel add-in writes this through xlwings
  (`ReviewSheet.grid()` in one call, `cells_by_style()` for formatting in a few calls).
* `write_review(src, dst, result)`: writes the sheet into the .xlsx/.xlsm package itself. Only the
  review sheet's part is (re)written; workbook.xml, its rels, [Content_Types].xml and styles.xml are
  changed only by inserting (a `<sheet>`, a relationship, an override, appended styles, the review
  sheet's own print-title / filter names). Every other zip entry is copied raw, byte for byte
  (compressed stream, header, timestamp). The file is replaced atomically.

The sheet is NOT protected: it is regenerated on every run, the user types explanations into it and
may sort and filter it freely. The 填报单位说明 cells are still marked unlocked (and yellow, the
template's input colour), so protecting the sheet by hand keeps them editable.
"""
from __future__ import annotations

import functools
import math
import os
import posixpath
import re
import struct
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, Iterable
from xml.etree.ElementTree import fromstring

from . import TEMPLATE_VERSION, __version__
from .errors import XlcheckError
from .atomic import write_atomic
from .explanations import (ReviewNote, read_notes, COL_CELL, COL_LOCATOR, COL_NOTE, COL_RULE, COL_SHEET, REVIEW_SHEET,
                           format_locator)
from .findings import SEVERITY_LABELS
from .ooxml import col_letters as _col

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




# ----------------------------------------------------------------------------------------------- OOXML

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_WORKSHEET = NS_REL + "/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


class WriteError(XlcheckError):
    """The review sheet could not be written (the message is shown to the user)."""


def escape(s: str) -> str:
    """XML text escaping (xml.sax.saxutils would import urllib, http and ssl at startup)."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(s) -> str:
    return escape(str(s)).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _argb(rgb: str) -> str:
    return rgb if len(rgb) == 8 else "FF" + rgb


class _Styles:
    """Appends fonts / fills / borders / cellXfs / dxfs to styles.xml, reusing identical entries.

    Existing entries are never renumbered or changed: new ones go at the end of each list and the
    list's count attribute is updated.
    """
    _CONTAINERS = ("fonts", "fills", "borders", "cellXfs", "dxfs")

    def __init__(self, xml: str):
        self.xml = xml
        m = re.search(r"<(\w+:)?styleSheet\b", xml)
        if not m:
            raise WriteError("工作簿的样式部件（styles.xml）无法识别，未写入审核结果")
        self.p = m.group(1) or ""
        self.items: dict[str, list[str]] = {}
        self.new: dict[str, list[str]] = {k: [] for k in self._CONTAINERS}
        for name in self._CONTAINERS:
            self.items[name] = self._children(name)
        self.has_style_xf = re.search(rf"<{self.p}cellStyleXfs\b[^>]*>\s*<{self.p}xf\b", xml) is not None

    def _span(self, name, xml=None):
        xml = self.xml if xml is None else xml
        p = re.escape(self.p)
        m = re.search(rf"<{p}{name}\b[^>]*/>", xml)
        if m:
            return m, True
        m = re.search(rf"<{p}{name}\b[^>]*>(.*?)</{p}{name}>", xml, re.S)
        return m, False

    def _children(self, name) -> list[str]:
        m, empty = self._span(name)
        if m is None:
            if name == "dxfs":
                return []
            raise WriteError(f"工作簿的样式部件缺少 {name}，未写入审核结果")
        if empty:
            return []
        child = {"fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf", "dxfs": "dxf"}[name]
        p = re.escape(self.p)
        return re.findall(rf"<{p}{child}\b(?:[^>]*/>|[^>]*>.*?</{p}{child}>)", m.group(1), re.S)

    def _index(self, name: str, xml: str) -> int:
        items = self.items[name]
        try:
            return items.index(xml)
        except ValueError:
            items.append(xml)
            self.new[name].append(xml)
            return len(items) - 1

    def _font(self, s: CellStyle) -> str:
        p = self.p
        parts = []
        if s.bold:
            parts.append(f"<{p}b/>")
        if s.italic:
            parts.append(f"<{p}i/>")
        if s.underline:
            parts.append(f'<{p}u/>')
        parts.append(f'<{p}sz val="{s.size:g}"/>')
        if s.color:
            parts.append(f'<{p}color rgb="{_argb(s.color)}"/>')
        parts.append(f'<{p}name val="{FONT_NAME}"/><{p}family val="3"/><{p}charset val="134"/>')
        return f"<{p}font>{''.join(parts)}</{p}font>"

    def _fill(self, rgb: str | None) -> str:
        p = self.p
        if not rgb:
            return f'<{p}fill><{p}patternFill patternType="none"/></{p}fill>'
        return (f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{_argb(rgb)}"/>'
                f'<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>')

    def _border(self, on: bool) -> str:
        p = self.p
        if not on:
            return f"<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>"
        side = "".join(f'<{p}{x} style="thin"><{p}color rgb="{_argb(C_BORDER)}"/></{p}{x}>'
                       for x in ("left", "right", "top", "bottom"))
        return f"<{p}border>{side}<{p}diagonal/></{p}border>"

    def xf(self, s: CellStyle) -> int:
        p = self.p
        font = self._index("fonts", self._font(s))
        fill = self._index("fills", self._fill(s.fill)) if s.fill else 0
        border = self._index("borders", self._border(s.border)) if s.border else 0
        align = [f'vertical="{s.v_align}"']
        if s.h_align:
            align.insert(0, f'horizontal="{s.h_align}"')
        if s.wrap:
            align.append('wrapText="1"')
        inner = f"<{p}alignment {' '.join(align)}/>"
        prot = ""
        if not s.locked:
            inner += f'<{p}protection locked="0"/>'
            prot = ' applyProtection="1"'
        xf_id = ' xfId="0"' if self.has_style_xf else ""
        apply = ' applyFont="1"' + (' applyFill="1"' if s.fill else "") + (' applyBorder="1"' if s.border else "")
        xml = (f'<{p}xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="{border}"{xf_id}{apply}'
               f' applyAlignment="1"{prot}>{inner}</{p}xf>')
        return self._index("cellXfs", xml)

    def dxf(self, s: CellStyle) -> int:
        p = self.p
        parts = ""
        if s.color:
            parts += f'<{p}font><{p}color rgb="{_argb(s.color)}"/></{p}font>'
        if s.fill:
            parts += (f'<{p}fill><{p}patternFill patternType="solid"><{p}bgColor rgb="{_argb(s.fill)}"/>'
                      f'</{p}patternFill></{p}fill>')
        return self._index("dxfs", f"<{p}dxf>{parts}</{p}dxf>")

    def result(self) -> str | None:
        """The new styles.xml text, or None when nothing had to be added."""
        if not any(self.new.values()):
            return None
        xml = self.xml
        for name in self._CONTAINERS:
            add = self.new[name]
            if not add:
                continue
            total = len(self.items[name])
            m, empty = self._span(name, xml)
            p = self.p
            if m is None:  # only dxfs may be missing: it goes right after cellStyles (or cellXfs)
                after = (re.search(rf"<{re.escape(p)}cellStyles\b[^>]*/>|</{re.escape(p)}cellStyles>", xml)
                         or re.search(rf"</{re.escape(p)}cellXfs>", xml))
                block = f'<{p}dxfs count="{total}">{"".join(add)}</{p}dxfs>'
                xml = xml[:after.end()] + block + xml[after.end():]
                continue
            if empty:
                tag = m.group(0)[:-2].rstrip()
                tag = _set_count(tag, total)
                block = f"{tag}>{''.join(add)}</{p}{name}>"
                xml = xml[:m.start()] + block + xml[m.end():]
                continue
            open_end = xml.index(">", m.start()) + 1
            close = m.end() - len(f"</{p}{name}>")
            opening = _set_count(xml[m.start():open_end - 1], total) + ">"
            xml = xml[:m.start()] + opening + xml[open_end:close] + "".join(add) + xml[close:]
        return xml


def _set_count(tag: str, n: int) -> str:
    if re.search(r'\scount="\d*"', tag):
        return re.sub(r'(\scount=")\d*(")', rf"\g<1>{n}\g<2>", tag, count=1)
    return tag


def sheet_xml(sheet: ReviewSheet, xf: dict[str, int], dxf: dict[int, int]) -> bytes:
    """The worksheet part of a ReviewSheet; `xf` maps style keys to cellXfs indices,
    `dxf` maps conditional-format positions to dxf indices."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
           f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">']
    tab = f'<tabColor rgb="{_argb(sheet.tab_color)}"/>' if sheet.tab_color else ""
    out.append(f'<sheetPr>{tab}<pageSetUpPr fitToPage="1"/></sheetPr>')
    out.append(f'<dimension ref="{sheet.dimension}"/>')
    top = sheet.freeze_rows + 1
    out.append('<sheetViews><sheetView workbookViewId="0" zoomScaleNormal="100">'
               f'<pane ySplit="{sheet.freeze_rows}" topLeftCell="A{top}" activePane="bottomLeft" state="frozen"/>'
               f'<selection pane="bottomLeft" activeCell="{_col(C_NOTE)}{top}" sqref="{_col(C_NOTE)}{top}"/>'
               '</sheetView></sheetViews>')
    out.append('<sheetFormatPr defaultRowHeight="15"/>')
    out.append("<cols>")
    for i, col in enumerate(sheet.columns, 1):
        hidden = ' hidden="1"' if col.hidden else ""
        out.append(f'<col min="{i}" max="{i}" width="{col.width:g}"{hidden} customWidth="1"/>')
    out.append("</cols><sheetData>")
    for r in sorted(sheet.cells):
        ht = sheet.row_heights.get(r)
        attrs = f' ht="{ht:g}"' + (' customHeight="1"' if r == 1 else "") if ht else ""
        out.append(f'<row r="{r}"{attrs}>')
        for c, cell in sorted(sheet.cells[r].items()):
            ref = f"{_col(c)}{r}"
            s = xf[cell.style]
            v = cell.value
            if v is None or v == "":
                out.append(f'<c r="{ref}" s="{s}"/>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(f'<c r="{ref}" s="{s}"><v>{v}</v></c>')
            else:
                text = escape(str(v))
                space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
                out.append(f'<c r="{ref}" s="{s}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData>")
    out.append(f'<autoFilter ref="{sheet.autofilter}"/>')
    for i, (sqref, formula, _style) in enumerate(sheet.conditional):
        out.append(f'<conditionalFormatting sqref="{sqref}"><cfRule type="expression" dxfId="{dxf[i]}" '
                   f'priority="{i + 1}"><formula>{escape(formula)}</formula></cfRule></conditionalFormatting>')
    links = sheet.links()
    if links:
        out.append("<hyperlinks>")
        for ref, loc, text in links:
            out.append(f'<hyperlink ref="{ref}" location="{_attr(loc)}" display="{_attr(text)}" '
                       f'tooltip="{_attr("转到 " + loc)}"/>')
        out.append("</hyperlinks>")
    out.append('<printOptions horizontalCentered="1"/>')
    out.append('<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>')
    out.append('<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
    out.append(f"<headerFooter><oddFooter>&amp;L审核结果&amp;C第 &amp;P 页，共 &amp;N 页&amp;R{sheet.footer_date}</oddFooter>"
               "</headerFooter>")
    lo, hi = sheet.header_row + 1, max(sheet.max_row, sheet.header_row + 1)
    out.append(f'<ignoredErrors><ignoredError sqref="A{lo}:{_col(NCOLS)}{hi}" numberStoredAsText="1"/>'
               '</ignoredErrors>')
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------------------------- the package

@dataclass
class _Rel:
    id: str
    type: str
    target: str            # absolute part name, no leading "/"
    external: bool


def _rels_path(part: str) -> str:
    d, base = posixpath.split(part)
    return posixpath.join(d, "_rels", base + ".rels")


def _parse_rels(data: bytes, part: str) -> list[_Rel]:
    root = fromstring(data)
    d = posixpath.dirname(part)
    out = []
    for r in root:
        target = r.get("Target", "")
        ext = r.get("TargetMode") == "External"
        if not ext:
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(d, target))
        out.append(_Rel(r.get("Id", ""), r.get("Type", ""), target, ext))
    return out


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WriteError(f"工作簿的 {what} 不是 UTF-8 编码，未写入审核结果") from None


def _root_prefix(xml: str, local: str) -> str:
    m = re.search(rf"<(\w+:)?{local}\b", xml)
    return (m.group(1) or "") if m else ""


def _insert_before_close(xml: str, local: str, piece: str) -> str:
    p = _root_prefix(xml, local)
    m = None
    for m in re.finditer(rf"</{re.escape(p)}{local}\s*>", xml):
        pass
    if m is None:  # self-closing container
        m2 = re.search(rf"<{re.escape(p)}{local}\b([^>]*)/>", xml)
        if m2 is None:
            raise WriteError(f"工作簿内部结构无法识别（缺少 {local}），未写入审核结果")
        return xml[:m2.start()] + f"<{p}{local}{m2.group(1)}>{piece}</{p}{local}>" + xml[m2.end():]
    return xml[:m.start()] + piece + xml[m.start():]


class _Package:
    """The source package: entries, the workbook part, its sheets and the parts to change."""

    def __init__(self, data: bytes):
        try:
            self.zf = zipfile.ZipFile(BytesIO(data))
        except zipfile.BadZipFile:
            raise WriteError("文件不是有效的 Excel 工作簿，未写入审核结果") from None
        self.names = {i.filename for i in self.zf.infolist()}
        self.lower = {n.lower(): n for n in self.names}
        root_rels = _parse_rels(self.read("_rels/.rels"), "") if self.has("_rels/.rels") else []
        self.wb_part = next((r.target for r in root_rels if r.type.endswith("/officeDocument")
                             and self.has(r.target)), "xl/workbook.xml")
        if not self.has(self.wb_part):
            raise WriteError("压缩包中没有工作簿内容，未写入审核结果")
        self.wb_rels_part = _rels_path(self.wb_part)
        self.wb_rels = _parse_rels(self.read(self.wb_rels_part), self.wb_part)
        wb_root = fromstring(self.read(self.wb_part))
        if wb_root.tag != f"{{{NS_MAIN}}}workbook":
            # Strict OOXML (purl.oclc.org namespaces) or something else: writing transitional parts
            # into it would corrupt it
            raise WriteError("工作簿为 Strict Open XML 或无法识别的格式，未写入审核结果；"
                             "请在 Excel 中另存为“Excel 工作簿(*.xlsx)”后重试")
        self.sheets = []   # (name, sheetId, rId, state)
        sheets_el = wb_root.find(f"{{{NS_MAIN}}}sheets")
        for s in (sheets_el if sheets_el is not None else []):
            self.sheets.append((s.get("name", ""), s.get("sheetId", ""), s.get(f"{{{NS_REL}}}id", "")))

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        return self.zf.read(name)

    def rel(self, rid: str) -> _Rel | None:
        return next((r for r in self.wb_rels if r.id == rid), None)

    def rel_of_type(self, suffix: str) -> _Rel | None:
        return next((r for r in self.wb_rels if r.type.endswith("/" + suffix) and not r.external), None)

    def reachable(self, skip: set[str] = frozenset()) -> set[str]:
        """Parts reachable through relationships from the package root (rels files in `skip` ignored)."""
        seen: set[str] = set()
        todo = [""]
        while todo:
            part = todo.pop()
            rp = _rels_path(part) if part else "_rels/.rels"
            if rp in skip or not self.has(rp):
                continue
            seen.add(rp)
            try:
                rels = _parse_rels(self.read(rp), part)
            except Exception:
                continue
            for r in rels:
                if not r.external and r.target not in seen and self.has(r.target):
                    seen.add(r.target)
                    todo.append(r.target)
        return seen


def _unique_part(pkg: _Package, folder: str, stem: str, ext: str) -> str:
    i = 1
    while True:
        name = f"{folder}/{stem}{i}{ext}"
        if name.lower() not in pkg.lower:
            return name
        i += 1


def _absolute(ref: str) -> str:
    """'A7:K20' -> '$A$7:$K$20'."""
    return re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref)


def _review_names(xml: str, p: str, index: int, sheet: ReviewSheet, qname: str) -> str:
    """workbook.xml with the review sheet's print titles and filter database names (re)written."""
    wanted = {
        "_xlnm.Print_Titles": f"{qname}!{sheet.print_titles}",
        "_xlnm._FilterDatabase": f"{qname}!{_absolute(sheet.autofilter)}",
    }
    ours = set(wanted) | {"_xlnm.Print_Area"}
    pe = re.escape(p)
    elem = re.compile(rf"<{pe}definedName\b([^>]*?)(?:/>|>(.*?)</{pe}definedName>)", re.S)

    def is_ours(attrs: str) -> str | None:
        name = re.search(r'\sname="([^"]*)"', attrs)
        local = re.search(r'\slocalSheetId="(\d+)"', attrs)
        if name and local and int(local.group(1)) == index and name.group(1) in ours:
            return name.group(1)
        return None

    keep_same = set()

    def drop(m):
        name = is_ours(m.group(1))
        if name is None:
            return m.group(0)
        if name in wanted and (m.group(2) or "") == escape(wanted[name]) and m.group(0).count("<") == 2:
            keep_same.add(name)
            return m.group(0)
        return ""

    xml = elem.sub(drop, xml)
    add = "".join(
        f'<{p}definedName name="{n}" localSheetId="{index}"' + (' hidden="1"' if "Filter" in n else "")
        + f">{escape(t)}</{p}definedName>" for n, t in wanted.items() if n not in keep_same)
    if not add:
        return xml
    if re.search(rf"</{pe}definedNames>", xml):
        return _insert_before_close(xml, "definedNames", add)
    m = re.search(rf"<{pe}definedNames\s*/>", xml)
    if m:
        return xml[:m.start()] + f"<{p}definedNames>{add}</{p}definedNames>" + xml[m.end():]
    # no definedNames yet: after </sheets>, functionGroups and externalReferences
    pos = re.search(rf"</{pe}sheets>", xml).end()
    for tag in ("functionGroups", "externalReferences"):
        m = re.compile(rf"\s*<{pe}{tag}\b(?:[^>]*/>|.*?</{pe}{tag}>)", re.S).match(xml, pos)
        if m:
            pos = m.end()
    return xml[:pos] + f"<{p}definedNames>{add}</{p}definedNames>" + xml[pos:]


def _calc_chain_mentions(data: bytes, sheet_id: str) -> bool:
    current = None
    for el in fromstring(data):
        current = el.get("i", current)
        if current == sheet_id:
            return True
    return False


def _remove_override(ct: str, parts: Iterable[str]) -> str:
    names = {"/" + p.lower() for p in parts}

    def sub(m):
        pn = re.search(r'PartName="([^"]*)"', m.group(0))
        return "" if pn and pn.group(1).lower() in names else m.group(0)

    return re.sub(r"<(?:\w+:)?Override\b[^>]*/>", sub, ct)


def _remove_relationship(xml: str, rid: str) -> str:
    def sub(m):
        return "" if re.search(rf'\sId="{re.escape(rid)}"', m.group(0)) else m.group(0)
    return re.sub(r"<(?:\w+:)?Relationship\b[^>]*?(?:/>|>\s*</(?:\w+:)?Relationship>)", sub, xml)


def build_package(data: bytes, result, *, now: datetime | None = None) -> bytes:
    """The package bytes with the review sheet written in (see the module docstring)."""
    pkg = _Package(data)
    try:
        return _build(pkg, data, result, now)
    finally:
        pkg.zf.close()


def _sheet_values(pkg: _Package, part: str) -> dict[tuple[int, int], Any]:
    """(row, col) -> value of a worksheet part: strings (shared or inline), numbers as text."""
    strings: list[str] = []
    ss = pkg.rel_of_type("sharedStrings")
    m = f"{{{NS_MAIN}}}"
    if ss is not None and pkg.has(ss.target):
        for si in fromstring(pkg.read(ss.target)).iter(m + "si"):
            strings.append("".join(t.text or "" for t in si.iter(m + "t") if not _in_phonetic(si, t)))
    out: dict[tuple[int, int], Any] = {}
    for c in fromstring(pkg.read(part)).iter(m + "c"):
        ref = c.get("r")
        if not ref:
            continue
        mm = re.match(r"([A-Z]+)(\d+)$", ref)
        if not mm:
            continue
        col = 0
        for ch in mm.group(1):
            col = col * 26 + ord(ch) - 64
        t = c.get("t", "n")
        v = c.find(m + "v")
        if t == "inlineStr":
            is_ = c.find(m + "is")
            value = "".join(x.text or "" for x in is_.iter(m + "t")) if is_ is not None else None
        elif t == "s":
            i = int(v.text) if v is not None and v.text else -1
            value = strings[i] if 0 <= i < len(strings) else None
        else:
            value = v.text if v is not None else None
            if t == "n" and value is not None:
                try:
                    num = float(value)
                    value = int(num) if num.is_integer() else num
                except ValueError:
                    pass
        if value not in (None, ""):
            out[(int(mm.group(2)), col)] = value
    return out


def _in_phonetic(si, t) -> bool:
    for rph in si.iter(f"{{{NS_MAIN}}}rPh"):
        if any(x is t for x in rph.iter()):
            return True
    return False


def old_notes(pkg: _Package, part: str) -> dict:
    """Explanations typed into the review sheet currently in the package."""
    return read_notes(_sheet_values(pkg, part))


def _build(pkg: _Package, data: bytes, result, now) -> bytes:
    replace: dict[str, bytes] = {}
    add: list[tuple[str, bytes]] = []
    drop: set[str] = set()
    index = next((i for i, s in enumerate(pkg.sheets) if s[0] == REVIEW_SHEET), None)
    wb_xml = _decode(pkg.read(pkg.wb_part), "workbook.xml")
    rels_xml = _decode(pkg.read(pkg.wb_rels_part), "workbook.xml.rels")
    ct_xml = _decode(pkg.read("[Content_Types].xml"), "[Content_Types].xml")
    wb_p = _root_prefix(wb_xml, "workbook")
    ct_changed = rels_changed = False

    notes: dict = {}
    if index is not None:
        name, sheet_id, rid = pkg.sheets[index]
        rel = pkg.rel(rid)
        if rel is None or not rel.type.endswith("/worksheet") or rel.external:
            raise WriteError(f"工作簿中的“{REVIEW_SHEET}”不是普通工作表，未写入审核结果；请删除或改名后重试")
        part = rel.target
        if pkg.has(part):
            try:
                notes = old_notes(pkg, part)
            except Exception as e:
                raise WriteError(f"原有“{REVIEW_SHEET}”表无法读取（{type(e).__name__}），为免丢失填报单位说明，未写入") from e
        # the old review sheet's own relationships (printer settings, comments a user added …) go
        # with it, and so do the parts only it used
        own_rels = _rels_path(part)
        if pkg.has(own_rels):
            before = pkg.reachable()
            after = pkg.reachable(skip={own_rels})
            gone = (before - after) | {own_rels}
            gone.discard(part)
            drop |= gone
            if gone:
                ct_xml = _remove_override(ct_xml, gone)
                ct_changed = True
        # a calcChain naming cells of the old review sheet would make Excel repair the file
        chain = pkg.rel_of_type("calcChain")
        if chain is not None and pkg.has(chain.target) and _calc_chain_mentions(pkg.read(chain.target), sheet_id):
            drop.add(chain.target)
            rels_xml = _remove_relationship(rels_xml, chain.id)
            ct_xml = _remove_override(ct_xml, [chain.target])
            rels_changed = ct_changed = True
    else:
        index = len(pkg.sheets)
        folder = posixpath.join(posixpath.dirname(pkg.wb_part), "worksheets")
        part = _unique_part(pkg, folder, "sheet", ".xml")
        ids = {r.id for r in pkg.wb_rels}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        target = posixpath.relpath(part, posixpath.dirname(pkg.wb_part) or ".")
        rel_p = _root_prefix(rels_xml, "Relationships")
        rels_xml = _insert_before_close(rels_xml, "Relationships",
                                        f'<{rel_p}Relationship Id="{rid}" Type="{REL_WORKSHEET}" '
                                        f'Target="{_attr(target)}"/>')
        sheet_ids = [int(s[1]) for s in pkg.sheets if s[1].isdigit()]
        new_id = max(sheet_ids, default=0) + 1
        wb_xml = _insert_before_close(wb_xml, "sheets",
                                      f'<{wb_p}sheet xmlns:r="{NS_REL}" name="{REVIEW_SHEET}" '
                                      f'sheetId="{new_id}" r:id="{rid}"/>')
        ct_p = _root_prefix(ct_xml, "Types")
        ct_xml = _insert_before_close(ct_xml, "Types",
                                      f'<{ct_p}Override PartName="/{_attr(part)}" ContentType="{CT_WORKSHEET}"/>')
        rels_changed = ct_changed = True

    sheet = review_layout(result, notes, now=now)

    styles_rel = pkg.rel_of_type("styles")
    if styles_rel is None or not pkg.has(styles_rel.target):
        raise WriteError("工作簿缺少样式部件（styles.xml），未写入审核结果")
    styles = _Styles(_decode(pkg.read(styles_rel.target), "styles.xml"))
    xf = {key: styles.xf(st) for key, st in sheet.styles.items()}
    dxf = {i: styles.dxf(st) for i, (_, _, st) in enumerate(sheet.conditional)}
    new_styles = styles.result()
    if new_styles is not None:
        replace[styles_rel.target] = new_styles.encode("utf-8")

    qname = "'" + REVIEW_SHEET + "'"
    wb_new = _review_names(wb_xml, wb_p, index, sheet, qname)
    body = sheet_xml(sheet, xf, dxf)
    if pkg.has(part):
        replace[part] = body
    else:
        add.append((part, body))
    original_wb = pkg.read(pkg.wb_part)
    if wb_new.encode("utf-8") != original_wb:
        replace[pkg.wb_part] = wb_new.encode("utf-8")
    if rels_changed:
        replace[pkg.wb_rels_part] = rels_xml.encode("utf-8")
    if ct_changed:
        replace["[Content_Types].xml"] = ct_xml.encode("utf-8")
    return rebuild_zip(data, replace=replace, add=add, drop=drop)


# ------------------------------------------------------------------------------------- raw zip copy

_EOCD = b"PK\x05\x06"
_CDIR = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_DESC = b"PK\x07\x08"
_CD_STRUCT = struct.Struct("<4s6H3L5H2L")
_LOCAL_STRUCT = struct.Struct("<4s5H3L2H")


def _dos_time(t: float | None = None) -> tuple[int, int]:
    lt = time.localtime(t)
    year = max(lt.tm_year, 1980)
    return ((lt.tm_hour << 11) | (lt.tm_min << 5) | (lt.tm_sec // 2),
            ((year - 1980) << 9) | (lt.tm_mon << 5) | lt.tm_mday)


def _deflate(body: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush()


def _new_entry(name: str, body: bytes, offset: int) -> tuple[bytes, bytes]:
    """(local header + data, central directory record) of a new deflated entry."""
    raw = name.encode("utf-8")
    flags = 0 if raw.isascii() else 0x800
    tm, dt = _dos_time()
    crc = zlib.crc32(body)
    comp = _deflate(body)
    local = _LOCAL_STRUCT.pack(_LOCAL, 20, flags, 8, tm, dt, crc, len(comp), len(body), len(raw), 0) + raw + comp
    central = _CD_STRUCT.pack(_CDIR, 20, 20, flags, 8, tm, dt, crc, len(comp), len(body), len(raw), 0, 0, 0, 0,
                              0, offset) + raw
    return local, central


class _NeedsFallback(Exception):
    pass


def _central_records(data: bytes):
    """Yield (name, record bytes, fields) from the central directory; raises _NeedsFallback for zip64."""
    pos = data.rfind(_EOCD, max(0, len(data) - 65557))
    if pos < 0:
        raise _NeedsFallback
    (_, disk, cd_disk, n_here, n_total, cd_size, cd_off, clen) = struct.unpack("<4s4H2LH", data[pos:pos + 22])
    if disk or cd_disk or n_here != n_total or 0xFFFF in (n_here, n_total) or 0xFFFFFFFF in (cd_size, cd_off):
        raise _NeedsFallback
    comment = data[pos + 22:pos + 22 + clen]
    recs = []
    p = cd_off
    for _ in range(n_total):
        f = _CD_STRUCT.unpack(data[p:p + 46])
        if f[0] != _CDIR:
            raise _NeedsFallback
        nlen, elen, clen2 = f[10], f[11], f[12]
        if 0xFFFFFFFF in (f[8], f[9], f[16]):
            raise _NeedsFallback
        raw_name = data[p + 46:p + 46 + nlen]
        name = raw_name.decode("utf-8" if f[3] & 0x800 else "cp437")
        recs.append((name, data[p:p + 46 + nlen + elen + clen2], f))
        p += 46 + nlen + elen + clen2
    return recs, comment


def _local_record(data: bytes, f) -> bytes:
    off = f[16]
    lf = _LOCAL_STRUCT.unpack(data[off:off + 30])
    if lf[0] != _LOCAL:
        raise _NeedsFallback
    extra = data[off + 30 + lf[9]:off + 30 + lf[9] + lf[10]]
    start = off + 30 + lf[9] + lf[10]
    end = start + f[8]
    if f[3] & 0x08:  # data descriptor after the data: crc + sizes (8-byte sizes for zip64)
        size = 20 if _has_zip64(extra) else 12
        end += size + 4 if data[end:end + 4] == _DESC else size
    return data[off:end]


def _has_zip64(extra: bytes) -> bool:
    i = 0
    while i + 4 <= len(extra):
        hid, ln = struct.unpack("<HH", extra[i:i + 4])
        if hid == 0x0001:
            return True
        i += 4 + ln
    return False


def rebuild_zip(data: bytes, *, replace: dict[str, bytes], add: list[tuple[str, bytes]] = (),
                drop: Iterable[str] = ()) -> bytes:
    """A copy of the zip `data` where the entries in `replace` get new content, `drop` are left out
    and `add` are appended; every other entry is copied raw (same compressed bytes and headers)."""
    drop = set(drop)
    try:
        recs, comment = _central_records(data)
        out = BytesIO()
        central = []
        for name, rec, f in recs:
            if name in drop:
                continue
            offset = out.tell()
            if name in replace:
                local, cen = _new_entry(name, replace[name], offset)
                out.write(local)
                central.append(cen)
                continue
            out.write(_local_record(data, f))
            central.append(rec[:42] + struct.pack("<L", offset) + rec[46:])
        for name, body in add:
            local, cen = _new_entry(name, body, out.tell())
            out.write(local)
            central.append(cen)
        cd_off = out.tell()
        for c in central:
            out.write(c)
        cd_size = out.tell() - cd_off
        if len(central) >= 0xFFFF or cd_off >= 0xFFFFFFFF:
            raise _NeedsFallback
        out.write(struct.pack("<4s4H2LH", _EOCD, 0, 0, len(central), len(central), cd_size, cd_off, len(comment)))
        out.write(comment)
        return out.getvalue()
    except (_NeedsFallback, struct.error):
        return _rebuild_with_zipfile(data, replace, add, drop)


def _rebuild_with_zipfile(data, replace, add, drop) -> bytes:
    """Fallback for zip64 and unusual archives: same entries and content, recompressed."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                allowZip64=True) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            body = replace.get(info.filename)
            zi = zipfile.ZipInfo(info.filename, info.date_time)
            zi.compress_type = info.compress_type
            zi.external_attr = info.external_attr
            zi.create_system = info.create_system
            zout.writestr(zi, body if body is not None else zin.read(info.filename))
        for name, body in add:
            zout.writestr(zipfile.ZipInfo(name, time.localtime()[:6]), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ------------------------------------------------------------------------------------- the file

def write_review(src_path, dst_path, result, *, now: datetime | None = None) -> None:
    """Write the review sheet of `result` into a copy of `src_path` at `dst_path` (may be the same
    file). Atomic: on any error `dst_path` is left as it was. Raises WriteError (Chinese message)."""
    src, dst = Path(src_path), Path(dst_path)
    try:
        data = src.read_bytes()
    except OSError as e:
        raise WriteError(f"无法读取源文件（{_os_reason(e)}）") from e
    try:
        body = build_package(data, result, now=now)
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
    import errno
    if isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EPERM):
        return "文件被占用或没有写入权限，可能正在 Excel 中打开"
    if e.errno == errno.ENOSPC:
        return "磁盘空间不足"
    if e.errno == errno.EROFS:
        return "所在磁盘为只读"
    if isinstance(e, FileNotFoundError):
        return "文件或文件夹不存在"
    return e.strerror or type(e).__name__
