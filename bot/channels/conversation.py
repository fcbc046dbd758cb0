"""A domestic platform's app in conversation: what a person did there (an ``Incoming`` from
DingTalk's Stream, WeCom's or Feishu's long connection) answered by the same conversation as on
Telegram (bot/conversation.py), the answer sent back through the platform's transport.

The platforms have no bot commands menu and no deep links: an invite code is typed after /start,
start or 绑定, and may be followed by the person's name (WeCom gives the bot no names); every other
word, command and button is the same as on Telegram. A DingTalk button is a link that makes the
person's client send a text naming the button (bot/channels/renderers.py), so such a text is taken
as that button's tap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot import conversation, texts
from bot.channels import GROUP, PERSON, DeliveryError, Incoming, IncomingFile
from bot.channels.renderers import button_from_text
from bot.channels.transport import DomesticTransport
from bot.commands import BY_NAME
from bot.context import BotContext, Who
from bot.departments import Joining, greeted, join_by_department
from bot.render import Reply, say
from tasks import inbox
from tasks.inbox import platform_update_id, store_new

log = logging.getLogger(__name__)

T = TypeVar("T")
BUSY_TRIES = 3
BUSY_PAUSE_SECONDS = 0.5
TAKE_UP_AT_ONCE = 500  # stored messages taken up at a start (a process never holds more than a few)


def _incoming_of(payload: str) -> Incoming:
    """An Incoming as ``ChannelConversation`` stored it."""
    fields = json.loads(payload)["incoming"]
    fields["files"] = [IncomingFile(**file) for file in fields.get("files", [])]
    return Incoming(**fields)


# The code, and optionally the person's name after it: WeCom tells the bot an id, not a name.
_START = re.compile(r"^(?:/start|start|绑定)(?:\s+(\S+))?(?:\s+(\S.{0,59}?))?\s*$", re.IGNORECASE)
_START_WITH_CODE = re.compile(r"^(?:/start|start|绑定)\s+\S", re.IGNORECASE)  # an invite code binds, not the directory
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


class ChannelConversation:
    """The ``on_incoming`` of one platform's app: answers each person as they write.

    What a person did is stored in the inbox before it is acted on (tasks/inbox.py, as Telegram's
    updates are): a platform that hands the same message on again (DingTalk, after a reconnect or a
    missing acknowledgement) finds it there and it is not acted on twice; one the process died
    holding is taken up again when the app starts (``take_up_stored``).
    """

    def __init__(self, ctx: BotContext, transport: DomesticTransport) -> None:
        self.ctx = ctx
        self.transport = transport

    async def __call__(self, incoming: Incoming) -> None:
        row_id = None
        if incoming.message_id:
            update = {"update_id": platform_update_id(incoming.channel, incoming.message_id),
                      "incoming": dataclasses.asdict(incoming)}
            row_id = await self._patiently(lambda session: store_new(session, self.ctx.clock, update,
                                                                     incoming.channel))
            if row_id is None:
                return  # handed on again: acted on already, or taken up at the next start
        await self._take(row_id, incoming, attempts=1)

    async def _patiently(self, work: Callable[[Session], T]) -> T:
        """``work`` in a transaction, tried again a few times when the database is busy past its
        timeout (SQLite has one writer; a slow machine's planner pass may hold it). Refused, the
        message would go back to the platform, which hands it on again only later, or after a
        reconnection."""
        for attempt in range(1, BUSY_TRIES + 1):
            try:
                return await self.ctx.run(work)
            except OperationalError:
                if attempt == BUSY_TRIES:
                    raise
                log.warning("the database is busy; storing a %s message again", self.transport.channel)
                await asyncio.sleep(BUSY_PAUSE_SECONDS * attempt)
        raise AssertionError("unreachable")

    async def left_over(self) -> list[Any]:
        """What people did that a process stored and died before acting on (or answering): read before
        the app connects, because a message arriving once it has is stored as pending too, and is
        already being acted on by the handler it came to."""
        return await self.ctx.run(lambda session: inbox.pending(session, TAKE_UP_AT_ONCE, self.transport.channel))

    async def take_up_stored(self, rows: list[Any] | None = None) -> None:
        """Act on ``rows`` (``left_over``, read before the app connected); without them, on whatever
        is stored and pending now."""
        clock = self.ctx.clock
        if rows is None:
            rows = await self.left_over()
        for row in rows:
            if row.attempts >= inbox.MAX_ATTEMPTS:
                log.error("handling %s message %s was interrupted %d times; marked failed and skipped",
                          self.transport.channel, row.update_id, row.attempts)
                await self.ctx.run(lambda session, row=row: inbox.finish(
                    session, clock, row.id, f"处理中断 {row.attempts} 次，不再重试", failed=True))
                continue
            await self._take(row.id, _incoming_of(row.payload), attempts=row.attempts + 1)

    async def _take(self, row_id: int | None, incoming: Incoming, attempts: int) -> None:
        """Act on one thing a person did and answer it; with its inbox row, mark it as the Telegram
        intake does: with the action's change when it changes something, else once answered."""
        clock = self.ctx.clock
        if row_id is not None:
            await self._patiently(lambda session: inbox.begin(session, row_id, attempts))
        address = (GROUP if incoming.is_group else PERSON) + incoming.address
        who = Who(incoming.channel, incoming.user_ref, address, incoming.is_group, incoming.name or incoming.user_ref)
        handling = inbox.Handling(row_id) if row_id is not None else None
        failed = ""
        try:
            # Before the message is in hand: binding by department commits on its own, without the
            # message's handled mark, so a message taken up again after a crash is still acted on
            # (and finds its sender bound).
            joining = Joining() if _START_WITH_CODE.match(incoming.text.strip()) else \
                await join_by_department(self.ctx, who)
            token = inbox.HANDLING.set(handling)
            try:
                reply = joining.reply or await self.answer(who, incoming)
            finally:
                inbox.HANDLING.reset(token)
            if joining.greeting:
                reply = greeted(joining.greeting, reply)
        except Exception as error:  # one message's failure is said to its sender, and the next is taken as usual
            log.exception("could not answer %s on %s", who.user_id, who.channel)
            reply, failed = say(texts.HANDLER_FAILED), repr(error)
        if reply is not None:
            await self._send(who, reply)
        if handling is not None and not handling.marked:
            await self.ctx.run(lambda session: inbox.finish(session, clock, handling.row_id, failed,
                                                            failed=bool(failed)))

    async def _send(self, who: Who, reply: Reply) -> None:
        flood = self.ctx.flood_for(self.transport.channel)
        try:
            await self.transport.deliver(who.address, reply, flood, reserved=None, sent_marks=None)
        except Exception as error:
            # What the person did is done (committed): a platform that hears of a failure here hands
            # the message on again (DingTalk does), and doing it twice would file a second report.
            # The answer is lost, as a Telegram answer is when the process dies before sending it.
            log.warning("could not answer %s on %s: %s", who.user_id, who.channel,
                        error.detail if isinstance(error, DeliveryError) else repr(error))

    async def answer(self, who: Who, incoming: Incoming) -> Reply | None:
        """The answer to one thing a person did; None: nothing to say (group talk not for the bot)."""
        ctx = self.ctx
        if incoming.files:
            file = incoming.files[0]
            reference, refusal = conversation.evidence_reference(file.kind, file.name, file.size, file.ref,
                                                                 incoming.channel)
            if reference is None:
                return say(refusal or texts.NO_FILE)
            return await conversation.evidence(ctx, who, reference, incoming.text)
        words = incoming.text.strip()
        data = incoming.button or button_from_text(words)
        if data:
            tapped = await conversation.button(ctx, who, data)
            return tapped.reply if tapped.reply is not None else say(texts.BUTTON_EXPIRED)
        if not words:
            return None
        if (started := _START.match(words)) is not None:
            if started.group(2) and not incoming.name:  # only WeCom gives no name: nobody else renames themselves
                who = dataclasses.replace(who, name=started.group(2).strip())
            reply, _role = await conversation.start(ctx, who, started.group(1) or "", words_heard=True)
            return reply
        if (named := _COMMAND.match(words)) is not None:
            if named.group(1) == "help":
                return await conversation.help_reply(ctx, who, words_heard=True)
            chosen = BY_NAME.get(named.group(1))
            if chosen is None:
                return say(texts.unknown_command(words.split()[0][:40]))
            return await conversation.command(ctx, who, chosen, (named.group(2) or "").strip())
        # In a group the platforms pass on only what was said to the bot (an @ of it).
        return await conversation.text(ctx, who, words, addressed=incoming.mentions_bot or not incoming.is_group)
