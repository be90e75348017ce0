"""Fill a copy of the template through its public interface: defined names and Excel Tables.

Never uses fixed addresses: single cells are found by workbook-scoped defined names, table rows
by the table's ref and header texts. Formula cells get cached values computed by formulas.py.
"""
from __future__ import annotations

import functools
import io
import re
from copy import copy
from pathlib import Path

import openpyxl
from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange

from xlcheck import formulas
from xlcheck.framework import normalize_name

SCORE_INPUTS = ("自评得分", "扣分原因", "改进措施")


# ---------------------------------------------------------------- lookups

def name_cell(wb, name: str) -> tuple[str, str]:
    """(sheet title, "B5") of a workbook-scoped defined name that points at one cell."""
    dn = wb.defined_names.get(name)
    if dn is None:
        raise KeyError(f"工作簿中没有定义名称“{name}”")
    dests = list(dn.destinations)
    if len(dests) != 1 or ":" in dests[0][1] or dests[0][0] not in wb.sheetnames:
        raise KeyError(f"定义名称“{name}”没有指向单个单元格：{dn.attr_text}")
    sheet, ref = dests[0]
    return sheet, ref.replace("$", "")


def find_table(wb, name: str):
    """(worksheet, Table) of the Excel Table whose name is `name` (case-insensitive)."""
    for ws in wb.worksheets:
        for t in ws.tables.values():
            if (t.displayName or t.name or "").lower() == name.lower():
                return ws, t
    raise KeyError(f"工作簿中没有名为“{name}”的表格")


def table_layout(ws, table):
    """(header row, first data row, last data row, {normalized header: column index})."""
    c0, r0, c1, r1 = range_boundaries(table.ref)
    head = r0 + (table.headerRowCount if table.headerRowCount is not None else 1) - 1
    last = r1 - (table.totalsRowCount or 0)
    cols = {}
    for c in range(c0, c1 + 1):
        v = ws.cell(head, c).value
        if v is not None:
            cols.setdefault(normalize_name(v), c)
    return head, head + 1, last, cols


def _is_formula(cell) -> bool:
    return cell.data_type == "f"


def _write(cell, value) -> None:
    # None leaves the cell as it is; "" clears it
    if value is None:
        return
    if isinstance(value, str) and value == "":
        cell.value = None
    elif isinstance(value, str) and value == "=":
        cell.value = value
        cell.data_type = "s"   # the 指标方向 "=", not an empty formula
    else:
        cell.value = value


# ---------------------------------------------------------------- writing

def fill_openpyxl(wb, cells: dict[str, object] | None = None,
                  tables: dict[str, list[dict]] | None = None) -> None:
    """Write single cells by defined name and table rows by header text into a loaded Workbook.

    `cells`: {defined name: value}. `tables`: {table name: [ {header: value}, … ]}; row i goes to
    the table's i-th data row, the table is extended when more rows are given than it has.
    For `scores`, rows are matched by 三级指标 (by position when a row has none) and only
    自评得分 / 扣分原因 / 改进措施 are written. A value None leaves a cell untouched, "" clears it;
    anything else is written as given (text stays text, so "1,288.38" is stored as text).
    """
    from xlcheck.template_style import fit_rows
    touched: dict[str, set[int]] = {}
    for name, value in (cells or {}).items():
        sheet, coord = name_cell(wb, name)
        _write(wb[sheet][coord], value)
        touched.setdefault(sheet, set()).add(wb[sheet][coord].row)
    for tname, rows in (tables or {}).items():
        ws, t = find_table(wb, tname)
        if tname.lower() == "scores":
            _fill_scores(ws, t, rows or [])
        else:
            _fill_rows(ws, t, tname, rows or [])
        head, first, last, _ = table_layout(ws, t)
        touched.setdefault(ws.title, set()).update(range(first, last + 1))
    for sheet, rows in touched.items():
        fit_rows(wb[sheet], rows)   # long texts shown in full on screen and in print


def _row_keys(tname, row: dict, cols: dict) -> dict:
    out = {}
    for k, v in row.items():
        nk = normalize_name(k)
        if nk not in cols:
            raise KeyError(f"表格“{tname}”没有列“{k}”（现有列：{'、'.join(cols)}）")
        out[nk] = v
    return out


def _fill_rows(ws, t, tname, rows: list[dict]) -> None:
    head, first, last, cols = table_layout(ws, t)
    rows = [_row_keys(tname, r, cols) for r in rows]
    if len(rows) > last - first + 1:
        extend_table(ws, t, len(rows))
    for i, row in enumerate(rows):
        for k, v in row.items():
            _write(ws.cell(first + i, cols[k]), v)


def _fill_scores(ws, t, rows: list[dict]) -> None:
    head, first, last, cols = table_layout(ws, t)
    name_col = cols.get("三级指标")
    index = {}
    if name_col:
        for r in range(first, last + 1):
            index.setdefault(normalize_name(ws.cell(r, name_col).value), r)
    for i, row in enumerate(rows):
        row = _row_keys("scores", row, cols)
        key = normalize_name(row.get("三级指标"))
        if key:
            if key not in index:
                raise KeyError(f"自评评分表中没有三级指标“{row['三级指标']}”")
            r = index[key]
        else:
            r = first + i
            if r > last:
                raise KeyError(f"自评评分表只有 {last - first + 1} 行，给出了第 {i + 1} 行")
        for k in SCORE_INPUTS:
            if k in row:
                _write(ws.cell(r, cols[k]), row[k])


def extend_table(ws, t, n_rows: int) -> None:
    """Grow table `t` to `n_rows` data rows: ref, autofilter, styles, validations, formulas."""
    c0, r0, c1, r1 = range_boundaries(t.ref)
    head, first, last, _ = table_layout(ws, t)
    new_last = first + n_rows - 1
    if new_last <= last:
        return
    if t.totalsRowCount:
        raise ValueError(f"表格“{t.displayName}”有汇总行，无法自动扩展")
    for (r, c), cell in ws._cells.items():
        if last < r <= new_last and c0 <= c <= c1 and cell.value is not None:
            raise ValueError(f"表格“{t.displayName}”下方 {cell.coordinate} 已有内容，无法扩展到 {n_rows} 行")
    # a column is calculated when most of its data rows hold formulas
    calculated = {}
    for c in range(c0, c1 + 1):
        frows = [r for r in range(first, last + 1) if _is_formula(ws.cell(r, c))]
        if frows and len(frows) * 2 > last - first + 1:
            calculated[c] = frows[-1]
    height = ws.row_dimensions[last].height
    for r in range(last + 1, new_last + 1):
        for c in range(c0, c1 + 1):
            src = ws.cell(last, c)
            dst = ws.cell(r, c)
            dst._style = copy(src._style)
            if c in calculated:
                srow = calculated[c]
                f = ws.cell(srow, c).value
                dst.value = Translator(f, origin=f"{get_column_letter(c)}{srow}").translate_formula(dst.coordinate)
        if height is not None:
            ws.row_dimensions[r].height = height
    for dv in ws.data_validations.dataValidation:
        ranges = []
        for cr in dv.sqref.ranges:
            if cr.max_row == last and cr.min_row >= first and c0 <= cr.min_col and cr.max_col <= c1:
                cr = CellRange(min_col=cr.min_col, min_row=cr.min_row, max_col=cr.max_col, max_row=new_last)
            ranges.append(cr)
        dv.sqref = MultiCellRange(ranges)
    new_ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{new_last}"
    t.ref = new_ref
    if t.autoFilter is not None:
        t.autoFilter.ref = new_ref


# ---------------------------------------------------------------- cached values

_SCORE_RE = re.compile(r'^=IF\(COUNT\((?P<rng>[^()]+)\)=0,"",ROUND\(SUM\((?P=rng)\),(?P<d>\d+)\)\)$')
_RATE_RE = re.compile(r'^=IFERROR\(IF\(AND\(ISNUMBER\((?P<t>\$?[A-Z]+\$?\d+)\),'
                      r'ISNUMBER\((?P<a>\$?[A-Z]+\$?\d+)\)\),IF\(OR\((?P<d>\$?[A-Z]+\$?\d+)=')


def _range_cells(wb, default_sheet, rng):
    if "!" in rng:
        sheet, rng = rng.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
    else:
        sheet = default_sheet
    if sheet not in wb.sheetnames:
        return None
    c0, r0, c1, r1 = range_boundaries(rng.replace("$", ""))
    ws = wb[sheet]
    return [ws.cell(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]


def cached_values(wb) -> dict[tuple[str, str], object]:
    """{(sheet, "B5"): value} for every template formula cell whose formula is intact.

    A formula that differs from the one the template writes (or reads an input that is itself an
    unknown formula) gets no value: better no cached value than a wrong one.
    """
    out: dict[tuple[str, str], object] = {}
    where, env, unknown = {}, {}, set()
    for name in wb.defined_names:
        try:
            where[name] = name_cell(wb, name)
        except KeyError:
            continue
        s, c = where[name]
        cell = wb[s][c]
        env[name] = cell.value
        if _is_formula(cell):
            unknown.add(name)
    for name in formulas.FORMULA_NAMES:
        if name not in unknown:
            continue   # missing, or overwritten by a constant that other formulas read as is
        sheet, coord = where[name]
        f = env[name]
        value = None
        if not isinstance(f, str):
            continue   # array/data-table formula: not the template's
        if name in formulas.EXCEL:
            if f == formulas.EXCEL[name] and not unknown.intersection(formulas.INPUTS[name]):
                value = formulas.FUNCS[name](*(env.get(i) for i in formulas.INPUTS[name]))
        elif name == "score_total":
            m = _SCORE_RE.match(f)
            cells = _range_cells(wb, sheet, m.group("rng")) if m and int(m.group("d")) == formulas.SCORE_DECIMALS else None
            if cells is not None and not any(_is_formula(c) for c in cells):
                value = formulas.score_total([c.value for c in cells])
        elif name == "grade":
            bands = formulas.grade_bands_from_formula(f)
            if bands and "score_total" not in unknown:
                value = formulas.grade(env.get("score_total"), bands)
        if value is None:
            continue
        env[name] = value
        unknown.discard(name)
        out[(sheet, coord)] = value
    out.update(_rate_values(wb))
    out.update(_panel_values(wb, out))
    return out


def _rate_values(wb) -> dict:
    out = {}
    try:
        ws, t = find_table(wb, "indicators")
    except KeyError:
        return out
    head, first, last, cols = table_layout(ws, t)
    col = cols.get("完成率")
    if col:
        for r in range(first, last + 1):
            cell = ws.cell(r, col)
            f = cell.value
            m = _RATE_RE.match(f) if _is_formula(cell) and isinstance(f, str) else None
            if not m:
                continue
            d, tg, ac = m.group("d"), m.group("t"), m.group("a")
            if f != formulas.indicator_rate_formula(d, tg, ac):
                continue
            inputs = [ws[x.replace("$", "")] for x in (d, tg, ac)]
            if any(_is_formula(c) for c in inputs):
                continue
            out[(ws.title, cell.coordinate)] = formulas.indicator_rate(*(c.value for c in inputs))
    return out


def _panel_values(wb, computed: dict) -> dict:
    """Cached values of the 自查 panel: each live check evaluated in Python exactly as its
    formula computes it (cells whose formula is not the template's get none)."""
    from xlcheck import template_fields as fields, template_panel as tpl
    if fields.SHEET_SELFCHECK not in wb.sheetnames:
        return {}
    ws = wb[fields.SHEET_SELFCHECK]
    try:
        checks = {c.key: c for c in tpl.live_checks(wb)}
    except (KeyError, AssertionError):   # not the template's layout: no cached values
        return {}

    def get(sheet, coord):
        if (sheet, coord) in computed:
            return computed[(sheet, coord)]
        if sheet not in wb.sheetnames:
            return None
        # look the cell up without creating it (ws[coord] would add 500 empty rows to the file)
        cell = wb[sheet]._cells.get(coordinate_to_tuple(coord))
        return None if cell is None or _is_formula(cell) else cell.value

    out, total, intact = {}, 0, True
    for r in range(tpl.PANEL_HEAD + 1, ws.max_row + 1):
        chk = checks.get(ws[f"{tpl.PANEL_KEY_COL}{r}"].value)
        if chk is None:
            continue
        res = chk.py(get)
        cells = {f"E{r}": ("=" + chk.count, res.count),
                 f"{tpl.PANEL_CELL_COL}{r}": (tpl.first_formula(chk, r), res.first[1] if res.first else ""),
                 f"F{r}": (tpl.link_formula(chk, r), f"{chk.sheet} {res.first[1]}" if res.first else "")}
        for coord, (formula, value) in cells.items():
            if ws[coord].value == formula:
                out[(ws.title, coord)] = value
            elif coord.startswith("E"):
                intact = False
        total += res.count
    if not intact:
        return out
    for name, value in (("selfcheck_count", total), ("selfcheck_status", tpl.status_text(total))):
        try:
            sheet, coord = name_cell(wb, name)
        except KeyError:
            continue
        out[(sheet, coord)] = value
    for other in wb.worksheets:   # the conclusion repeated at the top of the other sheets
        for c in other[1] if other.max_row else ():
            if c.value == tpl.STATUS_LINK:
                out[(other.title, c.coordinate)] = tpl.status_text(total)
    return out


def inject_cached_values(path) -> None:
    """Recompute and write the cached values of the template's formula cells into a workbook
    saved by openpyxl (which writes formulas without values). Everything else stays as it is."""
    from xlcheck.atomic import write_atomic
    from xlcheck.template_package import finalize_package
    path = Path(path)
    data = path.read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    write_atomic(path, finalize_package(data, cached_values(wb), fixed_core=False))


# ---------------------------------------------------------------- fill a copy

@functools.lru_cache(maxsize=4)
def _template_bytes(_key) -> bytes:
    from xlcheck.template import template_bytes
    return template_bytes()


def _default_template() -> bytes:
    from xlcheck.framework import default_framework_path
    p = default_framework_path()
    try:
        key = (str(p), p.stat().st_mtime_ns)
    except OSError:
        key = (str(p), None)
    return _template_bytes(key)


def fill(out_path, cells: dict[str, object] | None = None,
         tables: dict[str, list[dict]] | None = None, *, template=None) -> None:
    """Write a filled copy of the template (built fresh when `template` is None) to `out_path`,
    atomically, with cached values for the formula cells."""
    from xlcheck.template_package import save_workbook
    if template is None:
        data, keep_vba = _default_template(), False
    else:
        data = Path(template).read_bytes()
        keep_vba = Path(template).suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=keep_vba)
    fill_openpyxl(wb, cells, tables)
    save_workbook(wb, out_path, cached=cached_values(wb), fixed_core=True)
