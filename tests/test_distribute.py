"""Issuing the template to districts: `xlcheck template` (one copy, --from-list), the issued names,
the issuance rules (STR020 / STR021) and the old-version finding on an issued copy."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from helpers_rules import CLEAN_CELLS, CLEAN_TABLES, check, cell_of, edit, findings, full_scores, rule_ids
from xlcheck import TEMPLATE_VERSION
from xlcheck.department_list import BadValue, copy_name, parse_year, read_list
from xlcheck.distribute import CODE_ALPHABET, CODES_HEADERS, codes_path, make_copy, read_codes
from xlcheck.fill import fill
from xlcheck.rules import default_checks_dir
from xlcheck.runner import check_paths

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.xlsx"

TIANHE = "广州市天河区工商业联合会"
BAIYUN = "广州市白云区工商业联合会"
HUANGPU = "广州市黄埔区工商业联合会"
HUADU = "广州市花都区工商业联合会"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xlcheck", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def cell(wb, name):
    (sheet, ref), = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "")]


def assert_issued(path, dept, year):
    """Pre-filled, locked, input style removed, protected, issued names set."""
    wb = openpyxl.load_workbook(path)
    for name, value in (("dept_name", dept), ("eval_year", year)):
        c = cell(wb, name)
        assert c.value == value, name
        assert c.protection.locked, name
        assert not c.fill.fgColor.rgb.endswith("FFF2CC"), name     # no longer the yellow input style
        assert c.parent.protection.sheet
    assert cell(wb, "issued_dept").value == dept and cell(wb, "issued_year").value == year
    for n in ("issued_dept", "issued_year", "template_version"):
        c = cell(wb, n)
        assert c.parent.title == "填报说明" and c.protection.locked and c.parent.protection.sheet
    assert cell(wb, "template_version").value == TEMPLATE_VERSION
    guide = cell(wb, "issued_dept").parent
    assert guide.cell(cell(wb, "issued_dept").row, 1).value == "本表下发给"
    for ws in wb.worksheets:
        assert ws.protection.sheet or ws.title == "审核结果", ws.title
        assert not ws.protection.password
    # the other inputs stay inputs
    assert not cell(wb, "unit_count").protection.locked
    return wb


def str_findings(results):
    return {r.path: [f"{f.rule} {f.message}" for f in r.findings if f.rule.startswith("STR")] for r in results}


# ---------------------------------------------------------------- the blank template

def test_blank_template_has_blank_issued_names_and_equals_checked_in(tmp_path):
    r = run("template", "-o", tmp_path / "blank.xlsx")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "blank.xlsx").read_bytes() == TEMPLATE.read_bytes()
    wb = openpyxl.load_workbook(TEMPLATE)
    assert cell(wb, "issued_dept").value is None and cell(wb, "issued_year").value is None
    dept = cell(wb, "dept_name")
    assert dept.value is None and not dept.protection.locked and dept.fill.fgColor.rgb.endswith("FFF2CC")


def test_blank_template_raises_no_issuance_finding(tmp_path):
    p = tmp_path / "t.xlsx"
    fill(p, cells={**CLEAN_CELLS}, tables={**copy.deepcopy(CLEAN_TABLES), "scores": full_scores()})
    assert rule_ids(check(p), families=("STR",)) == set()


# ---------------------------------------------------------------- one copy

def test_one_copy_named_after_department_and_year(tmp_path):
    r = run("template", "--department", TIANHE, "--year", 2024, "--unit-count", 3, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    p = tmp_path / f"{TIANHE}-2024.xlsx"
    wb = assert_issued(p, TIANHE, 2024)
    assert cell(wb, "unit_count").value == 3
    hint = cell(wb, "dept_name").parent.cell(cell(wb, "dept_name").row, 3).value
    assert "预填并锁定" in hint


def test_one_copy_into_a_directory_or_a_file(tmp_path):
    out = tmp_path / "下发"
    out.mkdir()
    assert run("template", "--department", BAIYUN, "--year", 2023, "-o", out).returncode == 0
    assert_issued(out / f"{BAIYUN}-2023.xlsx", BAIYUN, 2023)
    f = tmp_path / "白云.xlsx"
    assert run("template", "--department", BAIYUN, "--year", 2023, "-o", f).returncode == 0
    assert_issued(f, BAIYUN, 2023)
    r = run("template", "--department", BAIYUN, "-o", tmp_path / "x.xls")
    assert r.returncode == 2 and ".xlsx" in r.stderr


def test_copy_is_deterministic_and_sanitises_file_names(tmp_path):
    a = make_copy(tmp_path, department="某局/办公室", year=2024)
    assert a.name == "某局_办公室-2024.xlsx"
    b = make_copy(tmp_path / "b.xlsx", department="某局/办公室", year=2024)
    assert a.read_bytes() == b.read_bytes()
    assert copy_name(None, None) == "template.xlsx" and copy_name(None, 2024) == "template-2024.xlsx"


# ---------------------------------------------------------------- lists

THREE = f"""部门名称,被评价年度,单位数,填报人,联系电话,年初预算数（万元）
{TIANHE},2024,3,张某,020-12345678,"1,288.38"
{BAIYUN},2024,1,李某,020-87654321,417.82
{HUANGPU},2024,2,王某,020-11112222,5529.49
"""


def test_list_of_three_gives_three_checked_copies(tmp_path):
    """Done-criterion: three departments → three pre-filled, protected copies, no STR finding."""
    lst = tmp_path / "名单.csv"
    lst.write_bytes(THREE.encode("utf-8-sig"))        # Excel's "CSV UTF-8" has a BOM
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已生成 3 份" in r.stdout
    files = sorted(out.iterdir())
    assert [p.name for p in files] == sorted(f"{d}-2024.xlsx" for d in (TIANHE, BAIYUN, HUANGPU))
    for d, units, budget in ((TIANHE, 3, 1288.38), (BAIYUN, 1, 417.82), (HUANGPU, 2, 5529.49)):
        wb = assert_issued(out / f"{d}-2024.xlsx", d, 2024)
        assert cell(wb, "unit_count").value == units
        assert cell(wb, "budget_initial").value == pytest.approx(budget)
        assert cell(wb, "preparer_phone").value.startswith("020-")
    # checked by `xlcheck --no-write`: no structure finding (blank inputs are VAL/PTS findings)
    r = run("--no-write", "--format", "json", out)
    doc = json.loads(r.stdout)
    assert len(doc["files"]) == 3
    for f in doc["files"]:
        assert f["status"] == "fail" and f["template_version"] == TEMPLATE_VERSION
        assert f["year"] == 2024 and f["department"] in (TIANHE, BAIYUN, HUANGPU)
        assert not [x for x in f["findings"] if x["rule"].startswith("STR")], f["path"]
    assert not list(tmp_path.glob("xlcheck-out"))       # --no-write wrote nothing


GBK_BAD = f"""部门名称,被评价年度,单位数,年初预算数,备注
{TIANHE},2024,3,"1,288.38",首批
,2024,1,417.82,
{BAIYUN},二〇二四,1,,
{HUANGPU},2024,abc,约100,
 {TIANHE} ,2024,1,,
{HUADU},2024年,2,417.82,

"""


def _without_codes_line(stderr: str, out: Path) -> list[str]:
    """stderr lines without the one naming the codes file (beside `out`), which must be there once."""
    lines = stderr.splitlines()
    where = str(codes_path(out))
    codes = [ln for ln in lines if where in ln]
    assert len(codes) == 1 and codes[0].startswith("提示："), lines
    return [ln for ln in lines if where not in ln]


def test_gbk_csv_bad_rows_reported_by_line_good_rows_issued(tmp_path):
    lst = tmp_path / "名单.csv"
    lst.write_bytes(GBK_BAD.encode("gbk"))            # Excel in China saves "CSV (逗号分隔)" as GBK
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst, "-o", out)
    assert r.returncode == 1
    assert _without_codes_line(r.stderr, out) == [
        "提示：第 1 行：无法识别的列“备注”，该列已忽略（可用的列见 xlcheck template --help）",
        "第 3 行：缺少部门名称，未生成",
        "第 4 行：被评价年度“二〇二四”不是年份（应为四位年份，如 2024），未生成",
        "第 5 行：单位数“abc”不是数字；年初预算数“约100”不是数字，未生成",
        f"第 6 行：部门“{TIANHE}” 2024 年度与第 2 行重复，未生成",
    ]
    assert "已生成 2 份" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{TIANHE}-2024.xlsx", f"{HUADU}-2024.xlsx"])
    wb = assert_issued(out / f"{HUADU}-2024.xlsx", HUADU, 2024)
    assert cell(wb, "budget_initial").value == pytest.approx(417.82)


def test_xlsx_list_with_title_row_english_headers_and_bad_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024 年度部门整体支出绩效自评 下发名单"])          # a title row above the header
    ws.append(["department", "year", "unit_count", "preparer", "preparer_phone", "budget_initial",
               "调整后预算数"])
    ws.append([TIANHE, 2024, 3, "张某", 2012345678, 1288.38, 1300])
    ws.append([BAIYUN, 2024.5, 1, None, None, None, None])
    ws.append([HUANGPU, 2024, 1.5, None, None, -3, None])
    ws.append([None, None, None, None, None, None, None])            # blank row: skipped
    ws.append([TIANHE, "2024", None, None, None, None, None])
    ws.append([HUADU, 2024, None, None, None, "1000余", None])
    lst = tmp_path / "名单.xlsx"
    wb.save(lst)
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst, "-o", out)
    assert r.returncode == 1
    assert _without_codes_line(r.stderr, out) == [
        "提示：第 2 行：“调整后预算数”由模板公式自动计算，不能预填，该列已忽略",
        "第 4 行：被评价年度“2024.5”不是年份（应为四位年份，如 2024），未生成",
        "第 5 行：单位数“1.5”应为整数；年初预算数“-3”应不小于 0，未生成",
        f"第 7 行：部门“{TIANHE}” 2024 年度与第 3 行重复，未生成",
        "第 8 行：年初预算数“1000余”不是数字，未生成",
    ]
    assert [p.name for p in out.iterdir()] == [f"{TIANHE}-2024.xlsx"]
    w = assert_issued(out / f"{TIANHE}-2024.xlsx", TIANHE, 2024)
    assert cell(w, "preparer_phone").value == "2012345678" and cell(w, "preparer").value == "张某"


def test_list_year_from_option_and_other_encodings(tmp_path):
    lst = tmp_path / "名单.txt"
    # Excel's "Unicode text": UTF-16, tab-separated; no year column, --year serves every row
    lst.write_bytes(f"部门\t填报人\n{TIANHE}\t张某\n{BAIYUN}\t李某\n".encode("utf-16"))
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst, "--year", 2025, "--unit-count", 2, "-o", out)
    assert r.returncode == 0, r.stderr
    w = assert_issued(out / f"{BAIYUN}-2025.xlsx", BAIYUN, 2025)
    assert cell(w, "unit_count").value == 2 and cell(w, "preparer").value == "李某"
    dl = read_list(lst, year=2025)
    assert [(e.line, e.department, e.year) for e in dl.entries] == [(2, TIANHE, 2025), (3, BAIYUN, 2025)]


def test_bad_invocations_exit_2(tmp_path):
    lst = tmp_path / "名单.csv"
    lst.write_text(THREE, encoding="utf-8")
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst)
    assert r.returncode == 2 and "-o" in r.stderr
    r = run("template", "--from-list", tmp_path / "没有.csv", "-o", out)
    assert r.returncode == 2 and "找不到名单文件" in r.stderr
    nodept = tmp_path / "n.csv"
    nodept.write_text("名称,年度\n甲,2024\n", encoding="utf-8")
    r = run("template", "--from-list", nodept, "-o", out)
    assert r.returncode == 2 and "部门名称" in r.stderr
    noyear = tmp_path / "y.csv"
    noyear.write_text(f"部门名称\n{TIANHE}\n", encoding="utf-8")
    r = run("template", "--from-list", noyear, "-o", out)
    assert r.returncode == 2 and "--year" in r.stderr
    xls = tmp_path / "名单.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    r = run("template", "--from-list", xls, "-o", out)
    assert r.returncode == 2 and "另存为" in r.stderr
    r = run("template", "--from-list", lst, "--department", TIANHE, "-o", out)
    assert r.returncode == 2
    assert not out.exists()


def test_parse_year():
    assert [parse_year(v) for v in (2024, 2024.0, "2024", " 2024年 ", "２０２４年度")] == [2024] * 5
    for bad in ("24", "2024.5", 1999, "二〇二四", "2024-2025", True):
        with pytest.raises(BadValue):
            parse_year(bad)


# ---------------------------------------------------------------- issuance rules

@pytest.fixture
def issued_filled(tmp_path):
    """A copy issued for 天河 2024, filled in completely (passes)."""
    issued = make_copy(tmp_path / "issued.xlsx", department=TIANHE, year=2024)
    p = tmp_path / "filled.xlsx"
    cells = {k: v for k, v in CLEAN_CELLS.items() if k not in ("dept_name", "eval_year")}
    fill(p, cells=cells, tables={**copy.deepcopy(CLEAN_TABLES), "scores": full_scores()}, template=issued)
    return p


def test_issued_copy_filled_in_passes(issued_filled):
    res = check(issued_filled)
    assert res.status == "pass", [f.message for f in res.findings]


def test_returned_under_another_department(issued_filled):
    """A district copied its neighbour's file and typed its own name over it."""
    edit(issued_filled, lambda wb: setattr(cell_of(wb, "dept_name"), "value", BAIYUN))
    res = check(issued_filled)
    assert res.status == "fail"
    f, = findings(res, "STR020")
    assert f.severity == "error" and f.field == "dept_name" and f.sheet == "基本信息"
    assert TIANHE in f.message and BAIYUN in f.message
    assert f.value == BAIYUN and f.expected == TIANHE
    assert rule_ids(res) == {"STR020"}


def test_returned_for_another_year(issued_filled):
    """Last year's file reused: the year was typed over."""
    edit(issued_filled, lambda wb: setattr(cell_of(wb, "eval_year"), "value", 2025))
    res = check(issued_filled)
    f, = findings(res, "STR021")
    assert f.severity == "error" and f.field == "eval_year"
    assert "2024" in f.message and "2025" in f.message and "索取 2025 年度" in f.message
    assert "STR020" not in rule_ids(res)


def test_same_department_written_differently_is_no_finding(issued_filled):
    edit(issued_filled, lambda wb: setattr(cell_of(wb, "dept_name"), "value", f" {TIANHE}　"))
    assert not {"STR020", "STR021"} & rule_ids(check(issued_filled))


def test_workbook_without_issued_names_is_no_finding(issued_filled):
    """Copies made before issuance existed (no issued names) are checked as before."""
    def drop(wb):
        del wb.defined_names["issued_dept"]
        del wb.defined_names["issued_year"]
        cell_of(wb, "dept_name").value = BAIYUN
    edit(issued_filled, drop)
    res = check(issued_filled)
    assert res.status == "pass", [f.message for f in res.findings]


def test_old_template_version_on_an_issued_copy(issued_filled, tmp_path):
    edit(issued_filled, lambda wb: setattr(cell_of(wb, "template_version"), "value", "0.9"))
    res = check(issued_filled)
    f, = [x for x in res.findings if x.rule in ("STR001", "STR002", "STR003")]
    assert f.severity == "error" and f.field == "template_version" and f.sheet == "填报说明"
    assert f.rule == "STR003" and "0.9" in f.message and TEMPLATE_VERSION in f.message
    assert "请向财政局索取最新模板，把本表数据逐项复制到新模板后重新校验" in f.message
    # a bureau that lists 0.9 as a known older version gets the "older template" finding
    checks = tmp_path / "checks"
    shutil.copytree(default_checks_dir(), checks, ignore=shutil.ignore_patterns("__pycache__"))
    iface = checks / "interface.toml"
    iface.write_text(iface.read_text(encoding="utf-8").replace('versions = ["1.0", "1.1"]', 'versions = ["0.9", "1.0", "1.1"]'),
                     encoding="utf-8")
    res2, = check_paths([issued_filled], checks_dir=str(checks))
    f2, = [x for x in res2.findings if x.rule.startswith("STR")]
    assert f2.rule == "STR003" and f2.severity == "error"
    assert "0.9" in f2.message and TEMPLATE_VERSION in f2.message


def test_rules_catalogue_lists_issuance_rules():
    r = run("rules", "STR020")
    assert r.returncode == 0 and "下发" in r.stdout and "示例" in r.stdout
    assert "STR021" in run("rules").stdout


def test_list_lines_count_physical_lines_and_missing_year(tmp_path):
    lst = tmp_path / "名单.csv"
    lst.write_text(f'部门名称,被评价年度,内设机构\n{TIANHE},2024,"办公室\n经济联络部"\n{BAIYUN},,\n{HUANGPU},2024,\n',
                   encoding="utf-8")
    dl = read_list(lst)
    assert [(e.line, e.department) for e in dl.entries] == [(2, TIANHE), (5, HUANGPU)]
    assert dl.entries[0].values == {"org_structure": "办公室\n经济联络部"}
    assert dl.messages() == ["第 4 行：缺少被评价年度，未生成"]
    assert [e.year for e in read_list(lst, year=2023).entries] == [2024, 2023, 2024]


def test_from_list_issues_codes_beside_the_folder_and_reissue_keeps_them(tmp_path):
    """Each issued department gets its own random code in <folder>-报送码.csv (outside the folder of
    copies that goes out); a second issue keeps the codes already given and adds new departments'."""
    lst = tmp_path / "名单.csv"
    lst.write_text(f"部门名称,被评价年度\n{TIANHE},2024\n{BAIYUN},2024\n", encoding="utf-8")
    out = tmp_path / "下发"
    r = run("template", "--from-list", lst, "-o", out)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "下发-报送码.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + ",".join(CODES_HEADERS).encode())   # BOM: Excel
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{TIANHE}-2024.xlsx", f"{BAIYUN}-2024.xlsx"])
    first = {(c.department, c.year): c for c in read_codes(path)}
    assert set(first) == {(TIANHE, 2024), (BAIYUN, 2024)}
    assert first[(TIANHE, 2024)].file_name == f"{TIANHE}-2024.xlsx"
    codes = [c.code for c in first.values()]
    assert len(set(codes)) == 2
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4] and set("".join(groups)) <= set(CODE_ALPHABET)
    # the copies carry no code: same bytes as a copy made without a list
    single = tmp_path / "single.xlsx"
    assert run("template", "--department", TIANHE, "--year", 2024, "-o", single).returncode == 0
    assert (out / f"{TIANHE}-2024.xlsx").read_bytes() == single.read_bytes()

    lst.write_text(f"部门名称,被评价年度\n{TIANHE},2024\n{HUADU},2024\n", encoding="utf-8")
    assert run("template", "--from-list", lst, "-o", out).returncode == 0
    second = {(c.department, c.year): c for c in read_codes(path)}
    assert set(second) == {(TIANHE, 2024), (BAIYUN, 2024), (HUADU, 2024)}
    assert second[(TIANHE, 2024)].code == first[(TIANHE, 2024)].code
    assert second[(BAIYUN, 2024)].code == first[(BAIYUN, 2024)].code
    assert second[(HUADU, 2024)].code not in codes
