"""The rule registry: `@rule`, the context a rule reports through, and loading a checks directory.

A checks directory (the bundled `xlcheck.checks`, or a bureau's copy given by `--checks DIR`)
holds one module per rule family plus data files:
  <family>.toml    severity, Chinese title and message template of that family's rules
  thresholds.toml  numbers a bureau may tune (120 % over-achievement, 90 % completion, …)
  words.toml       word lists (placeholder explanations, fuzzy markers, …)
  framework.toml   the scoring framework (SPEC 2.3)
  interface.toml   the template's interface (versions, sheets, names, tables, headers, choices)
"""
from __future__ import annotations

import importlib.util
import string
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import ConfigError
from .findings import SEVERITIES, Finding
from .framework import load_framework
from .model import Cell

FAMILIES = {
    "FILE": "文件", "STR": "结构", "VAL": "数值", "ARI": "算术", "PTS": "分值",
    "EXP": "说明", "TXT": "文字", "COL": "汇总",
}
SCOPES = ("workbook", "batch", "collection")


@dataclass(slots=True)
class RuleSpec:
    id: str
    func: Callable
    needs: tuple[str, ...]
    scope: str


_pending: list[RuleSpec] = []


def rule(id: str, *, needs: Iterable[str] = (), scope: str = "workbook"):
    """Register a rule function.

    scope "workbook":   func(wb, ctx) yields Findings for one workbook.
    scope "batch":      func(workbooks, ctx) yields (index, Finding) over the workbooks checked
                        together (a chunk of a run, or the one open book): where one pass over
                        many tables beats one call per file (pandera's schemas).
    scope "collection": func(results, ctx) yields (index, Finding) over the FileResults of a run.
    """
    if scope not in SCOPES:
        raise ValueError(scope)

    def deco(func):
        _pending.append(RuleSpec(id, func, tuple(needs), scope))
        return func
    return deco


@dataclass(slots=True)
class Rule:
    id: str
    func: Callable
    needs: tuple[str, ...]
    scope: str
    severity: str
    title: str
    message: str
    module: str
    text_doc: str = ""   # engine rules (no function) are documented in their toml: explanation + example

    @property
    def family(self) -> str:
        return "".join(ch for ch in self.id if ch.isalpha())

    @property
    def doc(self) -> str:
        import inspect
        return self.text_doc or inspect.getdoc(self.func) or ""

    @property
    def explanation(self) -> str:
        return self.doc.split("示例", 1)[0].strip()

    @property
    def example(self) -> str:
        parts = self.doc.split("示例", 1)
        return parts[1].lstrip("：:").strip() if len(parts) > 1 else ""


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


class Context:
    """What a rule sees besides the workbook: its own definition and the bureau's data."""

    def __init__(self, checks: "Checks", rule: Rule, batch_memo: dict | None = None):
        self.checks = checks
        self.rule = rule
        # batch rules of one batch share this dict (their common validation runs once)
        self.batch_memo = {} if batch_memo is None else batch_memo

    @property
    def thresholds(self) -> dict:
        return self.checks.thresholds

    @property
    def words(self) -> dict:
        return self.checks.words

    @property
    def framework(self):
        return self.checks.framework

    def report(self, where: Cell | None = None, *, value: Any = ..., expected: Any = None,
               severity: str | None = None, sheet: str | None = None, cell: str | None = None,
               field: str | None = None, row: int | None = None, message: str | None = None,
               **params) -> Finding:
        if value is ...:
            value = where.text if where is not None else None
        params.setdefault("value", "" if value is None else value)
        params.setdefault("expected", "" if expected is None else expected)
        for k, v in (("sheet", sheet), ("cell", cell), ("field", field), ("row", row)):
            if v is not None:
                params.setdefault(k, v)     # a message may name the place too ("第 {row} 行")
        # a ready message (built by the rule, may quote the user's text with "{") is used as is
        text = message if message is not None else \
            self.rule.message.format_map(_SafeDict({k: _fmt(v) for k, v in params.items()}))
        return Finding(
            rule=self.rule.id, severity=severity or self.rule.severity, message=text,
            sheet=sheet if sheet is not None else (where.sheet if where is not None else None),
            cell=cell if cell is not None else (where.address if where is not None else None),
            field=field if field is not None else (where.field if where is not None else None),
            row=row if row is not None else (where.row if where is not None else None),
            value=value, expected=expected,
        )


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class Checks:
    """A loaded checks directory: rules in catalogue order plus the bureau's data."""
    directory: Path
    rules: list[Rule] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    words: dict = field(default_factory=dict)
    _contexts: dict = field(default_factory=dict, repr=False)
    derived: dict = field(default_factory=dict, repr=False)   # what rules derive from the data files, once

    @cached_property
    def framework(self):
        return load_framework(self.directory / "framework.toml")

    def by_scope(self, scope: str) -> list[Rule]:
        return [r for r in self.rules if r.scope == scope]

    def contexts(self, scope: str) -> list[tuple[Rule, Context]]:
        """The rules of a scope with a Context each (a Context holds no per-workbook state)."""
        if scope not in self._contexts:
            self._contexts[scope] = [(r, Context(self, r)) for r in self.by_scope(scope)]
        return self._contexts[scope]

    def get(self, rule_id: str) -> Rule | None:
        rid = rule_id.upper()
        return next((r for r in self.rules if r.id == rid), None)

    def context(self, rule_id: str) -> Context:
        """A context for engine-level findings (FILE…, STR… raised outside a rule function)."""
        r = self.get(rule_id)
        if r is None:
            raise KeyError(rule_id)
        return Context(self, r)


def default_checks_dir() -> Path:
    import xlcheck.checks as pkg
    return Path(pkg.__file__).parent


def load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"检查规则目录缺少文件：{path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"检查规则文件 {path} 格式错误：{e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"检查规则文件 {path} 不是 UTF-8 编码") from None


def _line_of(path: Path, needle: str, start: int = 0) -> int:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if i >= start and line.strip().startswith(needle):
                return i
    except OSError:
        pass
    return 0


_loaded: dict[Path, Checks] = {}


def load_checks(directory: str | Path | None = None) -> Checks:
    """Load (once per process) the rule modules and data files of a checks directory."""
    d = Path(directory).resolve() if directory else default_checks_dir()
    if d in _loaded:
        return _loaded[d]
    if not d.is_dir():
        raise ConfigError(f"检查规则目录不存在：{d}")
    specs = _import_rule_modules(d)
    texts, where = _load_texts(d)
    allowed = shipped_placeholders() if d != default_checks_dir() else {}
    checks = Checks(d, thresholds=load_toml(d / "thresholds.toml"), words=load_toml(d / "words.toml"))
    seen = set()
    for spec, module in specs:
        if spec.id in seen:
            raise ConfigError(f"规则编号重复：{spec.id}（{module}）")
        seen.add(spec.id)
        t = texts.get(spec.id)
        if not isinstance(t, dict):
            raise ConfigError(f"{d / (Path(module).stem + '.toml')}：缺少规则 [{spec.id}] 的级别、标题和提示文字（规则定义在 {module}）")
        _validate_text(spec.id, t, where[spec.id], allowed.get(spec.id))
        checks.rules.append(Rule(spec.id, spec.func, spec.needs, spec.scope, t["severity"], t["title"], t["message"],
                                 module))
    # engine-level rules (FILE…) have texts but no function
    for rid, t in texts.items():
        if rid not in seen and rid.startswith("FILE"):
            _validate_text(rid, t, where[rid], allowed.get(rid))
            doc = str(t.get("explanation", "")).strip()
            if t.get("example"):
                doc += "\n\n示例：" + str(t["example"]).strip()
            checks.rules.append(Rule(rid, _no_func, (), "engine", t["severity"], t["title"], t["message"],
                                     "engine", doc))
    order = list(FAMILIES)
    checks.rules.sort(key=lambda r: (order.index(r.family) if r.family in order else 99, r.id))
    _loaded[d] = checks
    return checks


DATA_FILES = {"thresholds.toml", "words.toml", "framework.toml", "interface.toml"}


def _load_texts(d: Path) -> tuple[dict, dict]:
    """Rule texts: every other *.toml of the directory (one per family, beside its module)."""
    texts, where = {}, {}
    for path in sorted(d.glob("*.toml")):
        if path.name in DATA_FILES:
            continue
        for rid, t in load_toml(path).items():
            if rid in texts:
                raise ConfigError(f"{path}：规则 [{rid}] 已在 {where[rid]} 中定义")
            if not isinstance(t, dict):
                raise ConfigError(f"{path} 第 {_line_of(path, rid)} 行附近：[{rid}] 应为一个表（severity / title / message）")
            texts[rid], where[rid] = t, path
    return texts, where


def _validate_text(rid: str, t: dict, path: Path, allowed: frozenset | None = None) -> None:
    """Severity, title and message present; every {placeholder} of the message well formed and,
    when `allowed` is known (the shipped catalogue's text of the same rule), one the rule supplies."""
    line = _line_of(path, f"[{rid}]")
    sev = t.get("severity")
    if sev not in SEVERITIES:
        raise ConfigError(f"{path} 第 {line} 行附近：规则 [{rid}] 的 severity 必须是 error / warning / info 之一，现为 {sev!r}")
    for key in ("title", "message"):
        if not isinstance(t.get(key), str) or not t[key].strip():
            raise ConfigError(f"{path} 第 {line} 行附近：规则 [{rid}] 缺少 {key}")
    msg_line = _line_of(path, "message", start=line) or line
    try:
        used = placeholders(t["message"])
    except ValueError as e:
        raise ConfigError(f"{path} 第 {msg_line} 行：规则 [{rid}] 的提示文字中花括号不成对（{e}）；"
                          f"占位符写作 {{value}}，文字中的花括号写作 {{{{ 和 }}}}") from None
    unknown = sorted(used - allowed) if allowed is not None else []
    if unknown:
        raise ConfigError(f"{path} 第 {msg_line} 行：规则 [{rid}] 的提示文字使用了规则不提供的占位符 "
                          + "、".join("{" + u + "}" for u in unknown)
                          + "；可用的占位符：" + "、".join("{" + a + "}" for a in sorted(allowed)))


COMMON_PLACEHOLDERS = frozenset(("value", "expected", "sheet", "cell", "field", "row"))


def placeholders(message: str) -> set[str]:
    """Names of the {placeholders} of a message template (ValueError when braces are unbalanced)."""
    names = set()
    for _, name, spec, _ in string.Formatter().parse(message):
        if name is not None:
            if not name or not name.isidentifier():
                raise ValueError(f"“{{{name}}}”不是占位符")
            names.add(name)
            if spec:
                names |= placeholders(spec)
    return names


def shipped_placeholders() -> dict[str, frozenset]:
    """Rule id -> placeholders its shipped message uses (plus the common ones): what the rule
    supplies, so a bureau's edited text may use exactly these."""
    texts, _ = _load_texts(default_checks_dir())
    return {rid: frozenset(placeholders(str(t.get("message", "")))) | COMMON_PLACEHOLDERS
            for rid, t in texts.items() if isinstance(t, dict)}


def _no_func(*_a, **_k):
    """Raised by the engine itself."""
    return ()


def _import_rule_modules(d: Path) -> list[tuple[RuleSpec, str]]:
    """Import every rule module of the directory as a private package (relative imports work)."""
    pkg_name = f"_xlcheck_rules_{abs(hash(str(d)))}"
    init = d / "__init__.py"
    spec = importlib.util.spec_from_file_location(pkg_name, init if init.exists() else None,
                                                  submodule_search_locations=[str(d)])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[pkg_name] = pkg
    if init.exists():
        spec.loader.exec_module(pkg)
    out: list[tuple[RuleSpec, str]] = []
    for path in sorted(d.glob("*.py")):
        if path.name.startswith("_"):
            continue
        mod_name = f"{pkg_name}.{path.stem}"
        mspec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(mspec)
        sys.modules[mod_name] = module
        _pending.clear()
        try:
            mspec.loader.exec_module(module)
        except SyntaxError as e:
            raise ConfigError(f"检查规则模块 {path} 第 {e.lineno} 行语法错误：{e.msg}") from None
        except Exception as e:  # a bureau's edited module must not crash the tool obscurely
            raise ConfigError(f"检查规则模块 {path} 加载失败：{type(e).__name__}: {e}") from None
        out.extend((s, path.name) for s in _pending)
        _pending.clear()
    return out
