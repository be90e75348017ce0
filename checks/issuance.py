"""Issuance (STR020+): a copy issued for one department and year comes back under another.

`xlcheck template --department … --year …` (or `--from-list`) records in every copy the
department and year it was issued for (defined names issued_dept / issued_year on 填报说明, shown
as “本表下发给”). A district that copies its neighbour's file, or reuses last year's, and retypes
the name or year (after lifting the sheet protection) is caught here. The blank template and
workbooks made before issuance existed have no issued names, or blank ones: nothing to say.
"""
from __future__ import annotations

import re
import unicodedata

from xlcheck.rules import rule

from ._shared import clean_text, number


def _key(name) -> str:
    """A department name as compared: full-width/half-width and spaces do not matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", clean_text(name)))


def _year(cell):
    v = number(cell)
    return int(v) if v is not None and float(v).is_integer() else None


@rule("STR020", needs=("issued_dept", "dept_name"))
def issued_department(wb, ctx):
    """工作簿是下发给另一个部门的（部门名称与下发时的部门不一致）。

    财政部门下发的每份工作簿都在“填报说明”中写明“本表下发给”哪个部门，部门名称预填并锁定。
    部门名称与之不同，通常是复制了其他部门的文件后改了名称：工作簿中可能还留着对方的数据。
    请使用下发给本部门的工作簿（向财政部门索取），把数据复制过去后重新校验。

    示例：本表下发给“广州市天河区工商业联合会”，部门名称却填写为“广州市白云区工商业联合会”，
    报“本工作簿下发给“广州市天河区工商业联合会”，部门名称却填写为“广州市白云区工商业联合会””。
    """
    issued = clean_text(wb.names["issued_dept"].value)
    cell = wb.names["dept_name"]
    have = clean_text(cell.value)
    if not issued or not have or _key(issued) == _key(have):
        return   # blank template, or dept_name left blank (VAL reports a missing name)
    yield ctx.report(cell, value=have, expected=issued, issued=issued, dept=have)


@rule("STR021", needs=("issued_year", "eval_year"))
def issued_year(wb, ctx):
    """工作簿是为另一个年度下发的（被评价年度与下发时的年度不一致）。

    下发的工作簿预填并锁定了被评价年度。年度不同，通常是沿用了上一年度的文件：
    模板版本、评分框架可能已经变化，上年的数据也可能留在表中。
    请向财政部门索取本年度的工作簿，把数据复制过去后重新校验。

    示例：本表为 2023 年度下发，被评价年度却填写为 2024，报“本工作簿为 2023 年度自评下发，
    被评价年度却填写为 2024”。
    """
    issued = _year(wb.names["issued_year"])
    cell = wb.names["eval_year"]
    have = _year(cell)
    if issued is None or have is None or issued == have:
        return   # blank template, or a year that is no year (VAL reports it)
    dept = clean_text(wb.value("issued_dept")) or clean_text(wb.value("dept_name")) or "本部门"
    yield ctx.report(cell, value=have, expected=issued, issued=issued, year=have, dept=dept)
