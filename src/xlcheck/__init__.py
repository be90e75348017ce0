"""xlcheck: 部门整体支出绩效自评 workbook checker."""

__version__ = "0.1.0"
TEMPLATE_VERSION = "1.1"


def main():
    """Entry point of the add-in button when the .xlam is loaded under its built name."""
    from .addin import main as run
    return run()
