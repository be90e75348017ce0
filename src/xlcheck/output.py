"""What a folder run writes: annotated copies (or the inputs themselves with --in-place) and 汇总.xlsx.

* default: `out_dir/<same relative name>` for every readable input (inputs are never touched),
  plus `out_dir/汇总.xlsx`;
* `in_place`: the review sheet goes into each input, after a backup `name.bak.xlsx` (`.bak.xlsm`)
  beside it unless `backup=False`; a summary is written to `out_dir` only when several files were
  checked (a district officer re-checking one file gets no extra folder).

Unreadable files get no copy but have their row in the summary. A file that cannot be written
(read-only, open in Excel, disk full …) costs one Chinese line on stderr and the run goes on.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from .atomic import write_atomic
from .review import WriteError, _os_reason, write_review

BACKUP_TAG = ".bak"


@dataclass
class OutputReport:
    written: dict[str, Path] = field(default_factory=dict)      # result.path -> file written
    backups: dict[str, Path] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    summary: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def backup_path(path: Path) -> Path:
    """name.xlsx -> name.bak.xlsx (same folder, same extension so Excel opens it)."""
    return path.with_name(path.stem + BACKUP_TAG + path.suffix)


SUMMARY_NAME = "汇总.xlsx"
SUMMARY_KEYWORD = "xlcheck-summary"      # in docProps/core.xml: marks the file as our own output


def is_summary(path) -> bool:
    """True for a 汇总.xlsx that xlcheck wrote (its core properties carry our keyword)."""
    import zipfile
    p = Path(path)
    if p.name != SUMMARY_NAME:
        return False
    try:
        with zipfile.ZipFile(p) as z:
            return SUMMARY_KEYWORD.encode() in z.read("docProps/core.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def is_own_output(path) -> bool:
    """Files this tool writes beside or among inputs: backups and its summary workbook."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm") and p.stem.lower().endswith(BACKUP_TAG):
        return True
    return is_summary(p)


def drop_own_outputs(files: list[Path], inputs) -> list[Path]:
    """Files found in folders minus the tool's own outputs: backups, our 汇总.xlsx, and everything in
    a folder holding our 汇总.xlsx (an earlier run's --out, whatever its name) — unless the user named
    that file or that folder (or a folder inside it) on the command line."""
    inputs = [Path(p).resolve() for p in inputs]
    explicit = {p for p in inputs if p.is_file()}
    out_dirs = {f.resolve().parent for f in files if is_summary(f)}
    out_dirs = {d for d in out_dirs if not any(p == d or d in p.parents for p in inputs)}
    keep = []
    for f in files:
        own = is_own_output(f)
        if not own and not out_dirs:
            keep.append(f)       # the common case: no path resolving for each of 1,000 files
            continue
        r = f.resolve()
        if r in explicit:
            keep.append(f)
        elif not own and not any(d in r.parents for d in out_dirs):
            keep.append(f)
    return keep


def relative_names(paths: list[str]) -> dict[str, Path]:
    """Each input's path relative to the inputs' common folder (unique, so copies never collide)."""
    resolved = {p: Path(p).resolve() for p in paths}
    try:
        base = Path(os.path.commonpath([str(r.parent) for r in resolved.values()])) if resolved else None
    except ValueError:        # different drives
        base = None
    out: dict[str, Path] = {}
    taken: set[str] = set()
    for p, r in resolved.items():
        rel = r.relative_to(base) if base is not None else Path(r.name)
        cand, i = rel, 2
        while str(cand).lower() in taken:
            cand = rel.with_name(f"{rel.stem}-{i}{rel.suffix}")
            i += 1
        taken.add(str(cand).lower())
        out[p] = cand
    return out


def _href(target: Path, start: Path) -> str:
    """A hyperlink target for the summary: relative to its folder when possible, with '/'."""
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:
        return target.resolve().as_uri()


def _say(msg: str) -> None:
    click.echo(msg, err=True)


def write_outputs(results, *, out_dir, in_place: bool = False, backup: bool = True, quiet: bool = False,
                  now: datetime | None = None) -> OutputReport:
    now = now or datetime.now()
    out_dir = Path(out_dir)
    rep = OutputReport()
    rel = relative_names([r.path for r in results])
    todo = [r for r in results if r.status != "unreadable"]
    show = not quiet and len(todo) > 20 and sys.stderr.isatty()
    with click.progressbar(todo, label="写入中", file=sys.stderr, hidden=not show) as bar:
        for res in bar:
            src = Path(res.path)
            dst = src if in_place else out_dir / rel[res.path]
            try:
                if not in_place:
                    if dst.resolve() == src.resolve():
                        raise WriteError("输出位置就是原文件；如需写入原文件请使用 --in-place")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                elif backup:
                    bak = backup_path(src)
                    try:
                        write_atomic(bak, src.read_bytes(), like=src)
                    except OSError as e:
                        raise WriteError(f"无法创建备份 {bak.name}（{_os_reason(e)}），原文件未修改") from e
                    rep.backups[res.path] = bak
                write_review(src, dst, res, now=now)
                rep.written[res.path] = dst
            except WriteError as e:
                rep.failures.append((res.path, str(e)))
                _say(f"未能写入  {res.path}：{e}")
            except OSError as e:
                rep.failures.append((res.path, _os_reason(e)))
                _say(f"未能写入  {res.path}：{_os_reason(e)}")

    if not in_place or len(results) > 1:
        summary = out_dir / SUMMARY_NAME
        labels = {p: r.as_posix() for p, r in rel.items()}
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            links = {r.path: _href(rep.written.get(r.path) or Path(r.path), out_dir) for r in results}
            from .summary import write_summary   # openpyxl: imported only when a summary is written
            write_summary(results, summary, links=links, labels=labels, now=now)
            rep.summary = summary
        except OSError as e:
            rep.failures.append((str(summary), _os_reason(e)))
            _say(f"未能写入  {summary}：{_os_reason(e)}")

    if not quiet:
        if in_place:
            msg = f"审核结果已写入 {len(rep.written)} 个原文件"
            if rep.backups:
                msg += "（原文件已备份为 *.bak.xlsx / *.bak.xlsm）"
        else:
            msg = f"批注副本 {len(rep.written)} 个已写入 {out_dir}{os.sep}"
        if rep.summary:
            msg += f"；汇总表：{rep.summary}"
        _say(msg)
    return rep
