"""Builders of workbooks that carry what a real office file carries — an image, a cell comment, a VBA
project — for the lossless write-back tests. No Pillow needed: the image is a PNG made with zlib and
its drawing parts are written into the package by hand, as Excel lays them out."""
from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment

NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_DRAWING = NS_REL + "/drawing"
REL_IMAGE = NS_REL + "/image"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def xlwings_quickstart() -> Path:
    """xlwings' own quickstart.xlsm: a real macro workbook saved by Excel."""
    import xlwings
    p = Path(xlwings.__file__).parent / "quickstart.xlsm"
    assert p.exists(), p
    return p


def png_bytes(w: int = 16, h: int = 16, rgb=(200, 30, 30)) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _sheet_part(z: zipfile.ZipFile, title: str) -> str:
    from xml.etree.ElementTree import fromstring
    wb = fromstring(z.read("xl/workbook.xml"))
    rels = fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for s in wb.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
        if s.get("name") == title:
            t = targets[s.get(f"{{{NS_REL}}}id")]
            return t.lstrip("/") if t.startswith("/") else "xl/" + t
    raise KeyError(title)


def _rewrite(path: Path, changes: dict[str, bytes]) -> None:
    src = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        names = set()
        for info in zin.infolist():
            names.add(info.filename)
            body = changes.get(info.filename, None)
            zout.writestr(info, zin.read(info.filename) if body is None else body)
        for name, body in changes.items():
            if name not in names:
                zout.writestr(name, body)
    path.write_bytes(out.getvalue())


def _add_rel(rels_xml: str | None, rid: str, typ: str, target: str) -> str:
    rel = f'<Relationship Id="{rid}" Type="{typ}" Target="{target}"/>'
    if rels_xml is None:
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                f'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rel}</Relationships>')
    return rels_xml.replace("</Relationships>", rel + "</Relationships>")


def add_image(path, sheet: str, *, anchor_col: int = 4, anchor_row: int = 1) -> None:
    """Put a small PNG picture on `sheet` (a drawing part, as Excel writes one)."""
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        part = _sheet_part(z, sheet)
        d, base = part.rsplit("/", 1)
        rels_name = f"{d}/_rels/{base}.rels"
        rels = z.read(rels_name).decode() if rels_name in z.namelist() else None
        sheet_xml = z.read(part).decode()
        ct = z.read("[Content_Types].xml").decode()
        n = sum(1 for x in z.namelist() if x.startswith("xl/drawings/drawing")) + 1
    drawing = f"xl/drawings/drawing{n}.xml"
    image = f"xl/media/xlcheck-test-image{n}.png"
    dx = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
          'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
          f'<xdr:oneCellAnchor><xdr:from><xdr:col>{anchor_col}</xdr:col><xdr:colOff>0</xdr:colOff>'
          f'<xdr:row>{anchor_row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
          '<xdr:ext cx="609600" cy="609600"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="Picture 1" '
          'descr="单位印章"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr>'
          f'<xdr:blipFill><a:blip xmlns:r="{NS_REL}" r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch>'
          '</xdr:blipFill><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="609600" cy="609600"/></a:xfrm>'
          '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
          '</xdr:oneCellAnchor></xdr:wsDr>')
    drels = _add_rel(None, "rId1", REL_IMAGE, f"../media/{image.rsplit('/', 1)[1]}")
    rid = "rIdImg1"
    rels = _add_rel(rels, rid, REL_DRAWING, f"../drawings/drawing{n}.xml")
    el = f'<drawing xmlns:r="{NS_REL}" r:id="{rid}"/>'
    m = re.search(r"<legacyDrawing\b|<legacyDrawingHF\b|<picture\b|<oleObjects\b|<controls\b|<webPublishItems\b"
                  r"|<tableParts\b|<extLst\b|</worksheet>", sheet_xml)
    sheet_xml = sheet_xml[:m.start()] + el + sheet_xml[m.start():]
    if 'Extension="png"' not in ct:
        ct = ct.replace("</Types>", '<Default Extension="png" ContentType="image/png"/></Types>')
    ct = ct.replace("</Types>", f'<Override PartName="/{drawing}" ContentType="{CT_DRAWING}"/></Types>')
    _rewrite(path, {part: sheet_xml.encode(), rels_name: rels.encode(), drawing: dx.encode(),
                    f"xl/drawings/_rels/drawing{n}.xml.rels": drels.encode(), image: png_bytes(),
                    "[Content_Types].xml": ct.encode()})


def add_comment(path, sheet: str, cell: str, text: str = "请核对此数", author: str = "财政局") -> None:
    """A cell comment, saved by openpyxl (comments part + VML drawing)."""
    path = Path(path)
    keep_vba = path.suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
    wb[sheet][cell].comment = Comment(text, author)
    wb.save(path)


def add_vba(path) -> None:
    """Make `path` a macro workbook: xlwings' real vbaProject.bin, its relationship and content types."""
    path = Path(path)
    with zipfile.ZipFile(xlwings_quickstart()) as q:
        vba = q.read("xl/vbaProject.bin")
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        ct = z.read("[Content_Types].xml").decode()
    rels = _add_rel(rels, "rIdVba1", REL_VBA, "vbaProject.bin")
    ct = ct.replace(CT_MAIN, CT_MACRO_MAIN)
    if 'Extension="bin"' not in ct:
        ct = ct.replace("</Types>", f'<Default Extension="bin" ContentType="{CT_VBA}"/></Types>')
    _rewrite(path, {"xl/vbaProject.bin": vba, "xl/_rels/workbook.xml.rels": rels.encode(),
                    "[Content_Types].xml": ct.encode()})


def filled_workbook(path, **kw) -> Path:
    """A filled copy of the template (xlcheck.fill when available, else the template itself)."""
    path = Path(path)
    try:
        from xlcheck.fill import fill
    except ImportError:
        shutil.copy(Path(__file__).resolve().parents[1] / "template.xlsx", path)
        return path
    fill(path, cells=kw.get("cells") or {"dept_name": "广州市某区工商业联合会", "eval_year": 2024,
                                         "budget_initial": 417.82, "budget_adjustment": 0.21,
                                         "spend_actual": 401.42},
         tables=kw.get("tables"))
    return path


def office_workbook(path, *, macro: bool = False) -> Path:
    """A filled template copy with a comment (基本信息), a picture (填报说明) and, for .xlsm, VBA."""
    path = Path(path)
    tmp = path.with_suffix(".xlsx") if macro else path
    filled_workbook(tmp)
    add_comment(tmp, "基本信息", "B4")
    add_image(tmp, "填报说明")
    if macro:
        add_vba(tmp)
        tmp.replace(path)
    return path
