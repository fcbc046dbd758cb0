"""Read-only questions the CLI (and later the bot) asks: which tasks, which units."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, func, select

from tasks.errors import ServiceError, quoted
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    GroupMember,
    ImportProblem,
    Outbox,
    Plan,
    Task,
    TaskStatus,
    Unit,
    UnitAlias,
    WorkTeam,
    WorkTeamLead,
)
from tasks.text import compact


class NotFoundError(ServiceError):
    """A name the user typed matches nothing; the message says so in Chinese."""


def latest_plan(session: Session, year: int | None = None) -> Plan:
    query = select(Plan)
    if year is not None:
        query = query.where(Plan.year == year)
    plan = session.exec(query.order_by(col(Plan.imported_at).desc(), col(Plan.id).desc())).first()
    if plan is None:
        missing = f"还没有导入{year}年的工作要点" if year else "还没有导入任何工作要点"
        raise NotFoundError(f"{missing}，请先运行 taskbot import")
    return plan


def find_unit(session: Session, name: str, district: str = "") -> Unit:
    key = compact(name)
    if district and key.startswith(district):
        key = "区" + key[len(district):]
    alias = session.get(UnitAlias, key)
    if alias is not None:
        unit = session.get(Unit, alias.unit_id)
        if unit is not None:
            return unit
    # A name written out in full is that unit, even where it begins others' names (单位1, 单位10 …).
    exact = session.exec(select(Unit).where(Unit.name == key)).first()
    if exact is not None:
        return exact
    matches = session.exec(select(Unit).where(col(Unit.name).contains(key)).limit(6)).all()
    if len(matches) == 1:
        return matches[0]
    hint = f"，您是不是要找：{'、'.join(u.name for u in matches)}" if matches else ""
    raise NotFoundError(f"未找到单位“{quoted(name)}”{hint}")


def unit_named(session: Session, name: str) -> Unit:
    """The unit of exactly this name (no alias, no partial match): for a caller that knows it."""
    return session.exec(select(Unit).where(Unit.name == name)).one()


def is_category(session: Session, name: str) -> bool:
    """Whether an active task has this 工作事项 / category or 任务类别: a name the office can narrow a list by."""
    return session.exec(select(Task.id).where(
        Task.status == TaskStatus.ACTIVE, (col(Task.category) == name) | (col(Task.topic) == name)).limit(1)
    ).first() is not None


def find_team(session: Session, plan: Plan, name: str) -> WorkTeam:
    teams = session.exec(select(WorkTeam).where(WorkTeam.plan_id == plan.id)).all()
    key = compact(name)
    for team in teams:
        if key in (team.number, team.name) or key + "专班" == team.name:
            return team
    partial = [t for t in teams if key in t.name]
    if len(partial) == 1:
        return partial[0]
    names = "、".join(t.name for t in teams) or "（本年度没有工作专班）"
    raise NotFoundError(f"未找到工作专班“{quoted(name)}”。可选：{names}")


def unit_and_members(session: Session, unit: Unit) -> list[int]:
    """The unit's id and, for a group (各镇街), its members' ids, in the directory's order.

    Documents name a group and the importer gives each member its own share, so a group holds no
    assignments of its own: asked about a group, the office means its members. A group named
    among another group's members is opened too. A handful of ids, for an indexed IN (...).
    """
    ids, todo = [unit.id], [unit.id]
    while todo:
        group_id = todo.pop(0)
        for member_id in session.exec(select(GroupMember.member_id).where(GroupMember.group_id == group_id)
                                      .order_by(col(GroupMember.position))).all():
            if member_id not in ids:
                ids.append(member_id)
                todo.append(member_id)
    return [i for i in ids if i is not None]


@dataclass
class TaskRow:
    task: Task
    units: list[str] = field(default_factory=list)  # lead first, in document order
    open_units: int = 0
    done_units: int = 0


def list_tasks(session: Session, plan: Plan, *, unit: Unit | None = None, team: WorkTeam | None = None,
               overdue_on: date | None = None, due_before: date | None = None) -> list[TaskRow]:
    """Tasks that have assignments, filtered the way the office asks; nearest deadline first."""
    query = (select(Task.id).join(Assignment, col(Assignment.task_id) == Task.id)
             .where(Task.plan_id == plan.id, Task.status == TaskStatus.ACTIVE,
                    Assignment.status != AssignmentStatus.WITHDRAWN))
    if unit is not None:
        query = query.where(col(Assignment.unit_id).in_(unit_and_members(session, unit)))
    if team is not None:
        leads = select(WorkTeamLead.unit_id).where(WorkTeamLead.team_id == team.id)
        query = query.where(col(Assignment.unit_id).in_(leads))
    if overdue_on is not None:
        query = query.where(col(Assignment.status).in_(OPEN_STATUSES), col(Assignment.due_on) < overdue_on)
    if due_before is not None:
        query = query.where(col(Assignment.status).in_(OPEN_STATUSES), col(Assignment.due_on) <= due_before)
    task_ids = set(session.exec(query.distinct()).all())
    if not task_ids:
        return []
    tasks = session.exec(select(Task).where(col(Task.id).in_(task_ids))).all()
    rows = {t.id: TaskRow(t) for t in tasks}
    assignments = session.exec(
        select(Assignment, Unit.name).join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(col(Assignment.task_id).in_(task_ids), Assignment.status != AssignmentStatus.WITHDRAWN)
        .order_by(col(Assignment.role).desc(), col(Assignment.position))
    ).all()
    for assignment, unit_name in assignments:
        row = rows[assignment.task_id]
        row.units.append(unit_name)
        if assignment.status in OPEN_STATUSES:
            row.open_units += 1
        elif assignment.status == AssignmentStatus.DONE:
            row.done_units += 1
    return sorted(rows.values(), key=lambda r: (r.task.deadline is None, r.task.deadline or date.max,
                                                 r.task.position))


@dataclass
class UnitOverview:
    unit: Unit
    aliases: list[str]
    open_assignments: int
    members: list[str]


def unit_overview(session: Session) -> list[UnitOverview]:
    units = session.exec(select(Unit).order_by(col(Unit.kind), col(Unit.id))).all()
    names = {u.id: u.name for u in units}
    aliases: dict[int, list[str]] = {}
    for alias in session.exec(select(UnitAlias)).all():
        if alias.alias != compact(names.get(alias.unit_id, "")):
            aliases.setdefault(alias.unit_id, []).append(alias.alias)
    members: dict[int, list[str]] = {}
    for member in session.exec(select(GroupMember).order_by(col(GroupMember.position))).all():
        members.setdefault(member.group_id, []).append(names[member.member_id])
    counts = dict(session.exec(
        select(Assignment.unit_id, func.count()).where(col(Assignment.status).in_(OPEN_STATUSES))
        .group_by(col(Assignment.unit_id))).all())
    return [UnitOverview(u, aliases.get(u.id, []), counts.get(u.id, 0), members.get(u.id, []))
            for u in units]


def unresolved_names(session: Session, plan: Plan) -> list[ImportProblem]:
    """Phrases in the plan's document that name no unit: the office must choose."""
    return list(session.exec(select(ImportProblem).where(
        ImportProblem.plan_id == plan.id, col(ImportProblem.code).in_(("unit.unresolved", "unit.unknown")))
        .order_by(col(ImportProblem.id))).all())


def recent_notifications(session: Session, status: str | None, limit: int) -> list[Outbox]:
    """The outbox's newest rows, of one status or all: what the administrator reads first."""
    query = select(Outbox).order_by(col(Outbox.id).desc()).limit(limit)
    if status:
        query = query.where(Outbox.status == status)
    return list(session.exec(query).all())


def notification_counts(session: Session) -> dict[str, int]:
    """How many outbox rows there are of each status."""
    return dict(session.exec(select(Outbox.status, func.count()).group_by(col(Outbox.status))).all())
