"""Screenshots of workbook pages for the docs, without an image library: LibreOffice headless turns
workbooks into PDF, a page is found by its text (pdftotext), pdftoppm cuts a box of it to PNG."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

DPI = 110


def to_pdf(xlsx: list[Path], outdir: Path) -> list[Path]:
    """The workbooks as PDF in `outdir`, converted in one LibreOffice run on a throwaway profile."""
    profile = Path(tempfile.mkdtemp(prefix="lo-"))
    try:
        subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(outdir), *map(str, xlsx)],
                       check=True, capture_output=True, timeout=300)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return [outdir / (x.stem + ".pdf") for x in xlsx]


def page_of(pdf: Path, needle: str) -> int:
    """The first page (1-based) whose text contains `needle`."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for n, page in enumerate(text.split("\f"), 1):
        if needle in page:
            return n
    raise SystemExit(f"no page of {pdf.name} shows {needle!r}")


def crop(pdf: Path, page: int, box: tuple[float, float, float, float], png: Path) -> None:
    """Write `png` (its name without .png) from `box` (x, y, width, height in points) of `page`."""
    x, y, w, h = (round(v * DPI / 72) for v in box)
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                    "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(pdf), str(png.with_suffix(""))],
                   check=True)
