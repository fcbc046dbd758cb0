"""Traditional characters (繁體), read as simplified ones and given back as written.

Reposts of task documents on Hong Kong, Macao and Taiwan sites, and some mirrors, write
traditional characters: 責任單位, 縣教育局, 12月底前完成. The readers match simplified words,
so a traditional document is read through its simplified twin, character for character
(OpenCC's character table, its first choice for each), which keeps every position. What
the reading returns is turned back into the document's own characters, so a unit is
stored as the document names it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from importlib.resources import files

# A document is traditional when this share of its Chinese characters has a simplified form:
# a simplified text has a few such characters too (乾隆, 著作), far fewer than this.
TRADITIONAL_SHARE = 0.03
SAMPLE_CHARACTERS = 100_000
_HAN = re.compile(r"[\u3400-\u9fff]")


@functools.cache
def _table(dictionary: str) -> dict[int, str]:
    """OpenCC's character table, its first choice for each character."""
    text = (files("opencc") / "dictionary" / dictionary).read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        written, _, choices = line.partition("\t")
        first = choices.split(" ")[0]
        if len(written) == 1 and len(first) == 1:
            table[ord(written)] = first
    return table


def to_simplified(text: str) -> str:
    """The same text in simplified characters; its length and positions are unchanged."""
    return text.translate(_table("TSCharacters.txt"))


def to_traditional(text: str) -> str:
    """The same text in traditional characters, as a repost would write it (the bench and the tests
    make traditional copies of simplified documents with it)."""
    return text.translate(_table("STCharacters.txt"))


@functools.cache
def _traditional_characters() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(code)) for code in _table("TSCharacters.txt")) + "]")


def is_traditional(text: str) -> bool:
    # A document is written in one script throughout: its beginning says which.
    sample = text[:SAMPLE_CHARACTERS]
    han = len(_HAN.findall(sample))
    return han > 0 and len(_traditional_characters().findall(sample)) / han >= TRADITIONAL_SHARE


class AsWritten:
    """Turns simplified text read from a traditional document back into the document's characters."""

    def __init__(self, original: str, simplified: str) -> None:
        seen: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for written, read in zip(original, simplified, strict=True):
            if written != read:
                seen[read][written] += 1
        # Where two traditional characters share one simplified form (發/髮 -> 发), the one this
        # document uses most is taken.
        self._back = {ord(read): counts.most_common(1)[0][0] for read, counts in seen.items()}

    def __call__(self, text: str) -> str:
        return text.translate(self._back)
