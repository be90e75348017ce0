"""Collection (COL): rules over the files of one run — real workbooks through check_paths and
run_collection_rules, plus FileResult lists for the edge cases."""
import pytest

from xlcheck.fill import fill
from xlcheck.rules import load_checks
from xlcheck.results import FileResult
from xlcheck.runner import check_paths, run_collection_rules

HUANGPU = "广州市黄埔区工商业联合会"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("col")
    fill(d / "黄埔区-2022.xlsx", cells={"dept_name": HUANGPU, "eval_year": 2022})
    fill(d / "黄埔区-2022（修改）.xlsx", cells={"dept_name": HUANGPU + " ", "eval_year": 2022})
    fill(d / "天河区-2022.xlsx", cells={"dept_name": "广州市天河区工商业联合会", "eval_year": 2022})
    fill(d / "花都区-2021.xlsx", cells={"dept_name": "广州市花都区工商业联合会", "eval_year": 2021})
    (d / "坏文件.xlsx").write_bytes(b"not a workbook")
    return d


@pytest.fixture(scope="module")
def results(folder):
    checks = load_checks()
    paths = sorted(folder.glob("*.xlsx"))
    res = list(check_paths(paths))
    run_collection_rules(res, checks)
    return {p.name: [f for f in r.findings if f.rule.startswith("COL")] for p, r in zip(paths, res)}


def test_col001_same_department_and_year(results):
    a, b = results["黄埔区-2022.xlsx"], results["黄埔区-2022（修改）.xlsx"]
    fa = [f for f in a if f.rule == "COL001"]
    fb = [f for f in b if f.rule == "COL001"]
    assert len(fa) == 1 and len(fb) == 1
    assert HUANGPU in fa[0].message and "2022" in fa[0].message and "2 份" in fa[0].message
    assert "黄埔区-2022（修改）.xlsx" in fa[0].message and "黄埔区-2022.xlsx" in fb[0].message
    assert fa[0].field == "dept_name"
    for other in ("天河区-2022.xlsx", "花都区-2021.xlsx", "坏文件.xlsx"):
        assert not [f for f in results[other] if f.rule == "COL001"], other


def test_col002_minority_year(results):
    f = [x for x in results["花都区-2021.xlsx"] if x.rule == "COL002"]
    assert len(f) == 1
    assert "2021" in f[0].message and "多数文件为 2022 年" in f[0].message and "2022 年 3 份" in f[0].message
    assert f[0].field == "eval_year" and f[0].severity == "info"
    for other in ("黄埔区-2022.xlsx", "天河区-2022.xlsx", "坏文件.xlsx"):
        assert not [x for x in results[other] if x.rule == "COL002"], other


def test_unreadable_file_is_file001_only(results, folder):
    assert results["坏文件.xlsx"] == []


def _res(path, dept, year, status="fail"):
    return FileResult(path, status, department=dept, year=year)


def _run(results):
    run_collection_rules(results, load_checks())
    return [[f for f in r.findings if f.rule.startswith("COL")] for r in results]


def test_single_year_and_distinct_departments_are_quiet():
    out = _run([_res("a.xlsx", "甲", 2022), _res("b.xlsx", "乙", 2022), _res("c.xlsx", None, None)])
    assert out == [[], [], []]


def test_same_department_other_year_is_no_duplicate():
    out = _run([_res("a.xlsx", "甲", 2022), _res("b.xlsx", "甲", 2023), _res("c.xlsx", "乙", 2022)])
    assert not any(f.rule == "COL001" for fs in out for f in fs)


def test_no_majority_year_tells_every_file():
    out = _run([_res("a.xlsx", "甲", 2022), _res("b.xlsx", "乙", 2023)])
    assert all(len(fs) == 1 and fs[0].rule == "COL002" for fs in out)
    assert "2022 年 1 份、2023 年 1 份" in out[0][0].message


def test_rules_are_documented():
    for r in load_checks().rules:
        if r.family == "COL":
            assert r.scope == "collection"
            assert r.explanation and r.example and r.title and r.message, r.id
