"""When each reminder, escalation and check-in of an assignment falls: pure dates, no database.

    reminders   d10 d5 d2 d1 d0      working days before the deadline, at send_at
    ladder      unit  office  leadership  repeat1 repeat2 …
                e0    e0+3    e0+7        e0+12   e0+17   (e0: first working day after the deadline)
    check-ins   last working week of each period, for tasks with no date or a recurrence
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar

UNIT, OFFICE, LEADERSHIP = "unit", "office", "leadership"
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}
HORIZON = timedelta(days=800)


@dataclass(frozen=True)
class Step:
    at: datetime
    rule: str  # remind | overdue | checkin
    level: str  # d10 … d0 | unit | office | leadership | repeat1 … | 2021Q3 …
    audience: tuple[str, ...]
    due_on: date | None

    def key(self, assignment_id: int) -> str:
        """The dedupe key: one task, one rule, one occurrence (an extension makes new occurrences)."""
        return f"a{assignment_id}{self._occurrence}"

    @functools.cached_property
    def _occurrence(self) -> str:
        # Formatted once per step: a tick's steps are shared by the duties with the same deadline.
        return f":{self.rule}:{self.due_on or '-'}:{self.level}"


def _moment(day: date, policy: Policy) -> datetime:
    return datetime.combine(day, policy.send_at, tzinfo=policy.timezone)


def reminder_steps(due_on: date, policy: Policy, calendar: WorkCalendar) -> list[Step]:
    base = calendar.on_or_before(due_on)
    return [Step(_moment(calendar.shift(base, -k), policy), "remind", f"d{k}", (UNIT,), due_on)
            for k in policy.reminder_offsets]


def ladder_steps(due_on: date, policy: Policy, calendar: WorkCalendar, until: datetime) -> Iterator[Step]:
    first = calendar.after(due_on)
    yield Step(_moment(first, policy), "overdue", UNIT, (UNIT,), due_on)
    yield Step(_moment(calendar.shift(first, policy.office_after), policy), "overdue", OFFICE, (OFFICE,), due_on)
    leadership = calendar.shift(first, policy.leadership_after)
    yield Step(_moment(leadership, policy), "overdue", LEADERSHIP, (LEADERSHIP,), due_on)
    repeat, day = 1, leadership
    while True:
        day = calendar.shift(day, policy.repeat_every)
        step = Step(_moment(day, policy), "overdue", f"repeat{repeat}", (UNIT, LEADERSHIP), due_on)
        if step.at > until:
            return
        yield step
        repeat += 1


@dataclass(frozen=True)
class _Period:
    """One check-in period: a month, a quarter, a half-year or a year."""

    start: date
    end: date
    label: str


@functools.lru_cache(maxsize=4096)
def _period_from(start: date, months: int) -> _Period:
    # Cached: the planner asks for the same few periods for every recurring duty, every minute.
    label = {1: f"{start.year}M{start.month:02d}", 3: f"{start.year}Q{(start.month + 2) // 3}",
             6: f"{start.year}H{1 if start.month == 1 else 2}", 12: f"{start.year}"}[months]
    return _Period(start, start + relativedelta(months=months, days=-1), label)


def _period_of(day: date, months: int) -> _Period:
    return _period_from(date(day.year, (day.month - 1) // months * months + 1, 1), months)


def checkin_steps(cycle: str, policy: Policy, calendar: WorkCalendar, after: datetime,
                  until: datetime) -> Iterator[Step]:
    months = PERIOD_MONTHS[cycle]
    period = _period_of(after.astimezone(policy.timezone).date(), months)
    while True:
        last_workday = calendar.on_or_before(period.end)
        monday = last_workday - timedelta(days=last_workday.weekday())
        step = Step(_moment(calendar.on_or_after(monday), policy), "checkin", period.label, (UNIT,), None)
        if step.at > until:
            return
        yield step
        period = _period_from(period.end + timedelta(days=1), months)


def _order(step: Step) -> tuple[datetime, str, str]:
    return step.at, step.rule, step.level


@dataclass(frozen=True)
class _Dated:
    """A deadline's reminders and escalation ladder up to ``until``, in time order."""

    until: datetime
    moments: list[datetime]
    steps: list[Step]


# How far past its deadline a kept schedule reaches (about 55 rungs of the ladder); beyond, it is walked.
KEPT_AFTER_DEADLINE = timedelta(days=400)


@functools.lru_cache(maxsize=1024)
def _dated(due_on: date, policy: Policy, calendar: WorkCalendar) -> _Dated:
    """Computed once per deadline and process: a plan has a few hundred deadlines, and the planner
    asks about each of them for every due duty, every minute. (The calendar is compared by identity.)"""
    until = _moment(due_on + KEPT_AFTER_DEADLINE, policy)
    steps = sorted([*reminder_steps(due_on, policy, calendar), *ladder_steps(due_on, policy, calendar, until)],
                   key=_order)
    return _Dated(until, [s.at for s in steps], steps)


def _dated_between(due_on: date, policy: Policy, calendar: WorkCalendar, after: datetime | None,
                   until: datetime) -> list[Step]:
    dated = _dated(due_on, policy, calendar)
    if until > dated.until:  # past the kept ladder (more than a year overdue): walk it again
        return [*reminder_steps(due_on, policy, calendar), *ladder_steps(due_on, policy, calendar, until)]
    first = 0 if after is None else bisect.bisect_right(dated.moments, after)
    return dated.steps[first:bisect.bisect_right(dated.moments, until)]


def steps_between(due_on: date | None, recurrence: str | None, policy: Policy, calendar: WorkCalendar, *,
                  after: datetime | None, until: datetime) -> list[Step]:
    """Every step with after < at <= until, in time order (after=None: from the beginning)."""
    found: list[Step] = []
    if due_on is not None:
        found += _dated_between(due_on, policy, calendar, after, until)
    cycle = recurrence if recurrence in PERIOD_MONTHS else (policy.checkin_cycle if due_on is None else None)
    if cycle is not None:
        start = after or until - timedelta(days=366)
        found += checkin_steps(cycle, policy, calendar, start, until)
    return sorted((s for s in found if (after is None or s.at > after) and s.at <= until), key=_order)


def next_step(due_on: date | None, recurrence: str | None, policy: Policy, calendar: WorkCalendar,
              after: datetime) -> Step | None:
    """The first step after ``after``."""
    until = after + HORIZON
    candidates: list[Step] = []
    if due_on is not None:
        dated = _dated(due_on, policy, calendar)
        index = bisect.bisect_right(dated.moments, after)
        if index < len(dated.steps):
            candidates.append(dated.steps[index])
        else:  # past the kept ladder: walk to its next rung
            ladder = (s for s in ladder_steps(due_on, policy, calendar, until) if s.at > after)
            if (rung := next(ladder, None)) is not None:
                candidates.append(rung)
    cycle = recurrence if recurrence in PERIOD_MONTHS else (policy.checkin_cycle if due_on is None else None)
    if cycle is not None:
        first = next((s for s in checkin_steps(cycle, policy, calendar, after, until) if s.at > after), None)
        if first is not None:
            candidates.append(first)
    return min(candidates, key=lambda s: s.at) if candidates else None
