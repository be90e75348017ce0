"""The bureau's summary workbook (汇总.xlsx) of a folder run: one row per file (汇总), the charts on
a sheet of their own that prints on one page (图表), every finding (问题明细)."""
from __future__ import annotations

import io
import math
from copy import copy
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.hyperlink import Hyperlink

from . import __version__
from .atomic import write_atomic
from .output import SUMMARY_KEYWORD
from .findings import SEVERITY_LABELS
from .results import display_path
from .review import (C_ERROR, C_EXPLAINED, C_INFO, C_WARNING, STATE_DONE, STATE_EXPLAIN, STATE_FIX,
                     text_width)

STATUS_LABELS = {"pass": "通过", "fail": "未通过", "unreadable": "无法读取"}
SUMMARY_HEADERS = ("文件", "部门", "年度", "审核结论", "自评得分", "评价等级", "错误", "警告", "提示", "主要问题")
DETAIL_HEADERS = ("文件", "部门", "年度", "序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值",
                  "计算值或期望值", "填报单位说明", "状态")
TOP_PROBLEMS = 3

FONT = "宋体"
_thin = Side(style="thin", color="BFBFBF")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEADER_FILL = PatternFill("solid", fgColor="BDD7EE")
F_BODY = Font(name=FONT, size=11)
F_HEAD = Font(name=FONT, size=11, bold=True)
F_TITLE = Font(name=FONT, size=14, bold=True)
F_NOTE = Font(name=FONT, size=10, color="595959")
F_LINK = Font(name=FONT, size=11, color="0563C1", underline="single")
TOP = Alignment(vertical="top", wrap_text=True)
TOP_CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
FILLS = {k: PatternFill("solid", fgColor=v) for k, v in
         {"error": C_ERROR, "warning": C_WARNING, "info": C_INFO, "explained": C_EXPLAINED}.items()}
LINE = 16.0      # points per wrapped line: CJK fonts (宋体 in Excel, Noto CJK in LibreOffice) run tall


class _Looks:
    """Style each distinct look once, then copy its style array: assigning Font/Border/Fill objects
    cell by cell costs openpyxl a hash of each object, far too slow for 10,000s of finding rows."""

    def __init__(self):
        self._cache: dict[tuple, object] = {}

    def apply(self, cell, key: tuple, **attrs) -> None:
        st = self._cache.get(key)
        if st is not None:
            cell._style = copy(st)
            return
        for k, v in attrs.items():
            setattr(cell, k, v)
        self._cache[key] = copy(cell._style)


def _cell_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def top_problems(result, n: int = TOP_PROBLEMS) -> str:
    """The first `n` messages that block 通过 (errors, unexplained warnings), then the others."""
    blocking = [f for f in result.findings if f.blocking]
    rest = [f for f in result.findings if not f.blocking and f.severity != "info"]
    chosen = (blocking + rest)[:n]
    return "\n".join(f"{i}. {f.message}" for i, f in enumerate(chosen, 1))


def _lines(text: str, width: float) -> int:
    """Wrapped lines of `text` in a column `width` wide, by the same measure as _fit_columns (a text
    whose width + 2 fits the column is one line: a name that set the column's width never wraps)."""
    usable = max(width - 2, 1)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in str(text).split("\n"))


def _fit_columns(ws, widths: dict[int, tuple[float, float]], first_row: int) -> dict[int, float]:
    """Column widths from content (≈2 units per CJK character), clamped per column."""
    from openpyxl.utils import get_column_letter
    best: dict[int, float] = {}
    for row in ws.iter_rows(min_row=first_row):
        for c in row:
            if c.value is None:
                continue
            w = max(text_width(x) for x in str(c.value).split("\n")) + 2
            best[c.column] = max(best.get(c.column, 0), w)
    out = {}
    for col, (lo, hi) in widths.items():
        w = min(max(best.get(col, lo), lo), hi)
        ws.column_dimensions[get_column_letter(col)].width = w
        out[col] = w
    return out


def _header(ws, row: int, headers) -> None:
    for c, h in enumerate(headers, 1):
        cell = ws.cell(row, c, h)
        cell.font, cell.fill, cell.border, cell.alignment = F_HEAD, HEADER_FILL, BORDER, TOP_CENTER


def _page(ws, title_rows: str) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    # the footer sits 0.25" from the edge inside a 0.75" margin: room for a whole line
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.75
    ws.page_margins.header, ws.page_margins.footer = 0.3, 0.25
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def build_summary(results, *, links: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                  now: datetime | None = None) -> Workbook:
    """The summary as an openpyxl Workbook.

    `links`: result.path -> hyperlink target (relative to the summary's folder) of the annotated copy
    (or of the input when there is none); `labels`: result.path -> the name shown in 文件.
    """
    now = now or datetime.now()
    links = links or {}
    labels = labels or {}
    wb = Workbook()
    wb.properties.creator = "xlcheck"
    wb.properties.title = "部门整体支出绩效自评审核汇总"
    wb.properties.keywords = SUMMARY_KEYWORD
    wb.properties.description = f"xlcheck {__version__}"
    ws = wb.active
    ws.title = "汇总"
    n = len(results)
    npass = sum(r.status == "pass" for r in results)
    nbad = sum(r.status == "unreadable" for r in results)
    ws["A1"] = "部门整体支出绩效自评审核汇总"
    ws["A1"].font = F_TITLE
    ws["A2"] = (f"审核时间 {now:%Y-%m-%d %H:%M}　xlcheck {__version__}　共 {n} 个文件：通过 {npass}，"
                f"未通过 {n - npass - nbad}，无法读取 {nbad}。点击文件名打开带“审核结果”表的批注副本。")
    ws["A2"].font = F_NOTE
    head = 3
    _header(ws, head, SUMMARY_HEADERS)
    looks = _Looks()
    for i, res in enumerate(results, head + 1):
        c = res.counts
        label = display_path(labels.get(res.path, Path(res.path).name))
        row = [label, res.department, res.year, STATUS_LABELS.get(res.status, res.status), res.score_total,
               res.grade, c["error"], c["warning"], c["info"], top_problems(res)]
        target = links.get(res.path)
        target = display_path(target) if target else target
        for col, v in enumerate(row, 1):
            cell = ws.cell(i, col, v)
            link = col == 1 and bool(target)
            center = col in (3, 4, 6, 7, 8, 9)
            looks.apply(cell, ("sum", link, center, col == 5), font=F_LINK if link else F_BODY, border=BORDER,
                        alignment=TOP_CENTER if center else TOP, number_format="0.00" if col == 5 else "General")
        if target:
            ws.cell(i, 1).hyperlink = Hyperlink(ref=f"A{i}", target=target, tooltip="打开批注副本")
    last = head + max(n, 1)
    widths = _fit_columns(ws, {1: (14, 40), 2: (12, 28), 3: (7, 7), 4: (10, 10), 5: (10, 10), 6: (10, 10),
                               7: (6, 6), 8: (6, 6), 9: (6, 6), 10: (40, 70)}, head + 1)
    for i in range(head + 1, last + 1):
        # explicit for every row, one line included: LibreOffice would otherwise size wrapped rows itself
        lines = max(_lines(ws.cell(i, col).value or "", widths[col]) for col in (1, 2, 10))
        ws.row_dimensions[i].height = lines * LINE + 3
    ws.row_dimensions[1].height = 24
    ws.freeze_panes = f"A{head + 1}"
    ws.auto_filter.ref = f"A{head}:J{last}"
    rng = f"D{head + 1}:D{last}"
    ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=['"通过"'],
                                                  fill=PatternFill("solid", bgColor="C6EFCE"),
                                                  font=Font(color="006100", bold=True)))
    ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=['"未通过"'],
                                                  fill=PatternFill("solid", bgColor="FFC7CE"),
                                                  font=Font(color="9C0006", bold=True)))
    ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=['"无法读取"'],
                                                  fill=PatternFill("solid", bgColor="D9D9D9"),
                                                  font=Font(color="404040", bold=True)))
    ws.conditional_formatting.add(f"G{head + 1}:G{last}", FormulaRule(
        formula=[f"G{head + 1}>0"], font=Font(color="C00000", bold=True)))
    ws.conditional_formatting.add(f"H{head + 1}:H{last}", FormulaRule(
        formula=[f"H{head + 1}>0"], font=Font(color="C65911", bold=True)))
    _page(ws, f"{head}:{head}")
    _charts(wb.create_sheet("图表"), results, labels, now)
    _details(wb.create_sheet("问题明细"), results, links, labels)
    return wb


SCORES_PER_FILE_UP_TO = 40     # above this a bar per file is unreadable: a histogram instead
GRADE_BANDS = (("差", 0, 60), ("中", 60, 80), ("良", 80, 90), ("优", 90, 100))


def score_axis_min(scores) -> float:
    """Lower end of a score axis: 5 below the lowest score, in steps of 5 (0 at most), so that 95.91
    and 100 do not look the same as they do on a 0–100 axis."""
    lo = min(scores)
    return max(0.0, math.floor((lo - 5) / 5) * 5) if lo < 100 else 90.0


def score_bands(scores) -> list[tuple[str, int]]:
    """Files per score band: 5-point bands from the lowest occupied one to 100, full marks on their
    own, all scores under 60 in one band (差)."""
    full = sum(1 for x in scores if x >= 100)
    lo = min(max(60, math.floor(min(scores) / 5) * 5), 95) if scores else 95
    bands = []
    if any(x < 60 for x in scores):
        bands.append(("低于 60", sum(1 for x in scores if x < 60)))
    for a in range(lo, 100, 5):
        bands.append((f"{a}–{a + 5}", sum(1 for x in scores if a <= x < a + 5)))
    bands.append(("100（满分）", full))
    return bands


def _bar_chart(title: str, *, horizontal: bool, fmt: str):
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.style = 10
    chart.title = title
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.gapWidth = 50
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    for flag in ("showSerName", "showCatName", "showLegendKey", "showPercent"):
        setattr(chart.dataLabels, flag, False)
    chart.dataLabels.numFmt = fmt
    return chart


def _color(chart, rgb: str) -> None:
    chart.series[0].graphicalProperties.solidFill = rgb
    chart.series[0].graphicalProperties.line.solidFill = rgb


def _charts(ws, results, labels, now) -> None:
    """Counts by conclusion, and the scores: one bar per file (sorted, axis from a little below the
    lowest score) up to SCORES_PER_FILE_UP_TO files, else files per score band. Each chart reads a
    small table on this sheet; the sheet prints on one page."""
    ws["A1"] = "审核汇总图表"
    ws["A1"].font = F_TITLE
    ws["A2"] = f"审核时间 {now:%Y-%m-%d %H:%M}　共 {len(results)} 个文件"
    ws["A2"].font = F_NOTE
    _page(ws, None)
    ws.page_setup.fitToHeight = 1          # the whole sheet, charts included, on one page
    looks = _Looks()

    def table(row: int, col: int, headers, rows, fmt: str) -> int:
        for j, h in enumerate(headers):
            c = ws.cell(row, col + j, h)
            c.font, c.fill, c.border, c.alignment = F_HEAD, HEADER_FILL, BORDER, TOP_CENTER
        for i, values in enumerate(rows, row + 1):
            for j, v in enumerate(values):
                looks.apply(ws.cell(i, col + j, v), ("chart", j, fmt), font=F_BODY, border=BORDER,
                            alignment=TOP if j == 0 else TOP_CENTER, number_format=fmt if j else "General")
        return row + len(rows)

    counts = [(STATUS_LABELS[k], sum(r.status == k for r in results)) for k in ("pass", "fail", "unreadable")]
    last = table(4, 1, ("审核结论", "文件数"), counts, "0")
    chart = _bar_chart("审核结论（文件数）", horizontal=False, fmt="0")
    chart.add_data(Reference(ws, min_col=2, min_row=4, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=last))
    chart.y_axis.scaling.min = 0
    chart.y_axis.numFmt = "0"
    chart.y_axis.majorGridlines = None
    _color(chart, "5B9BD5")
    chart.width, chart.height = 12, 7
    ws.add_chart(chart, "D4")

    scored = [(r, float(r.score_total)) for r in results if isinstance(r.score_total, (int, float))]
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 10
    if not scored:
        return
    top = max(last + 2, 20)
    if len(scored) <= SCORES_PER_FILE_UP_TO:
        scored.sort(key=lambda rs: -rs[1])
        rows = [(r.department or display_path(labels.get(r.path, Path(r.path).name)), s) for r, s in scored]
        last = table(top, 1, ("部门", "自评得分"), rows, "0.00")
        chart = _bar_chart("自评得分（从高到低）", horizontal=True, fmt="0.00")
        chart.x_axis.scaling.orientation = "maxMin"      # highest on top, like the table
        chart.y_axis.scaling.min = score_axis_min([s for _, s in scored])
        chart.y_axis.scaling.max = 100
        chart.y_axis.majorUnit = 5 if chart.y_axis.scaling.min >= 60 else 10
        chart.y_axis.numFmt = "0"
        chart.width, chart.height = 18, max(6.0, 0.55 * len(rows) + 2.5)
        if len(rows) > 15:
            ws.page_setup.orientation = "portrait"     # a tall chart fills a portrait page better
    else:
        bands = score_bands([s for _, s in scored])
        last = table(top, 1, ("自评得分（含下限，不含上限）", "文件数"), bands, "0")
        chart = _bar_chart(f"自评得分分布（{len(scored)} 个文件）", horizontal=False, fmt="0")
        chart.y_axis.scaling.min = 0
        chart.y_axis.numFmt = "0"
        chart.width, chart.height = 18, 9
    chart.add_data(Reference(ws, min_col=2, min_row=top, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last))
    _color(chart, "70AD47")
    ws.add_chart(chart, f"D{top}")


def _details(ws, results, links, labels) -> None:
    ws["A1"] = "问题明细（每个文件的每条审核发现；点击单元格跳转到批注副本中的位置）"
    ws["A1"].font = F_HEAD
    head = 2
    _header(ws, head, DETAIL_HEADERS)
    r = head
    looks = _Looks()
    for res in results:
        label = display_path(labels.get(res.path, Path(res.path).name))
        target = links.get(res.path)
        target = display_path(target) if target else target
        for i, f in enumerate(res.findings, 1):
            r += 1
            explained = f.explained and f.severity != "error"
            state = STATE_FIX if f.severity == "error" else (STATE_DONE if explained else STATE_EXPLAIN)
            row = [label, res.department, res.year, i, SEVERITY_LABELS.get(f.severity, f.severity), f.rule,
                   f.sheet, f.cell, f.message, _cell_text(f.value), _cell_text(f.expected), f.explanation, state]
            look = "explained" if explained else f.severity
            fill = FILLS.get(look, FILLS["info"])
            cell_link = bool(target and f.sheet and f.cell)
            for col, v in enumerate(row, 1):
                cell = ws.cell(r, col, v)
                link = bool(target) and col == 1 or cell_link and col == 8
                center = col in (3, 4, 5, 6, 8, 13)
                looks.apply(cell, ("det", look, link, center), font=F_LINK if link else F_BODY, border=BORDER,
                            fill=fill, alignment=TOP_CENTER if center else TOP)
            if target:
                ws.cell(r, 1).hyperlink = Hyperlink(ref=f"A{r}", target=target)
                if cell_link:
                    loc = "'" + f.sheet.replace("'", "''") + "'!" + f.cell.replace("$", "")
                    ws.cell(r, 8).hyperlink = Hyperlink(ref=f"H{r}", target=target, location=loc,
                                                        tooltip=f"打开并转到 {f.sheet}!{f.cell}")
    last = max(r, head + 1)
    widths = _fit_columns(ws, {1: (14, 32), 2: (12, 24), 3: (7, 7), 4: (6, 6), 5: (6, 6), 6: (9, 10),
                               7: (9, 14), 8: (8, 8), 9: (36, 60), 10: (10, 20), 11: (12, 20), 12: (20, 36),
                               13: (8, 8)}, head + 1)
    for i in range(head + 1, r + 1):
        lines = max(_lines(ws.cell(i, col).value or "", widths[col]) for col in (1, 9, 10, 11, 12))
        if lines > 1:
            ws.row_dimensions[i].height = lines * LINE + 3
    ws.freeze_panes = f"A{head + 1}"
    ws.auto_filter.ref = f"A{head}:M{last}"
    _page(ws, f"{head}:{head}")


def write_summary(results, path, *, links: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                  now: datetime | None = None) -> Path:
    """Build the summary and write it to `path` atomically."""
    wb = build_summary(results, links=links, labels=labels, now=now)
    buf = io.BytesIO()
    wb.save(buf)
    path = Path(path)
    write_atomic(path, buf.getvalue())
    return path
