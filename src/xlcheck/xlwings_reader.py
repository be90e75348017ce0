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
"""
from __future__ import annotations

import datetime as _dt
import functools
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Cell, ErrorValue
from .numbers import format_decimals
from .ooxml import (BUILTIN_FORMATS, M, NS_REL, DefinedName, RawBook, RawTable, col_letters,
                    range_bounds, split_ref)

ERRORS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!",
                    "#SPILL!", "#CALC!", "#FIELD!", "#GETTING_DATA", "#BLOCKED!", "#CONNECT!",
                    "#BUSY!", "#UNKNOWN!", "#PYTHON!"))
# names Excel shows without their "_xlnm." prefix (the file reader sees them with it)
BUILTIN_NAMES = frozenset(("Print_Area", "Print_Titles", "_FilterDatabase", "Criteria", "Extract",
                           "Consolidate_Area", "Database", "Sheet_Title", "Auto_Open", "Auto_Close"))
VBA_SUFFIXES = (".xlsm", ".xlsb", ".xlam", ".xls", ".xla")


# ---------------------------------------------------------------- template hints

@dataclass
class TemplateHints:
    """Number formats and formulas of the template's named cells and table columns."""
    names: dict[str, tuple[str, str | None]] = field(default_factory=dict)       # name -> (fmt, formula)
    columns: dict[str, dict[str, tuple[str, str | None, int]]] = field(default_factory=dict)
    # table -> header -> (fmt, formula of the first data row, that row)


def _template_source() -> bytes | None:
    """template.xlsx as shipped (package data), from the source tree, or built in memory."""
    here = Path(__file__).resolve().parent
    for p in (here / "template.xlsx", here.parent.parent / "template.xlsx"):
        if p.is_file():
            return p.read_bytes()
    try:
        from .template import template_bytes
        return template_bytes()
    except Exception:  # no template at all: the reader simply has no hints
        return None


def _package_styles(zf: zipfile.ZipFile, path: str | None) -> list[str]:
    """Number format code of each cellXfs index of a (trusted) package."""
    from xml.etree.ElementTree import fromstring
    if not path or path not in zf.namelist():
        return ["General"]
    root = fromstring(zf.read(path))
    custom = {}
    nf = root.find(M + "numFmts")
    for f in (nf if nf is not None else []):
        custom[int(f.get("numFmtId"))] = f.get("formatCode", "General")
    xfs = root.find(M + "cellXfs")
    out = [custom.get(int(xf.get("numFmtId", "0"))) or BUILTIN_FORMATS.get(int(xf.get("numFmtId", "0")), "General")
           for xf in (xfs if xfs is not None else [])]
    return out or ["General"]


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    from xml.etree.ElementTree import fromstring
    d, base = posixpath.split(part)
    path = posixpath.join(d, "_rels", base + ".rels")
    if path not in zf.namelist():
        return {}
    out = {}
    for r in fromstring(zf.read(path)):
        target = r.get("Target", "")
        absolute = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(d, target))
        out[r.get("Id")] = (r.get("Type", "").rsplit("/", 1)[-1], absolute)
    return out


def _sheet_styles(zf: zipfile.ZipFile, part: str, formats: list[str]) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(row, col) -> (number format, formula) of every <c> in a sheet part, empty ones too."""
    from xml.etree.ElementTree import iterparse
    out = {}
    c_tag, f_tag = M + "c", M + "f"
    with zf.open(part) as fh:
        for _ev, el in iterparse(fh):
            if el.tag != c_tag:
                continue
            ref = el.get("r")
            if ref:
                s = int(el.get("s", "0"))
                f = el.find(f_tag)
                out[split_ref(ref)] = (formats[s] if s < len(formats) else "General",
                                       (f.text or None) if f is not None else None)
            el.clear()
    return out


def hints_from_package(data: bytes) -> TemplateHints:
    """The hints of a template package (xlcheck's own template.xlsx: a trusted file)."""
    from xml.etree.ElementTree import fromstring
    from .reader import _NAME_REF, normalize_header
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        wb_part = "xl/workbook.xml"
        rels = _rels(zf, wb_part)
        styles_path = next((t for typ, t in rels.values() if typ == "styles"), None)
        formats = _package_styles(zf, styles_path)
        root = fromstring(zf.read(wb_part))
        parts = {}
        for s in root.find(M + "sheets"):
            typ, target = rels.get(s.get("{%s}id" % NS_REL), ("", ""))
            if typ == "worksheet":
                parts[s.get("name", "")] = target
        grids = {name: _sheet_styles(zf, part, formats) for name, part in parts.items()}
        hints = TemplateHints()
        dn = root.find(M + "definedNames")
        for d in (dn if dn is not None else []):
            if d.get("localSheetId") is not None:
                continue
            m = _NAME_REF.match((d.text or "").strip().lstrip("="))
            if not m:
                continue
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            fmt, formula = grids.get(sheet, {}).get(split_ref(m.group(3)), ("General", None))
            hints.names[d.get("name", "")] = (fmt, formula)
        for sheet, part in parts.items():
            grid = grids[sheet]
            for typ, target in _rels(zf, part).values():
                if typ != "table" or target not in zf.namelist():
                    continue
                t = fromstring(zf.read(target))
                r0, c0, r1, c1 = range_bounds(t.get("ref", "A1"))
                cols = t.find(M + "tableColumns")
                names = [c.get("name", "") for c in cols] if cols is not None else []
                spec = {}
                for i, col in enumerate(range(c0, c1 + 1)):
                    header = normalize_header(names[i] if i < len(names) else "")
                    fmt, formula = grid.get((r0 + 1, col), ("General", None))
                    spec[header] = (fmt, formula, r0 + 1)
                hints.columns[(t.get("displayName") or t.get("name") or "").lower()] = spec
        return hints


@functools.lru_cache(maxsize=1)
def template_hints() -> TemplateHints:
    data = _template_source()
    if data is None:
        return TemplateHints()
    try:
        return hints_from_package(data)
    except Exception:
        return TemplateHints()


def is_date_format(fmt: str) -> bool:
    """Whether an Excel number format shows a date or time: a y/m/d/h/s code outside quoted
    text, escapes and [...] sections (colours, locales, elapsed-time brackets count as time)."""
    out, i, n = [], 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == '"':
            j = fmt.find('"', i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch in "\\_*":           # escaped / padding / repeat: the next character is literal
            i += 2
            continue
        if ch == "[":
            j = fmt.find("]", i + 1)
            inner = fmt[i + 1:j if j > 0 else n].lower()
            if inner and set(inner) <= set("hms"):
                return True              # [h]:mm elapsed time
            i = n if j < 0 else j + 1
            continue
        out.append(ch.lower())
        i += 1
    codes = "".join(out).split(";")[0]
    return codes != "general" and any(c in codes for c in "ymdhs")


def serial_date(serial: float) -> _dt.datetime:
    """An Excel serial (1900 date system) as a datetime; serials before 1900-03-01 carry Excel's
    phantom 1900-02-29."""
    base = _dt.datetime(1899, 12, 31) if serial < 60 else _dt.datetime(1899, 12, 30)
    return base + _dt.timedelta(seconds=round(float(serial) * 86400))     # to the second, as Excel shows it


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
    for name, (r0, c0, values, formulas) in sheet_data.items():
        raw.cells[name] = _grid(name, r0, c0, values, formulas)
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
    from .reader import _NAME_REF, normalize_header
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
                cell.value = serial_date(cell.value)    # Office.js without ExcelApi 1.12 sends the serial
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
    from . import formulas
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
    from .reader import build_model
    return build_model(raw_from_book(book), str(book.name))
