"""What a folder run writes: annotated copies (or the inputs themselves with --in-place) and 汇总.xlsx.

* default: `out_dir/<same relative name>` for every readable input (inputs are never touched),
  plus `out_dir/汇总.xlsx`. The CLI gives each run a folder of its own, so one run's outputs are
  never mixed with another's: without `--out`, a new dated folder `xlcheck-out/2026-12-01_0412/`
  (`run_folder`); with `--out DIR`, DIR itself, which must be new or empty (`out_dir_problem`);
* `in_place`: the review sheet goes into each input, after a backup beside it unless
  `backup=False`: `name.bak.xlsx` (`.bak.xlsm`) the first time, then `name.bak2.xlsx`, … — an
  existing backup is never overwritten, so the first original is always kept. A summary is written
  to `out_dir` only when several files were checked (one file re-checked gets no extra folder).

Unreadable files get no copy but have their row in the summary. A file that cannot be written
(read-only, open in Excel, disk full …) costs one Chinese line on stderr and the run goes on.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from .atomic import staged
from .review import WriteError, _os_reason, write_review

BACKUP_TAG = ".bak"


@dataclass
class OutputReport:
    written: dict[str, Path] = field(default_factory=dict)      # result.path -> file written
    backups: dict[str, Path] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    summary: Path | None = None
    out_dir: Path | None = None       # the folder this run's copies and summary went to

    @property
    def ok(self) -> bool:
        return not self.failures


_BACKUP_STEM = re.compile(r"\.bak\d*$", re.IGNORECASE)     # name.bak, name.bak2, …


def backup_path(path: Path, n: int = 1) -> Path:
    """name.xlsx -> name.bak.xlsx, then name.bak2.xlsx … (same folder, same extension so Excel opens it)."""
    return path.with_name(path.stem + BACKUP_TAG + (str(n) if n > 1 else "") + path.suffix)


def make_backup(src: Path) -> Path:
    """Copy `src` to the first free backup name and return it. Never replaces an existing file:
    the copy is staged in a temporary file, then hard-linked to its name (fails if taken)."""
    data = src.read_bytes()
    with staged(src.parent, data, like=src) as tmp:
        for n in range(1, 10_000):
            bak = backup_path(src, n)
            if os.path.lexists(bak):
                continue
            try:
                os.link(tmp, bak)
            except FileExistsError:
                continue       # taken meanwhile
            except OSError:    # no hard links here (some network or FAT drives): exclusive create
                try:
                    with open(bak, "xb") as fh:
                        fh.write(data)
                except FileExistsError:
                    continue
            return bak
    raise OSError("备份文件过多")


RUN_FOLDER_FORMAT = "%Y-%m-%d_%H%M"


def run_folder(base: Path, now: datetime) -> Path:
    """A new folder for one run under `base`: base/2026-12-01_0412 (…-2, -3 within the same minute).
    Created here, exclusively, so two runs started together never share it."""
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime(RUN_FOLDER_FORMAT)
    for i in range(1, 10_000):
        d = base / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue
    raise OSError(f"无法在 {base} 中新建输出文件夹")


def out_dir_problem(out_dir: Path) -> str | None:
    """Why `--out DIR` cannot take this run's outputs (None when it can): DIR must be new or empty,
    so that what it holds afterwards is exactly this run."""
    p = Path(out_dir)
    if not p.exists():
        return None
    if not p.is_dir():
        return f"--out 应为目录：{p} 是一个文件"
    try:
        if any(p.iterdir()):
            return (f"输出目录 {p} 中已有文件。为免与以前的结果混在一起，--out 只接受新的或空的目录；"
                    "请换一个目录，或不写 --out（每次审核自动在 xlcheck-out/ 下新建带日期时间的文件夹）")
    except OSError:
        return None        # cannot list it: writing will fail with its own reason
    return None


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
    if p.suffix.lower() in (".xlsx", ".xlsm") and _BACKUP_STEM.search(p.stem):
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


def relative_names(paths: list[str], roots=()) -> dict[str, Path]:
    """Each input's path relative to the common folder of the inputs and of the folders named on the
    command line (`roots`), so that `xlcheck 收回/` mirrors 收回/'s sub-folders even when every file
    sits in one of them. Unique, so copies never collide."""
    resolved = {p: Path(p).resolve() for p in paths}
    folders = [str(r.parent) for r in resolved.values()]
    folders += [str(Path(r).resolve()) for r in roots if Path(r).is_dir()]
    try:
        base = Path(os.path.commonpath(folders)) if resolved else None
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
                  now: datetime | None = None, new_folder: bool = False, roots=()) -> OutputReport:
    """Write this run's outputs. `new_folder`: `out_dir` is a base folder and the run gets a new
    dated folder inside it (`run_folder`), created only when something goes there. `roots`: the
    files and folders named on the command line (copies mirror the paths below them)."""
    now = now or datetime.now()
    out_dir = Path(out_dir)
    rep = OutputReport()
    rel = relative_names([r.path for r in results], roots)
    todo = [r for r in results if r.status != "unreadable"]
    want_summary = not in_place or len(results) > 1
    if new_folder and (want_summary or (todo and not in_place)):
        try:
            out_dir = run_folder(out_dir, now)
        except OSError as e:
            rep.failures.append((str(out_dir), _os_reason(e)))
            _say(f"未能写入  {out_dir}：{_os_reason(e)}")
            return rep
    rep.out_dir = out_dir
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
                    try:
                        bak = make_backup(src)
                    except OSError as e:
                        raise WriteError(f"无法创建备份（{_os_reason(e)}），原文件未修改") from e
                    rep.backups[res.path] = bak
                write_review(src, dst, res, now=now)
                rep.written[res.path] = dst
            except WriteError as e:
                rep.failures.append((res.path, str(e)))
                _say(f"未能写入  {res.path}：{e}")
            except OSError as e:
                rep.failures.append((res.path, _os_reason(e)))
                _say(f"未能写入  {res.path}：{_os_reason(e)}")

    if want_summary:
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
                names = sorted({b.name for b in rep.backups.values()})
                msg += "（原文件已备份为 " + ("、".join(names) if len(names) <= 3 else f"{names[0]} 等") + "）"
            if rep.summary:
                msg += f"；汇总表：{rep.summary}"
        else:
            msg = f"批注副本 {len(rep.written)} 个"
            msg += "和汇总表" if rep.summary else ""
            msg += f"已写入 {out_dir}{os.sep}"
        _say(msg)
    return rep
