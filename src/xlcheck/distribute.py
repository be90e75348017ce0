"""Pre-filled copies of the template for the districts (`xlcheck template …`).

One copy: `make_copy(out, department=…, year=…, values={defined name: value})` — the department
and year are filled in and locked, and recorded as issued_dept / issued_year on 填报说明 (the
issuance rules compare them with what comes back). Other values (单位数, 填报人, 年初预算数 …) are
filled in and stay editable.

From a list of departments (department_list.py): one copy per good row.

Submission codes (`xlcheck serve`): issuing from a list also gives every department a random code,
written to `<out_dir>-报送码.csv` beside the folder of copies (not inside it: the folder is what goes
out to the districts, each code goes to its own department). The copies themselves are unchanged.
Re-issuing keeps the code a department already has. `xlcheck serve --init --codes FILE` stores the
codes hashed.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic
from .department_list import (BadValue, Entry, ListError, copy_name, decode_text, department_key, parse_year,
                              read_list)
from .framework import Framework, load_framework


# ---------------------------------------------------------------- writing copies

def make_copy(out, *, department=None, year=None, values: dict | None = None, framework=None) -> Path:
    """Write one pre-filled copy; `out` is a file, or a directory (file named <department>-<year>.xlsx).

    department / year are filled in and locked (and recorded as issued_dept / issued_year);
    `values` ({defined name: value}) are filled in and stay editable.
    """
    from .fill import cached_values, fill_openpyxl     # openpyxl: only when copies are made
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
    text = decode_text(Path(path).read_bytes())
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
