"""The 自查 panel: live checks in the template (formulas + conditional formatting).

Parity: for each mistake the live checks cover, a workbook is filled with it, LibreOffice
recalculates all of them in one headless run, and the panel's counts read from the saved files
equal the counts of the Python findings each line mirrors; the blank template and the examples
(the seeds' real mistakes) go through the same run and the same comparison. The counts are also
the cached values fill() writes (computed in Python), so readers that do not recalculate see them.

| live check (panel line)                        | rule   |
|------------------------------------------------|--------|
| 必填项未填写                                    | VAL001 |
| 资金来源四项之和不等于实际支出数                | ARI007 |
| 基本支出 + 项目支出不等于实际支出数             | ARI008 |
| 预算完成率低于 90%，未填写预算执行情况说明      | EXP007 |
| 实际支出超过调整后预算，未填写预算执行情况说明  | EXP013 |
| 未填写任何年度主要任务                          | VAL040 |
| 绩效指标中没有产出指标 / 效益指标               | VAL041 |
| 文字说明未填写、过短或只写了“略”等              | TXT010 |
| 表格中已填的行缺必填项（定性指标缺完成率）      | VAL035 |
| 完成率低于 100%，未填写偏差原因 / 改进措施      | EXP003 / EXP004 |
| 完成率高于 120%，未在偏差原因中说明             | EXP005 |
| 任务未完成，未填写未完成原因                    | EXP006 |
| 自评得分未填写或不是数字                        | PTS005 |
| 自评得分超出 0～分值                            | PTS004 |
| 扣分未填写扣分原因 / 改进措施                   | EXP001 / EXP002 |
| 扣分原因 / 偏差原因 / 改进措施 / 未完成原因 / 预算执行情况说明只写了“无”“同上”等占位文字 | EXP009 |
| 有扣分，未列出存在的主要问题                    | EXP008 |
| 自评总分不等于各项得分之和                      | PTS007 |
| 评分框架分值合计不符                            | PTS006 |
"""
import copy
import re
import tomllib
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from xlcheck import template_panel as tpl
from xlcheck.template_fields import SHEET_SELFCHECK
from xlcheck.template_package import save_workbook
from xlcheck.fill import cached_values, fill
from xlcheck.rules import load_checks
from xlcheck.runner import check_paths
from xlcheck.selfcheck import ALLOWED_FUNCTIONS, CF_MAX_CHARS
from xlcheck.template_panel import layout_of

ROOT = Path(__file__).resolve().parents[1]
CLEAN = tomllib.loads((ROOT / "examples" / "data" / "clean-2024.toml").read_text(encoding="utf-8"))
TABLES = ("tasks", "indicators", "scores", "problems")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _base():
    return dict(CLEAN["cells"]), {t: copy.deepcopy(CLEAN[t]) for t in TABLES if t in CLEAN}


def _score(tables, name):
    return next(r for r in tables["scores"] if r["三级指标"] == name)


# case -> mutation of (cells, tables)
def _required(c, t):
    c["preparer"] = ""
    c["preparer_phone"] = ""


def _sources(c, t):
    c["spend_general"] = 480.12


def _nature(c, t):
    c["spend_basic"] = 400.00


def _budget_low(c, t):
    c["budget_adjustment"] = 100.00   # 489.12 / 580.00 = 84.33 %
    c["budget_note"] = ""


def _over_budget(c, t):
    c["budget_adjustment"] = 0        # 489.12 spent of 480.00
    c["budget_note"] = ""


def _rate_typed_over(c, t):
    _budget_low(c, t)
    c["budget_completion_rate"] = 0.95   # typed over its formula: the amounts still say 84.33 %


def _adjustment_blank(c, t):
    c["budget_adjustment"] = ""       # counts as no adjustment: 489.12 spent of 480.00
    c["budget_note"] = ""


def _shown_full(c, t):
    r = t["indicators"][1]
    r.update({"年度目标值": 10000, "年度实现值": 9999.6, "偏差原因": "", "改进措施": ""})   # 99.996 % shows 100.00 %


def _no_task(c, t):
    del t["tasks"]


def _no_output(c, t):
    t["indicators"] = [r for r in t["indicators"] if r["一级指标"] != "产出指标"]


def _no_indicators(c, t):
    del t["indicators"]


def _text_blank(c, t):
    c["text_goal"] = ""
    c["text_efficiency"] = "   "


def _text_thin(c, t):
    c["text_conclusion"] = "略"
    c["text_goal"] = "完成年度目标"


def _shortfall(c, t):
    r = t["indicators"][0]
    r.update({"年度目标值": 4, "年度实现值": 3, "偏差原因": "", "改进措施": ""})   # 75 % at face value


def _over(c, t):
    r = t["indicators"][1]
    r.update({"年度目标值": 4, "年度实现值": 6, "偏差原因": ""})   # 150 %


def _task(c, t):
    t["tasks"][1].update({"完成状态": "部分完成", "未完成原因": ""})


def _score_blank(c, t):
    _score(t, "资产盘点情况")["自评得分"] = ""


def _score_range(c, t):
    _score(t, "结转结余率")["自评得分"] = 2.5


def _deduction(c, t):
    _score(t, "结转结余率").update({"自评得分": 1.5, "扣分原因": "", "改进措施": ""})


def _messy(c, t):
    """What fillers type: a word for a score, padded texts, a blank-looking reason."""
    _score(t, "资产盘点情况")["自评得分"] = "满分"
    t["tasks"][0]["完成状态"] = " 完成 "
    t["tasks"][1].update({"完成状态": "部分完成", "未完成原因": "   "})
    c["preparer"] = "  "


def _placeholders(c, t):
    """Explanations that explain nothing: the cells stay red until a real reason is written."""
    _score(t, "结转结余率").update({"自评得分": 1.5, "扣分原因": "无", "改进措施": " 同上 "})
    t["indicators"][0].update({"年度目标值": 4, "年度实现值": 3, "偏差原因": "无。", "改进措施": ""})
    t["indicators"][1].update({"年度目标值": 4, "年度实现值": 6, "偏差原因": "N/A"})
    t["tasks"][1].update({"完成状态": "部分完成", "未完成原因": "略"})
    _budget_low(c, t)
    c["budget_note"] = "暂无"


def _row_holes(c, t):
    """Rows started but not finished: a hole per required cell."""
    t["indicators"].append({"一级指标": "产出指标", "二级指标": "数量指标", "年度目标值": 5, "年度实现值": 5})
    t["indicators"].append({"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "营商环境",
                            "指标方向": "定性", "年度目标值": "持续优化", "年度实现值": "达成"})
    t["tasks"].append({"任务名称": "商会党建"})
    t["problems"].append({"改进措施": "加强培训，提高填报质量"})


def _no_problems(c, t):
    del t["problems"]


def _total(c, t):
    c["score_total"] = 90   # the total typed over its formula


CASES = {
    "clean": None,
    "required": _required,
    "sources": _sources,
    "nature": _nature,
    "budget_low": _budget_low,
    "over_budget": _over_budget,
    "rate_typed_over": _rate_typed_over,
    "adjustment_blank": _adjustment_blank,
    "shown_full": _shown_full,
    "no_task": _no_task,
    "no_output": _no_output,
    "no_indicators": _no_indicators,
    "text_blank": _text_blank,
    "text_thin": _text_thin,
    "shortfall": _shortfall,
    "over": _over,
    "task": _task,
    "score_blank": _score_blank,
    "score_range": _score_range,
    "deduction": _deduction,
    "no_problems": _no_problems,
    "messy": _messy,
    "placeholders": _placeholders,
    "row_holes": _row_holes,
    "total": _total,
    "weights": "weights",
}


def _weights(path):
    """A framework weight edited on an unprotected copy: 结转结余率 2 -> 3 (预算执行 sums to 5, not 4)."""
    wb = openpyxl.load_workbook(path)
    layout, _, _ = layout_of(wb)
    sc = layout.tables["scores"]
    ws = wb[sc.sheet]
    for r in range(sc.first, sc.last + 1):
        if ws[f"{sc.cols['三级指标']}{r}"].value == "结转结余率":
            ws[f"{sc.cols['分值']}{r}"] = 3
    save_workbook(wb, path, cached=cached_values(wb), fixed_core=True)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, libreoffice):
    d = tmp_path_factory.mktemp("selfcheck")
    paths = []
    for name, mutate in CASES.items():
        cells, tables = _base()
        if callable(mutate):
            mutate(cells, tables)
        p = d / f"{name}.xlsx"
        fill(p, cells=cells, tables=tables)
        if mutate == "weights":
            _weights(p)
        paths.append(p)
    # the blank template and the examples (real seeds' mistakes) go through the same run
    extra = {"template": ROOT / "template.xlsx",
             **{f"example {p.stem}": p for p in sorted((ROOT / "examples").glob("*.xlsx"))}}
    copies = []
    for i, src in enumerate(extra.values()):
        copies.append(d / f"extra-{i}.xlsx")
        copies[-1].write_bytes(src.read_bytes())
    lo = libreoffice([*paths, *copies], d / "lo")
    return dict(zip([*CASES, *extra], zip([*paths, *copies], lo)))


def panel(path, data_only=True):
    """{rule: count} of the panel's lines, and (selfcheck_count, selfcheck_status)."""
    wb = openpyxl.load_workbook(path, data_only=data_only)
    ws = wb[SHEET_SELFCHECK]
    counts = Counter()
    for r in range(tpl.PANEL_HEAD + 1, ws.max_row + 1):
        rule, n = ws.cell(r, 3).value, ws.cell(r, 5).value
        if rule and re.fullmatch(r"[A-Z]{3}\d{3}", str(rule)):
            assert isinstance(n, (int, float)), f"{path.name} line {r} ({rule}): {n!r}"
            counts[rule] += int(n)
    (s1, c1), = wb.defined_names["selfcheck_count"].destinations
    (s2, c2), = wb.defined_names["selfcheck_status"].destinations
    return counts, wb[s1][c1.replace("$", "")].value, wb[s2][c2.replace("$", "")].value


@pytest.fixture(scope="module")
def python_findings(recalculated):
    results = check_paths([lo for _, lo in recalculated.values()])
    return {name: Counter(f.rule for f in res.findings) for name, res in zip(recalculated, results)}


@pytest.mark.libreoffice
def test_template_round_trips_through_libreoffice(recalculated):
    """LibreOffice opens the blank template and saves it with every name, table and conditional
    format, and no formula evaluates to an error (an unknown function would show #NAME?)."""
    src, lo = recalculated["template"]
    a, b = openpyxl.load_workbook(src), openpyxl.load_workbook(lo, data_only=True)
    assert set(a.defined_names) <= set(b.defined_names)
    assert a.sheetnames == b.sheetnames
    assert {t for ws in a.worksheets for t in ws.tables} <= {t for ws in b.worksheets for t in ws.tables}
    assert len(_red_cells(lo)) >= len(_red_cells(src)) * 0.9
    errors = [(ws.title, c.coordinate, c.value) for ws in b.worksheets for row in ws.iter_rows() for c in row
              if isinstance(c.value, str) and (c.value.startswith("#") and c.value.endswith(("!", "?", "A"))
                                               or c.value.startswith("Err:"))]
    assert not errors


@pytest.mark.libreoffice
def test_panel_counts_equal_python_findings(recalculated, python_findings):
    problems = []
    for name, (_, lo) in recalculated.items():
        counts, total, status = panel(lo)
        for rule, n in counts.items():
            want = python_findings[name][rule]
            if n != want:
                problems.append(f"{name}: {rule} panel {n}, Python {want}")
        assert total == sum(counts.values())
        assert status == ("自查通过，可点击 校验 或报送" if total == 0 else f"自查：{total} 处需要修改")
    assert not problems, "\n".join(problems)


@pytest.mark.libreoffice
def test_every_line_names_a_rule_of_the_catalogue(recalculated):
    known = {r.id for r in load_checks().rules}
    counts, _, _ = panel(recalculated["clean"][1])
    assert set(counts) <= known and len(counts) >= 15


@pytest.mark.libreoffice
def test_each_case_trips_its_line_and_clean_is_zero(recalculated):
    for name, (_, lo) in recalculated.items():
        counts, total, status = panel(lo)
        if name in ("clean", "shown_full", "example clean-2024"):
            assert total == 0 and not +counts and status == "自查通过，可点击 校验 或报送", name
        elif name in CASES:
            assert total > 0, f"{name}: the mistake shows on no line"


@pytest.mark.libreoffice
def test_cached_values_equal_libreoffice(recalculated):
    """fill()'s cached panel (computed in Python) is what LibreOffice computes."""
    for name, (src, lo) in recalculated.items():
        assert panel(src) == panel(lo), name


@pytest.mark.libreoffice
def test_first_failing_cell_link(recalculated):
    wb = openpyxl.load_workbook(recalculated["shortfall"][1], data_only=True)
    ws = wb[SHEET_SELFCHECK]
    rows = {ws.cell(r, 3).value: r for r in range(tpl.PANEL_HEAD + 1, ws.max_row + 1)}
    ind = openpyxl.load_workbook(recalculated["shortfall"][1])
    layout, _, _ = layout_of(ind)
    t = layout.tables["indicators"]
    assert ws.cell(rows["EXP003"], 6).value == f"{t.sheet} {t.cols['偏差原因']}{t.first}"
    f = openpyxl.load_workbook(recalculated["shortfall"][0])[SHEET_SELFCHECK].cell(rows["EXP003"], 6).value
    assert "HYPERLINK(\"#'绩效指标'!\"&" in f


def _red_cells(path):
    """Cells LibreOffice keeps a conditional format on (sheet, sqref, formula) after the round trip."""
    out = []
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/sheet"):
                root = etree.fromstring(z.read(n))
                for cf in root.iterfind("m:conditionalFormatting", NS):
                    for rule in cf.iterfind("m:cfRule", NS):
                        out.append((cf.get("sqref"), rule.findtext("m:formula", namespaces=NS)))
    return out


@pytest.mark.libreoffice
def test_conditional_formats_survive_libreoffice(recalculated):
    src, lo = recalculated["shortfall"]
    assert len(_red_cells(lo)) >= len(_red_cells(src)) * 0.9 > 0


# ---------------------------------------------------------------- allowed functions

_FUNC = re.compile(r"([A-Z][A-Z0-9.]*)\(")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def _functions(formula: str) -> set[str]:
    return set(_FUNC.findall(_STRING.sub('""', formula)))


def template_formulas():
    """Every formula of template.xlsx: cell formulas, conditional formats, validations."""
    wb = openpyxl.load_workbook(ROOT / "template.xlsx")
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    out.append((f"{ws.title}!{c.coordinate}", c.value))
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                for f in rule.formula or ():
                    out.append((f"{ws.title} CF {cf.sqref}", f))
                    assert "[" not in _STRING.sub("", f), f"structured reference in a conditional format: {f}"
                    assert len(f) <= CF_MAX_CHARS, f"conditional format longer than Excel takes: {f}"
    return out


def test_template_formulas_use_only_allowed_functions():
    formulas = template_formulas()
    assert len(formulas) > 100
    used = set()
    for where, f in formulas:
        bare = _STRING.sub('""', f)
        assert bare.count("(") == bare.count(")"), f"{where}: unbalanced parentheses: {f}"
        fn = _functions(f)
        bad = fn - ALLOWED_FUNCTIONS
        assert not bad, f"{where}: {sorted(bad)} not in the allow-list: {f}"
        used |= fn
    assert {"SUMPRODUCT", "HYPERLINK", "COUNTIF"} <= used


def test_allow_list_scanner_catches_forbidden_functions():
    assert _functions('=XLOOKUP(A1,B:B,C:C)+LET(x,1,x)') == {"XLOOKUP", "LET"}
    assert _functions('=IF(A1="TEXTJOIN(",1,0)') == {"IF"}


def test_public_names_on_the_panel():
    wb = openpyxl.load_workbook(ROOT / "template.xlsx")
    for name in ("selfcheck_count", "selfcheck_status"):
        dn = wb.defined_names[name]
        (sheet, ref), = dn.destinations
        assert sheet == SHEET_SELFCHECK and dn.localSheetId is None
    assert wb.sheetnames[0] == SHEET_SELFCHECK and wb.active.title == SHEET_SELFCHECK
    wb2 = openpyxl.load_workbook(ROOT / "template.xlsx", data_only=True)
    (s, c), = wb2.defined_names["selfcheck_count"].destinations
    n = wb2[s][c.replace("$", "")].value
    (s, c), = wb2.defined_names["selfcheck_status"].destinations
    assert isinstance(n, int) and n > 0 and wb2[s][c.replace("$", "")].value == f"自查：{n} 处需要修改"
