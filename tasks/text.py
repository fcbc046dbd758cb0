"""Text clean-up shared by the parsers.

Converted government documents carry markup from the conversion (``**bold**``,
``<b>``, ``<sup>``), full-width digits and letters, and Chinese numerals. The
parsers work on normalised text so that one rule covers every spelling.
"""

from __future__ import annotations

import re
import unicodedata

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUP_TAG = re.compile(r"\s*<sup>\s*(.*?)\s*</sup>", re.IGNORECASE)
_INLINE_TAGS = re.compile(r"</?(?:b|strong|i|em|u|span|font)(?:\s[^>]*)?>", re.IGNORECASE)
_BREAK_TAGS = re.compile(r"<br\s*/?>", re.IGNORECASE)
# (A run of three or more is no bold mark but a name a republishing site masked: "****分局", "***总书记".)
_BOLD_MARKS = re.compile(r"(?<!\*)\*\*(?!\*)|__")
WHITE_SPACE = re.compile(r"\s+")

# "2021年" / "2021 年" in a title or a cell: the plan year.
YEAR = re.compile(r"((?:19|20)\d{2})\s*年")

# NUL: no document means one, and PostgreSQL refuses it in text where SQLite keeps it, so a
# document with one imported on one database only. (Other control characters are stored alike by
# both, and a form feed still ends a line.)
NUL = "\x00"

CHINESE_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
                  "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def without_nul(text: str) -> str:
    return text.replace(NUL, "") if NUL in text else text


def strip_markup(line: str) -> str:
    """Remove the bold/superscript markup a document conversion leaves behind."""
    if "<" not in line and "*" not in line and "_" not in line:  # most lines: nothing to strip
        return line
    line = _SUP_TAG.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), line)
    line = _BREAK_TAGS.sub(" ", line)
    line = _INLINE_TAGS.sub("", line)
    return _BOLD_MARKS.sub("", line)


# Some mirrored pages print a character's reading after it: "責(zé)任單位", "縣發(fā)改委". A reading is
# lower-case pinyin with a tone mark, in brackets, right after a Chinese character.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN_GLOSS = re.compile(rf"(?<=[\u4e00-\u9fff])[(（](?=[a-zü]*[{_TONED}])[a-zü{_TONED}]{{1,7}}[)）]")


def without_pinyin_glosses(text: str) -> str:
    return _PINYIN_GLOSS.sub("", text) if "(" in text or "（" in text else text


# Characters two columns wide (East Asian Wide and Fullwidth): Chinese, full-width punctuation and forms.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
                   "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]")


def display_width(text: str) -> int:
    """How many columns ``text`` takes on a page or a terminal: a Chinese character two, a digit one."""
    # (A regular expression, not unicodedata character by character: every line of a long document.)
    return len(text) + len(_WIDE.findall(text))


def cut_at_width(line: str, columns: int) -> list[str]:
    """A line cut where it reaches ``columns``, as a PDF's text layer cuts prose (the bench and the
    tests make such text with it; the reader of documents joins it again)."""
    pieces: list[str] = []
    current, width = "", 0
    for character in line:
        wide = display_width(character)
        if width + wide > columns:
            pieces.append(current)
            current, width = "", 0
        current, width = current + character, width + wide
    return [*pieces, current]


def fold_width(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def compact(text: str) -> str:
    """NFKC and no white space at all: the key under which names are compared."""
    return WHITE_SPACE.sub("", fold_width(text)).replace("\u200b", "")


def chinese_number(token: str) -> int | None:
    """Value of a Chinese numeral up to 99 (十, 十二, 二十一) or a year (二〇二一)."""
    if not token:
        return None
    if token.isdigit():
        return int(token)
    if "十" not in token:
        if all(ch in CHINESE_DIGITS for ch in token):
            return int("".join(str(CHINESE_DIGITS[ch]) for ch in token))
        return None
    tens_text, _, ones_text = token.partition("十")
    if (tens_text and tens_text not in CHINESE_DIGITS) or (ones_text and ones_text not in CHINESE_DIGITS):
        return None
    tens = CHINESE_DIGITS[tens_text] if tens_text else 1
    ones = CHINESE_DIGITS[ones_text] if ones_text else 0
    return tens * 10 + ones


_NUMERAL_BEFORE_UNIT = re.compile(r"([〇零一二两三四五六七八九十]+)(?=年|月|日|号|季度|季|个月|周)")


def arabic_numerals(text: str) -> str:
    """Rewrite Chinese numerals that count years, months, days or quarters as digits."""

    def replace(match: re.Match[str]) -> str:
        value = chinese_number(match.group(1))
        return match.group(1) if value is None else str(value)

    return _NUMERAL_BEFORE_UNIT.sub(replace, text)


# A heading that sets the year of what follows in a multi-year plan: "2020年任务：", "（二）2021年重点任务",
# "2022年度工作安排".
YEAR_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[（(]\s*[一二三四五六七八九十\d]+\s*[）)]|\d{1,2}\s*[.．、])?\s*"
    r"(?P<year>(?:19|20)\d{2})\s*年度?(?:主要|重点)?(?:工作)?(?:任务|目标|工作|计划|安排|重点)?(?:清单)?\s*[:：]?$")
