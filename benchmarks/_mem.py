"""Run one command and report its wall-clock time, CPU time and peak memory.

    python benchmarks/_mem.py [--out FILE] -- CMD [ARG ...]

The command runs as this process's only child (``subprocess.run``); its stdin/stdout/stderr are
inherited. Afterwards this wrapper reports, as one JSON object (to FILE, or to stderr):

- ``wall_s``: ``time.perf_counter`` around ``subprocess.run`` (interpreter start and imports of the
  child count; the start of this wrapper does not);
- ``user_s``, ``sys_s``: CPU time of the child and of its own children (e.g. a process pool);
- ``maxrss_kib``: ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` — the peak resident memory of the
  largest single process of the child's tree (not a sum). It is a maximum over every child this
  process ever waited for, which is why each probe gets its own wrapper;
- ``returncode``: the child's exit status (also this wrapper's exit status).

Linux reports ru_maxrss in KiB, macOS in bytes; ``maxrss_kib`` is KiB on both.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    out = None
    if argv[:1] == ["--out"]:
        out, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rc = subprocess.run(argv).returncode
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = ru.ru_maxrss // 1024 if sys.platform == "darwin" else ru.ru_maxrss
    doc = {"wall_s": round(wall, 4), "user_s": round(ru.ru_utime, 4), "sys_s": round(ru.ru_stime, 4),
           "maxrss_kib": rss, "returncode": rc}
    text = json.dumps(doc)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
