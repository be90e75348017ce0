"""Surgical edit of a workbook package: write one worksheet (the review sheet) into it, losslessly.

Only that sheet's part is (re)written. workbook.xml, its rels, [Content_Types].xml and styles.xml
are parsed with lxml and changed only by inserting (a <sheet>, a relationship, an override,
appended styles, the sheet's own print-title / filter names) or by removing what belonged to the
old sheet alone. Every other zip entry is copied with its content, name, time stamp and compression
method unchanged (zipfile). The caller writes the result atomically.
"""
from __future__ import annotations

import posixpath
import zipfile
from io import BytesIO
from typing import Callable

from lxml import etree

from ..atomic import WriteError
from .book import M, NS_MAIN, NS_REL
from .package import PARSER, local, parse_rels, rels_path
from .reader import number_formats, shared_strings, sheet_cells
from .refs import col_letters, range_bounds
from .styles import StyleBook

REL_WORKSHEET = NS_REL + "/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_NOT_WRITTEN = "，未写入审核结果"


def to_bytes(root) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", standalone=True)


def _argb(rgb: str) -> str:
    return rgb if len(rgb) == 8 else "FF" + rgb


class PackageEdit:
    """The source package and the changes made to it (see the module docstring)."""

    def __init__(self, data: bytes):
        try:
            self.zin = zipfile.ZipFile(BytesIO(data))
        except (zipfile.BadZipFile, EOFError, ValueError):
            raise WriteError("文件不是有效的 Excel 工作簿" + _NOT_WRITTEN) from None
        self.lower = {i.filename.lower(): i.filename for i in self.zin.infolist()}
        self.put: dict[str, bytes] = {}       # replaced or added parts
        self.drop: set[str] = set()
        root_rels = self.rels("")
        self.wb_part = next((t for _i, typ, t, ext in root_rels if typ.endswith("/officeDocument")
                             and not ext and self.has(t)), "xl/workbook.xml")
        if not self.has(self.wb_part):
            raise WriteError("压缩包中没有工作簿内容" + _NOT_WRITTEN)
        self.wb = self.xml(self.wb_part)
        if self.wb.tag != M + "workbook":
            # Strict OOXML (purl.oclc.org namespaces) or something else: transitional parts would corrupt it
            raise WriteError("工作簿为 Strict Open XML 或无法识别的格式，未写入审核结果；"
                             "请在 Excel 中另存为“Excel 工作簿(*.xlsx)”后重试")
        self.wb_rels_part = rels_path(self.wb_part)
        self.wb_rels = self.xml(self.wb_rels_part)
        self.ct = self.xml("[Content_Types].xml")
        self.touched: set[str] = set()        # which of workbook / rels / content types changed

    # ---------------------------------------------------------------- reading

    def has(self, name: str) -> bool:
        return name.lower() in self.lower

    def read(self, name: str) -> bytes:
        return self.zin.read(self.lower[name.lower()])

    def xml(self, name: str):
        return etree.fromstring(self.read(name), PARSER)

    def rels(self, part: str) -> list[tuple[str, str, str, bool]]:
        rp = rels_path(part) if part else "_rels/.rels"
        return parse_rels(self.read(rp), part, rp) if self.has(rp) else []

    def wb_rel(self, rid: str):
        return next((r for r in self.rels(self.wb_part) if r[0] == rid), None)

    def wb_rel_of_type(self, suffix: str):
        return next((r for r in self.rels(self.wb_part) if r[1].endswith("/" + suffix) and not r[3]), None)

    def sheets(self) -> list:
        el = self.wb.find(M + "sheets")
        return list(el.iterchildren(M + "sheet")) if el is not None else []

    def sheet_grid(self, part: str, name: str) -> dict:
        """(row, col) → Cell of a worksheet part, by the one reader."""
        ss, st = self.wb_rel_of_type("sharedStrings"), self.wb_rel_of_type("styles")
        strings = shared_strings(self.xml(ss[2])) if ss and self.has(ss[2]) else []
        formats = number_formats(self.xml(st[2])) if st and self.has(st[2]) else ["General"]
        return sheet_cells(self.xml(part), name, strings, formats)

    def reachable(self, skip: frozenset | set = frozenset()) -> set[str]:
        """Parts reachable through relationships from the package root (rels parts in `skip` ignored)."""
        seen: set[str] = set()
        todo = [""]
        while todo:
            part = todo.pop()
            rp = rels_path(part) if part else "_rels/.rels"
            if rp in skip or not self.has(rp):
                continue
            seen.add(rp)
            try:
                rels = self.rels(part)
            except Exception:
                continue
            for _i, _t, target, external in rels:
                if not external and target not in seen and self.has(target):
                    seen.add(target)
                    todo.append(target)
        return seen

    # ---------------------------------------------------------------- changing

    def remove_overrides(self, parts) -> None:
        names = {"/" + p.lower() for p in parts}
        for o in list(self.ct):
            if local(o.tag) == "Override" and (o.get("PartName") or "").lower() in names:
                self.ct.remove(o)
                self.touched.add("ct")

    def remove_relationship(self, rid: str) -> None:
        for r in list(self.wb_rels):
            if local(r.tag) == "Relationship" and r.get("Id") == rid:
                self.wb_rels.remove(r)
                self.touched.add("rels")

    def add_worksheet(self, name: str) -> tuple[int, str]:
        """A new sheet at the end: its part, relationship, <sheet> and content-type override."""
        folder = posixpath.join(posixpath.dirname(self.wb_part), "worksheets")
        i = 1
        while self.has(f"{folder}/sheet{i}.xml"):
            i += 1
        part = f"{folder}/sheet{i}.xml"
        ids = {r.get("Id") for r in self.wb_rels}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        target = posixpath.relpath(part, posixpath.dirname(self.wb_part) or ".")
        etree.SubElement(self.wb_rels, self.wb_rels.tag[:-len("Relationships")] + "Relationship",
                         {"Id": rid, "Type": REL_WORKSHEET, "Target": target})
        sheets = self.wb.find(M + "sheets")
        sheet_ids = [int(s.get("sheetId")) for s in self.sheets() if (s.get("sheetId") or "").isdigit()]
        nsmap = None if NS_REL in self.wb.nsmap.values() else {"r": NS_REL}
        etree.SubElement(sheets, M + "sheet", {"name": name, "sheetId": str(max(sheet_ids, default=0) + 1),
                                               f"{{{NS_REL}}}id": rid}, nsmap=nsmap)
        etree.SubElement(self.ct, self.ct.tag[:-len("Types")] + "Override",
                         {"PartName": "/" + part, "ContentType": CT_WORKSHEET})
        self.touched |= {"wb", "rels", "ct"}
        return len(sheets) - 1, part

    def set_local_names(self, index: int, wanted: dict[str, str], ours: set[str]) -> None:
        """Sheet-local defined names of sheet `index`: those in `ours` not wanted go, `wanted` ones
        are (re)written unless already exactly so."""
        dn = self.wb.find(M + "definedNames")
        keep = set()
        for d in (list(dn.iterchildren(M + "definedName")) if dn is not None else []):
            name = d.get("name")
            if d.get("localSheetId") != str(index) or name not in ours:
                continue
            if name in wanted and (d.text or "") == wanted[name] and name not in keep and not len(d):
                keep.add(name)
                continue
            dn.remove(d)
            self.touched.add("wb")
        add = [n for n in wanted if n not in keep]
        if not add:
            return
        if dn is None:
            dn = etree.Element(M + "definedNames", nsmap=self.wb.nsmap)
            # CT_Workbook order: … sheets, functionGroups, externalReferences, definedNames …
            after = [self.wb.find(M + t) for t in ("sheets", "functionGroups", "externalReferences")]
            [a for a in after if a is not None][-1].addnext(dn)
        for n in add:
            el = etree.SubElement(dn, M + "definedName", {"name": n, "localSheetId": str(index)})
            if "Filter" in n:
                el.set("hidden", "1")
            el.text = wanted[n]
        self.touched.add("wb")

    def open_on(self, index: int, part: str) -> None:
        """Open the workbook on sheet `index` (as the add-in activates it): the workbook view's
        active tab, and no other sheet left selected (two selected tabs would group the sheets)."""
        views = self.wb.find(M + "bookViews")
        if views is None:
            views = etree.Element(M + "bookViews")
            self.wb.find(M + "sheets").addprevious(views)
        view = views.find(M + "workbookView")
        if view is None:
            view = etree.SubElement(views, M + "workbookView")
        view.set("activeTab", str(index))
        if int(view.get("firstSheet", "0") or 0) > index:
            view.set("firstSheet", str(index))
        self.touched.add("wb")
        for el in self.sheets():
            rid = next((v for k, v in el.attrib.items() if k.startswith("{") and k.endswith("}id")), "")
            rel = self.wb_rel(rid)
            if rel is None or rel[3] or not rel[1].endswith("/worksheet") or not self.has(rel[2]):
                continue
            other = self.lower[rel[2].lower()]
            if other == part or other in self.put:
                continue
            root = self.xml(other)
            selected = [v for v in root.iter(M + "sheetView") if v.get("tabSelected") not in (None, "0", "false")]
            for v in selected:
                del v.attrib["tabSelected"]
            if selected:
                self.put[other] = to_bytes(root)

    def save(self) -> bytes:
        if "wb" in self.touched:
            self.put[self.wb_part] = to_bytes(self.wb)
        if "rels" in self.touched:
            self.put[self.wb_rels_part] = to_bytes(self.wb_rels)
        if "ct" in self.touched:
            self.put["[Content_Types].xml"] = to_bytes(self.ct)
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            written = set()
            for info in self.zin.infolist():
                if info.filename in self.drop:
                    continue
                zi = zipfile.ZipInfo(info.filename, info.date_time)
                zi.compress_type, zi.external_attr = info.compress_type, info.external_attr
                zi.create_system, zi.comment = info.create_system, info.comment
                body = self.put.get(info.filename)
                if body is None:
                    body = self.zin.read(info)
                written.add(info.filename)
                zout.writestr(zi, body)
            for name, body in self.put.items():
                if name not in written:
                    zout.writestr(name, body, zipfile.ZIP_DEFLATED)
            zout.comment = self.zin.comment
        return out.getvalue()


def _calc_chain_mentions(root, sheet_id: str) -> bool:
    current = None
    for el in root:
        current = el.get("i", current)
        if current == sheet_id:
            return True
    return False


def _absolute(ref: str) -> str:
    """'A7:K20' -> '$A$7:$K$20'."""
    r0, c0, r1, c1 = range_bounds(ref)
    return f"${col_letters(c0)}${r0}:${col_letters(c1)}${r1}"


def write_sheet(data: bytes, name: str, layout_of: Callable[[dict], object]) -> bytes:
    """The package `data` with sheet `name` (re)written: `layout_of(grid)` gets the old sheet's
    cells ((row, col) → Cell, empty when there is none) and returns the sheet to write (a
    `review.ReviewSheet`)."""
    pkg = PackageEdit(data)
    try:
        return _write(pkg, name, layout_of)
    finally:
        pkg.zin.close()


def _write(pkg: PackageEdit, name: str, layout_of) -> bytes:
    sheets = pkg.sheets()
    index = next((i for i, s in enumerate(sheets) if s.get("name") == name), None)
    grid: dict = {}
    if index is not None:
        el = sheets[index]
        rid = next((v for k, v in el.attrib.items() if k.startswith("{") and k.endswith("}id")), "")
        rel = pkg.wb_rel(rid)
        if rel is None or not rel[1].endswith("/worksheet") or rel[3]:
            raise WriteError(f"工作簿中的“{name}”不是普通工作表，未写入审核结果；请删除或改名后重试")
        part = rel[2]
        if pkg.has(part):
            part = pkg.lower[part.lower()]
            try:
                grid = pkg.sheet_grid(part, name)
            except Exception as e:
                raise WriteError(f"原有“{name}”表无法读取（{type(e).__name__}），为免丢失填报单位说明，未写入") from e
        # the old sheet's own relationships (printer settings, comments a user added …) go with
        # it, and so do the parts only it used
        own = rels_path(part)
        if pkg.has(own):
            gone = (pkg.reachable() - pkg.reachable(skip={own})) | {own}
            gone.discard(part)
            pkg.drop |= gone
            pkg.remove_overrides(gone)
        # a calcChain naming cells of the old sheet would make Excel repair the file
        chain = pkg.wb_rel_of_type("calcChain")
        if chain is not None and pkg.has(chain[2]) and _calc_chain_mentions(pkg.xml(chain[2]), el.get("sheetId")):
            pkg.drop.add(chain[2])
            pkg.remove_relationship(chain[0])
            pkg.remove_overrides([chain[2]])
    else:
        index, part = pkg.add_worksheet(name)

    sheet = layout_of(grid)

    styles = pkg.wb_rel_of_type("styles")
    if styles is None or not pkg.has(styles[2]):
        raise WriteError("工作簿缺少样式部件（styles.xml）" + _NOT_WRITTEN)
    book = StyleBook(pkg.xml(styles[2]))
    for needed in ("fonts", "fills", "borders", "cellXfs"):
        if book.root.find(book.ns + needed) is None:
            raise WriteError(f"工作簿的样式部件缺少 {needed}" + _NOT_WRITTEN)
    xf = {key: book.xf(st) for key, st in sheet.styles.items()}
    dxf = {i: book.dxf(st) for i, (_, _, st) in enumerate(sheet.conditional)}
    if book.changed:
        pkg.put[pkg.lower[styles[2].lower()]] = to_bytes(book.root)

    q = "'" + name.replace("'", "''") + "'"
    pkg.set_local_names(index, {"_xlnm.Print_Titles": f"{q}!{sheet.print_titles}",
                                "_xlnm._FilterDatabase": f"{q}!{_absolute(sheet.autofilter)}"},
                        {"_xlnm.Print_Titles", "_xlnm._FilterDatabase", "_xlnm.Print_Area"})
    pkg.put[part] = sheet_xml(sheet, xf, dxf)
    pkg.open_on(index, part)
    return pkg.save()


def sheet_xml(sheet, xf: dict[str, int], dxf: dict[int, int]) -> bytes:
    """The worksheet part of a `review.ReviewSheet`; `xf` maps style keys to cellXfs indices, `dxf`
    conditional-format positions to dxf indices."""
    root = etree.Element(M + "worksheet", nsmap={None: NS_MAIN, "r": NS_REL})

    def sub(parent, tag, **attrs):
        return etree.SubElement(parent, M + tag, {k: str(v) for k, v in attrs.items()})

    pr = sub(root, "sheetPr")
    if sheet.tab_color:
        sub(pr, "tabColor", rgb=_argb(sheet.tab_color))
    sub(pr, "pageSetUpPr", fitToPage=1)
    sub(root, "dimension", ref=sheet.dimension)
    view = sub(sub(root, "sheetViews"), "sheetView", tabSelected=1, workbookViewId=0, zoomScaleNormal=100)
    top = sheet.freeze_rows + 1
    sub(view, "pane", ySplit=sheet.freeze_rows, topLeftCell=f"A{top}", activePane="bottomLeft", state="frozen")
    sub(view, "selection", pane="bottomLeft", activeCell=sheet.active_cell, sqref=sheet.active_cell)
    sub(root, "sheetFormatPr", defaultRowHeight=15)
    cols = sub(root, "cols")
    for i, col in enumerate(sheet.columns, 1):
        c = sub(cols, "col", min=i, max=i, width=f"{col.width:g}")
        if col.hidden:
            c.set("hidden", "1")
        c.set("customWidth", "1")
    data = sub(root, "sheetData")
    for r in sorted(sheet.cells):
        row = sub(data, "row", r=r)
        ht = sheet.row_heights.get(r)
        if ht:
            row.set("ht", f"{ht:g}")
            if r == 1:
                row.set("customHeight", "1")
        for c, cell in sorted(sheet.cells[r].items()):
            el = sub(row, "c", r=f"{col_letters(c)}{r}", s=xf[cell.style])
            v = cell.value
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sub(el, "v").text = str(v)
                continue
            el.set("t", "inlineStr")
            t = sub(sub(el, "is"), "t")
            t.text = str(v)
            if t.text != t.text.strip() or "\n" in t.text:
                t.set(XML_SPACE, "preserve")
    sub(root, "autoFilter", ref=sheet.autofilter)
    for i, (sqref, formula, _style) in enumerate(sheet.conditional):
        rule = sub(sub(root, "conditionalFormatting", sqref=sqref), "cfRule", type="expression",
                   dxfId=dxf[i], priority=i + 1)
        sub(rule, "formula").text = formula
    links = sheet.links()
    if links:
        h = sub(root, "hyperlinks")
        for ref, loc, text in links:
            sub(h, "hyperlink", ref=ref, location=loc, display=text, tooltip="转到 " + loc)
    sub(root, "printOptions", horizontalCentered=1)
    sub(root, "pageMargins", left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    sub(root, "pageSetup", paperSize=9, orientation="landscape", fitToWidth=1, fitToHeight=0)
    sub(sub(root, "headerFooter"), "oddFooter").text = \
        f"&L{sheet.name}&C第 &P 页，共 &N 页&R{sheet.footer_date}"
    lo, hi = sheet.header_row + 1, max(sheet.max_row, sheet.header_row + 1)
    sub(sub(root, "ignoredErrors"), "ignoredError", sqref=f"A{lo}:{col_letters(len(sheet.columns))}{hi}",
        numberStoredAsText=1)
    return to_bytes(root)
