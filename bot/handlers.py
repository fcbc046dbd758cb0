"""The python-telegram-bot handlers: Telegram's updates turned into the conversation's questions
(bot/conversation.py, shared by every chat platform), and its answers sent back through the Bot API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import conversation, texts
from bot.commands import BY_NAME, HELP_WORDS, Command, commands_for, match_word
from bot.context import BotContext, Who
from bot.render import Reply, say
from bot.sender import send_reply
from tasks.models import Role

log = logging.getLogger(__name__)


# --- replying ---------------------------------------------------------------------------


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE, command: Command, args: str | None = None
                     ) -> None:
    who = Who.of(update)
    if who is None:
        return
    if args is None:
        args = " ".join(context.args or [])
    reply = await conversation.command(BotContext.of(context), who, command, args)
    await answer(context, who.address, reply)


async def answer(context: ContextTypes.DEFAULT_TYPE, address: str, reply: Reply) -> None:
    """Reply at once to someone who just wrote; the reply still counts in the shared flood budget."""
    ctx = BotContext.of(context)
    await send_reply(context.bot, address, reply, ctx.flood, sources=ctx.file_sources)


def command_handler(command: Command) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await on_command(update, context, command)

    handle.__name__ = f"on_{command.name}"
    return handle


# --- binding and help ---------------------------------------------------------------------


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
        status = (await context.bot.get_chat_member(int(who.address), me.id)).status
    except TelegramError:
        log.warning("could not ask Telegram whether the bot hears group %s", who.address, exc_info=True)
        return False
    return status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def set_menu(context: ContextTypes.DEFAULT_TYPE, address: str, role: Role) -> None:
    commands = [BotCommand("help", texts.HELP_MENU_ENTRY)]
    commands += [BotCommand(c.name, c.description[:256]) for c in commands_for(role)]
    await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(int(address)))


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = Who.of(update)
    if who is None:
        return
    code = (context.args or [""])[0]
    heard = await words_heard(context, who)
    reply, role = await conversation.start(BotContext.of(context), who, code, words_heard=heard)
    if role is not None:
        await set_menu(context, who.address, role)
    await answer(context, who.address, reply)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = Who.of(update)
    if who is None:
        return
    heard = await words_heard(context, who)
    await answer(context, who.address, await conversation.help_reply(BotContext.of(context), who, words_heard=heard))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = Who.of(update)
    if who is None or update.effective_message is None:
        return
    name = (update.effective_message.text or "").split()[0]
    await answer(context, who.address, say(texts.unknown_command(name[:40])))


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
    await answer(context, who.address, say(texts.EDIT_NOT_TAKEN))


# --- plain text: Chinese words, answers to a button's question -----------------------------


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, message = Who.of(update), update.effective_message
    if who is None or message is None or not message.text:
        return
    words = message.text.strip()
    if words in HELP_WORDS:
        await on_help(update, context)  # asks Telegram whether the group's words reach the bot
        return
    reply = await conversation.text(BotContext.of(context), who, words,
                                    addressed=_replies_to_bot(message, context.bot.id))
    if reply is not None:
        await answer(context, who.address, reply)


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
        return conversation.evidence_reference("photo", "", photo.file_size or 0, photo.file_id, "telegram")
    if message.document:
        document = message.document
        return conversation.evidence_reference("document", document.file_name or "", document.file_size or 0,
                                               document.file_id, "telegram")
    return None, texts.NO_FILE


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, message = Who.of(update), update.effective_message
    if who is None or message is None:
        return
    reference, refusal = _file_of(update)
    if reference is None:
        await answer(context, who.address, say(refusal or texts.NO_FILE))
        return
    await answer(context, who.address,
                 await conversation.evidence(BotContext.of(context), who, reference, message.caption or ""))


# --- buttons --------------------------------------------------------------------------------


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, who = update.callback_query, Who.of(update)
    if query is None or who is None:
        return
    tapped = await conversation.button(BotContext.of(context), who, query.data or "")
    if tapped.reply is None:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    await query.answer()
    await answer(context, who.address, tapped.reply)
    if tapped.spent and query.message is not None and isinstance(query.message.reply_markup, InlineKeyboardMarkup):
        await query.edit_message_reply_markup(reply_markup=None)  # a decision cannot be tapped twice


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("handler failed for update %s", getattr(update, "update_id", None), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, texts.HANDLER_FAILED,
                                       link_preview_options=LinkPreviewOptions(is_disabled=True))


def all_command_handlers() -> dict[str, Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]]:
    return {name: command_handler(command) for name, command in BY_NAME.items()}
