"""The package reader against real workbooks written by other producers (tests/data/realworld,
origins and licences in SOURCES.md).

The judge is the XML: `judge()` reads each file's parts with lxml in a few plain lines per rule of
ECMA-376 Part 1 (§18.3.1.4 c, §18.4.8 si, §18.8.30 numFmt, §18.17.4.1 date systems, §22.9.2.19
ST_Xstring) and every cell the reader returns must match it, and the other way round.
python-calamine, another reader, is a witness: it must agree with the judge on nearly every cell
(so the judge is no echo of our reader), and each class of issue 13 must be present in the set.
"""
from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from lxml import etree
from python_calamine import CalamineWorkbook

from xlcheck.ooxml import read_package

HERE = Path(__file__).parent / "data" / "realworld"
FILES = sorted(p for p in HERE.iterdir() if p.suffix in (".xlsx", ".xlsm"))
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))


def _xml(z: zipfile.ZipFile, name: str):
    return etree.fromstring(z.read(name), PARSER)


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    parts = base.split("/")[:-1] + target.split("/")
    out: list[str] = []
    for p in parts:
        if p == "..":
            out.pop()
        elif p not in ("", "."):
            out.append(p)
    return "/".join(out)


def _xstring(s: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), s)


def _text(si) -> str:
    """<t> children and <r><t>; phonetic runs (<rPh>) are not the text."""
    return _xstring("".join(t.text or "" for t in si.iter("{*}t")
                            if not t.xpath("ancestor::*[local-name()='rPh']")))


def _is_date(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[(?![hHmMsS]+\])[^\]]*\]', "", code.split(";")[0])     # [h] is elapsed time
    return code not in ("General", "@") and re.search("[ymdhs]", code, re.I) is not None


def _serial(n: float, date1904: bool):
    if date1904:
        return datetime(1904, 1, 1) + timedelta(days=n)
    if 60 <= n < 61:
        return n                                    # 1900-02-29 never was
    return datetime(1899, 12, 31 if 0 <= n < 60 else 30) + timedelta(days=n)


def judge(path: Path) -> dict[str, dict[tuple[int, int], object]]:
    """Sheet → (row, col) → value, from the XML alone."""
    z = zipfile.ZipFile(path)
    root_rels = {r.get("Type").rsplit("/", 1)[1]: r.get("Target") for r in _xml(z, "_rels/.rels")}
    wb_part = _target("", root_rels["officeDocument"])
    wb_rels_part = "/".join(wb_part.split("/")[:-1] + ["_rels", wb_part.split("/")[-1] + ".rels"])
    rels = {r.get("Id"): (r.get("Type").rsplit("/", 1)[1], _target(wb_part, r.get("Target")))
            for r in _xml(z, wb_rels_part)}
    wb = _xml(z, wb_part)
    pr = wb.find("{*}workbookPr")
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    strings, dates = [], []
    for typ, part in rels.values():
        if typ == "sharedStrings":
            strings = [_text(si) for si in _xml(z, part).iterchildren("{*}si")]
        if typ == "styles":
            st = _xml(z, part)
            nf = st.find("{*}numFmts")
            custom = {int(f.get("numFmtId")): f.get("formatCode") for f in (nf if nf is not None else [])}
            xfs = st.find("{*}cellXfs")
            for xf in (xfs if xfs is not None else []):
                i = int(xf.get("numFmtId", 0))
                dates.append(i in DATE_IDS if i not in custom else _is_date(custom[i]))
    out = {}
    for sh in wb.find("{*}sheets"):
        rid = sh.get(f"{{{REL}}}id")
        typ, part = rels[rid]
        grid = out[sh.get("name")] = {}
        if typ != "worksheet":
            continue
        row_no = 0
        for row in _xml(z, part).find("{*}sheetData"):
            row_no = int(row.get("r") or row_no + 1)
            col_no = 0
            for c in row:
                ref = (c.get("r") or "").upper()
                if ref:
                    letters = ref.rstrip("0123456789")
                    col_no = 0
                    for ch in letters:
                        col_no = col_no * 26 + ord(ch) - 64
                else:
                    col_no += 1
                v, f, is_ = c.find("{*}v"), c.find("{*}f"), c.find("{*}is")
                raw = v.text if v is not None else None
                t = c.get("t", "n")
                if t == "inlineStr":
                    value = _text(is_) if is_ is not None else None
                elif raw is None or raw == "":
                    value = None
                elif t == "s":
                    value = strings[int(raw)]
                elif t in ("str", "e"):
                    value = _xstring(raw) if t == "str" else raw
                elif t == "b":
                    value = raw == "1"
                elif t == "d" and ":" in raw and "-" not in raw:     # a time of day: Excel's day 0
                    value = datetime.combine(date(1899, 12, 31), time.fromisoformat(raw))
                elif t == "d":
                    value = datetime.fromisoformat(raw.replace("Z", ""))
                else:
                    s = int(c.get("s", 0))
                    value = _serial(float(raw), date1904) if s < len(dates) and dates[s] else float(raw)
                if f is None and value in (None, ""):
                    continue
                grid[(row_no, col_no)] = value
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_reader_matches_the_xml(path):
    book = read_package(path)
    expected = judge(path)
    assert book.sheets == list(expected)
    for sheet, grid in expected.items():
        got = {k: c.value for k, c in book.cells[sheet].items()}
        assert got.keys() == grid.keys(), sheet
        for k, want in grid.items():
            assert got[k] == want and (isinstance(want, (int, float)) == isinstance(got[k], (int, float))), \
                (sheet, k, got[k], want)


def _calamine(path) -> dict[str, dict[tuple[int, int], object]]:
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        sh = wb.get_sheet_by_name(name)
        out[name] = {(i + 1, j + 1): v for i, row in enumerate(sh.to_python(skip_empty_area=False))
                     for j, v in enumerate(row) if v != ""}
    return out


def _same(ours, theirs, date1904: bool = False) -> bool:
    """Equal as values: calamine gives date/time/timedelta where we give datetime, floats for ints."""
    if isinstance(ours, datetime):
        if isinstance(theirs, datetime):
            return abs(ours - theirs) < timedelta(seconds=1)
        if isinstance(theirs, date):
            return ours.date() == theirs and ours.time() == time(0)
        if isinstance(theirs, time):
            return ours.time().replace(microsecond=0) == theirs.replace(microsecond=0)
        if isinstance(theirs, timedelta):
            day0 = (datetime(1904, 1, 1) if date1904 else
                    datetime(1899, 12, 31) if datetime(1899, 12, 31) <= ours < datetime(1900, 3, 1) else datetime(1899, 12, 30))
            return abs(ours - day0 - theirs) < timedelta(seconds=1)
        return False
    if isinstance(ours, (int, float)) and not isinstance(ours, bool):
        return isinstance(theirs, (int, float)) and abs(ours - theirs) <= 1e-9 * max(1, abs(ours))
    return ours == theirs


def test_calamine_witnesses_the_judge():
    """Where python-calamine reads a cell, it agrees with the XML judge on at least 97% of all
    cells of the set (it differs by design on a few: error cells, formula cells without a value)."""
    agree = total = 0
    for path in FILES:
        exp, cal = judge(path), _calamine(path)
        date1904 = read_package(path).date1904
        for sheet, grid in exp.items():
            for k, want in grid.items():
                if want is None or isinstance(want, bool) or k not in cal.get(sheet, {}):
                    continue
                total += 1
                agree += _same(want, cal[sheet][k], date1904)
    assert total > 1000 and agree / total >= 0.97, (agree, total)


# ------------------------------------------------------------------ each class is in the set

def _parts(name: str):
    z = zipfile.ZipFile(HERE / name)
    return {n: z.read(n) for n in z.namelist()}


def _has(name: str, part_prefix: str, test) -> bool:
    return any(test(b) for n, b in _parts(name).items() if n.startswith(part_prefix))


CLASSES = {
    # class: (file, predicate on the file's parts, a cell read right: (sheet, address, value))
    "BOM and prefixed elements": ("calamine--richtext-namespaced.xlsx",
                                  lambda n: _has(n, "xl/worksheets/sheet", lambda b: b.startswith(b"\xef\xbb\xbf")
                                                 and etree.fromstring(b).prefix is not None)),
    "BOM on workbook.xml": ("closedxml--Examples_Rows_InsertRows.xlsx",
                            lambda n: _parts(n)["xl/workbook.xml"].startswith(b"\xef\xbb\xbf")),
    "<v xml:space>": ("sheetjs--number_format.xlsm",
                      lambda n: _has(n, "xl/worksheets/sheet", lambda b: any(
                          v.get(XML_SPACE) for v in etree.fromstring(b).iter("{*}v")))),
    "date1904": ("calamine--date_1904.xlsx",
                 lambda n: etree.fromstring(_parts(n)["xl/workbook.xml"]).find("{*}workbookPr").get("date1904")
                 in ("1", "true")),
    "serials below 60": ("sheetjs--1904_1900.xlsx", lambda n: True),
    "CR LF in text": ("sheetjs--crlf_crlf.xlsx",
                      lambda n: _has(n, "xl/", lambda b: re.search(rb">[^<]*\r\n[^<]*</", b) is not None)),
    "<c> without r": ("closedxml--TryToLoad_NoReferencesOnRowsOrCells.xlsx",
                      lambda n: _has(n, "xl/worksheets/sheet", lambda b: any(
                          c.get("r") is None for c in etree.fromstring(b).iter("{*}c")))),
    "t=d": ("calamine--date_iso.xlsx",
            lambda n: _has(n, "xl/worksheets/sheet", lambda b: any(
                c.get("t") == "d" for c in etree.fromstring(b).iter("{*}c")))),
    "_xHHHH_": ("calamine--has_x000D_.xlsx", lambda n: _has(n, "xl/sharedStrings", lambda b: b"_x000D_" in b)),
    "<dxf> numFmt": ("xlsxwriter--cond_format04.xlsx",
                     lambda n: any(d.find("{*}numFmt") is not None for d in
                                   etree.fromstring(_parts(n)["xl/styles.xml"]).iter("{*}dxf"))),
    "relationship id prefix": ("calamine--nonstandard-xml-ns-prefix.xlsx",
                               lambda n: b"r:id" not in _parts(n)["xl/workbook.xml"]),
}


@pytest.mark.parametrize("cls", list(CLASSES))
def test_the_set_holds_each_class(cls):
    name, present = CLASSES[cls]
    assert (HERE / name).exists() and present(name)


def test_known_cells():
    """Cells whose right value the producer wrote down beside them, or that the class fixes."""
    # 1900 system: column C is the text Excel showed for the serial in column B
    book = read_package(HERE / "sheetjs--1904_1900.xlsx")
    grid = book.cells[book.sheets[0]]
    shown = [(grid[(r, 2)].value, grid[(r, 3)].value) for r in range(1, 8) if (r, 3) in grid]
    assert shown and all(d.strftime("%Y-%m-%d") == text for d, text in shown), shown
    assert grid[(1, 2)].value == datetime(1900, 1, 1)
    # the same serials in the 1904 system
    book = read_package(HERE / "sheetjs--1904_1904.xlsx")
    grid = book.cells[book.sheets[0]]
    shown = [(grid[(r, 2)].value, grid[(r, 3)].value) for r in range(1, 8) if (r, 3) in grid]
    assert book.date1904 and shown and all(d.strftime("%Y-%m-%d") == text for d, text in shown), shown
    # _x000D_ is a carriage return
    book = read_package(HERE / "calamine--has_x000D_.xlsx")
    assert any("\r" in str(c.value) for c in book.cells[book.sheets[0]].values())
    assert not any("_x000D_" in str(c.value) for c in book.cells[book.sheets[0]].values())
    # a sheet related as <sheet x:id=…> under a non-standard prefix is read, not empty
    book = read_package(HERE / "calamine--nonstandard-xml-ns-prefix.xlsx")
    assert all(book.cells[s] for s in book.sheets)
