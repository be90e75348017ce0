"""`xlcheck PATH…` end to end (SPEC 5), run as a real process so stdout, stderr and exit codes are exact."""
from __future__ import annotations

import hashlib
import json
import re
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
    return subprocess.run([sys.executable, "-m", "xlcheck", *map(str, args)], cwd=cwd,
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


def run_folders(out: Path) -> list[Path]:
    return sorted(d for d in out.iterdir() if d.is_dir())


def test_default_run_copies_inputs_untouched_and_reruns_skip_outputs(tmp_path):
    d = tmp_path / "collected"
    example("tianhe-2022", d / "tianhe.xlsx")
    example("huadu-2021", d / "区" / "huadu.xlsx")
    before = tree(d)
    p = xlcheck(".", cwd=d)                                  # default: a new dated folder in xlcheck-out/
    assert p.returncode == 1
    [run1] = run_folders(d / "xlcheck-out")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d{4}(-\d+)?", run1.name), run1.name
    assert run1.name in p.stderr                              # the user is told where the run went
    assert sorted(tree(run1)) == sorted(["tianhe.xlsx", "区/huadu.xlsx", SUMMARY_NAME])
    assert {k: v for k, v in tree(d).items() if not k.startswith("xlcheck-out")} == before
    assert conclusion(run1 / "tianhe.xlsx") == "未通过"
    assert "结论" in p.stdout and "共 2 个文件" in p.stdout      # terminal summary table
    again = xlcheck(".", "--format", "json", cwd=d)
    assert len(json_files(again)) == 2                       # its own outputs are not re-checked
    # … also from elsewhere, with another --out: the folder holding our 汇总.xlsx is recognised
    other = xlcheck(d, "--no-write", "--format", "json", cwd=tmp_path)
    assert sorted(Path(f["path"]).name for f in json_files(other)) == ["huadu.xlsx", "tianhe.xlsx"]
    # … unless the user points at the output folder on purpose
    assert len(json_files(xlcheck(run1, "--no-write", "--format", "json", cwd=tmp_path))) == 2


def summary_files(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)["汇总"]
    head = next(r for r in range(1, 8) if ws.cell(r, 1).value == "文件")
    return sorted(ws.cell(r, 1).value for r in range(head + 1, ws.max_row + 1) if ws.cell(r, 1).value)


def test_each_run_has_its_own_folder_and_same_names_never_collide(tmp_path):
    """Issue 15: a later run never rewrites an earlier run's summary beside its copies, and two
    inputs called clean-2024.xlsx from different folders both get their copy."""
    a = tmp_path / "收回" / "甲区"
    b = tmp_path / "收回" / "乙区"
    example("clean-2024", a / "clean-2024.xlsx")
    example("tianhe-2022", a / "tianhe.xlsx")
    example("clean-2024", b / "clean-2024.xlsx")
    first = xlcheck(a, b, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    [run1] = run_folders(tmp_path / "xlcheck-out")
    snapshot = tree(run1)
    assert sorted(snapshot) == sorted(["甲区/clean-2024.xlsx", "甲区/tianhe.xlsx", "乙区/clean-2024.xlsx",
                                       SUMMARY_NAME])
    assert summary_files(run1 / SUMMARY_NAME) == ["乙区/clean-2024.xlsx", "甲区/clean-2024.xlsx", "甲区/tianhe.xlsx"]
    second = xlcheck(b / "clean-2024.xlsx", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    runs = run_folders(tmp_path / "xlcheck-out")
    assert len(runs) == 2 and runs[0] == run1
    assert tree(run1) == snapshot                              # the earlier run is untouched
    assert sorted(tree(runs[1])) == ["clean-2024.xlsx", SUMMARY_NAME]
    assert summary_files(runs[1] / SUMMARY_NAME) == ["clean-2024.xlsx"]   # exactly this run


def test_explicit_out_must_be_new_or_empty(tmp_path):
    src = example("clean-2024", tmp_path / "in" / "c.xlsx")
    out = tmp_path / "out"
    assert xlcheck(src, "--out", out).returncode == 0
    assert sorted(tree(out)) == ["c.xlsx", SUMMARY_NAME]       # --out DIR is the run's folder itself
    before = tree(out)
    p = xlcheck(src, "--out", out)
    assert p.returncode == 2 and "--out" in p.stderr and "空的目录" in p.stderr
    assert tree(out) == before                                 # refused before writing anything
    (tmp_path / "empty").mkdir()
    assert xlcheck(src, "--out", tmp_path / "empty").returncode == 0


@pytest.mark.parametrize("args, words", [
    (["--in-place", "--out", "o"], ["--in-place", "--out"]),
    (["--no-backup"], ["--no-backup", "--in-place"]),
    (["--no-backup", "--out", "o"], ["--no-backup"]),
    (["--no-write", "--in-place"], ["--no-write", "--in-place"]),
    (["--no-write", "--out", "o"], ["--no-write", "--out"]),
    (["--no-write", "--no-backup"], ["--no-write", "--no-backup"]),
])
def test_conflicting_options_are_usage_errors(tmp_path, args, words):
    from click.testing import CliRunner
    from xlcheck.cli import main
    src = example("clean-2024", tmp_path / "in" / "c.xlsx")
    before = tree(tmp_path)
    args = [str(tmp_path / x) if x == "o" else x for x in args]
    r = CliRunner().invoke(main, [*args, str(src)])          # in-process: refused before any work
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert all(w in r.stderr for w in words), r.stderr
    assert re.search(r"[\u4e00-\u9fff]", r.stderr.strip().splitlines()[-1]), "the reason is in Chinese"
    assert tree(tmp_path) == before


def test_help_shows_the_main_job_and_its_options_then_commands():
    p = xlcheck("--help")
    assert p.returncode == 0
    out = p.stdout
    assert "xlcheck [选项] PATH…" in out
    for flag in ("--out", "--no-write", "--in-place", "--no-backup", "--format", "--jobs", "--checks",
                 "--quiet", "--version"):
        assert flag in out, flag
    options, commands = out.split("命令（", 1)
    assert "--no-write" in options and "--format" in options      # options first …
    listed = [line.split()[0] for line in commands.splitlines()[1:] if line.startswith("  ")]
    assert listed[:3] == ["template", "rules", "addin"]            # … then the commands
    assert "check" not in listed
    # the hidden main command keeps working and its errors name `xlcheck`, not `xlcheck check`
    bad = xlcheck("--no-backup", "x.xlsx")
    assert "xlcheck check" not in bad.stderr and "xlcheck --help" in bad.stderr


def test_no_write_does_not_point_to_a_review_sheet(tmp_path):
    d = tmp_path / "in"
    example("baiyun-2022", d / "b.xlsx")
    for i in range(6):                          # > 5 files: the terminal lists 10 findings per file
        example("tianhe-2022", d / f"t{i}.xlsx")
    p = xlcheck(d, "--no-write")
    assert "另有" in p.stdout, p.stdout
    assert "审核结果表" not in p.stdout and "汇总表" not in p.stdout
    written = xlcheck(d, cwd=tmp_path)
    assert "另有" in written.stdout and "见审核结果表" in written.stdout


def test_terminal_rule_and_severity_are_separated(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"garbage")
    p = xlcheck(bad, "--no-write")
    line = next(l for l in p.stdout.splitlines() if "FILE0" in l)
    assert re.search(r"FILE\d{3}\S* +错误", click_unstyle(line)), line


def click_unstyle(s: str) -> str:
    import click
    return click.unstyle(s)


def test_in_place_backup_not_rechecked(tmp_path):
    d = tmp_path / "in"
    t = example("tianhe-2022", d / "t.xlsx")
    original = t.read_bytes()
    p = xlcheck("--in-place", d)
    assert p.returncode == 1
    assert (d / "t.bak.xlsx").read_bytes() == original
    assert "t.bak.xlsx" in p.stderr
    assert REVIEW_SHEET in openpyxl.load_workbook(t).sheetnames and t.read_bytes() != original
    assert len(json_files(xlcheck(d, "--no-write", "--format", "json"))) == 1
    # an explicitly named backup is still checked (the user asked for it)
    assert len(json_files(xlcheck(d / "t.bak.xlsx", "--no-write", "--format", "json"))) == 1


def test_in_place_twice_keeps_the_first_original(tmp_path):
    """Issue 15: the second --in-place run used to overwrite X.bak.xlsx with the first run's output."""
    d = tmp_path / "in"
    t = example("tianhe-2022", d / "t.xlsx")
    original = t.read_bytes()
    assert xlcheck("--in-place", t).returncode == 1
    after_first = t.read_bytes()
    p = xlcheck("--in-place", t)
    assert p.returncode == 1 and "t.bak2.xlsx" in p.stderr
    assert (d / "t.bak.xlsx").read_bytes() == original          # never overwritten
    assert (d / "t.bak2.xlsx").read_bytes() == after_first
    xlcheck("--in-place", t)
    assert sorted(x.name for x in d.iterdir()) == ["t.bak.xlsx", "t.bak2.xlsx", "t.bak3.xlsx", "t.xlsx"]
    assert (d / "t.bak.xlsx").read_bytes() == original
    # numbered backups are the tool's own outputs too: a folder run checks only t.xlsx
    assert [Path(f["path"]).name for f in json_files(xlcheck(d, "--no-write", "--format", "json"))] == ["t.xlsx"]


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
    assert (tmp_path / "out" / "g.bak.xlsx").read_bytes() != copy.read_bytes()
    # and again: still there, still 通过
    third = xlcheck("--in-place", "--no-backup", copy)
    assert third.returncode == 0
    assert next(r for r in review_rows(copy) if r[2] == rule)[8] == reason


def test_write_failure_is_one_line_and_exit_1(tmp_path, monkeypatch):
    from click.testing import CliRunner
    import xlcheck.output as output
    from xlcheck.cli import main
    from xlcheck.review import WriteError
    d = tmp_path / "in"
    example("clean-2024", d / "a.xlsx")
    example("clean-2024", d / "b.xlsx")
    real = output.write_review

    def failing(src, dst, res, **kw):       # a.xlsx cannot be written (disk full, open in Excel …)
        if Path(src).name == "a.xlsx":
            raise WriteError("磁盘已满")
        return real(src, dst, res, **kw)
    monkeypatch.setattr(output, "write_review", failing)
    r = CliRunner().invoke(main, [str(d), "--out", str(tmp_path / "out"), "--quiet"])
    lines = [l for l in r.stderr.splitlines() if l.startswith("未能写入")]
    assert len(lines) == 1 and "a.xlsx" in lines[0] and "磁盘已满" in lines[0]
    assert (tmp_path / "out" / "b.xlsx").exists() and not (tmp_path / "out" / "a.xlsx").exists()
    assert r.exit_code == 1


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
    assert openpyxl.load_workbook(back[1]).sheetnames == ["汇总", "图表", "问题明细"]


def _fake_bin(d: Path, uid: int, installed: set[str]) -> Path:
    """Stand-ins for id, dpkg-query, sudo, apt-get and python3 that log their calls."""
    d.mkdir()
    log = d / "log"
    stubs = {
        "id": f'echo {uid}',
        "dpkg-query": 'for a; do p="$a"; done; case " ' + " ".join(sorted(installed))
                      + ' " in *" $p "*) echo "install ok installed";; *) exit 1;; esac',
        "sudo": f'echo "sudo $*" >> {log}; "$@"',
        "apt-get": f'echo "apt-get $*" >> {log}',
        "python3": f'echo "python3 $*" >> {log}',
    }
    for name, body in stubs.items():
        (d / name).write_text(f"#!/bin/sh\n{body}\n")
        (d / name).chmod(0o755)
    return log


@pytest.mark.parametrize("uid, installed, sudo, apt", [
    (0, set(), False, True),                                   # root in a container: no sudo
    (1000, set(), True, True),                                 # a user: apt through sudo
    (1000, {"libreoffice-calc", "fonts-noto-cjk", "poppler-utils", "chromium", "chromium-driver",
            "postgresql"}, False, False),                      # nothing to install (node and npm on PATH)
])
def test_setup_and_test_script_uses_sudo_only_when_needed(tmp_path, uid, installed, sudo, apt):
    log = _fake_bin(tmp_path / "bin", uid, installed)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    p = subprocess.run(["bash", str(ROOT / "scripts" / "setup-and-test.sh"), "-k", "x"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    calls = log.read_text().splitlines()
    assert any(c.startswith("sudo apt-get install") for c in calls) == sudo, calls
    assert any(c.startswith("apt-get install") for c in calls) == apt, calls
    assert calls[-2:] == ["python3 -m pip install -q -c tests/constraints.txt -e .[test]",
                          "python3 -m pytest -n 2 -q -k x"]
    # CI runs the same script
    assert "scripts/setup-and-test.sh" in (ROOT / ".ci" / "run").read_text()
    readme_commands = (ROOT / "README.md").read_text().split("```")[1]
    assert "scripts/setup-and-test.sh" in readme_commands


def test_messages_say_what_differs(tmp_path):
    """Issue 15 item 9, on the real examples: no "填入 96.03%；按公式应为 96.03%", EXP005's 计算值或期望值
    is the rate computed from target and actual (134.78%, not the typed 135%), spacing around years."""
    d = tmp_path / "in"
    for name in ("tianhe-2022", "baiyun-2022", "guangzhou-2023"):
        example(name, d / f"{name}.xlsx")
    files = {Path(f["path"]).stem: f for f in json_files(xlcheck(d, "--no-write", "--format", "json"))}
    found = [(name, x) for name, f in files.items() for x in f["findings"]]
    overwritten = [x for _, x in found if x["rule"] in ("STR008", "STR009")]
    assert overwritten
    for x in overwritten:
        m = re.search(r"填入 (\S+?)；按公式应为 (\S+?)。", x["message"])
        if m:
            assert m.group(1) != m.group(2), x["message"]
            # a number is not "wrong" when it differs only in decimals shown (100% vs 100.00%)
            if m.group(1).endswith("%") and m.group(2).endswith("%"):
                assert float(m.group(1)[:-1]) != float(m.group(2)[:-1]), x["message"]
    rate = next(x for name, x in found if name == "tianhe-2022" and x["field"] == "budget_completion_rate"
                and x["rule"] == "STR008")
    assert rate["value"] == "96.03%" and rate["expected"] != "96.03%"
    assert rate["expected"].startswith("96.02"), rate          # 401.42 / 418.03 = 96.0266%
    exp5 = {x["row"]: x for name, x in found if name == "baiyun-2022" and x["rule"] == "EXP005"}
    assert exp5[5]["expected"] == f"{31 / 23:.2%}" == "134.78%"      # 31 / 23, not the typed 135%
    assert "134.78%" in exp5[5]["message"] and exp5[4]["expected"] == "150.00%"
    txt = next(x for name, x in found if name == "guangzhou-2023" and x["rule"] == "TXT001")
    assert "写有 2022 年" in txt["message"], txt["message"]


def test_review_sheet_footer_date_is_iso(tmp_path):
    from datetime import datetime
    from xlcheck.review import write_review
    from xlcheck.runner import check_paths
    src = example("tianhe-2022", tmp_path / "t.xlsx")
    [res] = list(check_paths([src]))
    write_review(src, tmp_path / "out.xlsx", res, now=datetime(2026, 12, 1, 4, 12))
    footer = openpyxl.load_workbook(tmp_path / "out.xlsx")[REVIEW_SHEET].oddFooter
    assert footer.right.text == "2026-12-01"                    # not &D (12/01/2026 in a US locale)


def test_examples_readme_folder_claims_hold():
    """examples/README.md: in a folder run COL002 is a 提示 on the three files outside the majority
    year, and clean-2024 still passes."""
    files = {Path(f["path"]).stem: f for f in json_files(xlcheck(EXAMPLES, "--no-write", "--format", "json"))}
    col = {name: [x["severity"] for x in f["findings"] if x["rule"] == "COL002"] for name, f in files.items()}
    assert {n for n, s in col.items() if s} == {"clean-2024", "guangzhou-2023", "huadu-2021"}
    assert all(s == ["info"] for s in col.values() if s)
    assert files["clean-2024"]["status"] == "pass"
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "COL002，**提示**" in text


def test_guide_example_list_draws_no_phone_finding(tmp_path):
    """docs/审核指南.md's example list, issued and checked as a bureau would: its phones are valid."""
    guide = (ROOT / "docs" / "审核指南.md").read_text(encoding="utf-8")
    block = guide.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "名单.csv").write_text(block, encoding="utf-8")
    p = xlcheck("template", "--from-list", tmp_path / "名单.csv", "-o", tmp_path / "下发")
    assert p.returncode == 0, p.stdout + p.stderr
    issued = json_files(xlcheck(tmp_path / "下发", "--no-write", "--format", "json"))
    assert len(issued) == block.count("\n") - 1
    assert not [x["message"] for f in issued for x in f["findings"] if x["rule"] == "VAL009"]


COMMANDS = ([], ["rules"], ["template"], ["addin"], ["addin", "install"], ["serve"])
ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "[default:", "env var", "COMMAND", "ARGS",
           "INTEGER", "TEXT", "DIRECTORY", "Error:", "Try '", "Invalid value", "No such", "Missing", "Got unexpected")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "xlcheck")
def test_every_help_is_chinese(command):
    r = xlcheck(*command, "--help")
    assert r.returncode == 0 and r.stdout.startswith("用法：xlcheck"), r.stdout[:200] + r.stderr
    assert r.stdout.count("显示本帮助") == 1, r.stdout
    assert not [w for w in ENGLISH if w in r.stdout], r.stdout


@pytest.mark.parametrize("args, says", [
    (["--jobs", "0", "x.xlsx"], "错误：选项 --jobs/-j 的值无效：须为整数，范围 1<=x<=64；给出的是“0”"),
    (["--format", "xml", "x.xlsx"], "错误：选项 --format 的值无效：“xml”不是可选的值（text、json）"),
    (["--outt", "x.xlsx"], "错误：没有选项 --outt（是否想用 --out"),
    (["x.xlsx", "--out"], "错误：选项 --out 后面须给出值"),
    (["--no-write=1", "x.xlsx"], "错误：选项 --no-write 不带值"),
    (["rules", "VAL040", "extra"], "错误：多余的参数：extra"),
    (["addin", "foo"], "错误：没有这个命令：foo"),
    (["template", "--year", "1800"], "错误：选项 --year 的值无效：须为整数，范围 2000<=x<=2100；给出的是“1800”"),
    (["serve", "--codes", "没有这个文件.csv"], "错误：选项 --codes 的值无效：找不到：没有这个文件.csv"),
    (["rules", "--checks", __file__], "是文件"),
])
def test_usage_errors_are_chinese(args, says, tmp_path):
    r = xlcheck(*args, cwd=tmp_path)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not [w for w in ENGLISH if w in r.stderr], r.stderr
