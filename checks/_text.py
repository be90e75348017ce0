"""Helpers of the points, explanations, narrative and collection families.

Pure functions over the workbook model and plain text, so they can be unit-tested without a
workbook: number reading with rounding intervals, explanation quality (placeholders, length,
normalisation), completion rates, and the text scanners (stray years, stated amounts and rates,
stated score totals).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from xlcheck import formulas
from xlcheck.formulas import face_value
from xlcheck.framework import normalize_name
from xlcheck.wording import fold, is_placeholder, meaningful_chars, normalize_text, text_problem  # noqa: F401
from xlcheck.numbers import (Interval, cell_interval as _cell_interval, cell_number as _cell_number, format_shown,
                             round_shown, to_decimal)

ONE = Fraction(1)

from ._shared import direction, memo  # noqa: F401  (one per-workbook memo for all families)



def framework_keys(fw) -> list[str]:
    """Normalized 三级指标 names of the framework, in order."""
    return fw.keys


def framework_row(fw, name):
    return fw.row(name)


# ---------------------------------------------------------------- numbers of cells

_NUMERIC_KINDS = ("number", "text", "fullwidth", "unit")


def cell_number(cell) -> float | None:
    """The number a cell holds, also when typed as text ("16", "１６", "9.91分"); None otherwise.

    Fuzzy text ("超过50场", "1000余人次") is no number: it cannot be compared exactly.
    """
    return None if cell is None else _cell_number(cell)


def cell_interval(cell) -> Interval | None:
    """Rounding interval of a cell's number (shown decimals), also for text-numbers."""
    return None if cell is None else _cell_interval(cell)


def exact(v) -> Decimal:
    """A typed number exactly as written (Decimal: sums of scores stay exact, 0.1 + 0.2 = 0.3)."""
    return to_decimal(v)


def fmt_num(v) -> str:
    """A number as a person writes it: 9.97, 100, 0.5 (no trailing zeros)."""
    if v is None:
        return ""
    d = round_shown(v, 6).normalize()
    s = format(d, "f")
    return s


def fmt_points(v) -> str:
    return fmt_num(v)


def fmt_interval(iv: Interval, decimals: int = 2, percent: bool = False) -> str:
    """An interval's midpoint shown like a reported value ("9.97", "99.74%")."""
    return format_shown(iv.mid, decimals, percent)


def fmt_rate(iv: Interval, decimals: int = 2) -> str:
    return format_shown(iv.mid, decimals, True)


# ---------------------------------------------------------------- budget

def budget_adjusted_interval(wb) -> Interval | None:
    """调整后预算数 over rounding intervals (consistency checks): 年初预算数 + 调整数 when both are
    numbers, else the cell's value."""
    s = formulas.relation("budget_adjusted", cell_interval(wb.names.get("budget_initial")),
                      cell_interval(wb.names.get("budget_adjustment")))
    return s if s is not None else cell_interval(wb.names.get("budget_adjusted"))


def budget_rate_interval(wb) -> Interval | None:
    """预算完成率 = 实际支出数 / 调整后预算数 over rounding intervals (None when not computable)."""
    return formulas.relation("budget_completion_rate", cell_interval(wb.names.get("spend_actual")),
                         budget_adjusted_interval(wb))


def budget_adjusted_face(wb) -> Fraction | None:
    """调整后预算数 at face value (thresholds): 年初预算数 + 调整数 as typed, a blank adjustment
    counting as none; the typed or cached 调整后预算数 only when 年初预算数 is not a number."""
    ini = face_value(wb.names.get("budget_initial"))
    adj_cell = wb.names.get("budget_adjustment")
    if ini is not None:
        adj = Fraction(0) if adj_cell is None or adj_cell.blank else face_value(adj_cell)
        return formulas.relation("budget_adjusted", ini, adj)
    return face_value(wb.names.get("budget_adjusted"))


def budget_rate_face(wb) -> Fraction | None:
    """预算完成率 at face value, as shown (0.00%): 实际支出数 / 调整后预算数."""
    rate = formulas.relation("budget_completion_rate", face_value(wb.names.get("spend_actual")), budget_adjusted_face(wb))
    return None if rate is None else Fraction(round_shown(rate, SHOWN_RATE_PLACES))


# ---------------------------------------------------------------- indicator completion rates

SHOWN_RATE_PLACES = 4   # a rate shown as 0.00% carries 4 decimal places as a fraction


@dataclass(frozen=True)
class Rate:
    """An indicator's 完成率 at face value (SPEC 3, thresholds): computed by the template's formula
    from 年度目标值 and 年度实现值 as typed; for 定性 rows (or inputs that are no numbers) the 完成率
    the filler typed. Compared as shown (0.00%), the same number Excel shows."""
    value: Fraction
    reported: bool        # True: taken from the row's 完成率 cell; False: computed from its inputs
    shown: Fraction       # value rounded as the 完成率 column shows it

    @classmethod
    def of(cls, value: Fraction, reported: bool) -> "Rate":
        return cls(value, reported, Fraction(round_shown(value, SHOWN_RATE_PLACES)))

    def text(self) -> str:
        return format_shown(self.value, 2, True)

    def below(self, bound: Fraction | int = 1) -> bool:
        return self.shown < bound

    def above(self, bound: Fraction | int) -> bool:
        return self.shown > bound

    def reaches(self, bound: Fraction | int = 1) -> bool:
        return not self.below(bound)


def indicator_rates(wb) -> list[Rate | None]:
    """indicator_rate of every row of the indicators table (in order), once per workbook."""
    t = wb.tables.get("indicators")
    return memo(wb, "indicator_rates", lambda: [indicator_rate(r) for r in t.rows] if t is not None else [])


def indicator_rate(row) -> Rate | None:
    """The indicator's 完成率 at face value: the template's formula over the typed target and actual
    (a cleared or overwritten 完成率 cell hides nothing), else the typed 完成率 (定性 rows)."""
    v = formulas.indicator_rate(direction(row.value("指标方向")), face_value(row.get("年度目标值")),
                            face_value(row.get("年度实现值")))
    if isinstance(v, Fraction):
        return Rate.of(v, False)
    c = row.get("完成率")
    rep = face_value(c)
    if rep is None:
        return None
    # a rate typed as a plain number above 2 is a percentage written without %
    if not c.percent and not (isinstance(c.value, str) and "%" in c.value) and rep > 2:
        rep /= 100
    return Rate.of(rep, True)


# ---------------------------------------------------------------- explanation quality

def explanation_problem(cell, words: dict, thresholds: dict) -> str | None:
    """"blank" | "placeholder" | "short" | None for an explanation cell."""
    if cell is None or cell.blank:
        return "blank"
    return text_problem(cell.value if isinstance(cell.value, str) else cell.text, words, thresholds)


def snippet(text, start: int = 0, length: int = 24) -> str:
    s = str(text)[start:start + length].replace("\n", " ").strip()
    return s + ("…" if start + length < len(str(text)) else "")


# ---------------------------------------------------------------- text scanning: stray years

_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*年")
_YEAR_LOOSE = re.compile(r"(?:19|20)\d\d")
_RANGE_BEFORE = re.compile(r"[—–\-~～至到]\s*$")
_RANGE_AFTER = re.compile(r"\s*年?\s*[—–\-~～至到]\s*(?:(?:19|20)\d{2}|\d{1,2}\s*月)")
_DATED = re.compile(r"\s*年\s*\d{1,2}\s*月")
_SINCE = re.compile(r"\s*年\s*(?:以来|以前|之前|起|至今|底|末|同期|上半年|下半年|相比|比|决算|预算)")
_AWARD_AFTER = re.compile(r"\s*年\s*度[^。；;！!？?\n，,]{0,30}?(?:奖|荣誉|称号|先进|四好|五好|评选|表彰|百强|强|示范|优秀|标兵|典型|案例)")
_QUOTED_BEFORE = re.compile(r"[“\"《「『][^”\"》」』]{0,20}$")
_AWARD_BEFORE = re.compile(r"(?:荣获|获评|获得|授予|评为|被评|入选|入围|获|评选|表彰)[^。；;！!？?\n，,]{0,12}$")
_HEADING = re.compile(r"(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、.．]|\d{1,2}[、.．](?!\d)|"
                      r"[一二三四五六七八九十]{1,2}是|其[一二三四五六七八九十])\s*$")
_BOUNDARY = "。；;！!？?\n：:"
_FUTURE = re.compile(r"将|计划|拟|力争|预计|争取|目标|继续|持续|进一步|要")
_TALKS_ABOUT_YEAR = re.compile(r"\s*年\s*(?:[，,]|度?\s*(?:各项|部门|我会|我部门|本部门|本会|全会|全年|单位|"
                               r"工作任务|重点工作|整体|预算执行|收支|绩效目标))")


_WINDOW = 64


def clause_start(text: str, pos: int) -> bool:
    """True when `pos` starts a sentence or clause: start of text, after 。；！？：\\n or a heading."""
    start = max(0, pos - _WINDOW)     # a window, not the whole prefix: linear in the text
    before = text[start:pos].rstrip(" \t\u3000")
    m = _HEADING.search(before)
    if m:
        before = before[:m.start()].rstrip(" \t\u3000")
    return (not before and start == 0) or (bool(before) and before[-1] in _BOUNDARY)


@dataclass(frozen=True)
class YearMention:
    year: int
    start: int
    end: int
    excerpt: str


def stray_years(text, eval_year: int) -> list[YearMention]:
    """Years other than the evaluated one where the text talks about the year it reports on.

    Flags "YYYY 年各项工作…", "YYYY年，…", "YYYY年部门…" and a year starting a sentence or clause;
    leaves alone ranges (2020—2021年度), award titles (荣获2021年度…“四好”商会), dated events
    (于2022年1月举行) and "YYYY年以来".
    """
    if not isinstance(text, str) or "年" not in text:
        return []
    # every year _YEAR finds is also found by this plain scan (its lookbehind rules out a digit just
    # before, so no earlier match can overlap it): most texts name only the evaluated year
    if set(_YEAR_LOOSE.findall(text)) <= {str(eval_year)}:
        return []
    if set(_YEAR.findall(text)) <= {str(eval_year)}:
        return []
    out = []
    for m in _YEAR.finditer(text):
        y = int(m.group(1))
        if y == eval_year:
            continue
        s, e = m.start(1), m.end(1)
        # the patterns look at a few characters around the year: windows keep this linear
        before, after = text[max(0, s - _WINDOW):s], text[e:e + _WINDOW]
        if _RANGE_BEFORE.search(before) or _RANGE_AFTER.match(after):
            continue
        if _DATED.match(after) or _SINCE.match(after):
            continue
        if _AWARD_AFTER.match(after) or _AWARD_BEFORE.search(before) or _QUOTED_BEFORE.search(before):
            continue
        if y > eval_year and _FUTURE.search(after[:40].split("。")[0]):
            continue   # plans for a later year (下一步：2025年将……)
        if not (_TALKS_ABOUT_YEAR.match(after) or clause_start(text, s)):
            continue
        out.append(YearMention(y, s, m.end(), snippet(text, s, 20)))
    return out


# ---------------------------------------------------------------- text scanning: amounts and rates

NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
_SCOPE_OUT = re.compile(r"项目|上年|去年|同期|上一年|往年")
_SUBSET = re.compile(r"一般公共预算|政府性基金|国有资本|基本支出|项目支出|其他资金|三公|公用经费|人员经费|专项|财政拨款")
_CHANGE_BEFORE = re.compile(r"(?:追加|调增|调减|增加|减少|调整|压减|结余|结转)\s*$")
def _to_number(s: str) -> tuple[float, int]:
    s = s.replace(",", "")
    return float(s), (len(s.split(".")[1]) if "." in s else 0)


@dataclass(frozen=True)
class Stated:
    kind: str            # "budget_initial" | "budget_adjusted" | "spend_actual" | "rate"
    label: str           # the words as written (预算数, 执行率 …)
    text: str            # the number as written (5529.51, 99.7%)
    interval: Interval
    start: int


def _clause_before(sentence: str, pos: int) -> str:
    head = sentence[:pos]
    i = max(head.rfind("，"), head.rfind(","))
    return head[i + 1:]


_KW_AMOUNT = re.compile(
    r"(?P<kw>年初预算(?:数|收入)?|调整后(?:的)?预算(?:数|收入)?|调整预算(?:数|收入)|(?:全年|年度|部门)?预算(?:数|收入|总额)|总预算|"
    r"(?:实际)?支出数|实际支出|执行数|决算收入|决算支出)"
    r"\s*(?:为|是|达|达到|共计|合计|：|:)?\s*" + NUM + r"\s*$")
_KW_RATE = re.compile(
    r"(?P<kw>(?:预算)?(?:执行率|完成率|支出率)|完成(?:了)?(?:当年|全年|年度)?(?:部门)?预算的?)"
    r"\s*(?:为|是|达|达到|：|:)?\s*" + NUM + r"\s*$")


def _anchored(norm: str, anchor: str, pattern):
    """Matches of `pattern` (ending at `anchor`, e.g. 万元 or %) found by looking back from each anchor."""
    i = norm.find(anchor)
    while i >= 0:
        lo = max(0, i - 40)
        m = pattern.search(norm, lo, i)
        if m:
            yield m
        i = norm.find(anchor, i + 1)


def _sentence_head(norm: str, pos: int) -> str:
    """The part of the sentence holding `pos` that lies before it."""
    i = max(norm.rfind("。", 0, pos), norm.rfind("；", 0, pos), norm.rfind(";", 0, pos),
            norm.rfind("！", 0, pos), norm.rfind("!", 0, pos), norm.rfind("？", 0, pos),
            norm.rfind("?", 0, pos), norm.rfind("\n", 0, pos))   # unrolled: no generator per call
    return norm[i + 1:pos]


def stated_figures(text) -> list[Stated]:
    """Budget, spending and completion-rate figures a text states about the whole department.

    Sentences about a project (项目) or the previous year are left out, and so are figures of one
    fund source or one kind of spending (一般公共预算…, 基本支出…): they are not the tables' totals.
    """
    if not isinstance(text, str) or ("万元" not in text and "%" not in text and "％" not in text):
        return []
    norm = fold(text)
    out: list[Stated] = []
    for m in _anchored(norm, "万元", _KW_AMOUNT):
        head = _sentence_head(norm, m.start())
        kw = m.group("kw")
        if _SCOPE_OUT.search(head) or _SUBSET.search(_clause_before(head, len(head)) + kw):
            continue
        if _CHANGE_BEFORE.search(head):
            continue   # 追加预算数 16.50 万元: an adjustment, not the budget
        kind = ("budget_initial" if kw.startswith("年初") else
                "budget_adjusted" if "预算" in kw else "spend_actual")
        v, d = _to_number(m.group(2))
        out.append(Stated(kind, kw, m.group(2), Interval.shown(v, d), m.start()))
    for m in _anchored(norm, "%", _KW_RATE):
        head = _sentence_head(norm, m.start())
        kw = m.group("kw")
        if _SCOPE_OUT.search(head) or _SUBSET.search(_clause_before(head, len(head)) + kw):
            continue
        if "预算" not in kw and "预算" not in head:
            continue   # 完成率 of an indicator, not of the budget
        v, d = _to_number(m.group(2))
        out.append(Stated("rate", kw, m.group(2) + "%", Interval.shown(v / 100, d, True), m.start()))
    out.sort(key=lambda st: st.start)
    return out


# ---------------------------------------------------------------- text scanning: stated scores

_SCORE = re.compile(
    r"(?P<kw>自评总分|总得分|总分|自评得分|自评分|得分)\s*(?:为|是|达|达到|：|:)?\s*" + NUM
    + r"(?![\d.])(?!\s*[%％])\s*(?P<unit>分)?")
_TOTAL_WORDS = re.compile(r"部门整体|整体支出|总")


@dataclass(frozen=True)
class StatedScore:
    target: str | None   # None: the total; else the 一级 / 二级 / 三级 name it is stated for
    level: int           # 0 total, 1, 2, 3
    text: str
    interval: Interval
    start: int


def stated_scores(text, names: dict[str, tuple[int, str]]) -> list[StatedScore]:
    """Scores a text states: the total, and subtotals of named 一级/二级/三级 items.

    `names` maps a normalized item name to (level, name). A score belongs to the item named last
    before it in its own or the previous comma clause ("其中履职效能分值为 50 分，自评得分 50 分"
    → 履职效能); a score with no item named there, or said of 部门整体/总分, is the total.
    """
    if not isinstance(text, str) or "分" not in text:
        return []
    norm = fold(text)
    out = []
    for sm in _SENTENCE.finditer(norm):
        sent = sm.group(0)
        for m in _SCORE.finditer(sent):
            kw = m.group("kw")
            if kw == "得分" and not m.group("unit") and "." not in m.group(2):
                continue   # a bare "得分 20" without 分 is too loose; "得分 95.91" is a score
            head = sent[:m.start()]
            cut = [i for i, ch in enumerate(head) if ch in "，,"]
            head = head[cut[-2] + 1:] if len(cut) >= 2 else head
            key_head = normalize_name(head)
            best, best_end = None, -1
            for key, (level, name) in names.items():
                p = key_head.rfind(key)
                if p >= 0 and (p + len(key) > best_end or (p + len(key) == best_end and level > best[0])):
                    best, best_end = (level, name), p + len(key)
            v, d = _to_number(m.group(2))
            iv = Interval.shown(v, d)
            if best is not None and not _TOTAL_WORDS.search(kw + key_head[best_end:]):
                out.append(StatedScore(best[1], best[0], m.group(2), iv, sm.start() + m.start()))
            else:
                out.append(StatedScore(None, 0, m.group(2), iv, sm.start() + m.start()))
    return out
