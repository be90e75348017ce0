#!/usr/bin/env python3
"""Print the write actions xlwings-server's Office.js client implements (the `funcs` map of
xlwings_server/static/js/custom-scripts/index.js), for addin/clients/officejs-actions.txt.

    python addin/clients/refresh.py /path/to/xlwings-server
"""
import sys
from pathlib import Path

src = (Path(sys.argv[1]) / "xlwings_server/static/js/custom-scripts/index.js").read_text(encoding="utf-8")
block = src[src.index("let funcs = {"):]
block = block[:block.index("};")]
names = sorted(line.strip().split(":")[0] for line in block.splitlines()[1:] if ":" in line)
print("\n".join(names))
