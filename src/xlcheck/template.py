"""Build template.xlsx from code (SPEC 2): deterministic, names and tables are the interface."""
from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from lxml import etree
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.formatting.rule import FormulaRule
from openpyxl.worksheet.table import Table, TableStyleInfo

from xlcheck import TEMPLATE_VERSION, calc, selfcheck
from xlcheck.atomic import write_atomic
from xlcheck.framework import Framework, load_framework
from xlcheck.rules import default_checks_dir, load_toml

# ---------------------------------------------------------------- the interface (checks/interface.toml)

# Sheet names, defined names and their labels, table headers and dropdown values come from the
# interface file the rules read too; this module adds only layout (widths, hints, styles).
IFACE = load_toml(default_checks_dir() / "interface.toml")


def _sheet_of(piece: str) -> str:
    return next(s for s, pieces in IFACE["sheets"].items() if piece in pieces)


SHEET_GUIDE = _sheet_of("template_version")
SHEET_INFO = _sheet_of("dept_name")
SHEET_TASKS = _sheet_of("tasks")
SHEET_INDICATORS = _sheet_of("indicators")
SHEET_SCORES = _sheet_of("scores")
SHEET_PROBLEMS = _sheet_of("problems")
SHEET_TEXTS = _sheet_of("text_duties")
SHEET_SELFCHECK = IFACE["selfcheck"]["sheet"]
SHEET_REVIEW = "审核结果"   # written by review.py; the template holds it empty
LABELS = IFACE["labels"]
REQUIRED = tuple(IFACE["required"])

# ---------------------------------------------------------------- styles

FONT_NAME = "宋体"
FILL_INPUT = PatternFill("solid", fgColor="FFF2CC")
FILL_COMPUTED = PatternFill("solid", fgColor="D9D9D9")
FILL_FIXED = PatternFill(fill_type=None)   # framework texts: locked, plain (one grey only: computed)
FILL_FORMULA_INPUT = PatternFill("solid", fgColor="DDEBF7")  # 完成率: formula the filler may overwrite
FILL_HEADER = PatternFill("solid", fgColor="BDD7EE")
FILL_SECTION = PatternFill("solid", fgColor="E2EFDA")
_thin = Side(style="thin", color="808080")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
FONT = Font(name=FONT_NAME, size=11)
FONT_BOLD = Font(name=FONT_NAME, size=11, bold=True)
FONT_TITLE = Font(name=FONT_NAME, size=14, bold=True)
FONT_HINT = Font(name=FONT_NAME, size=10, color="595959")
UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTER = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

FMT_AMOUNT = "#,##0.00"
FMT_RATE = "0.00%"
FMT_YEAR = "0"
FMT_INT = "0"
FMT_DATE = "yyyy-mm-dd"
FMT_TEXT = "@"

# fixed document timestamps so the same code gives the same bytes
FIXED_TIME = "2024-01-01T00:00:00Z"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# ---------------------------------------------------------------- 基本信息 (single cells)


PRESET_HINT = "已由财政部门预填并锁定。如与本部门不符，请联系财政部门重新下发，不要修改。"
REQUIRED_MARK = "（必填）"

# kind and hint of each single cell; order, labels and which are required come from the interface
FIELD_LAYOUT = {
    "dept_name": ("text", "部门全称，如“广州市黄埔区工商业联合会”。"),
    "eval_year": ("year", "四位年份，如 2023（是被评价的预算年度，不是填报年度）。"),
    "unit_count": ("count1", "部门所属单位个数（含本级），整数，至少为 1。"),
    "org_structure": ("text", "内设机构名称，多个用顿号分隔。"),
    "preparer": ("text", ""),
    "preparer_phone": ("phone", "含区号，如 020-12345678。"),
    "fill_date": ("date", "日期，如 2024-03-15。"),
    "budget_initial": ("amount", "万元，保留两位小数，不小于 0。"),
    "budget_adjustment": ("amount_any", "万元，保留两位小数；调减填负数，无调整填 0。"),
    "budget_adjusted": ("f_amount", "自动计算：年初预算数 + 年度预算调整数。"),
    "spend_actual": ("amount", "万元，保留两位小数。"),
    "spend_general": ("amount", "按资金来源：以下四项之和应等于实际支出数。"),
    "spend_gov_fund": ("amount", "万元；无则填 0。"),
    "spend_soe_capital": ("amount", "万元；无则填 0。"),
    "spend_other": ("amount", "万元；无则填 0。"),
    "spend_basic": ("amount", "按支出性质：基本支出 + 项目支出应等于实际支出数。"),
    "spend_project": ("amount", "万元。"),
    "budget_completion_rate": ("f_rate", "自动计算：实际支出数 ÷ 调整后预算数。"),
    "budget_adjust_rate": ("f_rate", "自动计算：年度预算调整数 ÷ 年初预算数。"),
    "spend_prev_year": ("amount", "万元；可不填（不填则不计算增减率）。"),
    "spend_yoy_rate": ("f_rate", "自动计算：(实际支出数 − 上年实际支出数) ÷ 上年实际支出数。"),
    "project_l1_count": ("count", "整数。"),
    "project_l2_count": ("count", "整数。"),
    "project_eval_funds": ("amount", "万元。"),
    "project_eval_share": ("f_rate", "自动计算：纳入自评的项目资金 ÷ 项目支出。"),
    "budget_note": ("note", "预算完成率低于 90% 或实际支出超过调整后预算时必填：说明原因。"),
    "text_duties": ("long", "简述部门主要职能。"),
    "text_work": ("long", "概述年度总体工作和重点工作任务。"),
    "text_goal": ("long", "年度整体绩效目标。"),
    "text_finance": ("long", "收支情况；所写金额、比率应与“基本信息”一致。"),
    "text_management": ("long", "绩效管理制度建设、运行监控、评价等情况。"),
    "text_conclusion": ("long", "须写明自评总分和评价等级，与“自评评分”一致。"),
    "text_effectiveness": ("long", "产出、效益指标完成情况及预算资金支出率分析。"),
    "text_efficiency": ("long", "预算编制、执行、信息公开、绩效、采购、资产、运行成本管理分析。"),
}
SECTION_BEFORE = {"budget_initial": "资金情况（金额单位：万元）"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str     # text | year | count1 | count | amount | amount_any | date | note | f_amount | f_rate | long
    hint: str = ""

    @property
    def required(self) -> bool:
        return self.name in REQUIRED


def _field(name: str) -> Field:
    kind, hint = FIELD_LAYOUT[name]
    if name in REQUIRED:
        hint = "必填。" + hint
    return Field(name, LABELS[name], kind, hint)


def _info_fields() -> list[Field | str]:
    out: list[Field | str] = []
    for name in IFACE["sheets"][SHEET_INFO]:
        if name in SECTION_BEFORE:
            out.append(SECTION_BEFORE[name])
        out.append(_field(name))
    return out


INFO_FIELDS = _info_fields()
TEXT_FIELDS = [_field(n) for n in IFACE["sheets"][SHEET_TEXTS]]

# ---------------------------------------------------------------- tables

_LEVELS = IFACE["choices"]["levels"]
L1_VALUES = tuple(_LEVELS)
L2_VALUES = tuple(v for vs in _LEVELS.values() for v in vs)
STATUS_VALUES = tuple(IFACE["choices"]["task_status"])
DIRECTIONS = tuple(IFACE["choices"]["directions"])


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str = "text"    # text | long | amount | int | value | rate_formula | fixed | fixed_num | score
    choices: tuple[str, ...] = ()
    prompt: str = ""


@dataclass
class TableSpec:
    name: str
    sheet: str
    title: str
    hint: str
    columns: list[Column]
    rows: int
    landscape: bool = True


TABLE_HEADER_ROW = 3


def _spec(name, title, hint, layout: dict, rows, landscape=True) -> TableSpec:
    """A table from its headers in the interface and the layout of each header here."""
    cols = []
    for h in IFACE["tables"][name]["headers"]:
        width, kind, choices, prompt = layout[h]
        cols.append(Column(h, width, kind, choices, prompt))
    return TableSpec(name, _sheet_of(name), title, hint, cols, rows, landscape)


TASKS = _spec("tasks", "年度主要任务完成情况",
              "金额单位：万元。预留 20 行，不够时请按“填报说明”增加行；未完成或部分完成的任务须填写未完成原因。", {
                  "序号": (6, "int", (), ""),
                  "任务名称": (22, "long", (), ""),
                  "预期目标": (30, "long", (), ""),
                  "目标完成情况": (30, "long", (), ""),
                  "关键指标": (20, "long", (), ""),
                  "指标完成情况": (20, "long", (), ""),
                  "涉及资金（万元）": (14, "amount", (), "万元，保留两位小数。"),
                  "完成状态": (11, "text", STATUS_VALUES, "请选择：" + " / ".join(STATUS_VALUES) + "。"),
                  "未完成原因": (30, "long", (), "完成状态不是“完成”时必填。"),
              }, 20)

INDICATORS = _spec("indicators", "部门整体绩效指标完成情况",
                   "完成率自动计算（≥：实现值÷目标值；≤：实现值≤目标值为100%，否则目标值÷实现值；"
                   "=：相等为100%，否则实现值÷目标值）；定性指标直接输入完成率。预留 40 行。", {
                       "一级指标": (12, "text", L1_VALUES, "请选择：" + " / ".join(L1_VALUES) + "。"),
                       "二级指标": (16, "text", L2_VALUES, "；".join(
                           f"{k[:-2]}：{'、'.join(v)}" for k, v in _LEVELS.items()) + "。"),
                       "三级指标": (28, "long", (), ""),
                       "指标方向": (9, "text", DIRECTIONS,
                                "≥：越大越好；≤：越小越好；=：等于目标；定性：无法量化，完成率手工填写。"),
                       "年度目标值": (12, "value", (), "只填数字（百分比可输入 95%），单位填在“计量单位”列。"),
                       "计量单位": (10, "text", (), ""),
                       "年度实现值": (12, "value", (), "只填数字，不要带单位或“余”“超过”等文字。"),
                       "完成率": (11, "rate_formula", (),
                               "默认按公式自动计算。定性指标请直接输入完成率（达成填 100%），覆盖公式即可。"),
                       "偏差原因": (30, "long", (), "完成率低于 100% 或明显高于目标（超过 120%）时必填。"),
                       "改进措施": (30, "long", (), "完成率低于 100% 时必填。"),
                   }, 40)

SCORES = _spec("scores", "部门整体支出绩效自评评分",
               "只填写黄色单元格：自评得分、扣分原因、改进措施。得分低于分值时须填写扣分原因和改进措施。", {
                   "一级指标": (10, "fixed", (), ""),
                   "一级分值": (7, "fixed_num", (), ""),
                   "二级指标": (10, "fixed", (), ""),
                   "二级分值": (7, "fixed_num", (), ""),
                   "三级指标": (24, "fixed", (), ""),
                   "分值": (7, "fixed_num", (), ""),
                   "指标解释": (40, "fixed", (), ""),
                   "评分标准": (34, "fixed", (), ""),
                   "自评得分": (10, "score", (), "填 0 至该行分值之间的数字。"),
                   "扣分原因": (32, "long", (), "自评得分低于分值时必填，写明具体原因。"),
                   "改进措施": (32, "long", (), "自评得分低于分值时必填。"),
               }, 0)

PROBLEMS = _spec("problems", "存在的主要问题及改进措施", "有扣分时至少填写一条。预留 10 行。", {
    "序号": (6, "int", (), ""),
    "存在的主要问题": (50, "long", (), ""),
    "改进措施": (50, "long", (), ""),
}, 10, landscape=False)

TABLE_SPECS = (TASKS, INDICATORS, SCORES, PROBLEMS)


# ---------------------------------------------------------------- helpers

def _text_width(s: str) -> float:
    """Display width in column-width units: a CJK or full-width character is ~2.2 digits wide
    in the fonts LibreOffice and Excel fall back to (measured on rendered pages)."""
    return sum(2.2 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in str(s))


def _row_height(texts_and_widths, *, minimum=18.0, line=16.0, size=11.0):
    lines = 1
    scale = size / 11.0
    for text, width in texts_and_widths:
        if text:
            per_line = max(1.0, (width - 1.5) / scale)
            n = sum(max(1, math.ceil(_text_width(part) / per_line)) for part in str(text).split("\n"))
            lines = max(lines, n)
    return max(minimum, line * scale * lines + 4)


MAX_ROW_HEIGHT = 409.0   # Excel's limit
MIN_FONT_SIZE = 8.0      # a text too long for one row at 11 pt is set smaller, down to this


def fit_rows(ws, rows) -> None:
    """Grow each row of `rows` to show its wrapped texts in full (never shrink a row). A text
    too long for Excel's tallest row is set in a smaller font, down to MIN_FONT_SIZE."""
    for r in sorted(set(rows)):
        texts = []
        for c in ws[r]:
            if c.value is None or isinstance(c.value, str) and c.value.startswith("="):
                continue
            width = ws.column_dimensions[c.column_letter].width or 8.43
            texts.append((c, c.value if c.alignment.wrap_text else "", width))
        need = _row_height([(t, w) for _, t, w in texts])
        if need > MAX_ROW_HEIGHT:
            for c, text, width in texts:
                size = 11.0
                while size > MIN_FONT_SIZE and _row_height([(text, width)], size=size) > MAX_ROW_HEIGHT:
                    size -= 0.5
                if size < 11.0:
                    c.font = Font(name=c.font.name, size=size, bold=c.font.b, color=c.font.color)
            need = max(_row_height([(t, w)], size=c.font.sz or 11.0) for c, t, w in texts)
        need = min(MAX_ROW_HEIGHT, need)
        have = ws.row_dimensions[r].height
        if have is None or need > have:
            ws.row_dimensions[r].height = need


def _style(c, *, fill=None, fmt=None, locked=True, font=FONT, align=WRAP_CENTER, border=True):
    c.font = font
    if fill is not None:
        c.fill = fill
    if fmt is not None:
        c.number_format = fmt
    c.protection = LOCKED if locked else UNLOCKED
    c.alignment = align
    if border:
        c.border = BORDER


def _define(wb, name, ws, coord):
    col, row = re.match(r"([A-Z]+)(\d+)", coord).groups()
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(ws.title)}!${col}${row}")


def _protect(ws):
    # no password; formatting rows/columns, sorting and filtering stay allowed
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.autoFilter = False
    p.sort = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _print_setup(ws, *, landscape, title_rows=None):
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows


def _validation(ws, sqref, *, type=None, choices=(), operator=None, f1=None, f2=None,
                prompt="", title="", error=""):
    kw = {}
    if choices:
        kw.update(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
    elif type:
        kw.update(type=type, operator=operator, formula1=f1, formula2=f2, allow_blank=True)
    dv = DataValidation(**kw)
    if prompt:
        dv.promptTitle = title[:32] or None
        dv.prompt = prompt[:255]
        dv.showInputMessage = True
    if kw:
        dv.showErrorMessage = True
        dv.errorStyle = "stop"
        dv.errorTitle = "输入有误"
        dv.error = (error or prompt or "请从下拉列表中选择。")[:255]
    dv.add(sqref)
    ws.add_data_validation(dv)
    return dv


def _title(ws, title, hint=None):
    ws["A1"] = title
    ws["A1"].font = FONT_TITLE
    ws["A1"].alignment = Alignment(vertical="center")
    ws.row_dimensions[1].height = 26
    if hint:
        ws["A2"] = hint
        ws["A2"].font = FONT_HINT
        ws["A2"].alignment = Alignment(vertical="center")
        ws.row_dimensions[2].height = 18


def _resolve_framework(framework) -> Framework:
    if framework is None:
        return load_framework()
    if isinstance(framework, Framework):
        return framework
    return load_framework(framework)


# ---------------------------------------------------------------- sheets

def _sheet_guide(wb, ws, department=None, year=None):
    _title(ws, "部门整体支出绩效自评表 · 填报说明")
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 96
    left = Alignment(horizontal="left", vertical="center")
    ws["A3"] = "模板版本"
    _style(ws["A3"], font=FONT_BOLD)
    ws["B3"] = TEMPLATE_VERSION
    _style(ws["B3"], fill=FILL_COMPUTED, fmt=FMT_TEXT, align=left)
    _define(wb, "template_version", ws, "B3")
    # the department and year this copy was issued for (blank in the blank template): the
    # issuance rules compare them with dept_name / eval_year of the returned workbook
    for r, label, name, value in ((4, "本表下发给", "issued_dept", department),
                                  (5, "下发年度", "issued_year", year)):
        ws.cell(r, 1, label)
        _style(ws.cell(r, 1), font=FONT_BOLD)
        c = ws.cell(r, 2, value)
        _style(c, fill=FILL_COMPUTED, fmt=FMT_TEXT, align=left)   # B3's style: a year shows as is
        _define(wb, name, ws, c.coordinate)

    r = 7
    sections = [
        ("一、填报什么", [
            "“基本信息”：部门名称、被评价年度、填报人等基本情况，以及资金情况（金额单位：万元，保留两位小数）。",
            "“年度任务”：年度主要任务及完成情况；“绩效指标”：部门整体绩效指标的目标值、实现值，完成率自动计算。",
            "“自评评分”：按评分框架逐项填写自评得分；得分低于分值时须填写扣分原因和改进措施。自评总分和评价等级自动计算。",
            "“问题与措施”：存在的主要问题及改进措施；“文字说明”：部门职能、工作任务、绩效目标、自评结论等文字内容。",
            "数字单元格只填数字，不要带单位或“余”“超过”等文字；比率按百分比输入（如 96.03%）。",
        ]),
        ("二、颜色说明", None),
        ("三、如何校验", [
            "填写时：第一个工作表“自查”随填写自动检查必填项、合计、得分和必须填写的说明，出错的单元格标为红色，"
            "点击“首个位置”可跳转。Excel、WPS 表格、LibreOffice 均可使用，无需安装插件。",
            "在 Excel 中：点击“绩效自评”选项卡中的“校验”按钮，结果写入“审核结果”工作表，点击单元格链接可跳转到出错位置。",
            "命令行：财政部门运行 xlcheck 文件或文件夹（如 xlcheck 收到的自评表/）进行批量校验。",
            "“错误”必须修改；“警告”请修改，或在“审核结果”的“填报单位说明”列写明理由；“提示”供参考。反复校验直至通过后再报送。",
        ]),
        ("四、如何增加行", [
            "“年度任务”预留 20 行、“绩效指标”预留 40 行、“问题与措施”预留 10 行。",
            "行数不够时：审阅 → 撤消工作表保护（无密码），在表格最后一行最后一格按 Tab 键（或拖动表格右下角）增加行，"
            "新行自动带出格式和下拉列表；“绩效指标”新行的完成率可复制上一行的完成率单元格粘贴（不填也可，校验时自动计算）。"
            "完成后可重新保护工作表（审阅 → 保护工作表，不设密码）。",
            "请勿修改表头文字、工作表名称和灰色单元格，请勿合并单元格，请勿在表格之外填写数据。",
        ]),
    ]
    legend = [
        (FILL_INPUT, "黄色：需要填写的单元格（未锁定）。"),
        (FILL_COMPUTED, "灰色：自动计算的单元格（公式，已锁定），请勿修改。"),
        (FILL_FORMULA_INPUT, "浅蓝：绩效指标的完成率，默认由公式计算；定性指标请直接输入完成率（达成填 100%）。"),
        (FILL_FIXED, "白色：表头、说明和评分框架内容（已锁定），由财政部门统一制定。"),
        (PatternFill("solid", fgColor=selfcheck.RED_FILL), "红色：自查发现的错误，必须修改（改正后红色自动消失，见“自查”页）。"),
        (PatternFill("solid", fgColor=selfcheck.AMBER_FILL), "黄褐色：自查发现的警告，请修改或在校验后说明理由。"),
    ]
    for heading, lines in sections:
        ws.cell(r, 1, heading).font = FONT_BOLD
        ws.row_dimensions[r].height = 22
        r += 1
        if lines is None:
            for fill, text in legend:
                _style(ws.cell(r, 1), fill=fill)
                c = ws.cell(r, 2, text)
                c.font = FONT
                c.alignment = WRAP_CENTER
                ws.row_dimensions[r].height = 20
                r += 1
        else:
            for line in lines:
                c = ws.cell(r, 2, line)
                c.font = FONT
                c.alignment = WRAP_TOP
                ws.row_dimensions[r].height = _row_height([(line, 96)], minimum=20)
                r += 1
        r += 1
    _print_setup(ws, landscape=False)
    _protect(ws)


def _sheet_info(wb, ws, department, year):
    _title(ws, "部门基本信息", "黄色单元格需填写，灰色单元格自动计算。金额单位：万元。")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 60
    for col, text in zip("ABC", ("项目", "填报内容", "说明")):
        c = ws[f"{col}3"]
        c.value = text
        _style(c, fill=FILL_HEADER, font=FONT_BOLD, align=CENTER)
    r = 4
    formula_rows = {}
    preset = {"dept_name": None if department is None else str(department),
              "eval_year": None if year is None else int(year)}
    for f in INFO_FIELDS:
        if isinstance(f, str):
            c = ws.cell(r, 1, f)
            _style(c, fill=FILL_SECTION, font=FONT_BOLD)
            _style(ws.cell(r, 2), fill=FILL_SECTION)
            _style(ws.cell(r, 3), fill=FILL_SECTION)
            r += 1
            continue
        label = ws.cell(r, 1, f.label + (REQUIRED_MARK if f.required else ""))
        indent = 2 if f.label.startswith("其中") else 0
        _style(label, align=Alignment(vertical="center", wrap_text=True, indent=indent))
        hint = ws.cell(r, 3, f.hint)
        _style(hint, font=FONT_HINT)
        c = ws.cell(r, 2)
        coord = c.coordinate
        if preset.get(f.name) is not None:
            # issued for one department / year: filled in, locked, input style removed
            c.value = preset[f.name]
            hint.value = PRESET_HINT
            _style(c, fill=FILL_COMPUTED, fmt=FMT_YEAR if f.kind == "year" else None,
                   align=Alignment(horizontal="left", vertical="center"))
            _validation(ws, coord, title=f.label, prompt=PRESET_HINT)
        elif f.kind.startswith("f_"):
            c.value = calc.EXCEL[f.name]
            _style(c, fill=FILL_COMPUTED, fmt=FMT_AMOUNT if f.kind == "f_amount" else FMT_RATE,
                   align=Alignment(horizontal="right", vertical="center"))
            formula_rows[f.name] = coord
        else:
            fmt = {"amount": FMT_AMOUNT, "amount_any": FMT_AMOUNT, "year": FMT_YEAR,
                   "count": FMT_INT, "count1": FMT_INT, "date": FMT_DATE,
                   "phone": FMT_TEXT}.get(f.kind)
            align = WRAP_TOP if f.kind == "note" else WRAP_CENTER
            _style(c, fill=FILL_INPUT, fmt=fmt, locked=False, align=align)
            if f.kind == "year":
                _validation(ws, coord, type="whole", operator="between", f1="2000", f2="2100",
                            title=f.label, prompt=f.hint, error="被评价年度应为 2000 至 2100 之间的四位整数年份。")
            elif f.kind == "count1":
                _validation(ws, coord, type="whole", operator="greaterThanOrEqual", f1="1",
                            title=f.label, prompt=f.hint, error="单位数应为不小于 1 的整数。")
            elif f.kind == "count":
                _validation(ws, coord, type="whole", operator="greaterThanOrEqual", f1="0",
                            title=f.label, prompt=f.hint, error="应为不小于 0 的整数。")
            elif f.kind == "amount":
                _validation(ws, coord, type="decimal", operator="greaterThanOrEqual", f1="0",
                            title=f.label, prompt=f.hint, error="应为不小于 0 的数字（万元），不要带单位或文字。")
            elif f.kind == "amount_any":
                _validation(ws, coord, type="decimal", operator="between", f1="-999999999", f2="999999999",
                            title=f.label, prompt=f.hint, error="应为数字（万元），调减填负数。")
            else:
                _validation(ws, coord, title=f.label, prompt=f.hint)
        _define(wb, f.name, ws, coord)
        height = 60 if f.kind == "note" else _row_height([(f.hint, 60), (f.label, 28)], minimum=20)
        ws.row_dimensions[r].height = height
        r += 1
    ws.freeze_panes = "A4"
    _print_setup(ws, landscape=False, title_rows="3:3")
    _protect(ws)
    return formula_rows


def _cell_of(wb, name):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return sheet, ref.replace("$", "")


def _table(wb, ws, spec: TableSpec, rows: list[dict] | None = None):
    _title(ws, spec.title, spec.hint)
    h = TABLE_HEADER_ROW
    n = len(rows) if rows is not None else spec.rows
    first, last = h + 1, h + n
    cols = {c.header: i + 1 for i, c in enumerate(spec.columns)}
    for i, col in enumerate(spec.columns, 1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = col.width
        c = ws.cell(h, i, col.header)
        _style(c, fill=FILL_HEADER, font=FONT_BOLD, align=CENTER)
    ws.row_dimensions[h].height = 30
    for r in range(first, last + 1):
        data = rows[r - first] if rows is not None else {}
        for i, col in enumerate(spec.columns, 1):
            c = ws.cell(r, i)
            if col.kind in ("fixed", "fixed_num"):
                c.value = data.get(col.header)
                align = CENTER if col.kind == "fixed_num" or col.width <= 10 else WRAP_CENTER
                _style(c, fill=FILL_FIXED, align=align)
            elif col.kind == "rate_formula":
                L = {k: get_column_letter(v) + str(r) for k, v in cols.items()}
                c.value = calc.indicator_rate_formula(L["指标方向"], L["年度目标值"], L["年度实现值"])
                _style(c, fill=FILL_FORMULA_INPUT, fmt=FMT_RATE, locked=False,
                       align=Alignment(horizontal="right", vertical="center"))
            else:
                fmt = {"amount": FMT_AMOUNT, "int": FMT_INT, "score": "0.00"}.get(col.kind)
                align = WRAP_TOP if col.kind == "long" else WRAP_CENTER
                _style(c, fill=FILL_INPUT, fmt=fmt, locked=False, align=align)
        if rows is not None:
            ws.row_dimensions[r].height = _row_height(
                [(data.get(col.header), col.width) for col in spec.columns], minimum=24)
        else:
            ws.row_dimensions[r].height = 24
    # validations over whole data columns
    for i, col in enumerate(spec.columns, 1):
        L = get_column_letter(i)
        rng = f"{L}{first}:{L}{last}"
        if col.choices:
            _validation(ws, rng, choices=col.choices, title=col.header, prompt=col.prompt,
                        error=f"请从下拉列表中选择：{'、'.join(col.choices)}。")
        elif col.kind == "amount":
            _validation(ws, rng, type="decimal", operator="greaterThanOrEqual", f1="0",
                        title=col.header, prompt=col.prompt, error="应为不小于 0 的数字（万元）。")
        elif col.kind == "score":
            pts = get_column_letter(cols["分值"])
            _validation(ws, rng, type="decimal", operator="between", f1="0", f2=f"{pts}{first}",
                        title=col.header, prompt=col.prompt, error="自评得分应为 0 至该行分值之间的数字。")
        elif col.prompt:
            _validation(ws, rng, title=col.header, prompt=col.prompt)
    ref = f"A{h}:{get_column_letter(len(spec.columns))}{last}"
    t = Table(displayName=spec.name, ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False,
                                      showColumnStripes=False, showFirstColumn=False, showLastColumn=False)
    ws.add_table(t)
    ws.freeze_panes = f"A{first}"
    _print_setup(ws, landscape=spec.landscape, title_rows=f"{h}:{h}")
    return first, last, cols


def _sheet_scores(wb, ws, fw: Framework):
    rows = [{"一级指标": r.level1, "一级分值": r.level1_points, "二级指标": r.level2,
             "二级分值": r.level2_points, "三级指标": r.name, "分值": r.points,
             "指标解释": r.explanation, "评分标准": r.standard} for r in fw.rows]
    first, last, cols = _table(wb, ws, SCORES, rows)
    sc = get_column_letter(cols["自评得分"])
    lab = get_column_letter(cols["评分标准"])
    note = get_column_letter(cols["扣分原因"])
    r_total, r_grade = last + 2, last + 3
    # labels beside the named cells, outside the table
    for r, label, name, formula, fmt in (
            (r_total, "自评总分", "score_total", calc.score_total_formula(f"${sc}${first}:${sc}${last}"), "0.00"),
            (r_grade, "评价等级", "grade", calc.grade_formula(fw), None)):
        lc = ws[f"{lab}{r}"]
        lc.value = label
        _style(lc, font=FONT_BOLD, align=Alignment(horizontal="right", vertical="center"))
        c = ws[f"{sc}{r}"]
        c.value = formula
        _style(c, fill=FILL_COMPUTED, fmt=fmt, font=FONT_BOLD, align=CENTER)
        _define(wb, name, ws, c.coordinate)
        ws.row_dimensions[r].height = 22
    bands = "；".join(f"{g.name} {g.note}" if g.note else g.name for g in fw.grades)
    c = ws[f"{note}{r_grade}"]
    c.value = f"等级划分：{bands}"
    c.font = FONT_HINT
    c.alignment = Alignment(vertical="center")
    c = ws[f"{note}{r_total}"]
    c.value = f"满分 {fw.total:g} 分，自动合计“自评得分”列。"
    c.font = FONT_HINT
    c.alignment = Alignment(vertical="center")
    _protect(ws)


def _sheet_texts(wb, ws):
    _title(ws, "文字说明", "请在黄色单元格中填写；单元格内换行按 Alt+Enter。所写数字、年份应与各表一致。"
                       "每部分请控制在 2000 字以内：更长的文字在单元格中打印不全，详细材料请作为附件报送。")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    for col, text in zip("AB", ("项目", "内容")):
        c = ws[f"{col}3"]
        c.value = text
        _style(c, fill=FILL_HEADER, font=FONT_BOLD, align=CENTER)
    for r, f in enumerate(TEXT_FIELDS, 4):
        _style(ws.cell(r, 1, f.label), font=FONT_BOLD, align=WRAP_CENTER)
        c = ws.cell(r, 2)
        _style(c, fill=FILL_INPUT, locked=False, align=WRAP_TOP)
        _validation(ws, c.coordinate, title=f.label, prompt=f.hint)
        _define(wb, f.name, ws, c.coordinate)
        ws.row_dimensions[r].height = 160
    ws.freeze_panes = "A4"
    _print_setup(ws, landscape=False, title_rows="3:3")
    _protect(ws)


# ---------------------------------------------------------------- 自查 panel (live checks)

PANEL_HEAD = 6                     # header row of the panel's list
PANEL_COLS = ("序号", "检查内容", "对应校验规则", "级别", "需修改处数", "首个位置（点击跳转）")
PANEL_KEY_COL = "H"                # hidden: the check's key, so a reader can tell the lines apart
PANEL_CELL_COL = "G"               # hidden: coordinate of the first failing cell
STATUS_OK = "自查通过，可点击 校验 或报送"
SEVERITY_LABEL = {"error": "错误", "warning": "警告"}


def live_checks(wb) -> list:
    """The live checks of an openpyxl workbook made from the template (its own layout)."""
    layout, groups, l1_groups = selfcheck.layout_of(wb)
    return selfcheck.build_checks(
        layout, required=list(REQUIRED), texts=list(IFACE["sheets"][SHEET_TEXTS]),
        thresholds=load_toml(default_checks_dir() / "thresholds.toml"),
        score_groups=groups, l1_groups=l1_groups, total_points=100)   # PTS006 holds 100 too


def status_formula() -> str:
    return f'=IF(selfcheck_count=0,"{STATUS_OK}","自查："&selfcheck_count&" 处需要修改")'


def status_text(count: int) -> str:
    return STATUS_OK if count == 0 else f"自查：{count} 处需要修改"


def link_formula(check, row: int) -> str:
    g = f"{PANEL_CELL_COL}{row}"
    sheet = check.sheet
    return f'=IF({g}="","",HYPERLINK("#{quote_sheetname(sheet)}!"&{g},"{sheet} "&{g}))'


def _dxf(severity):
    fill, font = ((selfcheck.RED_FILL, selfcheck.RED_FONT) if severity == "error"
                  else (selfcheck.AMBER_FILL, selfcheck.AMBER_FONT))
    return dict(fill=PatternFill(bgColor=fill, fgColor=fill, fill_type="solid"), font=Font(color=font))


def _sheet_selfcheck(wb, ws):
    """The panel: one line per live check, counts, a link to the first failing cell; and the
    conditional formats that mark the failing cells on their sheets."""
    checks = live_checks(wb)
    _title(ws, "自查 · 填写时自动检查",
           "本页随填写自动更新，不需要安装任何插件（Excel、WPS 表格、LibreOffice 均可）。")
    widths = {"A": 6, "B": 46, "C": 13, "D": 7, "E": 11, "F": 24}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    ws.column_dimensions[PANEL_CELL_COL].hidden = True
    ws.column_dimensions[PANEL_KEY_COL].hidden = True
    first, last = PANEL_HEAD + 1, PANEL_HEAD + len(checks)
    ws["A3"] = "结论"
    _style(ws["A3"], font=FONT_BOLD, align=CENTER)
    ws["B3"] = status_formula()
    _style(ws["B3"], fill=FILL_COMPUTED, font=Font(name=FONT_NAME, size=14, bold=True),
           align=Alignment(horizontal="left", vertical="center"))
    _define(wb, "selfcheck_status", ws, "B3")
    ws["D3"] = "合计"
    _style(ws["D3"], font=FONT_BOLD, align=CENTER)
    ws["E3"] = f"=SUM(E{first}:E{last})"
    _style(ws["E3"], fill=FILL_COMPUTED, fmt=FMT_INT, font=FONT_BOLD, align=CENTER)
    _define(wb, "selfcheck_count", ws, "E3")
    ws.row_dimensions[3].height = 30
    # the authority line: short lines that overflow to the right (no wrap in a narrow column)
    for r, text in ((4, "本页只检查公式能判断的问题。报送前请以财政部门的“校验”（xlcheck）结果为准："),
                    (5, "数字是否以文本填写、说明是否为“无”“同上”等占位文字、文字与表格是否一致等，只有校验能判断。")):
        c = ws.cell(r, 1, text)
        c.font = Font(name=FONT_NAME, size=10, bold=r == 4, color="595959")
        c.alignment = Alignment(vertical="center")
        ws.row_dimensions[r].height = 18
    for i, text in enumerate(PANEL_COLS, 1):
        _style(ws.cell(PANEL_HEAD, i, text), fill=FILL_HEADER, font=FONT_BOLD, align=CENTER)
    ws.row_dimensions[PANEL_HEAD].height = 30
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    for n, chk in enumerate(checks, 1):
        r = PANEL_HEAD + n
        values = (n, chk.label, chk.rule, SEVERITY_LABEL[chk.severity], "=" + chk.count, link_formula(chk, r))
        for i, v in enumerate(values, 1):
            c = ws.cell(r, i, v)
            _style(c, fill=FILL_COMPUTED if i >= 5 else None, fmt=FMT_INT if i == 5 else None,
                   align=left if i in (2, 6) else CENTER)
        ws[f"{PANEL_CELL_COL}{r}"] = "=" + chk.first
        ws[f"{PANEL_KEY_COL}{r}"] = chk.key
        ws.row_dimensions[r].height = 20
        ws.conditional_formatting.add(f"E{r}", FormulaRule(formula=[f"E{r}>0"], **_dxf(chk.severity)))
        target = wb[chk.sheet]
        count_cell = f"{quote_sheetname(ws.title)}!$E${r}"
        for sqref, formula in chk.cf:
            formula = formula.replace(selfcheck.COUNT_CELL, count_cell)
            target.conditional_formatting.add(sqref, FormulaRule(formula=[formula], **_dxf(chk.severity)))
    ws.conditional_formatting.add("B3", FormulaRule(formula=["selfcheck_count>0"], **_dxf("error")))
    ok = "C6EFCE"   # Excel's "green fill, dark green text"
    ws.conditional_formatting.add("B3", FormulaRule(
        formula=["selfcheck_count=0"], fill=PatternFill(bgColor=ok, fgColor=ok, fill_type="solid"),
        font=Font(color="006100")))
    r = last + 2
    for text in ("红色：错误，必须修改；黄褐色：警告，请修改，或在校验后的“审核结果”中说明理由。",
                 "出错的单元格在各工作表中以同样颜色标出，改正后颜色自动消失。",
                 "首次填报请先阅读“填报说明”。本页显示“自查通过”后，请点击“校验”，或报送由财政部门校验。"):
        c = ws.cell(r, 1, text)
        c.font = FONT_HINT
        c.alignment = Alignment(wrap_text=False, vertical="center")
        r += 1
    ws.freeze_panes = f"A{first}"
    _print_setup(ws, landscape=False)
    _protect(ws)


def _sheet_review(ws):
    _title(ws, "审核结果", "由“校验”按钮或 xlcheck 自动生成，请勿手工编辑（“填报单位说明”列除外）。")
    ws.column_dimensions["A"].width = 16
    _print_setup(ws, landscape=True)


# ---------------------------------------------------------------- building

def _issued(department, year):
    dept = None if department is None or not str(department).strip() else str(department).strip()
    return dept, None if year is None else int(year)


def build_workbook(*, department=None, year=None, framework=None) -> Workbook:
    """The template as an openpyxl Workbook (not saved; formula cells without cached values).

    With `department` and/or `year` it is a copy issued for that department / year: dept_name
    and eval_year are filled in and locked, and issued_dept / issued_year on 填报说明 record
    what the copy was issued for (blank in the blank template).
    """
    department, year = _issued(department, year)
    fw = _resolve_framework(framework)
    wb = Workbook()
    wb.properties.creator = "xlcheck"
    wb.properties.lastModifiedBy = "xlcheck"
    wb.properties.title = "部门整体支出绩效自评表"
    wb.properties.subject = f"xlcheck template {TEMPLATE_VERSION}"
    wb.properties.keywords = "xlcheck"
    ws_panel = wb.active
    ws_panel.title = SHEET_SELFCHECK
    ws_guide = wb.create_sheet(SHEET_GUIDE)
    sheets = {name: wb.create_sheet(name) for name in (
        SHEET_INFO, SHEET_TASKS, SHEET_INDICATORS, SHEET_SCORES, SHEET_PROBLEMS, SHEET_TEXTS, SHEET_REVIEW)}
    _sheet_guide(wb, ws_guide, department, year)
    _sheet_info(wb, sheets[SHEET_INFO], department, year)
    for spec in (TASKS, INDICATORS, PROBLEMS):
        ws = sheets[spec.sheet]
        _table(wb, ws, spec)
        _protect(ws)
    _sheet_scores(wb, sheets[SHEET_SCORES], fw)
    _sheet_texts(wb, sheets[SHEET_TEXTS])
    _sheet_review(sheets[SHEET_REVIEW])
    _sheet_selfcheck(wb, ws_panel)   # last: it reads the other sheets' layout
    wb.active = 0
    return wb


def build_template(path, *, department=None, year=None, framework=None) -> None:
    """Write the template workbook to `path` (atomically); same code and arguments, same bytes."""
    from xlcheck.fill import cached_values
    wb = build_workbook(department=department, year=year, framework=framework)
    save_workbook(wb, path, cached=cached_values(wb), fixed_core=True)


def template_bytes(*, department=None, year=None, framework=None) -> bytes:
    buf = io.BytesIO()
    from xlcheck.fill import cached_values
    wb = build_workbook(department=department, year=year, framework=framework)
    wb.save(buf)
    return finalize_package(buf.getvalue(), cached_values(wb), fixed_core=True)


# ---------------------------------------------------------------- package post-processing

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def save_workbook(wb, path, *, cached=None, fixed_core=False) -> None:
    """Save with openpyxl, inject cached formula values, fix timestamps, replace `path` atomically."""
    buf = io.BytesIO()
    wb.save(buf)
    data = finalize_package(buf.getvalue(), cached or {}, fixed_core=fixed_core)
    write_atomic(path, data)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> part name (xl/worksheets/sheetN.xml)."""
    wbx = etree.fromstring(zf.read("xl/workbook.xml"))
    rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")}
    out = {}
    for s in wbx.iter(f"{{{_NS_MAIN}}}sheet"):
        t = targets.get(s.get(f"{{{_NS_REL}}}id"), "")
        t = t.lstrip("/") if t.startswith("/") else "xl/" + t
        out[s.get("name")] = t
    return out


def _format_number(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _set_cached(c, value) -> None:
    v = c.find(f"{{{_NS_MAIN}}}v")
    if v is None:
        v = etree.SubElement(c, f"{{{_NS_MAIN}}}v")
    if isinstance(value, bool):
        c.set("t", "b")
        v.text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        c.attrib.pop("t", None)
        v.text = _format_number(value)
    else:
        c.set("t", "str")
        v.text = str(value)


def finalize_package(data: bytes, cached: dict, *, fixed_core: bool) -> bytes:
    """Rewrite a saved package: cached values {(sheet, "B5"): value} into formula cells,
    fixed core timestamps (optional) and fixed zip entry timestamps."""
    by_sheet: dict[str, dict[str, object]] = {}
    for (sheet, coord), value in cached.items():
        by_sheet.setdefault(sheet, {})[coord] = value
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = {p: s for s, p in sheet_parts(zin).items()}
        for info in zin.infolist():
            body = zin.read(info.filename)
            sheet = parts.get(info.filename)
            if sheet is not None:
                # every sheet goes through lxml: openpyxl writes each CJK character as &#NNNNN;,
                # re-serialising as UTF-8 makes parts ~3x smaller and faster to read
                body = _patch_sheet(body, by_sheet.get(sheet, {}))
            elif fixed_core and info.filename == "docProps/core.xml":
                body = _fix_core(body)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            zout.writestr(zi, body)
    return out.getvalue()


def _patch_sheet(body: bytes, values: dict[str, object]) -> bytes:
    root = etree.fromstring(body)
    # heights stay as set, but no row is "custom": Excel, WPS and LibreOffice refit a row's
    # height when the filler types into it, so a long text is not cut off on screen or paper
    for row in root.iter(f"{{{_NS_MAIN}}}row"):
        row.attrib.pop("customHeight", None)
    todo = dict(values)
    for c in root.iter(f"{{{_NS_MAIN}}}c"):
        if not todo:
            break
        r = c.get("r")
        if r in todo and c.find(f"{{{_NS_MAIN}}}f") is not None:
            _set_cached(c, todo.pop(r))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _fix_core(body: bytes) -> bytes:
    root = etree.fromstring(body)
    for el in root:
        if etree.QName(el).localname in ("created", "modified"):
            el.text = FIXED_TIME
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
