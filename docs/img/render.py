#!/usr/bin/env python3
"""Render the guides' screenshots from the real template (LibreOffice headless → PDF → pdftoppm).

    python docs/img/render.py            # writes docs/img/{guide,info,indicators,scores}.png

A copy issued for one department (xlcheck.distribute.make_copy) is filled with the clean test data
(tests/helpers_rules.py), converted to PDF by LibreOffice, and the top of each sheet's first page is
cut out with pdftoppm's crop options (no image library needed). summary.png / review.png are made
elsewhere.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

DPI = 110
# name: (text that identifies the sheet's first page, crop box in points: x, y, width, height)
SHOTS = {
    "guide": ("填报说明", (26, 38, 546, 284)),
    "info": ("部门基本信息", (26, 38, 546, 432)),
    "indicators": ("部门整体绩效指标完成情况", (28, 40, 788, 170)),
    "scores": ("部门整体支出绩效自评评分", (28, 40, 788, 200)),
}


def build(tmp: Path) -> Path:
    import copy

    from helpers_rules import CLEAN_CELLS, CLEAN_TABLES, full_scores
    from xlcheck.distribute import make_copy
    from xlcheck.fill import fill
    issued = make_copy(tmp / "issued.xlsx", department="广州市天河区工商业联合会", year=2024)
    cells = {k: v for k, v in CLEAN_CELLS.items() if k not in ("dept_name", "eval_year")}
    indicators = copy.deepcopy(CLEAN_TABLES["indicators"])
    for row in indicators:
        if row.get("计量单位") == "%":       # show a percentage the way a filler types it
            row.update({"年度目标值": 90, "年度实现值": 96})
    out = tmp / "天河区-2024.xlsx"
    fill(out, cells=cells, tables={"indicators": indicators, "scores": full_scores()}, template=issued)
    return out


def to_pdf(xlsx: Path, tmp: Path) -> Path:
    profile = Path(tempfile.mkdtemp(prefix="lo-"))
    try:
        subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(tmp), str(xlsx)],
                       check=True, capture_output=True, timeout=300)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return tmp / (xlsx.stem + ".pdf")


def page_of(pdf: Path, needle: str) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    for n in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if needle in text:
            return n
    raise SystemExit(f"no page shows {needle!r}")


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        pdf = to_pdf(build(tmp), tmp)
        for name, (needle, (x, y, w, h)) in SHOTS.items():
            n = page_of(pdf, needle)
            px = [round(v * DPI / 72) for v in (x, y, w, h)]
            subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(n), "-l", str(n), "-singlefile",
                            "-x", str(px[0]), "-y", str(px[1]), "-W", str(px[2]), "-H", str(px[3]),
                            str(pdf), str(HERE / name)], check=True)
            print(f"docs/img/{name}.png  (page {n})")


if __name__ == "__main__":
    main()
