"""What a run says about one file: its findings, status and summary, and their JSON form."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .findings import Finding, counts, passes


def display_path(path: str) -> str:
    """A path fit to show and to write into JSON/XML: file names from a Windows zip unpacked on Linux
    arrive as undecodable bytes (surrogates); they are usually GBK, so show them as such."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        for enc in ("gbk", "big5"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                pass
        return raw.decode("utf-8", "replace")


@dataclass
class FileResult:
    path: str
    status: str                         # "pass" | "fail" | "unreadable"
    findings: list[Finding] = field(default_factory=list)
    department: str | None = None
    year: int | None = None
    template_version: str | None = None
    score_total: float | None = None
    grade: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    def to_json(self) -> dict:
        return {
            "path": display_path(self.path), "status": self.status, "department": self.department,
            "year": self.year, "template_version": self.template_version,
            "score_total": self.score_total, "grade": self.grade, "counts": self.counts,
            "findings": [f.to_json() for f in self.findings],
        }

    def settle(self) -> None:
        """Order findings (errors first) and set the status from them."""
        self.findings.sort(key=Finding.sort_key)
        if self.status != "unreadable":
            self.status = "pass" if passes(self.findings) else "fail"
