"""Numbered sub-items inside one task cell: "1. … 2. … 3. …" (or "△… △…") are tasks of their own."""

from __future__ import annotations

import re

# "1." / "1、" / "1．" at the start or after a sentence break, and "（1）" / "(1)".
_DOTTED = re.compile(r"(?:^|(?<=[\s。；;，,！!？?]))(\d{1,2})\s*[.．、](?!\d)")
_BRACKETED = re.compile(r"(?:^|(?<=[\s。；;，,！!？?]))[（(](\d{1,2})[）)]")
# What marks an item in a list, as a number does.
BULLET_MARKS = "△▲●◆■□▪•◇○"
# "△加强财政监督… △加强税源监控…": bullets, each at the cell's start or after a line break or space.
BULLETED = re.compile(rf"(?:^|(?<=\s))\s*[{BULLET_MARKS}]\s*")


def _sequential_marks(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int, int]]:
    """(number, start, end) of the marks that count 1, 2, 3… in order; others are prose."""
    marks: list[tuple[int, int, int]] = []
    for match in pattern.finditer(text):
        if int(match.group(1)) == len(marks) + 1:
            marks.append((len(marks) + 1, match.start(), match.end()))
    return marks


def split_subitems(text: str) -> list[tuple[int, str]]:
    """The numbered sub-items of a cell, or [] when it is one task."""
    bullets = [(number, match.start(), match.end()) for number, match in enumerate(BULLETED.finditer(text), start=1)]
    for pattern in (_DOTTED, _BRACKETED, None):
        marks = _sequential_marks(text, pattern) if pattern is not None else bullets
        if len(marks) >= 2:
            items = []
            for index, (number, _start, end) in enumerate(marks):
                stop = marks[index + 1][1] if index + 1 < len(marks) else len(text)
                items.append((number, text[end:stop].strip()))
            return items
    return []
