"""Points (PTS): the scoring table against the framework in force, the scores and the total."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from xlcheck import formulas
from xlcheck.formulas import face_value
from xlcheck.framework import normalize_name
from xlcheck.numbers import Interval, format_amount, format_rate, format_shown, parse_number
from xlcheck.rules import rule

from ._scores import ScoreRow, alignment, header_cell, points_of, stripped, matched_rows, score_rows
from ._text import (ONE, budget_adjusted_face, budget_adjusted_interval, cell_interval, cell_number, exact,
                    fmt_num, framework_row, indicator_rates, memo, stated_scores)


@rule("PTS001", needs=("scores.三级指标",))
def missing_rows(wb, ctx):
    """评分表须包含评分框架的每一个三级指标；缺少的行无法评分，总分也就不完整。

    示例：评分表中没有“采购政策效能”（1 分）一行，报“评分表缺少三级指标‘采购政策效能’”。
    """
    fw = ctx.framework
    rows, ops = alignment(wb, fw)
    present = {sr.key for sr in rows}
    sheet, cell = header_cell(wb, "scores", "三级指标")
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        fr_missing = list(fw.rows[i1:i2])
        if tag == "replace":
            fr_missing = fr_missing[j2 - j1:]     # the first ones pair with renamed rows (PTS002)
        for fr in fr_missing:
            if normalize_name(fr.name) in present:
                continue   # only moved
            yield ctx.report(None, value="", expected=fr.name, sheet=sheet, cell=cell,
                             field="scores.三级指标", name=fr.name, points=fmt_num(fr.points),
                             level1=fr.level1, level2=fr.level2)


@rule("PTS002", needs=("scores.三级指标",))
def unknown_rows(wb, ctx):
    """评分表中的三级指标须与评分框架一致：不得改名、删去名称或增加框架以外的行。

    示例：合并单元格使“采购意向公开合规性（及时性）”一行的名称变为空白，或改写为“采购意向公开”，
    报“第 13 行三级指标为‘（空白）’，评分框架此处为‘采购意向公开合规性（及时性）’”。
    """
    fw = ctx.framework
    rows, ops = alignment(wb, fw)
    known = {normalize_name(fr.name) for fr in fw.rows}
    seen = set()
    for tag, i1, i2, j1, j2 in ops:
        if tag in ("equal", "delete"):
            continue
        for k, sr in enumerate(rows[j1:j2]):
            if sr.key in known and sr.key not in seen:
                seen.add(sr.key)
                continue   # a framework row, only out of place
            cell = sr.row.get("三级指标")
            written = sr.name or "（空白）"
            if sr.key in seen:
                yield ctx.report(cell, value=sr.name, expected="", index=sr.row.index, name=written,
                                 message=f"第 {sr.row.index} 行三级指标“{written}”重复出现")
                continue
            fr = fw.rows[i1 + k] if tag == "replace" and i1 + k < i2 else None
            if fr is not None and normalize_name(fr.name) not in {r.key for r in rows}:
                yield ctx.report(cell, value=sr.name, expected=fr.name, index=sr.row.index,
                                 name=written, framework=fr.name)
            else:
                yield ctx.report(cell, value=sr.name, expected="", index=sr.row.index, name=written,
                                 message=f"第 {sr.row.index} 行三级指标“{written}”不在评分框架中，"
                                         f"请删除该行或改回框架中的指标")


def _same(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) < 1e-9


@rule("PTS003", needs=("scores.三级指标", "scores.分值"))
def weights(wb, ctx):
    """评分表每一行的一级/二级指标及其分值、三级指标分值须与评分框架一致（预置内容不得改动）。

    示例：“结转结余率”分值改为 3 分，评分框架为 2 分；或“绩效管理”二级分值写成 12 分，框架为 15 分。
    """
    fw = ctx.framework
    for fname, sr in matched_rows(wb, fw).items():
        fr = framework_row(fw, fname)
        cells = sr.row.cells
        for header, want in (("分值", fr.points), ("二级分值", fr.level2_points), ("一级分值", fr.level1_points)):
            c = cells.get(header)
            if c is None:
                continue
            if header != "分值" and c.blank:
                continue   # parent weights may be written once per group
            v = sr.points if header == "分值" else cell_number(c)
            if not _same(v, want):
                yield ctx.report(c, expected=fmt_num(want), name=sr.name, what=header,
                                 found=c.text or "（空白）", want=fmt_num(want))
        for header, want in (("一级指标", fr.level1), ("二级指标", fr.level2)):
            c = cells.get(header)
            if c is None or c.blank:
                continue
            if c.value != want and normalize_name(c.value) != normalize_name(want):
                yield ctx.report(c, expected=want, name=sr.name, what=header, found=c.text, want=want)


@rule("PTS004", needs=("scores.自评得分", "scores.分值"))
def score_range(wb, ctx):
    """每项自评得分须为数值，且在 0 与该项分值之间。

    示例：分值 2 分的“结转结余率”填报得分 2.5，超出分值；得分 -1 同样报出。
    """
    fw = ctx.framework
    for sr in score_rows(wb):
        c = sr.score_cell
        if sr.score is None:
            continue
        pts = points_of(sr, fw)
        if pts is None:
            continue
        if sr.score < 0 or sr.score > pts + 1e-9:
            yield ctx.report(c, expected=f"0～{fmt_num(pts)}", name=sr.name or f"第 {sr.row.index} 行",
                             points=fmt_num(pts))


@rule("PTS005", needs=("scores.自评得分",))
def score_missing(wb, ctx):
    """每项三级指标都须填写自评得分（数值）；空白表示尚未评分，总分与等级也就无从确定。

    示例：“资产盘点情况”自评得分为空白，或填写“满分”“不适用”等非数值内容（带单位的“1分”、
    模糊的“约16”、错误值由数值规则 VAL003–VAL007 报告）。
    """
    for sr in score_rows(wb):
        c = sr.score_cell
        if c is None or not sr.name and c.blank:
            continue
        name = sr.name or f"第 {sr.row.index} 行"
        if c.blank:
            yield ctx.report(c, value="", expected="0～" + fmt_num(sr.points) if sr.points is not None else "",
                             name=name, message=f"“{name}”未填写自评得分")
        elif sr.score is None and not c.is_error and parse_number(c.value).kind != "fuzzy":
            # error values (VAL007) and fuzzy numbers such as “约16”（VAL006）are reported there
            yield ctx.report(c, expected="数值", name=name)


@rule("PTS006", needs=("scores.分值", "scores.二级分值", "scores.一级分值"))
def weight_sums(wb, ctx):
    """评分表内分值须自洽：三级分值之和等于所属二级分值，二级分值之和等于所属一级分值，一级分值合计 100 分。

    示例：“预算执行”二级分值 4 分，其下“结转结余率”2 分、“财务管理合规性”3 分，合计 5 分。
    """
    rows = score_rows(wb)
    if not rows:
        return
    l2: dict[tuple[str, str], list[ScoreRow]] = {}
    for sr in rows:
        l2.setdefault((sr.level1, sr.level2), []).append(sr)
    l1_parts: dict[str, list[tuple[str, float | None]]] = {}
    l1_cell: dict[str, object] = {}
    for (a, b), group in l2.items():
        head = next((g.row.get("二级分值") for g in group if not g.row.get("二级分值").blank), None)
        want = cell_number(head) if head is not None else None
        l1_parts.setdefault(a, []).append((b, want))
        pts = [g.points for g in group]
        if want is None or any(p is None for p in pts):
            continue
        total = sum(exact(p) for p in pts)
        if total != exact(want):
            yield ctx.report(head, expected=fmt_num(total), what="二级指标", name=b or "（空白）",
                             parent=fmt_num(want), total=fmt_num(total),
                             parts="、".join(f"{g.name or '（空白）'} {fmt_num(g.points)}" for g in group))
    for sr in rows:
        c = sr.row.get("一级分值")
        if sr.level1 not in l1_cell and c is not None and not c.blank:
            l1_cell[sr.level1] = c
    grand = Decimal(0)
    grand_ok = True
    for a, parts in l1_parts.items():
        head = l1_cell.get(a)
        want = cell_number(head) if head is not None else None
        if want is None:
            grand_ok = False
            continue
        grand += exact(want)
        if any(p is None for _, p in parts):
            continue
        total = sum(exact(p) for _, p in parts)
        if total != exact(want):
            yield ctx.report(head, expected=fmt_num(total), what="一级指标", name=a or "（空白）",
                             parent=fmt_num(want), total=fmt_num(total),
                             parts="、".join(f"{b or '（空白）'} {fmt_num(p)}" for b, p in parts))
    if grand_ok and l1_cell and grand != 100:
        first = next(iter(l1_cell.values()))
        yield ctx.report(first, value=fmt_num(grand), expected="100",
                         message=f"一级指标分值合计为 {fmt_num(grand)} 分（"
                                 + "、".join(f"{a} {cell_number(c) if cell_number(c) is None else fmt_num(cell_number(c))}"
                                            for a, c in l1_cell.items())
                                 + "），应为 100 分")


def _score_sum(wb) -> tuple[Decimal, int] | None:
    """Exact Σ 自评得分 of the numeric scores and how many there are (None: no score at all)."""
    return memo(wb, "pts.score_sum", lambda: _score_sum_of(wb))   # four rules need it


def _score_sum_of(wb) -> tuple[Decimal, int] | None:
    vals = [sr.score for sr in score_rows(wb) if sr.score is not None]
    if not vals:
        return None
    return sum(exact(v) for v in vals), len(vals)


@rule("PTS007", needs=("score_total", "scores.自评得分"))
def score_total(wb, ctx):
    """自评总分须等于各项自评得分之和（按显示位数判断，总分公式被改写为常数时同样核对）。

    示例：各项得分合计 95.91 分，总分单元格显示 96.91。
    """
    c = wb.names["score_total"]
    got = cell_interval(c)
    s = _score_sum(wb)
    if got is None or s is None:
        return
    total, _ = s
    if not got.contains(total):
        yield ctx.report(c, expected=fmt_num(total), total=fmt_num(total))


@rule("PTS008", needs=("grade", "scores.自评得分"))
def grade(wb, ctx):
    """评价等级须与自评总分（各项得分之和）所在的等级区间一致。

    示例：自评总分 89.5 分属“良”（80 分≤得分<90 分），等级却填为“优”。
    """
    c = wb.names["grade"]
    s = _score_sum(wb)
    if s is None:
        return
    total = float(s[0])
    want = ctx.framework.grade_for(total)
    got = "" if c.value is None else str(c.value).strip()
    if not got and c.formula:
        return   # formula not yet calculated: nothing shown to disagree with
    if got != want:
        band = next((g.note for g in ctx.framework.grades if g.name == want), "")
        yield ctx.report(c, value=got, expected=want, total=fmt_num(s[0]), want=want,
                         band=f"（{band}）" if band else "", found=got or "（空白）")


SPEND_RATE_ROW = "部门预算资金支出率"


@rule("PTS009", needs=("scores.自评得分", "spend_actual"))
def spend_rate_score(wb, ctx):
    """“部门预算资金支出率”的得分按评分标准计算：分值 × min(支出率, 100%)，
    支出率 = 实际支出数 / 调整后预算数。按各数的显示位数判断是否相符。

    示例：实际支出 1288.38 万元、调整后预算 1291.73 万元，支出率 99.74%，10 分 × 99.74% = 9.97 分，
    填报得分 9.91 分。
    """
    fw = ctx.framework
    fr = framework_row(fw, SPEND_RATE_ROW)
    if fr is None:
        return
    sr = matched_rows(wb, fw).get(fr.name)
    if sr is None or sr.score is None:
        return
    spend = cell_interval(wb.names["spend_actual"])
    adj = budget_adjusted_interval(wb)
    if spend is None or adj is None:
        return
    rate = spend / adj
    if rate is None:
        return
    pts = points_of(sr, fw)
    expected = rate.clamp_max(ONE) * Interval.exact(pts)
    got = cell_interval(sr.score_cell)
    if got is None or got.intersects(expected):
        return
    # the message shows the figures as typed, as Excel shows them
    adj_face = budget_adjusted_face(wb)
    rate_face = formulas.relation("budget_completion_rate", face_value(wb.names["spend_actual"]), adj_face)
    if rate_face is None:
        return
    used = min(rate_face, ONE)
    decimals = max(2, sr.score_cell.decimals or 0)
    want = format_shown(used * Fraction(str(pts)), decimals)
    yield ctx.report(sr.score_cell, expected=want, name=sr.name, points=fmt_num(pts),
                     spend=wb.names["spend_actual"].text, adjusted=format_amount(adj_face),
                     rate=format_rate(rate_face), used=format_rate(used), want=want)


KINDS = ("产出指标", "效益指标", "满意度指标")


def _rate_text(r, rt) -> str:
    c = r.get("完成率")
    return c.text if rt.reported and c is not None else rt.text()


def _kind_of(name: str) -> str | None:
    for k in KINDS:
        if k in name:
            return k
    return None


@rule("PTS010", needs=("scores.自评得分", "indicators.一级指标"))
def indicator_scores(wb, ctx):
    """“部门整体绩效目标产出指标完成情况”“…效益指标完成情况”的得分须与绩效指标表相符：
    有该类指标完成率低于 100% 时不应得满分；该类指标全部完成时不应扣分（扣分须另有理由，请说明）。

    示例：效益指标“乡村振兴产业对接成功案例”完成率 0%，效益指标得分却为满分 20 分；
    或产出指标全部完成（完成率均 ≥100%），产出指标得分只有 18 分。
    """
    fw = ctx.framework
    ind = wb.tables["indicators"]
    by_kind: dict[str, list[tuple[object, object]]] = {}
    for r, rate in zip(ind.rows, indicator_rates(wb)):
        k = stripped(r.value("一级指标"))
        if k:
            by_kind.setdefault(k, []).append((r, rate))
    for fname, sr in matched_rows(wb, fw).items():
        kind = _kind_of(fname)
        if kind is None or sr.score is None or kind not in by_kind:
            continue
        pts = points_of(sr, fw)
        if pts is None:
            continue
        items = by_kind[kind]
        below = [(r, rt) for r, rt in items if rt is not None and rt.below()]
        if below and sr.score >= pts - 1e-9:
            names = "、".join(f"“{stripped(r.value('三级指标')) or '第 %d 行' % r.index}”完成率 {_rate_text(r, rt)}"
                              for r, rt in below[:3])
            more = f"等 {len(below)} 项" if len(below) > 3 else ""
            yield ctx.report(sr.score_cell, expected=f"低于 {fmt_num(pts)}", name=sr.name, kind=kind,
                             points=fmt_num(pts),
                             message=f"{kind}{names}{more}，低于 100%，“{sr.name}”却得满分 {fmt_num(pts)} 分")
        elif (not below and all(rt is not None and rt.reaches() for _, rt in items)
              and sr.score < pts - 1e-9):
            yield ctx.report(sr.score_cell, expected=fmt_num(pts), name=sr.name, kind=kind,
                             points=fmt_num(pts),
                             message=f"{kind}共 {len(items)} 项全部完成（完成率均达到 100%），“{sr.name}”"
                                     f"却扣 {fmt_num(exact(pts) - exact(sr.score))} 分（得 {sr.row.get('自评得分').text} 分）")


# ---------------------------------------------------------------- the conclusion's stated scores

CONCLUSION_FIELDS = ("text_conclusion",)


def _item_names(ctx) -> dict[str, tuple[int, str]]:
    """Names of every item of the framework (once per rule set)."""
    d = ctx.checks.derived
    if "item_names" not in d:
        d["item_names"] = _build_item_names(ctx.framework)
    return d["item_names"]


def _build_item_names(fw) -> dict[str, tuple[int, str]]:
    names: dict[str, tuple[int, str]] = {}
    for a, _ in fw.level1:
        names[normalize_name(a)] = (1, a)
    for _, b, _ in fw.level2:
        names.setdefault(normalize_name(b), (2, b))
    for fr in fw.rows:
        names.setdefault(normalize_name(fr.name), (3, fr.name))
    return names


def _table_sums(wb, fw) -> dict[tuple[int, str], tuple[Decimal, bool]]:
    """(level, name) → (Σ 自评得分 of that item in the table, complete: every row scored)."""
    out: dict[tuple[int, str], list] = {}
    rows = score_rows(wb)
    for sr in rows:
        fr = framework_row(fw, sr.name) if sr.name else None
        keys = [(1, fr.level1 if fr else sr.level1), (2, fr.level2 if fr else sr.level2)]
        if fr is not None:
            keys.append((3, fr.name))
        e = None if sr.score is None else exact(sr.score)
        for k in keys:
            acc = out.setdefault(k, [Decimal(0), True])
            if e is None:
                acc[1] = False
            else:
                acc[0] += e
    return {k: (v[0], v[1]) for k, v in out.items()}


@rule("PTS011", needs=("scores.自评得分", "text_conclusion"))
def conclusion_total(wb, ctx):
    """自评结论中写明的总分（以及“履职效能…自评得分 50 分”这类一级、二级小计）须与评分表一致。

    示例：自评结论写“部门整体支出绩效自评分为 99.5 分”，评分表各项得分合计 100 分；
    或写“履职效能分值为 50 分，自评得分 50 分”，评分表履职效能三项合计 45.91 分。
    """
    fw = ctx.framework
    s = _score_sum(wb)
    if s is None:
        return
    total, _ = s
    sums = None   # built when a subtotal is stated (most conclusions state only the total)
    names = _item_names(ctx)
    for field in CONCLUSION_FIELDS:
        c = wb.names.get(field)
        if c is None or not isinstance(c.value, str):
            continue
        bad = []
        for st in stated_scores(c.value, names):
            if st.target is None:
                want, complete, label = total, True, "评分表各项得分合计"
            else:
                if sums is None:
                    sums = _table_sums(wb, fw)
                want, complete = sums.get((st.level, st.target), (None, False))
                label = f"评分表“{st.target}”得分合计" if st.level < 3 else f"评分表“{st.target}”得分"
            if want is None or not complete:
                continue
            if not st.interval.contains(want):
                what = "总分" if st.target is None else f"“{st.target}”得分"
                bad.append((what, st.text, label, fmt_num(want)))
        if bad:
            what, stated, label, want = bad[0]
            msg = "；".join(f"自评结论写明{w} {s_} 分，{lb}为 {wn} 分" for w, s_, lb, wn in bad)
            yield ctx.report(c, value=stated, expected=want, what=what, stated=stated, total=want,
                             message=msg)


_GRADE = re.compile(r"(?:评价等级|自评等级|绩效等级|评价结果|等级)\s*(?:为|是|：|:|评定为|确定为|达到)?\s*[“\"「]?"
                    r"(优秀|良好|中等|优|良|中|差)")
_GRADE_ALIASES = {"优秀": "优", "良好": "良", "中等": "中"}


@rule("PTS012", needs=("scores.自评得分", "text_conclusion"))
def conclusion_grade(wb, ctx):
    """自评结论中写明的评价等级须与评分表各项得分合计所在的等级一致。

    示例：各项得分合计 89.5 分（良：80 分≤得分<90 分），自评结论却写“评价等级为优”。
    """
    s = _score_sum(wb)
    c = wb.names["text_conclusion"]
    if s is None or not isinstance(c.value, str) or "等级" not in c.value and "评价结果" not in c.value:
        return
    want = ctx.framework.grade_for(float(s[0]))
    names = {g.name for g in ctx.framework.grades}
    for m in _GRADE.finditer(c.value):
        said = _GRADE_ALIASES.get(m.group(1), m.group(1))
        if said in names and said != want:
            band = next((g.note for g in ctx.framework.grades if g.name == want), "")
            yield ctx.report(c, value=said, expected=want, said=said, want=want, total=fmt_num(s[0]),
                             band=f"（{band}）" if band else "")
            return
