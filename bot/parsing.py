"""Reading what people type after a command: task numbers, percentages, dates."""

from __future__ import annotations

import re
from datetime import date

from tasks.errors import ServiceError
from tasks.plan.deadlines import read_deadline
from tasks.text import fold_width

# Matched on the text as typed: \d and int() take full-width digits too, and the full-width signs
# are listed, so that what follows the number (a report, a reason) keeps its own "，。：" as typed.
_NUMBER = re.compile(r"^[#＃]?(\d{1,9})(?:\s+|$)")
_PERCENT = re.compile(r"^(\d{1,3})\s*[%％]\s*")
_ISO_DATE = re.compile(r"^(\d{4})[-./年－．／](\d{1,2})[-./月－．／](\d{1,2})日?(?:\s+|$)")
_WORD_DATE = re.compile(r"^(\S+?)(?:\s+|$)")


def task_number(args: str, usage: str, what: str = "任务编号") -> tuple[int, str]:
    """The leading number (a task's, or ``what`` the command takes) and the rest of the text."""
    text = args.strip()
    match = _NUMBER.match(text)
    if match is None:
        raise ServiceError(f"请在命令后写{what}。用法：{usage}")
    return int(match.group(1)), text[match.end():].strip()


def percent_and_text(text: str) -> tuple[int | None, str]:
    """"50% 已完成初稿" → (50, "已完成初稿"); percent is optional."""
    text = text.strip()
    match = _PERCENT.match(text)
    if match is None:
        return None, text
    value = int(match.group(1))
    if value > 100:
        raise ServiceError("进度百分比应在 0 到 100 之间。")
    return value, text[match.end():].strip()


def new_date_and_reason(text: str, today: date) -> tuple[date, str]:
    """"2021-11-30 等待批复", "11月底 等待批复" or "下月底 等待批复": the date a unit asks for, and why."""
    text = text.strip()
    usage = "格式：新日期 理由，如 2021-11-30 等待上级批复"
    if match := _ISO_DATE.match(text):
        try:
            wanted = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as error:
            raise ServiceError(f"日期“{match.group(0).strip()}”不存在。{usage}") from error
        return wanted, text[match.end():].strip()
    if match := _WORD_DATE.match(text):
        # Typed in chat: "下月底", "两周后" count from today, and "1月底" typed in December is next January.
        reading = read_deadline(fold_width(match.group(1)), today.year, reference=today, upcoming=True)
        if reading.deadline is not None:
            return reading.deadline, text[match.end():].strip()
    raise ServiceError(f"没有读懂新的完成日期。{usage}")
