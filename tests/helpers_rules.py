"""Test helpers for the rule families: a clean, fully consistent filled workbook and small tools
to break it (by defined names and table headers, never by fixed addresses) and check it.

Usable by every family's tests:
    path = build(tmp_path / "x.xlsx", cells={"budget_adjustment": 0.5})
    res = check(path)              # FileResult of all rules
    assert "ARI001" in rule_ids(res)
    edit(path, lambda wb: ...)     # openpyxl edit, then cached values re-injected
"""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import openpyxl

from xlcheck.fill import fill, find_table, inject_cached_values, name_cell, table_layout
from xlcheck.framework import load_framework
from xlcheck.reader import read_workbook
from xlcheck.rules import load_checks
from xlcheck.runner import check_workbooks

# 480.00 + 16.50 = 496.50; 489.12 / 496.50 = 98.51 %; 16.50 / 480.00 = 3.44 %; 489.12 / 463.80 - 1 = 5.46 %
# general 489.12 = actual; basic 402.37 + project 86.75 = 489.12; eval funds 86.75 / 86.75 = 100 %
CLEAN_CELLS = {
    "dept_name": "广州市某区工商业联合会",
    "eval_year": 2024,
    "unit_count": 1,
    "org_structure": "办公室",
    "preparer": "林某",
    "preparer_phone": "020-12345678",
    "fill_date": dt.date(2025, 3, 10),
    "budget_initial": 480.00,
    "budget_adjustment": 16.50,
    "spend_actual": 489.12,
    "spend_general": 489.12,
    "spend_gov_fund": 0.0,
    "spend_soe_capital": 0.0,
    "spend_other": 0.0,
    "spend_basic": 402.37,
    "spend_project": 86.75,
    "spend_prev_year": 463.80,
    "project_l1_count": 2,
    "project_l2_count": 8,
    "project_eval_funds": 86.75,
    # every section of the report written (SPEC 3, completeness), with no year or figure in it
    "text_duties": "宣传贯彻党和国家关于非公有制经济发展的方针政策，引导会员企业守法诚信经营，协助政府服务非公有制经济。",
    "text_work": "围绕思想政治引领、营商环境服务和商会改革发展三项重点工作制定计划，按季度跟踪落实。",
    "text_goal": "完成理想信念教育培训、会员企业走访和商会规范化建设等任务，会员企业满意度保持较高水平。",
    "text_finance": "部门收支按预算执行，支出以基本支出为主，项目支出主要用于培训、走访和商会建设。",
    "text_management": "建立绩效目标管理、运行监控和自评工作机制，自评结果用于改进下一年度的预算编制。",
    "text_effectiveness": "产出指标全部完成，效益指标达到预期，营商环境服务和商会建设工作成效明显。",
    "text_efficiency": "预算编制、执行、信息公开、采购和资产管理总体规范，运行成本控制在预算范围以内。",
    "text_conclusion": "部门整体支出绩效目标基本实现，预算执行总体较好，存在的问题已列明改进措施并落实整改。",
}

CLEAN_TABLES = {
    "tasks": [
        {"序号": 1, "任务名称": "强化思想政治引领", "预期目标": "举办理想信念教育培训不少于6期",
         "目标完成情况": "举办培训7期", "关键指标": "培训期数", "指标完成情况": "7期",
         "涉及资金（万元）": 18.40, "完成状态": "完成"},
        {"序号": 2, "任务名称": "优化营商环境服务", "预期目标": "走访会员企业不少于120家",
         "目标完成情况": "走访132家", "关键指标": "走访企业数", "指标完成情况": "132家",
         "涉及资金（万元）": 32.15, "完成状态": "部分完成", "未完成原因": "部分涉及用地的问题需跨部门协调，年内尚未办结"},
        {"序号": 3, "任务名称": "推动商会改革发展", "预期目标": "指导所属商会规范化建设不少于20个",
         "目标完成情况": "指导20个", "关键指标": "指导商会数", "指标完成情况": "20个",
         "涉及资金（万元）": 36.20, "完成状态": "完成"},
    ],
    "indicators": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "举办理想信念教育培训期数",
         "指标方向": "≥", "年度目标值": 6, "计量单位": "期", "年度实现值": 7},
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "走访会员企业数",
         "指标方向": "≥", "年度目标值": 120, "计量单位": "家", "年度实现值": 132},
        {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "商会规范化建设达标数",
         "指标方向": "=", "年度目标值": 20, "计量单位": "个", "年度实现值": 20},
        {"一级指标": "产出指标", "二级指标": "成本指标", "三级指标": "“三公”经费支出",
         "指标方向": "≤", "年度目标值": 3.60, "计量单位": "万元", "年度实现值": 3.28},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "营商环境持续优化",
         "指标方向": "定性", "年度目标值": "持续优化", "年度实现值": "达成", "完成率": 1.0},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "会员企业满意度",
         "指标方向": "≥", "年度目标值": 0.90, "计量单位": "%", "年度实现值": 0.96},
    ],
    "problems": [
        {"序号": 1, "存在的主要问题": "部分跨部门问题办理周期较长", "改进措施": "建立跨部门协调台账，按月跟踪办理进度"},
    ],
}

MY_FAMILIES = ("STR", "VAL", "ARI")


def framework_scores(**changes) -> list[dict]:
    """Every framework row at full marks; `changes` by 三级指标: a score, or a dict of columns."""
    rows = []
    for r in load_framework().rows:
        row = {"三级指标": r.name, "自评得分": r.points}
        ch = changes.get(r.name)
        if isinstance(ch, dict):
            row.update(ch)
        elif ch is not None:
            row["自评得分"] = ch
        rows.append(row)
    return rows


def indicator(kind, name, target, actual, direction="≥", **more) -> dict:
    """One indicators row of the given 一级指标 (with a fitting 二级指标)."""
    level2 = {"产出指标": "数量指标", "效益指标": "社会效益指标", "满意度指标": "服务对象满意度指标"}[kind]
    return {"一级指标": kind, "二级指标": level2, "三级指标": name, "指标方向": direction,
            "年度目标值": target, "计量单位": "个", "年度实现值": actual, **more}


def full_scores() -> list[dict]:
    """Full marks, except 部门预算资金支出率 = 10 × 98.51 % = 9.85 (with reason and measure)."""
    out = [{"三级指标": r.name, "自评得分": r.points} for r in load_framework().rows]
    for row in out:
        if row["三级指标"] == "部门预算资金支出率":
            row.update({"自评得分": 9.85, "扣分原因": "预算完成率98.51%，政府采购项目中标价低于预算形成结余",
                        "改进措施": "细化项目预算编制，加强采购预算与市场价格的衔接"})
    return out


def build(path, cells: dict | None = None, tables: dict | None = None, *, drop: tuple = ()) -> Path:
    """Fill a template copy with the clean data, overridden by `cells` / `tables`.

    `cells` values replace the clean ones (None: leave the template's cell as is); `drop` lists
    names left blank. `tables[name]` replaces that table's rows entirely.
    """
    c = dict(CLEAN_CELLS)
    for n in drop:
        c.pop(n, None)
    c.update(cells or {})
    t = copy.deepcopy(CLEAN_TABLES)
    t["scores"] = full_scores()
    t.update(tables or {})
    path = Path(path)
    fill(path, cells=c, tables=t)
    return path


def edit(path, fn, *, inject: bool = True) -> Path:
    """Open with openpyxl, let `fn(wb)` change it, save; re-inject cached values of intact formulas
    (openpyxl drops them) unless `inject` is False."""
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)
    if inject:
        inject_cached_values(path)
    return Path(path)


def cell_of(wb, name):
    """The openpyxl cell of a defined name."""
    sheet, coord = name_cell(wb, name)
    return wb[sheet][coord]


def table_cell(wb, table: str, header: str, row: int):
    """The openpyxl cell of a table's column `header` in data row `row` (1-based)."""
    ws, t = find_table(wb, table)
    head, first, last, cols = table_layout(ws, t)
    from xlcheck.framework import normalize_name
    return ws.cell(first + row - 1, cols[normalize_name(header)])


def check(*paths):
    """FileResult (one path) or list of FileResults (several paths, checked as one batch)."""
    wbs = [read_workbook(p) for p in paths]
    res = check_workbooks(wbs, load_checks())
    return res[0] if len(paths) == 1 else res


def findings(res, rule_id: str | None = None, families=None):
    out = [f for f in res.findings if rule_id is None or f.rule == rule_id]
    if families:
        out = [f for f in out if f.rule.startswith(tuple(families))]
    return out


def rule_ids(res, families=None) -> set[str]:
    return {f.rule for f in findings(res, families=families)}


def crashed(res) -> list:
    """Findings that say a rule crashed (must never happen)."""
    return [f for f in res.findings if "运行出错" in f.message]
