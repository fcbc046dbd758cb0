"""An office list on a phone: how wide a line may be, the one legend of the lights, and the question
a list's button carries.

The lists themselves are built in bot/office_lists.py; the escalation lists the clock sends
(bot/render.py) are drawn with the same width, legend and buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypeVar

from tasks.text import display_width

_B = TypeVar("_B")

# The columns of one line a phone shows without wrapping (a Chinese character and an emoji take two).
PHONE_COLUMNS = 34
SUMMARY_ROWS = 8  # units or teams on one page of a summary
NAMES_PER_ROW = 2  # unit or team buttons in a row: a name needs room to be read
NUMBERS_PER_ROW = 5  # task-number buttons in a row

# One legend for the lights, said in every message that shows them (tasks.work.progress.traffic_light;
# a unit or a team takes the worst light among its duties).
LEGEND = "🔴逾期 🟡7天内到期或待审核 🟢其余"
GROUP_LEGEND = "单位、专班的颜色取其最差的一项"

OVERDUE, DUE, OPEN, STATS = "o", "d", "n", "s"  # the questions
UNITS, TEAMS, ITEMS = "s", "t", "i"  # the views: a summary by unit, by work team, or the duties themselves

_DATA = re.compile(r"ls:(o|d\d{1,3}|n|s):(a|[utcp]\d{1,18}):([sti])(\d{1,6})")


@dataclass(frozen=True)
class ListQuery:
    """A question and where in its answer: the whole state of a list button (callback_data, ≤ 64 bytes)."""

    question: str  # OVERDUE, DUE, OPEN or STATS
    scope: str = "a"  # "a" everyone; "u<id>" a unit; "t<id>" a work team; "c<task id>" / "p<task id>": that
    # task's 工作事项 / 任务类别 (a category's name may be longer than a button's data allows)
    view: str = UNITS
    page: int = 1
    days: int = 0  # for DUE: within how many days

    @property
    def data(self) -> str:
        question = f"{DUE}{self.days}" if self.question == DUE else self.question
        return f"ls:{question}:{self.scope}:{self.view}{self.page}"

    @classmethod
    def parse(cls, data: str) -> ListQuery | None:
        match = _DATA.fullmatch(data)
        if match is None:
            return None
        question, scope, view, page = match.groups()
        days = int(question[1:]) if question.startswith(DUE) else 0
        return cls(question[0], scope, view, max(int(page), 1), days)

    def at(self, page: int, view: str | None = None) -> ListQuery:
        return replace(self, page=page, view=view or self.view)


# Wider on a phone than on a terminal: emoji and the ellipsis take two columns; a variation selector
# or a zero-width joiner takes none.
_EMOJI = re.compile("[\u2026\u2300-\u23ff\u25a0-\u25ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\ufe00-\ufe0f]")


def phone_width(text: str) -> int:
    """The columns ``text`` takes on one line of a phone's chat."""
    return display_width(text) + len(_EMOJI.findall(text)) - len(_ZERO_WIDTH.findall(text))


def fit(text: str, columns: int) -> str:
    """``text`` on one line of at most ``columns``, cut with "…" where it is longer."""
    text = " ".join(text.split())
    if phone_width(text) <= columns:
        return text
    kept, width = "", phone_width("…")
    for character in text:
        width += phone_width(character)
        if width > columns:
            break
        kept += character
    return kept + "…"


def button_name(name: str) -> str:
    """A unit's or a team's name on a button, two to a row."""
    return fit(name, 16)


def button_rows(buttons: list[_B], per_row: int) -> list[list[_B]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def names_in_lines(names: list[str], lines: int) -> list[str]:
    """Names joined by "、" into at most ``lines`` lines of a phone; the last says how many did not fit."""
    packed: list[str] = []
    current = ""
    for index, name in enumerate(names):
        candidate = f"{current}、{name}" if current else fit(name, PHONE_COLUMNS)
        if phone_width(candidate) <= PHONE_COLUMNS:
            current = candidate
            continue
        if len(packed) == lines - 1:
            return [*packed, _with_the_rest(current, len(names) - index)]
        packed.append(current)
        current = fit(name, PHONE_COLUMNS)
    return [*packed, current] if current else packed


def _with_the_rest(line: str, left: int) -> str:
    """"甲、乙等5个": names dropped from the end of the line until the count fits beside them."""
    names = line.split("、")
    while len(names) > 1 and phone_width("、".join(names) + f"等{left}个") > PHONE_COLUMNS:
        names.pop()
        left += 1
    return fit("、".join(names), PHONE_COLUMNS - phone_width(f"等{left}个")) + f"等{left}个"


def wrapped(text: str, lines: int) -> list[str]:
    """``text`` on at most ``lines`` lines of a phone, the last cut with "…" if it still runs on."""
    text = " ".join(text.split())
    result: list[str] = []
    while text and len(result) < lines - 1 and phone_width(text) > PHONE_COLUMNS:
        cut, width = 0, phone_width(text[0])
        while width <= PHONE_COLUMNS:  # the characters that fit: the width of each added once
            cut += 1
            width += phone_width(text[cut])
        result.append(text[:cut])
        text = text[cut:]
    return [*result, fit(text, PHONE_COLUMNS)] if text else result
