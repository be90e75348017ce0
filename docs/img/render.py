#!/usr/bin/env python3
"""Render the guides' screenshots from the real template (LibreOffice headless → PDF → pdftoppm).

    python docs/img/render.py    # writes docs/img/{guide,info,indicators,scores,selfcheck,selfcheck-cells}.png

A copy issued for one department (xlcheck.distribute.make_copy) is filled with the clean test data
(tests/helpers_rules.py); a second copy gets three typical mistakes, so that its 自查 panel counts
them and the cells turn red / amber. Both are converted to PDF by LibreOffice in one run, and the
top of a sheet's first page is cut out with pdftoppm's crop options (no image library needed).
summary.png / review.png are made elsewhere.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from pdfshot import crop, page_of, to_pdf  # noqa: E402

# name: (text that identifies the sheet's first page, crop box in points: x, y, width, height)
SHOTS = {
    # name: (workbook, text that identifies the sheet's first page, crop box in points: x, y, w, h)
    "guide": ("clean", "部门整体支出绩效自评表 · 填报说明", (26, 38, 546, 318)),
    "info": ("clean", "部门基本信息", (26, 38, 546, 500)),
    "indicators": ("clean", "部门整体绩效指标完成情况", (28, 40, 788, 170)),
    "scores": ("clean", "部门整体支出绩效自评评分", (28, 40, 788, 200)),
    "selfcheck": ("mistakes", "自查 · 填写时自动检查", (26, 38, 546, 500)),
    "selfcheck-cells": ("mistakes", "部门整体绩效指标完成情况", (28, 40, 788, 170)),
}


def build(tmp: Path) -> dict[str, Path]:
    import copy

    from helpers_rules import CLEAN_CELLS, CLEAN_TABLES, full_scores
    from xlcheck.distribute import make_copy
    from xlcheck.fill import fill
    issued = make_copy(tmp / "issued.xlsx", department="广州市天河区工商业联合会", year=2024)
    cells = {k: v for k, v in CLEAN_CELLS.items() if k not in ("dept_name", "eval_year")}
    tables = copy.deepcopy(CLEAN_TABLES)
    for row in tables["indicators"]:
        if row.get("计量单位") == "%":       # show a percentage the way a filler types it
            row.update({"年度目标值": 90, "年度实现值": 96})
    tables["scores"] = full_scores()
    out = {"clean": tmp / "天河区-2024.xlsx", "mistakes": tmp / "天河区-2024-自查.xlsx"}
    fill(out["clean"], cells=cells, tables=tables, template=issued)
    # three typical mistakes: a shortfall without reason, a target set too low, a breakdown that
    # does not add up
    tables["indicators"][1].update({"年度目标值": 140, "偏差原因": "", "改进措施": ""})
    tables["indicators"][2].update({"年度目标值": 15, "偏差原因": ""})
    fill(out["mistakes"], cells={**cells, "spend_general": 480.12}, tables=tables, template=issued)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        books = build(tmp)
        pdfs = dict(zip(books, to_pdf(list(books.values()), tmp)))
        for name, (book, needle, (x, y, w, h)) in SHOTS.items():
            pdf = pdfs[book]
            n = page_of(pdf, needle)
            crop(pdf, n, (x, y, w, h), HERE / f"{name}.png")
            print(f"docs/img/{name}.png  (page {n})")


if __name__ == "__main__":
    main()
