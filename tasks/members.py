"""Who is who: single-use, expiring invite codes bind a person or a group chat to a role."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError, quoted
from tasks.events import Actor, record
from tasks.models import Invite, Member, Role, Unit

INVITE_LIFETIME = timedelta(days=7)
ROLE_NAMES = {Role.MEMBER: "责任单位成员", Role.OFFICE: "督办办公室", Role.LEADER: "分管领导", Role.ADMIN: "管理员"}
# Who may invite whom: the office brings in units and colleagues; only an administrator makes leaders.
MAY_INVITE = {Role.ADMIN: set(Role), Role.OFFICE: {Role.MEMBER, Role.OFFICE}}


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


def find_member(session: Session, user_id: int, chat_id: int, *, is_group: bool) -> Member | None:
    """The person, or in a unit's bound group chat the group itself."""
    if is_group:
        return session.exec(select(Member).where(Member.chat_id == chat_id, col(Member.user_id).is_(None),
                                                 col(Member.active).is_(True))).first()
    return session.exec(select(Member).where(Member.user_id == user_id, col(Member.active).is_(True))).first()


def redeem_invite(session: Session, clock: Clock, code: str, *, user_id: int, chat_id: int, name: str,
                  is_group: bool) -> Member:
    invite = session.get(Invite, code.strip())
    now = db_time(clock)
    if invite is None:
        raise ServiceError("邀请码无效。请向督办办公室索取新的邀请码。")
    if invite.used_at is not None:
        raise ServiceError("该邀请码已被使用过，每个邀请码只能用一次。请向督办办公室索取新的邀请码。")
    if invite.expires_at <= now:
        raise ServiceError("该邀请码已过期。请向督办办公室索取新的邀请码。")
    if is_group and invite.role != Role.MEMBER:
        raise ServiceError("群聊只能绑定为责任单位群，请在与机器人的私聊中使用该邀请码。")
    actor = Actor(name or str(user_id), "chat")
    if is_group:
        member = session.exec(select(Member).where(Member.chat_id == chat_id, col(Member.user_id).is_(None))).first()
    else:
        member = session.exec(select(Member).where(Member.user_id == user_id)).first()
    if member is None:
        member = Member(user_id=None if is_group else user_id, chat_id=chat_id, name=name, role=invite.role,
                        unit_id=invite.unit_id, created_at=now)
        session.add(member)
        session.flush()
        action = "member.bound"
    else:
        member.role, member.unit_id, member.name, member.chat_id = invite.role, invite.unit_id, name, chat_id
        member.active, member.reachable, member.pending = True, True, {}
        action = "member.rebound"
    invite.used_at, invite.used_by_member_id = now, member.id
    record(session, clock, actor, action, "member", member.id, role=invite.role, unit_id=invite.unit_id,
           invite=invite.code, group=is_group)
    return member
