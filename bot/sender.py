"""Delivering the outbox: claim due rows, render, send through a chat platform, record the result.

One ``OutboxSender`` per platform, each claiming only its own platform's rows; the platform's
``Transport`` puts a reply on the wire and sorts every failure into a ``DeliveryError``: a
platform's "wait" is waited as told; timeouts and network errors back off; a group that moved is
followed; a blocked bot or a removed robot marks the member unreachable and tells the office; any
other refusal is a dead letter with its reason kept for the administrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row
from sqlmodel import Session
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.attachments import MADE_WHEN_SENT, FileMaker
from bot.channels import CHANNEL_NAMES, AddressKind, DeliveryError, claim_prefixes, kinds_on
from bot.context import BotContext, FileSource
from bot.flood import SharedFlood, round_robin
from bot.group_commit import GroupCommit
from bot.render import Attachment, Reply, notification
from tasks import outbox
from tasks.clock import Clock, db_time

log = logging.getLogger(__name__)

# Pages go out through Bot.do_api_request, which hands back Telegram's answer as JSON, not
# Bot.send_message, which turns the answer (the whole message sent, every button of its
# keyboard included) into PTB objects that nothing here reads: with a unit's list and its
# buttons that was a third of a send's time in this process (bench/bench_wire.py --buttons 24
# --call send_reply send_message).
# Telegram's refusals (429, 403, migration, 400) still raise PTB's errors, the same either way.
# do_api_request is meant for methods PTB lacks and warns when used for one it has.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.send_message'", category=PTBUserWarning)

# A task's text or a unit's report may hold a link: the message shows it as written, without a
# card of the linked page pushing the message's own words off a phone's screen.
NO_PREVIEW = {"is_disabled": True}


class Transport(Protocol):
    """One chat platform's way of putting a reply on the wire."""

    @property
    def channel(self) -> str: ...

    @property
    def address_kinds(self) -> frozenset[AddressKind]:
        """The kinds of address on its channel it can deliver to: its sender claims only their rows,
        and the others wait in the outbox for a process whose transport can."""
        ...

    async def deliver(self, address: str, reply: Reply, flood: SharedFlood | None, *, reserved: int | None,
                      sent_marks: list[int]) -> None:
        """Send ``reply``'s messages to ``address`` in order, each in its turn of ``flood`` (the first
        one's turn ``reserved`` already), collecting the marks for the caller to stamp; raise
        DeliveryError when the platform refuses or cannot be reached."""
        ...


class TelegramTransport:
    """The Bot API through python-telegram-bot, its errors sorted for the outbox. ``sources``: how to
    fetch a file a person sent on another platform, to upload it here."""

    channel = "telegram"
    address_kinds = kinds_on("telegram")

    def __init__(self, bot: Bot, sources: Mapping[str, FileSource] | None = None) -> None:
        self.bot = bot
        self.sources = sources if sources is not None else {}

    async def deliver(self, address: str, reply: Reply, flood: SharedFlood | None, *, reserved: int | None,
                      sent_marks: list[int]) -> None:
        try:
            await send_reply(self.bot, address, reply, flood, reserved=reserved, sent_marks=sent_marks,
                             sources=self.sources)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise DeliveryError("retry_later", "RetryAfter", seconds) from error
        except ChatMigrated as error:
            raise DeliveryError("moved", str(error), moved_to=str(error.new_chat_id)) from error
        except Forbidden as error:
            raise DeliveryError("unreachable", str(error)) from error
        except BadRequest as error:
            raise DeliveryError("dead", f"BadRequest: {error}") from error
        except TelegramError as error:  # NetworkError, TimedOut and the rest: try again later
            raise DeliveryError("retry_later", f"{type(error).__name__}: {error}") from error


@dataclass(frozen=True)
class _Sent:
    """One claimed row after its send: ``failure`` is None when it was delivered."""

    row_id: int
    attempts: int
    marks: list[int]  # flood marks taken for its pages
    failure: DeliveryError | None


class OutboxSender:
    def __init__(self, ctx: BotContext, transport: Transport) -> None:
        self.ctx = ctx
        self.transport = transport
        self.channels = (transport.channel,)  # the rows this sender claims: its platform's,
        # and of those the kinds of address its transport can reach (None: all)
        self.address_prefixes = claim_prefixes(transport.channel, transport.address_kinds)
        self.flood = ctx.flood_for(transport.channel)  # None: no pacing (a test double not enforcing limits)
        self.outcomes = GroupCommit(ctx.run, self._record)
        self.files = FileMaker(ctx)

    async def deliver_due(self, limit: int = 100) -> int:
        """Claim up to ``limit`` due rows and deliver them; returns how many were claimed.

        Sends overlap, up to ``ctx.in_flight`` at once and one per chat (a chat's messages keep their
        order): waiting for each answer before the next send would cap a sender at one message per
        round trip, about 10/s to a server 100 ms away, a third of what Telegram allows.

        A send keeps its place until its outcome is committed, not just until Telegram answers:
        so at any moment at most ``in_flight`` rows are sent (or being sent) but not yet marked
        sent, and a kill -9 repeats at most that many once their lease runs out.

        The pass holds the lease of every row it claimed until it has sent it or given it back,
        however long a chat's flood limit keeps it waiting: no other sender claims it meanwhile.
        """
        clock = self.ctx.clock
        prefixes = self.address_prefixes
        rows = await self.ctx.run(lambda session: outbox.claim_due(session, clock, limit, self.channels, prefixes))
        if not rows:
            return 0
        waiting = [rows[index] for index in round_robin([row.address for row in rows])]
        # Chats the platform told to wait in this pass (a 429, DingTalk's 130101), and for how long:
        # the rest of their rows wait as long rather than earn the same refusal one after another.
        paused: dict[str, float] = {}
        sending: dict[str, asyncio.Task[None]] = {}  # by address
        on_wire: dict[str, Row[Any]] = {}  # by address: the row its task in ``sending`` delivers
        held_until: datetime = min(row.lease_until for row in rows)
        try:
            while waiting or sending:
                renew_in = _seconds_to_renewal(clock, held_until)
                if renew_in <= 0:
                    # A chat's flood limit can keep a claimed row waiting here for longer than a
                    # lease: renew the leases of every row this pass still holds, and drop any row
                    # that another sender claimed meanwhile (it is that sender's to send now).
                    # Renewing, rather than giving back what cannot go soon, because only the
                    # holder knows it still means to send: the flood budget is shared with other
                    # senders and with replies, so no estimate made at claim time stays true. And
                    # under kill -9 it is what a lease is for: a killed sender renews nothing, its
                    # rows are free one lease later and sent once by whoever claims them; only
                    # those it had on the wire (at most ``in_flight``) go out again.
                    renewed, held_until = await self._renew([*waiting, *(on_wire[chat] for chat in sending)])
                    lost = [row.id for row in waiting if row.id not in renewed]
                    if lost:
                        log.warning("notifications %s were claimed by another sender while they waited here", lost)
                        waiting = [row for row in waiting if row.id in renewed]
                    continue
                if paused and (held := [row for row in waiting if row.address in paused]):
                    waiting = [row for row in waiting if row.address not in paused]
                    for row in held:
                        await self.outcomes.write(_Sent(row.id, row.attempts, [], DeliveryError(
                            "retry_later", "等待平台限流解除", paused[row.address])))
                    continue
                free = [index for index, row in enumerate(waiting) if row.address not in sending]
                if not free or len(sending) >= self.ctx.in_flight:
                    await _first_done(sending, timeout=renew_in)
                    continue
                if self.flood is None:
                    index, mark = free[0], None
                else:
                    # Send whatever may go now; a chat that must wait does not hold up the others.
                    taken = await self.flood.take([waiting[index].address for index in free])
                    if isinstance(taken, float):
                        # Never past the renewal: a group's turn can be further away than the lease.
                        wait = min(taken + 0.001, renew_in)
                        if sending:
                            await _first_done(sending, timeout=wait)
                        else:
                            await self.flood.sleep(wait)
                        continue
                    index, mark = free[taken[0]], taken[1]
                row = waiting.pop(index)
                on_wire[row.address] = row
                sending[row.address] = asyncio.create_task(self._deliver(row, mark, paused))
        finally:
            # A failure (the database went away) or a stop ends new sends; those under way finish and are recorded.
            if sending:
                await asyncio.gather(*sending.values(), return_exceptions=True)
            if waiting:
                # Claimed but never put on the wire: give them back now rather than leave them leased
                # for a minute (into the next run, when a stopped sandbox starts again).
                unsent = {row.id: row.attempts for row in waiting}
                try:
                    await self.ctx.run(lambda session: outbox.release_leases(session, unsent))
                except Exception:  # the lease still runs out by itself
                    log.warning("could not give back %d claimed notifications", len(unsent), exc_info=True)
        return len(rows)

    async def _renew(self, held: list[Row[Any]]) -> tuple[set[int], datetime]:
        """Renew the leases of ``held``: the ids still this sender's, and when their lease ends."""
        claims = {row.id: row.attempts for row in held}
        return await self.ctx.run(lambda session: outbox.renew_leases(session, self.ctx.clock, claims))

    async def _deliver(self, row: Row[Any], reserved: int | None = None, paused: dict[str, float] | None = None
                       ) -> None:
        marks: list[int] = []
        failure = await self._send(row, reserved, marks)
        if failure is not None and failure.kind == "retry_later" and failure.retry_after and paused is not None:
            paused[row.address] = failure.retry_after
        await self.outcomes.write(_Sent(row.id, row.attempts, marks, failure))

    def _record(self, session: Session, outcomes: list[_Sent]) -> None:
        """What became of sent rows, and their flood marks, in the transaction of their group."""
        clock = self.ctx.clock
        if self.flood is not None:
            self.flood.stamp(session, [mark for outcome in outcomes for mark in outcome.marks])
        outbox.mark_sent(session, clock, [outcome.row_id for outcome in outcomes if outcome.failure is None])
        for outcome in outcomes:
            failure = outcome.failure
            if failure is None:
                continue
            if failure.kind == "retry_later":
                wait = (outbox.backoff(outcome.attempts) if failure.retry_after is None
                        else timedelta(seconds=failure.retry_after))
                outbox.retry_later(session, clock, outcome.row_id, wait, failure.detail)
            elif failure.kind == "moved":
                outbox.chat_migrated(session, clock, outcome.row_id, failure.moved_to)
            elif failure.kind == "unreachable":
                outbox.member_unreachable(session, clock, outcome.row_id, failure.detail)
            else:
                outbox.mark_dead(session, clock, outcome.row_id, failure.detail)

    async def _send(self, row: Row[Any], reserved: int | None, marks: list[int]) -> DeliveryError | None:
        """Send the row's pages; None when delivered, else what went wrong and its detail."""
        try:
            reply = notification(row.kind, row.payload)
            if row.kind in MADE_WHEN_SENT:
                reply.files += await self.files.files_for(row.kind, row.payload)
        except Exception as error:  # this one row's payload cannot be rendered: it never will, the rest go on
            log.error("outbox row %s (%s) cannot be rendered: %r", row.id, row.kind, error)
            return DeliveryError("dead", f"render: {error!r}")
        try:
            await self.transport.deliver(row.address, reply, self.flood, reserved=reserved, sent_marks=marks)
        except DeliveryError as error:
            return error
        return None


async def send_reply(bot: Bot, address: str, reply: Reply, flood: SharedFlood | None = None, *,
                     reserved: int | None = None, sent_marks: list[int] | None = None,
                     sources: Mapping[str, FileSource] | None = None) -> None:
    """Send a reply's pages to a Telegram chat in order, buttons on the last one, then its files;
    each counted in ``flood`` as ``send_in_turn`` says."""
    chat_id = int(address)
    sends: list[Callable[[], Awaitable[Any]]] = [
        functools.partial(bot.do_api_request, "send_message", {
            "chat_id": chat_id, "text": page, "parse_mode": ParseMode.HTML, "link_preview_options": NO_PREVIEW,
            "reply_markup": reply.buttons.to_dict() if index == len(reply.pages) - 1 and reply.buttons else None,
        }) for index, page in enumerate(reply.pages)]  # a None is left out of the call
    sends += [functools.partial(_send_file, bot, chat_id, attachment, sources or {}) for attachment in reply.files]
    await send_in_turn(address, sends, flood, reserved=reserved, sent_marks=sent_marks)


async def send_in_turn(address: str, sends: list[Callable[[], Awaitable[Any]]], flood: SharedFlood | None, *,
                       reserved: int | None = None, sent_marks: list[int] | None = None) -> None:
    """Make ``sends`` (the messages of one reply to ``address``) in order, each counted in ``flood``.

    A notification (``sent_marks`` given) waits its turn for each message (``reserved``: the first
    one's turn, already taken) and collects the marks for the caller to stamp in its own
    transaction. An answer to someone who just wrote goes at once and is recorded."""
    for index, send in enumerate(sends):
        mark = None
        if flood is not None and sent_marks is not None:
            mark = reserved if index == 0 and reserved is not None else await flood.acquire(address)
        try:
            await send()
        finally:
            if mark is not None:
                assert sent_marks is not None
                sent_marks.append(mark)
            elif flood is not None:
                await flood.record(address)


async def _send_file(bot: Bot, chat_id: int, attachment: Attachment, sources: Mapping[str, FileSource]) -> None:
    """A file made here goes up as an upload; one a person sent goes again by its file_id, or, sent on
    another platform, is fetched from there and uploaded."""
    caption = attachment.caption or None
    content: str | InputFile
    if attachment.file_id is not None and attachment.channel != "telegram":
        source = sources.get(attachment.channel)
        if source is None:  # this process does not serve that platform: say where the file is
            where = texts.file_on_other_platform(attachment.name, CHANNEL_NAMES[attachment.channel])
            await bot.send_message(chat_id, where, parse_mode=ParseMode.HTML)
            return
        content = InputFile(await source(attachment.file_id), filename=attachment.name or texts.FILE_NAME)
    elif attachment.file_id is not None:
        content = attachment.file_id
    else:
        content = InputFile(attachment.data or b"", filename=attachment.name)
    if attachment.kind == "photo":
        await bot.send_photo(chat_id, content, caption=caption)
    else:
        await bot.send_document(chat_id, content, caption=caption)


def _seconds_to_renewal(clock: Clock, held_until: datetime) -> float:
    """Seconds until a pass renews the leases it holds: when half the lease is left, so that a
    renewal that is slow or must be tried again still ends before another sender may claim."""
    return (held_until - outbox.LEASE / 2 - db_time(clock)).total_seconds()


async def _first_done(sending: dict[str, asyncio.Task[None]], timeout: float | None = None) -> None:
    """Wait until one send ends (or ``timeout``), forget the ended ones, and raise what one raised."""
    done, _ = await asyncio.wait(sending.values(), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for address in [address for address, task in sending.items() if task in done]:
        sending.pop(address).result()


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
