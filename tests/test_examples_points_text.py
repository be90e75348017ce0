"""Acceptance on the examples (examples/README.md) for the PTS, EXP, TXT and COL families:
each seed's real mistakes are found, its correct figures are not flagged, the clean example is clean."""
import subprocess
import sys
from pathlib import Path

import pytest

from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_paths, check_workbooks, run_collection_rules

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("clean-2024", "guangzhou-2023", "baiyun-2022", "huadu-2021", "tianhe-2022", "huangpu-2022")
MINE = ("PTS", "EXP", "TXT", "COL")


@pytest.fixture(scope="module")
def example_paths(tmp_path_factory):
    paths = {n: ROOT / "examples" / f"{n}.xlsx" for n in NAMES}
    if all(p.exists() for p in paths.values()):
        return paths
    out = tmp_path_factory.mktemp("examples")
    subprocess.run([sys.executable, str(ROOT / "examples" / "build.py"), "--out", str(out)], check=True,
                   env={"PYTHONPATH": str(ROOT / "src"), **__import__("os").environ}, capture_output=True)
    return {n: out / f"{n}.xlsx" for n in NAMES}


@pytest.fixture(scope="module")
def found(example_paths):
    wbs = [read_workbook(example_paths[n]) for n in NAMES]
    res = check_workbooks(wbs, load_checks())
    return {n: [f for f in r.findings if f.rule.startswith(MINE)] for n, r in zip(NAMES, res)}


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


def rules(findings):
    return sorted({f.rule for f in findings})


def test_clean_example_has_nothing_from_these_families(found):
    assert found["clean-2024"] == [], [f.message for f in found["clean-2024"]]


# ---------------------------------------------------------------- seed 004 huangpu-2022

def test_huangpu_spend_rate_score_9_91_vs_9_97(found):
    f = of(found["huangpu-2022"], "PTS009")
    assert len(f) == 1
    assert f[0].value == "9.91" and f[0].expected == "9.97"
    assert "99.74%" in f[0].message and "1288.38" in f[0].message and "1291.73" in f[0].message


def test_huangpu_total_and_grade_consistent(found):
    fs = found["huangpu-2022"]
    assert not of(fs, "PTS007") and not of(fs, "PTS008") and not of(fs, "PTS011")   # 95.91, 优
    assert not of(fs, "PTS004") and not of(fs, "PTS005") and not of(fs, "PTS001") and not of(fs, "PTS002")
    assert not of(fs, "PTS010")     # 效益 -4 has its unmet indicator; 产出 full


def test_huangpu_deductions_without_problems(found):
    f = of(found["huangpu-2022"], "EXP008")
    assert len(f) == 1 and "4.09" in f[0].message


def test_huangpu_texts(found):
    fs = found["huangpu-2022"]
    f = of(fs, "TXT002")
    assert len(f) == 1 and f[0].field == "text_finance" and "总预算 1,288.38" in f[0].message
    assert "1291.73" in f[0].message and "执行数" not in f[0].message
    assert not of(fs, "TXT003")      # 完成预算的99.7% (99.74 %) is right, in text_finance and 扣分原因
    assert not of(fs, "TXT001")      # 2021-2022年度“四好”商会 is an award period


def test_huangpu_no_other_explanation_finding(found):
    assert rules(found["huangpu-2022"]) == ["EXP008", "PTS009", "TXT002", "TXT010"]


# ---------------------------------------------------------------- seed 001 baiyun-2022

def test_baiyun_conclusion_99_5_vs_table_100(found):
    f = of(found["baiyun-2022"], "PTS011")
    assert len(f) == 1 and f[0].value == "99.5" and f[0].expected == "100"
    assert f[0].field == "text_conclusion"


def test_baiyun_overachievement_without_reason(found):
    f = of(found["baiyun-2022"], "EXP005")
    assert sorted(x.row for x in f) == [4, 5]
    msgs = " ".join(x.message for x in f)
    assert "举办活动次数" in msgs and "150" in msgs and "走访基层商会数" in msgs and "134.78%" in msgs
    assert "走访企业数" not in msgs and "走访非公党组织个数" not in msgs   # 112 %; 100 % (its own ARI finding)


def test_baiyun_nothing_else(found):
    assert rules(found["baiyun-2022"]) == ["EXP005", "PTS011", "TXT010"]


# ---------------------------------------------------------------- seed 002 huadu-2021

def test_huadu_conclusion_99_5_vs_table(found):
    f = of(found["huadu-2021"], "PTS011")
    assert len(f) == 1 and f[0].value == "99.5" and f[0].expected == "99.96"


def test_huadu_correct_rates_not_flagged(found):
    fs = found["huadu-2021"]
    # 完成当年预算的99.56% (654.66 / 657.55); the projects' 99.6 % / 99.3 % are the projects' own
    assert not of(fs, "TXT002") and not of(fs, "TXT003")
    assert not of(fs, "PTS009")    # 9.96 = 10 x 99.56 %
    assert not of(fs, "TXT001")    # 2020—2021年度 award period; 开班仪式于2022年1月举行 dated event
    assert rules(fs) == ["PTS011", "TXT010"]


# ---------------------------------------------------------------- seed 000 guangzhou-2023

def test_guangzhou_stray_year(found):
    f = of(found["guangzhou-2023"], "TXT001")
    assert len(f) == 1 and f[0].field == "text_effectiveness"
    assert "2022 年" in f[0].message and "2023 年" in f[0].message and "各项工作任务" in f[0].message


def test_guangzhou_correct_figures_not_flagged(found):
    fs = found["guangzhou-2023"]
    assert not of(fs, "TXT002") and not of(fs, "TXT003")   # 5529.49 / 5529.51 stated as 100 %
    assert not of(fs, "PTS011") and not of(fs, "PTS009")    # 100 = 50 + 50; 10 x 99.9996 %
    assert rules(fs) == ["TXT001"]


# ---------------------------------------------------------------- seed 003 tianhe-2022

def test_tianhe_nothing_from_these_families(found):
    # only the sections its form lacks (test_sections_the_transcribed_reports_lack_are_errors)
    rest = [f for f in found["tianhe-2022"] if f.rule != "TXT010"]
    assert rest == [], [f.message for f in rest]


# ---------------------------------------------------------------- the folder

def test_folder_run_mixed_years_no_duplicates(example_paths):
    paths = [example_paths[n] for n in NAMES]
    res = list(check_paths(paths))
    run_collection_rules(res, load_checks())
    col = {n: [f for f in r.findings if f.rule.startswith("COL")] for n, r in zip(NAMES, res)}
    assert not any(f.rule == "COL001" for fs in col.values() for f in fs)
    minority = {n for n, fs in col.items() if any(f.rule == "COL002" for f in fs)}
    assert minority == {"clean-2024", "guangzhou-2023", "huadu-2021"}   # the majority is 2022 (3 files)
    assert "2022" in col["huadu-2021"][0].message


@pytest.mark.parametrize("name, missing", [
    ("baiyun-2022", {"text_efficiency"}), ("huadu-2021", {"text_efficiency"}),
    ("huangpu-2022", {"text_duties", "text_work", "text_management", "text_efficiency"}),
    ("tianhe-2022", {"text_duties", "text_work", "text_finance", "text_management", "text_efficiency"}),
    ("guangzhou-2023", set()), ("clean-2024", set())])
def test_sections_the_transcribed_reports_lack_are_errors(found, name, missing):
    """The seeds' own forms have no such section: as the standard template asks for it, each
    missing one is an error pointing at its cell (SPEC 3, completeness)."""
    got = of(found[name], "TXT010")
    assert {f.field for f in got} == missing and all(f.severity == "error" for f in got)
