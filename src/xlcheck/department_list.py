"""A list of departments for issuing copies (`xlcheck template --from-list`).

CSV (UTF-8 with or without BOM, GBK/GB18030 as Excel in China saves it, UTF-16 "Unicode text")
or .xlsx, one department a row, headers in Chinese (the labels of 基本信息 and 文字说明) or English
(defined names, a few aliases). Every bad row is reported by its line in the file ("第 3 行：…")
and produces no copy; the good rows still do.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import XlcheckError
from .numbers import parse_number
from .template_fields import INFO_FIELDS, TEXT_FIELDS


class ListError(XlcheckError):
    """The list as a whole cannot be used (unreadable, no department column …): nothing is issued."""


# ---------------------------------------------------------------- columns of a list

@dataclass(frozen=True)
class ListField:
    name: str          # defined name in the template
    label: str         # label in the template (基本信息 / 文字说明)
    kind: str          # kind of template.Field


def _fields() -> dict[str, ListField]:
    out = {}
    for f in [*INFO_FIELDS, *TEXT_FIELDS]:
        if isinstance(f, str):
            continue
        out[f.name] = ListField(f.name, f.label, f.kind)
    return out


# English aliases besides the defined names themselves, and a few Chinese short forms
ALIASES = {
    "department": "dept_name", "dept": "dept_name", "name": "dept_name", "部门": "dept_name",
    "单位名称": "dept_name", "部门全称": "dept_name",
    "year": "eval_year", "年度": "eval_year", "评价年度": "eval_year", "自评年度": "eval_year",
    "units": "unit_count", "phone": "preparer_phone", "telephone": "preparer_phone",
    "电话": "preparer_phone", "联系人": "preparer",
}


def normalize_header(text) -> str:
    """Header text as compared: NFKC, no spaces, lower case, without 其中： / (万元) / * / ：."""
    s = unicodedata.normalize("NFKC", "" if text is None else str(text))
    s = re.sub(r"\s+", "", s).lower().lstrip("*").rstrip("*:：")
    s = re.sub(r"^其中[:：]", "", s)
    s = re.sub(r"\((?:万元|元|个|年)\)$", "", s)
    return s


def header_index() -> dict[str, ListField]:
    fields = _fields()
    idx: dict[str, ListField] = {}
    for f in fields.values():
        idx[normalize_header(f.name)] = f
        label = normalize_header(f.label)
        idx[label] = f
        if label.endswith("数") and len(label) > 3:
            idx.setdefault(label[:-1], f)     # 年初预算 for 年初预算数
    for alias, name in ALIASES.items():
        idx.setdefault(normalize_header(alias), fields[name])
    return idx


# ---------------------------------------------------------------- values of a list

class BadValue(ValueError):
    pass


def _show(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _number(v, label: str, *, integer=False, minimum=None):
    if isinstance(v, bool):
        raise BadValue(f"{label}“{v}”不是数字")
    p = parse_number(v)
    ok = p.kind in ("number", "text", "fullwidth") or (p.kind == "unit" and p.extra in ("万元", "个", "家"))
    if not ok or p.value is None or p.percent:
        raise BadValue(f"{label}“{_show(v)}”不是数字")
    x = p.value
    if integer:
        if not float(x).is_integer():
            raise BadValue(f"{label}“{_show(v)}”应为整数")
        x = int(x)
    if minimum is not None and x < minimum:
        raise BadValue(f"{label}“{_show(v)}”应不小于 {minimum}")
    return x


def parse_year(v) -> int:
    """A four-digit year 2000–2100 ("2024", 2024, 2024.0, "2024年", "2024 年度")."""
    if isinstance(v, bool):
        raise BadValue(f"被评价年度“{v}”不是年份")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        y = v
    else:
        s = unicodedata.normalize("NFKC", str(v)).strip()
        m = re.fullmatch(r"(\d{4})(?:\.0+)?\s*(?:年度|年)?", s)
        if not m:
            raise BadValue(f"被评价年度“{_show(v)}”不是年份（应为四位年份，如 2024）")
        y = int(m.group(1))
    if not 2000 <= y <= 2100:
        raise BadValue(f"被评价年度“{_show(v)}”不是年份（应为 2000 至 2100 之间的四位年份）")
    return y


def _date(v, label):
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    s = unicodedata.normalize("NFKC", str(v)).strip()
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", s)
    if m:
        try:
            return dt.datetime(*map(int, m.groups()))
        except ValueError:
            pass
    raise BadValue(f"{label}“{_show(v)}”不是日期（应为如 2024-03-15 的日期）")


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%Y-%m-%d")
    return str(v).strip()


def convert(f: ListField, v):
    """The value of one list cell for the template cell `f` (BadValue when it cannot be one)."""
    if f.kind == "year":
        return parse_year(v)
    if f.kind in ("count", "count1"):
        return _number(v, f.label, integer=True, minimum=1 if f.kind == "count1" else 0)
    if f.kind == "amount":
        return _number(v, f.label, minimum=0)
    if f.kind == "amount_any":
        return _number(v, f.label)
    if f.kind == "date":
        return _date(v, f.label)
    return _text(v)


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def department_key(name: str) -> str:
    """A department name as compared (full-width/half-width and spaces do not matter)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)))


_BAD_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def copy_name(department: str | None, year: int | None) -> str:
    """File name of a copy: <department>-<year>.xlsx (characters Windows forbids become _)."""
    dept = _BAD_FILE_CHARS.sub("_", str(department).strip()).strip(" .") if department else ""
    if dept and year:
        return f"{dept}-{year}.xlsx"
    if dept:
        return f"{dept}.xlsx"
    if year:
        return f"template-{year}.xlsx"
    return "template.xlsx"


# ---------------------------------------------------------------- reading a list

def decode_text(data: bytes) -> str:
    """Text of a CSV as Excel in China may save it: UTF-8 (BOM or not), UTF-16, GBK/GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")   # GBK as saved by Excel in China; GB18030 is its superset
    except UnicodeDecodeError:
        raise ListError("名单文件的编码无法识别（应为 UTF-8 或 GBK 编码的 CSV）") from None


def _csv_rows(path: Path) -> list[tuple[int, list]]:
    text = decode_text(path.read_bytes())
    sample = "\n".join(text.splitlines()[:5])
    delimiter = ","
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    if counts[","] == 0 and max(counts.values()) > 0:
        delimiter = max(counts, key=counts.get)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    try:
        for rec in reader:
            rows.append((start, rec))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ListError(f"名单文件第 {reader.line_num} 行格式错误：{e}") from None
    return rows


def _xlsx_rows(path: Path) -> list[tuple[int, list]]:
    import zipfile

    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise ListError(f"名单文件无法读取（不是有效的 .xlsx 工作簿）：{e}") from None
    try:
        ws = wb.worksheets[0]
        return [(i, list(row)) for i, row in enumerate(ws.iter_rows(values_only=True), 1)]
    finally:
        wb.close()


def _raw_rows(path: Path) -> list[tuple[int, list]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path)
    if suffix in (".xls", ".et", ".ods"):
        raise ListError(f"名单文件格式 {suffix} 不受支持：请在 Excel 中另存为 .xlsx 或 CSV")
    raise ListError(f"名单文件应为 .csv 或 .xlsx：{path.name}")


@dataclass
class Entry:
    """One department of a list: the copy to issue."""
    line: int
    department: str
    year: int
    values: dict = field(default_factory=dict)    # other defined names -> value

    @property
    def file_name(self) -> str:
        return copy_name(self.department, self.year)


@dataclass
class DepartmentList:
    entries: list[Entry] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)   # bad rows: (line, Chinese message)
    notices: list[tuple[int, str]] = field(default_factory=list)    # columns ignored (not an error)

    def messages(self) -> list[str]:
        return _lines(self.problems)

    def notice_messages(self) -> list[str]:
        return _lines(self.notices)


def _lines(items) -> list[str]:
    return [f"第 {line} 行：{msg}" for line, msg in sorted(items, key=lambda p: p[0])]


HEADER_SEARCH_ROWS = 10


def read_list(path, *, year: int | None = None, defaults: dict | None = None) -> DepartmentList:
    """Read a list of departments. `year` / `defaults` serve rows (or lists) that give none.

    Raises ListError when the list cannot be used at all; bad rows are in `.problems`.
    """
    path = Path(path)
    if not path.is_file():
        raise ListError(f"找不到名单文件：{path}")
    rows = _raw_rows(path)
    idx = header_index()
    # the header is the first row naming the department column (a title row above it is fine)
    head = None
    for line, rec in rows[:HEADER_SEARCH_ROWS]:
        if any(idx.get(normalize_header(v)) and idx[normalize_header(v)].name == "dept_name" for v in rec):
            head = (line, rec)
            break
    if head is None:
        raise ListError("名单中找不到“部门名称”列（表头应为 部门名称 或 department）")
    head_line, head_rec = head
    out = DepartmentList()
    columns: dict[int, ListField] = {}
    seen_fields: dict[str, int] = {}
    for i, h in enumerate(head_rec):
        if _blank(h):
            continue
        f = idx.get(normalize_header(h))
        if f is None:
            out.notices.append((head_line, f"无法识别的列“{_show(h)}”，该列已忽略"
                                           "（可用的列见 xlcheck template --help）"))
            continue
        if f.kind.startswith("f_"):
            out.notices.append((head_line, f"“{_show(h)}”由模板公式自动计算，不能预填，该列已忽略"))
            continue
        if f.name in seen_fields:
            out.notices.append((head_line, f"列“{_show(h)}”与第 {seen_fields[f.name] + 1} 列重复，该列已忽略"))
            continue
        seen_fields[f.name] = i
        columns[i] = f
    if "eval_year" not in seen_fields and year is None:
        raise ListError("名单中没有“被评价年度”列：请在名单中增加该列，或用 --year 指定年度")
    fields = _fields()
    seen: dict[tuple[str, int], int] = {}
    files: dict[str, int] = {}
    for line, rec in rows:
        if line <= head_line or all(_blank(v) for v in rec):
            continue
        errors: list[str] = []
        values: dict[str, object] = {}
        for i, f in columns.items():
            v = rec[i] if i < len(rec) else None
            if _blank(v):
                continue
            try:
                values[f.name] = convert(f, v)
            except BadValue as e:
                errors.append(str(e))
        extra = [v for v in rec[len(head_rec):] if not _blank(v)]
        if extra:
            errors.append(f"比表头多出 {len(extra)} 个值（“{_show(extra[0])}”…），可能是某个值中含有逗号而未加引号")
        dept = values.pop("dept_name", None)
        y = values.pop("eval_year", None)
        if not dept:
            errors.insert(0, "缺少部门名称")
        year_given = "eval_year" in seen_fields and not _blank(_cell(rec, seen_fields["eval_year"]))
        if y is None and not year_given:      # a year that is no year was reported by convert()
            y = year
            if y is None:
                errors.append("缺少被评价年度")
        for name, v in (defaults or {}).items():
            if v is not None:
                values.setdefault(name, v)
        if dept and y is not None and not errors:
            key = (department_key(dept), y)
            if key in seen:
                errors.append(f"部门“{dept}” {y} 年度与第 {seen[key]} 行重复")
            else:
                fname = copy_name(dept, y).casefold()
                if fname in files:
                    errors.append(f"部门“{dept}”的文件名与第 {files[fname]} 行相同（{copy_name(dept, y)}）")
        if errors:
            out.problems.append((line, "；".join(errors) + "，未生成"))
            continue
        seen[key] = line
        files[fname] = line
        out.entries.append(Entry(line, dept, y, {k: v for k, v in values.items() if k in fields}))
    return out


def _cell(rec, i):
    return rec[i] if i < len(rec) else None
