"""The .xlsx/.xlsm package: what a reader delivers (`book`), A1 references (`refs`), guarded zip
access (`package`), the one reader (`reader`) and the surgical edit that writes the review sheet
(`edit`, `styles`).

`read_package(path) -> RawBook` is the documented low-level entry point: sheets → cells (value,
formula, number format), defined names, tables.

The lxml-based modules load on first use: the add-in's xlwings path (also under Pyodide, where lxml
may be missing) needs only `book` and `refs`.
"""
from __future__ import annotations

import importlib

from .book import (BUILTIN_FORMATS, M, NS_CT, NS_MAIN, NS_PKG_REL, NS_REL, DefinedName, RawBook, RawTable,
                   is_date_format, serial_to_datetime)
from .refs import col_index, col_letters, range_bounds, split_ref

_LAZY = {"read_package": "reader", "read_layout": "reader", "number_formats": "reader", "Package": "package",
         "parse_xml": "package", "MAX_CELLS": "package", "MAX_ENTRIES": "package", "MAX_PART_BYTES": "package",
         "MAX_RATIO": "package", "MAX_TOTAL_BYTES": "package"}
_SUBMODULES = ("package", "reader", "edit", "styles")


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BUILTIN_FORMATS", "M", "NS_CT", "NS_MAIN", "NS_PKG_REL", "NS_REL", "DefinedName", "RawBook", "RawTable",
           "is_date_format", "serial_to_datetime", "col_index", "col_letters", "range_bounds", "split_ref",
           *_LAZY]
