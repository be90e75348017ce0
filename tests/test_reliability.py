"""Hostile and broken inputs: every file gets one clear Chinese reason, the run goes on, nothing is lost.

The corpus is built by tests/bad_inputs.py (no binary is checked in). Runs go through the public
surfaces: `runner.check_chunk`, `discover.find_workbooks` and the `xlcheck` command line.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import bad_inputs as bad
from xlcheck import discover, ooxml, runner, sniff
from xlcheck.results import FileResult
from xlcheck.cli import main
from xlcheck.errors import ReadError
from xlcheck.reader import read_workbook

CJK = re.compile(r"[\u4e00-\u9fff]")
CRASH = ("运行出错", "Traceback", "Exception")

# the same script as `xlcheck`, reporting its own peak memory on stderr
_MEASURED = (
    "import resource, sys\n"
    "from xlcheck.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:], prog_name='xlcheck')\n"
    "finally:\n"
    "    sys.stderr.write('\\nMAXRSS_KB=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)


def run_cli(args, *, timeout=180, cwd=None):
    """`xlcheck ARGS` in a fresh interpreter: (exit status, stdout, stderr, peak RSS in MB)."""
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)
    m = re.search(r"MAXRSS_KB=(\d+)", proc.stderr)
    rss = int(m.group(1)) / 1024 if m else None
    err = re.sub(r"\s*MAXRSS_KB=\d+\s*", "", proc.stderr)
    return proc.returncode, proc.stdout, err, rss


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """All bad inputs in one collected folder, among a clean workbook, a lock file and a folder
    named like a workbook."""
    d = tmp_path_factory.mktemp("collected")
    paths = {name: make(d) for name, (make, _, _) in bad.CORPUS.items()}
    paths["clean"] = bad.clean_workbook(d, "clean-2024.xlsx")
    paths["lock"] = bad.make_lock_file(d)
    paths["dir"] = bad.make_dir_named_xlsx(d)
    return paths


def one_result(path) -> FileResult:
    res = runner.check_chunk([str(path)], None)
    assert len(res) == 1 and res[0].path == str(path)
    return res[0]


def assert_clear(f) -> None:
    """One sentence a finance officer can act on: Chinese, no Python in it."""
    assert CJK.search(f.message), f.message
    for word in CRASH + ("Error:", "errno", "zipfile", "xml.etree"):
        assert word not in f.message, f.message


# ---------------------------------------------------------------- one reason per bad file

@pytest.mark.parametrize("name", sorted(bad.CORPUS))
def test_bad_input_gets_one_clear_reason(corpus, name):
    _, rules, fragment = bad.CORPUS[name]
    res = one_result(corpus[name])
    assert res.status == "unreadable"
    assert len(res.findings) == 1, [f.message for f in res.findings]
    f = res.findings[0]
    assert f.rule in rules and f.severity == "error", (f.rule, f.message)
    assert fragment in f.message, f.message
    assert_clear(f)


def test_reasons_also_reach_read_workbook(corpus):
    """The add-in and other callers of read_workbook get the same sentence as a ReadError."""
    with pytest.raises(ReadError, match="文件已加密，请取消密码后重新提交"):
        read_workbook(corpus["encrypted"])
    with pytest.raises(ReadError, match=r"这是 \.xls 旧格式"):
        read_workbook(corpus["xls"])
    with pytest.raises(sniff.FileKindError) as e:
        read_workbook(corpus["truncated"])
    assert e.value.rule == "FILE009"


def test_folder_run_reports_every_file_and_goes_on(corpus):
    folder = corpus["clean"].parent
    code, out, err, rss = run_cli(["--no-write", "--format", "json", folder])
    assert code == 1, err
    assert "Traceback" not in err, err
    doc = json.loads(out)
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    # every bad file has exactly its reason; the clean workbook was checked normally
    for name, (_, rules, fragment) in bad.CORPUS.items():
        f = by_name.pop(corpus[name].name)
        assert f["status"] == "unreadable", f
        assert [x["rule"] for x in f["findings"]] in [[r] for r in rules], f["findings"]
        assert fragment in f["findings"][0]["message"]
    clean = by_name.pop(corpus["clean"].name)
    assert clean["status"] != "unreadable" and clean["department"] == "广州市某区工商业联合会"
    assert not any(x["rule"].startswith("FILE") for x in clean["findings"])
    # lock files and directories are never files to check, whatever their names
    assert not by_name, f"unexpected files reported: {sorted(by_name)}"
    assert rss is not None and rss < 700, f"peak memory {rss:.0f} MB for a small folder with bombs in it"


def test_text_report_names_each_reason(corpus):
    code, out, err, _ = run_cli(["--no-write", corpus["encrypted"], corpus["xls"], corpus["csv"]])
    assert code == 1 and "Traceback" not in err
    assert "文件已加密，请取消密码后重新提交" in out
    assert "这是 .xls 旧格式（Excel 97-2003），请在 Excel 中“另存为” Excel 工作簿（.xlsx）后重新提交" in out
    assert "这是 CSV 文本文件，不是填报模板" in out


def test_only_bad_files_exit_1_never_2(tmp_path):
    """A folder holding nothing but unreadable files is a failed check, not a usage error."""
    bad.make_xls(tmp_path)
    bad.make_empty(tmp_path)
    code, out, err, _ = run_cli(["--no-write", tmp_path])
    assert code == 1, (out, err)
    assert "无法读取 2" in out


# ---------------------------------------------------------------- finding the files

def test_find_workbooks_picks_up_other_formats_and_skips_locks_and_dirs(tmp_path):
    for name in ("a.xlsx", "b.XLSM", "c.xls", "d.et", "e.ods", "f.csv", "g.xlsb", "~$a.xlsx", "._a.xlsx",
                 "notes.txt", "报告.docx", "报告.pdf", ".~lock.a.xlsx#"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "x.xlsx").mkdir()                  # a directory named like a workbook
    (tmp_path / "x.xlsx" / "inner.xlsx").write_bytes(b"x")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._a.xlsx").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.xlsx").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")     # a symlink loop is not followed
    got = [p.relative_to(tmp_path).as_posix() for p in discover.find_workbooks([tmp_path])]
    assert got == ["a.xlsx", "b.XLSM", "c.xls", "d.et", "e.ods", "f.csv", "g.xlsb", "sub/h.xlsx", "x.xlsx/inner.xlsx"]


def test_find_workbooks_explicit_files_and_duplicates(tmp_path):
    a = tmp_path / "a.xlsx"
    a.write_bytes(b"x")
    lock = tmp_path / "~$a.xlsx"
    lock.write_bytes(b"x")
    pdf = tmp_path / "报告.pdf"
    pdf.write_bytes(b"%PDF")
    got = discover.find_workbooks([a, lock, pdf, tmp_path, a])
    assert got == [a, pdf]        # an explicit non-workbook is still reported; lock files never


def test_directory_given_as_file_and_vanished_file(tmp_path):
    d = tmp_path / "x.xlsx"
    d.mkdir()
    gone = tmp_path / "gone.xlsx"
    res = runner.check_chunk([str(d), str(gone)], None)
    assert [r.status for r in res] == ["unreadable", "unreadable"]
    assert "文件夹" in res[0].findings[0].message
    assert "不存在" in res[1].findings[0].message


@pytest.mark.parametrize("explicit", [
    False,
    True,
], ids=["in-folder", "explicit"])
def test_unreadable_permissions(tmp_path, explicit):
    folder = tmp_path / "收件"
    folder.mkdir()
    bad.clean_workbook(folder, "可读.xlsx")
    p = bad.clean_workbook(folder, "无权限.xlsx")
    p.chmod(0)
    try:
        code, out = _run_unprivileged(["--no-write", *([p, folder / "可读.xlsx"] if explicit else [folder])], tmp_path)
    finally:
        p.chmod(0o644)
    assert code == 1 and "Traceback" not in out, out
    assert "FILE001" in out and "没有读取权限" in out, out
    assert "通过  " in out or "通过 1" in out, out      # the readable one was still checked


def test_fifo_is_not_opened(tmp_path):
    """A named pipe would block a reader forever."""
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    res = one_result(fifo)
    assert res.status == "unreadable" and "不是普通文件" in res.findings[0].message


# ---------------------------------------------------------------- guards inside the package

def test_cell_count_guard(tmp_path, monkeypatch):
    p = bad.clean_workbook(tmp_path)
    monkeypatch.setattr(ooxml.package, "MAX_CELLS", 100)
    res = one_result(p)
    assert res.status == "unreadable" and res.findings[0].rule == "FILE010", res.findings


def test_inflate_is_bounded_by_the_limits_not_only_by_declared_sizes(tmp_path, monkeypatch):
    """The bounded reader stops inflating at the part limit whatever the headers said."""
    p = bad.clean_workbook(tmp_path)
    pkg = ooxml.Package(p)              # declared sizes pass …
    try:
        monkeypatch.setattr(ooxml.package, "MAX_PART_BYTES", 1000)   # … then the reader meets its limit
        part = bad.part_of_sheet(bad.clean_bytes(), "基本信息")
        assert pkg.infos[part].file_size > 1000
        with pytest.raises(sniff.FileKindError) as e:
            pkg.read(part)
        assert e.value.rule == "FILE010"
    finally:
        pkg.close()


def test_unknown_compression_and_encrypted_zip_entries(tmp_path):
    src = bad.clean_bytes()
    parts = bad._parts_of(src)
    entries = []
    for n, b in parts.items():
        blob, crc, size = bad.deflated(b)
        entries.append((n, blob, 9 if n.startswith("xl/worksheets/") else 8, crc, size))   # deflate64
    p = tmp_path / "deflate64.xlsx"
    p.write_bytes(bad.raw_zip(entries))
    res = one_result(p)
    assert res.status == "unreadable" and res.findings[0].rule == "FILE009"
    assert "压缩方式" in res.findings[0].message


def test_fallback_when_a_bureau_checks_dir_lacks_the_new_rules(tmp_path, corpus):
    """A bureau's older copy of checks/ (FILE001 only) still gets the whole sentence."""
    import xlcheck.checks as pkg
    src = Path(pkg.__file__).parent
    mine = tmp_path / "mychecks"
    shutil.copytree(src, mine, ignore=shutil.ignore_patterns("__pycache__"))
    (mine / "file.toml").write_text('[FILE001]\nseverity = "error"\ntitle = "文件无法读取"\nmessage = "{detail}"\n',
                                    encoding="utf-8")
    res = runner.check_chunk([str(corpus["encrypted"])], str(mine))[0]
    assert res.findings[0].rule == "FILE001"
    assert res.findings[0].message.startswith("文件已加密，请取消密码后重新提交")


def test_file_rules_documented():
    from xlcheck.rules import load_checks
    checks = load_checks()
    for rid in sniff.ADVICE:
        r = checks.get(rid)
        assert r is not None and r.severity == "error", rid
        # the default texts and sniff.ADVICE say the same (ADVICE serves callers without rule texts)
        assert r.message == "{detail}" + sniff.ADVICE[rid], rid


# ---------------------------------------------------------------- real files of the other formats

@pytest.mark.libreoffice
def test_real_xls_and_ods_written_by_libreoffice(tmp_path, libreoffice):
    """The OLE2 directory reader on a real .xls, and a real .ods (both written by LibreOffice)."""
    src = bad.clean_workbook(tmp_path, "real.xlsx")
    xls = libreoffice([src], tmp_path / "xls", fmt="xls")[0]
    ods = libreoffice([src], tmp_path / "ods", fmt="ods")[0]
    assert sniff.sniff_file(xls) == sniff.Kind("FILE002", "这是 .xls 旧格式（Excel 97-2003）")
    assert sniff.sniff_file(ods).rule == "FILE006"
    renamed = tmp_path / "renamed.xlsx"
    shutil.copy(xls, renamed)
    res = one_result(renamed)
    assert res.findings[0].rule == "FILE002" and "扩展名却是 .xlsx" in res.findings[0].message


# ---------------------------------------------------------------- structure problems: no crash, a clear finding

STRUCTURE_EXPECT = {
    "not_template": "STR001",
    "deleted_sheet": "STR004",
    "renamed_table": "STR006",
    "broken_name": "STR005",
    "ref_everywhere": "VAL",
}


@pytest.mark.parametrize("name", sorted(STRUCTURE_EXPECT))
def test_structure_problem_reported_without_crash(tmp_path, name):
    p = bad.STRUCTURE[name](tmp_path)
    res = one_result(p)
    assert res.status == "fail"
    crashed = [f.message for f in res.findings if "运行出错" in f.message]
    assert not crashed, crashed
    hits = [f for f in res.findings if f.rule.startswith(STRUCTURE_EXPECT[name]) and f.severity == "error"]
    assert hits, [(f.rule, f.message) for f in res.findings]
    for f in res.findings:
        assert_clear(f)


def test_circular_formula_reported(tmp_path):
    res = one_result(bad.make_circular(tmp_path))
    assert any(f.rule.startswith("STR") and f.field == "budget_adjusted" for f in res.findings)


def test_circular_formula_no_crash(tmp_path):
    res = one_result(bad.make_circular(tmp_path))
    assert res.status in ("pass", "fail")
    assert not [f for f in res.findings if "运行出错" in f.message]


def test_texts_at_excels_limit_bounded(tmp_path):
    """32,767 characters in every text cell (Excel's limit), made of years, amounts and rates: the
    text rules must stay linear (a regex over the whole prefix per match is minutes here)."""
    p = bad.make_long_texts(tmp_path)
    try:
        code, out, err, rss = run_cli(["--no-write", "--format", "json", p], timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("checking one workbook with long texts took more than 30 s (all other checks take ~2 s; TXT001 took 97 s)")
    assert "Traceback" not in err, err
    f = json.loads(out)["files"][0]
    assert f["status"] == "fail"
    assert not [x for x in f["findings"] if "运行出错" in x["message"]]


@pytest.mark.slow
def test_100000_indicator_rows_bounded(tmp_path):
    """100,000 filled rows in the indicators table: checked to the end in bounded time and memory."""
    p = bad.make_huge_table(tmp_path, 100_000)
    code, out, err, rss = run_cli(["--no-write", "--format", "json", p], timeout=240)
    assert "Traceback" not in err, err
    doc = json.loads(out)
    f = doc["files"][0]
    assert f["status"] in ("pass", "fail"), f["findings"][:3]
    assert not [x for x in f["findings"] if "运行出错" in x["message"]]
    assert rss < 1500, f"peak memory {rss:.0f} MB"


# ---------------------------------------------------------------- write safety (through the public CLI)

def _cli(args):
    res = CliRunner().invoke(main, [*map(str, args)])
    assert res.exception is None or isinstance(res.exception, SystemExit), \
        f"crashed: {res.exception!r}\n{res.output}"
    assert "Traceback" not in res.output
    return res


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~xlcheck") or p.suffix == ".tmp")


def test_in_place_leaves_a_backup_and_a_readable_workbook(tmp_path):
    p = bad.clean_workbook(tmp_path, "区工商联.xlsx")
    before = p.read_bytes()
    res = _cli(["--in-place", p])
    assert res.exit_code == 0, res.output
    backups = [q for q in tmp_path.iterdir() if q != p and q.suffix == ".xlsx"]
    assert len(backups) == 1 and backups[0].read_bytes() == before, backups
    assert p.read_bytes() != before
    wb = read_workbook(p)
    assert "审核结果" in wb.sheets
    again = one_result(p)
    assert again.status == "pass", [f.message for f in again.findings]
    assert _leftovers(tmp_path) == []


def test_failed_replace_leaves_original_byte_identical(tmp_path, monkeypatch):
    """The disk fills up at the last step (os.replace onto the original)."""
    import errno
    p = bad.clean_workbook(tmp_path, "区工商联.xlsx")
    before = p.read_bytes()
    real = os.replace

    def failing(src, dst, *a, **k):
        if Path(dst).resolve() == p.resolve():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **k)
    monkeypatch.setattr(os, "replace", failing)
    res = _cli(["--in-place", p])
    assert p.read_bytes() == before
    assert res.exit_code == 1
    assert "磁盘空间不足" in res.output
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), RuntimeError("simulated crash"),
                                 KeyboardInterrupt()], ids=["EIO", "RuntimeError", "Ctrl-C"])
def test_exception_while_writing_leaves_original_byte_identical(tmp_path, monkeypatch, exc):
    """Half of the new package is on disk when the write fails (disk error, a bug, Ctrl-C)."""
    p = bad.clean_workbook(tmp_path, "区工商联.xlsx")
    before = p.read_bytes()

    def failing(fd):
        raise exc
    monkeypatch.setattr(os, "fsync", failing)
    res = CliRunner().invoke(main, ["--in-place", "--no-backup", str(p)])
    assert p.read_bytes() == before
    assert _leftovers(tmp_path) == []
    if isinstance(exc, OSError):    # an I/O error is one reason and the run goes on
        assert res.exit_code == 1 and "未能写入" in res.output, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)


def test_failed_copy_to_out_dir_leaves_nothing_half_written(tmp_path, monkeypatch):
    import errno
    p = bad.clean_workbook(tmp_path, "区工商联.xlsx")
    before = p.read_bytes()
    out = tmp_path / "out"
    real = os.replace

    def failing(src, dst, *a, **k):
        if Path(dst).name == p.name:
            raise OSError(errno.EIO, "I/O error")
        return real(src, dst, *a, **k)
    monkeypatch.setattr(os, "replace", failing)
    res = _cli([p, "--out", out])
    assert res.exit_code == 1 and "未能写入" in res.output
    assert p.read_bytes() == before
    assert not (out / p.name).exists()
    assert _leftovers(out) == [] and _leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform != "linux", reason="undecodable file names exist on Linux file systems")
def test_file_names_that_are_not_utf8(tmp_path):
    folder = tmp_path / "收件"
    folder.mkdir()
    gbk = os.fsdecode(bytes(folder) + b"/" + "区工商联".encode("gbk") + b".xlsx")
    Path(gbk).write_bytes(bad.clean_bytes())
    code, out, err, _ = run_cli(["--format", "json", "--out", tmp_path / "out", folder], cwd=tmp_path)
    assert "Traceback" not in err, err
    assert code in (0, 1)
    json.loads(out.encode("utf-8", "surrogateescape").decode("utf-8"))   # valid UTF-8 JSON
    assert (tmp_path / "out" / "汇总.xlsx").exists()


def _unprivileged() -> list[str]:
    """Run as a user who cannot override file permissions (root drops its capabilities)."""
    if os.geteuid() != 0:
        return []
    exe = shutil.which("setpriv")
    if not exe:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [exe, "--inh-caps=-all", "--bounding-set=-all"]


def _run_unprivileged(args, cwd):
    proc = subprocess.run([*_unprivileged(), sys.executable, "-m", "xlcheck", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    return proc.returncode, proc.stdout + proc.stderr


def test_read_only_input_in_place_gets_a_reason(tmp_path):
    p = bad.clean_workbook(tmp_path, "只读.xlsx")
    before = p.read_bytes()
    p.chmod(0o444)
    try:
        code, out = _run_unprivileged(["--in-place", "--no-backup", p], tmp_path)
    finally:
        p.chmod(0o644)
    assert "Traceback" not in out, out
    assert code == 1, out
    assert "只读" in out or "没有写入权限" in out, out
    assert p.read_bytes() == before


def test_read_only_output_folder_gets_a_reason(tmp_path):
    p = bad.clean_workbook(tmp_path, "区工商联.xlsx")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, text = _run_unprivileged([p, "--out", out], tmp_path)
    finally:
        out.chmod(0o755)
    assert "Traceback" not in text, text
    assert code == 1, text
    assert "未能写入" in text and "没有写入权限" in text, text
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------- a workbook saved by LibreOffice

def _examples_builder():
    import importlib.util
    spec = importlib.util.spec_from_file_location("xlcheck_examples_build", bad.ROOT / "examples" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.libreoffice
def test_workbooks_saved_by_libreoffice_give_the_same_findings(tmp_path, libreoffice):
    """Open each example (real mistakes of the seeds) and two hostile workbooks in LibreOffice,
    recalculate, save as .xlsx: the checker reads LibreOffice's package without trouble and finds
    exactly what it found in the original (LibreOffice rewrites every part and every cached value;
    only messages about formula cells may quote a different cached value)."""
    ex = _examples_builder()
    src = tmp_path / "src"
    files = [ex.build(n, ex.load(n), src) for n in ("clean-2024", "baiyun-2022", "huangpu-2022", "tianhe-2022",
                                                     "guangzhou-2023", "huadu-2021")]
    files += [bad.make_broken_name(src), bad.make_ref_everywhere(src)]
    saved = libreoffice(files, tmp_path / "lo")
    for a, b in zip(files, saved):
        with zipfile.ZipFile(b) as z:     # really LibreOffice's package, not a copy
            assert "LibreOffice" in z.read("docProps/app.xml").decode("utf-8", "replace")
        ra, rb = one_result(a), one_result(b)
        if a.name.startswith("全是REF"):
            # LibreOffice saves a typed error value as a formula (<f>#REF!</f>): the table rows that
            # hold nothing else count as blank, so only "no crash, still a failure" is comparable
            assert rb.status == "fail" and not [f for f in rb.findings if "运行出错" in f.message]
            continue
        assert rb.status == ra.status, (a.name, [f.message for f in rb.findings])
        assert not [f for f in rb.findings if "运行出错" in f.message or f.rule.startswith("FILE")], a.name
        formula_cells = {(c.sheet, c.address) for grid in read_workbook(a).cells.values()
                         for c in grid.values() if c.formula is not None}

        def keys(res):
            return sorted((f.rule, f.severity, f.sheet or "", f.cell or "", f.field or "", f.row or 0,
                           "" if (f.sheet, f.cell) in formula_cells else f.message) for f in res.findings)
        assert keys(rb) == keys(ra), a.name
        assert (rb.department, rb.year, rb.score_total, rb.grade) == (ra.department, ra.year, ra.score_total, ra.grade)


def test_parallel_run_reports_the_same(corpus):
    """--jobs 2: the same one reason per file, in the same order, from worker processes."""
    folder = corpus["clean"].parent
    _, out1, _, _ = run_cli(["--no-write", "--format", "json", "--jobs", "1", folder])
    code, out2, err, _ = run_cli(["--no-write", "--format", "json", "--jobs", "2", folder])
    assert code == 1 and "Traceback" not in err, err

    def key(doc):
        return [(f["path"], f["status"], [x["rule"] for x in f["findings"]]) for f in json.loads(doc)["files"]]
    assert key(out2) == key(out1)


# ---------------------------------------------------------------- the in-memory zip path

def test_in_memory_and_zipfile_paths_read_the_same_book(tmp_path, monkeypatch):
    """Small files are inflated from memory, large ones through zipfile: one book either way."""
    p = bad.clean_workbook(tmp_path)
    fast = ooxml.read_package(p)
    monkeypatch.setattr(ooxml.package, "FAST_MAX_FILE", 0)
    slow = ooxml.read_package(p)
    assert fast == slow and fast.tables and fast.names


def test_bad_crc_with_valid_deflate_is_broken(tmp_path):
    """A part whose stored CRC does not match its (perfectly inflatable) content."""
    parts = bad._parts_of(bad.clean_bytes())
    sheet = bad.part_of_sheet(bad.clean_bytes(), "绩效指标")
    entries = []
    for n, b in parts.items():
        blob, crc, size = bad.deflated(b)
        entries.append((n, blob, 8, crc ^ 1 if n == sheet else crc, size))
    p = tmp_path / "crc.xlsx"
    p.write_bytes(bad.raw_zip(entries))
    res = one_result(p)
    assert res.status == "unreadable" and res.findings[0].rule == "FILE009"
    assert "损坏" in res.findings[0].message


def test_archive_with_prepended_bytes_still_reads(tmp_path):
    """Bytes before the zip (a self-extractor stub): zipfile's offset handling takes over."""
    p = tmp_path / "prefixed.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 60 + bad.clean_bytes())
    assert ooxml.read_package(p) == ooxml.read_package(bad.clean_workbook(tmp_path))
