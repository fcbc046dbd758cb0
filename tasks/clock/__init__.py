"""Injected time. Nothing in taskbot reads the wall clock except ``SystemClock``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock a test (or ``--now``) sets and moves by hand."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta

    def set(self, moment: datetime) -> None:
        self.moment = moment


class ShiftedClock:
    """Starts at a chosen moment and runs at real speed from there (the sandbox lives in 2021)."""

    def __init__(self, start: datetime, real: Clock | None = None) -> None:
        self.real = real or SystemClock()
        self.offset = start - self.real.now()

    def now(self) -> datetime:
        return self.real.now() + self.offset

    def advance(self, delta: timedelta) -> None:
        """Jump ahead (the sandbox's ``:wait 2h``); it goes on running from there."""
        self.offset += delta

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (the sandbox's ``:at``); it goes on running from there."""
        self.offset = moment - self.real.now()


def db_time(clock: Clock) -> datetime:
    """The clock's moment in UTC, the form every datetime column stores."""
    return clock.now().astimezone(UTC)


def local_today(clock: Clock, timezone: ZoneInfo = DEFAULT_TIMEZONE) -> date:
    """The calendar date in the district, which is what deadlines are written in."""
    return clock.now().astimezone(timezone).date()


def parse_moment(text: str, timezone: ZoneInfo = DEFAULT_TIMEZONE) -> datetime:
    """"2021-09-01" or "2021-09-01T09:00" (local time unless an offset is given)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone)


def local_moment(moment: datetime, timezone: ZoneInfo) -> datetime:
    """A stored moment in the district's time. The databases give datetime columns back without a
    zone (SQLite keeps none; the columns are UTC by convention), and ``astimezone`` would read such a
    value as the host's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(timezone)


def local_date(moment: datetime, timezone: ZoneInfo) -> date:
    """A stored moment as the district's calendar date (see ``local_moment``)."""
    return local_moment(moment, timezone).date()
