#!/usr/bin/env python3
"""Render docs/img/summary.png (汇总 sheet) and docs/img/summary-chart.png (图表 sheet) from a real run.

    python scripts/render_summary.py

Runs `xlcheck examples/ --out <tmp>` as a user would, converts the 汇总.xlsx it wrote to PDF with
LibreOffice headless and cuts the top of each sheet's first page out with pdftoppm's crop options.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from pdfshot import crop, page_of, to_pdf

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
# name: (text identifying the page, crop box in points: x, y, width, height)
SHOTS = {
    "summary": ("部门整体支出绩效自评审核汇总", (20, 30, 802, 200)),
    "summary-chart": ("审核汇总图表", (20, 30, 802, 445)),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        out = tmp / "out"
        subprocess.run([sys.executable, "-m", "xlcheck", str(ROOT / "examples"), "--out", str(out), "-q"],
                       capture_output=True, timeout=300)
        summary = out / "汇总.xlsx"
        if not summary.exists():
            raise SystemExit("xlcheck wrote no 汇总.xlsx")
        [pdf] = to_pdf([summary], tmp)
        for name, (needle, box) in SHOTS.items():
            n = page_of(pdf, needle)
            crop(pdf, n, box, IMG / f"{name}.png")
            print(f"docs/img/{name}.png  (page {n})")


if __name__ == "__main__":
    main()
