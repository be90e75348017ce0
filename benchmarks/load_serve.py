"""Load test of `xlcheck serve` on loopback: N submissions from C concurrent clients.

    python benchmarks/load_serve.py [--submissions 200] [--clients 20]

Sets up a service the way a bureau does (C departments with codes, SQLite file in a temporary
folder), starts the real command (`xlcheck serve`, uvicorn) on a free port, and lets C clients
(one department each, asyncio + httpx) submit the example workbooks in turn. Then it checks that
none was lost — every answer 200 and stored, as many rows in the database as answers, each stored
original byte-identical to what was sent — and prints latency percentiles per check (one
workbook per request: upload, sniff, read, check, annotated copy, database write, answer).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.xlsx"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(tmp: Path, clients: int) -> tuple[Path, list[str]]:
    from xlcheck.distribute import CodeRow, new_code, write_codes
    codes = [new_code() for _ in range(clients)]
    rows = [CodeRow(f"压测部门{i + 1:02d}", 2024, f"压测部门{i + 1:02d}-2024.xlsx", c) for i, c in enumerate(codes)]
    codes_file = tmp / "下发-报送码.csv"
    write_codes(codes_file, rows)
    db = tmp / "load.sqlite3"
    env = {**os.environ, "XLCHECK_BUREAU_PASSWORD": "load-test-password"}
    subprocess.run([sys.executable, "-m", "xlcheck", "serve", "--init", "--db", f"sqlite:///{db}",
                    "--codes", str(codes_file)], check=True, env=env, capture_output=True)
    return db, codes


def start(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "xlcheck", "serve", "--db", f"sqlite:///{db}",
                             "--port", str(port)], stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    end = time.time() + 60
    while time.time() < end:
        try:
            if httpx.get(url + "/healthz", timeout=2).text == "ok":
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start:\n" + log.read_text(encoding="utf-8"))


async def client(url: str, code: str, n: int, start_at: int, files: list[tuple[str, bytes]], out: list):
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        for k in range(n):
            name, data = files[(start_at + k) % len(files)]
            t = time.perf_counter()
            r = await c.post("/api/check", files=[("file", (name, data, "application/octet-stream"))],
                             data={"code": code})
            dt = time.perf_counter() - t
            doc = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            out.append({"status": r.status_code, "stored": doc.get("stored"), "latency": dt,
                        "sha": hashlib.sha256(data).hexdigest(),
                        "id": (doc.get("files") or [{}])[0].get("submission")})


async def run(url: str, codes: list[str], total: int, files) -> tuple[list, float]:
    out: list = []
    per = [total // len(codes) + (i < total % len(codes)) for i in range(len(codes))]
    t = time.perf_counter()
    await asyncio.gather(*(client(url, code, per[i], i, files, out) for i, code in enumerate(codes)))
    return out, time.perf_counter() - t


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=200)
    ap.add_argument("--clients", type=int, default=20)
    a = ap.parse_args(argv)
    files = [(p.name, p.read_bytes()) for p in EXAMPLES]
    with tempfile.TemporaryDirectory(prefix="xlcheck-load-") as tmp:
        tmp = Path(tmp)
        db, codes = setup(tmp, a.clients)
        proc, url = start(db, tmp / "server.log")
        try:
            # one client alone first: the latency of a check without contention
            solo, _ = asyncio.run(run(url, codes[:1], 10, files))
            results, wall = asyncio.run(run(url, codes, a.submissions, files))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        con = sqlite3.connect(db)
        stored = con.execute("select count(*) from submissions").fetchone()[0]
        shas = dict(con.execute("select id, sha256 from submissions").fetchall())
        originals = {i: hashlib.sha256(b).hexdigest() for i, b in con.execute("select id, original from submissions")}
        con.close()
    ok = [r for r in results if r["status"] == 200 and r["stored"]]
    ids = [r["id"] for r in ok]
    intact = all(originals.get(r["id"]) == r["sha"] == shas.get(r["id"]) for r in ok)
    lost = a.submissions - len(ok)
    expected_rows = a.submissions + len(solo)
    lat = [r["latency"] * 1000 for r in results]
    solo_lat = [r["latency"] * 1000 for r in solo]
    print(f"examples: {', '.join(n for n, _ in files)}; {os.cpu_count()} CPUs; SQLite")
    print(f"{a.submissions} submissions from {a.clients} concurrent clients in {wall:.1f} s "
          f"({a.submissions / wall:.1f} checks/s)")
    print(f"answered 200 and stored: {len(ok)}; lost: {lost}; distinct ids: {len(set(ids))}; "
          f"rows in the database: {stored} (expected {expected_rows}); originals intact: {intact}")
    print(f"latency per check, {a.clients} clients: p50 {statistics.median(lat):.0f} ms, "
          f"p95 {pct(lat, 95):.0f} ms, max {max(lat):.0f} ms")
    print(f"latency per check, 1 client:  p50 {statistics.median(solo_lat):.0f} ms, "
          f"p95 {pct(solo_lat, 95):.0f} ms")
    return 0 if (lost == 0 and len(set(ids)) == len(ok) and stored == expected_rows and intact) else 1


if __name__ == "__main__":
    sys.exit(main())
