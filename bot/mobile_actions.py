"""A person's mobile number, which DingTalk and WeCom group robots @ them by: given in chat by the
person, or by the office for a member. Each action runs inside one transaction; the rule is
tasks.work.members.set_mobile."""

from __future__ import annotations

from bot import texts
from bot.context import Request
from bot.render import Reply, say
from tasks.errors import ServiceError
from tasks.models import Member
from tasks.work.duties import actor_of
from tasks.work.members import (
    GROUP_HAS_NO_MOBILE,
    MAY_INVITE,
    bound_member,
    mask_mobile,
    normalize_mobile,
    set_mobile,
)

CLEAR_WORDS = frozenset({"删除", "清除", "delete", "clear"})
MEMBER_NUMBER_DIGITS = 9  # a member number as /members shows it; a mobile number is longer


def mobile_command(req: Request) -> Reply:
    """``手机`` what is kept; ``手机 号码`` sets one's own; ``手机 删除`` forgets it; the office and an
    administrator also ``手机 成员编号 号码`` (or ``删除``) for a member."""
    args = req.args.strip()
    if req.member.user_id is None:  # the group's binding acts: a group has no number of its own
        raise ServiceError(GROUP_HAS_NO_MOBILE)
    if not args:
        return say(texts.mobile_kept(mask_mobile(req.member.mobile) if req.member.mobile else None))
    target, wanted = _target(req, args)
    member = set_mobile(req.session, req.clock, actor_of(req.member), req.member, target,
                        None if wanted in CLEAR_WORDS else wanted)
    whose = None if member.id == req.member.id else member.name or str(member.id)
    if member.mobile is None:
        return say(texts.mobile_cleared(whose))
    return say(texts.mobile_set(whose, mask_mobile(member.mobile)))


def _target(req: Request, args: str) -> tuple[Member, str]:
    """Whose number, and the words that say it. Only who may change another's number (MAY_INVITE)
    names a member: by a member number followed by a whole number or 删除 ("86 13900000000" is
    member 86's, though it also reads as one number with the country code before it). Otherwise a
    whole number ("138 0000 0000") is one's own even when its first digits could be a member number."""
    if not MAY_INVITE.get(req.member.role):
        return req.member, args
    first, _, rest = args.partition(" ")
    number, rest = first.lstrip("#"), rest.strip()
    names_member = number.isascii() and number.isdigit() and len(number) <= MEMBER_NUMBER_DIGITS
    if names_member and (rest in CLEAR_WORDS or _is_mobile(rest)):
        return bound_member(req.session, int(number)), rest
    if names_member and rest and not _is_mobile(args):  # "5 12345": member 5, and a number said to be wrong
        return bound_member(req.session, int(number)), rest
    return req.member, args


def _is_mobile(text: str) -> bool:
    try:
        normalize_mobile(text)
    except ServiceError:
        return False
    return True
