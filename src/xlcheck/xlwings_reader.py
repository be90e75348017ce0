"""Read an open workbook through xlwings into the same `RawBook` the file reader delivers.

One truth, two readers: `ooxml.read_package(path)` reads a file, `raw_from_book(book)` reads a
book open in Excel (desktop COM/AppleScript, xlwings Lite, or xlwings' remote interpreter), and
`reader.build_model` turns either into the model the rules see.

The book is read in bulk, never cell by cell: per sheet one read of the used range's values and,
where the engine offers it, one of its formulas; the defined names and the tables once each.

What an engine cannot tell is taken from the template the workbook was made from (the
template.xlsx that ships with xlcheck, the same file the checks' interface describes):

* number formats: no engine hands out per-cell number formats in one call, so the defined-name
  cells and the table-column cells get the template's format (decimals and percent, for the
  rounding intervals and for showing 96.03% rather than 0.9603);
* formulas, where the engine gives values only (xlwings' remote interface, i.e. the xlwings Server
  / Office.js JSON payload): a cell that holds a formula in the template (the computed names, the
  完成率 column) is taken to hold it still when its value is what that formula computes from the
  current inputs (xlcheck.formulas), since a live formula always shows its own result; a value the
  formula cannot produce was typed over it. Only a typed constant that happens to equal the
  formula's result goes unseen there. Desktop Excel and xlwings Lite read the formulas themselves.

The template is read by the one OOXML reader (`ooxml.read_layout`); xlwings Lite, which has no
lxml, loads the same `TemplateHints` as addin/build_lite.py computed them (template_hints.json).
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import formulas
from .model import Cell, ErrorValue
from .numbers import format_decimals
from .ooxml import (DefinedName, RawBook, RawTable, col_letters, is_date_format, range_bounds, serial_to_datetime,
                    split_ref)
from .reader import _NAME_REF, build_model, normalize_header

ERRORS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!",
                    "#SPILL!", "#CALC!", "#FIELD!", "#GETTING_DATA", "#BLOCKED!", "#CONNECT!",
                    "#BUSY!", "#UNKNOWN!", "#PYTHON!"))
# names Excel shows without their "_xlnm." prefix (the file reader sees them with it)
BUILTIN_NAMES = frozenset(("Print_Area", "Print_Titles", "_FilterDatabase", "Criteria", "Extract",
                           "Consolidate_Area", "Database", "Sheet_Title", "Auto_Open", "Auto_Close"))
VBA_SUFFIXES = (".xlsm", ".xlsb", ".xlam", ".xls", ".xla")


# ---------------------------------------------------------------- template hints

HINTS_FILE = "template_hints.json"      # xlwings Lite: computed at build time (addin/build_lite.py)


@dataclass
class TemplateHints:
    """Number formats and formulas of the template's named cells and table columns."""
    names: dict[str, tuple[str, str | None]] = field(default_factory=dict)       # name -> (fmt, formula)
    columns: dict[str, dict[str, tuple[str, str | None, int]]] = field(default_factory=dict)
    # table -> header -> (fmt, formula of the first data row, that row)

    def to_dict(self) -> dict:
        """Plain JSON-able data (tuples as lists)."""
        return {"names": {k: list(v) for k, v in self.names.items()},
                "columns": {t: {h: list(v) for h, v in spec.items()} for t, spec in self.columns.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> TemplateHints:
        return cls({k: tuple(v) for k, v in d.get("names", {}).items()},
                   {t: {h: tuple(v) for h, v in spec.items()} for t, spec in d.get("columns", {}).items()})


def _template_source() -> Path | bytes | None:
    """template.xlsx as shipped (package data), from the source tree, or built in memory."""
    here = Path(__file__).resolve().parent
    for p in (here / "template.xlsx", here.parent.parent / "template.xlsx"):
        if p.is_file():
            return p
    try:
        from .template import template_bytes     # openpyxl: only without a template.xlsx
        return template_bytes()
    except Exception:  # no template at all: the reader simply has no hints
        return None


def hints_from_package(source) -> TemplateHints:
    """The hints of a template package (a path or its bytes), read by the one OOXML reader."""
    from .ooxml import read_layout      # lxml: not under Pyodide, where the hints come built
    book, grids = read_layout(source)
    hints = TemplateHints()
    for d in book.names:
        m = _NAME_REF.match(d.text.lstrip("=")) if d.local_sheet is None else None
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            hints.names[d.name] = grids.get(sheet, {}).get(split_ref(m.group(3)), ("General", None))
    for t in book.tables:
        grid = grids.get(t.sheet, {})
        r0, c0, r1, c1 = range_bounds(t.ref or "A1")
        spec = hints.columns[t.name.lower()] = {}
        for i, col in enumerate(range(c0, c1 + 1)):
            fmt, formula = grid.get((r0 + 1, col), ("General", None))
            spec[normalize_header(t.columns[i] if i < len(t.columns) else "")] = (fmt, formula, r0 + 1)
    return hints


@functools.lru_cache(maxsize=1)
def template_hints() -> TemplateHints:
    """xlwings Lite (no lxml): the hints embedded at build time; elsewhere: read from template.xlsx."""
    embedded = Path(__file__).resolve().parent / HINTS_FILE
    try:
        if embedded.is_file():
            return TemplateHints.from_dict(json.loads(embedded.read_text(encoding="utf-8")))
        source = _template_source()
        return TemplateHints() if source is None else hints_from_package(source)
    except Exception:
        return TemplateHints()


_CELL_REF = re.compile(r'"[^"]*"|(?<![A-Za-z_\d.])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\d(A-Za-z_])')


def shift_formula(formula: str, rows: int) -> str:
    """Move a formula's relative row references by `rows` (as Excel fills a table column)."""
    if not rows:
        return formula

    def sub(m):
        if m.group(2) is None:          # a string literal: untouched
            return m.group(0)
        if m.group(3):                  # $-anchored row
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{int(m.group(4)) + rows}"
    return _CELL_REF.sub(sub, formula)


# ---------------------------------------------------------------- reading

def _matrix(value, nrows: int, ncols: int) -> list[list[Any]] | None:
    """An engine's answer for a range as a list of rows (a scalar for one cell)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        rows = list(value)
        if rows and not isinstance(rows[0], (list, tuple)):
            rows = [rows] if nrows == 1 else [[v] for v in rows]
        return [list(r) for r in rows]
    return [[value]] if nrows == 1 and ncols == 1 else None


def _clean(v):
    """An engine value as the file reader would give it."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return int(v)
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        if v == "":
            return None
        return ErrorValue(v) if v in ERRORS else v
    if isinstance(v, _dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, _dt.date):
        return _dt.datetime(v.year, v.month, v.day)
    if isinstance(v, _dt.time):
        return _dt.datetime(1899, 12, 30, v.hour, v.minute, v.second)
    try:  # numpy scalars and the like
        return _clean(v.item())
    except AttributeError:
        return str(v)


def _is_formula(f, value) -> bool:
    return isinstance(f, str) and f.startswith("=") and len(f) > 1 and not (isinstance(value, str) and value == f)


def _grid(sheet_name: str, r0: int, c0: int, values, formulas) -> dict[tuple[int, int], Cell]:
    cells: dict[tuple[int, int], Cell] = {}
    for i, row in enumerate(values or ()):
        frow = formulas[i] if formulas is not None and i < len(formulas) else None
        r = r0 + i
        for j, raw in enumerate(row):
            f = frow[j] if frow is not None and j < len(frow) else None
            formula = f[1:] if _is_formula(f, raw) else None
            v = _clean(raw)
            if v is None and formula is None:
                continue
            c = c0 + j
            cells[(r, c)] = Cell(sheet_name, f"{col_letters(c)}{r}", v, formula)
    return cells


def _read_sheet(sheet, want_formulas: bool = True):
    """(first row, first col, values, formulas or None) of the sheet's used range: one read of the
    values and, where the engine answers synchronously (desktop Excel), one of the formulas.

    Number formats are not read: no engine gives them per cell in one call (a range's format is
    one value, or None when its cells differ); the template's formats are applied instead."""
    used = sheet.used_range
    r0, c0 = used.row, used.column
    nrows, ncols = used.shape
    values = _matrix(used.options(ndim=2, err_to_str=True).value, nrows, ncols)
    formulas = None
    if want_formulas:
        try:
            formulas = _matrix(used.formula, nrows, ncols)
        except (NotImplementedError, AttributeError):
            formulas = None
    return r0, c0, values, formulas


def _split_name(full: str, sheets: list[str]) -> tuple[str, int | None]:
    """"'基本 信息'!x" -> ("x", sheet index); "x" -> ("x", None)."""
    if "!" not in full:
        return full, None
    prefix, _, name = full.rpartition("!")
    sheet = prefix[1:-1].replace("''", "'") if prefix.startswith("'") and prefix.endswith("'") else prefix
    return name, (sheets.index(sheet) if sheet in sheets else None)


def _names(book, sheets: list[str]) -> list[DefinedName]:
    out = []
    for n in book.names:
        try:
            full, text = n.name, n.refers_to
        except Exception:  # a name the engine cannot describe (e.g. an external reference)
            continue
        name, local = _split_name(full, sheets)
        if name in BUILTIN_NAMES or name.startswith("_xlnm."):
            name = name if name.startswith("_xlnm.") else "_xlnm." + name
        out.append(DefinedName(name, (text or "").strip().lstrip("="), local))
    return out


def _tables(sheet) -> list[RawTable]:
    out = []
    for t in sheet.tables:
        rng = t.range
        if rng is None:
            continue
        ref = rng.address.replace("$", "")
        api = getattr(t.impl, "api", None)
        # remote payloads carry the column names; desktop Excel would need a call per column, and
        # the header cells (already read with the values) serve the reader first anyway
        columns = list(api.get("columns") or []) if isinstance(api, dict) else []
        out.append(RawTable(t.name, sheet.name, ref, columns))
    return out


def _assemble(book, sheet_data: dict, tables: list[RawTable], names: list[DefinedName],
              formulas_read: bool) -> RawBook:
    sheets = list(sheet_data)
    raw = RawBook(sheets=sheets, names=names, tables=tables,
                  vba=str(book.name).lower().endswith(VBA_SUFFIXES))
    for name, (r0, c0, values, sheet_formulas) in sheet_data.items():
        raw.cells[name] = _grid(name, r0, c0, values, sheet_formulas)
    apply_template_hints(raw, fill_formulas=not formulas_read)
    return raw


def raw_from_book(book) -> RawBook:
    """Read every sheet of an xlwings Book in bulk into a RawBook (see module docstring)."""
    sheets = list(book.sheets)
    names_list = [s.name for s in sheets]
    sheet_data, tables = {}, []
    formulas_read = True
    for s in sheets:
        r0, c0, values, formulas = _read_sheet(s)
        if formulas is None and values:
            formulas_read = False
        sheet_data[s.name] = (r0, c0, values, formulas)
        tables.extend(_tables(s))
    return _assemble(book, sheet_data, tables, _names(book, names_list), formulas_read)


async def raw_from_book_async(book) -> RawBook:
    """xlwings Lite: values come with the book; formulas are fetched per sheet on demand."""
    if getattr(book.impl, "_lazy", False):
        await book.load(values=True)
    sheets = list(book.sheets)
    names_list = [s.name for s in sheets]
    sheet_data, tables = {}, []
    formulas_read = True
    for s in sheets:
        r0, c0, values, _none = _read_sheet(s, want_formulas=False)
        formulas = None
        if values:
            try:
                used = s.used_range
                formulas = _matrix(await used.options(ndim=2).get_formula(), *used.shape)
            except Exception:
                formulas = None
            if formulas is None:
                formulas_read = False
        sheet_data[s.name] = (r0, c0, values, formulas)
        tables.extend(_tables(s))
    return _assemble(book, sheet_data, tables, _names(book, names_list), formulas_read)


def apply_template_hints(raw: RawBook, *, fill_formulas: bool, hints: TemplateHints | None = None) -> None:
    """Give named cells and table-column cells the template's number format where the engine gave
    none, and (values-only engines) the template's formula where the template has one and the
    value shows that the formula is still there (see `_live_formula`)."""
    hints = template_hints() if hints is None else hints
    if not hints.names and not hints.columns:
        return
    filled: dict[str, Cell] = {}                           # name -> cell given a template formula
    rate_cells: list[tuple[Cell, tuple]] = []              # (完成率 cell, (direction, target, actual) cells)

    def place(sheet, r, c, fmt, formula):
        grid = raw.cells.get(sheet)
        if grid is None:
            return None
        cell = grid.get((r, c))
        if cell is None:
            if not (fill_formulas and formula):
                return None
            cell = grid[(r, c)] = Cell(sheet, f"{col_letters(c)}{r}")
        if cell.number_format == "General" and fmt and fmt != "General":
            cell.number_format = fmt
            cell.decimals, cell.percent = format_decimals(fmt)
            if is_date_format(fmt) and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.value = serial_to_datetime(cell.value, raw.date1904)   # Office.js before ExcelApi 1.12
        if fill_formulas and formula and cell.formula is None:
            cell.formula = formula
            return cell
        return None

    seen = set()
    for d in sorted(raw.names, key=lambda d: d.local_sheet is not None):
        if d.name in seen or d.name not in hints.names:
            continue
        seen.add(d.name)
        m = _NAME_REF.match(d.text)
        if not m:
            continue
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        r, c = split_ref(m.group(3))
        fmt, formula = hints.names[d.name]
        cell = place(sheet, r, c, fmt, formula)
        if cell is not None:
            filled[d.name] = cell
    scores_col = []
    for t in raw.tables:
        spec = hints.columns.get(t.name.lower())
        if not spec:
            continue
        try:
            r0, c0, r1, c1 = range_bounds(t.ref)
        except ValueError:
            continue
        grid = raw.cells.get(t.sheet, {})
        where = {}
        for i, col in enumerate(range(c0, c1 + 1)):
            h = grid.get((r0, col))
            header = normalize_header(h.value if h is not None and h.value not in (None, "")
                                      else (t.columns[i] if i < len(t.columns) else ""))
            where.setdefault(header, col)
            if header not in spec:
                continue
            fmt, formula, first = spec[header]
            for r in range(r0 + 1, r1 + 1):
                cell = place(t.sheet, r, col, fmt, shift_formula(formula, r - first) if formula else None)
                if cell is not None and t.name.lower() == "indicators" and header == "完成率":
                    rate_cells.append((cell, (t.sheet, r, where)))
        if t.name.lower() == "scores" and "自评得分" in where:
            col = where["自评得分"]
            scores_col = [grid.get((r, col)) for r in range(r0 + 1, r1 + 1)]
    if fill_formulas:
        _drop_overwritten(raw, filled, rate_cells, scores_col, hints)


def _same(value, computed) -> bool:
    """Whether a cell's value is what its formula computes (a live formula always shows that)."""
    if isinstance(value, ErrorValue):
        return True                      # an error result: cannot tell, keep the formula
    if computed == "" or computed is None:
        return value is None or value == ""
    if isinstance(computed, str):
        return value == computed
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    a, b = float(value), float(computed)
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _drop_overwritten(raw: RawBook, filled: dict[str, Cell], rate_cells, scores_col, hints) -> None:
    """Values-only engines: a template formula whose cell shows a value the formula cannot produce
    from the current inputs was overwritten by a typed constant — take the formula away again, as
    the file reader (which sees the constant) would have it."""
    if filled:
        values = {}
        for d in raw.names:
            if d.local_sheet is None and d.name not in values:
                from .reader import _NAME_REF
                m = _NAME_REF.match(d.text)
                if m:
                    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                    c = raw.cells.get(sheet, {}).get(split_ref(m.group(3)))
                    values[d.name] = None if c is None else c.value
        bands = formulas.grade_bands_from_formula("=" + (hints.names.get("grade", ("", ""))[1] or ""))
        scores = [None if c is None else c.value for c in scores_col]
        for name, cell in filled.items():
            if name not in formulas.FORMULA_NAMES:
                continue
            if name == "score_total":
                computed = formulas.score_total(scores)
            elif name == "grade":
                computed = formulas.grade(values.get("score_total"), bands)
            else:
                computed = formulas.FUNCS[name](*(values.get(i) for i in formulas.INPUTS[name]))
            if not _same(cell.value, computed):
                cell.formula = None
    for cell, (sheet, r, where) in rate_cells:
        grid = raw.cells.get(sheet, {})
        args = []
        for h in ("指标方向", "年度目标值", "年度实现值"):
            c = grid.get((r, where[h])) if h in where else None
            args.append(None if c is None else c.value)
        if not _same(cell.value, formulas.indicator_rate(*args)):
            cell.formula = None


def read_book(book):
    """The model of an open xlwings Book (desktop or remote engine)."""
    return build_model(raw_from_book(book), str(book.name))
