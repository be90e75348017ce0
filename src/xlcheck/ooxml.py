"""Read the parts of an .xlsx/.xlsm package the checker needs, straight from the zip.

Only workbook.xml, its rels, styles, shared strings, the sheets and their tables are parsed,
with the C-accelerated ElementTree; no cached value is trusted later, but all are kept.
"""
from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta
from xml.etree.ElementTree import fromstring, iterparse

from .errors import ReadError
from .sniff import R_BROKEN, R_ENCRYPTED, R_TOO_BIG, FileKindError, classify_zip, open_checked
from . import sheetxml
from .model import Cell, ErrorValue
from .numbers import format_decimals

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
M = "{%s}" % NS_MAIN

# Zip-bomb guards: declared sizes are checked before anything is inflated, and every inflate is
# bounded by them. A sheet part of 120 MB is some 280,000 filled table rows (seconds to read);
# 2 million stored cells keep one workbook's model near 1 GB (a 100,000-row table is 1 million).
MAX_PART_BYTES = 120 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 10_000
MAX_CELLS = 2_000_000

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


@lru_cache(maxsize=256)
def _is_date_format(fmt: str) -> bool:
    if fmt in ("General", "@"):
        return False
    return bool(_DATE_RE.search(_STRIP_RE.sub("", fmt.split(";", 1)[0])))


class _Entry:
    """One central-directory record (the ZipInfo attributes the reader uses)."""
    __slots__ = ("filename", "file_size", "compress_size", "flag_bits", "compress_type", "CRC",
                 "header_offset", "raw_name")

    def __init__(self, filename, file_size, compress_size, flag_bits, compress_type, crc, offset, raw_name):
        self.filename, self.file_size, self.compress_size = filename, file_size, compress_size
        self.flag_bits, self.compress_type, self.CRC = flag_bits, compress_type, crc
        self.header_offset, self.raw_name = offset, raw_name


_EOCD = struct.Struct("<4s4H2LH")
_CDIR = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
FAST_MAX_FILE = 64 * 1024 * 1024   # larger files stream through zipfile instead of memory


def _directory(data: bytes) -> list[_Entry] | None:
    """The central directory of a plain zip held in memory; None when zipfile must handle it
    (zip64, data prepended to the archive, a multi-disk or odd record)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if at < 0 or at + 22 > len(data):
        return None
    _sig, disk, _d2, _n_here, count, cd_size, cd_off, _clen = _EOCD.unpack_from(data, at)
    if disk or count == 0xFFFF or cd_off == 0xFFFFFFFF or cd_off + cd_size != at:
        return None
    out, pos, size = [], cd_off, _CDIR.size
    for _ in range(count):
        if pos + size > at:
            return None
        (sig, _v1, _v2, _v3, _v4, flags, method, _t, _dt, crc, csize, usize,
         nlen, xlen, clen, _disk, _ia, _ea, off) = _CDIR.unpack_from(data, pos)
        if sig != b"PK\x01\x02" or 0xFFFFFFFF in (csize, usize, off):
            return None
        raw = data[pos + size:pos + size + nlen]
        name = raw.decode("utf-8" if flags & 0x800 else "cp437")
        name = name.split("\x00", 1)[0]
        out.append(_Entry(name, usize, csize, flags, method, crc, off, raw))
        pos += size + nlen + xlen + clen
    return out


class Package:
    """A zip package opened with guards: what the file really is is checked first (sniff), declared
    sizes before anything is inflated, and every inflate is bounded by the declared size and the
    limits, so a part whose header lies cannot inflate past them either.

    Files up to FAST_MAX_FILE are read into memory and inflated with zlib directly (zipfile's
    per-part file objects cost more than the inflating); others go through zipfile."""

    def __init__(self, path):
        self.path = path
        fh, _head = open_checked(path)          # FileKindError for .xls, .et, .ods, CSV, HTML, empty …
        self._fh = fh
        self.inflated = 0
        self.cells_read = 0
        self.zf = None
        self._data = None
        try:
            fh.seek(0, io.SEEK_END)
            entries = None
            if fh.tell() <= FAST_MAX_FILE:
                fh.seek(0)
                data = fh.read()
                entries = _directory(data)
                if entries is not None:
                    self._data = data
            if entries is None:
                _check_zip_directory(fh)
                try:
                    self.zf = zipfile.ZipFile(fh)
                except (zipfile.BadZipFile, EOFError, ValueError, struct.error, OSError) as e:
                    raise FileKindError(R_BROKEN, "文件不完整或已损坏（可能下载未完成）") from e
                entries = self.zf.infolist()
            if len(entries) > MAX_ENTRIES:
                raise FileKindError(R_TOO_BIG, f"文件内部包含 {len(entries)} 个部件，数量异常")
            self.infos = {i.filename: i for i in entries}
            total = 0
            for i in entries:
                total += i.file_size
                ratio = i.file_size / max(i.compress_size, 1)
                if i.file_size > MAX_PART_BYTES or (i.file_size > 10_000_000 and ratio > MAX_RATIO):
                    raise FileKindError(R_TOO_BIG, f"文件内部数据异常庞大（{i.filename} 解压后 "
                                                   f"{i.file_size // 1_000_000} MB）")
            if total > MAX_TOTAL_BYTES:
                raise FileKindError(R_TOO_BIG, f"文件解压后总大小 {total // 1_000_000} MB，超出上限")
        except BaseException:
            fh.close()
            raise

    def _info(self, name: str):
        i = self.infos[name]
        if i.flag_bits & 0x1:
            raise FileKindError(R_ENCRYPTED, "文件已加密（压缩包设置了密码）")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileKindError(R_BROKEN, f"文件已损坏或由不兼容的软件生成（部件 {name} 的压缩方式无法识别）")
        return i

    def has(self, name: str) -> bool:
        return name in self.infos

    def read(self, name: str) -> bytes:
        if self._data is None:
            with self.open(name) as fh:
                return fh.read()
        info = self._info(name)
        data, off = self._data, info.header_offset
        if off + _LOCAL.size > len(data):
            raise zipfile.BadZipFile("truncated local header")
        sig, _v1, _v2, _flags, _m, _t, _d, _crc, _cs, _us, nlen, xlen = _LOCAL.unpack_from(data, off)
        start = off + _LOCAL.size
        if sig != b"PK\x03\x04" or data[start:start + nlen] != info.raw_name:
            raise zipfile.BadZipFile(f"bad local header for {name}")
        start += nlen + xlen
        comp = data[start:start + info.compress_size]
        if len(comp) < info.compress_size:
            raise zipfile.BadZipFile(f"truncated part {name}")
        limit = min(info.file_size + 1024, MAX_PART_BYTES)
        if info.compress_type == zipfile.ZIP_STORED:
            out = comp
        else:
            d = zlib.decompressobj(-15)
            out = d.decompress(comp, limit + 1)
            if len(out) <= limit and not d.eof:
                raise zipfile.BadZipFile(f"truncated deflate stream in {name}")
        if b"<!DOCTYPE" in out[:4096] or b"<!ENTITY" in out[:4096]:
            raise FileKindError(R_BROKEN, f"文件已损坏或被篡改（部件 {name} 含有 Excel 不会写入的 DTD 声明）")
        if len(out) > limit:
            raise FileKindError(R_TOO_BIG, f"文件内部数据异常（{name} 的实际大小超过其声明的大小）")
        self.inflated += len(out)
        if self.inflated > MAX_TOTAL_BYTES:
            raise FileKindError(R_TOO_BIG, "文件解压后的数据量超出上限")
        if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {name!r}")
        return out

    def open(self, name: str):
        if self._data is not None:
            return io.BytesIO(self.read(name))
        info = self._info(name)
        return _BoundedPart(self, self.zf.open(info), info)

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """rId → (type suffix, absolute target) for a part."""
        d, base = posixpath.split(part)
        rel_path = posixpath.join(d, "_rels", base + ".rels")
        if not self.has(rel_path):
            return {}
        out = {}
        for r in _elements(self.read(rel_path), "Relationship"):
            target = r.get("Target", "")
            if r.get("TargetMode") == "External":
                continue
            absolute = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(d, target))
            out[r.get("Id")] = (r.get("Type", "").rsplit("/", 1)[-1], absolute)
        return out

    def close(self):
        try:
            if self.zf is not None:
                self.zf.close()
        finally:
            self._fh.close()
            self._data = None


class _BoundedPart(io.RawIOBase):
    """A part being inflated: never more than its declared size (+ slack), the part and package
    limits; the first bytes must not declare a DTD (entity expansion has no place in OOXML)."""

    def __init__(self, pkg: Package, raw, info: zipfile.ZipInfo):
        self.pkg, self.raw, self.name = pkg, raw, info.filename
        self.limit = min(info.file_size + 1024, MAX_PART_BYTES)
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read(self, n: int = -1) -> bytes:
        want = self.limit + 1 - self.count if n is None or n < 0 else min(n, self.limit + 1 - self.count)
        data = self.raw.read(max(want, 1)) if want > 0 else self.raw.read(1)
        if self.count == 0 and data and (b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]):
            raise FileKindError(R_BROKEN, f"文件已损坏或被篡改（部件 {self.name} 含有 Excel 不会写入的 DTD 声明）")
        self.count += len(data)
        self.pkg.inflated += len(data)
        if self.count > self.limit:
            raise FileKindError(R_TOO_BIG, f"文件内部数据异常（{self.name} 的实际大小超过其声明的大小）")
        if self.pkg.inflated > MAX_TOTAL_BYTES:
            raise FileKindError(R_TOO_BIG, "文件解压后的数据量超出上限")
        return data

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def _check_zip_directory(fh) -> None:
    """The entry count from the end-of-central-directory record, before zipfile builds its list."""
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 22 + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        fh.seek(0)
        raise FileKindError(R_BROKEN, "文件不完整或已损坏（可能下载未完成）")
    entries = struct.unpack_from("<H", tail, at + 10)[0]
    if entries != 0xFFFF and entries > MAX_ENTRIES:
        raise FileKindError(R_TOO_BIG, f"文件内部包含 {entries} 个部件，数量异常")
    fh.seek(0)


_SELF_C = re.compile(r"<c [^>]*/>")
_SELF_SI = re.compile(r"<si/>")


def _paired(xml: str, open_tag: str, close_tag: str, self_closing: re.Pattern) -> bool:
    """Every opening tag has its closing tag (counted in linear time). The regex scan assumes it:
    thousands of unclosed `<c …>` would make its lazy matches quadratic (minutes for a 1 MB part),
    so a part that fails this goes to the validating parser instead (a clear FILE009)."""
    opened = xml.count(open_tag)
    closed = xml.count(close_tag)
    if opened == closed:
        return True
    return opened == closed + len(self_closing.findall(xml))


def _shared_strings(pkg: Package, path: str | None) -> list[str]:
    if not path or not pkg.has(path):
        return []
    xml = pkg.read(path).decode("utf-8")
    if not sheetxml.uses_prefixes(xml) and _paired(xml, "<si>", "</si>", _SELF_SI):
        return sheetxml.shared_strings(xml)
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
    data = pkg.read(path)
    custom = {}
    for f in _elements(data, "numFmt"):
        custom[int(f.get("numFmtId"))] = f.get("formatCode", "General")
    ids = _xf_format_ids(data)
    return [custom.get(i) or BUILTIN_FORMATS.get(i, "General") for i in ids] or ["General"]


_XF_FMT = re.compile(r'<xf\b(?:[^>]*?\snumFmtId="(\d+)")?')


def _xf_format_ids(data: bytes) -> list[int]:
    """numFmtId of each cellXfs entry: one findall over the block (a styles part has hundreds of
    attributes; only this one matters)."""
    xml = data.decode("utf-8")
    a = xml.find("<cellXfs")
    b = xml.find("</cellXfs>", a)
    if a >= 0 and b >= 0 and "='" not in xml and not sheetxml.uses_prefixes(xml):
        return [int(i) if i else 0 for i in _XF_FMT.findall(xml, a, b)]
    return [int(xf.get("numFmtId", "0")) for xf in _elements(data, "xf", within="cellXfs")]


_ATTR = re.compile(r'([\w:.-]+)="([^"<]*)"')
_R_DECL = f'xmlns:r="{NS_REL}"'
_TAGS: dict[str, re.Pattern] = {}



def _elements(data: bytes, local: str, within: str | None = None) -> list[dict[str, str]]:
    """The attributes of every `<local …>` element (inside `<within>` when given) of a small part.

    Package parts (rels, styles, tables, workbook) written without namespace prefixes and with
    double-quoted attributes are matched with a regular expression; anything else (prefixes, single
    quotes, relationship ids under another prefix) goes through ElementTree, which also reports
    malformed XML. Keys are local names, and `r:id` for a relationship id."""
    xml = data.decode("utf-8")
    if (not sheetxml.uses_prefixes(xml) and "='" not in xml and "<!--" not in xml
            and (":id=" not in xml or _R_DECL in xml)):
        if within is not None:
            a = xml.find("<" + within)
            b = xml.find("</" + within + ">", a)
            if a < 0 or b < 0:
                return []
            xml = xml[a:b]
        pattern = _TAGS.get(local) or _TAGS.setdefault(local, re.compile(r"<%s\b([^>]*)>" % local))
        if "&" not in xml:
            return [dict(_ATTR.findall(a)) for a in pattern.findall(xml)]
        return [{k: sheetxml.unescape(v) for k, v in _ATTR.findall(a)} for a in pattern.findall(xml)]
    root = fromstring(data)
    if within is not None:
        root = root.find(M + within)
        if root is None:
            return []
    out = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == local:
            out.append({("r:id" if k == "{%s}id" % NS_REL else k.rsplit("}", 1)[-1]): v for k, v in el.attrib.items()})
    return out


def _read_sheet(pkg: Package, path: str, sheet: str, strings: list[str], formats: list[str]) -> dict:
    xml = pkg.read(path).decode("utf-8")
    if xml.count("</c>") + pkg.cells_read > MAX_CELLS:   # memory guard before building any Cell
        raise FileKindError(R_TOO_BIG, f"工作簿中填写的单元格超过 {MAX_CELLS:,} 个，数据量异常")
    if not sheetxml.uses_prefixes(xml) and xml.find(' r="', 0, 20000) >= 0:
        simple = sheetxml.scan_simple(xml)
        if simple is not None:
            cells = sheetxml.cells_of_simple(simple, sheet, strings, formats, _is_date_format, EXCEL_EPOCH)
            pkg.cells_read += len(cells)
            return cells
        if _paired(xml, "<c ", "</c>", _SELF_C):
            cells = sheetxml.scan_general(xml, sheet, strings, formats, _is_date_format, EXCEL_EPOCH)
            pkg.cells_read += len(cells)
            return cells
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
                    if len(cells) + pkg.cells_read > MAX_CELLS:   # memory guard, once per row
                        raise FileKindError(R_TOO_BIG, f"工作簿中填写的单元格超过 {MAX_CELLS:,} 个，数据量异常")
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
                    if num - num != 0:  # NaN / inf: no office suite writes them
                        raise ValueError(raw)
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
    pkg.cells_read += len(cells)
    return cells


_DEFINED = re.compile(r"<definedName\b([^>]*?)(?:/>|>([^<]*)</definedName>)")


def _defined_names(data: bytes) -> list[tuple[str, str | None, str]]:
    """(name, localSheetId, text) of each defined name in workbook.xml."""
    xml = data.decode("utf-8")
    if not sheetxml.uses_prefixes(xml) and "='" not in xml and "<!--" not in xml:
        out = []
        for attrs, text in _DEFINED.findall(xml):
            a = dict(_ATTR.findall(attrs))
            name = a.get("name", "")
            out.append((sheetxml.unescape(name), a.get("localSheetId"), sheetxml.unescape(text)))
        if len(out) == xml.count("<definedName ") + xml.count("<definedName>"):
            return out
    root = fromstring(data)
    dn = root.find(M + "definedNames")
    return [(d.get("name", ""), d.get("localSheetId"), d.text or "") for d in (dn if dn is not None else [])]


def _read_table(pkg: Package, path: str, sheet: str) -> RawTable | None:
    data = pkg.read(path)
    head = _elements(data, "table")
    t = head[0] if head else {}
    names = [c.get("name", "") for c in _elements(data, "tableColumn", within="tableColumns")]
    return RawTable(t.get("displayName") or t.get("name") or "", sheet, t.get("ref", ""), names)


def read_package(path) -> RawBook:
    pkg = Package(path)
    try:
        return _read(pkg)
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


_BROKEN_WHAT = {
    "ParseError": "XML 内容格式错误", "KeyError": "缺少必要的部件", "ValueError": "数据格式错误",
    "IndexError": "引用的数据不存在", "UnicodeDecodeError": "文字编码错误", "OverflowError": "数值超出范围",
}


def _workbook_part(pkg: Package) -> str:
    for typ, target in pkg.rels("").values():  # the package rels: _rels/.rels
        if typ == "officeDocument" and pkg.has(target):
            return target
    if pkg.has("xl/workbook.xml"):
        return "xl/workbook.xml"
    raise classify_zip(pkg.infos, lambda n: _small(pkg, n), posixpath.splitext(str(pkg.path))[1]).error()


def _small(pkg: Package, name: str) -> bytes | None:
    info = pkg.infos.get(name)
    if info is None or info.file_size > 4096:
        return None
    try:
        return pkg.read(name)
    except Exception:
        return None


def _read(pkg: Package) -> RawBook:
    wb_part = _workbook_part(pkg)
    rels = pkg.rels(wb_part)
    strings_path = next((t for typ, t in rels.values() if typ == "sharedStrings"), None)
    styles_path = next((t for typ, t in rels.values() if typ == "styles"), None)
    strings = _shared_strings(pkg, strings_path)
    formats = _styles(pkg, styles_path)
    data = pkg.read(wb_part)
    book = RawBook(vba=any(n.endswith("vbaProject.bin") for n in pkg.infos))
    sheet_parts = []
    for el in _elements(data, "sheet", within="sheets"):
        name = el.get("name", "")
        book.sheets.append(name)
        typ, target = rels.get(el.get("r:id"), ("", ""))
        sheet_parts.append((name, target if typ == "worksheet" else None))
    for name, lid, text in _defined_names(data):
        book.names.append(DefinedName(name, text.strip(), int(lid) if lid is not None else None))
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
