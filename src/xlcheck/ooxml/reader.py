"""One decoder for the parts of a workbook package: values, formulas, number formats, defined
names, tables and the date system → `RawBook` (what `xlcheck.reader.build_model` consumes).

Namespace-aware throughout (the namespace is taken from each part's root element), so BOMs,
prefixed elements (`<x:c>`), UTF-16 parts and relationship-id prefixes are the parser's business.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from datetime import datetime

from ..errors import ReadError
from ..model import Cell, ErrorValue
from ..numbers import format_decimals
from ..sniff import R_BROKEN, R_TOO_BIG, FileKindError, classify_zip
from . import package as pk
from .book import BUILTIN_FORMATS, DefinedName, RawBook, RawTable, is_date_format, serial_to_datetime  # noqa: F401
from .refs import col_index, col_letters, split_ref

_XESC = re.compile(r"_x([0-9A-Fa-f]{4})_")      # ST_Xstring escapes in cell text (not XML)


def unescape_x(s: str) -> str:
    """'_x000D_' → '\\r'; '_x005F_' escapes a literal underscore."""
    return _XESC.sub(lambda m: chr(int(m.group(1), 16)), s) if "_x" in s else s


def number_formats(root) -> list[str]:
    """Number format code of each cellXfs entry of styles.xml (dxf formats are no cell formats)."""
    ns = root.tag[:-len("styleSheet")]
    custom = {}
    nf = root.find(ns + "numFmts")
    for f in (nf.iter(ns + "numFmt") if nf is not None else ()):
        try:
            custom[int(f.get("numFmtId"))] = f.get("formatCode", "General")
        except (TypeError, ValueError):
            continue
    xfs = root.find(ns + "cellXfs")
    out = []
    for xf in (xfs.iter(ns + "xf") if xfs is not None else ()):
        i = int(xf.get("numFmtId") or 0)
        out.append(custom.get(i) or BUILTIN_FORMATS.get(i, "General"))
    return out or ["General"]


def string_of(si, ns: str) -> str:
    """The text of a shared string or inline string: its <t>, or its runs' <t>; no phonetic runs."""
    t_tag, r_tag = ns + "t", ns + "r"
    if len(si) == 1 and si[0].tag == t_tag:     # the common <si><t>…</t></si>
        return unescape_x(si[0].text or "")
    parts = []
    for ch in si:
        if ch.tag == t_tag:
            parts.append(ch.text or "")
        elif ch.tag == r_tag:
            for t in ch.iterchildren(t_tag):
                parts.append(t.text or "")
    return unescape_x("".join(parts))


def shared_strings(root) -> list[str]:
    ns = root.tag[:-len("sst")]
    return [string_of(si, ns) for si in root.iterchildren(ns + "si")]


def _too_many():
    return FileKindError(R_TOO_BIG, f"工作簿中填写的单元格超过 {pk.MAX_CELLS:,} 个，数据量异常")


class _Unplaced(Exception):
    """A cell without an `r` attribute: its place comes from counting rows and cells."""


class _Decoder:
    """Turns one <c>'s attributes and its <f>/<v>/<is> into a Cell."""

    def __init__(self, ns, sheet, strings, formats, date1904):
        self.ns, self.sheet, self.strings, self.formats, self.date1904 = ns, sheet, strings, formats, date1904
        self.info_of: dict[str | None, tuple] = {}

    def info(self, s: str | None) -> tuple:
        """(format code, decimals, percent, is a date format) of a style index."""
        i = int(s) if s else 0
        fmt = self.formats[i] if i < len(self.formats) else "General"
        dec, pct = format_decimals(fmt)
        info = self.info_of[s] = (fmt, dec, pct, is_date_format(fmt))
        return info

    def value(self, t: str | None, raw: str | None, info: tuple):
        if t == "inlineStr":
            return raw                  # decoded by string_of
        if not raw:
            return None
        if t is None or t == "n":
            return _number(raw, info[3], self.date1904)
        if t == "s":
            i = int(raw)
            return self.strings[i] if 0 <= i < len(self.strings) else None
        if t == "str":
            return unescape_x(raw)
        if t == "b":
            return raw == "1"
        if t == "e":
            return ErrorValue(raw)
        if t == "d":
            return _iso_date(raw)
        return _number(raw, info[3], self.date1904)

    def __call__(self, c, formula, raw, address) -> Cell | None:
        s = c.get("s")
        info = self.info_of.get(s) or self.info(s)
        value = self.value(c.get("t"), raw, info)
        if formula is None and (value is None or value == ""):
            return None
        return Cell(self.sheet, address, value, formula, info[0], info[1], info[2])


def sheet_cells(root, sheet: str, strings: list[str], formats: list[str], date1904: bool = False,
                already: int = 0) -> dict[tuple[int, int], Cell]:
    """The non-empty cells of a worksheet root: (row, col) → Cell."""
    ns = root.tag.rsplit("}", 1)[0] + "}" if root.tag.startswith("{") else ""
    data = root.find(ns + "sheetData")
    if data is None:
        return {}
    decode = _Decoder(ns, sheet, strings, formats, date1904)
    limit = pk.MAX_CELLS - already
    try:
        cells = _by_reference(data, ns, decode, limit)
    except _Unplaced:
        cells = _by_position(data, ns, decode, limit)
    return cells


def _by_reference(data, ns, decode, limit) -> dict:
    """Visit only the <f>, <v> and <is> elements (most cells of a template are empty and styled)
    and place each cell by its `r`."""
    v_tag, f_tag = ns + "v", ns + "f"
    cells: dict[tuple[int, int], Cell] = {}
    pending = []                        # (c, formula, raw) of each non-empty cell, in order
    cur = formula = raw = None
    for el in data.iter(v_tag, f_tag, ns + "is"):
        c = el.getparent()
        if c is not cur:
            if cur is not None:
                pending.append((cur, formula, raw))
            cur, formula, raw = c, None, None
        tag = el.tag
        if tag == v_tag:
            raw = el.text
        elif tag == f_tag:
            formula = el.text or ("(shared)" if el.get("t") == "shared" else "")
        else:
            raw = string_of(el, ns)     # <is>: already decoded text
    if cur is not None:
        pending.append((cur, formula, raw))
    if len(pending) > limit:
        raise _too_many()
    cols, info_of, sheet = _COLS, decode.info_of, decode.sheet
    for c, formula, raw in pending:
        ref, t, s = c.get("r"), c.get("t"), c.get("s")
        info = info_of.get(s) or decode.info(s)
        if t == "inlineStr":
            value = raw
        elif t is None and raw and not info[3] and raw.isdecimal() and len(raw) < 16:
            value = int(raw)          # the common plain integer, exactly as float → int would give
        else:
            value = decode.value(t, raw, info)
        if formula is None and (value is None or value == ""):
            continue
        if not ref:
            raise _Unplaced
        letters = ref.rstrip("0123456789")
        col_no = cols.get(letters)
        if col_no is None or "$" in ref:
            row_no, col_no = split_ref(ref)
            ref = col_letters(col_no) + str(row_no)
            if letters.isalpha() and letters.isupper():
                cols[letters] = col_no
        else:
            row_no = int(ref[len(letters):])
        cells[(row_no, col_no)] = Cell(sheet, ref, value, formula, info[0], info[1], info[2])
    return cells


def _by_position(data, ns, decode, limit) -> dict:
    """Every row and cell in order: a row without `r` follows the previous one, a cell without
    `r` the previous cell."""
    row_tag, c_tag, v_tag, f_tag, is_tag = ns + "row", ns + "c", ns + "v", ns + "f", ns + "is"
    cells: dict[tuple[int, int], Cell] = {}
    row_no = 0
    for row in data.iterchildren(row_tag):
        r = row.get("r")
        row_no = int(r) if r else row_no + 1
        col_no = 0
        for c in row.iterchildren(c_tag):
            ref = c.get("r")
            row_no, col_no = _split(ref) if ref else (row_no, col_no + 1)
            formula = raw = None
            for ch in c:
                if ch.tag == v_tag:
                    raw = ch.text
                elif ch.tag == f_tag:
                    formula = ch.text or ("(shared)" if ch.get("t") == "shared" else "")
                elif ch.tag == is_tag:
                    raw = string_of(ch, ns)
            cell = decode(c, formula, raw, col_letters(col_no) + str(row_no))
            if cell is not None:
                cells[(row_no, col_no)] = cell
                if len(cells) > limit:
                    raise _too_many()
    return cells


_COLS: dict[str, int] = {}


def _split(ref: str) -> tuple[int, int]:
    """split_ref for the common 'AB12' with a per-letters cache (the hot loop)."""
    letters = ref.rstrip("0123456789")
    col = _COLS.get(letters)
    if col is None:
        if not letters.isalpha() or not letters.isupper() or len(letters) > 3:
            return split_ref(ref)
        col = _COLS[letters] = col_index(letters)
    return int(ref[len(letters):]), col


def _number(raw: str, is_date: bool, date1904: bool):
    try:
        num = float(raw)
        if num - num != 0:  # NaN / inf: no office suite writes them
            raise ValueError(raw)
    except ValueError:
        return raw
    if is_date:
        return serial_to_datetime(num, date1904)
    if num.is_integer() and "." not in raw and "e" not in raw and "E" not in raw:
        return int(num)
    return num


def _iso_date(raw: str):
    """t="d": an ISO 8601 date, date-time or time; the text itself when it is none of these."""
    s = raw.strip()
    try:
        return datetime.fromisoformat(s[:-1] if s.endswith("Z") else s).replace(tzinfo=None)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat("1899-12-31T" + s.lstrip("T"))    # a time of day: Excel's day 0
    except ValueError:
        return raw


def _rel_id(el) -> str | None:
    """The relationship id of a <sheet>, whatever prefix its namespace was given."""
    for k, v in el.attrib.items():
        if k.startswith("{") and k.endswith("}id"):
            return v
    return None


def _table(root, sheet: str) -> RawTable:
    ns = root.tag[:-len("table")]
    cols = root.find(ns + "tableColumns")
    names = [unescape_x(c.get("name", "")) for c in (cols.iterchildren(ns + "tableColumn") if cols is not None else ())]
    return RawTable(root.get("displayName") or root.get("name") or "", sheet, root.get("ref", ""), names)


def workbook_part(pkg: pk.Package) -> str:
    for typ, target in pkg.rels("").values():  # the package rels: _rels/.rels
        if typ == "officeDocument" and pkg.has(target):
            return target
    if pkg.has("xl/workbook.xml"):
        return "xl/workbook.xml"
    raise classify_zip(pkg.infos, lambda n: _small(pkg, n), posixpath.splitext(str(pkg.path))[1]).error()


def _small(pkg: pk.Package, name: str) -> bytes | None:
    info = pkg.infos.get(name)
    if info is None or info.file_size > 4096:
        return None
    try:
        return pkg.read(name)
    except Exception:
        return None


def read_book(pkg: pk.Package) -> RawBook:
    wb_part = workbook_part(pkg)
    rels = pkg.rels(wb_part)
    strings_path = next((t for typ, t in rels.values() if typ == "sharedStrings"), None)
    styles_path = next((t for typ, t in rels.values() if typ == "styles"), None)
    strings = shared_strings(pkg.xml(strings_path)) if strings_path and pkg.has(strings_path) else []
    formats = number_formats(pkg.xml(styles_path)) if styles_path and pkg.has(styles_path) else ["General"]
    root = pkg.xml(wb_part)
    ns = root.tag[:-len("workbook")]
    pr = root.find(ns + "workbookPr")
    date1904 = pr is not None and pr.get("date1904", "").lower() in ("1", "true")
    book = RawBook(vba=any(n.endswith("vbaProject.bin") for n in pkg.infos), date1904=date1904)
    sheet_parts = []
    sheets = root.find(ns + "sheets")
    for el in (sheets.iterchildren(ns + "sheet") if sheets is not None else ()):
        name = el.get("name", "")
        book.sheets.append(name)
        typ, target = rels.get(_rel_id(el), ("", ""))
        sheet_parts.append((name, target if typ == "worksheet" else None))
    dn = root.find(ns + "definedNames")
    for d in (dn.iterchildren(ns + "definedName") if dn is not None else ()):
        lid = d.get("localSheetId")
        book.names.append(DefinedName(d.get("name", ""), (d.text or "").strip(), int(lid) if lid is not None else None))
    for name, part in sheet_parts:
        if not part or not pkg.has(part):
            book.cells[name] = {}
            continue
        cells = sheet_cells(pkg.xml(part), name, strings, formats, date1904, pkg.cells_read)
        pkg.cells_read += len(cells)
        book.cells[name] = cells
        for typ, target in pkg.rels(part).values():
            if typ == "table" and pkg.has(target):
                book.tables.append(_table(pkg.xml(target), name))
    return book


def cell_styles(root, formats: list[str]) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(row, col) → (number format, formula text) of every <c> of a worksheet root, empty styled
    cells too (what the template provides where a filler has typed nothing yet)."""
    ns = root.tag.rsplit("}", 1)[0] + "}" if root.tag.startswith("{") else ""
    out = {}
    for c in root.iter(ns + "c"):
        ref = c.get("r")
        if not ref:
            continue
        s = int(c.get("s") or 0)
        f = c.find(ns + "f")
        out[split_ref(ref)] = (formats[s] if s < len(formats) else "General", (f.text or None) if f is not None else None)
    return out


def read_layout(source) -> tuple[RawBook, dict[str, dict[tuple[int, int], tuple[str, str | None]]]]:
    """A package's RawBook and, per sheet, `cell_styles` of every cell: for the xlwings path's
    template hints (`source`: a path or the package's bytes)."""
    pkg = pk.Package(source)
    try:
        book = read_book(pkg)
        wb_part = workbook_part(pkg)
        rels = pkg.rels(wb_part)
        styles_path = next((t for typ, t in rels.values() if typ == "styles"), None)
        formats = number_formats(pkg.xml(styles_path)) if styles_path and pkg.has(styles_path) else ["General"]
        root = pkg.xml(wb_part)
        ns = root.tag[:-len("workbook")]
        grids = {}
        for el in root.find(ns + "sheets").iterchildren(ns + "sheet"):
            typ, target = rels.get(_rel_id(el), ("", ""))
            if typ == "worksheet" and pkg.has(target):
                grids[el.get("name", "")] = cell_styles(pkg.xml(target), formats)
        return book, grids
    finally:
        pkg.close()


_BROKEN_WHAT = {
    "XMLSyntaxError": "XML 内容格式错误", "ParseError": "XML 内容格式错误", "KeyError": "缺少必要的部件",
    "ValueError": "数据格式错误", "IndexError": "引用的数据不存在", "UnicodeDecodeError": "文字编码错误",
    "OverflowError": "数值超出范围",
}


def read_package(path) -> RawBook:
    """Read a .xlsx/.xlsm file into a RawBook; ReadError (FileKindError) with a Chinese reason."""
    pkg = pk.Package(path)
    try:
        return read_book(pkg)
    except ReadError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:   # CRC errors, cut deflate streams
        raise FileKindError(R_BROKEN, "文件不完整或已损坏（压缩数据校验失败，可能下载未完成）") from e
    except MemoryError as e:
        raise FileKindError(R_TOO_BIG, "文件数据量过大，内存不足") from e
    except Exception as e:   # any other surprise in a hostile file is still one clear reason
        what = _BROKEN_WHAT.get(type(e).__name__, type(e).__name__)
        raise FileKindError(R_BROKEN, f"工作簿内部结构损坏，无法读取（{what}）") from e
    finally:
        pkg.close()
