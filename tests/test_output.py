"""What a folder run writes: annotated copies, --in-place with backups, the summary workbook 汇总.xlsx."""
from __future__ import annotations

import hashlib
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from fixtures_office import filled_workbook, office_workbook
from xlcheck.findings import Finding
from xlcheck.output import (backup_path, is_own_output, out_dir_problem, relative_names, run_folder,
                            write_outputs)
from xlcheck.reader import read_workbook
from xlcheck.review import REVIEW_SHEET
from xlcheck.discover import find_workbooks
from xlcheck.results import FileResult
from xlcheck.runner import check_paths
from xlcheck.output import SUMMARY_NAME
from xlcheck.summary import DETAIL_HEADERS, SUMMARY_HEADERS, top_problems

NOW = datetime(2024, 5, 6, 9, 30)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def collection(tmp_path):
    """in/a.xlsx (filled), in/sub/b.xlsx (image, comment), in/broken.xlsx (not a workbook)."""
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    filled_workbook(d / "a.xlsx")
    office_workbook(d / "sub" / "b.xlsx")
    (d / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    return d


def run(folder: Path) -> list[FileResult]:
    return list(check_paths(find_workbooks([folder])))


def fake(path, findings, status="fail", **kw) -> FileResult:
    r = FileResult(str(path), status, findings, department=kw.get("department", "某区工商联"),
                   year=kw.get("year", 2024), score_total=kw.get("score", 95.5), grade=kw.get("grade", "优"))
    r.settle()
    return r


def test_default_run_writes_copies_and_summary_inputs_untouched(collection, tmp_path, capsys):
    before = digest(collection)
    results = run(collection)
    assert [r.status == "unreadable" for r in results] == [False, True, False]
    out = tmp_path / "out"
    rep = write_outputs(results, out_dir=out, in_place=False, backup=True, quiet=False, now=NOW)
    assert digest(collection) == before                      # inputs byte-identical
    assert rep.ok and rep.summary == out / SUMMARY_NAME
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.xlsx")) == ["a.xlsx", "sub/b.xlsx", SUMMARY_NAME]
    for name in ("a.xlsx", "sub/b.xlsx"):
        assert REVIEW_SHEET in read_workbook(out / name).sheets
    err = capsys.readouterr().err
    assert "批注副本 2 个和汇总表已写入" in err


def test_summary_contents(collection, tmp_path):
    results = run(collection)
    results[0].score_total = 92.5                             # the chart needs at least one score
    out = tmp_path / "out"
    write_outputs(results, out_dir=out, in_place=False, backup=True, quiet=True, now=NOW)
    wb = openpyxl.load_workbook(out / SUMMARY_NAME)
    assert wb.sheetnames == ["汇总", "图表", "问题明细"]
    ws = wb["汇总"]
    head = next(r for r in range(1, 6) if ws.cell(r, 1).value == "文件")
    assert tuple(c.value for c in ws[head]) == SUMMARY_HEADERS
    rows = {ws.cell(r, 1).value: r for r in range(head + 1, head + 4)}
    assert set(rows) == {"a.xlsx", "broken.xlsx", "sub/b.xlsx"}
    assert ws.cell(rows["broken.xlsx"], 4).value == "无法读取"
    assert ws.cell(rows["a.xlsx"], 4).value in ("通过", "未通过")
    # links: the annotated copy, or the input itself when there is none
    assert ws.cell(rows["sub/b.xlsx"], 1).hyperlink.target == "sub/b.xlsx"
    assert ws.cell(rows["broken.xlsx"], 1).hyperlink.target == "../in/broken.xlsx"
    assert ws.freeze_panes == f"A{head + 1}" and ws.auto_filter.ref.startswith(f"A{head}:J")
    assert ws.page_setup.orientation == "landscape"
    assert len(ws.conditional_formatting) >= 3
    with zipfile.ZipFile(out / SUMMARY_NAME) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
        assert b"xlcheck-summary" in z.read("docProps/core.xml")
    det = wb["问题明细"]
    dh = next(r for r in range(1, 5) if det.cell(r, 1).value == "文件")
    assert tuple(c.value for c in det[dh]) == DETAIL_HEADERS
    n = sum(len(r.findings) for r in results)
    body = [r for r in det.iter_rows(min_row=dh + 1, values_only=True) if r[0]]
    assert len(body) == n


def test_summary_cell_links_and_top_problems(tmp_path):
    findings = [Finding("ARI002", "error", f"问题 {i}", "基本信息", f"B{20 + i}") for i in range(5)]
    res = fake(tmp_path / "x.xlsx", findings)
    assert top_problems(res).count("\n") == 2 and top_problems(res).startswith("1. 问题 0")
    from xlcheck.summary import write_summary
    write_summary([res], tmp_path / "s.xlsx", links={res.path: "x.xlsx"}, now=NOW)
    det = openpyxl.load_workbook(tmp_path / "s.xlsx")["问题明细"]
    link = det["H3"].hyperlink
    assert link.target == "x.xlsx" and link.location == "'基本信息'!B20"


def test_in_place_with_backup(collection, tmp_path):
    a = collection / "a.xlsx"
    original = a.read_bytes()
    results = [r for r in run(collection) if r.path.endswith("a.xlsx")]
    rep = write_outputs(results, out_dir=tmp_path / "out", in_place=True, backup=True, quiet=True, now=NOW)
    assert rep.ok and rep.written == {str(a): a}
    assert backup_path(a).name == "a.bak.xlsx" and backup_path(a).read_bytes() == original
    assert REVIEW_SHEET in read_workbook(a).sheets and a.read_bytes() != original
    assert not (tmp_path / "out").exists()                    # one file in place: no summary folder


def test_in_place_without_backup_and_macro_suffix(tmp_path):
    m = office_workbook(tmp_path / "m.xlsm", macro=True)
    res = fake(m, [Finding("EXP001", "warning", "说明", "基本信息", "B4")])
    rep = write_outputs([res], out_dir=tmp_path / "out", in_place=True, backup=False, quiet=True, now=NOW)
    assert rep.ok and not backup_path(m).exists()
    assert backup_path(m).name == "m.bak.xlsm"
    assert read_workbook(m).vba


def test_unwritable_file_is_reported_and_run_goes_on(collection, tmp_path, capsys):
    results = run(collection)
    out = tmp_path / "out"
    (out / "a.xlsx").mkdir(parents=True)                     # something that cannot be replaced by a file
    rep = write_outputs(results, out_dir=out, in_place=False, backup=True, quiet=True, now=NOW)
    assert [Path(p).name for p, _ in rep.failures] == ["a.xlsx"]
    assert (out / "sub" / "b.xlsx").exists() and (out / SUMMARY_NAME).exists()
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("未能写入")]
    assert len(lines) == 1 and "a.xlsx" in lines[0]


def test_read_only_file_in_place(tmp_path, capsys, monkeypatch):
    a = filled_workbook(tmp_path / "a.xlsx")
    before = a.read_bytes()
    import xlcheck.review as review
    real = review.os.access
    monkeypatch.setattr(review.os, "access", lambda p, m: False if Path(p) == a else real(p, m))
    rep = write_outputs([fake(a, [])], out_dir=tmp_path / "o", in_place=True, backup=False, quiet=True, now=NOW)
    assert rep.failures and "只读" in rep.failures[0][1]
    assert a.read_bytes() == before
    assert "未能写入" in capsys.readouterr().err


def test_output_folder_equal_to_input_is_refused(tmp_path):
    a = filled_workbook(tmp_path / "a.xlsx")
    before = a.read_bytes()
    rep = write_outputs([fake(a, [])], out_dir=tmp_path, in_place=False, backup=True, quiet=True, now=NOW)
    assert rep.failures and "--in-place" in rep.failures[0][1]
    assert a.read_bytes() == before


def test_relative_names_and_own_outputs(tmp_path):
    names = relative_names([str(tmp_path / "x" / "a.xlsx"), str(tmp_path / "y" / "z" / "b.xlsm")])
    assert [n.as_posix() for n in names.values()] == ["x/a.xlsx", "y/z/b.xlsm"]
    assert [n.as_posix() for n in relative_names([str(tmp_path / "a.xlsx")]).values()] == ["a.xlsx"]
    # the folder named on the command line is the base, even when every file sits in one sub-folder
    (tmp_path / "收回" / "甲区").mkdir(parents=True)
    one = [str(tmp_path / "收回" / "甲区" / "a.xlsx")]
    assert [n.as_posix() for n in relative_names(one, [tmp_path / "收回"]).values()] == ["甲区/a.xlsx"]
    # same names in different folders never collide
    two = [str(tmp_path / "x" / "a.xlsx"), str(tmp_path / "y" / "a.xlsx")]
    assert [n.as_posix() for n in relative_names(two).values()] == ["x/a.xlsx", "y/a.xlsx"]
    assert is_own_output(tmp_path / "a.bak.xlsx") and is_own_output(tmp_path / "a.BAK.xlsm")
    assert not is_own_output(tmp_path / "a.xlsx")
    fake_summary = tmp_path / SUMMARY_NAME
    filled_workbook(fake_summary)
    assert not is_own_output(fake_summary)                     # a user's own 汇总.xlsx is a workbook to check
    from xlcheck.summary import write_summary
    write_summary([], fake_summary, now=NOW)
    assert is_own_output(fake_summary)


def test_in_place_backups_are_numbered_never_overwritten(tmp_path):
    a = filled_workbook(tmp_path / "a.xlsx")
    versions = [a.read_bytes()]
    for _ in range(3):
        rep = write_outputs([fake(a, [Finding("EXP001", "warning", "说明", "基本信息", "B4")])],
                            out_dir=tmp_path / "out", in_place=True, backup=True, quiet=True, now=NOW)
        assert rep.ok
        versions.append(a.read_bytes())
    baks = [backup_path(a, n) for n in (1, 2, 3)]
    assert [b.name for b in baks] == ["a.bak.xlsx", "a.bak2.xlsx", "a.bak3.xlsx"]
    assert [b.read_bytes() for b in baks] == versions[:3]       # each run kept what it found
    assert all(is_own_output(b) for b in baks) and is_own_output(tmp_path / "A.BAK12.XLSM")
    assert not is_own_output(tmp_path / "bak2.xlsx") and not is_own_output(tmp_path / "a.bakery.xlsx")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~xlcheck-")]   # no temporary left


def test_run_folders_are_new_and_dated(tmp_path):
    first = run_folder(tmp_path / "xlcheck-out", NOW)
    second = run_folder(tmp_path / "xlcheck-out", NOW)
    assert first.name == "2024-05-06_0930" and second.name == "2024-05-06_0930-2"
    (tmp_path / "in").mkdir()
    a = filled_workbook(tmp_path / "in" / "a.xlsx")
    rep = write_outputs([fake(a, [])], out_dir=tmp_path / "xlcheck-out", quiet=True, now=NOW, new_folder=True)
    assert rep.out_dir.name == "2024-05-06_0930-3"
    assert sorted(p.name for p in rep.out_dir.iterdir()) == ["a.xlsx", SUMMARY_NAME]
    assert list(first.iterdir()) == [] and list(second.iterdir()) == []
    # one file written in place: no summary, so no folder either
    n = len(list((tmp_path / "xlcheck-out").iterdir()))
    write_outputs([fake(a, [])], out_dir=tmp_path / "xlcheck-out", in_place=True, backup=False, quiet=True,
                  now=NOW, new_folder=True)
    assert len(list((tmp_path / "xlcheck-out").iterdir())) == n


def test_out_dir_problem(tmp_path):
    assert out_dir_problem(tmp_path / "new") is None
    (tmp_path / "empty").mkdir()
    assert out_dir_problem(tmp_path / "empty") is None
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.xlsx").write_bytes(b"x")
    assert "已有文件" in out_dir_problem(tmp_path / "full")
    assert "是一个文件" in out_dir_problem(tmp_path / "full" / "old.xlsx")


# ---------------------------------------------------------------- the summary's charts and pages

C_NS = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}


def many(n: int, tmp_path: Path) -> list[FileResult]:
    """n results as a bureau sees them: scores from 58 to 100 (several 100s, one 95.91), a few
    unreadable files, long department names."""
    out = []
    for i in range(n):
        if i % 17 == 5:
            r = FileResult(str(tmp_path / f"坏{i}.xlsx"), "unreadable",
                           [Finding("FILE002", "error", "不是 xlsx 文件", None, None)])
        else:
            score = [100.0, 95.91, 99.6, 88.25, 100.0, 76.5, 58.0][i % 7]
            findings = [] if score == 100 else [Finding("PTS009", "error", f"问题 {i}", "自评评分", "I7")]
            r = FileResult(str(tmp_path / f"f{i:03d}.xlsx"), "fail", findings, department=f"广州市第{i}区工商业联合会",
                           year=2024, score_total=score, grade="优")
        r.settle()
        out.append(r)
    return out


def chart_xml(path: Path) -> list:
    """The charts of a saved summary, parsed (ElementTree), in file order."""
    import xml.etree.ElementTree as ET
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        return [ET.fromstring(z.read(n)) for n in names]


def series_values(chart, path: Path) -> list:
    """The values a chart's series points at (c:val/c:numRef/c:f), read from the saved cells."""
    ref = chart.find(".//c:val/c:numRef/c:f", C_NS).text
    sheet, rng = ref.rsplit("!", 1)
    ws = openpyxl.load_workbook(path)[sheet.strip("'")]
    return [row[0].value for row in ws[rng.replace("$", "")]]


def test_charts_have_their_own_sheet_and_a_readable_score_axis(tmp_path):
    from xlcheck.summary import SCORES_PER_FILE_UP_TO, build_summary, write_summary
    small = many(10, tmp_path)
    wb = build_summary(small, now=NOW)
    assert not wb["汇总"]._charts and not wb["问题明细"]._charts   # no chart under repeated header rows
    assert len(wb["图表"]._charts) == 2
    write_summary(small, tmp_path / "s10.xlsx", now=NOW)
    status, scores = chart_xml(tmp_path / "s10.xlsx")
    lowest = min(r.score_total for r in small if r.score_total is not None)
    axis_min = float(scores.find(".//c:valAx/c:scaling/c:min", C_NS).get("val"))
    assert 0 < axis_min < lowest and lowest - axis_min <= 10      # 95.91 and 100 look different
    # one bar per scored file, highest first
    vals = series_values(scores, tmp_path / "s10.xlsx")
    assert vals == sorted((r.score_total for r in small if r.score_total is not None), reverse=True)
    counts = series_values(status, tmp_path / "s10.xlsx")
    assert counts == [sum(r.status == s for r in small) for s in ("pass", "fail", "unreadable")]
    # many files: a histogram whose bars add up to the scored files
    big = many(SCORES_PER_FILE_UP_TO * 3, tmp_path)
    write_summary(big, tmp_path / "s120.xlsx", now=NOW)
    _, hist = chart_xml(tmp_path / "s120.xlsx")
    bars = series_values(hist, tmp_path / "s120.xlsx")
    assert len(bars) <= 10
    assert sum(bars) == sum(r.score_total is not None for r in big)


def test_summary_rows_without_problems_are_one_line(tmp_path):
    from xlcheck.summary import LINE, build_summary
    res = many(14, tmp_path)
    ws = build_summary(res, now=NOW)["汇总"]
    heights = {ws.cell(r, 1).value: ws.row_dimensions[r].height for r in range(4, 4 + len(res))}
    one_line = [h for name, h in heights.items() if not ws.cell(
        next(r for r in range(4, 4 + len(res)) if ws.cell(r, 1).value == name), 10).value]
    assert one_line and set(one_line) == {LINE + 3}
    assert ws.page_margins.bottom - ws.page_margins.footer >= 0.45   # the footer line has room


@pytest.mark.libreoffice
def test_summary_pages_render_readably(tmp_path, libreoffice):
    """Rendered by LibreOffice: the charts take exactly one page at 10, 80 and 500 files, and every
    page carries its whole footer."""
    import subprocess
    from xlcheck.summary import write_summary
    paths = []
    for n in (10, 80, 500):
        paths.append(write_summary(many(n, tmp_path), tmp_path / f"s{n}.xlsx", now=NOW))
    pdfs = libreoffice(paths, tmp_path / "pdf", fmt="pdf")
    for n, pdf in zip((10, 80, 500), pdfs):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
        chart_pages = [p for p in pages if "审核汇总图表" in p]
        assert len(chart_pages) == 1, n
        assert "审核结论（文件数）" in chart_pages[0] and "自评得分" in chart_pages[0]
        total = len(pages)
        for i, p in enumerate(pages, 1):
            assert f"第 {i} 页，共 {total} 页" in p, (n, i)
