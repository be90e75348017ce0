"""Plain-text report for the terminal: findings per file, then one summary table for the run."""
from __future__ import annotations

import click

from .findings import SEVERITY_LABELS
from .results import display_path

STATUS_LABELS = {"pass": "通过", "fail": "未通过", "unreadable": "无法读取"}
_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}
_STATUS_COLORS = {"pass": "green", "fail": "red", "unreadable": "magenta"}
TABLE_ALL_UP_TO = 100          # above this many files the table lists only the files that did not pass


def width(s: str) -> int:
    """Terminal columns of `s`: CJK and full-width characters take two."""
    if s.isascii():
        return len(s)
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def fit(s: str, w: int, *, right: bool = False) -> str:
    """`s` cut (with …) or padded to exactly `w` terminal columns."""
    s = s.replace("\n", " ")
    n = width(s)
    if n > w:
        out, used = "", 0
        for ch in s:
            cw = width(ch)
            if used + cw > w - 1:
                break
            out += ch
            used += cw
        s = out + "…"
        n = used + 1
    pad = " " * (w - n)
    return pad + s if right else s + pad


def _details_limit(n_files: int) -> int:
    if n_files <= 5:
        return 50
    if n_files <= 20:
        return 10
    return 3


def print_text_report(results, *, max_findings: int | None = None, table: bool = True,
                      sheets_written: bool = True) -> None:
    """`sheets_written`: this run writes review sheets and a summary (not --no-write), so the lines
    left out here can be pointed to there."""
    limit = _details_limit(len(results)) if max_findings is None else max_findings
    for res in results:
        c = res.counts
        click.secho(f"{STATUS_LABELS[res.status]}  {display_path(res.path)}", fg=_STATUS_COLORS.get(res.status, "red"), bold=True)
        meta = "  ".join(str(x) for x in (res.department, res.year) if x)
        if res.score_total is not None:
            meta += f"  自评 {res.score_total:g} 分 {res.grade or ''}"
        if meta.strip():
            click.echo(f"  {meta.strip()}")
        if res.status == "pass" and not res.findings:
            click.echo()
            continue
        click.echo(f"  错误 {c['error']}  警告 {c['warning']}  提示 {c['info']}")
        for f in res.findings[:limit]:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "")
            tag = SEVERITY_LABELS[f.severity] + ("（已说明）" if f.explained else "")
            click.echo("  " + click.style(f"{f.rule:<7} {tag}", fg=_COLORS[f.severity]) + f"  {where}  {f.message}")
        if len(res.findings) > limit:
            more = len(res.findings) - limit
            click.echo(f"  …… 另有 {more} 条，见审核结果表" if sheets_written and res.status != "unreadable"
                       else f"  …… 另有 {more} 条未列出（--format json 列出全部）")
        click.echo()
    if table and results:
        print_summary_table(results, summary_written=sheets_written)
    n = len(results)
    ok = sum(r.status == "pass" for r in results)
    bad = sum(r.status == "unreadable" for r in results)
    click.echo(f"共 {n} 个文件：通过 {ok}，未通过 {n - ok - bad}，无法读取 {bad}")


def print_summary_table(results, *, summary_written: bool = True) -> None:
    """One aligned line per file: 结论, 文件, 部门, 年度, 得分, 等级, counts."""
    from .output import relative_names
    names = relative_names([r.path for r in results])
    rows = results
    hidden = 0
    if len(results) > TABLE_ALL_UP_TO:
        rows = [r for r in results if r.status != "pass"]
        hidden = len(results) - len(rows)
    w_file = min(max([width(display_path(names[r.path].as_posix())) for r in rows] + [4]), 36)
    w_dept = min(max([width(r.department or "") for r in rows] + [4]), 26)
    cols = (("结论", 8, False), ("文件", w_file, False), ("部门", w_dept, False), ("年度", 4, True),
            ("得分", 6, True), ("等级", 4, False), ("错误", 4, True), ("警告", 4, True), ("提示", 4, True))
    head = "  ".join(fit(h, w, right=r) for h, w, r in cols)
    click.echo(click.style(head, bold=True))
    click.echo("-" * width(head))
    for r in rows:
        c = r.counts
        vals = (STATUS_LABELS[r.status], display_path(names[r.path].as_posix()), r.department or "",
                str(r.year or ""), f"{r.score_total:.2f}" if r.score_total is not None else "",
                r.grade or "", str(c["error"]), str(c["warning"]), str(c["info"]))
        cells = [fit(v, w, right=ra) for v, (_, w, ra) in zip(vals, cols)]
        cells[0] = click.style(cells[0], fg=_STATUS_COLORS.get(r.status, "red"), bold=True)
        if c["error"]:
            cells[6] = click.style(cells[6], fg="red")
        if c["warning"]:
            cells[7] = click.style(cells[7], fg="yellow")
        click.echo("  ".join(cells))
    if hidden:
        click.echo(f"（另有 {hidden} 个通过的文件未列出" + ("，见汇总表）" if summary_written else "）"))
    click.echo()
