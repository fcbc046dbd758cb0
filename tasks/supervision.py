"""What the office and leadership ask: what is overdue or due soon, and how complete things are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from tasks.duties import Duty, duty_select
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    Task,
    TaskStatus,
    Unit,
    WorkTeam,
    WorkTeamLead,
)

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
    """Narrowing a question to one unit, one work team's lead units, or one 工作事项/category."""

    unit: Unit | None = None
    team: WorkTeam | None = None
    category: str | None = None


def _narrowed(query: Any, *, before: date, scope: Scope, since: date | None) -> Any:
    """The filters /overdue and /due share: open, due before a day, within a scope."""
    query = query.where(col(Assignment.status).in_(OPEN_STATUSES), col(Assignment.due_on) < before,
                        Task.status == TaskStatus.ACTIVE)
    if scope.unit is not None:
        query = query.where(Assignment.unit_id == scope.unit.id)
    if scope.team is not None:
        leads = select(WorkTeamLead.unit_id).where(WorkTeamLead.team_id == scope.team.id)
        query = query.where(col(Assignment.unit_id).in_(leads))
    if scope.category:
        query = query.where((col(Task.category) == scope.category) | (col(Task.topic) == scope.category))
    if since is not None:
        query = query.where(col(Assignment.due_on) >= since)
    return query


def open_duties(session: Session, *, before: date, scope: Scope = Scope(), since: date | None = None,
                limit: int | None = None) -> list[Duty]:
    """Open assignments due before ``before`` (exclusive; from ``since`` on), oldest deadline first."""
    query = _narrowed(duty_select(), before=before, scope=scope, since=since)
    query = query.order_by(col(Assignment.due_on), col(Task.id), col(Assignment.position))
    if limit is not None:
        query = query.limit(limit)
    return [Duty(a, t, u) for a, t, u in session.exec(query).all()]


def count_open_due(session: Session, *, before: date, scope: Scope = Scope(), since: date | None = None) -> int:
    """How many open_duties there are, without loading them."""
    query = select(func.count()).select_from(Assignment).join(Task, col(Task.id) == Assignment.task_id)
    return int(session.exec(_narrowed(query, before=before, scope=scope, since=since)).one())


@dataclass
class Tally:
    name: str
    total: int = 0
    done: int = 0
    reported: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def light(self) -> str:
        if self.overdue:
            return "red"
        return "green" if self.done == self.total else "yellow"


def _counts_by_unit(session: Session, today: date) -> list[tuple[int, str, int, int, int, int]]:
    """(unit id, name, total, done, reported, overdue) counted by the database, not in Python."""
    live = (Assignment.status != AssignmentStatus.WITHDRAWN) & (Task.status == TaskStatus.ACTIVE)
    is_open = col(Assignment.status).in_(OPEN_STATUSES)
    overdue = is_open & (col(Assignment.due_on) < today)
    rows = session.exec(
        select(Assignment.unit_id, Unit.name, func.count(),
               func.sum(case((Assignment.status == AssignmentStatus.DONE, 1), else_=0)),
               func.sum(case((Assignment.status == AssignmentStatus.REPORTED, 1), else_=0)),
               func.sum(case((overdue, 1), else_=0)))
        .join(Unit, col(Unit.id) == Assignment.unit_id).join(Task, col(Task.id) == Assignment.task_id)
        .where(live).group_by(col(Assignment.unit_id), col(Unit.name))).all()
    return [(u, n, int(t), int(d or 0), int(r or 0), int(o or 0)) for u, n, t, d, r, o in rows]


def completion_stats(session: Session, today: date) -> tuple[list[Tally], list[Tally], Tally]:
    """Completion and overdue counts by unit and by work team (its lead units), and the total."""
    by_unit: dict[int, Tally] = {}
    total = Tally("合计")
    for unit_id, name, count, done, reported, overdue in _counts_by_unit(session, today):
        by_unit[unit_id] = Tally(name, count, done, reported, overdue)
        total.total += count
        total.done += done
        total.reported += reported
        total.overdue += overdue
    team_units: dict[int, list[int]] = defaultdict(list)
    teams = {t.id: t for t in session.exec(select(WorkTeam).where(WorkTeam.status == TaskStatus.ACTIVE)).all()}
    for lead in session.exec(select(WorkTeamLead)).all():
        if lead.team_id in teams:
            team_units[lead.team_id].append(lead.unit_id)
    by_team = []
    for team_id, team in sorted(teams.items(), key=lambda kv: (len(kv[1].number), kv[1].number)):
        tally = Tally(team.name)
        for unit_id in team_units[team_id]:
            if unit_id in by_unit:
                unit = by_unit[unit_id]
                tally.total += unit.total
                tally.done += unit.done
                tally.reported += unit.reported
                tally.overdue += unit.overdue
        by_team.append(tally)
    units = sorted(by_unit.values(), key=lambda t: (-t.overdue, t.rate, t.name))
    return units, by_team, total


def light_counts(session: Session, today: date) -> dict[str, int]:
    """How many assignments are red, yellow and green (see traffic_light), counted by the database."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    is_open = col(Assignment.status).in_(OPEN_STATUSES)
    light = case(
        (Assignment.status == AssignmentStatus.DONE, "green"),
        (is_open & (col(Assignment.due_on) < today), "red"),
        (Assignment.status == AssignmentStatus.REPORTED, "yellow"),
        (is_open & (col(Assignment.due_on) <= soon), "yellow"),
        else_="green")
    rows = session.exec(select(light, func.count()).join(Task, col(Task.id) == Assignment.task_id)
                        .where(Assignment.status != AssignmentStatus.WITHDRAWN, Task.status == TaskStatus.ACTIVE)
                        .group_by(light)).all()
    counts = {"red": 0, "yellow": 0, "green": 0}
    counts.update({color: int(n) for color, n in rows})
    return counts
