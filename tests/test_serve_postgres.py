"""`xlcheck serve` on PostgreSQL (`--db postgresql+psycopg://…`): a throwaway cluster from Debian's
postgresql package (initdb in a temporary folder, Unix socket only), migrations, and the inbox and
access tests of test_serve.py run against it."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_serve import books, free_port, serving  # noqa: F401
from test_serve import test_a_department_reads_only_its_own_submissions as _isolation
from test_serve import test_codes_and_password_are_stored_hashed_and_schema_matches_migrations as _schema
from test_serve import test_inbox_statuses_after_three_departments_submit as _inbox

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
pytestmark = pytest.mark.skipif(not PG_BINS, reason="needs the PostgreSQL server binaries "
                                                     "(apt-get install -y postgresql)")


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("psycopg", reason="needs the psycopg driver (pip install 'psycopg[binary]')")
    bin_dir = PG_BINS[-1].parent
    d = Path(tempfile.mkdtemp(prefix="xlcheck-pg-"))
    as_user = []
    if os.geteuid() == 0:                       # PostgreSQL refuses to run as root
        shutil.chown(d, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = lambda *a: subprocess.run([*as_user, *map(str, a)], check=True, capture_output=True,  # noqa: E731
                                    timeout=120)
    run(bin_dir / "initdb", "-D", d / "data", "-A", "trust", "-U", "xlcheck", "-E", "UTF8", "--locale=C.UTF-8")
    run(bin_dir / "pg_ctl", "-D", d / "data", "-l", d / "log", "-w", "-o",
        f"-k {d} -p {port} -c listen_addresses=''", "start")
    try:
        yield f"postgresql+psycopg://xlcheck@/postgres?host={d}&port={port}"
    finally:
        run(bin_dir / "pg_ctl", "-D", d / "data", "-m", "immediate", "stop")
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, postgres):
    with serving(tmp_path_factory.mktemp("serve-pg"), db_url=postgres) as s:
        yield s


def test_postgresql_inbox_statuses(server, books):
    _inbox(server, books)


def test_postgresql_department_isolation(server, books):
    _isolation(server, books)


def test_postgresql_schema_matches_migrations(server):
    _schema(server)
