"""Run the checks: one workbook, or many files in chunks across processes."""
from __future__ import annotations

import gc
import os
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import ReadError
from .explanations import read_explanations
from .findings import Finding, counts, passes
from .model import Workbook
from .numbers import cell_parsed, parse_number
from .rules import Checks, Context, load_checks
from .wording import normalize_text, text_problem

CHUNK = 128  # files read and checked per task (worker) before their results are sent back
BATCH_ROWS = 20_000  # table rows of batch views held before a batch pass runs (one pass per run
                     # up to there: a 1,000-file run holds a few thousand)


def display_path(path: str) -> str:
    """A path fit to show and to write into JSON/XML: file names from a Windows zip unpacked on Linux
    arrive as undecodable bytes (surrogates); they are usually GBK, so show them as such."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        for enc in ("gbk", "big5"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                pass
        return raw.decode("utf-8", "replace")


@dataclass
class FileResult:
    path: str
    status: str                         # "pass" | "fail" | "unreadable"
    findings: list[Finding] = field(default_factory=list)
    department: str | None = None
    year: int | None = None
    template_version: str | None = None
    score_total: float | None = None
    grade: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    def to_json(self) -> dict:
        return {
            "path": display_path(self.path), "status": self.status, "department": self.department,
            "year": self.year, "template_version": self.template_version,
            "score_total": self.score_total, "grade": self.grade, "counts": self.counts,
            "findings": [f.to_json() for f in self.findings],
        }

    def settle(self) -> None:
        """Order findings (errors first) and set the status from them."""
        self.findings.sort(key=Finding.sort_key)
        if self.status != "unreadable":
            self.status = "pass" if passes(self.findings) else "fail"


def _safe(rule, call) -> list:
    try:
        return list(call() or ())
    except Exception:  # a rule's bug must not hide the other findings
        return [_crashed(rule)]


def _crashed(rule) -> Finding:
    # an error: a check that did not run cannot be explained away, the bureau must see it
    tb = traceback.format_exc(limit=3)
    return Finding(rule.id, "error", f"检查规则 {rule.id} 运行出错，本项未能检查：{tb.strip().splitlines()[-1]}")


_WB_RULES: dict[int, tuple] = {}   # id(checks) -> (checks, number of its rules, [(rule, Context)])


def _workbook_rules(checks: Checks) -> list:
    """The workbook rules with one Context each (contexts hold no per-workbook state)."""
    hit = _WB_RULES.get(id(checks))
    if hit is None or hit[0] is not checks or hit[1] != len(checks.rules):
        hit = _WB_RULES[id(checks)] = (checks, len(checks.rules),
                                       [(r, Context(checks, r)) for r in checks.by_scope("workbook")])
    return hit[2]


def _workbook_findings(wb: Workbook, checks: Checks) -> list[Finding]:
    out: list[Finding] = []
    has: dict[str, bool] = {}   # many rules share their needs
    for r, ctx in _workbook_rules(checks):
        ok = True
        for n in r.needs:
            h = has.get(n)
            if h is None:
                h = has[n] = wb.has(n)
            if not h:
                ok = False
                break
        if not ok:
            continue
        try:
            found = r.func(wb, ctx)
            if found:
                out.extend(list(found))   # all or nothing: a rule that fails midway reports only that
        except Exception:  # a rule's bug must not hide the other findings
            out.append(_crashed(r))
    return out


def batch_views(wb: Workbook, checks: Checks) -> dict[str, Workbook]:
    """Each batch rule's view of one workbook (its `view` function, else the whole workbook),
    keyed by rule id; rules sharing a view function share one view. Rules with nothing to check
    in this workbook are left out."""
    out: dict[str, Workbook] = {}
    made: dict = {}
    for r in checks.by_scope("batch"):
        fn = r.view
        if fn is None:
            view = wb
        elif fn in made:
            view = made[fn]
            if isinstance(view, Finding):
                continue        # its crash is reported once, under the first rule using it
        else:
            try:
                view = fn(wb, Context(checks, r))
            except Exception:   # a broken view is that rule's crash, reported like any other
                view = _crashed(r)
            made[fn] = view
        if isinstance(view, Finding):
            out[r.id] = view
        elif view is not None and all(view.has(n) for n in r.needs):
            out[r.id] = view
    return out


def run_batch_rules(views: list[dict[str, Workbook]], checks: Checks) -> list[list[Finding]]:
    """The batch rules over the views of many workbooks (one call per rule): findings per workbook."""
    per: list[list[Finding]] = [[] for _ in views]
    shared: dict = {}
    for r in checks.by_scope("batch"):
        idx = []
        for i, v in enumerate(views):
            got = v.get(r.id)
            if isinstance(got, Finding):    # its view crashed in this workbook
                per[i].append(got)
            elif got is not None:
                idx.append(i)
        if not idx:
            continue
        sub = [views[i][r.id] for i in idx]
        for item in _safe(r, lambda r=r, sub=sub: r.func(sub, Context(checks, r, shared))):
            if isinstance(item, Finding):  # a crashed batch rule: tell every file
                for i in idx:
                    per[i].append(item)
            else:
                j, f = item
                per[idx[j]].append(f)
    return per


def summarize(wb: Workbook, checks: Checks) -> dict:
    """Department, year, recomputed score total and grade (the checker never trusts caches)."""
    dept = wb.value("dept_name")
    year = parse_number(wb.value("eval_year")).value
    total = None
    scores = wb.tables.get("scores")
    if scores is not None and scores.has("自评得分"):
        # the rules have parsed these cells already (an error value is parsed as its text here)
        vals = [(parse_number(c.value) if c.is_error else cell_parsed(c)).value for c in scores.column("自评得分")]
        nums = [v for v in vals if v is not None]
        if nums:
            total = round(sum(nums), 2)
    grade = checks.framework.grade_for(total) if total is not None else None
    return {
        "department": str(dept).strip() if dept not in (None, "") else None,
        "year": int(year) if year is not None and float(year).is_integer() else None,
        "template_version": wb.template_version, "score_total": total, "grade": grade,
    }


def check_workbooks(wbs: list[Workbook], checks: Checks) -> list[FileResult]:
    """Run batch and workbook rules over already-read workbooks."""
    # the rules allocate many small objects while the workbooks stay alive: without a pause the
    # cyclic collector re-walks all the workbooks again and again (as _no_cyclic_gc does for a
    # chunk; when a caller paused it already, it is left as it is)
    was = gc.isenabled()
    gc.disable()
    try:
        partial = [_partial_result(wb, checks) for wb in wbs]
        _finish_batch(partial, checks)
        return [p.result for p in partial]
    finally:
        if was:
            gc.enable()


@dataclass(slots=True)
class _Partial:
    """A file's result before the run's batch rules: its views for them and its explanations."""
    result: FileResult
    views: dict[str, Workbook]
    notes: dict | None = None


def _partial_result(wb: Workbook, checks: Checks) -> _Partial:
    findings = _workbook_findings(wb, checks)
    notes = read_explanations(wb)
    apply_notes(findings, notes, checks)
    res = FileResult(wb.source, "fail", findings, **summarize(wb, checks))
    res.settle()
    views = batch_views(wb, checks)
    return _Partial(res, views, notes if views else None)


def _finish_batch(partial: list[_Partial], checks: Checks) -> None:
    """Add the batch rules' findings (one pass over every view) and settle each result again."""
    if not any(p.views for p in partial):
        return
    for p, extra in zip(partial, run_batch_rules([p.views for p in partial], checks)):
        if extra:
            apply_notes(extra, p.notes, checks)
            p.result.findings.extend(extra)
            p.result.settle()
        p.views, p.notes = {}, None


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


def _read_one(path: str):
    from .reader import read_workbook
    return read_workbook(path)


@contextmanager
def _no_cyclic_gc():
    """Pause the cyclic garbage collector while a chunk is read and checked.

    A chunk allocates ~100,000 cells that all stay alive until it is done, so every automatic
    collection re-traverses them all: with the collector on, a 1,000-file run spent a third of its
    time in it, and a full collection after each chunk rescanned every module and earlier result.
    The model holds no reference cycles; the chunk is freed by reference counting."""
    was = gc.isenabled()
    gc.freeze()     # what is alive already (modules, earlier chunks' results) is never rescanned
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def check_paths_chunk(paths: list[str], checks_dir: str | None) -> list[FileResult]:
    """Read and check a chunk of files completely (batch rules over this chunk alone).

    Whatever a file is (an .xls, an encrypted or truncated workbook, a zip bomb, a directory …)
    it yields exactly one FileResult; reading errors never reach the caller."""
    partial = _chunk_partial(paths, checks_dir)
    _finish_batch(partial, load_checks(checks_dir))
    return [p.result for p in partial]


def _chunk_partial(paths: list[str], checks_dir: str | None) -> list[_Partial]:
    """Worker entry point: read a chunk and run the workbook rules; the batch rules' views come
    back with the results, for the run's single batch pass."""
    with _no_cyclic_gc():
        return _check_chunk(paths, checks_dir)


def _check_chunk(paths: list[str], checks_dir: str | None) -> list[_Partial]:
    checks = load_checks(checks_dir)
    out: dict[str, _Partial] = {}
    for p in paths:
        try:
            wb = _read_one(p)
        except ReadError as e:
            rule = getattr(e, "rule", "FILE001")
            params = getattr(e, "params", {})
            out[p] = _Partial(unreadable(p, str(e), checks, rule, params), {})
            continue
        except RecursionError:
            out[p] = _Partial(unreadable(p, "工作簿内部结构损坏（嵌套层次异常），无法读取", checks, "FILE009"), {})
            continue
        except MemoryError:
            out[p] = _Partial(unreadable(p, "文件数据量过大，内存不足，无法读取", checks, "FILE010"), {})
            continue
        except Exception as e:  # never let one file stop the run
            out[p] = _Partial(unreadable(p, f"无法读取（{type(e).__name__}）", checks), {})
            continue
        try:
            out[p] = _partial_result(wb, checks)
        except Exception:  # an engine bug outside the per-rule guard: keep the file, say so
            tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
            out[p] = _Partial(FileResult(wb.source, "fail", [Finding(
                "FILE001", "error", f"审核程序运行出错，本文件未能完成检查：{tb}")]), {})
        del wb   # the chunk keeps results and views only: memory stays flat in chunk size
    return [out[p] for p in paths]


def _prepare_batch(got: list[_Partial], checks: Checks, done: set[str]) -> None:
    """Run the prepare() of batch rules that just received their first view (the workers go on
    reading meanwhile, so e.g. pandera's import overlaps their work instead of following it)."""
    for r in checks.by_scope("batch"):
        if r.prepare is None or r.id in done or not any(r.id in p.views for p in got):
            continue
        done.add(r.id)
        try:
            r.prepare()
        except Exception:   # the batch pass will meet (and report) the same problem
            pass


def check_paths(paths: Iterable[str | os.PathLike], *, checks_dir: str | None = None, jobs: int = 1,
                progress: Callable[[int], None] | None = None) -> Iterator[FileResult]:
    """Check files, yielding results in input order; `jobs` > 1 uses a process pool.

    Files are read and checked chunk by chunk (in worker processes when jobs > 1); the batch
    rules then run once over the views all chunks sent back (one pandera pass per table for the
    whole run, in this process; one more for each further BATCH_ROWS rows held, so that memory
    stays bounded), and results are yielded when every file is done."""
    paths = [str(p) for p in paths]
    checks = load_checks(checks_dir)
    partial: list[_Partial] = []
    waiting: list[_Partial] = []      # results whose views await the batch pass
    held = 0                          # table rows those views hold

    def keep(got: list[_Partial]) -> None:
        nonlocal held
        partial.extend(got)
        for p in got:
            if p.views:
                waiting.append(p)
                held += _view_rows(p.views)
        if held >= BATCH_ROWS:        # memory stays bounded however many files are suspect
            with _no_cyclic_gc():
                _finish_batch(waiting, checks)
            waiting.clear()
            held = 0

    if jobs <= 1 or len(paths) < 8:
        for i in range(0, len(paths), CHUNK):
            got = _chunk_partial(paths[i:i + CHUNK], checks_dir)
            if progress:
                progress(len(got))
            keep(got)
    else:
        # small chunks so that every worker stays busy to the end
        size = max(1, min(CHUNK, len(paths) // (jobs * 8) or 1))
        chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
        from concurrent.futures import ProcessPoolExecutor
        prepared: set[str] = set()
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for got in pool.map(_chunk_partial, chunks, [checks_dir] * len(chunks)):
                if progress:
                    progress(len(got))
                _prepare_batch(got, checks, prepared)
                keep(got)
    with _no_cyclic_gc():
        _finish_batch(waiting, checks)
    for p in partial:
        yield p.result


def _view_rows(views: dict[str, Workbook]) -> int:
    distinct = {id(v): v for v in views.values() if isinstance(v, Workbook)}
    return sum(len(t.rows) for v in distinct.values() for t in v.tables.values())


def find_workbooks(inputs: Iterable[str | os.PathLike], skip_dirs: Iterable[Path] = ()) -> list[Path]:
    """Expand files and folders (recursively) into the paths to check.

    In folders: every file that may be a submission (.xlsx/.xlsm, and .xls/.et/.ods/.csv/.xlsb …, which
    are then reported with their reason); lock files `~$*`, macOS `._*` shadows and `__MACOSX`,
    the tool's outputs (skip_dirs) and directories — whatever their names — are skipped. Symbolic
    links to folders are not followed (no loops). A folder that cannot be listed is returned as
    itself, so that the run reports it instead of silently checking fewer files.
    Explicit files are kept (even `notes.pdf`: the user asked for it), except lock files."""
    skip = {Path(s).resolve() for s in skip_dirs}
    out: list[Path] = []
    seen: set[Path] = set()

    def add(q: Path, key: Path | None = None) -> None:
        key = key or q.resolve()
        if key not in seen:
            seen.add(key)
            out.append(q)

    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            if p.resolve() in skip:
                continue
            found, denied = [], []
            for root, dirs, files in os.walk(p, onerror=lambda e: denied.append(Path(e.filename))):
                r = Path(root)
                real = r.resolve()     # once per folder: a file's real path is then real / name
                dirs[:] = sorted(d for d in dirs if d != "__MACOSX" and (r / d).resolve() not in skip)
                found.extend((r / f, None if os.path.islink(r / f) else real / f)
                             for f in files if _candidate(r / f))
            for q, key in sorted(found) + [(d, None) for d in sorted(denied)]:
                add(q, key)
        elif not _is_lock(p):
            add(p)
    return out


def _is_lock(p: Path) -> bool:
    return p.name.startswith(("~$", ".~lock.")) or (p.name.startswith("._") and p.name != "._")


def _candidate(p: Path) -> bool:
    """A file in a folder that may be a district's submission (a regular file, not a lock file)."""
    from .sniff import CANDIDATE_SUFFIXES
    if _is_lock(p) or p.suffix.lower() not in CANDIDATE_SUFFIXES:
        return False
    try:
        return p.is_file()
    except OSError:
        return False


def run_collection_rules(results: list[FileResult], checks: Checks) -> None:
    """Rules over the whole run (the same department twice, mixed years …)."""
    for r in checks.by_scope("collection"):
        for item in _safe(r, lambda r=r: r.func(results, Context(checks, r))):
            if isinstance(item, Finding):
                continue
            i, f = item
            results[i].findings.append(f)
    for res in results:
        res.settle()
