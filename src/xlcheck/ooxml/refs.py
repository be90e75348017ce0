"""A1 references: column letters and numbers, cell and range bounds."""
from __future__ import annotations


def col_index(letters: str) -> int:
    """'C' → 3, 'AA' → 27 (letters in upper case)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_ref(ref: str) -> tuple[int, int]:
    """'C5' (or 'c5', '$C$5') → (5, 3); ValueError for anything else."""
    s = ref.replace("$", "").upper()
    i = 0
    while i < len(s) and "A" <= s[i] <= "Z":
        i += 1
    letters, digits = s[:i], s[i:]
    if not 1 <= len(letters) <= 3 or not digits.isdigit() or not digits.isascii():
        raise ValueError(ref)
    return int(digits), col_index(letters)


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """'A4:J44' → (min_row, min_col, max_row, max_col)."""
    a, _, b = ref.replace("$", "").partition(":")
    r0, c0 = split_ref(a)
    r1, c1 = split_ref(b) if b else (r0, c0)
    return r0, c0, r1, c1
