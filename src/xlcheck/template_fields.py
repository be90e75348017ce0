"""The template's sheets, single cells and tables: names, labels, headers and dropdown values from
checks/interface.toml (the rules' source too); this module adds only layout (kinds, widths, hints)."""
from __future__ import annotations

from dataclasses import dataclass

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
        width, kind, choices, prompt = layout.get(h, (14, "text", (), ""))   # a header added in the file
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
