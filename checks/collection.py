"""Collection (COL): rules over all files of one run (a folder of returned workbooks)."""
from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

from xlcheck.rules import rule


def _dept_key(name) -> str:
    s = unicodedata.normalize("NFKC", str(name or ""))
    return "".join(s.split())


def _readable(res) -> bool:
    return res.status != "unreadable"


@rule("COL001", scope="collection")
def duplicate_department(results, ctx):
    """同一部门、同一年度只应报送一份工作簿；收到两份以上时须确认以哪一份为准（其余多为旧版本）。

    示例：文件夹中“黄埔区工商联-2022.xlsx”和“黄埔区工商联-2022（修改）.xlsx”都是广州市黄埔区工商业联合会
    2022 年度的自评表。
    """
    groups: dict[tuple[str, int], list[int]] = {}
    for i, res in enumerate(results):
        if _readable(res) and res.department and res.year is not None:
            groups.setdefault((_dept_key(res.department), res.year), []).append(i)
    for (_, year), idx in groups.items():
        if len(idx) < 2:
            continue
        names = {j: Path(results[j].path).name for j in idx}   # once per group, not per pair
        for i in idx:
            others = [names[j] for j in idx if j != i]
            yield i, ctx.report(None, value=results[i].department, expected="每个部门每年一份",
                                field="dept_name", dept=results[i].department, year=year,
                                count=len(idx), others="、".join(others))


@rule("COL002", scope="collection")
def mixed_years(results, ctx):
    """一次审核的文件应属于同一被评价年度；与多数文件年度不同的文件多半是报错了文件或沿用了旧表。

    示例：本批 12 份工作簿中 11 份为 2022 年度，“花都区工商联.xlsx”为 2021 年度。
    """
    years = [(i, r.year) for i, r in enumerate(results) if _readable(r) and r.year is not None]
    count = Counter(y for _, y in years)
    if len(count) < 2:
        return
    ranked = count.most_common()
    top, n = ranked[0]
    dist = "、".join(f"{y} 年 {c} 份" for y, c in sorted(count.items()))
    if len(ranked) > 1 and ranked[1][1] == n:
        # no majority: tell every file how the years are spread
        for i, y in years:
            yield i, ctx.report(None, value=str(y), expected="", field="eval_year", year=y, dist=dist,
                                message=f"本批文件的被评价年度不一致（{dist}），本文件为 {y} 年度，请确认")
        return
    for i, y in years:
        if y != top:
            yield i, ctx.report(None, value=str(y), expected=str(top), field="eval_year", year=y,
                                majority=top, dist=dist, total=len(years))
