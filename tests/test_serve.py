"""`xlcheck serve`, driven over HTTP: the real command (uvicorn) on 127.0.0.1, one server for the
module, set up the way a bureau sets it up (`xlcheck template --from-list` → codes,
`xlcheck serve --init --codes`). The browser half is tests/test_serve_browser.py.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import unquote

import httpx
import lxml.html
import openpyxl
import pytest

from xlcheck.distribute import issue_from_list, read_codes
from xlcheck.fill import fill
from xlcheck.review import write_review
from xlcheck.runner import check_paths

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "审核-2024-secret"
DEPTS = {"pass": "广州市甲区工商业联合会", "fail": "广州市乙区工商业联合会",
         "explained": "广州市丙区工商业联合会", "silent": "广州市丁区工商业联合会"}
NOTE = "本年度培训需求大幅增加，经党组会议研究增加培训期数，目标值按上年实际设定偏低。"
MAX_FILE_MB, MAX_FILES = 1, 3


# ---------------------------------------------------------------- workbooks

def example(name="clean-2024"):
    data = tomllib.loads((ROOT / "examples" / "data" / f"{name}.toml").read_text(encoding="utf-8"))
    tables = {k: data[k] for k in ("tasks", "indicators", "scores", "problems") if k in data}
    return dict(data["cells"]), tables


def passing(path: Path, dept: str) -> Path:
    cells, tables = example()
    fill(path, {**cells, "dept_name": dept}, tables)
    return path


def failing(path: Path, dept: str) -> Path:
    """预算调整率 typed as 0.00% over its formula: an error."""
    cells, tables = example()
    fill(path, {**cells, "dept_name": dept, "budget_adjust_rate": 0}, tables)
    return path


def explained(path: Path, dept: str) -> Path:
    """One warning only (an indicator at 150% without 偏差原因), explained in 审核结果 the way a
    district does it: the review sheet written, 填报单位说明 typed in, saved."""
    cells, tables = example()
    tables = copy.deepcopy(tables)
    tables["indicators"][0]["年度实现值"] = 9          # target 6
    raw = path.with_name("raw-" + path.name)
    fill(raw, {**cells, "dept_name": dept}, tables)
    res = next(check_paths([raw]))
    assert [f.severity for f in res.findings] == ["warning"], res.findings
    write_review(raw, path, res)
    wb = openpyxl.load_workbook(path)
    ws = wb["审核结果"]
    head = next(r for r in ws.iter_rows() if any(c.value == "规则" for c in r))
    col = {c.value: c.column for c in head}
    row = next(r for r in ws.iter_rows(min_row=head[0].row + 1) if r[col["规则"] - 1].value == res.findings[0].rule)
    row[col["填报单位说明"] - 1].value = NOTE
    wb.save(path)
    return path


def cli_json(*paths: Path) -> dict | list[dict]:
    """`xlcheck PATH… --format json --no-write`: the file entries (one run for all paths)."""
    r = subprocess.run([sys.executable, "-m", "xlcheck", *map(str, paths), "--format", "json", "--no-write"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    files = json.loads(r.stdout)["files"]
    return files[0] if len(paths) == 1 else files


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, db_url: str, codes: dict[str, str], proc: subprocess.Popen, log: Path):
        self.url, self.db_url, self.codes, self.proc, self.log = url, db_url, codes, proc, log
        self.db = Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)

    def bureau(self) -> httpx.Client:
        c = self.client()
        r = c.post("/login", data={"password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/inbox", r.text
        return c

    def stored(self) -> int:
        """Submissions in the database, read directly (not through the service)."""
        from sqlalchemy import create_engine, text
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("select count(*) from submissions")).scalar_one()
        finally:
            engine.dispose()


@contextlib.contextmanager
def serving(tmp: Path, depts=DEPTS, extra=(), db_url: str | None = None):
    """The bureau's setup, then `xlcheck serve` on a free loopback port (from when it answers until
    the block ends)."""
    lst = tmp / "名单.csv"
    lst.write_text("部门名称,被评价年度\n" + "".join(f"{d},2024\n" for d in depts.values()), encoding="utf-8")
    rep = issue_from_list(lst, tmp / "下发")
    assert rep.ok and rep.codes is not None, rep.problems
    by_name = {r.department: r.code for r in read_codes(rep.codes)}
    codes = {k: by_name[d] for k, d in depts.items()}
    db_url = db_url or f"sqlite:///{tmp / 'serve.sqlite3'}"
    env = {**os.environ, "XLCHECK_BUREAU_PASSWORD": PASSWORD}
    init = subprocess.run([sys.executable, "-m", "xlcheck", "serve", "--init", "--db", db_url,
                           "--codes", str(rep.codes)], capture_output=True, text=True, env=env, timeout=120)
    assert init.returncode == 0, init.stderr
    port = free_port()
    log = tmp / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "xlcheck", "serve", "--db", db_url,
                             "--port", str(port), "--max-file-mb", str(MAX_FILE_MB), "--max-files", str(MAX_FILES),
                             *extra], stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).text == "ok":
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError("server did not start:\n" + log.read_text(encoding="utf-8"))
        time.sleep(0.1)
    try:
        yield Server(url, db_url, codes, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("serve")) as s:
        yield s


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = tmp_path_factory.mktemp("books")
    return {"pass": passing(d / "甲-2024.xlsx", DEPTS["pass"]),
            "fail": failing(d / "乙-2024.xlsx", DEPTS["fail"]),
            "explained": explained(d / "丙-2024.xlsx", DEPTS["explained"])}


def upload(client: httpx.Client, paths, code: str | None = None, names=None):
    files = [("file", ((names or {}).get(p, Path(p).name), Path(p).read_bytes(), "application/octet-stream"))
             for p in paths]
    return client.post("/api/check", files=files, data={"code": code} if code else {})


def table_rows(html: str, table_id: str) -> list[list[str]]:
    doc = lxml.html.fromstring(html)
    return [[td.text_content().strip() for td in tr.findall("td")] for tr in doc.get_element_by_id(table_id)
            .iter("tr") if tr.findall("td")]


# ---------------------------------------------------------------- the xlwings remote endpoint

REVIEW_HEADERS = ["序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值", "填报单位说明", "状态"]
_LINK = re.compile(r'^=HYPERLINK\("[^"]*","(.*)"\)$')


def review_findings(actions: dict, payload: dict) -> list[tuple]:
    """(rule, sheet, cell, message) of the rows the actions write into 审核结果."""
    names = [s["name"] for s in payload["sheets"]]
    added = [a for a in actions["actions"] if a["func"] == "addSheet"]
    pos = names.index("审核结果") if "审核结果" in names else len(names)
    assert "审核结果" in names or added, "the review sheet is created"
    writes = [a for a in actions["actions"] if a["func"] == "setValues" and a["sheet_position"] == pos]
    assert len(writes) == 1
    rows = writes[0]["values"]

    def text(v):
        m = _LINK.match(v) if isinstance(v, str) else None
        return m.group(1) if m else (v[1:] if isinstance(v, str) and v.startswith("'") else v)
    head = next(i for i, r in enumerate(rows) if [text(v) for v in r[:len(REVIEW_HEADERS)]] == REVIEW_HEADERS)
    out = []
    for r in rows[head + 1:]:
        r = [text(v) for v in r]
        if not r[2]:
            break
        out.append((r[2], r[3], r[4], r[5]))
    return out


@pytest.fixture(scope="module")
def recalculated_books(books, tmp_path_factory):
    """What Excel would show: the workbooks opened and saved by LibreOffice (one run)."""
    from payloads import recalculated
    d = tmp_path_factory.mktemp("recalc")
    srcs = [books["fail"], books["explained"]]
    copies = []
    for i, p in enumerate(srcs):
        q = d / f"in{i}-{p.name}"
        q.write_bytes(p.read_bytes())
        copies.append(q)
    return recalculated(copies, d / "out")


@pytest.mark.libreoffice
def test_remote_endpoint_returns_the_cli_findings_as_xlwings_actions(server, recalculated_books):
    from payloads import book_payload
    c = server.client()
    for path in recalculated_books:
        payload = book_payload(path)
        r = c.post("/xlwings/validate", json=payload)
        assert r.status_code == 200, r.text
        got = review_findings(r.json(), payload)
        want = [(f["rule"], f["sheet"], (f["cell"] or "").replace("$", ""), f["message"])
                for f in cli_json(path)["findings"]]
        assert got and sorted(got) == sorted(want)
    # the 已说明 workbook: the explanation typed in 审核结果 travels back as written
    payload = book_payload(recalculated_books[1])
    acts = c.post("/xlwings/validate", json=payload).json()["actions"]
    pos = [s["name"] for s in payload["sheets"]].index("审核结果")
    write = next(a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos)
    assert any(NOTE in row and "已说明" in row for row in write["values"])


def test_remote_endpoint_codes_and_bad_requests(server, books):
    from payloads import book_payload
    c = server.client()
    before = server.stored()
    payload = book_payload(books["pass"])
    r = c.post("/xlwings/validate", json=payload, headers={"Authorization": "WRONG-CODE-0000"})
    assert r.status_code == 403 and "报送码不正确" in r.text
    r = c.post("/xlwings/validate", json=payload, headers={"Authorization": server.codes["pass"]})
    assert r.status_code == 200 and r.json()["actions"]
    for body in (b"<html>not json</html>", b"[" * 100_000 + b"]" * 100_000, b'{"sheets": 3}'):
        r = c.post("/xlwings/validate", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "不是 xlwings 工作簿数据" in r.text
    assert server.stored() == before


# ---------------------------------------------------------------- uploads, inbox, access

def test_self_check_returns_findings_and_annotated_copy_and_stores_nothing(server, books):
    import base64
    before = server.stored()
    r = upload(server.client(), [books["fail"]])
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["ok"] and not doc["stored"]
    (item,) = doc["files"]
    cli = cli_json(books["fail"])
    assert item["status"] == "未通过" and item["counts"]["error"] == cli["counts"]["error"] > 0
    assert [(x["rule"], x["sheet"], x["cell"], x["message"]) for x in item["rows"]] == \
        [(f["rule"], f["sheet"], (f["cell"] or "").replace("$", ""), f["message"]) for f in cli["findings"]]
    annotated = base64.b64decode(item["annotated"])
    wb = openpyxl.load_workbook(io.BytesIO(annotated))
    assert "审核结果" in wb.sheetnames
    assert server.stored() == before


def test_inbox_statuses_after_three_departments_submit(server, books):
    c = server.client()
    for key in ("pass", "fail", "explained"):
        r = upload(c, [books[key]], code=server.codes[key])
        assert r.status_code == 200 and r.json()["stored"], r.text
    r = upload(c, [books["fail"]], code=server.codes["fail"].lower().replace("-", " "))  # typed loosely
    assert r.status_code == 200 and r.json()["stored"]
    # the "silent" department's code used for another department's workbook of another year: kept,
    # and the inbox says what the workbook claims (the department is not 未报送 any more)
    other = failing(books["fail"].with_name("戊-2023.xlsx"), "广州市戊区工商业联合会")
    wb = openpyxl.load_workbook(other)
    from xlcheck.fill import name_cell
    sheet, ref = name_cell(wb, "eval_year")
    wb[sheet][ref] = 2023
    wb.save(other)
    assert upload(c, [other], code=server.codes["silent"]).json()["stored"]
    b = server.bureau()
    rows = {row[0]: row for row in table_rows(b.get("/inbox").text, "inbox")}
    assert {k: rows[d][2] for k, d in DEPTS.items()} == {
        "pass": "通过", "fail": "未通过", "explained": "已说明", "silent": "未通过"}
    assert rows[DEPTS["fail"]][9] == "2" and rows[DEPTS["silent"]][9] == "1"
    assert rows[DEPTS["silent"]][11] == "工作簿中部门为“广州市戊区工商业联合会”、年度为 2023"
    assert [rows[DEPTS[k]][11] for k in ("pass", "fail", "explained")] == ["", "", ""]
    # a department's history: every submission kept, newest first
    page = b.get(lxml.html.fromstring(b.get("/inbox").text).xpath(
        f'//a[text()="{DEPTS["fail"]}"]/@href')[0]).text
    history = table_rows(page, "history")
    assert len(history) == 2 and int(history[0][0]) > int(history[1][0])
    assert all(row[3] == "未通过" and row[2] == books["fail"].name for row in history)
    # the collection's summary workbook: the latest submission of each department
    r = b.get("/inbox/summary.xlsx")
    assert r.status_code == 200 and "UTF-8''汇总.xlsx" in unquote(r.headers["content-disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    text = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    for key in ("pass", "fail", "explained"):
        assert DEPTS[key] in text
    assert "广州市戊区工商业联合会" in text      # the summary lists what the workbooks say


def test_a_department_reads_only_its_own_submissions(server, books):
    a, b = server.client(), server.client()
    ra = upload(a, [books["pass"]], code=server.codes["pass"])
    rb = upload(b, [books["fail"]], code=server.codes["fail"])
    ida, idb = ra.json()["files"][0]["submission"], rb.json()["files"][0]["submission"]
    own = a.get(f"/submissions/{ida}/original")
    assert own.status_code == 200 and own.content == books["pass"].read_bytes()    # kept as received
    assert a.get(f"/submissions/{ida}/annotated").status_code == 200
    for which in ("annotated", "original"):
        r = a.get(f"/submissions/{idb}/{which}")
        assert r.status_code == 404 and books["fail"].read_bytes() != r.content
    assert server.client().get(f"/submissions/{ida}/annotated").status_code == 401   # nobody
    page = a.get("/my").text
    ids = {row[0] for row in table_rows(page, "history")}
    assert str(ida) in ids and str(idb) not in ids
    assert DEPTS["fail"] not in page
    # the department's own page, entered with the code
    fresh = server.client()
    assert fresh.post("/my", data={"code": "WRONG"}).status_code == 403
    r = fresh.post("/my", data={"code": server.codes["pass"]})
    assert r.status_code == 303 and r.headers["location"] == "/my"
    assert str(ida) in {row[0] for row in table_rows(fresh.get("/my").text, "history")}
    # a cookie signed for another department cannot be forged from the outside
    forged = server.client()
    forged.cookies.set("xlcheck_dept", a.cookies["xlcheck_dept"].replace(
        a.cookies["xlcheck_dept"].split(".")[0], f"dept:{idb}"))
    assert forged.get(f"/submissions/{idb}/original").status_code == 401
    # the bureau reads both
    bureau = server.bureau()
    assert bureau.get(f"/submissions/{idb}/original").content == books["fail"].read_bytes()


def test_wrong_bureau_password_is_refused(server):
    c = server.client()
    r = c.post("/login", data={"password": PASSWORD + "x"})
    assert r.status_code == 401 and "密码错误" in r.text and "xlcheck_bureau" not in r.cookies
    assert c.get("/inbox").headers["location"] == "/login"
    assert c.get("/inbox/summary.xlsx").status_code == 401
    c.cookies.set("xlcheck_bureau", "bureau.9999999999.0000")
    assert c.get("/inbox").status_code == 303


def test_oversized_and_hostile_uploads_get_a_chinese_reason_and_nothing_is_stored(server, books, tmp_path):
    import bad_inputs
    c = server.client()
    before = server.stored()
    code = server.codes["pass"]
    big = tmp_path / "big.xlsx"
    big.write_bytes(os.urandom(int(MAX_FILE_MB * 1024 * 1024) + 10))
    r = upload(c, [big], code=code)
    assert r.status_code == 413 and "超过 1 MB" in r.json()["error"] and "未保存" in r.json()["error"]
    many = [books["pass"]] * (MAX_FILES + 1)
    r = upload(c, many, code=code)
    assert r.status_code == 413 and f"一次最多上传 {MAX_FILES} 个文件" in r.json()["error"]
    r = c.post("/api/check", content=b"x" * (int(MAX_FILE_MB * 1024 * 1024) * (MAX_FILES + 2)),
               headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413 and "过大" in r.json()["error"]
    hostile = [make(tmp_path) for make in (bad_inputs.make_zip_bomb, bad_inputs.make_encrypted,
                                           bad_inputs.make_html, bad_inputs.make_truncated,
                                           bad_inputs.make_xls_renamed)]
    for p, want in zip(hostile, cli_json(*hostile)):
        assert want["status"] == "unreadable"
        # a good file beside a hostile one: the whole upload is refused, nothing stored
        r = upload(c, [books["pass"], p], code=code)
        doc = r.json()
        assert r.status_code == 422 and not doc["ok"], doc
        assert doc["rule"] == want["findings"][0]["rule"] and want["findings"][0]["message"] in doc["error"]
        assert doc["error"].startswith(f"文件“{p.name}”无法审核") and "未保存任何内容" in doc["error"]
    r = upload(c, [books["pass"]], code="AAAA-BBBB-CCCC")
    assert r.status_code == 403 and "报送码不正确" in r.json()["error"]
    r = upload(c, [books["pass"]], code=code, names={books["pass"]: "../../etc/passwd\x00.xlsx"})
    shown = r.json()["files"][0]["file"]
    assert r.status_code == 200 and shown.startswith("passwd") and "/" not in shown and ".." not in shown
    assert server.stored() == before + 1       # only the last, good one


def test_codes_and_password_are_stored_hashed_and_schema_matches_migrations(server):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, text

    from xlcheck.serve.db import Base
    engine = create_engine(server.db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        rows = [*conn.execute(text("select * from departments")), *conn.execute(text("select * from settings"))]
    engine.dispose()
    data = "\n".join(str(v) for row in rows for v in row).encode()
    if server.db is not None:     # SQLite: the files themselves, journal included
        data += b"".join(p.read_bytes() for p in server.db.parent.glob(server.db.name + "*"))
    assert len(rows) == len(DEPTS) + 2          # the departments; cookie secret and password hash
    for code in server.codes.values():
        assert code.encode() not in data and code.replace("-", "").encode() not in data
    assert PASSWORD.encode("utf-8") not in data and b"scrypt$" in data


def test_require_code_mode_refuses_anonymous_checks(tmp_path, books):
    """`--require-code`: no self-check and no remote check without a department's code (in-process
    app: the setting, not the server, is under test)."""
    from starlette.testclient import TestClient

    from payloads import book_payload
    from xlcheck.serve.app import ServeConfig, create_app
    app = create_app(ServeConfig(db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", require_code=True))
    with TestClient(app) as c:
        assert 'required' in c.get("/").text
        r = c.post("/api/check", files=[("file", ("a.xlsx", books["pass"].read_bytes()))])
        assert r.status_code == 403 and "请填写本部门的报送码" in r.json()["error"]
        r = c.post("/xlwings/validate", json=book_payload(books["pass"]))
        assert r.status_code == 403 and "报送码" in r.text


def test_serve_command_refuses_bad_setup_in_chinese(tmp_path):
    from click.testing import CliRunner

    from xlcheck.cli import main
    db = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    run = CliRunner().invoke
    r = run(main, ["serve", "--init", "--db", db], env={"XLCHECK_BUREAU_PASSWORD": "short"})
    assert r.exit_code == 2 and "密码至少 8 个字符" in r.output
    bad = tmp_path / "codes.csv"
    bad.write_text("名称,年度\n某局,2024\n", encoding="utf-8")
    r = run(main, ["serve", "--init", "--db", db, "--codes", str(bad)], env={"XLCHECK_BUREAU_PASSWORD": PASSWORD})
    assert r.exit_code == 2 and "报送码文件的表头应为" in r.output
    r = run(main, ["serve", "--init", "--db", "nosuchdb://x"], env={"XLCHECK_BUREAU_PASSWORD": PASSWORD})
    assert r.exit_code == 2 and "无法打开数据库" in r.output


def test_an_engine_bug_is_a_chinese_500(tmp_path, books, monkeypatch):
    from starlette.testclient import TestClient

    from xlcheck.serve import app as app_module
    from xlcheck.serve.app import ServeConfig, create_app

    def boom(*_a, **_k):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(app_module, "check_upload", boom)
    app = create_app(ServeConfig(db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/check", files=[("file", ("a.xlsx", books["pass"].read_bytes()))])
    assert r.status_code == 500 and "审核时程序出错（ZeroDivisionError）" in r.json()["error"]


def test_repeated_failed_sign_ins_are_refused_for_a_while(tmp_path):
    """Failed sign-ins are counted per client address (parallel guessing is bounded, not only slowed):
    after `login_attempts` wrong passwords even the right one is refused, in Chinese; a success
    clears the count; department codes are counted apart."""
    from starlette.testclient import TestClient

    from xlcheck.serve import db
    from xlcheck.serve.app import ServeConfig, create_app
    from xlcheck.serve.security import hash_password
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    with db.sessions(engine).begin() as s:
        db.set_setting(s, "bureau_password", hash_password(PASSWORD))
    app = create_app(ServeConfig(db_url=url, login_attempts=2), engine=engine)
    with TestClient(app) as c:
        assert c.post("/login", data={"password": "wrong-password"}).status_code == 401
        assert c.post("/login", data={"password": PASSWORD}, follow_redirects=False).status_code == 303
        for _ in range(2):      # the success cleared the first failure: two more are allowed
            assert c.post("/login", data={"password": "wrong-password"}).status_code == 401
        r = c.post("/login", data={"password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 429 and "登录失败次数过多，请 15 分钟后再试" in r.text
        r = c.post("/my", data={"code": "AAAA-BBBB-CCCC"})
        assert r.status_code == 403 and "报送码不正确" in r.text
        assert c.post("/my", data={"code": "AAAA-BBBB-CCCC"}).status_code == 403
        assert c.post("/my", data={"code": "AAAA-BBBB-CCCC"}).status_code == 429


def test_throttle_forgets_failures_after_its_window():
    from xlcheck.serve.security import Throttle
    t = Throttle(limit=1, window=0.3)
    assert t.wait("a") == 0
    t.failed("a")
    assert t.wait("a") == 1 and t.wait("b") == 0
    time.sleep(0.35)
    assert t.wait("a") == 0
