"""The 自查 sheet of the template: one line per live check (xlcheck.selfcheck) with the rule it
mirrors, a count and a link to the first failing cell; the conditional formats that mark the
failing cells; and the two public names selfcheck_count / selfcheck_status."""
from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import quote_sheetname

from xlcheck import selfcheck
from xlcheck.rules import default_checks_dir, load_toml
from xlcheck.template_fields import IFACE, REQUIRED, SHEET_REVIEW, SHEET_SELFCHECK, SHEET_TEXTS
from xlcheck.template_style import (CENTER, FILL_COMPUTED, FILL_HEADER, FMT_INT, FONT_BOLD, FONT_HINT, FONT_NAME,
                                    _define, _print_setup, _protect, _style, _title)

PANEL_HEAD = 6                     # header row of the panel's list
PANEL_COLS = ("序号", "检查内容", "对应校验规则", "级别", "需修改处数", "首个位置（点击跳转）")
PANEL_KEY_COL = "H"                # hidden: the check's key, so a reader can tell the lines apart
PANEL_CELL_COL = "G"               # hidden: coordinate of the first failing cell
STATUS_OK = "自查通过，可点击 校验 或报送"
SEVERITY_LABEL = {"error": "错误", "warning": "警告"}


PANEL_WORDS_COL = "I"              # hidden: the placeholder words (words.toml) the formulas match


def _placeholder_words(wb) -> list[str]:
    """The words on the workbook's panel (as issued), else those of words.toml."""
    if SHEET_SELFCHECK in wb.sheetnames:
        ws = wb[SHEET_SELFCHECK]
        words = []
        for r in range(1, ws.max_row + 1):
            c = ws._cells.get((r, 9))   # column I, read without creating cells
            if c is None or c.value is None:
                break
            words.append(str(c.value))
        if words:
            return words
    return [str(w) for w in load_toml(default_checks_dir() / "words.toml").get("placeholders", [])]


def live_checks(wb) -> list:
    """The live checks of an openpyxl workbook made from the template (its own layout)."""
    layout, groups, l1_groups = layout_of(wb)
    words = _placeholder_words(wb)
    rng = f"{quote_sheetname(SHEET_SELFCHECK)}!${PANEL_WORDS_COL}$1:${PANEL_WORDS_COL}${len(words)}"
    return selfcheck.build_checks(
        layout, required=list(REQUIRED), texts=list(IFACE["sheets"][SHEET_TEXTS]),
        thresholds=load_toml(default_checks_dir() / "thresholds.toml"),
        placeholders=(rng, words) if words else None,
        table_required={t: list(v.get("required", ())) for t, v in IFACE["tables"].items()},
        score_groups=groups, l1_groups=l1_groups, total_points=100)   # PTS006 holds 100 too


# the conclusion at the top of every other sheet, linking to the panel
STATUS_LINK = f'=HYPERLINK("#{quote_sheetname(SHEET_SELFCHECK)}!A1",selfcheck_status)'


def status_formula() -> str:
    return f'=IF(selfcheck_count=0,"{STATUS_OK}","自查："&selfcheck_count&" 处需要修改")'


def status_text(count: int) -> str:
    return STATUS_OK if count == 0 else f"自查：{count} 处需要修改"


def first_formula(check, row: int) -> str:
    return "=" + check.first.replace(selfcheck.COUNT_CELL, f"E{row}")


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
    for r, word in enumerate(_placeholder_words(wb), 1):
        ws[f"{PANEL_WORDS_COL}{r}"] = word
    ws.column_dimensions[PANEL_WORDS_COL].hidden = True
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
                    (5, "数字是否以文本填写、说明是否过短或多处重复粘贴、文字与表格是否一致等，只有校验能判断。")):
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
        ws[f"{PANEL_CELL_COL}{r}"] = first_formula(chk, r)
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
    # every other sheet shows the conclusion at its top right, a click away from the panel
    for other in wb.worksheets:
        if other is ws or other.title == SHEET_REVIEW:
            continue
        c = other.cell(1, max(2, other.max_column), STATUS_LINK)
        _style(c, font=Font(name=FONT_NAME, size=11, bold=True), border=False,
               align=Alignment(horizontal="right", vertical="center"))
        other.conditional_formatting.add(c.coordinate, FormulaRule(formula=["selfcheck_count>0"], **_dxf("error")))
        other.conditional_formatting.add(c.coordinate, FormulaRule(
            formula=["selfcheck_count=0"], fill=PatternFill(bgColor=ok, fgColor=ok, fill_type="solid"),
            font=Font(color="006100")))


# ---------------------------------------------------------------- layout of an openpyxl workbook

def layout_of(wb, growing=("tasks", "indicators", "problems")) -> tuple[selfcheck.Layout, list, list]:
    """(Layout, score groups, 一级 groups) of an openpyxl workbook made from the template."""
    from openpyxl.utils import get_column_letter, range_boundaries
    names = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if len(dests) == 1 and ":" not in dests[0][1] and dests[0][0] in wb.sheetnames:
            names[name] = (dests[0][0], dests[0][1].replace("$", ""))
    tables = {}
    for ws in wb.worksheets:
        for t in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(t.ref)
            cols = {str(ws.cell(r0, c).value): get_column_letter(c) for c in range(c0, c1 + 1)
                    if ws.cell(r0, c).value is not None}
            key = (t.displayName or t.name).lower()
            tables[key] = selfcheck.TableAt(ws.title, r0 + 1, r1, cols, grows=key in growing)
    groups, l1_groups = [], []
    sc = tables.get("scores")
    if sc is not None and {"一级指标", "二级指标"} <= set(sc.cols):
        ws = wb[sc.sheet]
        keys = [(ws[f"{sc.cols['一级指标']}{r}"].value, ws[f"{sc.cols['二级指标']}{r}"].value)
                for r in range(sc.first, sc.last + 1)]
        start = sc.first
        for i, k in enumerate(keys):
            r = sc.first + i
            if i + 1 == len(keys) or keys[i + 1] != k:
                groups.append((start, r))
                start = r + 1
        for a, b in groups:
            l1 = keys[a - sc.first][0]
            if not l1_groups or keys[l1_groups[-1][0] - sc.first][0] != l1:
                l1_groups.append((a, []))
            l1_groups[-1][1].append(a)
    return selfcheck.Layout(names, tables), groups, l1_groups
