"""The rule catalogue over a varied corpus (the examples and benchmarks/generate.py's distinct
workbooks): every message formats with what its rule supplies, a bureau's mistyped placeholder is
refused at load, and every workbook gets the same findings with and without cached values."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlcheck.cli import main
from xlcheck.reader import read_workbook
from xlcheck.rules import Context, load_checks, placeholders
from xlcheck.runner import check_workbooks

ROOT = Path(__file__).resolve().parents[1]


def _generate_module():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    """The examples plus the generator's distinct workbooks (clean, seeds, random defects); the
    200-row ones are left to the benchmark."""
    d = tmp_path_factory.mktemp("corpus")
    gen = _generate_module()
    out = [shutil.copy(p, d / p.name) for p in sorted((ROOT / "examples").glob("*.xlsx"))]
    for stem, data, _ in gen.plan():
        if not stem.startswith("large-"):
            p = d / f"{stem}.xlsx"
            gen._fill(p, data)
            out.append(p)
    return [Path(p) for p in out]


def test_every_message_formats_with_what_its_rule_supplies(corpus, monkeypatch):
    missing: dict[str, set] = {}
    used: set[str] = set()
    real = Context.report

    def strict(self, where=None, **kw):
        if kw.get("message") is None:
            given = set(kw) | {"value", "expected", "sheet", "cell", "field", "row"}
            lack = placeholders(self.rule.message) - given
            if lack:
                missing.setdefault(self.rule.id, set()).update(lack)
        used.add(self.rule.id)
        return real(self, where, **kw)

    monkeypatch.setattr(Context, "report", strict)
    res = check_workbooks([read_workbook(p) for p in corpus], load_checks())
    assert missing == {}
    assert not [f.message for r in res for f in r.findings if "运行出错" in f.message]
    # the corpus exercises most of the catalogue (a floor: new rules should come with cases here)
    assert len(used) >= 27, sorted(used)


def _bureau_copy(tmp_path, file, old, new) -> Path:
    d = tmp_path / "我局规则"
    shutil.copytree(ROOT / "checks", d, ignore=shutil.ignore_patterns("__pycache__"))
    p = d / file
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return d


def test_mistyped_placeholder_is_refused_at_load(tmp_path):
    d = _bureau_copy(tmp_path, "arithmetic.toml", "{expected}", "{expectd}")
    r = CliRunner().invoke(main, ["rules", "--checks", str(d)])
    assert r.exit_code == 2
    assert "arithmetic.toml 第" in r.output and "{expectd}" in r.output and "可用的占位符" in r.output
    r = CliRunner().invoke(main, ["--no-write", "--checks", str(d), str(ROOT / "examples" / "clean-2024.xlsx")])
    assert r.exit_code == 2 and "{expectd}" in r.output


def test_unbalanced_brace_is_refused_at_load(tmp_path):
    d = _bureau_copy(tmp_path, "arithmetic.toml", "{value}", "{value")
    r = CliRunner().invoke(main, ["rules", "--checks", str(d)])
    assert r.exit_code == 2 and "花括号不成对" in r.output and "arithmetic.toml 第" in r.output


def test_literal_braces_and_reordered_placeholders_are_accepted(tmp_path):
    d = _bureau_copy(tmp_path, "arithmetic.toml", 'message = "', 'message = "{{注}} ')
    r = CliRunner().invoke(main, ["rules", "--checks", str(d)])
    assert r.exit_code == 0, r.output


@pytest.mark.libreoffice
def test_corpus_same_findings_with_and_without_cached_values(corpus, tmp_path, libreoffice):
    plain = []
    for p in corpus:
        q = tmp_path / "plain" / p.name
        q.parent.mkdir(exist_ok=True)
        openpyxl.load_workbook(p).save(q)      # as a script writes it: no cached values
        plain.append(q)
    lo = libreoffice(corpus, tmp_path / "lo")
    checks = load_checks()
    a = check_workbooks([read_workbook(p) for p in plain], checks)
    b = check_workbooks([read_workbook(p) for p in lo], checks)
    differ = {}
    for p, x, y in zip(corpus, a, b):
        kx = {(f.rule, f.severity, f.sheet, f.cell, f.message) for f in x.findings if not f.batch_level}
        ky = {(f.rule, f.severity, f.sheet, f.cell, f.message) for f in y.findings if not f.batch_level}
        if kx != ky or x.status != y.status:
            differ[p.name] = (sorted(kx - ky), sorted(ky - kx))
    assert differ == {}
