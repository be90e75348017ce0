"""Values rules (VAL001–VAL011): each triggered by a real filled workbook, silent on a clean one."""
from __future__ import annotations

import copy as _copy
import datetime as dt
import shutil
from pathlib import Path

import pytest

from helpers_rules import CLEAN_TABLES, build, cell_of, check, crashed, edit, findings, rule_ids, table_cell
from xlcheck.rules import load_checks

THIS_YEAR = dt.date.today().year


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("val") / "clean.xlsx")


@pytest.fixture(scope="module")
def clean_res(clean):
    return check(clean)


def make(tmp_path, name="x.xlsx", **kw) -> Path:
    return build(tmp_path / name, **kw)


def indicators(**changes) -> list[dict]:
    """The clean indicator rows with changes {row number (1-based): {header: value}}."""
    rows = _copy.deepcopy(CLEAN_TABLES["indicators"])
    for k, v in changes.items():
        rows[int(k[1:]) - 1].update(v)
    return rows


def test_clean_has_no_value_findings(clean_res):
    assert not crashed(clean_res)
    assert rule_ids(clean_res, ["VAL"]) == set()


# ---------------------------------------------------------------- VAL001 / VAL002

def test_val001_required_blank(tmp_path):
    res = check(make(tmp_path, drop=("preparer", "fill_date")))
    fs = findings(res, "VAL001")
    assert {f.field for f in fs} == {"preparer", "fill_date"}
    assert any("填报人" in f.message for f in fs)


def test_val001_optional_blank_is_fine(tmp_path):
    res = check(make(tmp_path, drop=("org_structure", "spend_prev_year")))
    assert not findings(res, "VAL001")


@pytest.mark.parametrize("year, words", [
    ("2024年", ["2024年", "应填写 2024"]),
    (THIS_YEAR + 1, ["晚于今年"]),
    (1999, ["不在合理范围"]),
    (2024.5, ["不是整数"]),
])
def test_val002_year_implausible(tmp_path, year, words):
    res = check(make(tmp_path, cells={"eval_year": year}))
    [f] = findings(res, "VAL002")
    assert f.field == "eval_year"
    for w in words:
        assert w in f.message


def test_val002_plausible_year(clean_res):
    assert not findings(clean_res, "VAL002")


# ---------------------------------------------------------------- numbers typed as text

def test_val003_text_number_with_thousands_separator(tmp_path):
    # 1,288.38 = 815.05 + 473.33 (seed 004), typed as text in the amount cell
    p = make(tmp_path, cells={"spend_actual": "1,288.38", "spend_general": 1288.38, "spend_basic": 815.05,
                              "spend_project": 473.33, "project_eval_funds": 473.33,
                              "budget_initial": 1291.73, "budget_adjustment": 0})
    res = check(p)
    [f] = findings(res, "VAL003")
    assert f.field == "spend_actual" and f.value == "1,288.38" and f.expected == "1288.38"
    assert "1288.38" in f.message and "实际支出数" in f.message
    # the arithmetic still reads the number: the breakdowns agree, nothing else is reported
    assert not findings(res, "ARI007") and not findings(res, "ARI008")


def test_val004_fullwidth_number(tmp_path):
    res = check(make(tmp_path, cells={"spend_actual": "４８９．１２"}))
    [f] = findings(res, "VAL004")
    assert f.expected == "489.12" and "全角" in f.message


def test_val004_fullwidth_percent_over_formula(tmp_path):
    p = make(tmp_path)
    edit(p, lambda wb: setattr(cell_of(wb, "budget_completion_rate"), "value", "９８．５１％"))
    res = check(p)
    [f] = findings(res, "VAL004")
    assert f.expected == "98.51%"
    assert not findings(res, "ARI003")      # 98.51% is right: 489.12 / 496.50


def test_val005_number_with_unit(tmp_path):
    rows = indicators(r2={"年度目标值": "415.32 平方米", "年度实现值": "415.32 平方米", "计量单位": None})
    res = check(make(tmp_path, tables={"indicators": rows}))
    fs = findings(res, "VAL005")
    assert {(f.field, f.row) for f in fs} == {("indicators.年度目标值", 2), ("indicators.年度实现值", 2)}
    assert all("415.32" in f.expected and "平方米" in f.message for f in fs)


def test_val005_not_in_qualitative_rows(tmp_path):
    rows = indicators(r5={"年度目标值": "3 项制度", "年度实现值": "3 项制度"})
    res = check(make(tmp_path, tables={"indicators": rows}))
    assert not findings(res, "VAL005")


@pytest.mark.parametrize("text, number, word", [("1000余人次", "1000", "余"), ("超过50场", "50", "超过"),
                                                ("近4000", "4000", "近")])
def test_val006_fuzzy_quantities(tmp_path, text, number, word):
    rows = indicators(r1={"年度实现值": text})
    res = check(make(tmp_path, tables={"indicators": rows}))
    [f] = findings(res, "VAL006")
    assert f.row == 1 and f.expected == number and f"“{word}”" in f.message and text in f.message
    assert not findings(res, "ARI009")      # not a number: the rate is not checked


def test_val006_not_in_text_columns(tmp_path):
    tasks = _copy.deepcopy(CLEAN_TABLES["tasks"])
    tasks[0]["指标完成情况"] = "1000余人次；超过50场"
    res = check(make(tmp_path, tables={"tasks": tasks}))
    assert not findings(res, "VAL006")


def test_val006_respects_the_bureaus_word_list(tmp_path):
    from xlcheck.rules import default_checks_dir
    d = tmp_path / "checks"
    shutil.copytree(default_checks_dir(), d, ignore=shutil.ignore_patterns("__pycache__"))
    words = (d / "words.toml").read_text(encoding="utf-8")
    (d / "words.toml").write_text(words.replace('"余", ', ""), encoding="utf-8")
    from xlcheck.reader import read_workbook
    from xlcheck.runner import check_workbooks
    p = make(tmp_path, tables={"indicators": indicators(r1={"年度实现值": "1000余人次"})})
    [res] = check_workbooks([read_workbook(p)], load_checks(d))
    assert not findings(res, "VAL006")


# ---------------------------------------------------------------- errors, signs, formats

def test_val007_error_values(tmp_path):
    p = make(tmp_path)

    def errors(wb):
        cell_of(wb, "spend_prev_year").value = "#REF!"
        table_cell(wb, "indicators", "年度实现值", 3).value = "#N/A"
    res = check(edit(p, errors))
    assert not crashed(res)
    fs = findings(res, "VAL007")
    assert {(f.field, f.value) for f in fs} >= {("spend_prev_year", "#REF!"), ("indicators.年度实现值", "#N/A")}
    assert any("已被删除" in f.message for f in fs)


def test_val008_negative_amounts(tmp_path):
    tasks = _copy.deepcopy(CLEAN_TABLES["tasks"])
    tasks[0]["涉及资金（万元）"] = -18.40
    res = check(make(tmp_path, cells={"spend_gov_fund": -5.0}, tables={"tasks": tasks}))
    fs = findings(res, "VAL008")
    assert {f.field for f in fs} == {"spend_gov_fund", "tasks.涉及资金（万元）"}
    assert any("-5.00" in f.message for f in fs)


def test_val008_negative_adjustment_is_allowed(tmp_path):
    # 500.00 - 10.88 = 489.12, fully spent
    res = check(make(tmp_path, cells={"budget_initial": 500.0, "budget_adjustment": -10.88}))
    assert not findings(res, "VAL008")
    assert not findings(res, "ARI002") and not findings(res, "ARI003")


@pytest.mark.parametrize("phone, ok", [
    ("020-12345678", True), ("13800138000", True), (13800138000, True), ("020-12345678/13800138000", True),
    ("（020）87654321", True), ("12345", False), ("无", False), ("020-123", False),
])
def test_val009_phone(tmp_path, phone, ok):
    res = check(make(tmp_path, cells={"preparer_phone": phone}))
    fs = findings(res, "VAL009")
    assert (not fs) == ok
    if fs:
        assert fs[0].severity == "info"


@pytest.mark.parametrize("name, value", [("unit_count", 0), ("unit_count", 1.5), ("project_l2_count", -1)])
def test_val010_integer_counts(tmp_path, name, value):
    [f] = findings(check(make(tmp_path, cells={name: value})), "VAL010")
    assert f.field == name


def test_val010_valid_counts(clean_res):
    assert not findings(clean_res, "VAL010")


@pytest.mark.parametrize("value, words", [
    (dt.date(2023, 3, 10), "早于被评价年度"),
    (dt.date(THIS_YEAR + 2, 1, 1), "晚于今天"),
    ("2025年3月", "不是日期"),
])
def test_val011_fill_date(tmp_path, value, words):
    [f] = findings(check(make(tmp_path, cells={"fill_date": value})), "VAL011")
    assert words in f.message


def test_every_value_rule_is_documented():
    for r in load_checks().rules:
        if r.family == "VAL":
            assert r.explanation and r.example, r.id


NASTY = [float("inf"), float("-inf"), float("nan"), 1.7976931348623157e308, 5e-324, -0.0, 10**30, True,
         dt.datetime(1900, 3, 1), "1e309", "NaN", "", "\u3000", "#N/A", "９６．０３％", "超过50场", "=", "≥≥"]


@pytest.mark.parametrize("value", NASTY, ids=[repr(v) for v in NASTY])
def test_nasty_values_never_crash_these_families(clean, value):
    from xlcheck.model import ErrorValue
    from xlcheck.reader import read_workbook
    from xlcheck.runner import check_workbooks
    wb = read_workbook(clean)
    v = ErrorValue(value) if value == "#N/A" else value
    for cell in wb.names.values():
        if cell.field != "template_version":
            cell.value = v
    for t in wb.tables.values():
        for r in t.rows:
            for c in r.cells.values():
                c.value = v
    [res] = check_workbooks([wb], load_checks())
    assert not [f.message for f in crashed(res) if f.rule.startswith(("STR", "VAL", "ARI"))]
