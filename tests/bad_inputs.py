"""Builders of the corpus of bad inputs (never checked in: every file is made by code).

Each builder `make_<name>(dir) -> Path` writes one file (or folder) into `dir`. `CORPUS` lists the
ones that sit together in one collected folder, with the FILE/STR rule a user must see and a
fragment of its message. `clean_workbook(dir)` is a fully valid filled template (examples/data/
clean-2024.toml), the base of the structural corruptions.
"""
from __future__ import annotations

import io
import math
import os
import random
import re
import struct
import tomllib
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLEAN_DATA = ROOT / "examples" / "data" / "clean-2024.toml"
TABLE_KEYS = ("tasks", "indicators", "scores", "problems")


# ---------------------------------------------------------------- valid bases

def clean_data() -> dict:
    with open(CLEAN_DATA, "rb") as fh:
        return tomllib.load(fh)


_CLEAN_BYTES: dict[str, bytes] = {}


def clean_bytes() -> bytes:
    """Bytes of the clean filled workbook (built once per process)."""
    if "clean" not in _CLEAN_BYTES:
        import tempfile
        from xlcheck.fill import fill
        d = clean_data()
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "clean.xlsx"
            fill(p, cells=d["cells"], tables={k: d[k] for k in TABLE_KEYS if k in d})
            _CLEAN_BYTES["clean"] = p.read_bytes()
    return _CLEAN_BYTES["clean"]


def clean_workbook(d: Path, name: str = "clean.xlsx") -> Path:
    p = Path(d) / name
    p.write_bytes(clean_bytes())
    return p


def rewrite(src: bytes, edits: dict[str, callable]) -> bytes:
    """The package with some parts rewritten (`edits[part](text) -> text`, None drops the part);
    every other part keeps its bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in edits:
                fn = edits[info.filename]
                if fn is None:
                    continue
                data = fn(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def part_of_sheet(src: bytes, sheet: str) -> str:
    """The worksheet part of a sheet name (via workbook.xml and its rels)."""
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet [^>]*name="%s"[^>]*r:id="([^"]+)"' % re.escape(sheet), wb).group(1)
    target = re.search(r'<Relationship [^>]*Id="%s"[^>]*Target="([^"]+)"' % rid, rels) or \
        re.search(r'<Relationship [^>]*Target="([^"]+)"[^>]*Id="%s"' % rid, rels)
    t = target.group(1)
    return t.lstrip("/") if t.startswith("/") else "xl/" + t


def table_part(src: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        for n in z.namelist():
            if n.startswith("xl/tables/") and f'displayName="{name}"' in z.read(n).decode():
                return n
    raise KeyError(name)


# ---------------------------------------------------------------- a tiny OLE2 (compound file) writer

FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole_file(streams: dict[str, bytes], storages: tuple[str, ...] = ()) -> bytes:
    """A version-3 compound file (512-byte sectors) holding `streams` (each padded to ≥ 4096 bytes,
    so none lives in the mini stream) and empty `storages`; the root's children form a chain of
    right siblings. Enough for any reader that walks the directory by the specification."""
    ss = 512
    data = {n: (b if len(b) >= 4096 else b.ljust(4096, b"\x00")) for n, b in streams.items()}
    entries = [("Root Entry", 5)] + [(n, 2) for n in data] + [(n, 1) for n in storages]
    dir_sectors = math.ceil(len(entries) * 128 / ss)
    counts = {n: math.ceil(len(b) / ss) for n, b in data.items()}
    total = 1 + dir_sectors + sum(counts.values())
    assert total <= ss // 4, "tiny writer: one FAT sector only"
    fat = [FREESECT] * (ss // 4)
    fat[0] = FATSECT

    def chain(start, n):
        for i in range(start, start + n - 1):
            fat[i] = i + 1
        fat[start + n - 1] = ENDOFCHAIN

    dir_start = 1
    chain(dir_start, dir_sectors)
    starts, sid = {}, dir_start + dir_sectors
    for n in data:
        starts[n] = sid
        chain(sid, counts[n])
        sid += counts[n]
    dir_bytes = b""
    for i, (name, typ) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = raw.ljust(64, b"\x00")
        right = i + 1 if 0 < i < len(entries) - 1 else NOSTREAM
        child = 1 if i == 0 and len(entries) > 1 else NOSTREAM
        start = starts.get(name, ENDOFCHAIN) if typ == 2 else (ENDOFCHAIN if typ == 5 else 0)
        size = len(data[name]) if typ == 2 else 0
        e += struct.pack("<HBBIII", len(raw), typ, 1, NOSTREAM, right, child)
        e += b"\x00" * 16 + struct.pack("<I", 0) + b"\x00" * 16 + struct.pack("<IQ", start, size)
        assert len(e) == 128
        dir_bytes += e
    dir_bytes = dir_bytes.ljust(dir_sectors * ss, b"\x00")
    hdr = bytearray(ss)
    hdr[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", hdr, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", hdr, 40, 0, 1, dir_start, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    struct.pack_into("<109I", hdr, 76, 0, *([FREESECT] * 108))
    body = struct.pack(f"<{ss // 4}I", *fat) + dir_bytes
    for n, b in data.items():
        body += b.ljust(counts[n] * ss, b"\x00")
    return bytes(hdr) + body


def biff_record(rid: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", rid, len(payload)) + payload


def biff_workbook(password: bool = False) -> bytes:
    """The start of a BIFF8 workbook globals substream (BOF [FILEPASS] CODEPAGE … EOF)."""
    bof = biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x2775, 0x07CD, 0, 0))
    filepass = biff_record(0x002F, struct.pack("<HHH", 1, 1, 1) + os.urandom(48)) if password else b""
    codepage = biff_record(0x0042, struct.pack("<H", 1200))
    filler = b"".join(biff_record(0x003C, b"\x00" * 100) for _ in range(45))   # CONTINUE records: size
    return bof + filepass + codepage + filler + biff_record(0x000A)


# ---------------------------------------------------------------- raw zip writer (for lying headers)

def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, stored bytes, method, crc, declared uncompressed size) exactly as given."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, blob, method, crc, size in entries:
        nb = name.encode()
        off = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0x21, crc, len(blob), size,
                              len(nb), 0) + nb + blob)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 0x21, crc,
                                  len(blob), size, len(nb), 0, 0, 0, 0, 0, off) + nb)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0))
    return out.getvalue()


def deflated(data: bytes) -> tuple[bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def deflated_zeros(total: int) -> tuple[bytes, int]:
    """A raw deflate stream of `total` zero bytes, built in milliseconds: one fully flushed block of
    1 MiB repeated (a full flush resets the compressor, so the blocks are independent)."""
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\x00" * mib) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(b"\x00" * mib) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    n, rest = divmod(total, mib)
    tail = c.compress(b"\x00" * rest) + c.flush(zlib.Z_FINISH)
    return block * n + tail, n


def _parts_of(src: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _bomb(src: bytes, sheet_part: str, stream: bytes, crc: int, declared: int) -> bytes:
    entries = []
    for n, b in _parts_of(src).items():
        if n == sheet_part:
            entries.append((n, stream, 8, crc, declared))
        else:
            blob, c, size = deflated(b)
            entries.append((n, blob, 8, c, size))
    return raw_zip(entries)


# ---------------------------------------------------------------- the corpus

def make_empty(d: Path) -> Path:
    p = d / "空文件.xlsx"
    p.write_bytes(b"")
    return p


def make_random(d: Path) -> Path:
    p = d / "乱码.xlsx"
    p.write_bytes(random.Random(7).randbytes(50_000))
    return p


def make_truncated(d: Path) -> Path:
    p = d / "下载未完成.xlsx"
    data = clean_bytes()
    p.write_bytes(data[: len(data) * 2 // 3])
    return p


def make_xls(d: Path) -> Path:
    p = d / "旧格式.xls"
    p.write_bytes(ole_file({"Workbook": biff_workbook(), "\x05SummaryInformation": b"\x00" * 200}))
    return p


def make_xls_renamed(d: Path) -> Path:
    p = d / "改名的旧格式.xlsx"
    p.write_bytes(ole_file({"Workbook": biff_workbook()}))
    return p


def make_xls_password(d: Path) -> Path:
    p = d / "旧格式加密.xls"
    p.write_bytes(ole_file({"Workbook": biff_workbook(password=True)}))
    return p


def make_et(d: Path) -> Path:
    p = d / "WPS表格.et"
    p.write_bytes(ole_file({"Workbook": biff_workbook(), "ETExtData": b"\x00" * 100}))
    return p


def make_ods(d: Path) -> Path:
    p = d / "开源格式.ods"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
                   '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office='
                   '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
    p.write_bytes(buf.getvalue())
    return p


def make_csv(d: Path) -> Path:
    p = d / "导出数据.csv"
    p.write_text("部门名称,被评价年度,年初预算数\n广州市某区工商业联合会,2024,480.00\n", encoding="gbk")
    return p


def make_html(d: Path) -> Path:
    p = d / "网页导出.xlsx"
    p.write_text('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
                 "<body><table><tr><td>部门名称</td><td>某区工商联</td></tr></table></body></html>",
                 encoding="utf-8")
    return p


def make_encrypted(d: Path) -> Path:
    """What Excel writes for a workbook with an opening password: an OLE2 file, not a zip."""
    p = d / "加密工作簿.xlsx"
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<?xml version=\"1.0\"?><encryption/>"
    p.write_bytes(ole_file({"EncryptionInfo": info, "EncryptedPackage": struct.pack("<Q", 9000) + os.urandom(9000)},
                           storages=("\x06DataSpaces",)))
    return p


def make_zip_bomb(d: Path) -> Path:
    """A workbook whose 绩效指标 sheet part declares (truthfully) 300 MB of zeros."""
    p = d / "压缩炸弹.xlsx"
    src = clean_bytes()
    size = 300 * (1 << 20)
    stream, _ = deflated_zeros(size)
    crc = 0
    z = b"\x00" * (1 << 20)
    for _ in range(size >> 20):
        crc = zlib.crc32(z, crc)
    p.write_bytes(_bomb(src, part_of_sheet(src, "绩效指标"), stream, crc, size))
    return p


def make_lying_bomb(d: Path) -> Path:
    """A sheet part that declares 20 kB but inflates to 300 MB: only a bounded read survives it."""
    p = d / "声明大小不实.xlsx"
    src = clean_bytes()
    stream, _ = deflated_zeros(300 * (1 << 20))
    p.write_bytes(_bomb(src, part_of_sheet(src, "绩效指标"), stream, 0x12345678, 20_000))
    return p


def make_xlsb(d: Path) -> Path:
    p = d / "二进制.xlsb"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    p.write_bytes(buf.getvalue())
    return p


def make_docx(d: Path) -> Path:
    p = d / "自评报告.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    p.write_bytes(buf.getvalue())
    return p


def make_pdf(d: Path) -> Path:
    p = d / "扫描件.xlsx"
    p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    return p


def make_billion_laughs(d: Path) -> Path:
    """Entity expansion in the shared strings: a DTD never belongs in OOXML."""
    p = d / "实体炸弹.xlsx"
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
           + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>')
    src = clean_bytes()
    parts = _parts_of(src)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in parts.items():
            z.writestr(n, b)
        z.writestr("xl/sharedStrings.xml", lol)
    data = rewrite(buf.getvalue(), {"xl/_rels/workbook.xml.rels": lambda s: s.replace(
        "</Relationships>", '<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')})
    p.write_bytes(data)
    return p


def make_corrupt_deflate(d: Path) -> Path:
    """Bytes flipped inside the compressed sheet data (a damaged disk or transfer)."""
    p = d / "数据损坏.xlsx"
    data = bytearray(clean_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(part_of_sheet(bytes(data), "绩效指标"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 10, start + min(info.compress_size, 400), 7):
        data[k] ^= 0x5A
    p.write_bytes(bytes(data))
    return p


def make_many_entries(d: Path) -> Path:
    p = d / "部件过多.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(12_000):
            z.writestr(f"x/{i}", b"")
    p.write_bytes(buf.getvalue())
    return p


def make_tsv_xls(d: Path) -> Path:
    """What some online systems call an Excel export: UTF-16 tab-separated text named .xls."""
    p = d / "系统导出.xls"
    p.write_bytes("\ufeff部门名称\t年度\t金额\n某区工商联\t2024\t480.00\n".encode("utf-16-le"))
    return p


def make_xml2003(d: Path) -> Path:
    p = d / "XML表格.xml.xls"
    p.write_text('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns='
                 '"urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"/></Workbook>',
                 encoding="utf-8")
    return p


# structural corruptions of a real filled workbook (reported by the STR rules, or read around)

def make_not_template(d: Path) -> Path:
    import openpyxl
    p = d / "普通工作簿.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["部门名称", "年初预算数", "实际支出数"])
    ws.append(["某区工商联", 480, 489.12])
    wb.save(p)
    return p


def make_deleted_sheet(d: Path) -> Path:
    """绩效指标 deleted in Excel: the sheet, its table and names are gone (names become #REF!)."""
    p = d / "删除了工作表.xlsx"
    src = clean_bytes()
    part = part_of_sheet(src, "绩效指标")
    tpart = table_part(src, "indicators")

    def wb_xml(s):
        s = re.sub(r'<sheet [^>]*name="绩效指标"[^>]*/>', "", s)
        return re.sub(r"'?绩效指标'?!\$?[A-Z]+\$?\d+(:\$?[A-Z]+\$?\d+)?", "#REF!", s)
    rels_part = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    edits = {"xl/workbook.xml": wb_xml, part: None, tpart: None, rels_part: None,
             "[Content_Types].xml": lambda s: re.sub(r'<Override [^>]*PartName="/(%s|%s)"[^>]*/>'
                                                      % (re.escape(part), re.escape(tpart)), "", s)}
    p.write_bytes(rewrite(src, edits))
    return p


def make_renamed_table(d: Path) -> Path:
    p = d / "表格被改名.xlsx"
    src = clean_bytes()
    tpart = table_part(src, "indicators")
    p.write_bytes(rewrite(src, {tpart: lambda s: s.replace('name="indicators" displayName="indicators"',
                                                           'name="表2" displayName="表2"')}))
    return p


def make_broken_name(d: Path) -> Path:
    p = d / "名称失效.xlsx"
    src = clean_bytes()
    p.write_bytes(rewrite(src, {"xl/workbook.xml": lambda s: re.sub(
        r'(<definedName name="budget_initial">)[^<]*', r"\1#REF!", s)}))
    return p


def make_circular(d: Path) -> Path:
    """budget_adjusted's formula refers to itself (Excel warns of a circular reference)."""
    from xlcheck.reader import read_workbook
    p = d / "循环引用.xlsx"
    src = clean_bytes()
    clean_workbook(d, "_tmp_circ.xlsx")
    wb = read_workbook(d / "_tmp_circ.xlsx")
    (d / "_tmp_circ.xlsx").unlink()
    cell = wb.names["budget_adjusted"]
    part = part_of_sheet(src, cell.sheet)
    pat = re.compile(r'(<c r="%s"[^>]*>)<f>[^<]*</f>' % cell.address)

    def edit(s):
        s2, n = pat.subn(r"\1<f>budget_adjusted+budget_initial</f>", s)
        assert n == 1
        return s2
    p.write_bytes(rewrite(src, {part: edit}))
    return p


def input_names() -> list[str]:
    """The defined names of SPEC 2.1 that are inputs (not formulas), from the clean data."""
    return list(clean_data()["cells"])


def make_ref_everywhere(d: Path) -> Path:
    """#REF! typed into every input cell and every table input column."""
    from xlcheck.fill import fill
    p = d / "全是REF错误.xlsx"
    data = clean_data()
    cells = {n: "#REF!" for n in input_names()}
    tables = {}
    for t in ("tasks", "indicators", "problems"):
        tables[t] = [{k: "#REF!" for k in row} for row in data.get(t, [])]
    tables["scores"] = [{"三级指标": r["三级指标"], "自评得分": "#REF!", "扣分原因": "#REF!", "改进措施": "#REF!"}
                        for r in data["scores"]]
    fill(p, cells=cells, tables=tables)
    return p


def make_huge_table(d: Path, rows: int = 100_000) -> Path:
    """`rows` filled rows appended to the indicators table (XML written directly: fast)."""
    p = d / f"指标{rows}行.xlsx"
    src = clean_bytes()
    tpart = table_part(src, "indicators")
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        tref = re.search(r'ref="A(\d+):([A-Z]+)(\d+)"', z.read(tpart).decode())
    first, last_col, last = int(tref.group(1)), tref.group(2), int(tref.group(3))
    new_last = last + rows
    kinds = [("产出指标", "数量指标"), ("效益指标", "社会效益指标"), ("满意度指标", "服务对象满意度指标")]

    def sheet(s):
        out = []
        for r in range(last + 1, new_last + 1):
            a, b = kinds[r % 3]
            out.append(
                f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{a}</t></is></c>'
                f'<c r="B{r}" t="inlineStr"><is><t>{b}</t></is></c>'
                f'<c r="C{r}" t="inlineStr"><is><t>指标{r}</t></is></c>'
                f'<c r="D{r}" t="inlineStr"><is><t>≥</t></is></c><c r="E{r}"><v>{r % 97 + 1}</v></c>'
                f'<c r="F{r}" t="inlineStr"><is><t>个</t></is></c><c r="G{r}"><v>{r % 97 + 1}</v></c>'
                f'<c r="H{r}"><f>IF(E{r}=0,"",G{r}/E{r})</f><v>1</v></c></row>')
        s = s.replace("</sheetData>", "".join(out) + "</sheetData>")
        return re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last_col}{new_last}"/>', s)

    def table(s):
        return s.replace(f"{last_col}{last}\"", f"{last_col}{new_last}\"")
    p.write_bytes(rewrite(src, {part_of_sheet(src, "绩效指标"): sheet, tpart: table}))
    return p


def make_unclosed_cells(d: Path, n: int = 20_000) -> Path:
    """Thousands of `<c>` elements never closed (malformed XML in a 1 MB part): a lazy-regex reader
    would spend minutes on it (quadratic); the validating parser rejects it at once."""
    p = d / "单元格标签未闭合.xlsx"
    src = clean_bytes()

    def edit(s):
        body = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></row>' for r in range(100, 100 + n))
        return s.replace("</sheetData>", body + "</sheetData>")
    p.write_bytes(rewrite(src, {part_of_sheet(src, "绩效指标"): edit}))
    return p


def make_unclosed_strings(d: Path, n: int = 20_000) -> Path:
    p = d / "共享字符串未闭合.xlsx"
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           '2006/main">' + "<si><t>x</t>" * n + "</sst>")
    src = clean_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, b in _parts_of(src).items():
            z.writestr(name, b)
        z.writestr("xl/sharedStrings.xml", sst)
    p.write_bytes(rewrite(buf.getvalue(), {"xl/_rels/workbook.xml.rels": lambda s: s.replace(
        "</Relationships>", '<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')}))
    return p


EXCEL_MAX_TEXT = 32_767
LONG_PATTERNS = ["2022年", "1,", "96.03%", "９６．０３％", "总分为95.91分，其中", "1 ", "1000余人次，", "（", "无"]


def make_long_texts(d: Path) -> Path:
    """Every text cell and explanation column at Excel's limit of 32,767 characters, made of the
    fragments the narrative and explanation rules look for (years, amounts, rates …)."""
    from xlcheck.fill import fill
    p = d / "超长文字.xlsx"
    data = clean_data()
    texts = [n for n in data["cells"] if n.startswith("text_") or n == "budget_note"]

    def long(i):
        pat = LONG_PATTERNS[i % len(LONG_PATTERNS)]
        return (pat * (EXCEL_MAX_TEXT // len(pat) + 1))[:EXCEL_MAX_TEXT]
    cells = {**data["cells"], **{n: long(i) for i, n in enumerate(texts)}}
    scores = [dict(r, 扣分原因=long(i), 改进措施=long(i + 1)) for i, r in enumerate(data["scores"])]
    inds = [dict(r, 偏差原因=long(i), 改进措施=long(i + 2)) for i, r in enumerate(data["indicators"])]
    tasks = [dict(r, 未完成原因=long(i), 目标完成情况=long(i + 3)) for i, r in enumerate(data["tasks"])]
    probs = [dict(r, 存在的主要问题=long(i), 改进措施=long(i + 4)) for i, r in enumerate(data.get("problems", []))]
    fill(p, cells=cells, tables={"scores": scores, "indicators": inds, "tasks": tasks, "problems": probs})
    return p


def make_lock_file(d: Path) -> Path:
    p = d / "~$clean.xlsx"
    p.write_bytes(bytes([4]) + b"user".ljust(53, b" ") + b"\x00" * 111)
    return p


def make_dir_named_xlsx(d: Path) -> Path:
    p = d / "x.xlsx"
    p.mkdir()
    (p / "说明.txt").write_text("not a workbook", encoding="utf-8")
    return p


# name → (builder, rule ids accepted, fragment of the message the user must see)
CORPUS = {
    "empty": (make_empty, {"FILE008"}, "文件为空"),
    "random": (make_random, {"FILE004"}, "无法识别"),
    "truncated": (make_truncated, {"FILE009"}, "文件不完整或已损坏（可能下载未完成）"),
    "xls": (make_xls, {"FILE002"}, "这是 .xls 旧格式"),
    "xls_renamed": (make_xls_renamed, {"FILE002"}, "扩展名却是 .xlsx"),
    "xls_password": (make_xls_password, {"FILE003"}, "文件已加密"),
    "et": (make_et, {"FILE005"}, "这是 WPS 表格 .et 格式"),
    "ods": (make_ods, {"FILE006"}, "这是 OpenDocument 表格（.ods）格式"),
    "csv": (make_csv, {"FILE007"}, "这是 CSV 文本文件，不是填报模板"),
    "html": (make_html, {"FILE004"}, "这是网页文件（HTML）改了扩展名"),
    "encrypted": (make_encrypted, {"FILE003"}, "文件已加密，请取消密码后重新提交"),
    "zip_bomb": (make_zip_bomb, {"FILE010"}, "异常庞大"),
    "lying_bomb": (make_lying_bomb, {"FILE009", "FILE010"}, "文件"),
    "xlsb": (make_xlsb, {"FILE011"}, ".xlsb"),
    "docx": (make_docx, {"FILE004"}, "Word 文档"),
    "pdf": (make_pdf, {"FILE004"}, "PDF 文件"),
    "billion_laughs": (make_billion_laughs, {"FILE009"}, "DTD"),
    "corrupt_deflate": (make_corrupt_deflate, {"FILE009"}, "损坏"),
    "many_entries": (make_many_entries, {"FILE010"}, "数量异常"),
    "tsv_xls": (make_tsv_xls, {"FILE007"}, "制表符分隔"),
    "xml2003": (make_xml2003, {"FILE002"}, "Excel 2003 XML"),
    "unclosed_cells": (make_unclosed_cells, {"FILE009"}, "XML 内容格式错误"),
    "unclosed_strings": (make_unclosed_strings, {"FILE009"}, "XML 内容格式错误"),
}

# structure problems: engine must not crash; some STR (or VAL) finding with a clear message
STRUCTURE = {
    "not_template": make_not_template,
    "deleted_sheet": make_deleted_sheet,
    "renamed_table": make_renamed_table,
    "broken_name": make_broken_name,
    "circular": make_circular,
    "ref_everywhere": make_ref_everywhere,
}
