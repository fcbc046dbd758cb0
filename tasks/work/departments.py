"""The office's word on a platform's directory: which department is which unit; and binding a
person by their departments when they first write to the app.

The directory itself (its departments, who a person is) is read by the platform's adapter in bot/
and handed in here as plain values: these functions only decide, in one transaction each.

A department follows the nearest mapped department above it: the office maps a 局 and its 科室 bind
to the 局's unit, unless a 科室 is mapped itself. A person's unit is, for each department they are
directly in, the nearest mapping on its chain up to the top; their departments may come to several.

A mapping binds people only as they first write: mapping a department anew, or to another unit,
or unmapping it, never moves anyone already bound (the office unbinds on purpose, with /unbind).
A person the office unbound is never bound again by department: the office's decision stands
until it gives them an invite code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError, quoted
from tasks.events import Actor, record
from tasks.models import MERGED_UNIT, DepartmentUnit, Member, Role, Unit
from tasks.plan.directory import merged_into
from tasks.work.lookup import find_unit
from tasks.work.members import normalize_mobile


@dataclass(frozen=True)
class Mapping:
    """One department mapped to a unit, as the office reads it."""

    department_id: str
    department_name: str
    unit_id: int
    unit_name: str


def mappings(session: Session, channel: str) -> dict[str, Mapping]:
    """The channel's mapped departments by id. A mapping left on a unit the office merged away (a
    merge moves them; one made before it did is not) reads as the unit it was merged into: nobody is
    bound to a unit that has no duties."""
    rows = session.exec(select(DepartmentUnit, Unit).join(Unit, col(Unit.id) == DepartmentUnit.unit_id)
                        .where(DepartmentUnit.channel == channel)).all()
    found = {}
    for row, unit in rows:
        unit = merged_into(session, unit) if unit.kind == MERGED_UNIT else unit
        found[row.department_id] = Mapping(row.department_id, row.department_name, unit.id or 0, unit.name)
    return found


def has_mappings(session: Session, channel: str) -> bool:
    return session.exec(select(DepartmentUnit.department_id).where(DepartmentUnit.channel == channel)
                        ).first() is not None


@dataclass(frozen=True)
class Mapped:
    """What ``map_department`` did: the unit now, and the one before (None: it was not mapped)."""

    unit: Unit
    before: str | None


def map_department(session: Session, clock: Clock, actor: Actor, channel: str, department_id: str,
                   department_name: str, unit_name: str, district: str = "") -> Mapped:
    """Map a department to a unit (a unit group is refused: a person speaks for one unit)."""
    unit = find_unit(session, unit_name, district)
    if unit.kind == "group":
        raise ServiceError(f"“{unit.name}”是单位组，请映射到具体单位。")
    if unit.kind == MERGED_UNIT:
        target = merged_into(session, unit).name
        raise ServiceError(f"“{unit.name}”已合并到{target}，请映射到{target}。")
    row = session.get(DepartmentUnit, (channel, department_id))
    before = None
    if row is not None:
        previous = session.get(Unit, row.unit_id)
        before = previous.name if previous is not None else None
        if row.unit_id == unit.id:
            return Mapped(unit, before)
        row.unit_id, row.department_name = unit.id, department_name
        row.mapped_by, row.mapped_at = actor.name, db_time(clock)
    else:
        session.add(DepartmentUnit(channel=channel, department_id=department_id, department_name=department_name,
                                   unit_id=unit.id, mapped_by=actor.name, mapped_at=db_time(clock)))
    record(session, clock, actor, "department.mapped", "unit", unit.id, channel=channel,
           department_id=department_id, department=department_name, unit=unit.name, before=before)
    return Mapped(unit, before)


def unmap_department(session: Session, clock: Clock, actor: Actor, channel: str, department_id: str,
                     department_name: str) -> str:
    """Remove a department's mapping; the unit's name it had. Nobody bound by it is unbound."""
    row = session.get(DepartmentUnit, (channel, department_id))
    if row is None:
        raise ServiceError(f"部门“{quoted(department_name)}”没有映射到任何单位，无需取消。")
    unit = session.get(Unit, row.unit_id)
    name = unit.name if unit is not None else str(row.unit_id)
    session.delete(row)
    record(session, clock, actor, "department.unmapped", "unit", row.unit_id, channel=channel,
           department_id=department_id, department=department_name, unit=name)
    return name


# A department's chain: the department itself, then the one above it, up to the organisation's top level.
Chain = tuple[str, ...]


def nearest(mapped: dict[str, Mapping], chain: Chain) -> Mapping | None:
    """The mapping a department follows: its own, else the nearest one above it; None if none is."""
    return next((mapped[department] for department in chain if department in mapped), None)


def deciding(session: Session, channel: str, chains: Sequence[Chain]) -> list[Mapping]:
    """The mapped departments that decide a person's unit: the nearest one on each of their chains,
    each once, by department id."""
    mapped = mappings(session, channel)
    found = {m.department_id: m for m in (nearest(mapped, chain) for chain in chains) if m is not None}
    return [found[key] for key in sorted(found)]


def following(departments: Sequence[tuple[str, str]], mapped: dict[str, Mapping]) -> dict[str, Mapping]:
    """For each department (id, parent id; "" at the top) without a mapping of its own, the mapping
    above it that it follows, if any."""
    parents = dict(departments)
    followed: dict[str, Mapping] = {}
    for department, parent in departments:
        if department in mapped:
            continue
        seen = {department}
        while parent and parent not in seen and parent not in mapped:  # a loop in a directory ends here
            seen.add(parent)
            parent = parents.get(parent, "")
        if parent in mapped:
            followed[department] = mapped[parent]
    return followed


Standing = Literal["bound", "unbound_by_office", "unknown", "no_mappings"]


def standing(session: Session, channel: str, user_id: str) -> Standing:
    """Where a person who writes to the app stands before the directory is asked: bound already, unbound
    by the office, not known here (the directory may bind them), or no department mapped on this channel."""
    member = session.exec(select(Member).where(Member.channel == channel, Member.user_id == user_id)).first()
    if member is not None:
        return "bound" if member.active else "unbound_by_office"
    return "unknown" if has_mappings(session, channel) else "no_mappings"


@dataclass(frozen=True)
class Elsewhere:
    """Where a person the directory gives a mobile number for is bound already in a role of the
    office's side: the platform (channel) and the role."""

    channel: str
    role: Role


@dataclass(frozen=True)
class Joined:
    """What ``bind_by_department`` came to: ``member`` bound now (with ``unit``); or ``units`` several
    (the person must use an invite code); or ``elsewhere``: their number is an office person's,
    leader's or administrator's (they bind here by invite code); or none of these (no mapped
    department, or nothing to do: ``standing`` says why)."""

    member: Member | None = None
    unit: Unit | None = None
    units: tuple[str, ...] = ()
    standing: Standing = "unknown"
    elsewhere: Elsewhere | None = None


def bound_elsewhere(session: Session, mobile: str | None) -> Elsewhere | None:
    """The binding, on any platform, of an active person with this number whose role is not a unit
    member's. A person's id differs from one platform to the next and their number does not: the
    office's own person moving to a new platform is not to be made a member of their department's unit."""
    if mobile is None:
        return None
    found = session.exec(select(Member).where(Member.mobile == mobile, col(Member.active).is_(True),
                                              Member.role != Role.MEMBER).order_by(col(Member.id))).first()
    return Elsewhere(found.channel, Role(found.role)) if found is not None else None


def bind_by_department(session: Session, clock: Clock, *, channel: str, user_id: str, address: str, name: str,
                       mobile: str | None, chains: Sequence[Chain]) -> Joined:
    """Bind a person who wrote to the app as a member of the one unit their departments lead to:
    ``chains`` has one chain for each department they are directly in.

    Asked again in the transaction: a person bound (or unbound by the office) since the directory
    was read is left as they are, so a message handled twice binds at most once."""
    now_standing = standing(session, channel, user_id)
    if now_standing != "unknown":
        return Joined(standing=now_standing)
    decided = deciding(session, channel, chains)
    try:
        kept_mobile = normalize_mobile(mobile) if mobile else None
    except ServiceError:
        kept_mobile = None  # a number the directory holds that is not a mainland mobile: kept out, not refused
    if decided:
        elsewhere = bound_elsewhere(session, kept_mobile)
        if elsewhere is not None:
            return Joined(elsewhere=elsewhere)
    units = list(session.exec(select(Unit).where(col(Unit.id).in_({m.unit_id for m in decided}))
                              .order_by(col(Unit.name))).all()) if decided else []
    if len(units) > 1:
        return Joined(units=tuple(unit.name for unit in units))
    if not units or units[0].kind == "group":
        return Joined()
    unit = units[0]
    member = Member(channel=channel, user_id=user_id, address=address, name=name, role=Role.MEMBER,
                    unit_id=unit.id, created_at=db_time(clock), mobile=kept_mobile)
    session.add(member)
    session.flush()
    record(session, clock, Actor(name or user_id, "chat"), "member.bound", "member", member.id, role=Role.MEMBER,
           unit_id=unit.id, how="department", departments=[m.department_id for m in decided],
           department_names=[m.department_name for m in decided], group=False,
           channel=channel, mobile=kept_mobile is not None)
    return Joined(member=member, unit=unit)
