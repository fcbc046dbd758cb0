"""The python-telegram-bot handlers: identify, authorize, run one action, reply.

Every path ends in a reply a person can act on: unbound people are told how to get an
invite, refused roles are told what they can do, bad input is told what to type instead —
and in those cases nothing in the database changes (the transaction is rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import office_actions, office_lists, texts, unit_actions
from bot.commands import BY_NAME, HELP_WORDS, READERS, Command, commands_for, match_word
from bot.context import BotContext, Request, Who
from bot.phone import ListQuery
from bot.render import Reply, refusal, say
from bot.sender import send_reply
from tasks.errors import ServiceError
from tasks.models import Member, Role
from tasks.work.members import ROLE_NAMES, find_member, redeem_invite, unit_of

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".wps", ".et", ".ofd", ".txt",
                      ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".heic", ".zip", ".rar", ".7z", ".csv"}
Action = Callable[[Request], Reply]


# --- replying ---------------------------------------------------------------------------


def _refusal(member: Member, what: str) -> Reply:
    role = ROLE_NAMES[member.role]
    return say(texts.not_allowed(role, what))


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    done: bool  # the action ran to the end (False: refused, or bad input)


async def run_action(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action, *, allowed: frozenset[Role],
                     what: str, args: str = "", files: list[dict[str, Any]] | None = None) -> Outcome | None:
    """Identify, authorize and run one action in one transaction. None means: stay silent."""
    ctx, who = BotContext.of(context), Who.of(update)
    if who is None:
        return None

    def work(session: Session) -> Outcome:
        member = find_member(session, who.user_id, who.chat_id, is_group=who.is_group)
        if member is None:
            log.warning("refused %s from unbound user %s in chat %s", what, who.user_id, who.chat_id)
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


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE, command: Command, args: str | None = None
                     ) -> None:
    if args is None:
        args = " ".join(context.args or [])
    outcome = await run_action(update, context, command.action, allowed=command.roles, what=f"/{command.name}",
                               args=args)
    if outcome is not None and update.effective_chat is not None:
        await answer(context, update.effective_chat.id, outcome.reply)


async def answer(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
    """Reply at once to someone who just wrote; the reply still counts in the shared flood budget."""
    await send_reply(context.bot, chat_id, reply, BotContext.of(context).flood)


def command_handler(command: Command) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await on_command(update, context, command)

    handle.__name__ = f"on_{command.name}"
    return handle


# --- binding and help ---------------------------------------------------------------------


def help_text(member: Member | None, *, words_heard: bool = True) -> str:
    """What the member can use here. ``words_heard`` False: a group chat where Telegram gives the
    bot only commands, replies to it and button taps, so no plain word is offered."""
    if member is None:
        return texts.UNBOUND
    role = member.role
    lines = [texts.help_head(ROLE_NAMES[role])]
    for command in commands_for(role):
        word = command.words[0] if command.words and words_heard else None
        lines.append(texts.help_line(command.name, command.description, word))
    if role == Role.MEMBER:
        lines.append(texts.HELP_FILES if words_heard else texts.HELP_FILES_GROUP)
    lines.append(texts.HELP_HELP if words_heard else texts.HELP_HELP_GROUP)
    if not words_heard:
        lines.append("\n" + texts.GROUP_PRIVACY)
    return "\n".join(lines)


async def words_heard(context: ContextTypes.DEFAULT_TYPE, who: Who) -> bool:
    """Whether the bot receives people's plain words in this chat. In a group, Telegram's privacy
    mode (on unless disabled with BotFather's /setprivacy) keeps them from a bot that is not an
    administrator there. Asked of Telegram when needed, as either can change at any time; when it
    cannot be asked, the answer that never offers what might not work."""
    if not who.is_group:
        return True
    try:
        me = await context.bot.get_me()
        if me.can_read_all_group_messages:
            return True
        status = (await context.bot.get_chat_member(who.chat_id, me.id)).status
    except TelegramError:
        log.warning("could not ask Telegram whether the bot hears group %s", who.chat_id, exc_info=True)
        return False
    return status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def set_menu(context: ContextTypes.DEFAULT_TYPE, chat_id: int, role: Role) -> None:
    commands = [BotCommand("help", texts.HELP_MENU_ENTRY)]
    commands += [BotCommand(c.name, c.description[:256]) for c in commands_for(role)]
    await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx, who = BotContext.of(context), Who.of(update)
    if who is None:
        return
    code = (context.args or [""])[0]
    heard = await words_heard(context, who)

    def work(session: Session) -> tuple[str, Role | None]:
        if not code:
            member = find_member(session, who.user_id, who.chat_id, is_group=who.is_group)
            return help_text(member, words_heard=heard), None
        member = redeem_invite(session, ctx.clock, code, user_id=who.user_id, chat_id=who.chat_id, name=who.name,
                               is_group=who.is_group)
        unit = unit_of(session, member)
        return (texts.bound(ROLE_NAMES[member.role], unit.name if unit else None) + "\n\n"
                + help_text(member, words_heard=heard)), member.role

    try:
        text, role = await ctx.run(work)
        reply = say(text)
    except ServiceError as error:
        log.warning("refused invite code from user %s: %s", who.user_id, error)
        reply, role = refusal(str(error)), None
    if role is not None:
        await set_menu(context, who.chat_id, role)
    await answer(context, who.chat_id, reply)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx, who = BotContext.of(context), Who.of(update)
    if who is None:
        return
    heard = await words_heard(context, who)
    text = await ctx.run(lambda s: help_text(find_member(s, who.user_id, who.chat_id, is_group=who.is_group),
                                             words_heard=heard))
    await answer(context, who.chat_id, say(text))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = Who.of(update)
    if who is None or update.effective_message is None:
        return
    name = (update.effective_message.text or "").split()[0]
    await answer(context, who.chat_id, say(texts.unknown_command(name[:40])))


# --- edits of earlier messages -------------------------------------------------------------

async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram sends an edited message again, whole: run, it would file a second report or
    request, or mint a second code. An edit is not a command: it is answered, and nothing runs.
    In a group only an edited command is answered; other group talk is not for the bot."""
    who, message = Who.of(update), update.edited_message
    if who is None or message is None:
        return
    text = (message.text or message.caption or "").strip()
    if who.is_group and not text.startswith("/") and match_word(text) is None:
        return
    log.info("edited message %s from user %s not taken as a command", message.message_id, who.user_id)
    await answer(context, who.chat_id, say(texts.EDIT_NOT_TAKEN))


# --- plain text: Chinese words, answers to a button's question -----------------------------


def _answer(req: Request) -> Reply:
    reply = unit_actions.answer_pending(req) or office_actions.answer_reason(req)
    return reply or say(texts.NOT_UNDERSTOOD)


def _cancel(req: Request) -> Reply:
    had = bool(req.member.pending)
    req.member.pending = {}
    return say(texts.CANCELLED if had else texts.NOTHING_TO_CANCEL)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, message = Who.of(update), update.effective_message
    if who is None or message is None or not message.text:
        return
    text = message.text.strip()
    if text in HELP_WORDS:
        await on_help(update, context)
        return
    if (matched := match_word(text)) is not None:
        await on_command(update, context, matched[0], matched[1])
        return
    if who.is_group and not _replies_to_bot(message, context.bot.id):
        return  # other talk in a group is not for the bot; a reply to it answers its question
    action = _cancel if text == texts.CANCEL_WORD else _answer
    outcome = await run_action(update, context, action, allowed=frozenset(Role), what=texts.THIS_MESSAGE, args=text)
    if outcome is not None:
        await answer(context, who.chat_id, outcome.reply)


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


# --- photos and files as evidence ------------------------------------------------------------


def _file_of(update: Update) -> tuple[dict[str, Any] | None, str | None]:
    """The file reference to keep, or a refusal explaining what is wrong with it."""
    message = update.effective_message
    assert message is not None
    if message.photo:
        photo = message.photo[-1]
        size = photo.file_size or 0
        reference = {"file_id": photo.file_id, "kind": "photo", "name": texts.PHOTO_NAME, "size": size}
    elif message.document:
        document = message.document
        name = document.file_name or texts.FILE_NAME
        extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if extension not in ALLOWED_EXTENSIONS:
            return None, texts.file_kind_refused(name)
        size = document.file_size or 0
        reference = {"file_id": document.file_id, "kind": "document", "name": name, "size": size}
    else:
        return None, texts.NO_FILE
    if size > MAX_FILE_BYTES:
        return None, texts.file_too_large(size)
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


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, message = Who.of(update), update.effective_message
    if who is None or message is None:
        return
    reference, refusal = _file_of(update)
    if refusal is not None:
        await answer(context, who.chat_id, say(refusal))
        return
    outcome = await run_action(update, context, _evidence, allowed=frozenset({Role.MEMBER}), what=texts.EVIDENCE,
                               args=message.caption or "", files=[reference] if reference else [])
    if outcome is not None:
        await answer(context, who.chat_id, outcome.reply)


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


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, who = update.callback_query, Who.of(update)
    if query is None or who is None:
        return
    prefix, _, value = (query.data or "").partition(":")
    if prefix == "ls":
        await _on_list_button(update, context)
        return
    entry = BUTTONS.get(prefix)
    # Only ASCII digits are a number here: str.isdigit() also takes "²", which int() then refuses.
    if entry is None or not (value.isascii() and value.isdigit() and len(value) <= 18):
        log.warning("refused malformed button data %r from user %s", query.data, who.user_id)
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    roles, action, spent = entry
    outcome = await run_action(update, context, lambda req: action(req, int(value)), allowed=roles,
                               what=texts.THIS_BUTTON)
    await query.answer()
    if outcome is None:
        return
    await answer(context, who.chat_id, outcome.reply)
    if spent and outcome.done and query.message is not None and isinstance(query.message.reply_markup,
                                                                            InlineKeyboardMarkup):
        await query.edit_message_reply_markup(reply_markup=None)  # a decision cannot be tapped twice


async def _on_list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A page, a unit or a team of an office list: its question asked again, answered as a new message."""
    query, who = update.callback_query, Who.of(update)
    assert query is not None and who is not None
    asked = ListQuery.parse(query.data or "")
    if asked is None:
        log.warning("refused malformed list button %r from user %s", query.data, who.user_id)
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    outcome = await run_action(update, context, lambda req: office_lists.list_button(req, asked), allowed=READERS,
                               what=texts.THIS_BUTTON)
    await query.answer()
    if outcome is not None:
        await answer(context, who.chat_id, outcome.reply)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("handler failed for update %s", getattr(update, "update_id", None), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, texts.HANDLER_FAILED,
                                       link_preview_options=LinkPreviewOptions(is_disabled=True))


def all_command_handlers() -> dict[str, Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]]:
    return {name: command_handler(command) for name, command in BY_NAME.items()}
