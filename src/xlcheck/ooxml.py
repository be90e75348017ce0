"""Read the parts of an .xlsx/.xlsm package the checker needs, straight from the zip.

Only workbook.xml, its rels, styles, shared strings, the sheets and their tables are parsed,
with the C-accelerated ElementTree; no cached value is trusted later, but all are kept.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.etree.ElementTree import ParseError, fromstring, iterparse

from .errors import ReadError
from .model import Cell, ErrorValue
from .numbers import format_decimals

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
M = "{%s}" % NS_MAIN

# Zip-bomb guards: declared sizes are checked before anything is inflated.
MAX_PART_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200

BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
    11: "0.00E+00", 12: "# ?/?", 13: "# ??/??", 14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm",
    17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
    22: "yyyy-mm-dd h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)",
    39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss",
    47: "mmss.0", 48: "##0.0E+0", 49: "@",
}
_DATE_RE = re.compile(r"[ymdhs]", re.I)
_STRIP_RE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
_REF_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
EXCEL_EPOCH = datetime(1899, 12, 30)


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_ref(ref: str) -> tuple[int, int]:
    """'C5' → (5, 3)."""
    m = _REF_RE.match(ref.upper())
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), col_index(m.group(1))


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """'A4:J44' → (min_row, min_col, max_row, max_col)."""
    a, _, b = ref.replace("$", "").partition(":")
    r0, c0 = split_ref(a)
    r1, c1 = split_ref(b) if b else (r0, c0)
    return r0, c0, r1, c1


@dataclass(slots=True)
class DefinedName:
    name: str
    text: str                   # e.g. "'基本信息'!$C$5"
    local_sheet: int | None = None


@dataclass(slots=True)
class RawTable:
    name: str                   # display name as written
    sheet: str
    ref: str
    columns: list[str]


@dataclass(slots=True)
class RawBook:
    """What any reader (file or Excel) delivers; reader.build_model turns it into the model."""
    sheets: list[str] = field(default_factory=list)
    cells: dict[str, dict[tuple[int, int], Cell]] = field(default_factory=dict)
    names: list[DefinedName] = field(default_factory=list)
    tables: list[RawTable] = field(default_factory=list)
    vba: bool = False


def _is_date_format(fmt: str) -> bool:
    if fmt in ("General", "@"):
        return False
    return bool(_DATE_RE.search(_STRIP_RE.sub("", fmt.split(";", 1)[0])))


class Package:
    def __init__(self, path):
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise ReadError("文件不是有效的 Excel 工作簿（.xlsx/.xlsm），可能已损坏或为其他格式") from e
        self.infos = {i.filename: i for i in self.zf.infolist()}
        total = 0
        for i in self.infos.values():
            total += i.file_size
            ratio = i.file_size / max(i.compress_size, 1)
            if i.file_size > MAX_PART_BYTES or (i.file_size > 10_000_000 and ratio > MAX_RATIO):
                raise ReadError(f"文件内部数据异常庞大（{i.filename} 解压后 {i.file_size // 1_000_000} MB），已拒绝读取")
        if total > MAX_TOTAL_BYTES:
            raise ReadError(f"文件解压后总大小 {total // 1_000_000} MB，超出上限，已拒绝读取")

    def has(self, name: str) -> bool:
        return name in self.infos

    def read(self, name: str) -> bytes:
        return self.zf.read(name)

    def open(self, name: str):
        return self.zf.open(name)

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """rId → (type suffix, absolute target) for a part."""
        d, base = posixpath.split(part)
        rel_path = posixpath.join(d, "_rels", base + ".rels")
        if not self.has(rel_path):
            return {}
        root = fromstring(self.read(rel_path))
        out = {}
        for r in root:
            target = r.get("Target", "")
            if r.get("TargetMode") == "External":
                continue
            absolute = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(d, target))
            out[r.get("Id")] = (r.get("Type", "").rsplit("/", 1)[-1], absolute)
        return out

    def close(self):
        self.zf.close()


def _shared_strings(pkg: Package, path: str | None) -> list[str]:
    if not path or not pkg.has(path):
        return []
    out: list[str] = []
    t_tag, si_tag, rph_tag = M + "t", M + "si", M + "rPh"
    with pkg.open(path) as fh:
        parts: list[str] = []
        skip = 0
        for ev, el in iterparse(fh, events=("start", "end")):
            tag = el.tag
            if ev == "start":
                if tag == rph_tag:
                    skip += 1
                continue
            if tag == t_tag and not skip:
                parts.append(el.text or "")
            elif tag == rph_tag:
                skip -= 1
            elif tag == si_tag:
                out.append("".join(parts))
                parts = []
                el.clear()
    return out


def _styles(pkg: Package, path: str | None) -> list[str]:
    """Number format code of each cellXfs index."""
    if not path or not pkg.has(path):
        return ["General"]
    root = fromstring(pkg.read(path))
    custom = {}
    nf = root.find(M + "numFmts")
    if nf is not None:
        for f in nf:
            custom[int(f.get("numFmtId"))] = f.get("formatCode", "General")
    xfs = root.find(M + "cellXfs")
    out = []
    if xfs is not None:
        for xf in xfs:
            fid = int(xf.get("numFmtId", "0"))
            out.append(custom.get(fid) or BUILTIN_FORMATS.get(fid, "General"))
    return out or ["General"]


def _read_sheet(pkg: Package, path: str, sheet: str, strings: list[str], formats: list[str]) -> dict:
    cells: dict[tuple[int, int], Cell] = {}
    c_tag, v_tag, f_tag, is_tag, t_tag = M + "c", M + "v", M + "f", M + "is", M + "t"
    row_tag = M + "row"
    date_cache: dict[int, bool] = {}
    row_no = 0
    col_no = 0
    with pkg.open(path) as fh:
        for ev, el in iterparse(fh, events=("start", "end")):
            tag = el.tag
            if ev == "start":
                if tag == row_tag:
                    r = el.get("r")
                    row_no = int(r) if r else row_no + 1
                    col_no = 0
                continue
            if tag != c_tag:
                if tag == row_tag:
                    el.clear()
                continue
            ref = el.get("r")
            if ref:
                row_no, col_no = split_ref(ref)
            else:
                col_no += 1
                ref = col_letters(col_no) + str(row_no)
            t = el.get("t", "n")
            s = int(el.get("s", "0"))
            fmt = formats[s] if s < len(formats) else "General"
            f_el = el.find(f_tag)
            formula = None
            if f_el is not None:
                formula = f_el.text or ""
                if not formula and f_el.get("t") == "shared":
                    formula = "(shared)"  # dependent of a shared formula: still a formula cell
            v_el = el.find(v_tag)
            raw = v_el.text if v_el is not None else None
            value = None
            if t == "s":
                if raw is not None:
                    i = int(raw)
                    value = strings[i] if i < len(strings) else None
            elif t == "inlineStr":
                is_el = el.find(is_tag)
                if is_el is not None:
                    value = "".join(x.text or "" for x in is_el.iter(t_tag))
            elif t == "str":
                value = raw if raw is not None else None
            elif t == "b":
                value = raw == "1" if raw is not None else None
            elif t == "e":
                value = ErrorValue(raw) if raw else None
            elif t == "d":
                value = raw
            elif raw is not None:
                try:
                    num = float(raw)
                except ValueError:
                    value = raw
                else:
                    is_date = date_cache.get(s)
                    if is_date is None:
                        is_date = date_cache[s] = _is_date_format(fmt)
                    if is_date:
                        try:
                            value = EXCEL_EPOCH + timedelta(days=num)
                        except OverflowError:
                            value = num
                    else:
                        value = int(num) if num.is_integer() and "." not in raw and "E" not in raw.upper() else num
            el.clear()
            if value is None and formula is None:
                continue
            if value == "" and formula is None:
                continue
            decimals, percent = format_decimals(fmt)
            cells[(row_no, col_no)] = Cell(sheet, ref, value, formula, fmt, decimals, percent)
    return cells


def _read_table(pkg: Package, path: str, sheet: str) -> RawTable | None:
    root = fromstring(pkg.read(path))
    cols = root.find(M + "tableColumns")
    names = [c.get("name", "") for c in cols] if cols is not None else []
    return RawTable(root.get("displayName") or root.get("name") or "", sheet, root.get("ref", ""), names)


def read_package(path) -> RawBook:
    pkg = Package(path)
    try:
        return _read(pkg)
    except ReadError:
        raise
    except (KeyError, ParseError, ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise ReadError(f"工作簿内部结构损坏，无法读取（{type(e).__name__}）") from e
    finally:
        pkg.close()


def _workbook_part(pkg: Package) -> str:
    for typ, target in pkg.rels("").values():  # the package rels: _rels/.rels
        if typ == "officeDocument" and pkg.has(target):
            return target
    if pkg.has("xl/workbook.xml"):
        return "xl/workbook.xml"
    raise ReadError("压缩包中没有工作簿内容，这不是 Excel 工作簿")


def _read(pkg: Package) -> RawBook:
    wb_part = _workbook_part(pkg)
    rels = pkg.rels(wb_part)
    strings_path = next((t for typ, t in rels.values() if typ == "sharedStrings"), None)
    styles_path = next((t for typ, t in rels.values() if typ == "styles"), None)
    strings = _shared_strings(pkg, strings_path)
    formats = _styles(pkg, styles_path)
    root = fromstring(pkg.read(wb_part))
    book = RawBook(vba=any(n.endswith("vbaProject.bin") for n in pkg.infos))
    sheets_el = root.find(M + "sheets")
    sheet_parts = []
    for s in (sheets_el if sheets_el is not None else []):
        name = s.get("name", "")
        rid = s.get("{%s}id" % NS_REL)
        book.sheets.append(name)
        typ, target = rels.get(rid, ("", ""))
        sheet_parts.append((name, target if typ == "worksheet" else None))
    dn = root.find(M + "definedNames")
    if dn is not None:
        for d in dn:
            lid = d.get("localSheetId")
            book.names.append(DefinedName(d.get("name", ""), (d.text or "").strip(),
                                          int(lid) if lid is not None else None))
    for name, part in sheet_parts:
        if not part or not pkg.has(part):
            book.cells[name] = {}
            continue
        book.cells[name] = _read_sheet(pkg, part, name, strings, formats)
        for typ, target in pkg.rels(part).values():
            if typ == "table" and pkg.has(target):
                t = _read_table(pkg, target, name)
                if t is not None:
                    book.tables.append(t)
    return book
