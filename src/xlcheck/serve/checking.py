"""One uploaded workbook through the command line's own code: sniffing and reading (FILE00x
defences), the checks, the annotated copy (review.write_review), and the rows of the review sheet
(review.review_layout) for the page, so that the page says exactly what the sheet says."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..review import (C_CELL, C_EXPECTED, C_LEVEL, C_MSG, C_NOTE, C_RULE, C_SHEET, C_STATE, C_VALUE,
                      WriteError, review_layout, write_review)
from ..runner import FileResult, check_paths
from ..sniff import CANDIDATE_SUFFIXES


@dataclass
class Checked:
    """A readable upload: its result, the annotated copy, the page's rows."""
    file_name: str
    size: int
    sha256: str
    result: FileResult
    annotated: bytes
    status: str                               # 通过 | 未通过 (as the review sheet says)
    counts: dict                              # error, warning, info, explained
    rows: list[dict] = field(default_factory=list)


class Rejected(Exception):
    """An upload that is not stored: the Chinese reason, and the FILE rule when there is one."""

    def __init__(self, reason: str, rule: str | None = None, status: int = 422):
        super().__init__(reason)
        self.reason, self.rule, self.status = reason, rule, status


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def safe_name(name: str | None) -> str:
    """A client's file name as shown and stored: the last path part, no control or path characters."""
    s = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    s = _UNSAFE.sub("_", s).strip(" .")[:200]
    return s or "未命名.xlsx"


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in CANDIDATE_SUFFIXES else ".xlsx"


def check_upload(data: bytes, name: str, *, now: dt.datetime, checks_dir=None) -> Checked:
    """Check one upload in a private temporary folder (removed afterwards). Raises Rejected for a
    file that cannot be read, with the same reason the command line gives."""
    name = safe_name(name)
    with tempfile.TemporaryDirectory(prefix="xlcheck-serve-") as tmp:
        src = Path(tmp) / f"upload{_suffix(name)}"
        src.write_bytes(data)
        result = next(iter(check_paths([src], checks_dir=checks_dir)))
        if result.status == "unreadable":
            f = result.findings[0]
            raise Rejected(f.message, f.rule)
        dst = Path(tmp) / f"annotated{src.suffix}"
        try:
            write_review(src, dst, result, now=now)
        except WriteError as e:
            raise Rejected(f"无法写入审核结果：{e}") from None
        annotated = dst.read_bytes()
    result.path = name
    layout = review_layout(result, now=now)
    rows = []
    for r in range(layout.header_row + 1, layout.last_row + 1):
        cells = layout.cells.get(r, {})

        def v(c, cells=cells):
            cell = cells.get(c)
            return "" if cell is None or cell.value is None else str(cell.value)
        if not v(C_RULE):
            continue
        rows.append({"level": v(C_LEVEL), "rule": v(C_RULE), "sheet": v(C_SHEET), "cell": v(C_CELL),
                     "message": v(C_MSG), "value": v(C_VALUE), "expected": v(C_EXPECTED),
                     "note": v(C_NOTE), "state": v(C_STATE)})
    return Checked(name, len(data), hashlib.sha256(data).hexdigest(), result, annotated,
                   layout.status, dict(layout.counts), rows)


def result_json(result: FileResult) -> dict:
    """FileResult.to_json() plus what the filler wrote in 填报单位说明 (to rebuild the result)."""
    doc = result.to_json()
    for f, j in zip(result.findings, doc["findings"]):
        j["explanation"] = f.explanation
    return doc


def result_from_json(doc: dict) -> FileResult:
    """A stored result back as a FileResult (for the collection's summary workbook)."""
    from ..findings import Finding
    findings = [Finding(**{k: j.get(k) for k in ("rule", "severity", "message", "sheet", "cell", "field",
                                                 "row", "value", "expected", "explained", "explanation")})
                for j in doc.get("findings", [])]
    return FileResult(doc["path"], doc["status"], findings, department=doc.get("department"),
                      year=doc.get("year"), template_version=doc.get("template_version"),
                      score_total=doc.get("score_total"), grade=doc.get("grade"))

