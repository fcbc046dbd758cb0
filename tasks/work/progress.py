"""What the office and leadership ask: what is overdue or due soon, and how complete things are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from tasks.models import (
    NO_DEADLINE,
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    DutyTally,
    Task,
    TaskStatus,
    Unit,
    WorkTeam,
    WorkTeamLead,
)
from tasks.work.duties import Duty, duty_select
from tasks.work.lookup import unit_and_members

DUE_SOON_DAYS = 7


def traffic_light(assignment: Assignment, today: date) -> str:
    """red: overdue; yellow: due within a week or waiting for verification; green: otherwise or done."""
    if assignment.status == AssignmentStatus.DONE:
        return "green"
    if assignment.due_on is not None and assignment.due_on < today:
        return "red"
    if assignment.status == AssignmentStatus.REPORTED:
        return "yellow"
    if assignment.due_on is not None and assignment.due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return "yellow"
    return "green"


@dataclass(frozen=True)
class Scope:
    """Narrowing a question to one unit (a group: its members), one work team's lead units, or one
    工作事项/category."""

    unit: Unit | None = None
    team: WorkTeam | None = None
    category: str | None = None
    members: tuple[int, ...] = ()  # a group unit's member units (see unit_scope)

    @property
    def is_group(self) -> bool:
        return bool(self.members)


def unit_scope(session: Session, unit: Unit) -> Scope:
    """The scope of a unit as the office names it: a group (各镇街) stands for its members."""
    if unit.kind != "group":  # the directory makes only groups of kind "group": 我的任务 asks nothing more
        return Scope(unit=unit)
    ids = unit_and_members(session, unit)
    return Scope(unit=unit, members=tuple(i for i in ids if i != unit.id))


# Why no Task.status filter below: withdrawing a task withdraws its assignments (plan_store), so an
# open, reported or done assignment always belongs to an active task. Leaving the join out lets the
# assignment indexes, and the tally, answer alone.


def _unit_filters(unit_column: Any, scope: Scope) -> list[Any]:
    if scope.unit is not None and scope.members:
        return [unit_column.in_((scope.unit.id, *scope.members))]
    if scope.unit is not None:
        return [unit_column == scope.unit.id]
    if scope.team is not None:
        return [unit_column.in_(select(WorkTeamLead.unit_id).where(WorkTeamLead.team_id == scope.team.id))]
    return []


def _category_filter(scope: Scope) -> Any:
    return (col(Task.category) == scope.category) | (col(Task.topic) == scope.category)


def _due_filters(status: Any, due_on: Any, unit_column: Any, *, before: date | None, scope: Scope,
                 since: date | None) -> list[Any]:
    """Open, due before a day (None: whenever, or never), from ``since``, within the scope's units:
    for assignments or the tally."""
    filters = [status.in_(OPEN_STATUSES), *_unit_filters(unit_column, scope)]
    if before is not None:
        filters.append(due_on < before)
    if since is not None:
        filters.append(due_on >= since)
    return filters


def _assignment_due(*, before: date | None, scope: Scope, since: date | None) -> list[Any]:
    return _due_filters(col(Assignment.status), col(Assignment.due_on), col(Assignment.unit_id), before=before,
                        scope=scope, since=since)


def _tally_due(*, before: date | None, scope: Scope, since: date | None) -> list[Any]:
    return _due_filters(col(DutyTally.status), col(DutyTally.due_on), col(DutyTally.unit_id), before=before,
                        scope=scope, since=since)


def open_duties(session: Session, *, before: date | None, limit: int, scope: Scope = Scope(),
                since: date | None = None, offset: int = 0) -> list[Duty]:
    """The first ``limit`` open assignments due before ``before`` (exclusive; from ``since`` on;
    ``before=None``: all of them, those without a deadline last), oldest deadline first; ``offset``
    skips that many first (a later page of the same list)."""
    # Ending on the id: a page boundary between equal keys (two units the office added to one task
    # share a position) must fall the same way on every page, or a duty is skipped or shown twice.
    ordering = (col(Assignment.due_on).is_(None), col(Assignment.due_on), col(Assignment.task_id),
                col(Assignment.position), col(Assignment.id))
    if scope.category:  # the tally does not know categories: a category is small enough to sort
        filters = _assignment_due(before=before, scope=scope, since=since)
        query = duty_select().where(*filters, _category_filter(scope)).order_by(*ordering).offset(offset).limit(limit)
        return [Duty(a, t, u) for a, t, u in session.exec(query).all()]
    last = _last_due_date_needed(session, offset + limit, before=before, scope=scope, since=since)
    if last is None:
        return []
    # Two steps so that the (status, due_on) index does the work whatever join order the database
    # would choose: the ids, from the few deadlines that hold them (one upper bound, so that SQLite
    # uses it for the index range), then their tasks and units.
    # The day after ``last`` (always before ``before``); no bound when the list reaches the deadline-less.
    bound = before if last == NO_DEADLINE else last + timedelta(days=1)
    narrowed = _assignment_due(before=bound, scope=scope, since=since)
    ids = list(session.exec(select(Assignment.id).where(*narrowed).order_by(*ordering).offset(offset).limit(limit)))
    rows = session.exec(duty_select().where(col(Assignment.id).in_(ids)).order_by(*ordering)).all()
    return [Duty(a, t, u) for a, t, u in rows]


def _last_due_date_needed(session: Session, limit: int, *, before: date | None, scope: Scope,
                          since: date | None) -> date | None:
    """The deadline by which the first ``limit`` open duties are reached, from the tally (None: none due)."""
    filters = _tally_due(before=before, scope=scope, since=since)
    per_day = session.exec(select(DutyTally.due_on, func.sum(DutyTally.n)).where(*filters)
                           .group_by(col(DutyTally.due_on)).order_by(col(DutyTally.due_on))).all()
    running = 0
    for due_on, count in per_day:
        running += int(count)
        if running >= limit:
            return due_on
    return per_day[-1][0] if running else None


def count_open_due(session: Session, *, before: date | None, scope: Scope = Scope(),
                   since: date | None = None) -> int:
    """How many open_duties there are (without ``limit``), without loading them."""
    if scope.category:
        filters = _assignment_due(before=before, scope=scope, since=since)
        query = (select(func.count()).select_from(Assignment).join(Task, col(Task.id) == Assignment.task_id)
                 .where(*filters, _category_filter(scope)))
        return int(session.exec(query).one())
    filters = _tally_due(before=before, scope=scope, since=since)
    return int(session.exec(select(func.coalesce(func.sum(DutyTally.n), 0)).where(*filters)).one())


@dataclass(frozen=True)
class UnitDue:
    """One unit's share of a list of open duties: how many, and the earliest deadline among them."""

    unit_id: int
    name: str
    count: int
    oldest: date | None


def open_due_by_unit(session: Session, *, before: date | None, scope: Scope = Scope(),
                     since: date | None = None) -> list[UnitDue]:
    """The duties open_duties lists, counted by unit: most first, then the longest waiting."""
    if scope.category:
        filters = [*_assignment_due(before=before, scope=scope, since=since), _category_filter(scope)]
        rows = session.exec(
            select(Assignment.unit_id, Unit.name, func.count(), func.min(Assignment.due_on))
            .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
            .where(*filters).group_by(col(Assignment.unit_id), col(Unit.name))).all()
    else:
        rows = session.exec(
            select(DutyTally.unit_id, Unit.name, func.sum(DutyTally.n), func.min(DutyTally.due_on))
            .join(Unit, col(Unit.id) == DutyTally.unit_id)
            .where(*_tally_due(before=before, scope=scope, since=since))
            .group_by(col(DutyTally.unit_id), col(Unit.name)).having(func.sum(DutyTally.n) > 0)).all()
    found = [UnitDue(unit_id, name, int(count), None if oldest == NO_DEADLINE else oldest)
             for unit_id, name, count, oldest in rows]
    return sorted(found, key=lambda u: (-u.count, u.oldest or date.max, u.name))


@dataclass
class Tally:
    """A unit's, a work team's or everyone's counts. ``soon``: open, not overdue, and due within a
    week or waiting for verification — the duties traffic_light calls yellow."""

    name: str
    total: int = 0
    done: int = 0
    reported: int = 0
    overdue: int = 0
    soon: int = 0
    id: int | None = None  # the unit's or the work team's row, for a button that opens it

    @property
    def rate(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def light(self) -> str:
        """The worst light among its duties: the same legend as a single duty's (traffic_light)."""
        if self.overdue:
            return "red"
        return "yellow" if self.soon else "green"

    def add(self, other: Tally) -> None:
        self.total += other.total
        self.done += other.done
        self.reported += other.reported
        self.overdue += other.overdue
        self.soon += other.soon


def worst_first(tallies: list[Tally]) -> list[Tally]:
    """Most overdue first, then the lowest completion rate, then by name: the order leadership reads.
    A team or unit with no duties at all is last: it has nothing to be behind on."""
    return sorted(tallies, key=lambda t: (t.total == 0, -t.overdue, t.rate, -t.soon, t.name))


def _counts_by_unit(session: Session, today: date) -> list[Tally]:
    """Each unit's counts, added up from the tally."""
    is_open = col(DutyTally.status).in_(OPEN_STATUSES)
    overdue = is_open & (col(DutyTally.due_on) < today)
    soon = is_open & (col(DutyTally.due_on) >= today) & (
        (DutyTally.status == AssignmentStatus.REPORTED)
        | (col(DutyTally.due_on) <= today + timedelta(days=DUE_SOON_DAYS)))
    rows = session.exec(
        select(DutyTally.unit_id, Unit.name, func.sum(DutyTally.n),
               func.sum(case((DutyTally.status == AssignmentStatus.DONE, DutyTally.n), else_=0)),
               func.sum(case((DutyTally.status == AssignmentStatus.REPORTED, DutyTally.n), else_=0)),
               func.sum(case((overdue, DutyTally.n), else_=0)),
               func.sum(case((soon, DutyTally.n), else_=0)))
        .join(Unit, col(Unit.id) == DutyTally.unit_id)
        .group_by(col(DutyTally.unit_id), col(Unit.name)).having(func.sum(DutyTally.n) > 0)).all()
    return [Tally(n, int(t), int(d or 0), int(r or 0), int(o or 0), int(y or 0), id=u)
            for u, n, t, d, r, o, y in rows]


def completion_stats(session: Session, today: date) -> tuple[list[Tally], list[Tally], Tally]:
    """Completion and overdue counts by unit and by work team (its lead units), worst first, and the total."""
    by_unit: dict[int, Tally] = {}
    total = Tally("合计")
    for unit in _counts_by_unit(session, today):
        assert unit.id is not None
        by_unit[unit.id] = unit
        total.add(unit)
    team_units: dict[int, list[int]] = defaultdict(list)
    teams = {t.id: t for t in session.exec(select(WorkTeam).where(WorkTeam.status == TaskStatus.ACTIVE)).all()}
    for lead in session.exec(select(WorkTeamLead)).all():
        if lead.team_id in teams:
            team_units[lead.team_id].append(lead.unit_id)
    by_team = []
    for team_id, team in sorted(teams.items(), key=lambda kv: (len(kv[1].number), kv[1].number)):
        tally = Tally(team.name, id=team_id)
        for unit_id in team_units[team_id]:
            if unit_id in by_unit:
                tally.add(by_unit[unit_id])
        by_team.append(tally)
    return worst_first(list(by_unit.values())), worst_first(by_team), total


def light_counts(session: Session, today: date) -> dict[str, int]:
    """How many assignments are red, yellow and green (see traffic_light), added up from the tally."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    is_open = col(DutyTally.status).in_(OPEN_STATUSES)
    light = case(
        (DutyTally.status == AssignmentStatus.DONE, "green"),
        (is_open & (col(DutyTally.due_on) < today), "red"),
        (DutyTally.status == AssignmentStatus.REPORTED, "yellow"),
        (is_open & (col(DutyTally.due_on) <= soon), "yellow"),
        else_="green")
    rows = session.exec(select(light, func.sum(DutyTally.n)).group_by(light)).all()
    counts = {"red": 0, "yellow": 0, "green": 0}
    counts.update({color: int(n or 0) for color, n in rows})
    return counts
