"""Who is who: single-use, expiring invite codes bind a person or a group chat to a role."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError, quoted
from tasks.events import Actor, record
from tasks.models import Invite, Member, Role, Unit
from tasks.work.lookup import find_unit

INVITE_LIFETIME = timedelta(days=7)
ROLE_NAMES = {Role.MEMBER: "责任单位成员", Role.OFFICE: "督办办公室", Role.LEADER: "分管领导", Role.ADMIN: "管理员"}
# Who may invite whom: the office brings in units and colleagues; only an administrator makes leaders.
MAY_INVITE = {Role.ADMIN: set(Role), Role.OFFICE: {Role.MEMBER, Role.OFFICE}}


# A mainland mobile number as people write it: spaces or dashes between the digits, a +86 or 86 before.
_MOBILE_NOISE = re.compile(r"[\s\-()]")
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")


def normalize_mobile(text: str) -> str:
    """The eleven digits of a mainland mobile number, however it was written (a directory's
    "+8613800000000", a person's "138 0000 0000"); a clear sentence when it is not one."""
    # A Chinese input method in full-width mode types １３８ and （＋86）: read as the digits they are.
    found = _MOBILE.fullmatch(_MOBILE_NOISE.sub("", unicodedata.normalize("NFKC", text)))
    if found is None:
        raise ServiceError(f"“{quoted(text.strip())}”不是手机号码：请写 11 位大陆手机号，如 13800000000。")
    return found.group(1)


def mask_mobile(mobile: str) -> str:
    """A kept number as a chat shows it and an audit event stores it: enough for its owner to know it
    (the first three and last four digits), not enough for a reader of the group to call it."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"


def parse_role(text: str) -> Role:
    aliases = {"member": Role.MEMBER, "成员": Role.MEMBER, "单位": Role.MEMBER, "office": Role.OFFICE,
               "办公室": Role.OFFICE, "督办": Role.OFFICE, "leader": Role.LEADER, "领导": Role.LEADER,
               "admin": Role.ADMIN, "管理员": Role.ADMIN}
    try:
        return aliases[text.strip().lower()]
    except KeyError:
        raise ServiceError(f"未知角色“{quoted(text)}”，可选：成员、办公室、领导、管理员") from None


def create_invite(session: Session, clock: Clock, actor: Actor, role: Role, unit: Unit | None,
                  *, inviter_role: Role = Role.ADMIN, lifetime: timedelta = INVITE_LIFETIME) -> Invite:
    if role not in MAY_INVITE.get(inviter_role, set()):
        raise ServiceError(f"您无权邀请{ROLE_NAMES[role]}")
    if role == Role.MEMBER and unit is None:
        raise ServiceError("邀请责任单位成员时必须指定单位")
    if unit is not None and unit.kind == "group":
        raise ServiceError(f"“{unit.name}”是单位组，请邀请具体单位")
    now = db_time(clock)
    invite = Invite(code=secrets.token_urlsafe(9), role=role, unit_id=unit.id if unit else None,
                    created_by=actor.name, created_at=now, expires_at=now + lifetime)
    session.add(invite)
    record(session, clock, actor, "invite.created", "invite", None, code=invite.code, role=role,
           unit=unit.name if unit else None, expires_at=invite.expires_at)
    return invite


def unit_of(session: Session, member: Member) -> Unit | None:
    """The unit a member speaks for; None for the office, leadership and administrators."""
    return session.get(Unit, member.unit_id) if member.unit_id else None


def has_member_row(session: Session, channel: str, user_id: str) -> bool:
    """Whether this person has a member row, bound now or unbound since."""
    return session.exec(select(Member.id).where(Member.channel == channel, Member.user_id == user_id)
                        ).first() is not None


def find_member(session: Session, channel: str, user_id: str, address: str, *, is_group: bool) -> Member | None:
    """Who acts. In a unit's bound group chat that is the person writing when they are a member bound
    to that unit, so that what they report carries their name; anyone else there acts as the group's
    binding, which may read the unit's tasks but report nothing (see duties.require_person)."""
    person = session.exec(select(Member).where(Member.channel == channel, Member.user_id == user_id,
                                               col(Member.active).is_(True))).first()
    if not is_group:
        return person
    group = session.exec(select(Member).where(Member.channel == channel, Member.address == address,
                                              col(Member.user_id).is_(None), col(Member.active).is_(True))).first()
    if group is not None and person is not None and person.role == Role.MEMBER and person.unit_id == group.unit_id:
        return person
    return group


def _binding_text(session: Session, role: str, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id) if unit_id else None
    return f"{unit.name}的{ROLE_NAMES[Role(role)]}" if unit else ROLE_NAMES[Role(role)]


def redeem_invite(session: Session, clock: Clock, code: str, *, channel: str, user_id: str, address: str,
                  name: str, is_group: bool) -> Member:
    invite = session.get(Invite, code.strip())
    now = db_time(clock)
    if invite is None:
        raise ServiceError("邀请码无效。请向督办办公室索取新的邀请码。")
    if invite.used_at is not None:
        raise ServiceError("该邀请码已被使用过，每个邀请码只能用一次。请向督办办公室索取新的邀请码。")
    if invite.revoked_at is not None:
        raise ServiceError("该邀请码已被督办办公室撤销。请向督办办公室索取新的邀请码。")
    if invite.expires_at <= now:
        raise ServiceError("该邀请码已过期。请向督办办公室索取新的邀请码。")
    if is_group and invite.role != Role.MEMBER:
        raise ServiceError("群聊只能绑定为责任单位群，请在与机器人的私聊中使用该邀请码。")
    actor = Actor(name or user_id, "chat")
    if is_group:
        member = session.exec(select(Member).where(Member.channel == channel, Member.address == address,
                                                   col(Member.user_id).is_(None))).first()
    else:
        member = session.exec(select(Member).where(Member.channel == channel, Member.user_id == user_id)).first()
    if member is not None and member.active:
        # A code never changes who someone is: the office unbinds first, on purpose.
        who, current = "本群" if is_group else "您", _binding_text(session, member.role, member.unit_id)
        if (member.role, member.unit_id) == (invite.role, invite.unit_id):
            raise ServiceError(f"{who}已绑定为{current}，无需再次绑定。该邀请码没有使用，仍可转给他人。")
        offered = _binding_text(session, invite.role, invite.unit_id)
        raise ServiceError(f"{who}已绑定为{current}，这个邀请码是{offered}的，没有改变{who}的身份。"
                           f"如需更换，请先请督办办公室解除绑定（/unbind {member.id}）。")
    if member is None:
        member = Member(channel=channel, user_id=None if is_group else user_id, address=address, name=name,
                        role=invite.role, unit_id=invite.unit_id, created_at=now)
        session.add(member)
        session.flush()
        action = "member.bound"
    else:
        member.role, member.unit_id, member.name, member.address = invite.role, invite.unit_id, name, address
        member.active, member.reachable, member.pending = True, True, {}
        action = "member.rebound"
    invite.used_at, invite.used_by_member_id = now, member.id
    record(session, clock, actor, action, "member", member.id, role=invite.role, unit_id=invite.unit_id,
           invite=invite.code, group=is_group, channel=channel)
    return member


def members_of(session: Session, unit: Unit | None = None) -> list[tuple[Member, str | None]]:
    """Active bindings with their unit's name: people and group chats, a unit's or everyone's."""
    query = (select(Member, Unit.name).outerjoin(Unit, col(Unit.id) == Member.unit_id)
             .where(col(Member.active).is_(True)).order_by(col(Member.role), col(Unit.name), col(Member.id)))
    if unit is not None:
        query = query.where(Member.unit_id == unit.id)
    return [(member, name) for member, name in session.exec(query).all()]


def bound_member(session: Session, member_id: int) -> Member:
    """The active binding with this number (as /members lists it); a clear sentence when there is none."""
    member = session.get(Member, member_id)
    if member is None or not member.active:
        raise ServiceError(f"没有编号为 {member_id} 的已绑定成员。发送 /members 查看成员编号。")
    return member


def unbind(session: Session, clock: Clock, actor: Actor, actor_role: Role, member_id: int) -> Member:
    """The office ends a binding (someone left, a group chat is no longer the unit's). Their reports
    and history stay; they can be bound again with a new code."""
    member = bound_member(session, member_id)
    if member.role not in MAY_INVITE.get(actor_role, set()):
        raise ServiceError(f"您无权解除{ROLE_NAMES[member.role]}的绑定，请联系管理员。")
    member.active, member.pending = False, {}
    record(session, clock, actor, "member.unbound", "member", member.id, role=member.role, unit_id=member.unit_id,
           group=member.user_id is None)
    return member


GROUP_HAS_NO_MOBILE = "群聊和群机器人没有手机号：手机号登记在个人名下，请每位成员在与机器人的私聊中发送“手机 号码”。"


def set_mobile(session: Session, clock: Clock, actor: Actor, actor_member: Member, target: Member,
               text: str | None) -> Member:
    """Keep ``target``'s mobile number (``text`` as the person wrote it), or forget it (``text`` None),
    so that a DingTalk or WeCom group robot can @ them. A person sets their own; the office sets a
    member's only where it could unbind them (MAY_INVITE), so it cannot change how a leader is
    reached. The event keeps the number masked: the audit log is read more widely than the member
    table. A number the same as the kept one changes nothing and records nothing."""
    if target.user_id is None:
        raise ServiceError(GROUP_HAS_NO_MOBILE)
    if target.id != actor_member.id and target.role not in MAY_INVITE.get(Role(actor_member.role), set()):
        raise ServiceError(f"您无权更改{ROLE_NAMES[Role(target.role)]}的手机号，请联系管理员。")
    if text is None:
        if target.mobile is None:
            whose = "您" if target.id == actor_member.id else f"“{quoted(target.name or str(target.id))}”"
            raise ServiceError(f"{whose}还没有登记手机号，无需删除。")
        target.mobile = None
        record(session, clock, actor, "member.mobile_cleared", "member", target.id, name=target.name)
        return target
    mobile = normalize_mobile(text)
    if mobile != target.mobile:
        target.mobile = mobile
        record(session, clock, actor, "member.mobile_set", "member", target.id, name=target.name,
               mobile=mask_mobile(mobile))
    return target


def mentioned_mobiles(session: Session, channel: str, address: str) -> list[str]:
    """Whom a group robot @s when it posts: the mobile numbers of the active people of its binding (a
    unit's members for a unit's group, the leaders for the leadership's, the office's staff for the
    office's), in the order they were bound; none for an address that is not a bound robot.

    People bound on any platform count: a number is the person's, not the platform's, and while an
    office moves from one platform to another its people are in the new group before they are bound
    there. The platform @s only those in the group; a number of someone not in it is not shown."""
    robot = session.exec(select(Member).where(Member.channel == channel, Member.address == address,
                                              col(Member.user_id).is_(None), col(Member.active).is_(True))).first()
    if robot is None or (robot.role == Role.MEMBER and robot.unit_id is None):
        return []
    query = select(Member.mobile).where(col(Member.user_id).is_not(None), col(Member.active).is_(True),
                                        col(Member.mobile).is_not(None), Member.role == robot.role)
    if robot.role == Role.MEMBER:
        query = query.where(Member.unit_id == robot.unit_id)
    mobiles = session.exec(query.order_by(col(Member.id))).all()
    return list(dict.fromkeys(mobile for mobile in mobiles if mobile))


def revoke_invite(session: Session, clock: Clock, actor: Actor, code: str) -> Invite:
    invite = session.get(Invite, code.strip())
    if invite is None:
        raise ServiceError(f"没有邀请码“{quoted(code.strip())}”。")
    if invite.used_at is not None:
        raise ServiceError("该邀请码已被使用，无法撤销；如需解除绑定，请用 /unbind 成员编号。")
    if invite.revoked_at is None:
        invite.revoked_at = db_time(clock)
        record(session, clock, actor, "invite.revoked", "invite", None, code=invite.code, role=invite.role)
    return invite


@dataclass(frozen=True)
class RobotBinding:
    """A one-way group robot as the configuration declares it: the group it posts into is a unit's
    (``unit`` names it) or the leadership's or the office's (``role``)."""

    channel: str
    name: str
    role: Role
    unit: str = ""


ROBOT_ADDRESS = "robot:"  # bot/channels: a robot's address is its name


def keep_robots(session: Session, clock: Clock, actor: Actor, channel: str, robots: list[RobotBinding],
                district: str = "") -> list[str]:
    """Make ``channel``'s bound robots what the configuration says: each one a group binding (a
    member row with no person) of its unit or role, reached at ``robot:<name>``; a robot no longer
    configured is unbound, its history kept. A robot cannot redeem an invite code, so the
    configuration, which the administrator writes, is what binds it. Returns what changed, in
    words, for the log; an unknown unit is refused in one sentence and nothing changes."""
    wanted = {ROBOT_ADDRESS + robot.name: robot for robot in robots}
    units = {robot.name: find_unit(session, robot.unit, district) for robot in robots if robot.role == Role.MEMBER}
    present = {member.address: member for member in session.exec(select(Member).where(
        Member.channel == channel, col(Member.address).startswith(ROBOT_ADDRESS), col(Member.user_id).is_(None)))}
    changed: list[str] = []
    for address, robot in wanted.items():
        unit = units.get(robot.name)
        unit_id = unit.id if unit is not None else None
        member = present.get(address)
        if member is not None and member.active and (member.role, member.unit_id) == (robot.role, unit_id):
            continue
        if member is None:
            member = Member(channel=channel, user_id=None, address=address, name=robot.name, role=robot.role,
                            unit_id=unit_id, created_at=db_time(clock))
            session.add(member)
            session.flush()
        else:
            member.role, member.unit_id, member.active, member.reachable = robot.role, unit_id, True, True
        record(session, clock, actor, "robot.bound", "member", member.id, channel=channel, name=robot.name,
               role=robot.role, unit_id=unit_id)
        changed.append(f"{robot.name}→{unit.name if unit else ROLE_NAMES[robot.role]}")
    for address, member in present.items():
        if address not in wanted and member.active:
            member.active, member.pending = False, {}
            record(session, clock, actor, "robot.unbound", "member", member.id, channel=channel, name=member.name)
            changed.append(f"{member.name}（已移除）")
    return changed
