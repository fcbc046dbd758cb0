"""China's working calendar: official holidays and 调休 make-up working days.

``chinese-calendar`` knows the State Council's schedule for the years it ships data for;
for any other year the calendar falls back to Monday–Friday minus the holidays listed in the
configuration, and says so once per year through ``warn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

import chinese_calendar


class WorkCalendar:
    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = (),
                 warn: Callable[[str], None] | None = None) -> None:
        self.holidays = set(holidays)
        self.workdays = set(workdays)
        self.warn = warn
        self._warned: set[int] = set()
        self._known: dict[date, bool] = {}  # the planner asks about the same days over and over
        self._shifted: dict[tuple[date, int], date] = {}

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                if self.warn is not None:
                    self.warn(f"没有{day.year}年的法定节假日数据，按周一至周五加配置中的节假日计算工作日，"
                              "请在配置 [policy] holidays / workdays 中补充当年安排。")
            return day.weekday() < 5

    def on_or_before(self, day: date) -> date:
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def on_or_after(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def after(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.on_or_after(day + timedelta(days=1))

    def shift(self, day: date, workdays: int) -> date:
        """``workdays`` working days later (negative: earlier), from a working day."""
        key = (day, workdays)
        if key not in self._shifted:  # many assignments share a deadline: the same walks, again and again
            self._shifted[key] = self._walk(day, workdays)
        return self._shifted[key]

    def _walk(self, day: date, workdays: int) -> date:
        step = 1 if workdays >= 0 else -1
        for _ in range(abs(workdays)):
            day += timedelta(days=step)
            while not self.is_workday(day):
                day += timedelta(days=step)
        return day

    def count_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=n)))
