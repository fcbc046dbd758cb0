"""The unit directory in the database: loaded from the editable seed file, read back for imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError
from tasks.events import Actor, record
from tasks.models import (
    MERGED_UNIT,
    Assignment,
    AssignmentStatus,
    DepartmentUnit,
    GroupMember,
    Invite,
    Member,
    Unit,
    UnitAlias,
    WorkTeamLead,
)
from tasks.plan.units import UnitDirectory
from tasks.text import compact


def sync_directory(session: Session, directory: UnitDirectory, clock: Clock, actor: Actor) -> int:
    """Add the file's units, aliases and groups that the database lacks. Never deletes.

    Returns how many rows were added.
    """
    units = {u.name: u for u in session.exec(select(Unit)).all()}
    aliases = {a.alias for a in session.exec(select(UnitAlias)).all()}
    added = 0
    for name, kind in directory.kinds.items():
        unit = units.get(name)
        if unit is None:
            unit = Unit(name=name, kind=kind, created_at=db_time(clock))
            session.add(unit)
            session.flush()
            units[name] = unit
            record(session, clock, actor, "unit.created", "unit", unit.id, name=name, kind=kind)
            added += 1
        for alias in (name, *directory.aliases.get(name, [])):
            key = compact(alias)
            if key not in aliases:
                session.add(UnitAlias(alias=key, unit_id=unit.id))
                aliases.add(key)
                if alias != name:
                    record(session, clock, actor, "unit.alias_added", "unit", unit.id, alias=alias)
                    added += 1
    members = {(m.group_id, m.member_id) for m in session.exec(select(GroupMember)).all()}
    for group_name, member_names in directory.groups.items():
        group = units[group_name]
        for position, member_name in enumerate(member_names):
            # A member the office merged into another unit is that unit now: the file's list must not
            # bring the merged name back into the group (it would undo the merge).
            member = merged_into(session, units[member_name])
            if (group.id, member.id) not in members:
                session.add(GroupMember(group_id=group.id, member_id=member.id, position=position))
                members.add((group.id, member.id))
                record(session, clock, actor, "group.member_added", "unit", group.id, member=member_name)
                added += 1
    session.flush()
    return added


def merged_into(session: Session, unit: Unit) -> Unit:
    """The unit itself, or for a name the office merged, the unit it was merged into (its alias says which)."""
    while unit.kind == MERGED_UNIT:
        alias = session.get(UnitAlias, compact(unit.name))
        target = session.get(Unit, alias.unit_id) if alias is not None else None
        if target is None or target.id == unit.id:
            break
        unit = target
    return unit


def directory_from_db(session: Session, district: str = "") -> UnitDirectory:
    """Everything the database knows, including units earlier imports created and merged aliases."""
    directory = UnitDirectory(district=district)
    units = session.exec(select(Unit).order_by(Unit.id)).all()
    by_id = {u.id: u for u in units}
    alias_rows = session.exec(select(UnitAlias)).all()
    aliases: dict[int, list[str]] = {}
    for row in alias_rows:
        aliases.setdefault(row.unit_id, []).append(row.alias)
    for unit in units:
        if unit.kind != MERGED_UNIT:  # its name is an alias of the unit it was merged into
            directory.add_unit(unit.name, unit.kind, aliases.get(unit.id, []))
    groups: dict[int, list[GroupMember]] = {}
    for member in session.exec(select(GroupMember)).all():
        groups.setdefault(member.group_id, []).append(member)
    for group_id, rows in groups.items():
        # A member row left naming a merged unit (a database from before merges were followed) means
        # the unit it was merged into.
        names = [merged_into(session, by_id[m.member_id]).name for m in sorted(rows, key=lambda m: m.position)]
        directory.add_group(by_id[group_id].name, list(dict.fromkeys(names)))
    return directory


def load_seed_directory(path: Path) -> UnitDirectory:
    return UnitDirectory.from_toml(path)


def merge_unit(session: Session, clock: Clock, actor: Actor, source: Unit, target: Unit) -> int:
    """The office says a name is another unit (a new name an import created, a duplicate): the
    source's duties, people, codes, teams, aliases and directory departments move to the target, and
    its name becomes an alias there, so that every later import reads it as the target. Returns the
    duties moved."""
    if source.id == target.id:
        raise ServiceError("不能把单位合并到它自己。")
    if "group" in (source.kind, target.kind):
        raise ServiceError("单位组不能合并，请合并具体单位。")
    if MERGED_UNIT in (source.kind, target.kind):
        merged = source if source.kind == MERGED_UNIT else target
        raise ServiceError(f"“{merged.name}”已合并到其他单位。")
    target_tasks = set(session.exec(select(Assignment.task_id).where(Assignment.unit_id == target.id)).all())
    moved = 0
    for assignment in session.exec(select(Assignment).where(Assignment.unit_id == source.id)).all():
        if assignment.task_id in target_tasks:
            # The target already has this duty: the source's copy is withdrawn, its reports stay with it.
            if assignment.status != AssignmentStatus.WITHDRAWN:
                record(session, clock, actor, "assignment.withdrawn", "assignment", assignment.id,
                       task_id=assignment.task_id, previous_status=assignment.status,
                       reason=f"“{source.name}”并入{target.name}，该单位已承担此任务")
                assignment.withdrawn_from, assignment.status = assignment.status, AssignmentStatus.WITHDRAWN
        else:
            assignment.unit_id, assignment.next_check_at = target.id, db_time(clock)
            moved += 1
    for table in (UnitAlias, Member, Invite):
        session.execute(update(table).where(table.unit_id == source.id).values(unit_id=target.id))
    _move_links(session, WorkTeamLead, "team_id", "unit_id", source.id, target.id)
    _move_departments(session, clock, actor, source, target)
    _move_links(session, GroupMember, "group_id", "member_id", source.id, target.id)
    if session.get(UnitAlias, compact(source.name)) is None:
        session.add(UnitAlias(alias=compact(source.name), unit_id=target.id))
    source.kind, source.needs_review = MERGED_UNIT, False
    record(session, clock, actor, "unit.merged", "unit", source.id, into=target.name, into_id=target.id,
           name=source.name, duties_moved=moved)
    return moved


def _move_departments(session: Session, clock: Clock, actor: Actor, source: Unit, target: Unit) -> None:
    """A department mapped to the source is mapped to the target: its next newcomer is bound where
    the duties went, and ``部门`` names the unit it is now. Each recorded as the office's own
    mapping is, with the unit it was before."""
    for row in session.exec(select(DepartmentUnit).where(DepartmentUnit.unit_id == source.id)).all():
        row.unit_id, row.mapped_by, row.mapped_at = target.id, actor.name, db_time(clock)
        record(session, clock, actor, "department.mapped", "unit", target.id, channel=row.channel,
               department_id=row.department_id, department=row.department_name, unit=target.name,
               before=source.name, merged=True)


def _move_links(session: Session, table: Any, owner: str, unit_column: str, source_id: int, target_id: int) -> None:
    """Rows that name the source unit name the target instead, unless the target is already there."""
    for row in session.exec(select(table).where(getattr(table, unit_column) == source_id)).all():
        duplicate = session.exec(select(table).where(getattr(table, owner) == getattr(row, owner),
                                                     getattr(table, unit_column) == target_id)).first()
        if duplicate is None:
            session.add(table(**{**row.model_dump(), unit_column: target_id}))
        session.delete(row)
