"""Styles and cell helpers of the template: fills, fonts, formats, row heights that fit their
texts, protection, print setup, data validation."""
from __future__ import annotations

import math
import re
import unicodedata

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

# ---------------------------------------------------------------- styles

FONT_NAME = "宋体"
FILL_INPUT = PatternFill("solid", fgColor="FFF2CC")
FILL_COMPUTED = PatternFill("solid", fgColor="D9D9D9")
FILL_FIXED = PatternFill(fill_type=None)   # framework texts: locked, plain (one grey only: computed)
FILL_FORMULA_INPUT = PatternFill("solid", fgColor="DDEBF7")  # 完成率: formula the filler may overwrite
FILL_HEADER = PatternFill("solid", fgColor="BDD7EE")
FILL_SECTION = PatternFill("solid", fgColor="E2EFDA")
_thin = Side(style="thin", color="808080")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
FONT = Font(name=FONT_NAME, size=11)
FONT_BOLD = Font(name=FONT_NAME, size=11, bold=True)
FONT_TITLE = Font(name=FONT_NAME, size=14, bold=True)
FONT_HINT = Font(name=FONT_NAME, size=10, color="595959")
UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTER = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

FMT_AMOUNT = "#,##0.00"
FMT_RATE = "0.00%"
FMT_YEAR = "0"
FMT_INT = "0"
FMT_DATE = "yyyy-mm-dd"
FMT_TEXT = "@"

# ---------------------------------------------------------------- helpers

def _text_width(s: str) -> float:
    """Display width in column-width units: a CJK or full-width character is ~2.2 digits wide
    in the fonts LibreOffice and Excel fall back to (measured on rendered pages)."""
    return sum(2.2 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in str(s))


def _row_height(texts_and_widths, *, minimum=18.0, line=16.0, size=11.0):
    lines = 1
    scale = size / 11.0
    for text, width in texts_and_widths:
        if text:
            per_line = max(1.0, (width - 1.5) / scale)
            n = sum(max(1, math.ceil(_text_width(part) / per_line)) for part in str(text).split("\n"))
            lines = max(lines, n)
    return max(minimum, line * scale * lines + 4)


MAX_ROW_HEIGHT = 409.0   # Excel's limit
MIN_FONT_SIZE = 8.0      # a text too long for one row at 11 pt is set smaller, down to this


def fit_rows(ws, rows) -> None:
    """Grow each row of `rows` to show its wrapped texts in full (never shrink a row). A text
    too long for Excel's tallest row is set in a smaller font, down to MIN_FONT_SIZE."""
    for r in sorted(set(rows)):
        texts = []
        for c in ws[r]:
            if c.value is None or isinstance(c.value, str) and c.value.startswith("="):
                continue
            width = ws.column_dimensions[c.column_letter].width or 8.43
            texts.append((c, c.value if c.alignment.wrap_text else "", width))
        need = _row_height([(t, w) for _, t, w in texts])
        if need > MAX_ROW_HEIGHT:
            for c, text, width in texts:
                size = 11.0
                while size > MIN_FONT_SIZE and _row_height([(text, width)], size=size) > MAX_ROW_HEIGHT:
                    size -= 0.5
                if size < 11.0:
                    c.font = Font(name=c.font.name, size=size, bold=c.font.b, color=c.font.color)
            need = max(_row_height([(t, w)], size=c.font.sz or 11.0) for c, t, w in texts)
        need = min(MAX_ROW_HEIGHT, need)
        have = ws.row_dimensions[r].height
        if have is None or need > have:
            ws.row_dimensions[r].height = need


def _style(c, *, fill=None, fmt=None, locked=True, font=FONT, align=WRAP_CENTER, border=True):
    c.font = font
    if fill is not None:
        c.fill = fill
    if fmt is not None:
        c.number_format = fmt
    c.protection = LOCKED if locked else UNLOCKED
    c.alignment = align
    if border:
        c.border = BORDER


def _define(wb, name, ws, coord):
    col, row = re.match(r"([A-Z]+)(\d+)", coord).groups()
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(ws.title)}!${col}${row}")


def _protect(ws):
    # no password; formatting rows/columns, sorting and filtering stay allowed
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.autoFilter = False
    p.sort = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _print_setup(ws, *, landscape, title_rows=None):
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows


def _validation(ws, sqref, *, type=None, choices=(), operator=None, f1=None, f2=None,
                prompt="", title="", error=""):
    kw = {}
    if choices:
        kw.update(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
    elif type:
        kw.update(type=type, operator=operator, formula1=f1, formula2=f2, allow_blank=True)
    dv = DataValidation(**kw)
    if prompt:
        dv.promptTitle = title[:32] or None
        dv.prompt = prompt[:255]
        dv.showInputMessage = True
    if kw:
        dv.showErrorMessage = True
        dv.errorStyle = "stop"
        dv.errorTitle = "输入有误"
        dv.error = (error or prompt or "请从下拉列表中选择。")[:255]
    dv.add(sqref)
    ws.add_data_validation(dv)
    return dv


def _title(ws, title, hint=None):
    ws["A1"] = title
    ws["A1"].font = FONT_TITLE
    ws["A1"].alignment = Alignment(vertical="center")
    ws.row_dimensions[1].height = 26
    if hint:
        ws["A2"] = hint
        ws["A2"].font = FONT_HINT
        ws["A2"].alignment = Alignment(vertical="center")
        ws.row_dimensions[2].height = 18
