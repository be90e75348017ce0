"""What a reader delivers (`RawBook`), the OOXML names and the number-format facts it rests on.

No XML parser here: the xlwings path (the add-in, also under Pyodide) builds a RawBook without lxml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from ..model import Cell

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
M = "{%s}" % NS_MAIN

BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
    11: "0.00E+00", 12: "# ?/?", 13: "# ??/??", 14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm",
    17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
    22: "yyyy-mm-dd h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)",
    39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss",
    47: "mmss.0", 48: "##0.0E+0", 49: "@",
    # zh-CN built-in date and time formats (ECMA-376 Part 1 §18.8.30): written by id, no numFmt
    27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy", 31: 'yyyy"年"m"月"d"日"',
    32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"', 34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"',
    36: 'yyyy"年"m"月"', 50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"', 57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}
# format codes: quoted text (closed or not), the character after \ (escape), _ (padding) and
# * (repeat), and [colour]/[locale]/[condition] sections are no date tokens; [h], [mm], [ss]
# (elapsed time) are
_DATE_RE = re.compile(r"[ymdhs]", re.I)
_STRIP_RE = re.compile(r'"[^"]*(?:"|$)|[\\_*].?|\[(?![hms]+\])[^\]]*(?:\]|$)', re.I)
EPOCH_1900 = datetime(1899, 12, 30)               # serial 61 = 1900-03-01 and on
EPOCH_1904 = datetime(1904, 1, 1)


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
    date1904: bool = False


@lru_cache(maxsize=256)
def is_date_format(fmt: str) -> bool:
    """Whether an Excel number format shows a date or time: a y/m/d/h/s code in its first section
    outside literals and [...] sections (see _STRIP_RE); literals go first, so a quoted or escaped
    ";" splits no section."""
    if fmt in ("General", "@"):
        return False
    return bool(_DATE_RE.search(_STRIP_RE.sub("", fmt).split(";", 1)[0]))


def serial_to_datetime(num: float, date1904: bool = False):
    """An Excel serial as a datetime; the number itself where no real date exists (serial 60 of
    the 1900 system is the fictitious 1900-02-29) or it is out of range."""
    try:
        if date1904:
            return EPOCH_1904 + timedelta(days=num)
        if 60 <= num < 61:
            return num
        if 0 <= num < 60:       # Excel counts 1900-02-29, so serials before it are a day later
            num += 1
        return EPOCH_1900 + timedelta(days=num)
    except OverflowError:
        return num
