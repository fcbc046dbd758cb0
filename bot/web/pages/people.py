"""单位与人员: the unit directory with who is bound for each unit (on which chat platform, with their
mobile number masked), invite codes (with a QR code of the deep link), a person's mobile number and
unbinding. Every change goes through tasks/work/members.py, as /invite, /revoke, /mobile and /unbind
do in chat; the page only reads the directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup
from sqlmodel import Session, col, func, select

from bot.channels import CHANNEL_NAMES, ROBOT
from bot.web.desk import Visit, page, whole_number
from tasks.clock import db_time, local_moment
from tasks.errors import ServiceError
from tasks.models import MERGED_UNIT, GroupMember, Invite, Member, Role, Unit, UnitAlias
from tasks.text import compact
from tasks.work.duties import actor_of
from tasks.work.members import (
    GROUP_HAS_NO_MOBILE,
    MAY_INVITE,
    ROLE_NAMES,
    bound_member,
    create_invite,
    mask_mobile,
    members_of,
    revoke_invite,
    set_mobile,
    unbind,
)

GROUP_KIND = "group"


@dataclass
class Binding:
    """One active member row as the page lists it."""

    id: int
    name: str
    role: Role
    role_name: str
    group_chat: bool
    reachable: bool
    bound_on: datetime
    may_unbind: bool
    platform: str  # the chat platform's name: 钉钉, 企业微信, 飞书 or Telegram
    robot: bool  # a one-way group robot (a webhook), not a group chat with the app
    mobile: str  # masked; "" when none is kept
    # A person (not a group) whose number the viewer may give: their own, or one they could unbind.
    may_set_mobile: bool


@dataclass
class UnitRow:
    id: int
    name: str
    is_group: bool
    needs_review: bool
    aliases: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # the groups this unit is in
    members: list[str] = field(default_factory=list)  # a group's own units
    bindings: list[Binding] = field(default_factory=list)


@dataclass
class Directory:
    units: list[UnitRow]
    total_units: int
    unassigned: list[Binding]
    open_invites: list[dict[str, Any]]
    invite_units: list[tuple[int, str]]
    # Whether to name each binding's platform: an office on Telegram alone needs no such tag on every line.
    several_platforms: bool


def _bound_dates(session: Session) -> dict[int, datetime]:
    """When each member last redeemed a code: a person bound again has a new date, not their first row's."""
    rows = session.exec(select(Invite.used_by_member_id, func.max(Invite.used_at))
                        .where(col(Invite.used_by_member_id).is_not(None)).group_by(col(Invite.used_by_member_id)))
    return {member_id: used_at for member_id, used_at in rows.all() if member_id is not None and used_at is not None}


BOUND_FILTERS = {"": "全部单位", "bound": "有人绑定的", "unbound": "无人绑定的"}


def directory(session: Session, visit: Visit, wanted: str, bound_filter: str = "") -> Directory:
    timezone = visit.desk.timezone
    viewer_role = visit.me.role
    units = [u for u in session.exec(select(Unit).order_by(col(Unit.id))).all() if u.kind != MERGED_UNIT]
    names = {u.id: u.name for u in session.exec(select(Unit)).all()}
    aliases: dict[int, list[str]] = {}
    for alias in session.exec(select(UnitAlias).order_by(col(UnitAlias.alias))).all():
        aliases.setdefault(alias.unit_id, []).append(alias.alias)
    in_groups: dict[int, list[str]] = {}
    group_members: dict[int, list[str]] = {}
    for link in session.exec(select(GroupMember).order_by(col(GroupMember.group_id), col(GroupMember.position))).all():
        in_groups.setdefault(link.member_id, []).append(names[link.group_id])
        group_members.setdefault(link.group_id, []).append(names[link.member_id])
    bound_dates = _bound_dates(session)
    by_unit: dict[int | None, list[Binding]] = {}
    platforms = set()
    for member, _unit_name in members_of(session):
        assert member.id is not None
        role = Role(member.role)
        bound = bound_dates.get(member.id, member.created_at)
        platforms.add(member.channel)
        may_change = role in MAY_INVITE.get(viewer_role, set())
        person, own = member.user_id is not None, member.id == visit.me.member_id
        by_unit.setdefault(member.unit_id, []).append(Binding(
            member.id, member.name, role, ROLE_NAMES[role], not person, member.reachable,
            local_moment(bound, timezone),
            # Not one's own binding from here: it would end this very session halfway through the page.
            may_change and not own,
            CHANNEL_NAMES.get(member.channel, member.channel), member.address.startswith(ROBOT) and not person,
            mask_mobile(member.mobile) if member.mobile else "", person and (may_change or own)))

    key = compact(wanted)
    rows = []
    for unit in units:
        assert unit.id is not None
        own_aliases = [a for a in aliases.get(unit.id, []) if a != compact(unit.name)]
        if key and key not in compact(unit.name) and not any(key in a for a in own_aliases):
            continue
        bindings = by_unit.get(unit.id, [])
        if (bound_filter == "bound" and not bindings) or (bound_filter == "unbound" and (
                bindings or unit.kind == GROUP_KIND)):
            continue
        rows.append(UnitRow(unit.id, unit.name, unit.kind == GROUP_KIND, unit.needs_review, own_aliases,
                            in_groups.get(unit.id, []), group_members.get(unit.id, []), bindings))

    now = db_time(visit.ctx.clock)
    invites = []
    for invite in session.exec(select(Invite).where(col(Invite.used_at).is_(None), col(Invite.revoked_at).is_(None))
                               .order_by(col(Invite.created_at).desc())).all():
        expires = local_moment(invite.expires_at, UTC)
        if expires <= now:
            continue
        invites.append({"code": invite.code, "unit": names.get(invite.unit_id or 0, ""),
                        "role": ROLE_NAMES[Role(invite.role)], "by": invite.created_by,
                        "expires": local_moment(invite.expires_at, timezone)})
    return Directory(rows, len(units), by_unit.get(None, []), invites,
                     [(u.id, u.name) for u in units if u.kind != GROUP_KIND and u.id is not None],
                     platforms != {"telegram"} and bool(platforms))


@page("GET", "/people", may="members")
async def people(visit: Visit) -> web.StreamResponse:
    wanted = visit.query("q")
    bound_filter = visit.query("bound") if visit.query("bound") in BOUND_FILTERS else ""
    found = await visit.run(lambda session: directory(session, visit, wanted, bound_filter))
    roles = [(role.value, ROLE_NAMES[role]) for role in Role if role in MAY_INVITE.get(visit.me.role, set())]
    return visit.render("people.html", wanted=wanted, bound_filter=bound_filter, bound_filters=BOUND_FILTERS,
                        found=found, roles=roles)


# --- invite codes ------------------------------------------------------------------------------


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ServiceError("请选择要邀请的角色。") from None


@page("POST", "/people/invite", may="invite")
async def make_invite(visit: Visit) -> web.StreamResponse:
    role = _role(visit.form("role"))
    unit_field = visit.form("unit")

    def work(session: Session) -> str:
        unit = None
        if unit_field:
            unit_id = whole_number(unit_field)
            unit = session.get(Unit, unit_id) if unit_id is not None else None
            if unit is None or unit.kind == MERGED_UNIT:
                raise ServiceError("没有这个单位：请刷新页面后重新选择。")
        member = visit.acting_member(session)
        # The same rules as /invite in chat: the inviter's own role decides whom they may invite.
        return create_invite(session, visit.ctx.clock, actor_of(member), role, unit,
                             inviter_role=Role(member.role)).code

    code = await visit.run(work)
    raise web.HTTPSeeOther(f"/people/invite/{code}")


def invite_link(visit: Visit, code: str) -> str:
    """The deep link that opens the bot with the code, as /invite writes it; none when the bot's name is unknown."""
    username = visit.ctx.bot_username
    return f"https://t.me/{username}?start={code}" if username else ""


@page("GET", "/people/invite/{code}", may="invite")
async def show_invite(visit: Visit) -> web.StreamResponse:
    code = visit.request.match_info["code"]

    def work(session: Session) -> dict[str, Any]:
        invite = session.get(Invite, code)
        if invite is None:
            raise ServiceError("没有这个邀请码。")
        unit = session.get(Unit, invite.unit_id) if invite.unit_id else None
        if invite.used_at is not None:
            state = "已被使用"
        elif invite.revoked_at is not None:
            state = "已撤销"
        elif local_moment(invite.expires_at, UTC) <= db_time(visit.ctx.clock):
            state = "已过期"
        else:
            state = ""
        return {"code": invite.code, "unit": unit.name if unit else "", "role": ROLE_NAMES[Role(invite.role)],
                "expires": local_moment(invite.expires_at, visit.desk.timezone), "state": state}

    invite = await visit.run(work)
    link = invite_link(visit, code) if not invite["state"] else ""
    # segno draws the QR code as SVG markup from the link alone (the bot's name and a URL-safe code):
    # it is generated markup, not anyone's text, so that one string is marked safe.
    qr = Markup(segno.make(link).svg_inline(scale=4)) if link else ""
    return visit.render("people_invite.html", invite=invite, link=link, qr=qr)


@page("POST", "/people/revoke", may="revoke")
async def revoke(visit: Visit) -> web.StreamResponse:
    code = visit.form("code")

    def work(session: Session) -> None:
        revoke_invite(session, visit.ctx.clock, actor_of(visit.acting_member(session)), code)

    await visit.run(work)
    return visit.back_to("/people", f"邀请码 {code} 已撤销，不能再使用。")


# --- unbinding ---------------------------------------------------------------------------------


def _member_number(visit: Visit) -> int:
    number = whole_number(visit.request.match_info["member_id"])
    if number is None:
        raise ServiceError("没有这个成员。")
    return number


@page("GET", "/people/unbind/{member_id}", may="unbind")
async def confirm_unbind(visit: Visit) -> web.StreamResponse:
    """The first step: who is to be unbound and what that does, with the button that does it."""
    number = _member_number(visit)

    def work(session: Session) -> dict[str, Any]:
        member = session.get(Member, number)
        if member is None or not member.active:
            raise ServiceError(f"没有编号为 {number} 的已绑定成员，可能已被解除绑定。")
        unit = session.get(Unit, member.unit_id) if member.unit_id else None
        return {"id": member.id, "name": member.name, "role": ROLE_NAMES[Role(member.role)],
                "unit": unit.name if unit else "", "group_chat": member.user_id is None}

    member = await visit.run(work)
    return visit.render("people_unbind.html", member=member)


@page("POST", "/people/unbind/{member_id}", may="unbind")
async def do_unbind(visit: Visit) -> web.StreamResponse:
    number = _member_number(visit)

    def work(session: Session) -> str:
        actor = visit.acting_member(session)
        member = unbind(session, visit.ctx.clock, actor_of(actor), Role(actor.role), number)
        return member.name or str(member.id)

    name = await visit.run(work)
    return visit.back_to("/people", f"已解除 {name} 的绑定：不再收到通知，网页版登录已失效。")


# --- mobile numbers ----------------------------------------------------------------------------
# The office keeps a person's number here, as /mobile does in chat, for the DingTalk and WeCom group
# robots to @ them; tasks.work.members.set_mobile decides whose number the viewer may give.


@page("GET", "/people/mobile/{member_id}", may="members")
async def mobile_form(visit: Visit) -> web.StreamResponse:
    number = _member_number(visit)

    def work(session: Session) -> dict[str, Any]:
        member = bound_member(session, number)
        if member.user_id is None:
            raise ServiceError(GROUP_HAS_NO_MOBILE)
        unit = session.get(Unit, member.unit_id) if member.unit_id else None
        return {"id": member.id, "name": member.name, "role": ROLE_NAMES[Role(member.role)],
                "unit": unit.name if unit else "", "mobile": mask_mobile(member.mobile) if member.mobile else ""}

    member = await visit.run(work)
    return visit.render("people_mobile.html", member=member)


@page("POST", "/people/mobile/{member_id}", may="members")
async def keep_mobile(visit: Visit) -> web.StreamResponse:
    number = _member_number(visit)
    clear = visit.form("clear") == "1"
    written = visit.form("mobile")

    def work(session: Session) -> str:
        actor = visit.acting_member(session)
        target = bound_member(session, number)
        member = set_mobile(session, visit.ctx.clock, actor_of(actor), actor, target, None if clear else written)
        name = member.name or str(member.id)
        if member.mobile is None:
            return f"已删除 {name} 的手机号，群机器人不再 @ 此人。"
        return f"已登记 {name} 的手机号 {mask_mobile(member.mobile)}，钉钉、企业微信的群机器人发通知时会 @ 此人。"

    notice = await visit.run(work)
    return visit.back_to("/people", notice)
