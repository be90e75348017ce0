"""`xlcheck serve`: start the checking service, or (`--init`) set it up."""
from __future__ import annotations

import os
from pathlib import Path

import click

from ..cli_chinese import ChineseCommand, FloatRange, IntRange, Path as PathType

ENV_DB = "XLCHECK_SERVE_DB"
ENV_PASSWORD = "XLCHECK_BUREAU_PASSWORD"
MIN_PASSWORD = 8


def import_codes(session_factory, path: Path) -> tuple[int, int]:
    """Store the departments of a codes file (xlcheck template --from-list), codes hashed.
    Returns (added, updated); a department already known gets the file's code."""
    from sqlalchemy import select

    from ..distribute import read_codes
    from . import db
    from .security import code_hash
    added = updated = 0
    with session_factory.begin() as s:
        for row in read_codes(path):
            dept = s.scalars(select(db.Department).where(db.Department.name == row.department,
                                                         db.Department.year == row.year)).first()
            h = code_hash(row.code)
            if dept is None:
                s.add(db.Department(name=row.department, year=row.year, file_name=row.file_name or None,
                                    code_hash=h))
                added += 1
            elif dept.code_hash != h or dept.file_name != (row.file_name or None):
                dept.code_hash, dept.file_name = h, row.file_name or None
                updated += 1
    return added, updated


@click.command("serve", cls=ChineseCommand)
@click.option("--host", default="127.0.0.1", metavar="HOST", help="监听地址，默认 127.0.0.1（内网服务器上放在反向代理之后）")
@click.option("--port", type=IntRange(1, 65535), default=8000, help="端口，默认 8000")
@click.option("--db", "db_url", envvar=ENV_DB, metavar="URL",
              help=f"数据库 URL（也可用环境变量 {ENV_DB}），默认当前目录下的 SQLite 文件 xlcheck-serve.sqlite3；"
                   "PostgreSQL：postgresql+psycopg://用户@主机/库名")
@click.option("--init", "init", is_flag=True,
              help=f"初始化：建库（迁移到最新结构）、设置财政部门密码（交互输入，或环境变量 {ENV_PASSWORD}），然后退出")
@click.option("--codes", "codes", multiple=True, type=PathType(path_type=Path, dir_okay=False, exists=True),
              help="导入 xlcheck template --from-list 生成的报送码文件（*-报送码.csv），可多次给出")
@click.option("--require-code", is_flag=True, help="自查也须填写报送码（默认不需要登录即可自查）")
@click.option("--max-file-mb", type=FloatRange(0.1, 500), default=20,
              help="单个上传文件的大小上限（MB），默认 20")
@click.option("--max-files", type=IntRange(1, 200), default=10, help="每次上传的文件数上限，默认 10")
@click.option("--checks", "checks_dir", type=PathType(path_type=Path, file_okay=False, exists=True),
              help="使用财政局自己的检查规则目录")
def serve_cmd(host, port, db_url, init, codes, require_code, max_file_mb, max_files, checks_dir):
    """启动在线审核服务：上传审核页面、Excel 加载项的远程校验、财政部门收件箱。

    \b
    xlcheck serve --init --codes 下发-报送码.csv    建库、设置密码、导入各部门报送码
    xlcheck serve                                 启动，浏览器打开 http://127.0.0.1:8000
    """
    try:
        from . import db
        from .security import hash_password
    except ImportError as e:     # the optional extra is missing
        raise click.UsageError(f"在线审核服务需要另外安装：pip install \"xlcheck[serve]\"（缺少 {e.name}）") from None
    url = db_url or db.DEFAULT_DB
    try:
        engine = db.make_engine(url)
        db.migrate(engine)
    except Exception as e:   # a wrong URL or a missing driver: one sentence, not a traceback
        raise click.UsageError(f"无法打开数据库 {url}：{type(e).__name__}: {e}") from None
    Session = db.sessions(engine)
    from ..errors import XlcheckError
    for path in codes:
        try:
            added, updated = import_codes(Session, path)
        except XlcheckError as e:
            raise click.UsageError(str(e)) from None
        click.echo(f"已导入报送码 {path}：新增 {added} 个部门，更新 {updated} 个", err=True)
    if init:
        password = os.environ.get(ENV_PASSWORD)
        if password is None:
            password = click.prompt("设置财政部门密码", hide_input=True, confirmation_prompt="再输入一次")
        if len(password) < MIN_PASSWORD:
            raise click.UsageError(f"密码至少 {MIN_PASSWORD} 个字符")
        with Session.begin() as s:
            db.set_setting(s, "bureau_password", hash_password(password))
        click.echo(f"已初始化：{url}（财政部门密码已设置，只保存其散列值）", err=True)
        return
    with Session() as s:
        if db.get_setting(s, "bureau_password") is None:
            click.echo("提示：尚未设置财政部门密码，收件箱无法登录；请先运行 xlcheck serve --init", err=True)
    import uvicorn

    from .app import ServeConfig, create_app
    cfg = ServeConfig(db_url=url, max_file_mb=max_file_mb, max_files=max_files, require_code=require_code,
                      checks_dir=str(checks_dir) if checks_dir else None)
    app = create_app(cfg, engine=engine)
    click.echo(f"xlcheck serve：http://{host}:{port}  （Ctrl+C 停止）", err=True)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
