"""Run the checks: over workbooks already read (the add-in, the service), or over files, chunk by
chunk, in worker processes when --jobs asks for them.

A chunk is read and checked completely where it is read: the workbook rules per file, then the
batch rules (pandera's table schemas) once over the chunk's workbooks. Results come back per chunk,
so memory stays flat in the number of files.
"""
from __future__ import annotations

import os
import traceback
from typing import Callable, Iterable, Iterator

from .errors import ReadError
from .explanations import read_explanations
from .findings import Finding
from .model import Workbook
from .numbers import parse_number
from .reader import read_workbook
from .results import FileResult
from .rules import Checks, Context, load_checks
from .wording import normalize_text, text_problem

CHUNK = 64   # files read and checked per task before their results are sent back


def _crashed(rule) -> Finding:
    # an error: a check that did not run cannot be explained away, the bureau must see it
    tb = traceback.format_exc(limit=3)
    return Finding(rule.id, "error", f"检查规则 {rule.id} 运行出错，本项未能检查：{tb.strip().splitlines()[-1]}")


def workbook_findings(wb: Workbook, checks: Checks) -> list[Finding]:
    """The workbook rules whose needs (names, tables, columns) the workbook has."""
    out: list[Finding] = []
    for r, ctx in checks.contexts("workbook"):
        if not all(wb.has(n) for n in r.needs):
            continue
        try:
            out.extend(list(r.func(wb, ctx) or ()))   # all or nothing: a rule failing midway reports only that
        except Exception:  # a rule's bug must not hide the other findings
            out.append(_crashed(r))
    return out


def batch_findings(wbs: list[Workbook], checks: Checks) -> Iterator[tuple[int, Finding]]:
    """(workbook index, finding) of the batch rules, each called once over the workbooks that
    have what it needs; the rules of one batch share `ctx.batch_memo` (one schema validation)."""
    shared: dict = {}
    for r, _ in checks.contexts("batch"):
        idx = [i for i, wb in enumerate(wbs) if all(wb.has(n) for n in r.needs)]
        if not idx:
            continue
        try:
            found = list(r.func([wbs[i] for i in idx], Context(checks, r, shared)) or ())
        except Exception:  # a crashed batch rule: tell every file it concerned
            crash = _crashed(r)
            found = [(j, crash) for j in range(len(idx))]
        for j, f in found:
            yield idx[j], f


def summarize(wb: Workbook, checks: Checks) -> dict:
    """Department, year, recomputed score total and grade (the checker never trusts caches)."""
    dept = wb.value("dept_name")
    year = parse_number(wb.value("eval_year")).value
    total = None
    scores = wb.tables.get("scores")
    if scores is not None and scores.has("自评得分"):
        nums = [n for n in (parse_number(None if c.is_error else c.value).value for c in scores.column("自评得分"))
                if n is not None]
        if nums:
            total = round(sum(nums), 2)
    return {
        "department": str(dept).strip() if dept not in (None, "") else None,
        "year": int(year) if year is not None and float(year).is_integer() else None,
        "template_version": wb.template_version, "score_total": total,
        "grade": checks.framework.grade_for(total) if total is not None else None,
    }


def check_workbooks(wbs: list[Workbook], checks: Checks) -> list[FileResult]:
    """Run the workbook and batch rules over workbooks already read; one FileResult each."""
    results = []
    for wb in wbs:
        try:
            results.append(FileResult(wb.source, "fail", workbook_findings(wb, checks), **summarize(wb, checks)))
        except Exception:  # an engine bug outside the per-rule guard: keep the file, say so
            tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
            results.append(FileResult(wb.source, "fail", [Finding(
                "FILE001", "error", f"审核程序运行出错，本文件未能完成检查：{tb}")]))
    for i, f in batch_findings(wbs, checks):
        results[i].findings.append(f)
    for wb, res in zip(wbs, results):
        apply_notes(res.findings, read_explanations(wb), checks)
        res.settle()
    return results


NOTE_PROBLEMS = {
    "placeholder": "说明无效：只写了占位文字，请写明具体原因",
    "short": "说明无效：过短，请写明具体原因",
    "pasted": "说明无效：与其他问题的说明相同，请针对本项写明原因",
}


def apply_notes(findings: list[Finding], notes: dict | None, checks: Checks) -> None:
    """Mark findings the filler explained in the review sheet's 填报单位说明 column (`notes`:
    read_explanations of the workbook). An explanation counts only when it is a real one, by the
    same bar as 偏差原因 (wording.text_problem); an error is never explained away."""
    if not notes:
        return
    for f in findings:
        text = notes.get(f.key) or notes.get((f.rule, f.sheet, f.cell))
        if text:
            f.explanation = str(text)
    explained = [f for f in findings if f.explanation]
    same: dict[str, int] = {}
    for f in explained:
        k = normalize_text(f.explanation)
        same[k] = same.get(k, 0) + 1
    for f in explained:
        problem = text_problem(f.explanation, checks.words, checks.thresholds)
        if problem is None and same[normalize_text(f.explanation)] > 1:
            problem = "pasted"
        f.note_problem = NOTE_PROBLEMS.get(problem)
        f.explained = f.severity != "error" and f.note_problem is None


def unreadable(path: str, detail: str, checks: Checks, rule: str = "FILE001",
               params: dict | None = None) -> FileResult:
    """A file that could not be read at all: one finding with one clear reason.

    `rule` is the FILE rule that explains it (FILE002 .xls, FILE003 encrypted …); a checks directory
    that lacks that rule's text (a bureau's older copy) falls back to FILE001, then to `detail`."""
    params = dict(params or {})
    params.setdefault("detail", detail)
    for rid in dict.fromkeys((rule, "FILE001")):
        try:
            ctx = checks.context(rid)
        except KeyError:
            continue
        if rid != rule:   # the fallback rule only knows {detail}: give it the whole sentence
            params["detail"] = detail
        return FileResult(path, "unreadable", [ctx.report(None, value=None, **params)])
    return FileResult(path, "unreadable", [Finding(rule, "error", detail)])


def _read(path: str, checks: Checks) -> Workbook | FileResult:
    """The workbook, or the FileResult that says in one line why it cannot be read."""
    try:
        return read_workbook(path)
    except ReadError as e:
        return unreadable(path, str(e), checks, getattr(e, "rule", "FILE001"), getattr(e, "params", {}))
    except RecursionError:
        return unreadable(path, "工作簿内部结构损坏（嵌套层次异常），无法读取", checks, "FILE009")
    except MemoryError:
        return unreadable(path, "文件数据量过大，内存不足，无法读取", checks, "FILE010")
    except Exception as e:  # never let one file stop the run
        return unreadable(path, f"无法读取（{type(e).__name__}）", checks)


def check_chunk(paths: list[str], checks_dir: str | None) -> list[FileResult]:
    """Read and check a chunk of files completely. Whatever a file is (an .xls, an encrypted or
    truncated workbook, a zip bomb, a directory …) it yields exactly one FileResult."""
    checks = load_checks(checks_dir)
    read = [_read(p, checks) for p in paths]
    wbs = [x for x in read if isinstance(x, Workbook)]
    checked = iter(check_workbooks(wbs, checks))
    return [x if isinstance(x, FileResult) else next(checked) for x in read]


def check_paths(paths: Iterable[str | os.PathLike], *, checks_dir: str | None = None, jobs: int = 1,
                progress: Callable[[int], None] | None = None) -> Iterator[FileResult]:
    """Check files, yielding results in input order, chunk by chunk; `jobs` > 1 uses a process pool."""
    paths = [str(p) for p in paths]
    load_checks(checks_dir)   # a broken checks directory fails here, once, before any worker starts
    if jobs <= 1 or len(paths) < 8:
        chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
        done = (check_chunk(c, checks_dir) for c in chunks)
        pool = None
    else:
        # chunks small enough that every worker stays busy to the end
        size = max(1, min(CHUNK, len(paths) // (jobs * 4)))
        chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(max_workers=jobs)
        done = pool.map(check_chunk, chunks, [checks_dir] * len(chunks))
    try:
        for got in done:
            if progress:
                progress(len(got))
            yield from got
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def run_collection_rules(results: list[FileResult], checks: Checks) -> None:
    """Rules over the whole run (the same department twice, mixed years …)."""
    for r, ctx in checks.contexts("collection"):
        try:
            found = list(r.func(results, ctx) or ())
        except Exception:
            found = []   # a collection rule's bug must not cost the files their results
        for i, f in found:
            results[i].findings.append(f)
    for res in results:
        res.settle()
