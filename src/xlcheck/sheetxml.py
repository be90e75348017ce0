"""Fast scanning of worksheet and shared-string XML.

Sheet XML is highly regular (`<c r=".." s=".." t=".."><f>..</f><v>..</v></c>`), so compiled
regular expressions over the decoded text beat a Python-level XML event loop several times
over; empty styled cells (`<c r="A5" s="3"/>`, most of a provisioned template) cost nothing.
Parts written with namespace prefixes (`<x:c>`) fall back to ElementTree (see ooxml.py).
"""
from __future__ import annotations

import re
from datetime import timedelta
import html
from xml.etree.ElementTree import ParseError, fromstring

from .model import Cell, ErrorValue
from .numbers import format_decimals

# the usual attribute order (r, s, t: Excel, WPS, LibreOffice, openpyxl) in one match;
# anything else in `rest` is re-parsed attribute by attribute
_CELL_ORDERED = re.compile(
    r'<c(?=[ >])(?: r="([A-Z]{1,3})(\d+)")?(?: s="(\d+)")?(?: t="(\w+)")?([^>]*?)(?<!/)>(.*?)</c>', re.S)
_ATTR = re.compile(r'\b(r|s|t)="([^"]*)"')
# the shapes Excel, WPS, LibreOffice and openpyxl write for nearly every cell, matched whole by
# findall (tuples built in C): <c r s t/> or <c r s t>[<f>…</f>][<v>…</v>][<is><t>…</t></is>]</c>
_SIMPLE = re.compile(
    r'<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="(\w+)")?(?:/>|>'
    r'(?:<f>([^<]+)</f>)?(?:<v>([^<]*)</v>)?(?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')
_F = re.compile(r"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_V = re.compile(r"<v>(.*?)</v>", re.S)
_T = re.compile(r"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_RPH = re.compile(r"<rPh\b.*?</rPh>", re.S)
_SI = re.compile(r"<si>(.*?)</si>|<si/>", re.S)
_REF = re.compile(r"([A-Z]{1,3})(\d+)")


def uses_prefixes(xml: str) -> bool:
    """True when elements carry a namespace prefix (then the regex scan does not apply)."""
    head = xml[:400]
    i = head.find("<", head.find("?>") + 2 if head.startswith("<?") else 0)
    return i >= 0 and ":" in head[i:i + 30].split(" ", 1)[0]


def unescape(s: str | None) -> str:
    """Unescape XML text; expat does it in C (openpyxl writes every CJK character as &#NNNNN;)."""
    if not s:
        return ""
    if "&" not in s:
        return s
    if "&#" not in s:  # only the five named entities (formulas: &quot; &lt; &gt;)
        return (s.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<")
                .replace("&gt;", ">").replace("&amp;", "&"))
    try:
        return fromstring("<x>" + s + "</x>").text or ""
    except ParseError:
        return html.unescape(s)


def shared_strings(xml: str) -> list[str]:
    out = []
    for m in _SI.finditer(xml):
        body = m.group(1)
        if not body:
            out.append("")
            continue
        if "<rPh" in body:
            body = _RPH.sub("", body)
        out.append("".join(unescape(t) for t in _T.findall(body)))
    return out


_col_cache: dict[str, int] = {}


def _col(letters: str) -> int:
    n = _col_cache.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        _col_cache[letters] = n
    return n


def scan_simple(xml: str) -> list[tuple] | None:
    """Every cell of the sheet in the simple shapes, or None when any cell has another shape.

    `<c ` starts nothing but a cell, so equal counts mean no cell was skipped; the pattern has no
    lazy parts, so it stays linear even on malformed XML. Only <sheetData> is scanned (a quarter
    of a template's sheet XML is column widths, validations and page setup)."""
    a = xml.find("<sheetData")
    b = xml.rfind("</sheetData>")
    if a < 0 or b < a:      # no cells (or a broken part: the general scan decides)
        a, b = 0, len(xml)
    simple = _SIMPLE.findall(xml, a, b)
    if len(simple) != xml.count("<c ", a, b) or xml.find("<c>", a, b) >= 0:
        return None
    return simple


def _number(raw: str, info, epoch):
    try:
        num = float(raw)
        if num - num != 0:  # NaN / inf: no office suite writes them
            raise ValueError(raw)
    except ValueError:
        return unescape(raw)
    if info[3]:
        try:
            return epoch + timedelta(days=num)
        except OverflowError:
            return num
    if num.is_integer() and "." not in raw and "E" not in raw and "e" not in raw:
        return int(num)
    return num


def cells_of_simple(simple, sheet, strings, formats, is_date, epoch) -> dict[tuple[int, int], Cell]:
    """Cells from scan_simple's tuples; the per-cell work is kept to the bone (the hot loop)."""
    cells: dict[tuple[int, int], Cell] = {}
    fmt_info: dict[str, tuple[str, int | None, bool, bool]] = {}
    nstrings = len(strings)
    cols = _col_cache
    for letters, rownum, s, t, f, raw, inline in simple:
        if not (raw or f or inline):
            continue  # an empty cell: self-closing, or an empty <v/> without a formula
        info = fmt_info.get(s)
        if info is None:
            i = int(s) if s else 0
            fmt = formats[i] if i < len(formats) else "General"
            dec, pct = format_decimals(fmt)
            info = fmt_info[s] = (fmt, dec, pct, is_date(fmt))
        if t == "inlineStr":
            value = inline if "&" not in inline else unescape(inline)
        elif not raw:
            value = None  # no <v>, or an empty one (a formula saved without its value)
        elif not t or t == "n":
            if raw.isdecimal() and len(raw) < 16 and not info[3]:
                value = int(raw)           # "6": the common integer, exactly as float → int
            else:
                value = _number(raw, info, epoch)
        elif t == "s":
            i = int(raw)
            value = strings[i] if 0 <= i < nstrings else None
        elif t == "str":
            value = unescape(raw)
        elif t == "b":
            value = raw == "1"
        elif t == "e":
            value = ErrorValue(raw)
        elif t == "d":
            value = raw
        else:
            value = _number(raw, info, epoch)
        if f:
            formula = f if "&" not in f else unescape(f)
        elif value is None or value == "":
            continue
        else:
            formula = None
        col = cols.get(letters) or _col(letters)
        cells[(int(rownum), col)] = Cell(sheet, letters + rownum, value, formula, info[0], info[1], info[2])
    return cells


def scan_general(xml: str, sheet: str, strings: list[str], formats: list[str],
                  is_date, epoch) -> dict[tuple[int, int], Cell]:
    cells: dict[tuple[int, int], Cell] = {}
    fmt_info: dict[int, tuple[str, int | None, bool, bool]] = {}
    for m in _CELL_ORDERED.finditer(xml):
        letters, rownum, s, t, rest, body = m.groups()
        if rest and (" s=" in rest or " t=" in rest or letters is None):
            attrs = dict(_ATTR.findall(m.group(0)[: m.start(6) - m.start(0)]))
            rm = _REF.match(attrs.get("r", ""))
            if rm is None:
                continue
            letters, rownum, s, t = rm.group(1), rm.group(2), attrs.get("s"), attrs.get("t")
        elif letters is None:
            continue  # a cell without r: such writers go through ElementTree (see ooxml.py)
        ref = letters + rownum
        s = int(s) if s else 0
        info = fmt_info.get(s)
        if info is None:
            fmt = formats[s] if s < len(formats) else "General"
            dec, pct = format_decimals(fmt)
            info = fmt_info[s] = (fmt, dec, pct, is_date(fmt))
        t = t or "n"
        formula = None
        if "<f" in body:
            fm = _F.search(body)
            if fm is not None:
                formula = unescape(fm.group(2)) or ("(shared)" if 't="shared"' in fm.group(1) else "")
        value = None
        if t == "inlineStr":
            value = "".join(unescape(x) for x in _T.findall(body))
        else:
            if formula is None and body[:3] == "<v>" and body[-4:] == "</v>" and body.count("<") == 2:
                raw = body[3:-4]          # the common shape <v>…</v>: no search needed
            else:
                vm = _V.search(body)
                raw = vm.group(1) if vm is not None else None
            if raw is not None:
                if t == "s":
                    i = int(raw)
                    value = strings[i] if i < len(strings) else None
                elif t == "str":
                    value = unescape(raw) or None  # a formula's cached "" reads as no value
                elif t == "b":
                    value = raw == "1"
                elif t == "e":
                    value = ErrorValue(raw)
                elif t == "d":
                    value = raw
                elif not raw:
                    value = None  # an empty <v/> (openpyxl-saved formula with no value)
                else:
                    try:
                        num = float(raw)
                        if num - num != 0:  # NaN / inf: no office suite writes them
                            raise ValueError(raw)
                    except ValueError:
                        value = unescape(raw)
                    else:
                        if info[3]:
                            try:
                                value = epoch + timedelta(days=num)
                            except OverflowError:
                                value = num
                        elif num.is_integer() and "." not in raw and "E" not in raw and "e" not in raw:
                            value = int(num)
                        else:
                            value = num
        if formula is None and (value is None or value == ""):
            continue
        cells[(int(rownum), _col(letters))] = Cell(sheet, ref, value, formula, info[0], info[1], info[2])
    return cells
