"""The .xlsx/.xlsm package: guarded zip access (`package`), the one reader (`reader`) and the
surgical edit that writes the review sheet (`edit`).

`read_package(path) -> RawBook` is the documented low-level entry point: sheets → cells (value,
formula, number format), defined names, tables.
"""
from .package import (M, MAX_CELLS, MAX_ENTRIES, MAX_PART_BYTES, MAX_RATIO, MAX_TOTAL_BYTES, NS_CT, NS_MAIN,
                      NS_PKG_REL, NS_REL, Package, parse_xml)
from .reader import (BUILTIN_FORMATS, DefinedName, RawBook, RawTable, is_date_format, number_formats,
                     read_layout, read_package, serial_to_datetime)
from .refs import col_index, col_letters, range_bounds, split_ref

__all__ = ["M", "MAX_CELLS", "MAX_ENTRIES", "MAX_PART_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "NS_CT", "NS_MAIN",
           "NS_PKG_REL", "NS_REL", "Package", "parse_xml", "BUILTIN_FORMATS", "DefinedName", "RawBook", "RawTable",
           "is_date_format", "number_formats", "read_layout", "read_package", "serial_to_datetime", "col_index", "col_letters",
           "range_bounds", "split_ref"]
