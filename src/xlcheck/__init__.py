"""xlcheck: 部门整体支出绩效自评 workbook checker."""

__version__ = "0.1.0"
TEMPLATE_VERSION = "1.0"
