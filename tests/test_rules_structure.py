"""Structure rules (STR): each triggered by a real, broken workbook, and silent on a clean one."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

import xlcheck

from helpers_rules import build, cell_of, check, crashed, edit, findings, rule_ids, table_cell
from xlcheck.fill import find_table, table_layout
from xlcheck.reader import read_workbook
from xlcheck.rules import default_checks_dir, load_checks
from xlcheck.runner import check_workbooks


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("str") / "clean.xlsx")


@pytest.fixture
def copy(clean, tmp_path):
    def make(name="x.xlsx") -> Path:
        p = tmp_path / name
        shutil.copy(clean, p)
        return p
    return make


def test_clean_workbook_has_no_structure_findings(clean):
    res = check(clean)
    assert not crashed(res)
    assert rule_ids(res, ["STR"]) == set()


def test_template_itself_is_structurally_intact():
    res = check(Path(__file__).resolve().parents[1] / "template.xlsx")
    assert rule_ids(res, ["STR"]) == set()


# ---------------------------------------------------------------- version

def test_str001_version_name_deleted(copy):
    p = edit(copy(), lambda wb: wb.defined_names.pop("template_version"))
    res = check(p)
    [f] = findings(res, "STR001")
    assert "template_version" in f.message and "请使用最新模板" in f.message and xlcheck.TEMPLATE_VERSION in f.message
    assert "STR005" not in rule_ids(res)          # the version is reported once, by STR001


def test_str001_version_cleared(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", None))
    [f] = findings(check(p), "STR001")
    assert f.sheet == "填报说明" and f.cell == "B3"


def test_str001_foreign_workbook_reports_once(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "部门整体支出绩效自评表"
    wb.active["B2"] = 417.82
    wb.save(tmp_path / "foreign.xlsx")
    res = check(tmp_path / "foreign.xlsx")
    assert not crashed(res)
    [f] = findings(res, "STR001")
    assert "不是用标准模板填报的工作簿" in f.message
    assert rule_ids(res, ["STR"]) == {"STR001"}   # no avalanche of missing names and tables


def test_str002_unknown_version(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", "草稿版"))
    [f] = findings(check(p), "STR002")
    assert "草稿版" in f.message and "请使用最新模板重新填报" in f.message and f.value == "草稿版"


def test_str003_older_version_not_listed_says_what_to_do(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", "0.9-草稿"))
    res = check(p)
    [f] = findings(res, "STR003")
    assert not findings(res, "STR002")
    assert "0.9-草稿" in f.message and xlcheck.TEMPLATE_VERSION in f.message
    assert "请向财政局索取最新模板，把本表数据逐项复制到新模板后重新校验" in f.message


def test_str002_newer_version_asks_to_upgrade(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", "9.0"))
    [f] = findings(check(p), "STR002")
    assert "升级 xlcheck" in f.message


def test_str003_older_known_version(copy, tmp_path):
    d = tmp_path / "checks"
    shutil.copytree(default_checks_dir(), d, ignore=shutil.ignore_patterns("__pycache__"))
    text = (d / "interface.toml").read_text(encoding="utf-8")
    (d / "interface.toml").write_text(text.replace('versions = ["1.0", "1.1"]', 'versions = ["0.9", "1.0", "1.1"]'), encoding="utf-8")
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", "0.9"))
    checks = load_checks(d)
    [res] = check_workbooks([read_workbook(p)], checks)
    [f] = findings(res, "STR003")
    assert "0.9" in f.message and xlcheck.TEMPLATE_VERSION in f.message and "请向财政局索取最新模板" in f.message
    assert not findings(res, "STR002")
    [clean_res] = check_workbooks([read_workbook(copy("c.xlsx"))], checks)
    assert not findings(clean_res, "STR003")


# ---------------------------------------------------------------- sheets, names, tables

def test_str004_deleted_sheet_reported_once_with_its_table(copy):
    p = edit(copy(), lambda wb: wb.remove(wb["绩效指标"]))
    res = check(p)
    assert not crashed(res)
    [f] = findings(res, "STR004")
    assert "绩效指标" in f.message and "indicators" in f.message
    assert not findings(res, "STR006")


def test_str004_deleted_sheet_covers_its_names(copy):
    p = edit(copy(), lambda wb: wb.remove(wb["文字说明"]))
    res = check(p)
    [f] = findings(res, "STR004")
    assert "text_conclusion" in f.message
    assert not findings(res, "STR005")           # the eight text names are not reported one by one


def test_str005_missing_name(copy):
    p = edit(copy(), lambda wb: wb.defined_names.pop("budget_initial"))
    res = check(p)
    assert not crashed(res)
    [f] = findings(res, "STR005")
    assert f.field == "budget_initial" and "年初预算数" in f.message
    assert not findings(res, "ARI001") and not findings(res, "ARI002")   # skipped, not crashed


def test_str005_name_pointing_at_ref_error(copy):
    def break_name(wb):
        wb.defined_names["spend_actual"].attr_text = "#REF!"
    res = check(edit(copy(), break_name))
    [f] = findings(res, "STR005")
    assert "#REF!" in f.message and f.field == "spend_actual"


def test_str006_missing_table(copy):
    def drop(wb):
        ws, t = find_table(wb, "tasks")
        del ws.tables[t.name]
    res = check(edit(copy(), drop))
    [f] = findings(res, "STR006")
    assert "tasks" in f.message and f.sheet == "年度任务" and "请使用最新模板重新填报" in f.message


def test_str006_renamed_table_says_how_to_rename_it_back(copy):
    def rename(wb):
        ws, t = find_table(wb, "indicators")
        t.displayName = t.name = "表2"
    res = check(edit(copy(), rename))
    [f] = findings(res, "STR006")
    assert "被改名为“表2”" in f.message and "改回 indicators" in f.message
    assert f.sheet == "绩效指标" and "请使用最新模板" not in f.message


def test_str007_renamed_header(copy):
    def rename(wb):
        ws, t = find_table(wb, "indicators")
        head, _, _, cols = table_layout(ws, t)
        ws.cell(head, cols["年度实现值"]).value = "实际完成值"
    res = check(edit(copy(), rename))
    assert not crashed(res)
    [f] = findings(res, "STR007")
    assert "实际完成值" in f.message and "年度实现值" in f.message
    assert f.sheet == "绩效指标" and f.cell == "G3" and f.field == "indicators.年度实现值"


def test_str007_missing_column_in_model(clean):
    wb = read_workbook(clean)
    t = wb.tables["problems"]
    t.headers = [h for h in t.headers if h != "改进措施"]
    [res] = check_workbooks([wb], load_checks())
    [f] = findings(res, "STR007")
    assert "缺少列“改进措施”" in f.message


def test_str007_extra_column_is_fine(clean):
    wb = read_workbook(clean)
    wb.tables["problems"].headers.append("备注")
    [res] = check_workbooks([wb], load_checks())
    assert not findings(res, "STR007")


# ---------------------------------------------------------------- computed cells

def test_str008_formula_overwritten_by_constant(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "budget_adjust_rate"), "value", 0))
    [f] = findings(check(p), "STR008")
    assert f.field == "budget_adjust_rate"
    assert "0.00%" in f.message and "3.44%" in f.message          # typed value and what the formula gives
    assert f.severity == "warning"


def test_str008_grade_overwritten(copy):
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "grade"), "value", "良"))
    [f] = findings(check(p), "STR008")
    assert "良" in f.message and "优" in f.message


def test_str009_indicator_rate_overwritten(copy):
    p = edit(copy(), lambda wb: setattr(table_cell(wb, "indicators", "完成率", 1), "value", 1.0))
    res = check(p)
    [f] = findings(res, "STR009")
    assert f.row == 1 and f.field == "indicators.完成率"
    assert "100%" in f.message and "116.67%" in f.message       # 7 / 6


def test_str009_not_for_qualitative_rows(clean):
    # the clean data types 100% into the 定性 row (row 5): that is how 定性 works
    assert not findings(check(clean), "STR009")


def test_str010_formula_cleared(copy):
    def clear(wb):
        cell_of(wb, "budget_completion_rate").value = None
        table_cell(wb, "indicators", "完成率", 2).value = None
    res = check(edit(copy(), clear))
    fs = findings(res, "STR010")
    assert {f.field for f in fs} == {"budget_completion_rate", "indicators.完成率"}
    assert any("预算完成率" in f.message for f in fs)


def test_str012_formula_changed(copy):
    def change(wb):
        cell_of(wb, "budget_adjusted").value = "=budget_adjusted+budget_adjustment"   # circular
        cell_of(wb, "budget_adjust_rate").value = "=IF(AND(ISNUMBER(budget_adjustment), ISNUMBER(budget_initial)),IF(budget_initial=0,\"\",budget_adjustment/budget_initial),\"\")"
    res = check(edit(copy(), change))
    [f] = findings(res, "STR012")   # the second one differs only in blanks: the same formula
    assert f.field == "budget_adjusted" and "=budget_adjusted+budget_adjustment" in f.message
    assert "调整后预算数" in f.message


def test_str012_silent_on_the_template_formulas(copy):
    assert not findings(check(copy()), "STR012")


# ---------------------------------------------------------------- outside tables

def test_str011_data_below_and_right_of_table(copy):
    def scribble(wb):
        ws, t = find_table(wb, "indicators")
        head, first, last, cols = table_layout(ws, t)
        ws.cell(last + 2, 3).value = "补充指标：走访商会数"
        ws.cell(last + 2, 5).value = 12
        ws.cell(first, 12).value = "备注：见附件"
    res = check(edit(copy(), scribble))
    fs = findings(res, "STR011")
    assert len(fs) == 2
    below = next(f for f in fs if "下方" in f.message)
    assert "2 个单元格" in below.message and below.sheet == "绩效指标"
    right = next(f for f in fs if "右侧" in f.message)
    assert right.cell == "L4" and "备注" in right.message


def test_str011_labels_beside_named_cells_are_template_content(clean):
    # the scores sheet holds 自评总分 / 评价等级 with labels and hints below its table
    assert not findings(check(clean), "STR011")


def test_every_structure_rule_is_documented():
    checks = load_checks()
    for r in checks.rules:
        if r.family == "STR":
            assert r.explanation and r.example, r.id


def test_interface_data_matches_the_template():
    """checks/interface.toml describes template.xlsx: names on their sheets, table headers,
    formula cells, labels (guards against drift between the template and the rules' data)."""
    import importlib
    checks = load_checks()
    mod = sys.modules[checks.get("STR001").func.__module__]
    shared = importlib.import_module(mod.__name__.rsplit(".", 1)[0] + "._shared")
    iface = shared.interface(checks)
    wb = read_workbook(Path(__file__).resolve().parents[1] / "template.xlsx")
    assert set(iface.sheets) <= set(wb.sheets)
    for sheet, pieces in iface.sheets.items():
        for p in pieces:
            if p in iface.tables:
                assert wb.tables[p].sheet == sheet, p
            else:
                assert wb.names[p].sheet == sheet, p
    named = set(iface.names)
    assert named <= set(wb.names), named - set(wb.names)      # the template may hold more (issued_dept …)
    for name, spec in iface.tables.items():
        assert wb.tables[name].headers == list(spec.headers), name
        for col in spec.numbers + spec.quantities + spec.required:
            assert col in spec.headers, (name, col)
    for n in iface.formula_names:
        assert wb.names[n].formula, n
    for n in iface.number_names + iface.required:
        assert n in named, n
    assert set(iface.labels) >= named
    assert iface.versions[-1] == xlcheck.TEMPLATE_VERSION == wb.template_version


def test_str004_renamed_sheet_with_everything_found_is_fine(copy):
    def rename(wb):
        wb["绩效指标"].title = "指标"          # the table goes with its sheet
    p = edit(copy(), rename)
    assert rule_ids(check(p), ["STR"]) == set()
    assert read_workbook(p).tables["indicators"].sheet == "指标"


def test_str013_compatible_older_version_is_checked_as_usual(copy, tmp_path):
    """1.0 differs from 1.1 only by the 自查 panel ([compatible] in interface.toml): a workbook filled
    in 1.0 is checked as usual and can pass, with an info that names what the new template adds; a
    bureau that removes 1.0 from [compatible] gets STR003 (an error) again."""
    p = edit(copy(), lambda wb: setattr(cell_of(wb, "template_version"), "value", "1.0"))
    res = check(p)
    [f] = findings(res, "STR013")
    assert f.severity == "info" and "1.0" in f.message and "“自查”表" in f.message
    assert not findings(res, "STR003") and res.status == "pass"
    d = tmp_path / "checks"
    shutil.copytree(default_checks_dir(), d, ignore=shutil.ignore_patterns("__pycache__"))
    text = (d / "interface.toml").read_text(encoding="utf-8")
    (d / "interface.toml").write_text(text.replace('"1.0" = "新模板增加了', '"0.1" = "新模板增加了'), encoding="utf-8")
    [strict] = check_workbooks([read_workbook(p)], load_checks(d))
    assert findings(strict, "STR003") and not findings(strict, "STR013") and strict.status == "fail"
