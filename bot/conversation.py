"""What the bot does with what a person did in chat, on whichever platform: identify, authorize,
run one action in one transaction, and say what to answer.

The platforms' adapters (bot/handlers.py for Telegram, bot/channels/conversation.py for DingTalk,
WeCom and Feishu) turn their own updates into a ``Who`` and the words, file or button of it, call
these, and send the ``Reply`` back their own way. So every action, authorization rule and audit
event is written once.

Every path ends in a reply a person can act on: unbound people are told how to get an invite,
refused roles are told what they can do, bad input is told what to type instead, and in those
cases nothing in the database changes (the transaction is rolled back).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot import office_actions, office_lists, texts, unit_actions
from bot.commands import HELP_WORDS, READERS, Command, commands_for, match_word
from bot.context import BotContext, Request, Who
from bot.phone import ListQuery
from bot.render import Reply, refusal, say
from tasks.errors import ServiceError
from tasks.models import Member, Role
from tasks.work.members import ROLE_NAMES, find_member, redeem_invite, unit_of

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".wps", ".et", ".ofd", ".txt",
                      ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".heic", ".zip", ".rar", ".7z", ".csv"}
Action = Callable[[Request], Reply]


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    done: bool  # the action ran to the end (False: refused, or bad input)


def _refusal(member: Member, what: str) -> Reply:
    return say(texts.not_allowed(ROLE_NAMES[member.role], what))


async def run_action(ctx: BotContext, who: Who, action: Action, *, allowed: frozenset[Role], what: str,
                     args: str = "", files: list[dict[str, Any]] | None = None) -> Outcome:
    """Identify, authorize and run one action in one transaction."""

    def work(session: Session) -> Outcome:
        member = find_member(session, who.channel, who.user_id, who.address, is_group=who.is_group)
        if member is None:
            log.warning("refused %s from unbound user %s in chat %s", what, who.user_id, who.address)
            return Outcome(say(texts.UNBOUND_GROUP if who.is_group else texts.UNBOUND), False)
        if member.role not in allowed:
            log.warning("refused %s for member %s with role %s", what, member.id, member.role)
            return Outcome(_refusal(member, what), False)
        if member.role == Role.MEMBER and member.unit_id is None:
            return Outcome(say(texts.NO_UNIT), False)
        return Outcome(action(Request(session, member, who, args, ctx, files or [])), True)

    try:
        return await ctx.run(work)
    except ServiceError as error:
        log.info("refused %s from user %s: %s", what, who.user_id, error)
        return Outcome(refusal(str(error)), False)


async def command(ctx: BotContext, who: Who, chosen: Command, args: str) -> Reply:
    action = chosen.action
    if chosen.prepare is not None and await _allowed(ctx, who, chosen.roles):
        prepared = await chosen.prepare(ctx, who)
        action = functools.partial(chosen.action, read=prepared)  # type: ignore[call-arg]
    outcome = await run_action(ctx, who, action, allowed=chosen.roles, what=f"/{chosen.name}", args=args)
    return outcome.reply


async def _allowed(ctx: BotContext, who: Who, roles: frozenset[Role]) -> bool:
    """Whether ``who`` may use a command (``run_action`` says so again, and why not, in its transaction)."""
    member = await ctx.run(lambda session: find_member(session, who.channel, who.user_id, who.address,
                                                       is_group=who.is_group))
    return member is not None and member.role in roles


# --- binding and help ---------------------------------------------------------------------


def help_text(member: Member | None, *, words_heard: bool = True) -> str:
    """What the member can use here. ``words_heard`` False: a group chat where the platform gives the
    bot only commands, replies to it and button taps, so no plain word is offered."""
    if member is None:
        return texts.UNBOUND
    role = member.role
    lines = [texts.help_head(ROLE_NAMES[role])]
    for entry in commands_for(role):
        word = entry.words[0] if entry.words and words_heard else None
        lines.append(texts.help_line(entry.name, entry.description, word))
    if role == Role.MEMBER:
        lines.append(texts.HELP_FILES if words_heard else texts.HELP_FILES_GROUP)
    lines.append(texts.HELP_HELP if words_heard else texts.HELP_HELP_GROUP)
    if not words_heard:
        lines.append("\n" + texts.GROUP_PRIVACY)
    return "\n".join(lines)


async def help_reply(ctx: BotContext, who: Who, *, words_heard: bool) -> Reply:
    text = await ctx.run(lambda session: help_text(
        find_member(session, who.channel, who.user_id, who.address, is_group=who.is_group), words_heard=words_heard))
    return say(text)


async def start(ctx: BotContext, who: Who, code: str, *, words_heard: bool) -> tuple[Reply, Role | None]:
    """``/start`` with an invite code binds whoever sent it (or the group it was sent in); without
    one it is help. Returns the answer, and the role bound (None when nothing was bound)."""

    def work(session: Session) -> tuple[str, Role | None]:
        if not code:
            member = find_member(session, who.channel, who.user_id, who.address, is_group=who.is_group)
            return help_text(member, words_heard=words_heard), None
        member = redeem_invite(session, ctx.clock, code, channel=who.channel, user_id=who.user_id,
                               address=who.address, name=who.name, is_group=who.is_group)
        unit = unit_of(session, member)
        return (texts.bound(ROLE_NAMES[member.role], unit.name if unit else None) + "\n\n"
                + help_text(member, words_heard=words_heard)), member.role

    try:
        text, role = await ctx.run(work)
        return say(text), role
    except ServiceError as error:
        log.warning("refused invite code from user %s: %s", who.user_id, error)
        return refusal(str(error)), None


# --- plain text: Chinese words, answers to a button's question -----------------------------


def _answer(req: Request) -> Reply:
    reply = unit_actions.answer_pending(req) or office_actions.answer_reason(req)
    return reply or say(texts.NOT_UNDERSTOOD)


def _cancel(req: Request) -> Reply:
    had = bool(req.member.pending)
    req.member.pending = {}
    return say(texts.CANCELLED if had else texts.NOTHING_TO_CANCEL)


async def text(ctx: BotContext, who: Who, words: str, *, addressed: bool, words_heard: bool = True) -> Reply | None:
    """A plain message. ``addressed``: in a group, it was said to the bot (a reply to it, or an @);
    other talk in a group is not for the bot, and None means: stay silent."""
    words = words.strip()
    if words in HELP_WORDS:
        return await help_reply(ctx, who, words_heard=words_heard)
    if (matched := match_word(words)) is not None:
        return await command(ctx, who, matched[0], matched[1])
    if who.is_group and not addressed:
        return None
    action = _cancel if words == texts.CANCEL_WORD else _answer
    return (await run_action(ctx, who, action, allowed=frozenset(Role), what=texts.THIS_MESSAGE, args=words)).reply


# --- photos and files as evidence ------------------------------------------------------------


def evidence_reference(kind: str, name: str, size: int, file_id: str, channel: str) -> tuple[dict[str, Any] | None,
                                                                                         str | None]:
    """The file reference to keep, or a refusal explaining what is wrong with it. ``file_id`` is the
    platform's own handle for the file; ``channel`` says which platform can fetch it again."""
    # WeCom's file message names no file (its name comes with the download): its kind cannot be
    # judged here, and refusing every WeCom file would leave its people no way to send evidence.
    unnamed = not name and channel != "telegram"
    if kind != "photo" and not unnamed:
        name = name or texts.FILE_NAME
        extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if extension not in ALLOWED_EXTENSIONS:
            return None, texts.file_kind_refused(name)
    if size > MAX_FILE_BYTES:
        return None, texts.file_too_large(size)
    reference = {"file_id": file_id, "kind": kind,
                 "name": texts.PHOTO_NAME if kind == "photo" else name or texts.FILE_NAME,
                 "size": size}
    if channel != "telegram":
        reference["channel"] = channel
    return reference, None


def _evidence(req: Request) -> Reply:
    """Caption "#12 说明" (or "/done 12 说明") names the task; otherwise the open button question does."""
    caption = req.args.strip()
    if caption.startswith("/done"):
        return unit_actions.done(_with_args(req, caption.removeprefix("/done")))
    if caption.startswith("/report"):
        caption = caption.removeprefix("/report")
    caption = caption.strip()
    if caption.lstrip("#").split(" ")[0].isdigit():
        return unit_actions.report(_with_args(req, caption.lstrip("#")))
    answered = unit_actions.answer_pending(_with_args(req, caption))
    if answered is None:
        raise ServiceError(texts.EVIDENCE_NEEDS_TASK)
    return answered


def _with_args(req: Request, args: str) -> Request:
    return Request(req.session, req.member, req.who, args.strip(), req.ctx, req.files)


async def evidence(ctx: BotContext, who: Who, reference: dict[str, Any], caption: str) -> Reply:
    return (await run_action(ctx, who, _evidence, allowed=frozenset({Role.MEMBER}), what=texts.EVIDENCE,
                             args=caption, files=[reference])).reply


# --- buttons --------------------------------------------------------------------------------

# callback_data prefix -> (who may tap it, what it does, whether the button is spent afterwards)
BUTTONS: dict[str, tuple[frozenset[Role], Callable[[Request, int], Reply], bool]] = {
    "card": (frozenset(Role), lambda req, n: unit_actions.show_task(_with_args(req, str(n))), False),
    "rp": (frozenset({Role.MEMBER}), lambda req, n: unit_actions.start_pending(req, "progress", n), False),
    "dn": (frozenset({Role.MEMBER}), lambda req, n: unit_actions.start_pending(req, "completion", n), False),
    "ex": (frozenset({Role.MEMBER}), lambda req, n: unit_actions.start_pending(req, "extension", n), False),
    "ms": (frozenset({Role.MEMBER}), unit_actions.milestone_button, True),  # 已开工 on a card
    "vr": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.verify_button, True),
    "sr": (frozenset({Role.OFFICE, Role.ADMIN}),
           lambda req, n: office_actions.ask_reason(req, office_actions.SEND_BACK_REPORT, n), False),
    # Sent before the review buttons named their report (they named the assignment): they decide nothing.
    "vf": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.retired_review_button, False),
    "sb": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.retired_review_button, False),
    "ea": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.approve_button, True),
    # 待审核: its pages, and the card of each report or request in it; a report's files, sent again.
    "pd": (frozenset({Role.OFFICE, Role.ADMIN}), office_lists.pending_page, False),
    "rc": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.completion_card, False),
    "ec": (frozenset({Role.OFFICE, Role.ADMIN}), office_actions.extension_card, False),
    "ev": (READERS, office_actions.evidence_files, False),
    "eu": (READERS, office_actions.unit_evidence_files, False),
    "er": (frozenset({Role.OFFICE, Role.ADMIN}), lambda req, n: office_actions.ask_reason(req, "refuse", n), False),
}


@dataclass(frozen=True)
class Tapped:
    """What a button tap came to: the answer to send (None: the button was not understood, and the
    tap is answered with ``texts.BUTTON_EXPIRED`` alone), and whether the button is spent now (a
    decision cannot be tapped twice: the platform may then take the buttons off)."""

    reply: Reply | None
    spent: bool = False


async def button(ctx: BotContext, who: Who, data: str) -> Tapped:
    prefix, _, value = data.partition(":")
    if prefix == "ls":
        asked = ListQuery.parse(data)
        if asked is None:
            log.warning("refused malformed list button %r from user %s", data, who.user_id)
            return Tapped(None)
        outcome = await run_action(ctx, who, lambda req: office_lists.list_button(req, asked), allowed=READERS,
                                   what=texts.THIS_BUTTON)
        return Tapped(outcome.reply)
    entry = BUTTONS.get(prefix)
    # Only ASCII digits are a number here: str.isdigit() also takes "²", which int() then refuses.
    if entry is None or not (value.isascii() and value.isdigit() and len(value) <= 18):
        log.warning("refused malformed button data %r from user %s", data, who.user_id)
        return Tapped(None)
    roles, action, spent = entry
    outcome = await run_action(ctx, who, lambda req: action(req, int(value)), allowed=roles, what=texts.THIS_BUTTON)
    return Tapped(outcome.reply, spent and outcome.done)
