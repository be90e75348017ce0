"""`xlcheck serve`: the bureau's checking service.

* the xlwings remote endpoint (`POST /xlwings/validate`): the add-in's 校验 button posts the open
  book and applies the returned actions (the review sheet), no Python on the clerk's machine;
* a web page for any office suite (`/`): upload a workbook, see the findings, download the
  annotated copy (self-check, nothing stored; with a department's code: a submission);
* the bureau's inbox (`/inbox`, behind the bureau password): every department of the distribution
  list with its status, history and annotated copies, and the collection's 汇总.xlsx.

Modules: `db` (SQLAlchemy models, Alembic migrations in `migrations/`), `security` (password and
code hashing, signed cookies), `checking` (one upload → FileResult + annotated copy, the CLI's own
code), `app` (Starlette routes), `command` (the click command).
"""
