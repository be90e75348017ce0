"""Tell what a file really is from its first bytes (and, for a zip, its directory) before reading it.

Districts send what they have: Excel 97-2003 `.xls`, WPS `.et`, LibreOffice `.ods`, a CSV export,
a web page an online system called "Excel", a workbook with an opening password, a half-downloaded
attachment. Each of these gets one clear Chinese reason under its own FILE rule instead of a parser
error. Nothing here inflates anything or reads more than a few sectors.

`sniff_head(head, suffix)` classifies the first bytes; `classify_zip(names, read_small, suffix)`
classifies a zip package by its entry names; `classify_ole(fh, suffix)` reads the directory of an
OLE2 compound file (Excel's encrypted .xlsx and the legacy .xls/.et are all OLE2) by its entry names.

A Kind carries the FILE rule and the specific part of the reason (`detail`, "这是 .xls 旧格式（Excel
97-2003）"); the rule's text in checks/file.toml adds what to do ("{detail}，请在 Excel 中“另存为” …").
ADVICE below repeats those defaults for callers that have no rule texts at hand.
"""
from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .errors import ReadError

HEAD_BYTES = 8192

# suffixes of files that may be a district's submission: picked up in folders and reported
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
OTHER_SHEET_SUFFIXES = (".xls", ".xlsb", ".xlt", ".et", ".ett", ".ods", ".fods", ".csv", ".numbers")
CANDIDATE_SUFFIXES = WORKBOOK_SUFFIXES + OTHER_SHEET_SUFFIXES

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# rule ids (texts in checks/file.toml)
R_GENERIC = "FILE001"      # cannot be opened (permissions, vanished, …)
R_LEGACY = "FILE002"       # .xls / Excel 2003 XML
R_ENCRYPTED = "FILE003"    # opening password / rights management
R_NOT_WORKBOOK = "FILE004" # HTML, PDF, Word, image, archive, unknown bytes
R_WPS = "FILE005"          # WPS .et
R_ODS = "FILE006"          # OpenDocument .ods
R_CSV = "FILE007"          # CSV / plain text
R_EMPTY = "FILE008"        # 0 bytes, or only zero bytes
R_BROKEN = "FILE009"       # truncated or corrupt package
R_TOO_BIG = "FILE010"      # zip bomb, absurd sizes
R_XLSB = "FILE011"         # Excel binary workbook


# what to do, per rule: the default texts of checks/file.toml are "{detail}" + this
ADVICE = {
    R_GENERIC: "",
    R_LEGACY: "，请在 Excel 中“另存为” Excel 工作簿（.xlsx）后重新提交",
    R_ENCRYPTED: "，请取消密码后重新提交（Excel：文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码后保存）",
    R_NOT_WORKBOOK: "，不是 Excel 工作簿；请提交用填报模板填写的 .xlsx 文件",
    R_WPS: "，请在 WPS 中“另存为” Excel 工作簿（.xlsx）后重新提交",
    R_ODS: "，请“另存为” Excel 工作簿（.xlsx）后重新提交",
    R_CSV: "，不是填报模板；请提交用填报模板填写的 .xlsx 文件",
    R_EMPTY: "，可能保存或传输时出错，请重新提交",
    R_BROKEN: "，请重新下载，或请填报单位在 Excel 中打开确认后重新发送",
    R_TOO_BIG: "，已拒绝读取；请与填报单位核实文件来源",
    R_XLSB: "，请在 Excel 中“另存为” Excel 工作簿（.xlsx）后重新提交",
}


class FileKindError(ReadError):
    """A file that is not a readable .xlsx/.xlsm, with the FILE rule that explains why.

    `str(e)` is a complete Chinese sentence (for callers without rule texts, e.g. the add-in);
    `rule` and `params` let the runner format the bureau's own text of that rule.
    """

    def __init__(self, rule: str, detail: str):
        super().__init__(detail + ADVICE.get(rule, ""))
        self.rule = rule
        self.params = {"detail": detail}


@dataclass(frozen=True, slots=True)
class Kind:
    rule: str | None        # None: a zip package, go on and read it
    detail: str = ""

    def error(self) -> FileKindError:
        return FileKindError(self.rule or R_GENERIC, self.detail)


ZIP = Kind(None, "zip")
OLE = Kind(R_LEGACY, "ole")


# ---------------------------------------------------------------- file level

def open_checked(path) -> tuple[object, bytes]:
    """Open a regular file for reading and classify its head; return (binary file, head bytes).

    Raises FileKindError for anything that is not a zip package (the caller reads the zip)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileKindError(R_GENERIC, "文件已不存在（可能在审核过程中被移动或删除）") from None
    except OSError as e:
        raise FileKindError(R_GENERIC, f"无法访问该文件（{_os_reason(e)}）") from None
    if stat.S_ISDIR(st.st_mode):
        if not os.access(p, os.R_OK | os.X_OK):
            raise FileKindError(R_GENERIC, "无法打开该文件夹（没有权限），其中的工作簿未能审核")
        raise FileKindError(R_GENERIC, "这是一个文件夹，不是工作簿文件")
    if not stat.S_ISREG(st.st_mode):
        raise FileKindError(R_GENERIC, "这不是普通文件（可能是设备或管道），已跳过")
    try:
        fh = open(p, "rb")
    except OSError as e:
        raise FileKindError(R_GENERIC, f"无法打开该文件（{_os_reason(e)}）") from None
    try:
        head = fh.read(HEAD_BYTES)
        kind = sniff_head(head, p.suffix, size=st.st_size)
        if kind.rule is None:
            return fh, head
        if kind is OLE:
            kind = classify_ole(fh, p.suffix)
        raise kind.error()
    except BaseException:
        fh.close()
        raise


def _os_reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "没有读取权限"
    if isinstance(e, IsADirectoryError):
        return "这是一个文件夹"
    return e.strerror or type(e).__name__


def sniff_file(path) -> Kind:
    """What a file is, without raising: Kind(rule=None) for a zip package that holds a workbook."""
    import zipfile
    try:
        fh, _ = open_checked(path)
    except FileKindError as e:
        return Kind(e.rule, e.params["detail"])
    try:
        with zipfile.ZipFile(fh) as z:
            names = set(z.namelist())
            if "xl/workbook.xml" in names or any(n.startswith("xl/") and n.endswith("/workbook.xml") for n in names):
                return ZIP

            def small(n):
                i = z.getinfo(n)
                return z.read(n) if i.file_size <= 4096 else None
            return classify_zip(names, small, Path(path).suffix)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Kind(R_BROKEN, "文件不完整或已损坏（可能下载未完成）")
    finally:
        fh.close()


# ---------------------------------------------------------------- first bytes

_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片（照片或扫描件）"),
    (b"GIF87a", "GIF 图片"), (b"GIF89a", "GIF 图片"), (b"BM", None), (b"II*\x00", "TIFF 图片"),
    (b"MM\x00*", "TIFF 图片"),
)
_ARCHIVES = (
    (b"Rar!\x1a\x07", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"),
)


def sniff_head(head: bytes, suffix: str = "", size: int | None = None) -> Kind:
    """Classify a file from its first bytes. ZIP and OLE ask for a closer look at the container."""
    ext = suffix.lower()
    if size == 0 or not head:
        return Kind(R_EMPTY, "文件为空（0 字节）")
    if head.startswith(ZIP_MAGICS):
        return ZIP
    if head.startswith(OLE_MAGIC):
        return OLE
    if not head.strip(b"\x00"):
        return Kind(R_EMPTY, "文件内容全是空白字节（0x00），没有任何数据")
    if head.startswith(b"%PDF"):
        return Kind(R_NOT_WORKBOOK, "这是 PDF 文件")
    for magic, what in _IMAGES:
        if head.startswith(magic) and what:
            return Kind(R_NOT_WORKBOOK, f"这是 {what}")
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            return Kind(R_NOT_WORKBOOK, f"这是 {what}（请解压后提交其中的工作簿）")
    if head.startswith(b"{\\rtf"):
        return Kind(R_NOT_WORKBOOK, "这是 RTF 文档")
    text = _as_text(head)
    if text is not None:
        return _sniff_text(text, ext)
    return Kind(R_NOT_WORKBOOK, "文件内容无法识别（可能已损坏，或被文档加密软件加密）")


def _as_text(head: bytes) -> str | None:
    """The head decoded as text when it is text (UTF-8/16 with or without BOM, GB18030)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        s = head[2:len(head) - (len(head) % 2)].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be",
                                                       errors="replace")
        return s if s.count("\ufffd") <= 2 else None
    if b"\x00" in head:
        return None
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for enc in ("utf-8", "gb18030"):
        for cut in range(0, 4):  # the head may end inside a multi-byte character
            try:
                s = body[:len(body) - cut].decode(enc)
            except UnicodeDecodeError:
                continue
            controls = sum(1 for ch in s if ord(ch) < 32 and ch not in "\r\n\t\f")
            return s if controls <= len(s) // 100 else None
    return None


def _sniff_text(text: str, ext: str) -> Kind:
    t = text.lstrip("\ufeff \t\r\n").lower()
    renamed = "" if ext in (".htm", ".html", ".csv", ".txt", ".xml") else "改了扩展名"
    if t.startswith("mime-version:") or "content-type: multipart/related" in t[:2000]:
        return Kind(R_NOT_WORKBOOK, f"这是单个文件网页（.mht）{renamed}")
    if t.startswith("<?xml") or t.startswith("<workbook"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in t:
            return Kind(R_LEGACY, f"这是 Excel 2003 XML 表格旧格式{renamed}")
        if "<html" in t:
            return Kind(R_NOT_WORKBOOK, f"这是网页文件（HTML）{renamed}")
        if "opendocument" in t and "spreadsheet" in t:
            return Kind(R_ODS, "这是 OpenDocument 单文件表格（.fods）格式")
        return Kind(R_NOT_WORKBOOK, f"这是 XML 文本文件{renamed}")
    if t.startswith(("<!doctype html", "<html", "<head", "<meta", "<table", "<body", "<!--", "<style",
                     "<div", "<title")) or "<html" in t[:1000]:
        return Kind(R_NOT_WORKBOOK, f"这是网页文件（HTML）{renamed}"
                                    "（一些系统导出的“Excel”其实是网页）")
    if ext == ".csv":
        return Kind(R_CSV, "这是 CSV 文本文件")
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if lines and sum(("," in ln or "\t" in ln or "，" in ln) for ln in lines) >= max(1, len(lines) * 2 // 3):
        sep = "制表符" if sum("\t" in ln for ln in lines) > len(lines) // 2 else "逗号"
        return Kind(R_CSV, f"这是文本文件（{sep}分隔的数据）{renamed}")
    return Kind(R_NOT_WORKBOOK, f"这是纯文本文件{renamed}")


# ---------------------------------------------------------------- zip packages

def classify_zip(names: Iterable[str], read_small: Callable[[str], bytes | None], suffix: str = "") -> Kind:
    """A zip that holds no spreadsheetML workbook: say what it is instead."""
    names = set(names)
    ext = suffix.lower()
    if "xl/workbook.bin" in names:
        return Kind(R_XLSB, "这是 Excel 二进制工作簿（.xlsb）")
    if "mimetype" in names:
        mt = (read_small("mimetype") or b"").decode("ascii", "replace").strip()
        if mt == "application/vnd.oasis.opendocument.spreadsheet" or mt.endswith("opendocument.spreadsheet-template"):
            return Kind(R_ODS, "这是 OpenDocument 表格（.ods）格式")
        if "opendocument.text" in mt:
            return Kind(R_NOT_WORKBOOK, "这是 OpenDocument 文本文档（.odt）")
        if "opendocument" in mt:
            return Kind(R_NOT_WORKBOOK, "这是 OpenDocument 文档（不是表格）")
        if "epub" in mt:
            return Kind(R_NOT_WORKBOOK, "这是电子书（EPUB）")
    if "word/document.xml" in names:
        return Kind(R_NOT_WORKBOOK, "这是 Word 文档（.docx）")
    if "ppt/presentation.xml" in names:
        return Kind(R_NOT_WORKBOOK, "这是 PowerPoint 演示文稿（.pptx）")
    if any(n.startswith("Index/") and n.endswith(".iwa") for n in names):
        return Kind(R_NOT_WORKBOOK, "这是 Apple Numbers 表格")
    if "Doc_Content.xml" in names or any(n.lower().endswith(".ofd") for n in names) or "OFD.xml" in names:
        return Kind(R_NOT_WORKBOOK, "这是 OFD 版式文件")
    if ext == ".et":
        return Kind(R_WPS, "这是 WPS 表格 .et 格式")
    inner = sorted(n for n in names if n.lower().endswith((".xlsx", ".xlsm", ".xls")))
    if inner:
        return Kind(R_NOT_WORKBOOK, f"这是 zip 压缩包（内含 {inner[0]}，请解压后提交其中的工作簿）")
    return Kind(R_NOT_WORKBOOK, "这是 zip 压缩包")


# ---------------------------------------------------------------- OLE2 compound files

ENDOFCHAIN, FREESECT = 0xFFFFFFFE, 0xFFFFFFFF
MAX_CHAIN = 1 << 16          # sectors followed in one chain (directory / stream head)


class _OleError(Exception):
    pass


class OleDirectory:
    """The directory of an OLE2 compound file, read with bounded seeks (never the whole file)."""

    def __init__(self, fh):
        self.fh = fh
        fh.seek(0, os.SEEK_END)
        fsize = fh.tell()
        fh.seek(0)
        hdr = fh.read(512)
        if len(hdr) < 512 or not hdr.startswith(OLE_MAGIC):
            raise _OleError("short header")
        shift = struct.unpack_from("<H", hdr, 30)[0]
        if shift not in (9, 12):
            raise _OleError("sector size")
        self.ssize = ssize = 1 << shift
        n_fat, first_dir = struct.unpack_from("<II", hdr, 44)
        first_difat, n_difat = struct.unpack_from("<II", hdr, 68)
        self.max_sect = fsize // ssize
        if n_fat > self.max_sect + 1:
            raise _OleError("fat count")
        fat_sids = list(struct.unpack_from("<109I", hdr, 76))[:n_fat]
        sid, hops, per = first_difat, 0, ssize // 4 - 1
        while len(fat_sids) < n_fat and sid not in (ENDOFCHAIN, FREESECT) and hops <= n_difat:
            block = struct.unpack(f"<{per + 1}I", self.sector(sid))
            fat_sids.extend(block[:per])
            sid, hops = block[per], hops + 1
        self.fat: list[int] = []
        for s in fat_sids[:n_fat]:
            if s not in (ENDOFCHAIN, FREESECT):
                self.fat.extend(struct.unpack(f"<{ssize // 4}I", self.sector(s)))
        self.entries: dict[str, tuple[int, int, int]] = {}   # name → (type, start, size)
        for s in self.chain(first_dir, 4096):
            data = self.sector(s)
            for off in range(0, ssize, 128):
                e = data[off:off + 128]
                nlen, typ = struct.unpack_from("<HB", e, 64)
                if typ == 0 or not 2 <= nlen <= 64:
                    continue
                start, size = struct.unpack_from("<IQ", e, 116)
                self.entries[e[:nlen - 2].decode("utf-16-le", "replace")] = (typ, start, size)
        if not self.entries:
            raise _OleError("empty directory")

    def sector(self, sid: int) -> bytes:
        if sid > self.max_sect:
            raise _OleError("sector out of range")
        self.fh.seek((sid + 1) * self.ssize)
        return self.fh.read(self.ssize).ljust(self.ssize, b"\x00")

    def chain(self, start: int, limit: int):
        s, n = start, 0
        while s < len(self.fat) and n < limit:
            yield s
            s, n = self.fat[s], n + 1

    def find(self, *names: str) -> str | None:
        low = {n.lower(): n for n in self.entries}
        return next((low[n] for n in names if n in low), None)

    def stream_head(self, name: str, n: int = 65536) -> bytes:
        """The first bytes of a stream stored in regular sectors (size ≥ 4096), else b''."""
        typ, start, size = self.entries[name]
        if size < 4096:
            return b""   # in the mini stream: too small to matter here
        want = min(size, n)
        out = b"".join(self.sector(s) for s in self.chain(start, -(-want // self.ssize)))
        return out[:want]


def _xls_has_filepass(stream: bytes) -> bool:
    """BIFF8 workbook globals: a FILEPASS record (0x002F) before the first EOF means a password."""
    pos = 0
    while pos + 4 <= len(stream):
        rid, ln = struct.unpack_from("<HH", stream, pos)
        if rid == 0x002F:
            return True
        if rid == 0x000A and pos:  # EOF of the globals substream
            return False
        pos += 4 + ln
    return False


def classify_ole(fh, suffix: str = "") -> Kind:
    """Encrypted OOXML (EncryptedPackage), legacy .xls / .et (Workbook stream), Word, PowerPoint …"""
    ext = suffix.lower()
    try:
        ole = OleDirectory(fh)
    except (_OleError, struct.error, OSError, ValueError, IndexError):
        fh.seek(0)
        raw = fh.read(4 * 1024 * 1024)
        if "EncryptedPackage".encode("utf-16-le") in raw or "EncryptionInfo".encode("utf-16-le") in raw:
            return _encrypted()
        if ext in (".et", ".ett"):
            return Kind(R_WPS, "这是 WPS 表格 .et 格式（文件可能已损坏）")
        return Kind(R_LEGACY, "这是 .xls 旧格式（Excel 97-2003；文件可能已损坏）")
    if ole.find("encryptedpackage", "encryptioninfo"):
        return _encrypted()
    book = ole.find("workbook", "book")
    if book is not None:
        try:
            if _xls_has_filepass(ole.stream_head(book)):
                return _encrypted(legacy=True)
        except (_OleError, struct.error, OSError):
            pass
        if ext in (".et", ".ett"):
            return Kind(R_WPS, "这是 WPS 表格 .et 格式")
        return Kind(R_LEGACY, "这是 .xls 旧格式（Excel 97-2003）" + _renamed(ext, ".xls"))
    if ole.find("worddocument"):
        return Kind(R_NOT_WORKBOOK, "这是 Word 97-2003 文档（.doc/.wps）")
    if ole.find("powerpoint document"):
        return Kind(R_NOT_WORKBOOK, "这是 PowerPoint 97-2003 演示文稿（.ppt）")
    if ext in (".et", ".ett"):
        return Kind(R_WPS, "这是 WPS 表格 .et 格式")
    return Kind(R_NOT_WORKBOOK, "这是 Office 97-2003 格式的文件（不是工作簿）")


def _renamed(ext: str, real: str) -> str:
    return "" if ext in (real, ".xlt", "") else f"，扩展名却是 {ext}"


def _encrypted(legacy: bool = False) -> Kind:
    if legacy:
        return Kind(R_ENCRYPTED, "文件已加密（.xls 旧格式并设置了打开密码）")
    return Kind(R_ENCRYPTED, "文件已加密")
