"""The scoring framework (SPEC 2.3) loaded from editable TOML data (checks/framework.toml)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from xlcheck.errors import ConfigError

from . import formulas

FRAMEWORK_FILE = "framework.toml"

# TOML keys of one 三级 row -> FrameworkRow attribute
_ROW_KEYS = {
    "一级指标": "level1", "一级分值": "level1_points",
    "二级指标": "level2", "二级分值": "level2_points",
    "三级指标": "name", "分值": "points",
    "指标解释": "explanation", "评分标准": "standard",
}
_TEXT_KEYS = ("一级指标", "二级指标", "三级指标")
_POINT_KEYS = ("一级分值", "二级分值", "分值")
# points are at most a few decimals: compare sums with a tolerance far below 0.01
_EPS = 1e-9


@dataclass(frozen=True)
class Grade:
    name: str
    lower: float          # inclusive; the last (lowest) band also takes everything below
    note: str = ""


@dataclass(frozen=True)
class FrameworkRow:
    level1: str
    level1_points: float
    level2: str
    level2_points: float
    name: str
    points: float
    explanation: str = ""
    standard: str = ""


@dataclass(frozen=True)
class Framework:
    rows: tuple[FrameworkRow, ...]
    grades: tuple[Grade, ...]       # highest band first
    path: str = ""

    @property
    def total(self) -> float:
        return sum(p for _, p in self.level1)

    @property
    def level1(self) -> tuple[tuple[str, float], ...]:
        """(一级指标, 一级分值) in order of appearance."""
        seen: dict[str, float] = {}
        for r in self.rows:
            seen.setdefault(r.level1, r.level1_points)
        return tuple(seen.items())

    @property
    def level2(self) -> tuple[tuple[str, str, float], ...]:
        """(一级指标, 二级指标, 二级分值) in order of appearance."""
        seen: dict[tuple[str, str], float] = {}
        for r in self.rows:
            seen.setdefault((r.level1, r.level2), r.level2_points)
        return tuple((a, b, p) for (a, b), p in seen.items())

    def __post_init__(self):
        # the rules look rows up by name for every scores row of every workbook
        object.__setattr__(self, "_by_name", {normalize_name(r.name): r for r in reversed(self.rows)})

    @property
    def keys(self) -> list[str]:
        """Normalized 三级指标 names, in order."""
        return [normalize_name(r.name) for r in self.rows]

    def row(self, name: str) -> FrameworkRow | None:
        """The 三级 row named `name` (full/half-width brackets, quotes and spaces ignored)."""
        return self._by_name.get(normalize_name(name)) if name else None

    def grade_for(self, score) -> str:
        """Grade of a numeric score; "" for a non-number (same as the template's formula)."""
        return formulas.grade(score, self)


def normalize_name(s) -> str:
    """Name key that ignores the width of brackets/quotes and whitespace."""
    if type(s) is str and len(s) <= 64:
        return _normalize_text(s)   # the rules ask for the same few names again and again
    return _normalize(s)


@lru_cache(maxsize=4096)
def _normalize_text(s: str) -> str:
    return _normalize(s)


_WS = re.compile(r"\s+")


def _normalize(s) -> str:
    s = "" if s is None else str(s)
    s = s.replace("（", "(").replace("）", ")").replace("“", '"').replace("”", '"')
    return _WS.sub("", s.replace("\u3000", ""))


def default_framework_path() -> Path:
    """checks/framework.toml: from the installed `xlcheck.checks` package, else the source tree."""
    try:
        from importlib.resources import files
        p = files("xlcheck.checks") / FRAMEWORK_FILE
        if p.is_file():
            return Path(str(p))
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "checks" / FRAMEWORK_FILE


def _header_lines(text: str, table: str) -> list[int]:
    """1-based line numbers of each [[table]] header, to point errors at a row."""
    pat = re.compile(r'^\s*\[\[\s*"?' + re.escape(table) + r'"?\s*\]\]')
    return [i for i, line in enumerate(text.splitlines(), 1) if pat.match(line)]


def load_framework(path=None) -> Framework:
    """Load and validate a framework file; raise ConfigError (Chinese, file + line) when malformed."""
    path = Path(path) if path is not None else default_framework_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"评分框架文件 {path} 无法读取：{e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"评分框架文件 {path} 不是 UTF-8 编码文本") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        where = f"第 {m.group(1)} 行第 {m.group(2)} 列" if m else "某处"
        raise ConfigError(f"评分框架文件 {path} {where}格式错误：{e}") from e

    def fail(line, msg):
        where = f"第 {line} 行" if line else ""
        raise ConfigError(f"评分框架文件 {path} {where}：{msg}")

    row_lines = _header_lines(text, "指标")
    grade_lines = _header_lines(text, "等级")

    raw_rows = data.get("指标")
    if not isinstance(raw_rows, list) or not raw_rows:
        fail(None, "缺少 [[\"指标\"]] 三级指标行")
    rows = []
    for i, raw in enumerate(raw_rows):
        line = row_lines[i] if i < len(row_lines) else None
        if not isinstance(raw, dict):
            fail(line, f"第 {i + 1} 个指标行不是表")
        missing = [k for k in _TEXT_KEYS + _POINT_KEYS if k not in raw]
        if missing:
            fail(line, f"第 {i + 1} 个指标行缺少字段：{'、'.join(missing)}")
        unknown = [k for k in raw if k not in _ROW_KEYS]
        if unknown:
            fail(line, f"第 {i + 1} 个指标行有未知字段：{'、'.join(unknown)}")
        for k in _TEXT_KEYS:
            if not isinstance(raw[k], str) or not raw[k].strip():
                fail(line, f"第 {i + 1} 个指标行的“{k}”应为非空文字")
        for k in _POINT_KEYS:
            v = raw[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                fail(line, f"“{raw['三级指标']}”的“{k}”应为正数，实为 {v!r}")
        for k in ("指标解释", "评分标准"):
            if k in raw and not isinstance(raw[k], str):
                fail(line, f"“{raw['三级指标']}”的“{k}”应为文字")
        rows.append((line, FrameworkRow(**{_ROW_KEYS[k]: v for k, v in raw.items()})))

    # consistent parent weights, children summing to parents, unique names
    l1: dict[str, float] = {}
    l2: dict[tuple[str, str], float] = {}
    names: set[str] = set()
    for line, r in rows:
        key = normalize_name(r.name)
        if key in names:
            fail(line, f"三级指标“{r.name}”重复")
        names.add(key)
        if abs(l1.setdefault(r.level1, r.level1_points) - r.level1_points) > _EPS:
            fail(line, f"一级指标“{r.level1}”的分值前后不一致（{l1[r.level1]:g} 与 {r.level1_points:g}）")
        k2 = (r.level1, r.level2)
        if abs(l2.setdefault(k2, r.level2_points) - r.level2_points) > _EPS:
            fail(line, f"二级指标“{r.level2}”的分值前后不一致（{l2[k2]:g} 与 {r.level2_points:g}）")
    for (a, b), p in l2.items():
        s = sum(r.points for _, r in rows if (r.level1, r.level2) == (a, b))
        if abs(s - p) > _EPS:
            line = next(ln for ln, r in rows if (r.level1, r.level2) == (a, b))
            fail(line, f"二级指标“{b}”分值为 {p:g}，其三级指标分值合计为 {s:g}")
    for a, p in l1.items():
        s = sum(p2 for (x, _), p2 in l2.items() if x == a)
        if abs(s - p) > _EPS:
            line = next(ln for ln, r in rows if r.level1 == a)
            fail(line, f"一级指标“{a}”分值为 {p:g}，其二级指标分值合计为 {s:g}")
    total = sum(l1.values())
    if abs(total - 100) > _EPS:
        fail(None, f"一级指标分值合计应为 100，实为 {total:g}")

    raw_grades = data.get("等级")
    if not isinstance(raw_grades, list) or not raw_grades:
        fail(None, "缺少 [[\"等级\"]] 评价等级")
    grades = []
    for i, g in enumerate(raw_grades):
        line = grade_lines[i] if i < len(grade_lines) else None
        if not isinstance(g, dict) or not isinstance(g.get("等级"), str) or not g["等级"].strip():
            fail(line, f"第 {i + 1} 个评价等级缺少“等级”名称")
        lower = g.get("下限")
        if isinstance(lower, bool) or not isinstance(lower, (int, float)):
            fail(line, f"评价等级“{g['等级']}”的“下限”应为数字")
        grades.append((line, Grade(g["等级"], float(lower), str(g.get("说明", "")))))
    for (line, a), (_, b) in zip(grades, grades[1:]):
        if not a.lower > b.lower:
            fail(line, "评价等级应按“下限”从高到低排列")
    return Framework(rows=tuple(r for _, r in rows), grades=tuple(g for _, g in grades),
                     path=str(path))
