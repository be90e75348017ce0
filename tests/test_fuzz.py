"""Fuzzing: whatever a district types (or breaks), the checker reports it and never crashes.

Workbooks are generated through the template's public interface (`xlcheck.fill.fill`) with random
values of every type in every input cell and table column, then randomly damaged (defined names,
sheets, tables, table rows deleted). A rule that raises is reported by the runner as
"检查规则 … 运行出错": these tests assert that no such finding appears, so what they find is a
real bug. Bounded: derandomized, a fixed number of examples (XLCHECK_FUZZ_EXAMPLES=N and
XLCHECK_FUZZ_RANDOM=1 to explore more locally).
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

import bad_inputs as bad
from xlcheck import runner
from xlcheck.cli import main
from xlcheck.fill import fill

EXAMPLES = int(os.environ.get("XLCHECK_FUZZ_EXAMPLES", "0") or 0)
FUZZ = settings(
    max_examples=EXAMPLES or 30, deadline=None, derandomize=not os.environ.get("XLCHECK_FUZZ_RANDOM"),
    database=None, suppress_health_check=list(HealthCheck), print_blob=True,
    # shrinking re-fills workbooks for minutes: the unshrunk example is reported as it is
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

DATA = bad.clean_data()
INPUTS = list(DATA["cells"])
COLUMNS = {   # SPEC 2.2: the input columns of each table (scores: only the three inputs)
    "tasks": ["序号", "任务名称", "预期目标", "目标完成情况", "关键指标", "指标完成情况", "涉及资金（万元）",
              "完成状态", "未完成原因"],
    "indicators": ["一级指标", "二级指标", "三级指标", "指标方向", "年度目标值", "计量单位", "年度实现值",
                   "完成率", "偏差原因", "改进措施"],
    "problems": ["序号", "存在的主要问题", "改进措施"],
}
SCORE_NAMES = [r["三级指标"] for r in DATA["scores"]]
CRASH_MARK = "运行出错"

# ---------------------------------------------------------------- values of every type

# Bugs this fuzzing found are pinned by the regression tests at the end of this file (huge and
# non-finite numbers, "{" in user text); the value space keeps them in.
BIG = 10**30

_text_alphabet = st.characters(blacklist_categories=("Cs", "Cc"), min_codepoint=32, max_codepoint=0x9FFF,
                               blacklist_characters="")
WORDS = ["无", "暂无", "略", "/", "—", "同上", "见上", "完成", "部分完成", "未完成", "≥", "≤", "=", "定性",
         "产出指标", "效益指标", "满意度指标", "数量指标", "质量指标", "社会效益指标", "服务对象满意度指标",
         "1,288.38", "９６．０３％", "415.32 平方米", "1000余人次", "超过50场", "100%", "96.03%", "-5", "1e309",
         "NaN", "nan", "inf", "-inf", "Infinity", "#N/A", "N/A", "", " ", "\u3000", "２０２３", "2022年",
         "自评总分为95.91分", "2019年度", "0.00%", "=", "==", "TRUE", "是", "否", "{0}", "{value}", "%s", "\\"]
ERRORS = ["#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NUM!", "#NAME?", "#NULL!"]
EDGE_NUMBERS = [0, 0.0, -0.0, 1e-300, -1e-12, 5e-324, 0.005, 0.015, 99.995, 2**53 + 1, -(10**14),
                1.7976931348623157e308, 1e30, -1e27, 1e16, 2.5e15]

values = st.one_of(
    st.none(),                                         # leave the cell as it is
    st.just(""),                                       # clear it
    st.sampled_from(WORDS),
    st.text(_text_alphabet, max_size=40),
    st.text(_text_alphabet, min_size=200, max_size=3000),   # long text
    st.integers(-10**9, 10**9),
    st.integers(-BIG, BIG),
    st.floats(min_value=-float(BIG), max_value=float(BIG), allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2)),
    st.sampled_from(EDGE_NUMBERS),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 1, 1)),
    st.booleans(),
    st.sampled_from(ERRORS),
)


@st.composite
def table_rows(draw, table: str, max_rows: int):
    n = draw(st.integers(0, max_rows))
    cols = COLUMNS[table]
    rows = []
    for _ in range(n):
        keys = draw(st.lists(st.sampled_from(cols), unique=True, max_size=len(cols)))
        rows.append({k: draw(values) for k in keys})
    return rows


@st.composite
def filled(draw):
    cells = {n: draw(values) for n in draw(st.lists(st.sampled_from(INPUTS), unique=True, max_size=len(INPUTS)))}
    # start from the clean example now and then, so that deep rules (which need sane inputs) run too
    if draw(st.booleans()):
        cells = {**{k: v for k, v in DATA["cells"].items()}, **{k: v for k, v in cells.items() if draw(st.booleans())}}
    tables = {t: draw(table_rows(t, 6)) for t in COLUMNS}
    if draw(st.booleans()):
        tables["indicators"] = [dict(r) for r in DATA["indicators"]] + tables["indicators"][:2]
    picked = draw(st.lists(st.sampled_from(SCORE_NAMES), unique=True, max_size=len(SCORE_NAMES)))
    tables["scores"] = [{"三级指标": n, "自评得分": draw(values), "扣分原因": draw(values), "改进措施": draw(values)}
                        for n in picked]
    return cells, tables


# ---------------------------------------------------------------- damage of the package

def _drop_names(src: bytes, names: list[str]) -> bytes:
    def edit(s):
        for n in names:
            s = re.sub(r'<definedName name="%s"[^>]*>[^<]*</definedName>' % re.escape(n), "", s)
        return s
    return bad.rewrite(src, {"xl/workbook.xml": edit})


def _ref_names(src: bytes, names: list[str]) -> bytes:
    def edit(s):
        for n in names:
            s = re.sub(r'(<definedName name="%s"[^>]*>)[^<]*' % re.escape(n), r"\1#REF!", s)
        return s
    return bad.rewrite(src, {"xl/workbook.xml": edit})


def _drop_sheet(src: bytes, sheet: str) -> bytes:
    part = bad.part_of_sheet(src, sheet)

    def wb(s):
        return re.sub(r'<sheet [^>]*name="%s"[^>]*/>' % re.escape(sheet), "", s)
    return bad.rewrite(src, {"xl/workbook.xml": wb, part: None})


def _drop_table(src: bytes, table: str) -> bytes:
    return bad.rewrite(src, {bad.table_part(src, table): None})


def _shrink_table(src: bytes, table: str, k: int) -> bytes:
    """Rows deleted at the end of the table (its ref shrinks; what was below stays in the sheet)."""
    def edit(s):
        def sub(m):
            return f'ref="{m.group(1)}{m.group(2)}:{m.group(3)}{max(int(m.group(2)) + 1, int(m.group(4)) - k)}"'
        return re.sub(r'ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', sub, s)
    return bad.rewrite(src, {bad.table_part(src, table): edit})


def _rename_header(src: bytes, table: str, col: str, new: str) -> bytes:
    return bad.rewrite(src, {bad.table_part(src, table): lambda s: s.replace(f'name="{col}"', f'name="{new}"')})


SHEETS = ["填报说明", "基本信息", "年度任务", "绩效指标", "自评评分", "问题与措施", "文字说明", "审核结果"]
TABLES = ["tasks", "indicators", "scores", "problems"]
ALL_NAMES = INPUTS + ["template_version", "budget_adjusted", "budget_completion_rate", "budget_adjust_rate",
                      "spend_yoy_rate", "project_eval_share", "score_total", "grade"]

damage = st.lists(st.one_of(
    st.tuples(st.just("drop_names"), st.lists(st.sampled_from(ALL_NAMES), min_size=1, max_size=6, unique=True)),
    st.tuples(st.just("ref_names"), st.lists(st.sampled_from(ALL_NAMES), min_size=1, max_size=6, unique=True)),
    st.tuples(st.just("drop_sheet"), st.sampled_from(SHEETS)),
    st.tuples(st.just("drop_table"), st.sampled_from(TABLES)),
    st.tuples(st.just("shrink_table"), st.tuples(st.sampled_from(TABLES), st.integers(1, 40))),
    st.tuples(st.just("rename_header"), st.tuples(st.sampled_from(TABLES), st.sampled_from(
        ["完成率", "自评得分", "分值", "三级指标", "涉及资金（万元）", "完成状态", "改进措施"]))),
), max_size=3)


def apply_damage(src: bytes, steps) -> bytes:
    for kind, arg in steps:
        try:
            if kind == "drop_names":
                src = _drop_names(src, arg)
            elif kind == "ref_names":
                src = _ref_names(src, arg)
            elif kind == "drop_sheet":
                src = _drop_sheet(src, arg)
            elif kind == "drop_table":
                src = _drop_table(src, arg)
            elif kind == "shrink_table":
                src = _shrink_table(src, *arg)
            elif kind == "rename_header":
                src = _rename_header(src, arg[0], arg[1], arg[1] + "（改）")
        except (KeyError, AttributeError):   # already gone with an earlier step
            continue
    return src


# ---------------------------------------------------------------- the properties

def fill_or_reject(p: Path, cells, tables) -> None:
    """fill() itself may refuse values (its cached-value arithmetic): not the checker's business."""
    try:
        fill(p, cells=cells, tables=tables)
    except (OverflowError, ValueError, TypeError, KeyError):
        reject()


def check_file(path: Path, out_dir: Path) -> None:
    """runner and CLI on one workbook: a result, no crash finding, exit status 0/1, JSON intact,
    the annotated copy written."""
    res = runner.check_chunk([str(path)], None)
    assert len(res) == 1
    r = res[0]
    crashed = [f"{f.rule}: {f.message}" for f in r.findings if CRASH_MARK in f.message]
    assert not crashed, crashed
    assert r.status in ("pass", "fail"), [f.message for f in r.findings]   # a filled template is always readable
    json.dumps(r.to_json(), ensure_ascii=False, default=str)
    cli = CliRunner().invoke(main, ["--format", "json", "--out", str(out_dir), "--quiet", str(path)])
    assert cli.exit_code in (0, 1), (cli.exit_code, cli.output, cli.exception)
    assert cli.exception is None or isinstance(cli.exception, SystemExit), repr(cli.exception)
    doc = json.loads(cli.stdout)
    assert not [f for f in doc["files"][0]["findings"] if CRASH_MARK in f["message"]]
    assert "未能写入" not in (cli.stderr or ""), cli.stderr


@FUZZ
@given(filled())
def test_fuzz_values(tmp_path_factory, case):
    cells, tables = case
    d = tmp_path_factory.mktemp("fz")
    p = d / "fuzz.xlsx"
    fill_or_reject(p, cells, tables)
    check_file(p, d / "out")


@FUZZ
@given(filled(), damage)
def test_fuzz_values_and_damage(tmp_path_factory, case, steps):
    cells, tables = case
    d = tmp_path_factory.mktemp("fz")
    p = d / "fuzz.xlsx"
    fill_or_reject(p, cells, tables)
    p.write_bytes(apply_damage(p.read_bytes(), steps))
    check_file(p, d / "out")


# ---------------------------------------------------------------- the reader against mutated packages

V_LITERALS = ["", "x", "-0", "1,5", "2958466", "-700000", "1e14", "0.1e1", "+3", ".5", "1E-5",
              "1e15", "1e308", "NaN", "inf", "1e999", "99999999999999999999"]


def _mutate_xml(text: str, rnd: random.Random) -> str:
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(text) + 1)
        j = min(len(text), i + rnd.randint(0, 200))
        op = rnd.randrange(5)
        if op == 0:
            text = text[:i] + text[j:]                                          # cut
        elif op == 1:
            text = text[:i] + text[i:j] * rnd.randint(2, 5) + text[i:]          # repeat
        elif op == 2:
            text = text[:i] + rnd.choice(['<c r="A1">', "</row>", '<v>', "&amp;", "&#0;", '"', "<", "]]>",
                                          '<c r="ZZZZ99999999"><v>1</v></c>', '<c t="s"><v>999999</v></c>',
                                          '<f t="shared" si="0"/>', "<v>1e14</v>", "<v>-0</v>",
                                          '<c r="B2" s="99999"><v>1</v></c>', "\ud7ff", "💥"]) + text[i:]
        elif op == 3:
            text = re.sub(r'r="[A-Z]+\d+"', lambda m: 'r="%s"' % rnd.choice(["A0", "A-1", "1A", "", "XFE1", "A1048577"]),
                          text, count=rnd.randint(1, 3))
        else:
            text = re.sub(r"<v>[^<]*</v>", lambda m: "<v>%s</v>" % rnd.choice(V_LITERALS),
                          text, count=rnd.randint(1, 5))
    return text


@settings(max_examples=EXAMPLES or 100, deadline=None, derandomize=not os.environ.get("XLCHECK_FUZZ_RANDOM"),
          database=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32 - 1), st.sampled_from(["xl/workbook.xml", "sheet:基本信息", "sheet:绩效指标",
                                                   "sheet:自评评分", "table:indicators", "table:scores",
                                                   "xl/styles.xml", "xl/_rels/workbook.xml.rels",
                                                   "[Content_Types].xml"]))
def test_fuzz_reader_mutations(tmp_path_factory, seed, target):
    """Random edits of one part's XML: the result is a finding (FILE009 …) or a checked workbook."""
    src = bad.clean_bytes()
    kind, _, name = target.partition(":")
    part = bad.part_of_sheet(src, name) if kind == "sheet" else bad.table_part(src, name) if kind == "table" \
        else target
    rnd = random.Random(seed)
    data = bad.rewrite(src, {part: lambda s: _mutate_xml(s, rnd)})
    p = tmp_path_factory.mktemp("mut") / "m.xlsx"
    p.write_bytes(data)
    r = runner.check_chunk([str(p)], None)[0]
    assert not [f.message for f in r.findings if CRASH_MARK in f.message]
    if r.status == "unreadable":
        assert r.findings[0].rule.startswith("FILE") and "无法读取（" not in r.findings[0].message[:6]


@settings(max_examples=EXAMPLES or 100, deadline=None, derandomize=not os.environ.get("XLCHECK_FUZZ_RANDOM"),
          database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=0, max_size=600), st.sampled_from([".xlsx", ".xls", ".csv", ".et", ".ods", ".xlsm"]),
       st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<html>", b"\xef\xbb\xbf",
                        b"\xff\xfe", b"%PDF"]))
def test_fuzz_arbitrary_bytes(tmp_path_factory, body, suffix, magic):
    """Any bytes under any spreadsheet name: one FILE finding, never an exception."""
    p = tmp_path_factory.mktemp("bytes") / ("f" + suffix)
    p.write_bytes(magic + body)
    r = runner.check_chunk([str(p)], None)[0]
    assert r.status == "unreadable" and len(r.findings) == 1
    f = r.findings[0]
    assert f.rule.startswith("FILE") and re.search(r"[\u4e00-\u9fff]", f.message), f


# ---------------------------------------------------------------- the bugs found, pinned with minimal reproductions

def _crashes(cells=None, tables=None, tmp=None) -> list[str]:
    p = Path(tmp) / "repro.xlsx"
    fill(p, cells={**DATA["cells"], **(cells or {})},
         tables={**{k: DATA[k] for k in bad.TABLE_KEYS}, **(tables or {})})
    r = runner.check_chunk([str(p)], None)[0]
    return [f"{f.rule}: {f.message}" for f in r.findings if CRASH_MARK in f.message]


def _with(table, i, **vals):
    rows = [dict(r) for r in DATA[table]]
    rows[i].update(vals)
    return rows


def test_bug_large_float_target_and_wrong_rate(tmp_path):
    """parse_number(1e16) is 'none' (beyond 15 digits) but interval() of the cell exists, so the row
    is classified and then ARI009 formats number(cell) = None: TypeError in fmt_number."""
    assert not _crashes(tables={"indicators": _with("indicators", 0, 年度目标值=1e16, 年度实现值=1e16, 完成率=1.5)},
                        tmp=tmp_path)


def test_bug_huge_amount(tmp_path):
    """Was: numbers.round_shown(1e30, 2) raised decimal.InvalidOperation (28-digit context) and
    ARI001–003, EXP001–010, PTS009, TXT002/003 crashed through Cell.text (fixed in 422c4d9)."""
    assert not _crashes(cells={"budget_initial": 1e30}, tmp=tmp_path)


def test_bug_huge_score(tmp_path):
    assert not _crashes(tables={"scores": _with("scores", 0, 自评得分=1.7976931348623157e308)}, tmp=tmp_path)


def test_bug_brace_in_problem_text(tmp_path):
    """EXP012 passes user text inside message=…, which is then str.format-ed: "{" raises ValueError."""
    assert not _crashes(tables={"problems": [{"序号": 1, "存在的主要问题": "经费{不足", "改进措施": ""}]}, tmp=tmp_path)
