"""A finding: one problem a rule found, with its exact place in the workbook."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SEVERITIES = ("error", "warning", "info")
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(slots=True)
class Finding:
    rule: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None
    row: int | None = None
    value: Any = None
    expected: Any = None
    explained: bool = False
    explanation: str | None = None     # what the filler wrote in 填报单位说明
    note_problem: str | None = None    # why that explanation does not count (placeholder, too short …)

    @property
    def key(self) -> tuple:
        """Same rule, same place: stable across re-runs even when the layout moves."""
        if self.field:
            return (self.rule, self.field, self.row)
        return (self.rule, self.sheet, self.cell)

    @property
    def batch_level(self) -> bool:
        """A finding about the run's collection (COL…): it belongs to the run's report and summary,
        not to one district's own review sheet."""
        return self.rule.startswith("COL")

    @property
    def blocking(self) -> bool:
        return self.severity == "error" or (self.severity == "warning" and not self.explained)

    def sort_key(self) -> tuple:
        return (SEVERITY_RANK.get(self.severity, 9), self.sheet or "", self.row or 0, self.cell or "", self.rule)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("explanation")
        d.pop("note_problem")
        for k in ("value", "expected"):
            v = d[k]
            if v is not None and not isinstance(v, (str, int, float, bool)):
                d[k] = str(v)
        return d


def counts(findings) -> dict[str, int]:
    c = {s: 0 for s in SEVERITIES}
    for f in findings:
        c[f.severity] = c.get(f.severity, 0) + 1
    return c


def passes(findings) -> bool:
    return not any(f.blocking for f in findings)
