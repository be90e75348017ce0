"""The saved template package made deterministic: cached values written into formula cells,
fixed timestamps, no custom row heights; every sheet re-serialised as UTF-8 by lxml."""
from __future__ import annotations

import io
import zipfile

from lxml import etree

from xlcheck.atomic import write_atomic

# fixed document timestamps so the same code gives the same bytes
FIXED_TIME = "2024-01-01T00:00:00Z"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def save_workbook(wb, path, *, cached=None, fixed_core=False) -> None:
    """Save with openpyxl, inject cached formula values, fix timestamps, replace `path` atomically."""
    buf = io.BytesIO()
    wb.save(buf)
    data = finalize_package(buf.getvalue(), cached or {}, fixed_core=fixed_core)
    write_atomic(path, data)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> part name (xl/worksheets/sheetN.xml)."""
    wbx = etree.fromstring(zf.read("xl/workbook.xml"))
    rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")}
    out = {}
    for s in wbx.iter(f"{{{_NS_MAIN}}}sheet"):
        t = targets.get(s.get(f"{{{_NS_REL}}}id"), "")
        t = t.lstrip("/") if t.startswith("/") else "xl/" + t
        out[s.get("name")] = t
    return out


def _format_number(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _set_cached(c, value) -> None:
    v = c.find(f"{{{_NS_MAIN}}}v")
    if v is None:
        v = etree.SubElement(c, f"{{{_NS_MAIN}}}v")
    if isinstance(value, bool):
        c.set("t", "b")
        v.text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        c.attrib.pop("t", None)
        v.text = _format_number(value)
    else:
        c.set("t", "str")
        v.text = str(value)


def finalize_package(data: bytes, cached: dict, *, fixed_core: bool) -> bytes:
    """Rewrite a saved package: cached values {(sheet, "B5"): value} into formula cells,
    fixed core timestamps (optional) and fixed zip entry timestamps."""
    by_sheet: dict[str, dict[str, object]] = {}
    for (sheet, coord), value in cached.items():
        by_sheet.setdefault(sheet, {})[coord] = value
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = {p: s for s, p in sheet_parts(zin).items()}
        for info in zin.infolist():
            body = zin.read(info.filename)
            sheet = parts.get(info.filename)
            if sheet is not None:
                # every sheet goes through lxml: openpyxl writes each CJK character as &#NNNNN;,
                # re-serialising as UTF-8 makes parts ~3x smaller and faster to read
                body = _patch_sheet(body, by_sheet.get(sheet, {}))
            elif fixed_core and info.filename == "docProps/core.xml":
                body = _fix_core(body)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            zout.writestr(zi, body)
    return out.getvalue()


def _patch_sheet(body: bytes, values: dict[str, object]) -> bytes:
    root = etree.fromstring(body)
    # heights stay as set, but no row is "custom": Excel, WPS and LibreOffice refit a row's
    # height when the filler types into it, so a long text is not cut off on screen or paper
    for row in root.iter(f"{{{_NS_MAIN}}}row"):
        row.attrib.pop("customHeight", None)
    todo = dict(values)
    for c in root.iter(f"{{{_NS_MAIN}}}c"):
        if not todo:
            break
        r = c.get("r")
        if r in todo and c.find(f"{{{_NS_MAIN}}}f") is not None:
            _set_cached(c, todo.pop(r))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _fix_core(body: bytes) -> bytes:
    root = etree.fromstring(body)
    for el in root:
        if etree.QName(el).localname in ("created", "modified"):
            el.text = FIXED_TIME
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
