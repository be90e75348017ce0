#!/usr/bin/env python3
"""Render docs/img/summary.png (汇总 sheet) and docs/img/summary-chart.png (图表 sheet) from a real run.

    python scripts/render_summary.py

Runs `xlcheck examples/ --out <tmp>` as a user would, converts the 汇总.xlsx it wrote to PDF with
LibreOffice headless and cuts the top of each sheet's first page out with pdftoppm's crop options.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
DPI = 110
# name: (text identifying the page, crop box in points: x, y, width, height)
SHOTS = {
    "summary": ("部门整体支出绩效自评审核汇总", (20, 30, 802, 200)),
    "summary-chart": ("审核汇总图表", (20, 30, 802, 445)),
}


def page_of(pdf: Path, needle: str) -> int:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for n, page in enumerate(text.split("\f"), 1):
        if needle in page:
            return n
    raise SystemExit(f"no page shows {needle!r}")


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        out = tmp / "out"
        subprocess.run([sys.executable, "-m", "xlcheck", str(ROOT / "examples"), "--out", str(out), "-q"],
                       capture_output=True, timeout=300)
        summary = out / "汇总.xlsx"
        if not summary.exists():
            raise SystemExit("xlcheck wrote no 汇总.xlsx")
        profile = tmp / "lo"
        subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(tmp), str(summary)],
                       check=True, capture_output=True, timeout=300)
        pdf = tmp / "汇总.pdf"
        for name, (needle, box) in SHOTS.items():
            n = page_of(pdf, needle)
            x, y, w, h = (round(v * DPI / 72) for v in box)
            subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(n), "-l", str(n), "-singlefile",
                            "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(pdf), str(IMG / name)],
                           check=True)
            print(f"docs/img/{name}.png  (page {n})")
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
