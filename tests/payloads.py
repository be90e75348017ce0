"""Book payloads as xlwings' clients send them, built from a workbook file (tests only).

Independent of xlcheck: the file is read with openpyxl, and the payload is shaped by following the
client code line by line, not xlcheck's reader. The client followed is xlwings-server's Office.js
client (the one xlwings Lite's and xlwings Server's task panes run):

    xlwings/xlwings-server @ 88620030ee48643d4eff789728cc3aecf302be38
    xlwings_server/static/js/custom-scripts/index.js — getBookData(), convertDateValues()
    (BSD 3-clause, © Zoomer Analytics LLC)

What that function sends, and so what `book_payload` builds:
- top level: `client` "Office.js", `version` (the server's xlwings version), `book`, `names`, `sheets`
  — nothing else (no `refers_to`, no `used_range_address`, no table `columns`);
- `book`: name, active_sheet_index (0-based), selection (address without the sheet);
- `names`: workbook-scoped names first (`book_scope` true, scope fields null), then each sheet's
  own names (`scope_sheet_name`, `scope_sheet_index`, `book_scope` false); only names of type Range;
  `sheet_index` and `address` (A1 without `$`, without the sheet) of the range referred to;
  Excel lists the built-in Print_Area / Print_Titles of a sheet as its sheet-scoped names;
- `sheets`: name, values, pictures, tables. `values` is the rectangle from A1 to the last cell of
  the sheet's used range — Excel's used range includes formatted empty cells, so trailing empty
  rows and columns come along as "" — with numbers as numbers, text as text, booleans as booleans,
  error values as their text ("#DIV/0!"), empty cells as "". A cell whose number format category is
  Date or Time holds its serial number, turned into an ISO string by convertDateValues only where
  Office supports ExcelApi 1.12 (`dates="iso"`); older Excel sends the serial (`dates="serial"`);
- `tables`: name, range_address, header_row_range_address, data_body_range_address,
  total_row_range_address, show_headers, show_totals, table_style, show_autofilter.

`client="VBA"` builds what xlwings' VBA client sends instead (RunRemotePython, the route of a
desktop button calling `xlcheck serve`): xlwings/addin/Remote.bas, RunServerPython(), as shipped in
the xlwings wheel, with its JSON converter xlwings/addin/WebHelpers.bas (BSD 3-clause). It differs
from Office.js in: every name of `wb.Names` that refers to a range (hidden ones too), a sheet-scoped
one named "Sheet!Name"; names' `address` from Address(False, False); table addresses absolute
($A$3:$I$23); empty cells as null; dates always as ISO strings (VBA Date → ConvertToIso); error
values as text for the seven classic errors only.

Values are the cells' values as Excel shows them, so formula cells need their computed values:
build payloads from files saved by Excel or recalculated by LibreOffice (`recalculated`).

Where the values-only remote path must differ from the file: the payload has no formulas, so a
template formula cell overwritten by a typed constant *equal to the formula's result* looks like the
live formula (STR's "formula overwritten" finding cannot be raised); a typed constant that differs
from what the formula computes is seen as typed. Nothing else differs: tests/test_addin.py asserts
the CLI's findings on every example and variant through these payloads.

API (also used by `xlcheck serve`'s tests):
    book_payload(path, *, client="Office.js", dates="iso", active_sheet=0, selection="A1", name=None) -> dict
    sheet_formulas(path) -> {sheet name: 2-D list}   what Range.formulas answers (Lite's formula reads)
    recalculated(paths, outdir) -> [Path]             LibreOffice-recalculated copies (cached values)
    review_rows(actions), review_findings(rows)       what an add-in run wrote into 审核结果
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlwings

EPOCH = dt.datetime(1899, 12, 30)


def _serial(v) -> float | int:
    """A date/time cell's serial number (1900 date system), as Excel holds it."""
    if isinstance(v, dt.time):
        v = dt.datetime.combine(EPOCH.date(), v)
    elif isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        v = dt.datetime(v.year, v.month, v.day)
    days = (v - EPOCH).total_seconds() / 86400
    if v < dt.datetime(1900, 3, 1):
        days -= 1                     # Excel's phantom 1900-02-29
    return int(days) if days == int(days) else days


def _iso(serial) -> str:
    """convertDateValues: new Date(Math.round((val - 25569) * 86400 * 1000)).toISOString()."""
    ms = round((serial - 25569) * 86400 * 1000)
    d = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _value(cell, dates: str):
    v = cell.value
    if v is None:
        return ""
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        serial = _serial(v)
        return _iso(serial) if dates == "iso" else serial
    if cell.is_date and isinstance(v, (int, float)) and not isinstance(v, bool):
        return _iso(v) if dates == "iso" else v
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _address(ref: str) -> str:
    """Office.js Range.address after split("!").pop(): no sheet, no `$`."""
    return ref.split("!")[-1].replace("$", "")


def _range_name(wb, attr_text: str):
    """(sheet position, address) of a name that refers to one range on one sheet, else None."""
    from openpyxl.workbook.defined_name import DefinedName
    try:
        dests = list(DefinedName("x", attr_text=attr_text).destinations)
    except Exception:
        return None
    if len(dests) != 1 or dests[0][0] not in wb.sheetnames:
        return None
    sheet, ref = dests[0]
    return wb.sheetnames.index(sheet), _address(ref)


def _names(wb, client: str = "Office.js") -> list[dict]:
    vba = client == "VBA"
    out = []
    for name, d in wb.defined_names.items():          # workbook.names: book scope only
        where = _range_name(wb, d.attr_text)
        if where is None or (d.hidden and not vba):
            continue
        out.append({"name": name, "sheet_index": where[0], "address": where[1],
                    "scope_sheet_name": None, "scope_sheet_index": None, "book_scope": True})
    for pos, ws in enumerate(wb.worksheets):           # worksheet.names: that sheet's scope
        local = {n: d.attr_text for n, d in ws.defined_names.items() if vba or not d.hidden}
        if ws.print_area:
            local["Print_Area"] = ",".join(f"{_quote(ws.title)}!{a}" for a in _areas(ws.print_area))
        if ws.print_title_rows:
            local["Print_Titles"] = f"{_quote(ws.title)}!{ws.print_title_rows}"
        for name, text in local.items():
            where = _range_name(wb, text)
            if where is None:
                continue
            shown = f"{_vba_sheet(ws.title)}!{name}" if vba else name      # VBA: Name.Name
            out.append({"name": shown, "sheet_index": where[0], "address": where[1],
                        "scope_sheet_name": ws.title, "scope_sheet_index": pos, "book_scope": False})
    return out


def _vba_sheet(title: str) -> str:
    """A sheet name as Excel writes it before "!": quoted unless letters, digits and _ only."""
    return title if all(ch.isalnum() or ch == "_" for ch in title) else _quote(title)


def _areas(print_area) -> list[str]:
    areas = print_area if isinstance(print_area, (list, tuple)) else str(print_area).split(",")
    return [a.split("!")[-1] for a in areas]


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _absolute(address: str | None) -> str | None:
    """Range.Address (VBA, default arguments): $A$3:$I$23."""
    if address is None:
        return None
    from openpyxl.utils.cell import absolute_coordinate
    return absolute_coordinate(address)


def _tables(ws) -> list[dict]:
    from openpyxl.utils.cell import get_column_letter, range_boundaries
    out = []
    for t in ws.tables.values():
        c0, r0, c1, r1 = range_boundaries(t.ref)
        header = (t.headerRowCount if t.headerRowCount is not None else 1) > 0
        totals = bool(t.totalsRowCount)
        body0, body1 = r0 + (1 if header else 0), r1 - (1 if totals else 0)
        a, b = get_column_letter(c0), get_column_letter(c1)
        style = t.tableStyleInfo.name if t.tableStyleInfo is not None else None
        out.append({
            "name": t.displayName or t.name,
            "range_address": f"{a}{r0}:{b}{r1}",
            "header_row_range_address": f"{a}{r0}:{b}{r0}" if header else None,
            "data_body_range_address": f"{a}{body0}:{b}{body1}",
            "total_row_range_address": f"{a}{r1}:{b}{r1}" if totals else None,
            "show_headers": header,
            "show_totals": totals,
            "table_style": style,
            "show_autofilter": t.autoFilter is not None,
        })
    return out


def _used(ws) -> tuple[int, int]:
    """Last row and column of the used range (cells with a value or a format)."""
    return ws.max_row, ws.max_column


VBA_ERRORS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"))


def _vba_value(cell):
    """A cell as WebHelpers.ConvertToJson writes Range.Value: Empty → null, Date → ISO."""
    v = _value(cell, "iso")
    if v == "":
        return None
    if isinstance(v, str) and cell.data_type == "e" and v not in VBA_ERRORS:
        return None                  # newer error values: the converter writes nothing useful
    return v


def book_payload(path, *, client: str = "Office.js", dates: str = "iso", active_sheet: int = 0,
                 selection: str | None = "A1", name: str | None = None) -> dict:
    """The payload xlwings' `client` ("Office.js": getBookData(); "VBA": RunServerPython) sends
    for the workbook file at `path` (module doc)."""
    import openpyxl
    assert dates in ("iso", "serial") and client in ("Office.js", "VBA")
    vba = client == "VBA"
    wb = openpyxl.load_workbook(path, data_only=True)
    formats = openpyxl.load_workbook(path)            # the table and name definitions
    sheets = []
    for ws in wb.worksheets:
        nrows, ncols = _used(ws)
        if vba:
            values = [[_vba_value(ws.cell(r, c)) for c in range(1, ncols + 1)] for r in range(1, nrows + 1)]
        else:
            values = [[_value(ws.cell(r, c), dates) for c in range(1, ncols + 1)] for r in range(1, nrows + 1)]
        tables = _tables(formats[ws.title])
        if vba:
            for t in tables:
                for k in ("range_address", "header_row_range_address", "data_body_range_address",
                          "total_row_range_address"):
                    t[k] = _absolute(t[k])
        sheets.append({"name": ws.title, "values": values or [[]], "pictures": [], "tables": tables})
    return {
        "client": client,
        "version": xlwings.__version__,
        "book": {"name": name or Path(path).name, "active_sheet_index": active_sheet, "selection": selection},
        "names": _names(formats, client),
        "sheets": sheets,
    }


def sheet_formulas(path) -> dict[str, list[list]]:
    """What Office.js `range.formulas` gives for each sheet's A1:last-used-cell rectangle: the
    formula text of a formula cell, the value of any other ("" when empty)."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for ws in wb.worksheets:
        nrows, ncols = _used(values[ws.title])
        grid = []
        for r in range(1, nrows + 1):
            row = []
            for c in range(1, ncols + 1):
                cell = ws.cell(r, c)
                if cell.data_type == "f" and isinstance(cell.value, str):
                    row.append(cell.value)
                else:
                    row.append(_value(values[ws.title].cell(r, c), "serial"))
            grid.append(row)
        out[ws.title] = grid
    return out


def recalculated(paths, outdir) -> list[Path]:
    """Copies of `paths` opened, recalculated and saved by LibreOffice (one run for all), so that
    every formula cell carries the value Excel would show."""
    from conftest import libreoffice_convert
    return libreoffice_convert(paths, outdir)


def review_rows(actions: list[dict], sheet_position: int | None = None) -> list[list]:
    """The values of the one bulk write (setValues) an add-in run sends for its review sheet, with
    HYPERLINK formulas shown as the text Excel displays and a protecting apostrophe dropped."""
    import re
    link = re.compile(r'^=HYPERLINK\("[^"]*","(.*)"\)$')
    writes = [a for a in actions if a["func"] == "setValues"
              and (sheet_position is None or a["sheet_position"] == sheet_position)]
    assert len(writes) == 1, "the review sheet is written in one bulk call"
    rows = []
    for row in writes[0]["values"]:
        out = []
        for v in row:
            m = link.match(v) if isinstance(v, str) else None
            out.append(m.group(1) if m else (v[1:] if isinstance(v, str) and v.startswith("'") else v))
        rows.append(out)
    return rows


REVIEW_HEADERS = ["序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值", "填报单位说明", "状态", "定位"]


def review_findings(rows: list[list]) -> list[dict]:
    """Finding rows of a review sheet's values (current block only), as dicts keyed by header."""
    i = next(n for n, r in enumerate(rows) if r[:len(REVIEW_HEADERS)] == REVIEW_HEADERS)
    out = []
    for r in rows[i + 1:]:
        if not r[0] and not r[2]:
            break
        out.append(dict(zip(REVIEW_HEADERS, r)))
    return out
