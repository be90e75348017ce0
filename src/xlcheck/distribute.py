"""Pre-filled copies of the template for the districts (`xlcheck template …`).

One copy: `make_copy(out, department=…, year=…, values={defined name: value})` — the department
and year are filled in and locked, and recorded as issued_dept / issued_year on 填报说明 (the
issuance rules compare them with what comes back). Other values (单位数, 填报人, 年初预算数 …) are
filled in and stay editable.

A list of departments (`read_list`): CSV (UTF-8 with or without BOM, GBK/GB18030 as Excel in China
saves it, UTF-16 "Unicode text") or .xlsx, one department a row, headers in Chinese (the labels of
基本信息 and 文字说明) or English (defined names, a few aliases). Every bad row is reported by its
line in the file ("第 3 行：…") and produces no copy; the good rows still do.

Submission codes (`xlcheck serve`): issuing from a list also gives every department a random code,
written to `<out_dir>-报送码.csv` beside the folder of copies (not inside it: the folder is what goes
out to the districts, each code goes to its own department). The copies themselves are unchanged.
Re-issuing keeps the code a department already has. `xlcheck serve --init --codes FILE` stores the
codes hashed.
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


class ListError(XlcheckError):
    """The list as a whole cannot be used (unreadable, no department column …): nothing is issued."""


# ---------------------------------------------------------------- columns of a list

@dataclass(frozen=True)
class ListField:
    name: str          # defined name in the template
    label: str         # label in the template (基本信息 / 文字说明)
    kind: str          # kind of template.Field


def _fields() -> dict[str, ListField]:
    from .template import INFO_FIELDS, TEXT_FIELDS
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
    from .numbers import parse_number
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

def _decode(data: bytes) -> str:
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
    text = _decode(path.read_bytes())
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


# ---------------------------------------------------------------- writing copies

def make_copy(out, *, department=None, year=None, values: dict | None = None, framework=None) -> Path:
    """Write one pre-filled copy; `out` is a file, or a directory (file named <department>-<year>.xlsx).

    department / year are filled in and locked (and recorded as issued_dept / issued_year);
    `values` ({defined name: value}) are filled in and stay editable.
    """
    from .fill import cached_values, fill_openpyxl
    from .template import build_workbook, save_workbook
    out = Path(out)
    if out.is_dir():
        out = out / copy_name(department, year)
    wb = build_workbook(department=department, year=year, framework=framework)
    if values:
        fill_openpyxl(wb, {k: v for k, v in values.items() if v is not None})
    save_workbook(wb, out, cached=cached_values(wb), fixed_core=True)
    return out


@dataclass
class IssueReport:
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)     # bad rows, Chinese, one line each
    notices: list[str] = field(default_factory=list)      # ignored columns, where the codes went
    codes: Path | None = None                             # the submission codes file

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- submission codes

CODES_SUFFIX = "-报送码.csv"
CODES_HEADERS = ("部门名称", "被评价年度", "文件名", "报送码")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"    # no 0/O, 1/I: codes are read aloud and typed


def new_code() -> str:
    """A submission code such as K7QM-2XHD-9RPA (12 characters from 32: 60 bits, from `secrets`)."""
    import secrets
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))


def codes_path(out_dir) -> Path:
    """Where the codes of the copies in `out_dir` go: beside that folder, `<folder>-报送码.csv`."""
    out_dir = Path(out_dir).resolve()
    return out_dir.parent / f"{out_dir.name}{CODES_SUFFIX}"


@dataclass(frozen=True)
class CodeRow:
    department: str
    year: int
    file_name: str
    code: str


def read_codes(path) -> list[CodeRow]:
    """The rows of a codes file (as written by write_codes; Excel may have re-saved it as GBK)."""
    text = _decode(Path(path).read_bytes())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or tuple(h.strip() for h in rows[0][:4]) != CODES_HEADERS:
        raise ListError(f"报送码文件的表头应为 {'、'.join(CODES_HEADERS)}：{Path(path).name}")
    out = []
    for i, rec in enumerate(rows[1:], 2):
        if not any(v.strip() for v in rec):
            continue
        if len(rec) < 4 or not rec[0].strip() or not rec[3].strip():
            raise ListError(f"报送码文件第 {i} 行不完整")
        try:
            year = parse_year(rec[1])
        except BadValue as e:
            raise ListError(f"报送码文件第 {i} 行：{e}") from None
        out.append(CodeRow(rec[0].strip(), year, rec[2].strip(), rec[3].strip()))
    return out


def write_codes(path, rows: list[CodeRow]) -> None:
    """UTF-8 with BOM (Excel in China opens it as such), written atomically."""
    from .atomic import write_atomic
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CODES_HEADERS)
    for r in rows:
        w.writerow([r.department, r.year, r.file_name, r.code])
    write_atomic(Path(path), buf.getvalue().encode("utf-8-sig"))


def _issue_codes(entries: list[Entry], path: Path) -> list[CodeRow]:
    """A code for every issued entry; a department that has one in `path` keeps it."""
    old: dict[tuple[str, int], CodeRow] = {}
    if path.is_file():
        old = {(department_key(r.department), r.year): r for r in read_codes(path)}
    rows = dict(old)
    for e in entries:
        key = (department_key(e.department), e.year)
        code = old[key].code if key in old else new_code()
        rows[key] = CodeRow(e.department, e.year, e.file_name, code)
    out = list(rows.values())
    write_codes(path, out)
    return out


def issue_from_list(list_path, out_dir, *, year: int | None = None, defaults: dict | None = None,
                    framework=None) -> IssueReport:
    """One copy per good row of the list into `out_dir` (created when missing), and a submission
    code per department in codes_path(out_dir)."""
    from .framework import Framework, load_framework
    dl = read_list(list_path, year=year, defaults=defaults)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fw = framework if isinstance(framework, Framework) else load_framework(framework)
    rep = IssueReport(problems=dl.messages(), notices=dl.notice_messages())
    if not dl.entries and not dl.problems:
        rep.problems.append("名单中没有任何部门")
    for e in dl.entries:
        try:
            rep.written.append(make_copy(out_dir / e.file_name, department=e.department, year=e.year,
                                         values=e.values, framework=fw))
        except OSError as err:
            rep.problems.append(f"第 {e.line} 行：无法写入 {out_dir / e.file_name}：{err.strerror or err}")
    issued = {p.name for p in rep.written}
    entries = [e for e in dl.entries if e.file_name in issued]
    if entries:
        path = codes_path(out_dir)
        try:
            _issue_codes(entries, path)
        except (OSError, ListError) as err:
            rep.problems.append(f"无法写入报送码文件 {path}：{getattr(err, 'strerror', None) or err}")
        else:
            rep.codes = path
            rep.notices.append(f"各部门的报送码已写入 {path}（请分别告知各部门，不要随副本一起发送；"
                               "财政部门用 xlcheck serve --init --codes 该文件 导入）")
    return rep
