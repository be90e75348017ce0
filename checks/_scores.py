"""The scoring table read against the framework in force: its rows, which framework row each
carries, and how the two line up (shared by the PTS rules)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from xlcheck.framework import normalize_name

from ._text import cell_number, framework_keys, framework_row, memo

# ---------------------------------------------------------------- reading the scores table


@dataclass
class ScoreRow:
    row: object              # TableRow
    name: str                # 三级指标 as written
    key: str                 # normalized name
    level1: str              # 一级指标 (carried down over blank cells)
    level2: str              # 二级指标 (carried down)
    points: float | None     # 分值
    score: float | None      # 自评得分 (number, also when typed as text)

    @property
    def score_cell(self):
        return self.row.get("自评得分")


def stripped(v) -> str:
    return "" if v is None else str(v).strip()


def score_rows(wb) -> list[ScoreRow]:
    return memo(wb, "score_rows", lambda: _score_rows(wb))


def _score_rows(wb) -> list[ScoreRow]:
    out, l1, l2 = [], "", ""
    for r in wb.tables["scores"].rows:
        a, b = stripped(r.value("一级指标")), stripped(r.value("二级指标"))
        if a:
            l1 = a
        if b:
            l2 = b
        name = stripped(r.value("三级指标"))
        out.append(ScoreRow(r, name, normalize_name(name), l1, l2,
                            cell_number(r.get("分值")), cell_number(r.get("自评得分"))))
    return out


def matched_rows(wb, fw) -> dict[str, ScoreRow]:
    """Framework row name → the table row carrying that name."""
    return memo(wb, "matched_rows", lambda: _matched_rows(wb, fw))


def _matched_rows(wb, fw) -> dict[str, ScoreRow]:
    out = {}
    for sr in score_rows(wb):
        f = framework_row(fw, sr.name) if sr.name else None
        if f is not None and f.name not in out:
            out[f.name] = sr
    return out


def header_cell(wb, table, header):
    """The header cell of a column (where a finding about a missing row points)."""
    t = wb.tables[table]
    col = t.first_col + t.headers.index(header) if header in t.headers else t.first_col
    from xlcheck.ooxml import col_letters
    return t.sheet, f"{col_letters(col)}{t.header_row}"


def points_of(sr: ScoreRow, fw) -> float | None:
    """分值 of a row: the table's, else the framework's."""
    if sr.points is not None:
        return sr.points
    f = framework_row(fw, sr.name) if sr.name else None
    return f.points if f is not None else None


# ---------------------------------------------------------------- framework ↔ table


def alignment(wb, fw):
    return memo(wb, "alignment", lambda: _align(wb, fw))


def _align(wb, fw):
    rows = score_rows(wb)
    ka = framework_keys(fw)
    kb = [sr.key for sr in rows]
    if ka == kb:
        return rows, [("equal", 0, len(ka), 0, len(kb))]
    sm = difflib.SequenceMatcher(a=ka, b=kb, autojunk=False)
    return rows, sm.get_opcodes()
