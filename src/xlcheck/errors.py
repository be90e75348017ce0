"""Exceptions with messages meant for the user (Chinese)."""


class XlcheckError(Exception):
    """Base class: the message is shown to the user as is."""


class ConfigError(XlcheckError):
    """A checks directory (rules, thresholds, framework) is malformed."""


class ReadError(XlcheckError):
    """A file cannot be read as a workbook at all."""
