"""The unit directory in the database: loaded from the editable seed file, read back for imports."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from tasks.clock import Clock, db_time
from tasks.events import Actor, record
from tasks.models import GroupMember, Unit, UnitAlias
from tasks.text import compact
from tasks.units import UnitDirectory


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
            member = units[member_name]
            if (group.id, member.id) not in members:
                session.add(GroupMember(group_id=group.id, member_id=member.id, position=position))
                members.add((group.id, member.id))
                record(session, clock, actor, "group.member_added", "unit", group.id, member=member_name)
                added += 1
    session.flush()
    return added


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
        directory.add_unit(unit.name, unit.kind, aliases.get(unit.id, []))
    groups: dict[int, list[GroupMember]] = {}
    for member in session.exec(select(GroupMember)).all():
        groups.setdefault(member.group_id, []).append(member)
    for group_id, rows in groups.items():
        names = [by_id[m.member_id].name for m in sorted(rows, key=lambda m: m.position)]
        directory.add_group(by_id[group_id].name, names)
    return directory


def load_seed_directory(path: Path) -> UnitDirectory:
    return UnitDirectory.from_toml(path)
