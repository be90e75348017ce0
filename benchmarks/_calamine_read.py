"""The physical floor: read every sheet's values of every workbook with python-calamine, nothing else.

    python benchmarks/_calamine_read.py PATH [PATH ...]     (files, or folders searched recursively)
"""
from __future__ import annotations

import os
import sys

from python_calamine import CalamineWorkbook


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith((".xlsx", ".xlsm")):
                        yield os.path.join(root, n)
        else:
            yield p


def main(paths) -> int:
    n_files = n_rows = 0
    for p in files(paths):
        wb = CalamineWorkbook.from_path(p)
        for name in wb.sheet_names:
            n_rows += len(wb.get_sheet_by_name(name).to_python())
        n_files += 1
    print(f"{n_files} files, {n_rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
