"""Read what the filler wrote in the review sheet's 填报单位说明 column (their data, kept forever)."""
from __future__ import annotations

from typing import Any

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


class ReviewNote(str):
    """An explanation read from the review sheet, remembering the row it was written on."""
    rule: str
    level: str | None
    sheet: str | None
    cell: str | None
    field: str | None
    row: int | None
    message: str | None
    value: str | None
    expected: str | None

    @classmethod
    def make(cls, text: str, **attrs) -> "ReviewNote":
        n = cls(text)
        for k in ("level", "sheet", "cell", "field", "row", "message", "value", "expected"):
            setattr(n, k, attrs.get(k))
        n.rule = attrs["rule"]
        return n

    def keys(self) -> list[tuple]:
        out = []
        if self.field:
            out.append((self.rule, self.field, self.row))
        if self.sheet and self.cell:
            out.append((self.rule, self.sheet, self.cell))
        return out


def read_notes(grid: dict[tuple[int, int], Any]) -> dict[tuple, ReviewNote]:
    """Like `explanations.read_explanations`, from the review sheet's cells, keeping each row's content.

    `grid` is `Workbook.cells[审核结果]` ((row, col) -> Cell or plain value). Keys as in
    read_explanations: (rule, field, row) from 定位 and (rule, sheet, cell) from the visible columns;
    both keys of a row map to the same ReviewNote object.
    """
    rows: dict[int, dict[int, Any]] = {}
    for (r, c), cell in grid.items():
        v = getattr(cell, "value", cell)
        if v not in (None, ""):
            rows.setdefault(r, {})[c] = v
    out: dict[tuple, ReviewNote] = {}
    cols: dict[str, int] | None = None
    for r in sorted(rows):
        vals = rows[r]
        texts = {str(v).strip(): c for c, v in vals.items() if isinstance(v, str)}
        if COL_RULE in texts and COL_NOTE in texts:
            cols = texts
            continue
        if cols is None:
            continue

        def get(header):
            v = vals.get(cols.get(header, -1))
            return None if v is None or not str(v).strip() else str(v).strip()

        note, rule = get(COL_NOTE), get(COL_RULE)
        if not rule or not note:
            continue
        fld, row = parse_locator(get(COL_LOCATOR))
        cell = get(COL_CELL)
        n = ReviewNote.make(note, rule=rule, level=get("级别"), sheet=get(COL_SHEET),
                            cell=cell.replace("$", "") if cell else None, field=fld, row=row,
                            message=get("问题描述"), value=get("填报值"), expected=get("计算值或期望值"))
        for k in n.keys():
            out[k] = n
    return out


def read_explanations(wb: Workbook) -> dict[tuple, str]:
    """Finding key → explanation, from every block of the review sheet (current and 已消除).

    Keys are given both ways a Finding may be keyed: (rule, field, row) from the hidden 定位
    column, and (rule, sheet, cell) from the visible columns.
    """
    return read_notes(wb.cells.get(REVIEW_SHEET) or {})
