"""通过 must mean a reviewer would accept the report (issue 12): completeness, face-value thresholds,
one computation with or without cached values, explanations that are real.

Every workbook here is checked twice — as a script writes it (formulas without cached values) and
after LibreOffice recalculates it — and both verdicts must agree (`both_ways`)."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import openpyxl
import pytest

from helpers_rules import CLEAN_CELLS, CLEAN_TABLES, build, check, indicator, table_cell
from xlcheck.findings import Finding
from xlcheck.framework import load_framework
from xlcheck.reader import read_workbook
from xlcheck.review import write_review
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks

pytestmark = pytest.mark.libreoffice


def _strip_cache(src: Path, dst: Path) -> Path:
    """The workbook as any script writes it: openpyxl keeps formula texts, drops cached values."""
    openpyxl.load_workbook(src).save(dst)
    return dst


def _key(f: Finding) -> tuple:
    return (f.rule, f.severity, f.sheet, f.cell, f.message)


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory, libreoffice):
    """name -> (result without cached values, result after LibreOffice), for every workbook below,
    built once and recalculated in one LibreOffice run."""
    d = tmp_path_factory.mktemp("verdict")
    built = {name: make(d / f"{name}.xlsx") for name, make in CASES.items()}
    plain = {n: _strip_cache(p, d / f"{n}-plain.xlsx") for n, p in built.items()}
    lo = dict(zip(built, libreoffice(list(built.values()), d / "lo")))
    checks = load_checks()
    out = {}
    for n in built:
        a, b = check_workbooks([read_workbook(plain[n]), read_workbook(lo[n])], checks)
        out[n] = (a, b)
    return out


# ---------------------------------------------------------------- the cases

def near_blank(path):
    """A district copy with only the amounts, the fill date and full scores (issue 12, item 1)."""
    from xlcheck.fill import fill
    cells = {k: CLEAN_CELLS[k] for k in ("dept_name", "eval_year", "preparer", "preparer_phone", "fill_date",
                                          "budget_initial", "budget_adjustment", "spend_actual",
                                          "spend_general", "spend_basic", "spend_project")}
    cells["spend_basic"], cells["spend_project"] = 402.37, 86.75
    scores = [{"三级指标": r.name, "自评得分": r.points} for r in load_framework().rows]
    fill(path, cells=cells, tables={"scores": scores})
    return path


def _tables_with(*indicators):
    t = copy.deepcopy(CLEAN_TABLES)
    t["indicators"] = [indicator("产出指标", "走访会员企业数", 120, 132), *indicators]
    return t


def three_of_four(path):
    """Target 4, actual 3 (75%), no reason (item 2): a count is exact, never ±0.5."""
    return build(path, tables=_tables_with(indicator("效益指标", "举办活动次数", 4, 3)))


def five_of_six(path):
    return build(path, tables=_tables_with(indicator("效益指标", "举办活动次数", 6, 5)))


def cleared_rate(path):
    """The 完成率 formula of the 5-of-6 row cleared (item 3)."""
    build(path, tables=_tables_with(indicator("效益指标", "举办活动次数", 6, 5)))
    wb = openpyxl.load_workbook(path)
    table_cell(wb, "indicators", "完成率", 2).value = None
    wb.save(path)
    return path


def overspend(path):
    """1268.72 spent against a budget of 1172.55 with no adjustment (a real report's figures, item 6)."""
    return build(path, cells={"budget_initial": 1172.55, "budget_adjustment": 0, "spend_actual": 1268.72,
                              "spend_general": 1268.72, "spend_basic": 1181.97, "spend_project": 86.75,
                              "spend_prev_year": 1200.00})


def clean(path):
    return build(path)


CASES = {"near_blank": near_blank, "three_of_four": three_of_four, "five_of_six": five_of_six,
         "cleared_rate": cleared_rate, "overspend": overspend, "clean": clean}


# ---------------------------------------------------------------- both paths agree

@pytest.mark.parametrize("name", list(CASES))
def test_same_findings_with_and_without_cached_values(both_ways, name):
    plain, lo = both_ways[name]
    assert sorted(map(_key, plain.findings)) == sorted(map(_key, lo.findings))
    assert plain.status == lo.status


def test_clean_workbook_passes(both_ways):
    for res in both_ways["clean"]:
        assert res.status == "pass", [f.message for f in res.findings if f.blocking]


def test_near_blank_report_fails_with_one_error_per_missing_section(both_ways):
    for res in both_ways["near_blank"]:
        assert res.status == "fail"
        by = {}
        for f in res.findings:
            by.setdefault(f.rule, []).append(f)
        assert [(f.field, f.severity) for f in by["VAL040"]] == [("tasks.任务名称", "error")]
        assert sorted(f.message for f in by["VAL041"]) == ["“绩效指标”表中没有产出指标，至少应填写一项",
                                                          "“绩效指标”表中没有效益指标，至少应填写一项"]
        assert all(f.field == "indicators.一级指标" and f.row == 1 for f in by["VAL041"])
        texts = {f.field for f in by["TXT010"]}
        assert texts == {"text_duties", "text_work", "text_goal", "text_finance", "text_management",
                         "text_effectiveness", "text_efficiency", "text_conclusion"}
        assert all(f.severity == "error" and f.sheet == "文字说明" for f in by["TXT010"])


@pytest.mark.parametrize("name, rate", [("three_of_four", "75.00%"), ("five_of_six", "83.33%")])
def test_short_indicator_needs_reason_and_measure(both_ways, name, rate):
    for res in both_ways[name]:
        assert res.status == "fail"
        got = {(f.rule, f.field, f.row) for f in res.findings if f.rule in ("EXP003", "EXP004")}
        assert got == {("EXP003", "indicators.偏差原因", 2), ("EXP004", "indicators.改进措施", 2)}
        msg = next(f.message for f in res.findings if f.rule == "EXP003")
        assert f"完成率 {rate}（按目标值" in msg     # the rate Excel shows, not an interval's midpoint
        # full marks for 效益 while an 效益 indicator is short
        assert any(f.rule == "PTS010" for f in res.findings)


def test_cleared_rate_hides_nothing(both_ways):
    for res in both_ways["cleared_rate"]:
        rules = {(f.rule, f.row) for f in res.findings}
        assert ("STR010", 2) in rules                        # the formula is gone …
        assert {("EXP003", 2), ("EXP004", 2)} <= rules        # … and the shortfall still shows
        assert res.status == "fail"


def test_overspend_requires_budget_note(both_ways):
    for res in both_ways["overspend"]:
        f = [x for x in res.findings if x.rule == "EXP013"]
        assert len(f) == 1 and f[0].field == "budget_note" and f[0].severity == "error"
        assert "实际支出 1268.72 万元，超过调整后预算 1172.55 万元（超出 96.17 万元）" in f[0].message


def test_overspend_with_real_note_passes_that_rule(tmp_path):
    p = overspend(tmp_path / "o.xlsx")
    wb = openpyxl.load_workbook(p)
    from xlcheck.fill import name_cell
    s, a = name_cell(wb, "budget_note")
    wb[s][a] = "年中承接区里新增的商会服务中心运营任务，追加支出已按程序报批调整"
    wb.save(p)
    assert not [f for f in check(p).findings if f.rule == "EXP013"]


# ---------------------------------------------------------------- 填报单位说明 is held to the same bar

def _review_rows(wb, rule: str):
    """(row cells, column of each header) of the review sheet rows of `rule`."""
    ws = wb["审核结果"]
    head = next(r for r in ws.iter_rows() if any(c.value == "规则" for c in r))
    col = {c.value: c.column - 1 for c in head}
    return [r for r in ws.iter_rows(min_row=head[0].row + 1) if r[col["规则"]].value == rule], col


def _explain(path: Path, rule: str, text: str) -> None:
    wb = openpyxl.load_workbook(path)
    rows, col = _review_rows(wb, rule)
    for row in rows:
        row[col["填报单位说明"]].value = text
    wb.save(path)


def _status_of(path: Path, rule: str) -> str:
    rows, col = _review_rows(openpyxl.load_workbook(path), rule)
    assert rows, f"{rule} not in the review sheet"
    return rows[0][col["状态"]].value


@pytest.mark.parametrize("text, ok", [("无", False), ("/", False), ("见上", False), ("疫情", False),
                                      ("目标值按上年实际数设定，本年活动需求明显增加", True)])
def test_explanation_in_review_sheet_must_be_real(tmp_path, text, ok):
    # target 4, actual 6: 150% needs 偏差原因 — a warning the filler may explain
    p = build(tmp_path / "w.xlsx", tables=_tables_with(indicator("效益指标", "举办活动次数", 4, 6)))
    first = check(p)
    assert [f.rule for f in first.findings if f.blocking] == ["EXP005"]
    write_review(p, p, first)
    _explain(p, "EXP005", text)
    again = check(p)
    f = next(x for x in again.findings if x.rule == "EXP005")
    assert f.explained is ok and (again.status == "pass") is ok
    write_review(p, p, again)
    assert _status_of(p, "EXP005") == ("已说明" if ok else
                                       ("说明无效：过短，请写明具体原因" if text == "疫情" else
                                        "说明无效：只写了占位文字，请写明具体原因"))


def test_same_sentence_under_two_warnings_explains_neither(tmp_path):
    p = build(tmp_path / "w.xlsx", tables=_tables_with(indicator("效益指标", "举办活动次数", 4, 6),
                                                       indicator("效益指标", "走访基层商会数", 23, 31)))
    first = check(p)
    assert sorted(f.rule for f in first.findings if f.blocking) == ["EXP005", "EXP005"]
    write_review(p, p, first)
    _explain(p, "EXP005", "目标值按上年实际数设定，本年需求明显增加")
    again = check(p)
    assert again.status == "fail"
    assert all(f.note_problem and "相同" in f.note_problem for f in again.findings if f.rule == "EXP005")


def test_explained_cleared_formula_still_fails(tmp_path):
    """Item 3: explaining STR010 does not hide the 83% indicator it computed."""
    p = cleared_rate(tmp_path / "c.xlsx")
    write_review(p, p, check(p))
    _explain(p, "STR010", "误删了公式，已知悉，下次从模板复制")
    res = check(p)
    assert next(f for f in res.findings if f.rule == "STR010").explained
    assert res.status == "fail" and {"EXP003", "EXP004"} <= {f.rule for f in res.findings if f.blocking}


def test_crashing_rule_is_an_error_not_explainable(tmp_path, monkeypatch):
    checks = load_checks()
    r = checks.get("ARI001")

    def boom(wb, ctx):
        raise ZeroDivisionError("x")
    monkeypatch.setattr(r, "func", boom)
    res = check(build(tmp_path / "x.xlsx"))
    f = next(x for x in res.findings if x.rule == "ARI001")
    assert f.severity == "error" and "运行出错" in f.message and res.status == "fail"


def test_collection_findings_stay_out_of_district_review_sheets(tmp_path):
    """Item 8: COL002 (mixed years) goes to the run's report, not into each district's 审核结果."""
    import json
    from click.testing import CliRunner
    from xlcheck.cli import main
    src = tmp_path / "in"
    src.mkdir()
    build(src / "a.xlsx")
    build(src / "b.xlsx", cells={"dept_name": "广州市另一区工商业联合会", "eval_year": 2023})
    out = tmp_path / "out"
    r = CliRunner().invoke(main, [str(src), "--format", "json", "--out", str(out)])
    report = json.loads(r.stdout)
    assert any(f["rule"] == "COL002" for x in report["files"] for f in x["findings"])
    copies = [p for p in out.rglob("*.xlsx") if p.name in ("a.xlsx", "b.xlsx")]
    assert len(copies) == 2
    for c in copies:
        ws = openpyxl.load_workbook(c)["审核结果"]
        assert not [v for row in ws.iter_rows(values_only=True) for v in row if v == "COL002"]


def test_examples_keep_their_verdicts():
    """README's example list: clean-2024 passes, the five transcribed reports fail."""
    root = Path(__file__).resolve().parents[1] / "examples"
    res = check_workbooks([read_workbook(p) for p in sorted(root.glob("*.xlsx"))], load_checks())
    assert {Path(r.path).name: r.status for r in res} == {
        "baiyun-2022.xlsx": "fail", "clean-2024.xlsx": "pass", "guangzhou-2023.xlsx": "fail",
        "huadu-2021.xlsx": "fail", "huangpu-2022.xlsx": "fail", "tianhe-2022.xlsx": "fail"}
    assert shutil.which("soffice")  # the module's LibreOffice cases ran for real
