"""Is a text a real explanation? One definition for the rules (偏差原因, 扣分原因 …) and for what a
filler types in the review sheet's 填报单位说明: not a placeholder (无, 暂无, 略, /, 同上 …, from
words.toml), not too short (thresholds.toml), not the same sentence pasted under several items."""
from __future__ import annotations

import re
from functools import lru_cache

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Full-width ASCII (１２３，％；) to half-width; same length, so positions stay valid."""
    return text.translate(_FULLWIDTH)


def meaningful_chars(text) -> int:
    """Chinese characters, letters and digits (punctuation and spaces do not count)."""
    if text is None:
        return 0
    return len(_NON_WORD.sub("", str(text)))


def normalize_text(text) -> str:
    """Key for comparing explanations: width-folded, lower-case, without spaces and punctuation."""
    return _NON_WORD.sub("", fold("" if text is None else str(text)).lower())


@lru_cache(maxsize=8)
def _placeholder_keys(placeholders: tuple) -> tuple[frozenset, frozenset]:
    keys = frozenset(k for k in (normalize_text(p) for p in placeholders) if k)
    raw = frozenset(str(p).strip() for p in placeholders if not normalize_text(p))
    return keys, raw


def is_placeholder(text, placeholders) -> bool:
    """无, 暂无, 略, /, —, 同上 …: a text that only says nothing (also punctuation only)."""
    if text is None:
        return False
    s = str(text).strip()
    if not s:
        return False
    if len(s) > 24:   # placeholders are short: a long text is one only when it has no word at all
        return not _NON_WORD.sub("", s)
    key = normalize_text(s)
    if not key:
        return True
    keys, raw = _placeholder_keys(tuple(placeholders))
    return key in keys or s in raw


def text_problem(text, words: dict, thresholds: dict) -> str | None:
    """"blank" | "placeholder" | "short" | None (a real explanation)."""
    if text is None or not str(text).strip():
        return "blank"
    if is_placeholder(text, words.get("placeholders", ())):
        return "placeholder"
    if meaningful_chars(text) < int(thresholds.get("min_explanation_chars", 6)):
        return "short"
    return None
