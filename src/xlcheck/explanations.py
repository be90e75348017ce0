"""Read what the filler wrote in the review sheet's 填报单位说明 column (their data, kept forever)."""
from __future__ import annotations

from .model import Workbook

REVIEW_SHEET = "审核结果"
COL_RULE, COL_SHEET, COL_CELL, COL_NOTE, COL_LOCATOR = "规则", "工作表", "单元格", "填报单位说明", "定位"


def parse_locator(text) -> tuple[str | None, int | None]:
    """'indicators.完成率#3' → ('indicators.完成率', 3); 'budget_note' → ('budget_note', None)."""
    if not text:
        return None, None
    s = str(text).strip()
    field, _, row = s.partition("#")
    return (field or None), (int(row) if row.isdigit() else None)


def format_locator(field: str | None, row: int | None) -> str:
    if not field:
        return ""
    return f"{field}#{row}" if row else field


def read_explanations(wb: Workbook) -> dict[tuple, str]:
    """Finding key → explanation, from every block of the review sheet (current and 已消除).

    Keys are given both ways a Finding may be keyed: (rule, field, row) from the hidden 定位
    column, and (rule, sheet, cell) from the visible columns.
    """
    grid = wb.cells.get(REVIEW_SHEET)
    if not grid:
        return {}
    rows: dict[int, dict[int, object]] = {}
    for (r, c), cell in grid.items():
        if cell.value not in (None, ""):
            rows.setdefault(r, {})[c] = cell.value
    out: dict[tuple, str] = {}
    cols: dict[str, int] | None = None
    for r in sorted(rows):
        vals = rows[r]
        texts = {str(v).strip(): c for c, v in vals.items() if isinstance(v, str)}
        if COL_RULE in texts and COL_NOTE in texts:
            cols = texts
            continue
        if cols is None:
            continue
        note = vals.get(cols[COL_NOTE])
        rule = vals.get(cols[COL_RULE])
        if not rule or note is None or not str(note).strip():
            continue
        note, rule = str(note).strip(), str(rule).strip()
        sheet = vals.get(cols.get(COL_SHEET, -1))
        cell = vals.get(cols.get(COL_CELL, -1))
        if sheet is not None and cell is not None:
            out[(rule, str(sheet), str(cell).replace("$", ""))] = note
        field, row = parse_locator(vals.get(cols.get(COL_LOCATOR, -1)))
        if field:
            out[(rule, field, row)] = note
    return out
