"""The workbook model: what a filled self-assessment is, independent of how it was read."""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any, Iterator

from .numbers import ErrorValue, format_shown

__all__ = ["Cell", "ErrorValue", "Problem", "Table", "TableRow", "Workbook"]


@dataclass(slots=True)
class Cell:
    sheet: str
    address: str                  # "C5", no $
    value: Any = None             # str | float | int | bool | datetime | ErrorValue | None
    formula: str | None = None    # without the leading "="
    number_format: str = "General"
    decimals: int | None = None   # decimals shown (None: not a number format / unknown)
    percent: bool = False
    field: str | None = None      # defined name, or "table.column"
    row: int | None = None        # 1-based data row for table cells

    @property
    def blank(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())

    @property
    def is_error(self) -> bool:
        return isinstance(self.value, ErrorValue)

    @property
    def text(self) -> str:
        """The value as the user would read it (for messages and the 填报值 column)."""
        v = self.value
        if v is None:
            return ""
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (int, float)):
            return format_shown(v, self.decimals, self.percent)
        return str(v)


@dataclass(slots=True)
class TableRow:
    index: int                    # 1-based data row inside the table (blank rows counted)
    cells: dict[str, Cell]

    def __getitem__(self, header: str) -> Cell:
        return self.cells[header]

    def get(self, header: str) -> Cell | None:
        return self.cells.get(header)

    def value(self, header: str) -> Any:
        c = self.cells.get(header)
        return None if c is None else c.value


@dataclass(slots=True)
class Table:
    name: str                     # lower-case display name
    sheet: str
    ref: str                      # "A4:J44"
    headers: list[str]            # header texts as found in the sheet
    rows: list[TableRow]          # non-blank data rows only
    header_row: int = 1           # sheet row of the header
    first_col: int = 1            # sheet column of the first header
    last_row: int = 1             # sheet row of the last data row

    def column(self, header: str) -> Iterator[Cell]:
        for r in self.rows:
            c = r.cells.get(header)
            if c is not None:
                yield c

    def has(self, header: str) -> bool:
        return header in self.headers


@dataclass(slots=True)
class Problem:
    """Something the reader could not resolve (reported by the structure rules)."""
    kind: str                     # "name" | "table" | "sheet"
    name: str
    detail: str


@dataclass(slots=True)
class Workbook:
    source: str                              # path, or the book's name in Excel
    sheets: list[str] = dc_field(default_factory=list)
    names: dict[str, Cell] = dc_field(default_factory=dict)
    tables: dict[str, Table] = dc_field(default_factory=dict)
    cells: dict[str, dict[tuple[int, int], Cell]] = dc_field(default_factory=dict)
    problems: list[Problem] = dc_field(default_factory=list)
    vba: bool = False
    # what several rules derive from this workbook, computed once while it is checked
    memo: dict = dc_field(default_factory=dict, compare=False, repr=False)

    def value(self, name: str) -> Any:
        c = self.names.get(name)
        return None if c is None else c.value

    def has(self, need: str) -> bool:
        """True when a defined name, a table or a `table.column` is present."""
        if "." in need:
            t, col = need.split(".", 1)
            tab = self.tables.get(t)
            return tab is not None and tab.has(col)
        return need in self.names or need in self.tables

    @property
    def template_version(self) -> str | None:
        v = self.value("template_version")
        return None if v is None else str(v).strip()
