"""Build template.xlsx from code (SPEC 2): deterministic, names and tables are the interface.

The parts: template_fields (what the interface file says: sheets, names, tables, headers),
template_style (styles and cell helpers), template_panel (the 自查 sheet), template_package
(cached values and deterministic bytes). This module lays out the sheets and builds the book.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from xlcheck import TEMPLATE_VERSION, formulas, selfcheck
from xlcheck.framework import Framework, load_framework
from xlcheck.template_fields import (  # noqa: F401  INFO_FIELDS, TEXT_FIELDS, SHEET_REVIEW: re-exported
    INDICATORS, INFO_FIELDS, PRESET_HINT, PROBLEMS, REQUIRED_MARK, SCORES, SHEET_GUIDE, SHEET_INDICATORS,
    SHEET_INFO, SHEET_PROBLEMS, SHEET_REVIEW, SHEET_SCORES, SHEET_SELFCHECK, SHEET_TASKS, SHEET_TEXTS,
    TABLE_HEADER_ROW, TASKS, TEXT_FIELDS, TableSpec)
from xlcheck.template_package import finalize_package, save_workbook  # noqa: F401  save_workbook: re-exported
from xlcheck.template_panel import _sheet_selfcheck
from xlcheck.template_style import (CENTER, FILL_COMPUTED, FILL_FIXED, FILL_FORMULA_INPUT, FILL_HEADER,
                                    FILL_INPUT, FILL_SECTION, FMT_AMOUNT, FMT_DATE, FMT_INT, FMT_RATE, FMT_TEXT,
                                    FMT_YEAR, FONT, FONT_BOLD, FONT_HINT, WRAP_CENTER, WRAP_TOP, _define,
                                    _print_setup, _protect, _row_height, _style, _title, _validation)


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
    _style(ws["B3"], fill=FILL_FIXED, fmt=FMT_TEXT, align=left)   # fixed, not computed: white
    _define(wb, "template_version", ws, "B3")
    # the department and year this copy was issued for (blank in the blank template): the
    # issuance rules compare them with dept_name / eval_year of the returned workbook
    for r, label, name, value in ((4, "本表下发给", "issued_dept", department),
                                  (5, "下发年度", "issued_year", year)):
        ws.cell(r, 1, label)
        _style(ws.cell(r, 1), font=FONT_BOLD)
        c = ws.cell(r, 2, value)
        _style(c, fill=FILL_FIXED, fmt=FMT_TEXT, align=left)   # B3's style: a year shows as is
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
        (FILL_FIXED, "白色：表头、说明、评分框架和财政部门预填的内容（已锁定），请勿修改。"),
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
            _style(c, fill=FILL_FIXED, fmt=FMT_YEAR if f.kind == "year" else None,
                   align=Alignment(horizontal="left", vertical="center"))
            _validation(ws, coord, title=f.label, prompt=PRESET_HINT)
        elif f.kind.startswith("f_"):
            c.value = formulas.EXCEL[f.name]
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
                c.value = formulas.indicator_rate_formula(L["指标方向"], L["年度目标值"], L["年度实现值"])
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
            (r_total, "自评总分", "score_total", formulas.score_total_formula(f"${sc}${first}:${sc}${last}"), "0.00"),
            (r_grade, "评价等级", "grade", formulas.grade_formula(fw), None)):
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
