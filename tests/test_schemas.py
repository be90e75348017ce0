"""pandera schemas (VAL030–VAL035): allowed values, cross-column rules, types, required cells,
validated for many workbooks in one pass with findings pointing at the exact cell."""
from __future__ import annotations

import copy as _copy
import subprocess
import sys
import textwrap

import openpyxl
import pytest

from helpers_rules import CLEAN_TABLES, build, check, crashed, findings, rule_ids, table_cell

SCHEMA_RULES = ("VAL030", "VAL031", "VAL032", "VAL033", "VAL034", "VAL035")


def rows_of(table, **changes):
    rows = _copy.deepcopy(CLEAN_TABLES[table])
    for k, v in changes.items():
        rows[int(k[1:]) - 1].update(v)
    return rows


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Four workbooks checked as one batch: clean, bad indicators, bad tasks, bad problems."""
    d = tmp_path_factory.mktemp("schemas")
    paths = [
        build(d / "clean.xlsx"),
        build(d / "indicators.xlsx", tables={"indicators": rows_of(
            "indicators",
            r1={"一级指标": "产出"},                                  # VAL030
            r2={"二级指标": "社会效益指标"},                          # VAL031 (产出指标)
            r3={"指标方向": "增加"},                                  # VAL032
            r4={"年度目标值": "合格"},                                # VAL034 (≤ row)
            r5={"完成率": None},                                      # VAL035 (定性 without rate)
            r6={"三级指标": None, "指标方向": ">="},                  # VAL035; >= is accepted
        )}),
        build(d / "tasks.xlsx", tables={"tasks": rows_of(
            "tasks", r1={"完成状态": "基本完成"}, r2={"涉及资金（万元）": "待定"}, r3={"任务名称": None})}),
        build(d / "problems.xlsx", tables={"problems": [{"序号": 1, "改进措施": "建立跨部门协调台账"}]}),
    ]
    return paths, check(*paths)


def schema_findings(res):
    return [f for f in res.findings if f.rule in SCHEMA_RULES]


def test_clean_workbook_in_batch(batch):
    _, results = batch
    assert not crashed(results[0])
    assert not schema_findings(results[0])


def test_findings_go_to_their_own_workbook(batch):
    _, (clean, ind, tasks, probs) = batch
    assert {f.field.split(".")[0] for f in schema_findings(ind)} == {"indicators"}
    assert {f.field.split(".")[0] for f in schema_findings(tasks)} == {"tasks"}
    assert {f.field.split(".")[0] for f in schema_findings(probs)} == {"problems"}


def _one(res, rid):
    fs = findings(res, rid)
    assert len(fs) == 1, [f.message for f in fs]
    return fs[0]


def test_val030_level1(batch):
    paths, results = batch
    f = _one(results[1], "VAL030")
    assert (f.field, f.row, f.value) == ("indicators.一级指标", 1, "产出")
    assert "产出指标、效益指标、满意度指标" in f.message
    wb = openpyxl.load_workbook(paths[1])
    c = table_cell(wb, "indicators", "一级指标", 1)
    assert (f.sheet, f.cell) == (c.parent.title, c.coordinate)      # the exact cell


def test_val031_level2_for_level1(batch):
    f = _one(batch[1][1], "VAL031")
    assert (f.field, f.row, f.value) == ("indicators.二级指标", 2, "社会效益指标")
    assert "产出指标" in f.message and "数量指标" in f.message


def test_val032_direction(batch):
    f = _one(batch[1][1], "VAL032")
    assert (f.row, f.value) == (3, "增加") and "≥、≤、=、定性" in f.message


def test_val034_quantity_not_a_number(batch):
    f = _one(batch[1][1], "VAL034")
    assert (f.field, f.row, f.value) == ("indicators.年度目标值", 4, "合格")
    assert "定性" in f.message


def test_val035_required_cells(batch):
    fs = findings(batch[1][1], "VAL035")
    assert {(f.field, f.row) for f in fs} == {("indicators.完成率", 5), ("indicators.三级指标", 6)}


def test_val033_task_status_and_task_types(batch):
    res = batch[1][2]
    f = _one(res, "VAL033")
    assert (f.field, f.row, f.value) == ("tasks.完成状态", 1, "基本完成")
    f = _one(res, "VAL034")
    assert (f.field, f.row, f.value) == ("tasks.涉及资金（万元）", 2, "待定")
    f = _one(res, "VAL035")
    assert (f.field, f.row) == ("tasks.任务名称", 3)


def test_problem_row_without_problem(batch):
    f = _one(batch[1][3], "VAL035")
    assert (f.field, f.row) == ("problems.存在的主要问题", 1)


def test_no_duplicates_with_text_number_rules(tmp_path):
    # "415.32 平方米" is VAL005's, "1000余人次" VAL006's: the schema does not report them again
    rows = rows_of("indicators", r1={"年度实现值": "1000余人次"}, r2={"年度目标值": "415.32 平方米"})
    res = check(build(tmp_path / "x.xlsx", tables={"indicators": rows}))
    assert not findings(res, "VAL034")
    assert {"VAL005", "VAL006"} <= rule_ids(res)


def test_schema_objects_are_pandera():
    import pandera.pandas as pa
    from xlcheck.rules import load_checks
    checks = load_checks()
    mod = sys.modules[checks.get("VAL030").func.__module__]
    from importlib import import_module
    shared = import_module(mod.__name__.rsplit(".", 1)[0] + "._shared")
    schemas = mod.table_schemas(shared.interface(checks))
    assert {s.table for s in schemas} >= {"indicators", "tasks", "problems"}
    for s in schemas:
        assert isinstance(mod._pandera_schema(s), pa.DataFrameSchema)


def test_single_workbook_does_not_import_pandera(tmp_path):
    """The open book (add-in, Lite, service) is checked by the same declared checks without pandas."""
    p = build(tmp_path / "bad.xlsx", tables={"tasks": rows_of("tasks", r1={"完成状态": "基本完成"})})
    code = textwrap.dedent(f"""
        import sys
        from xlcheck.reader import read_workbook
        from xlcheck.rules import load_checks
        from xlcheck.runner import check_workbooks
        [res] = check_workbooks([read_workbook({str(p)!r})], load_checks())
        assert [f.rule for f in res.findings if f.rule.startswith("VAL03")] == ["VAL033"]
        assert "pandera" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pandera_and_direct_evaluation_agree(batch):
    from xlcheck.reader import read_workbook
    from xlcheck.rules import load_checks
    checks = load_checks()
    mod = sys.modules[checks.get("VAL030").func.__module__]
    from importlib import import_module
    iface = import_module(mod.__name__.rsplit(".", 1)[0] + "._shared").interface(checks)
    wbs = [read_workbook(p) for p in batch[0]]

    def norm(res):
        return {rid: sorted((i, r.index, col, str(v)) for i, r, col, v in items) for rid, items in res.items()}
    via_pandera = norm(mod.validate_batch(wbs, iface, engine="pandera"))
    direct = norm(mod.validate_batch(wbs, iface, engine="direct"))
    assert via_pandera == direct
    assert set(via_pandera) == set(SCHEMA_RULES)


def test_one_validation_per_chunk_same_findings_with_workers(batch, monkeypatch):
    """Each chunk is validated by pandera once (its tables concatenated with a file key), where it
    is read; chunks of any size and worker processes give the same findings."""
    from xlcheck import runner
    from xlcheck.rules import load_checks
    schemas = sys.modules[load_checks().get("VAL030").func.__module__]   # the loaded rule module
    paths, expected = batch
    calls = []
    real = schemas.validate_batch
    monkeypatch.setattr(schemas, "validate_batch", lambda wbs, iface, **k: calls.append(len(wbs)) or real(wbs, iface, **k))
    monkeypatch.setattr(runner, "CHUNK", 2)
    got = list(runner.check_paths(paths, jobs=1))
    assert calls == [2, 2]                                   # two chunks of two, one validation each
    key = lambda res: [(f.rule, f.sheet, f.cell, f.message) for f in res.findings]
    assert [key(r) for r in got] == [key(r) for r in expected]
    two = list(runner.check_paths(paths * 3, jobs=2))       # 12 files: the pool path
    assert [key(r) for r in two] == [key(r) for r in expected] * 3


def test_a_crashing_batch_rule_is_an_error_and_the_rest_still_runs(batch, monkeypatch):
    from xlcheck import runner
    from xlcheck.rules import load_checks
    paths, expected = batch

    def broken(wbs, ctx):
        raise RuntimeError("boom")
    monkeypatch.setattr(load_checks().get("VAL030"), "func", broken)
    got = list(runner.check_paths(paths[:2], jobs=1))
    for res, exp in zip(got, expected):
        crash = [f for f in res.findings if "运行出错" in f.message]
        assert [(f.rule, f.severity) for f in crash] == [("VAL030", "error")]
        others = [f for f in exp.findings if f.rule != "VAL030"]
        assert [(f.rule, f.cell) for f in res.findings if "运行出错" not in f.message] == [(f.rule, f.cell) for f in others]
