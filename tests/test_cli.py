"""`xlcheck PATH…` end to end (SPEC 5), run as a real process so stdout, stderr and exit codes are exact."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from fixtures_office import filled_workbook
from xlcheck.review import REVIEW_SHEET
from xlcheck.output import SUMMARY_NAME

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def xlcheck(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlcheck.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def example(name: str, dst: Path) -> Path:
    src = EXAMPLES / f"{name}.xlsx"
    if not src.exists():
        pytest.fail(f"examples/{name}.xlsx is missing (python examples/build.py)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst


def review_rows(path):
    ws = openpyxl.load_workbook(path)[REVIEW_SHEET]
    return [r for r in ws.iter_rows(values_only=True)]


def conclusion(path) -> str:
    return next(r[2] for r in review_rows(path) if r[0] == "审核结论")


def json_files(proc) -> list[dict]:
    return json.loads(proc.stdout)["files"]


def test_exit_codes(tmp_path):
    clean = example("clean-2024", tmp_path / "clean.xlsx")
    bad = example("tianhe-2022", tmp_path / "bad" / "tianhe.xlsx")
    p = xlcheck(clean, "--no-write")
    assert p.returncode == 0, p.stdout + p.stderr
    assert xlcheck(bad, "--no-write").returncode == 1
    assert xlcheck(tmp_path / "nope.xlsx").returncode == 2
    assert xlcheck(clean, "--no-write", "--in-place").returncode == 2
    assert xlcheck(clean, "--format", "xml").returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert xlcheck(empty).returncode == 2


def test_unreadable_file_fails_and_run_goes_on(tmp_path):
    d = tmp_path / "in"
    example("clean-2024", d / "clean.xlsx")
    (d / "broken.xlsx").write_bytes(b"garbage")
    p = xlcheck(d, "--no-write", "--format", "json")
    assert p.returncode == 1
    status = {Path(f["path"]).name: f["status"] for f in json_files(p)}
    assert status == {"broken.xlsx": "unreadable", "clean.xlsx": "pass"}


def test_no_write_writes_nothing(tmp_path):
    d = tmp_path / "in"
    example("tianhe-2022", d / "t.xlsx")
    example("clean-2024", d / "sub" / "c.xlsx")
    before = tree(tmp_path)
    for fmt in ("text", "json"):
        p = xlcheck(d, "--no-write", "--format", fmt, cwd=tmp_path)
        assert p.returncode == 1
    assert tree(tmp_path) == before


def test_json_goes_to_stdout_only(tmp_path):
    d = tmp_path / "in"
    example("tianhe-2022", d / "t.xlsx")
    p = xlcheck(d, "--format", "json", "--out", tmp_path / "out")
    doc = json.loads(p.stdout)                               # stdout is exactly one JSON document
    assert doc["tool"]["name"] == "xlcheck" and len(doc["files"]) == 1
    f = doc["files"][0]
    assert f["status"] == "fail" and f["counts"]["error"] >= 1
    assert {"rule", "severity", "sheet", "cell", "field", "row", "message", "value", "expected",
            "explained"} <= set(f["findings"][0])
    assert (tmp_path / "out" / "t.xlsx").exists() and (tmp_path / "out" / SUMMARY_NAME).exists()


def test_default_run_copies_inputs_untouched_and_reruns_skip_outputs(tmp_path):
    d = tmp_path / "collected"
    example("tianhe-2022", d / "tianhe.xlsx")
    example("huadu-2021", d / "区" / "huadu.xlsx")
    before = tree(d)
    p = xlcheck(".", cwd=d)                                  # default --out xlcheck-out inside the folder
    assert p.returncode == 1
    out = d / "xlcheck-out"
    assert (out / "tianhe.xlsx").exists() and (out / "区" / "huadu.xlsx").exists()
    assert (out / SUMMARY_NAME).exists()
    assert {k: v for k, v in tree(d).items() if not k.startswith("xlcheck-out")} == before
    assert conclusion(out / "tianhe.xlsx") == "未通过"
    assert "结论" in p.stdout and "共 2 个文件" in p.stdout      # terminal summary table
    again = xlcheck(".", "--format", "json", cwd=d)
    assert len(json_files(again)) == 2                       # its own outputs are not re-checked
    # … also from elsewhere, with another --out: the folder holding our 汇总.xlsx is recognised
    other = xlcheck(d, "--no-write", "--format", "json", cwd=tmp_path)
    assert sorted(Path(f["path"]).name for f in json_files(other)) == ["huadu.xlsx", "tianhe.xlsx"]
    # … unless the user points at the output folder on purpose
    assert len(json_files(xlcheck(out, "--no-write", "--format", "json", cwd=tmp_path))) == 2


def test_in_place_backup_not_rechecked(tmp_path):
    d = tmp_path / "in"
    t = example("tianhe-2022", d / "t.xlsx")
    original = t.read_bytes()
    p = xlcheck("--in-place", d)
    assert p.returncode == 1
    assert (d / "t.bak.xlsx").read_bytes() == original
    assert REVIEW_SHEET in openpyxl.load_workbook(t).sheetnames and t.read_bytes() != original
    assert len(json_files(xlcheck(d, "--no-write", "--format", "json"))) == 1
    # an explicitly named backup is still checked (the user asked for it)
    assert len(json_files(xlcheck(d / "t.bak.xlsx", "--no-write", "--format", "json"))) == 1


def test_explanation_typed_by_user_survives_in_place_rerun_and_passes(tmp_path):
    """The district's loop: get the annotated copy, explain the only warning, re-check → 通过."""
    g = example("guangzhou-2023", tmp_path / "in" / "g.xlsx")
    first = xlcheck(g, "--format", "json", "--out", tmp_path / "out")
    [f] = json_files(first)
    blocking = [x for x in f["findings"] if x["severity"] in ("error", "warning")]
    assert [x["severity"] for x in blocking] == ["warning"], "precondition: a single open warning"
    rule = blocking[0]["rule"]
    copy = tmp_path / "out" / "g.xlsx"
    assert conclusion(copy) == "未通过"
    # the filler types the reason and saves (openpyxl rewrites the package, as Excel does)
    wb = openpyxl.load_workbook(copy)
    ws = wb[REVIEW_SHEET]
    head = next(r for r in ws.iter_rows() if "填报单位说明" in [c.value for c in r])
    cols = {c.value: c.column for c in head}
    row = next(r for r in range(head[0].row + 1, ws.max_row + 1) if ws.cell(r, cols["规则"]).value == rule)
    reason = "该段落引用的是 2022 年已部署、延续至本年度的任务，年份无误"
    ws.cell(row, cols["填报单位说明"]).value = reason
    wb.save(copy)
    second = xlcheck("--in-place", copy, "--format", "json")
    assert second.returncode == 0, second.stderr
    [f2] = json_files(second)
    assert f2["status"] == "pass" and [x["explained"] for x in f2["findings"] if x["rule"] == rule] == [True]
    assert conclusion(copy) == "通过"
    rows = review_rows(copy)
    r = next(r for r in rows if r[2] == rule)
    assert r[8] == reason and r[9] == "已说明"
    assert (tmp_path / "out" / "g.bak.xlsx").exists()
    # and again: still there, still 通过
    third = xlcheck("--in-place", "--no-backup", copy)
    assert third.returncode == 0
    assert next(r for r in review_rows(copy) if r[2] == rule)[8] == reason


def test_write_failure_is_one_line_and_exit_1(tmp_path):
    d = tmp_path / "in"
    example("clean-2024", d / "a.xlsx")
    example("clean-2024", d / "b.xlsx")
    (tmp_path / "out" / "a.xlsx").mkdir(parents=True)
    p = xlcheck(d, "--out", tmp_path / "out", "--quiet")
    lines = [l for l in p.stderr.splitlines() if l.startswith("未能写入")]
    assert len(lines) == 1 and "a.xlsx" in lines[0]
    assert (tmp_path / "out" / "b.xlsx").exists()
    assert p.returncode == 1


def test_filled_workbook_run(tmp_path):
    a = filled_workbook(tmp_path / "a.xlsx")
    p = xlcheck(a, "--out", tmp_path / "o")
    assert p.returncode in (0, 1)
    assert REVIEW_SHEET in openpyxl.load_workbook(tmp_path / "o" / "a.xlsx").sheetnames


@pytest.mark.libreoffice
def test_cli_outputs_open_in_libreoffice(tmp_path, libreoffice):
    d = tmp_path / "in"
    for name in ("tianhe-2022", "huangpu-2022"):
        example(name, d / f"{name}.xlsx")
    xlcheck(d, "--out", tmp_path / "out")
    outs = [tmp_path / "out" / "tianhe-2022.xlsx", tmp_path / "out" / SUMMARY_NAME]
    pdfs = libreoffice(outs, tmp_path / "pdf", fmt="pdf")
    assert all(p.stat().st_size > 1000 for p in pdfs)
    back = libreoffice(outs, tmp_path / "x", fmt="xlsx")
    assert conclusion(back[0]) == "未通过"
    assert openpyxl.load_workbook(back[1]).sheetnames == ["汇总", "问题明细"]
