"""Plain-text report for the terminal."""
from __future__ import annotations

import click

from .findings import SEVERITY_LABELS

STATUS_LABELS = {"pass": "通过", "fail": "未通过", "unreadable": "无法读取"}
_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}


def print_text_report(results, *, max_findings: int = 50) -> None:
    for res in results:
        c = res.counts
        head = f"{STATUS_LABELS[res.status]}  {res.path}"
        meta = "  ".join(str(x) for x in (res.department, res.year) if x)
        if res.score_total is not None:
            meta += f"  自评 {res.score_total:g} 分 {res.grade or ''}"
        click.secho(head, fg="green" if res.status == "pass" else "red", bold=True)
        if meta:
            click.echo(f"  {meta}")
        click.echo(f"  错误 {c['error']}  警告 {c['warning']}  提示 {c['info']}")
        for f in res.findings[:max_findings]:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "")
            tag = SEVERITY_LABELS[f.severity] + ("（已说明）" if f.explained else "")
            click.echo("  " + click.style(f"{f.rule:<7}{tag}", fg=_COLORS[f.severity]) + f"  {where}  {f.message}")
        if len(res.findings) > max_findings:
            click.echo(f"  …… 另有 {len(res.findings) - max_findings} 条，见审核结果表")
        click.echo()
    n = len(results)
    ok = sum(r.status == "pass" for r in results)
    bad = sum(r.status == "unreadable" for r in results)
    click.echo(f"共 {n} 个文件：通过 {ok}，未通过 {n - ok - bad}，无法读取 {bad}")
