"""Build the workbook model from what a reader delivered (a file's package or an Excel book)."""
from __future__ import annotations

import re
from pathlib import Path

from .model import Cell, Problem, Table, TableRow, Workbook
from .ooxml import RawBook, col_letters, range_bounds, split_ref

_NAME_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!'\s]+))!(\$?[A-Z]{1,3}\$?\d+)(?::\$?[A-Z]{1,3}\$?\d+)?$")


def normalize_header(text) -> str:
    """Header texts as the spec writes them: trimmed, full-width parentheses."""
    s = "" if text is None else str(text)
    s = s.strip().replace("\u3000", "").replace(" ", "").replace("\n", "")
    return s.replace("(", "（").replace(")", "）")


def read_workbook(path) -> Workbook:
    """Read a .xlsx/.xlsm file into the model (raises ReadError when it is no workbook at all)."""
    from .ooxml import read_package     # lxml: the add-in's xlwings path (also under Pyodide) has none
    return build_model(read_package(path), str(path))


def build_model(raw: RawBook, source: str) -> Workbook:
    wb = Workbook(source=source, sheets=list(raw.sheets), cells=raw.cells, vba=raw.vba)
    _resolve_names(raw, wb)
    _resolve_tables(raw, wb)
    return wb


def _cell_at(wb: Workbook, sheet: str, row: int, col: int) -> Cell:
    grid = wb.cells.setdefault(sheet, {})
    c = grid.get((row, col))
    if c is None:
        c = Cell(sheet, f"{col_letters(col)}{row}")
        grid[(row, col)] = c
    return c


def _resolve_names(raw: RawBook, wb: Workbook) -> None:
    # workbook-scoped names win over sheet-scoped ones of the same name
    ordered = sorted(raw.names, key=lambda d: d.local_sheet is not None)
    for d in ordered:
        if d.name.startswith("_xlnm.") or d.name in wb.names:
            continue
        text = d.text.lstrip("=")
        if "#REF!" in text:
            wb.problems.append(Problem("name", d.name, "定义名称指向的单元格已被删除（#REF!）"))
            continue
        m = _NAME_REF.match(text)
        if not m:
            # constants and formulas are legitimate names but not cells of the template
            if d.name == "template_version" and text.startswith('"'):
                wb.names[d.name] = Cell("", "", text.strip('"'), field=d.name)
            continue
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        if sheet not in wb.cells:
            wb.problems.append(Problem("name", d.name, f"定义名称指向不存在的工作表“{sheet}”"))
            continue
        r, c = split_ref(m.group(3))
        cell = _cell_at(wb, sheet, r, c)
        cell.field = d.name
        wb.names[d.name] = cell


def _resolve_tables(raw: RawBook, wb: Workbook) -> None:
    for t in raw.tables:
        key = t.name.lower()
        try:
            r0, c0, r1, c1 = range_bounds(t.ref)
        except ValueError:
            wb.problems.append(Problem("table", key, f"表格区域“{t.ref}”无效"))
            continue
        grid = wb.cells.get(t.sheet, {})
        headers = []
        for i, col in enumerate(range(c0, c1 + 1)):
            h = grid.get((r0, col))
            text = h.value if h is not None and h.value not in (None, "") else (t.columns[i] if i < len(t.columns) else "")
            headers.append(normalize_header(text))
        rows: list[TableRow] = []
        # per column: header, field name, letters (the hot loop below runs for every table cell)
        spec = [(h, f"{key}.{h}", col, col_letters(col)) for h, col in zip(headers, range(c0, c1 + 1))]
        # the stored cells of the data rows, by row: a provisioned table is mostly empty rows
        by_row: dict[int, dict[int, Cell]] = {}
        for rc, c in grid.items():
            r, col = rc
            if r0 < r <= r1 and c0 <= col <= c1:
                got = by_row.get(r)
                if got is None:
                    by_row[r] = {col: c}
                else:
                    got[col] = c
        sheet = t.sheet
        for r in sorted(by_row):
            present = by_row[r]
            for c in present.values():
                if c.formula is None and not c.blank:
                    break
            else:
                continue  # blank row (formula-only cells do not make a row filled)
            idx = r - r0
            cells = {}
            for h, fld, col, letters in spec:
                c = present.get(col)
                if c is None:
                    c = grid[(r, col)] = Cell(sheet, f"{letters}{r}")
                c.field, c.row = fld, idx
                cells[h] = c
            rows.append(TableRow(idx, cells))
        wb.tables[key] = Table(key, t.sheet, t.ref, headers, rows, r0, c0, r1)


def is_workbook_path(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm") and not path.name.startswith("~$")
