"""The service's routes (Starlette). `create_app(ServeConfig(...))` builds the ASGI app.

Pages are server-rendered Chinese HTML (Jinja2, autoescaped); the upload page adds a little plain
JavaScript for drag and drop. Checking and database work are synchronous and run in Starlette's
thread pool, so one slow check never blocks the event loop.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__
from . import db
from .checking import Rejected, check_upload, result_from_json, result_json, safe_name
from .security import Throttle, check_password, code_hash, sign, unsign

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
BUREAU_COOKIE, DEPT_COOKIE = "xlcheck_bureau", "xlcheck_dept"
SESSION_SECONDS = 8 * 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATUS_NONE, STATUS_FAIL, STATUS_PASS, STATUS_EXPLAINED = "未报送", "未通过", "通过", "已说明"


@dataclass
class ServeConfig:
    db_url: str = db.DEFAULT_DB
    max_file_mb: float = 20          # one workbook (the template filled in is well under 1 MB)
    max_files: int = 10              # files per upload
    max_json_mb: float = 50          # the add-in's book payload (values of every sheet)
    require_code: bool = False       # self-check only with a department's code
    checks_dir: str | None = None
    login_attempts: int = 10         # failed sign-ins per client address within 15 minutes


def department_status(sub) -> str:
    if sub is None:
        return STATUS_NONE
    if sub.status != "pass":
        return STATUS_FAIL
    return STATUS_EXPLAINED if sub.explained else STATUS_PASS


def mismatch(dept, sub) -> str:
    """What the submitted workbook says about whose and which year it is, when that is not the
    department and year the code was issued for ("" when it agrees or says nothing)."""
    if sub is None:
        return ""
    from ..department_list import department_key
    doc = json.loads(sub.result_json)
    name, year = doc.get("department"), doc.get("year")
    parts = []
    if name and department_key(name) != department_key(dept.name):
        parts.append(f"部门为“{name}”")
    if year and year != dept.year:
        parts.append(f"年度为 {year}")
    return "工作簿中" + "、".join(parts) if parts else ""


def _client(request: Request) -> str:
    # behind the bureau's proxy uvicorn puts the X-Forwarded-For address here (trusted from 127.0.0.1)
    return request.client.host if request.client else "?"


def _download(data: bytes, name: str, media_type: str = XLSX_TYPE) -> Response:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disp = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disp,
                                                           "X-Content-Type-Options": "nosniff"})


def _error(reason: str, status: int = 422, **extra) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason, **extra}, status_code=status)


class Service:
    """The routes' state: config, database sessions, templates."""

    def __init__(self, cfg: ServeConfig, engine=None):
        self.cfg = cfg
        self.engine = engine or db.make_engine(cfg.db_url)
        db.migrate(self.engine)
        self.Session = db.sessions(self.engine)
        with self.Session.begin() as s:
            self.secret = db.get_setting(s, "cookie_secret")
            if self.secret is None:
                self.secret = secrets.token_hex(32)
                db.set_setting(s, "cookie_secret", self.secret)
            self.require_code = cfg.require_code or db.get_setting(s, "require_code") == "1"
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.remote_lock = threading.Lock()   # xlwings' remote engine keeps one "active" book
        # failed sign-ins per client, counted apart: a valid code must not reset the password's count
        self.password_tries, self.code_tries = Throttle(cfg.login_attempts), Throttle(cfg.login_attempts)
        from ..rules import load_checks
        load_checks(cfg.checks_dir)           # loaded once, before requests arrive in threads

    # ------------------------------------------------------------ who is asking

    def is_bureau(self, request: Request) -> bool:
        return unsign(self.secret, request.cookies.get(BUREAU_COOKIE)) == "bureau"

    def dept_id(self, request: Request) -> int | None:
        payload = unsign(self.secret, request.cookies.get(DEPT_COOKIE))
        if payload and payload.startswith("dept:"):
            try:
                return int(payload[5:])
            except ValueError:
                return None
        return None

    def set_cookie(self, resp, request: Request, name: str, payload: str) -> None:
        """A signed session cookie; Secure when the request came over HTTPS (also behind the proxy,
        whose X-Forwarded-Proto uvicorn trusts from 127.0.0.1)."""
        resp.set_cookie(name, sign(self.secret, payload, SESSION_SECONDS), max_age=SESSION_SECONDS,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")

    def find_department(self, code: str):
        if not code or not code.strip():
            return None
        with self.Session() as s:
            return s.scalars(select(db.Department).where(db.Department.code_hash == code_hash(code))).first()

    def page(self, request: Request, name: str, status_code: int = 200, **ctx):
        ctx.setdefault("is_bureau", self.is_bureau(request))
        ctx.setdefault("version", __version__)
        return self.templates.TemplateResponse(request, name, ctx, status_code=status_code)

    # ------------------------------------------------------------ upload page and checking

    async def index(self, request: Request):
        return self.page(request, "index.html", require_code=self.require_code, max_file_mb=self.cfg.max_file_mb,
                         max_files=self.cfg.max_files)

    async def api_check(self, request: Request):
        cfg = self.cfg
        limit = int(cfg.max_file_mb * MB * cfg.max_files + MB)
        length = request.headers.get("content-length")
        if length is None:
            return _error("上传请求缺少长度信息（Content-Length），请用本页面上传", 411)
        try:
            too_big = int(length) > limit
        except ValueError:
            return _error("上传请求的长度信息无效", 400)
        if too_big:
            return _error(f"上传的文件过大：一次最多上传 {cfg.max_files} 个文件，每个不超过 {cfg.max_file_mb:g} MB；"
                          "未保存任何内容", 413)
        try:
            form = await request.form(max_files=cfg.max_files, max_fields=20)
        except HTTPException as e:
            if "files" in str(e.detail).lower():
                return _error(f"一次最多上传 {cfg.max_files} 个文件；未保存任何内容", 413)
            return _error(f"上传内容无法识别（{e.detail}）；未保存任何内容", 400)
        try:
            return await self._check_form(request, form)
        finally:
            await form.close()

    async def _check_form(self, request: Request, form):
        cfg = self.cfg
        uploads = [v for k, v in form.multi_items() if k == "file" and hasattr(v, "read")]
        if not uploads:
            return _error("没有收到文件：请选择或拖入用填报模板填写的 .xlsx 工作簿", 400)
        code = str(form.get("code") or "").strip()
        dept = None
        if code:
            dept = await run_in_threadpool(self.find_department, code)
            if dept is None:
                return _error("报送码不正确：请核对财政部门下发的报送码（形如 ABCD-EFGH-JKLM）；未保存任何内容", 403)
        elif self.require_code:
            return _error("请填写本部门的报送码后再上传（财政部门已开启报送码校验）", 403)
        files = []
        for up in uploads:
            data = await up.read(int(cfg.max_file_mb * MB) + 1)
            name = safe_name(up.filename)
            if len(data) > cfg.max_file_mb * MB:
                return _error(f"文件“{name}”超过 {cfg.max_file_mb:g} MB 的上限，已拒绝；未保存任何内容", 413)
            files.append((name, data))
        now = dt.datetime.now().replace(microsecond=0)
        checked = []
        for name, data in files:      # every file is checked before anything is stored
            try:
                checked.append(await run_in_threadpool(check_upload, data, name, now=now,
                                                       checks_dir=cfg.checks_dir))
            except Rejected as e:
                return _error(f"文件“{name}”无法审核：{e.reason}；未保存任何内容", e.status, rule=e.rule,
                              file=name)
            except Exception as e:   # an engine bug: one Chinese sentence here, the traceback in the log
                import logging
                logging.getLogger("xlcheck.serve").exception("checking %s failed", name)
                return _error(f"文件“{name}”审核时程序出错（{type(e).__name__}），未保存任何内容；"
                              "请把文件发给财政部门技术支持", 500, file=name)
        out = []
        ids = []
        if dept is not None:
            ids = await run_in_threadpool(self._store, dept.id, checked, files, now)
        for i, c in enumerate(checked):
            item = {"file": c.file_name, "status": c.status, "counts": c.counts, "rows": c.rows,
                    "department": c.result.department, "year": c.result.year,
                    "score_total": c.result.score_total, "grade": c.result.grade}
            if ids:
                item["submission"] = ids[i]
                item["download"] = f"/submissions/{ids[i]}/annotated"
            else:     # self-check: nothing is kept; the annotated copy travels in the answer
                item["annotated"] = base64.b64encode(c.annotated).decode("ascii")
            out.append(item)
        resp = JSONResponse({"ok": True, "stored": bool(ids), "department": dept.name if dept else None,
                             "files": out})
        if dept is not None:
            self.set_cookie(resp, request, DEPT_COOKIE, f"dept:{dept.id}")
        return resp

    def _store(self, dept_id: int, checked, files, now) -> list[int]:
        ids = []
        with self.Session.begin() as s:
            for c, (_name, data) in zip(checked, files):
                r = c.result
                sub = db.Submission(
                    department_id=dept_id, received_at=now, file_name=c.file_name, size=c.size,
                    sha256=c.sha256, status=r.status, errors=c.counts["error"], warnings=c.counts["warning"],
                    infos=c.counts["info"], explained=c.counts["explained"], score_total=r.score_total,
                    grade=r.grade, result_json=json.dumps(result_json(r), ensure_ascii=False, default=str),
                    original=data, annotated=c.annotated)
                s.add(sub)
                s.flush()
                ids.append(sub.id)
        return ids

    # ------------------------------------------------------------ xlwings remote endpoint

    async def xlwings_validate(self, request: Request):
        """The add-in's 校验 (xlwings RunRemotePython / Office.js): the book as JSON in, the
        review sheet as xlwings actions out. A non-200 answer is shown to the clerk as a message."""
        cfg = self.cfg
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > cfg.max_json_mb * MB:
            return PlainTextResponse(f"工作簿数据过大（超过 {cfg.max_json_mb:g} MB），无法在线校验", 413)
        auth = request.headers.get("authorization", "").strip()
        if auth.lower().startswith(("bearer ", "code ")):
            auth = auth.split(None, 1)[1]
        if auth:
            if await run_in_threadpool(self.find_department, auth) is None:
                return PlainTextResponse("报送码不正确：请在加载项设置（AUTH）中填写财政部门下发的报送码", 403)
        elif self.require_code:
            return PlainTextResponse("请在加载项设置（AUTH）中填写本部门的报送码", 403)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cfg.max_json_mb * MB:
                return PlainTextResponse(f"工作簿数据过大（超过 {cfg.max_json_mb:g} MB），无法在线校验", 413)
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("sheets"), list):
                raise ValueError
        except (ValueError, RecursionError):     # not JSON, or nested deeper than any book payload
            return PlainTextResponse("收到的不是 xlwings 工作簿数据，无法校验", 400)
        try:
            actions = await run_in_threadpool(self._validate_book, payload)
        except Exception as e:   # the clerk sees one sentence; the server log has the rest
            import logging
            logging.getLogger("xlcheck.serve").exception("remote validation failed")
            return PlainTextResponse(f"校验未能完成：{type(e).__name__}；请把工作簿发给财政部门技术支持", 500)
        return JSONResponse(actions)

    def _validate_book(self, payload: dict) -> dict:
        from ..addin import remote_book, validate
        with self.remote_lock:
            book = remote_book(payload)
            validate(book, checks_dir=self.cfg.checks_dir)
            return book.json()

    # ------------------------------------------------------------ a department's own page

    @staticmethod
    def too_many(request: Request, tries: Throttle) -> str | None:
        """The refusal for a client with too many failed sign-ins, else None."""
        wait = tries.wait(_client(request))
        return f"登录失败次数过多，请 {-(-wait // 60)} 分钟后再试。" if wait else None

    async def my(self, request: Request):
        message = None
        if request.method == "POST":
            refused = self.too_many(request, self.code_tries)
            if refused:
                return self.page(request, "my.html", 429, dept=None, subs=[], message=refused)
            form = await request.form(max_files=0, max_fields=5)
            dept = await run_in_threadpool(self.find_department, str(form.get("code") or ""))
            if dept is None:
                self.code_tries.failed(_client(request))
                return self.page(request, "my.html", 403, dept=None, subs=[],
                                 message="报送码不正确，请核对财政部门下发的报送码。")
            self.code_tries.succeeded(_client(request))
            resp = RedirectResponse("/my", 303)
            self.set_cookie(resp, request, DEPT_COOKIE, f"dept:{dept.id}")
            return resp
        dept_id = self.dept_id(request)
        dept, subs = (None, [])
        if dept_id is not None:
            dept, subs = await run_in_threadpool(self._history, dept_id)
        return self.page(request, "my.html", dept=dept, subs=subs, message=message, status_of=department_status)

    def _history(self, dept_id: int):
        with self.Session() as s:
            dept = s.get(db.Department, dept_id)
            subs = list(s.scalars(select(db.Submission).where(db.Submission.department_id == dept_id)
                                  .order_by(db.Submission.id.desc())))
            return dept, subs

    async def my_logout(self, request: Request):
        resp = RedirectResponse("/my", 303)
        resp.delete_cookie(DEPT_COOKIE)
        return resp

    async def submission_file(self, request: Request):
        sub_id = request.path_params["sub_id"]
        which = request.path_params["which"]
        if which not in ("annotated", "original"):
            raise HTTPException(404)
        bureau = self.is_bureau(request)
        dept_id = self.dept_id(request)
        if not bureau and dept_id is None:
            return PlainTextResponse("请先用报送码登录（/my）或以财政部门身份登录（/login）", 401)

        def load():
            with self.Session() as s:
                sub = s.get(db.Submission, sub_id)
                if sub is None or not (bureau or sub.department_id == dept_id):
                    return None      # another department's submission looks like none at all
                return sub.file_name, (sub.annotated if which == "annotated" else sub.original)
        got = await run_in_threadpool(load)
        if got is None:
            return PlainTextResponse("没有这份报送记录", 404)
        name, data = got
        return _download(data, name)

    # ------------------------------------------------------------ the bureau

    async def login(self, request: Request):
        if request.method == "GET":
            return self.page(request, "login.html", message=None)
        refused = self.too_many(request, self.password_tries)
        if refused:
            return self.page(request, "login.html", 429, message=refused)
        form = await request.form(max_files=0, max_fields=5)
        with self.Session() as s:
            stored = db.get_setting(s, "bureau_password")
        if stored is None:
            return self.page(request, "login.html", 403,
                             message="尚未设置财政部门密码：请在服务器上运行 xlcheck serve --init")
        ok = await run_in_threadpool(check_password, str(form.get("password") or ""), stored)
        if not ok:
            self.password_tries.failed(_client(request))
            await asyncio.sleep(1)      # slows guessing (scrypt alone costs ~50 ms per try)
            return self.page(request, "login.html", 401, message="密码错误。")
        self.password_tries.succeeded(_client(request))
        resp = RedirectResponse("/inbox", 303)
        self.set_cookie(resp, request, BUREAU_COOKIE, "bureau")
        return resp

    async def logout(self, request: Request):
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(BUREAU_COOKIE)
        return resp

    def _latest(self, s):
        latest = (select(db.Submission.department_id, func.max(db.Submission.id).label("sid"))
                  .group_by(db.Submission.department_id).subquery())
        subs = s.scalars(select(db.Submission).join(latest, db.Submission.id == latest.c.sid)).all()
        return {sub.department_id: sub for sub in subs}

    def _inbox(self):
        with self.Session() as s:
            depts = s.scalars(select(db.Department).order_by(db.Department.year, db.Department.id)).all()
            latest = self._latest(s)
            counts = dict(s.execute(select(db.Submission.department_id, func.count())
                                    .group_by(db.Submission.department_id)).all())
        rows = [(d, latest.get(d.id), counts.get(d.id, 0), department_status(latest.get(d.id))) for d in depts]
        tally = {st: sum(r[3] == st for r in rows) for st in (STATUS_NONE, STATUS_FAIL, STATUS_PASS, STATUS_EXPLAINED)}
        return rows, tally

    async def inbox(self, request: Request):
        if not self.is_bureau(request):
            return RedirectResponse("/login", 303)
        rows, tally = await run_in_threadpool(self._inbox)
        return self.page(request, "inbox.html", rows=rows, tally=tally, mismatch=mismatch)

    async def inbox_department(self, request: Request):
        if not self.is_bureau(request):
            return RedirectResponse("/login", 303)
        dept, subs = await run_in_threadpool(self._history, request.path_params["dept_id"])
        if dept is None:
            return PlainTextResponse("没有这个部门", 404)
        return self.page(request, "department.html", dept=dept, subs=subs, status_of=department_status,
                         mismatch=mismatch)

    async def inbox_summary(self, request: Request):
        if not self.is_bureau(request):
            return PlainTextResponse("请先以财政部门身份登录（/login）", 401)

        def build():
            from ..summary import build_summary
            with self.Session() as s:
                latest = self._latest(s)
                depts = {d.id: d for d in s.scalars(select(db.Department))}
            results, labels = [], {}
            for dept_id in sorted(latest, key=lambda i: (depts[i].year, i)):
                sub = latest[dept_id]
                r = result_from_json(json.loads(sub.result_json))
                r.path = f"{sub.id}/{sub.file_name}"     # unique per submission
                labels[r.path] = f"{depts[dept_id].name}：{sub.file_name}（{sub.received_at:%Y-%m-%d %H:%M}）"
                results.append(r)
            buf = io.BytesIO()
            build_summary(results, labels=labels).save(buf)
            return buf.getvalue()
        data = await run_in_threadpool(build)
        return _download(data, "汇总.xlsx")

    async def healthz(self, request: Request):
        return PlainTextResponse("ok")


def create_app(cfg: ServeConfig | None = None, *, engine=None) -> Starlette:
    svc = Service(cfg or ServeConfig(), engine=engine)

    async def http_error(request: Request, exc: HTTPException):
        return PlainTextResponse({404: "页面不存在", 405: "不支持的请求方式"}.get(exc.status_code, str(exc.detail)),
                                 status_code=exc.status_code)

    routes = [
        Route("/", svc.index),
        Route("/api/check", svc.api_check, methods=["POST"]),
        Route("/xlwings/validate", svc.xlwings_validate, methods=["POST"]),
        Route("/my", svc.my, methods=["GET", "POST"]),
        Route("/my/logout", svc.my_logout, methods=["POST"]),
        Route("/submissions/{sub_id:int}/{which}", svc.submission_file),
        Route("/login", svc.login, methods=["GET", "POST"]),
        Route("/logout", svc.logout, methods=["POST"]),
        Route("/inbox", svc.inbox),
        Route("/inbox/department/{dept_id:int}", svc.inbox_department),
        Route("/inbox/summary.xlsx", svc.inbox_summary),
        Route("/healthz", svc.healthz),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.service = svc
    return app
