"""The zip package of an .xlsx/.xlsm, opened with guards, and its parts parsed by a hardened lxml.

What the file really is is checked first (sniff); declared sizes before anything is inflated; every
inflate is bounded by the declared size and the limits, so a part whose header lies cannot inflate
past them either. XML is parsed without entity resolution, network or huge-tree mode, and a part
that declares a DTD is refused (Excel never writes one).
"""
from __future__ import annotations

import io
import posixpath
import struct
import zipfile

from lxml import etree

from ..sniff import R_BROKEN, R_ENCRYPTED, R_TOO_BIG, FileKindError, open_checked


# Zip-bomb guards: declared sizes are checked before anything is inflated, and every inflate is
# bounded by them. A sheet part of 120 MB is some 280,000 filled table rows (seconds to read);
# 2 million stored cells keep one workbook's model near 1 GB (a 100,000-row table is 1 million).
MAX_PART_BYTES = 120 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 10_000
MAX_CELLS = 2_000_000
FAST_MAX_FILE = 64 * 1024 * 1024   # files up to this size are read into memory in one go

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                         remove_comments=True, remove_pis=True)

_DTD = "文件已损坏或被篡改（部件 {} 含有 Excel 不会写入的 DTD 声明）"


def parse_xml(data: bytes, name: str = "") -> etree._Element:
    """The root element of one part (BOM, UTF-16 and namespace prefixes are the parser's job)."""
    root = etree.fromstring(data, PARSER)
    if root.getroottree().docinfo.doctype:
        raise FileKindError(R_BROKEN, _DTD.format(name))
    return root


def local(tag) -> str:
    """'{ns}sheet' → 'sheet' (comments and PIs have no string tag)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def rels_path(part: str) -> str:
    d, base = posixpath.split(part)
    return posixpath.join(d, "_rels", base + ".rels")


def resolve_target(source_part: str, target: str) -> str:
    """A relationship target as an absolute part name without the leading '/'."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def parse_rels(data: bytes, part: str, name: str = "") -> list[tuple[str, str, str, bool]]:
    """(Id, Type, target, external) of each relationship; internal targets made absolute."""
    out = []
    for r in parse_xml(data, name).iter("{*}Relationship"):
        external = r.get("TargetMode") == "External"
        target = r.get("Target", "")
        out.append((r.get("Id", ""), r.get("Type", ""),
                    target if external else resolve_target(part, target), external))
    return out


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


class Package:
    """A zip package opened with guards (see the module docstring)."""

    def __init__(self, path):
        """`path`: a file (sniffed first), or the package's bytes."""
        self.path = path if not isinstance(path, (bytes, bytearray)) else "<bytes>"
        if isinstance(path, (bytes, bytearray)):
            fh = io.BytesIO(path)
        else:
            fh, _head = open_checked(path)      # FileKindError for .xls, .et, .ods, CSV, HTML, empty …
        self.inflated = 0
        self.cells_read = 0
        try:
            fh.seek(0, io.SEEK_END)
            if fh.tell() <= FAST_MAX_FILE:
                fh.seek(0)
                data = fh.read()
                fh.close()
                fh = io.BytesIO(data)
            self._fh = fh
            _check_zip_directory(fh)
            try:
                self.zf = zipfile.ZipFile(fh)
            except (zipfile.BadZipFile, EOFError, ValueError, struct.error, OSError) as e:
                raise FileKindError(R_BROKEN, "文件不完整或已损坏（可能下载未完成）") from e
            entries = self.zf.infolist()
            if len(entries) > MAX_ENTRIES:
                raise FileKindError(R_TOO_BIG, f"文件内部包含 {len(entries)} 个部件，数量异常")
            self.infos = {i.filename: i for i in entries}
            # part names are case-insensitive (OPC); zip names are not
            self._lower = {n.lower(): n for n in self.infos}
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

    def name_of(self, part: str) -> str | None:
        """The zip entry holding a part (exact name first, then ignoring case)."""
        if part in self.infos:
            return part
        return self._lower.get(part.lower())

    def has(self, part: str) -> bool:
        return self.name_of(part) is not None

    def read(self, part: str) -> bytes:
        name = self.name_of(part)
        if name is None:
            raise KeyError(part)
        info = self.infos[name]
        if info.flag_bits & 0x1:
            raise FileKindError(R_ENCRYPTED, "文件已加密（压缩包设置了密码）")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileKindError(R_BROKEN, f"文件已损坏或由不兼容的软件生成（部件 {name} 的压缩方式无法识别）")
        limit = min(info.file_size + 1024, MAX_PART_BYTES)
        with self.zf.open(info) as fh:
            out = fh.read(limit + 1)       # zipfile checks the CRC when it reaches the end
        head = out[:4096]
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise FileKindError(R_BROKEN, _DTD.format(name))
        if len(out) > limit:
            raise FileKindError(R_TOO_BIG, f"文件内部数据异常（{name} 的实际大小超过其声明的大小）")
        self.inflated += len(out)
        if self.inflated > MAX_TOTAL_BYTES:
            raise FileKindError(R_TOO_BIG, "文件解压后的数据量超出上限")
        if len(out) != info.file_size:
            raise zipfile.BadZipFile(f"size mismatch for {name!r}")
        return out

    def xml(self, part: str) -> etree._Element:
        return parse_xml(self.read(part), part)

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """rId → (type suffix, absolute target) of a part's internal relationships."""
        rp = rels_path(part) if part else "_rels/.rels"
        if not self.has(rp):
            return {}
        return {rid: (typ.rsplit("/", 1)[-1], target)
                for rid, typ, target, external in parse_rels(self.read(rp), part, rp) if not external}

    def close(self):
        try:
            self.zf.close()
        finally:
            self._fh.close()
