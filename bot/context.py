"""What every handler needs: the database, the clock, the settings; and the shape of a request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Update
from telegram.ext import ContextTypes

from bot.channels import is_group_address
from bot.channels.directory import Directory
from bot.config import DEFAULT_IN_FLIGHT
from bot.flood import CHANNEL_LIMITS, SharedFlood
from tasks import inbox
from tasks.clock import Clock, local_today
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import transaction
from tasks.models import Member

T = TypeVar("T")
FileSource = Callable[[str], Awaitable[bytes]]
CONTEXT_KEY = "taskbot"


@dataclass
class BotContext:
    engine: Engine
    clock: Clock
    timezone: ZoneInfo
    district: str
    bot_username: str = ""
    desk_url: str = ""  # the web desk's address, ending in "/", once it is serving (empty: no desk)
    outbox_interval: float = 0.5
    loop: asyncio.AbstractEventLoop | None = None  # the bot's event loop, once it runs
    # Reminders, escalations and digests run only when a policy is given (the bot process sets it).
    policy: Policy | None = None
    calendar: WorkCalendar | None = None
    planner_interval: float = 60.0
    in_flight: int = DEFAULT_IN_FLIGHT  # notifications on the wire at once: the most a kill -9 repeats
    paced: bool = True  # share the flood budget (bot/flood.py): notifications wait their turn, replies count
    flood: SharedFlood | None = field(init=False, default=None)  # Telegram's
    _floods: dict[str, SharedFlood] = field(init=False, default_factory=dict, repr=False)  # the other channels'
    # How to fetch a file a person sent on a domestic platform, by the platform (its app, once started):
    # the office may open on Telegram or on the desk evidence a unit sent on DingTalk.
    file_sources: dict[str, FileSource] = field(init=False, default_factory=dict, repr=False)
    # The organisation's directory on a platform that gives one (its app, once started): the office
    # maps its departments to units, and people of a mapped department are bound as they write.
    directories: dict[str, Directory] = field(init=False, default_factory=dict, repr=False)
    # One planner pass at a time in this process: the scheduler ticks, and the sandbox console
    # plans at once after it moves the clock; two passes at once would both queue the digest.
    planning: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.paced:
            self.flood = SharedFlood(self.run)

    def flood_for(self, channel: str) -> SharedFlood | None:
        """The flood budget of one chat platform (None when this context does not pace its sends)."""
        if channel == "telegram" or self.flood is None:
            return self.flood
        floods = self._floods
        if channel not in floods:
            floods[channel] = SharedFlood(self.run, CHANNEL_LIMITS[channel], channel=channel,
                                          group=lambda address: is_group_address(channel, address))
        return floods[channel]

    @classmethod
    def of(cls, context: ContextTypes.DEFAULT_TYPE) -> BotContext:
        return context.application.bot_data[CONTEXT_KEY]

    def today(self) -> date:
        return local_today(self.clock, self.timezone)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run database work in one transaction, off the event loop."""
        return await asyncio.to_thread(self.in_transaction, work)

    def in_transaction(self, work: Callable[[Session], T]) -> T:
        handling = inbox.HANDLING.get()
        if handling is None or handling.marked:
            with transaction(self.engine) as session:
                return work(session)
        # Work for a stored update (bot/intake.py): a transaction that changes something also
        # marks the update handled, so a replay after a crash cannot make the change twice.
        with transaction(self.engine) as session:
            changes_before = inbox.changes_so_far(session)
            result = work(session)
            marked = inbox.mark_if_written(session, self.clock, handling.row_id, changes_before)
        handling.marked = marked  # only once committed
        return result


@dataclass(frozen=True)
class Who:
    """Who wrote, and where."""

    channel: str
    user_id: str  # the platform's id of the person
    address: str  # where they wrote: their own chat, or a group
    is_group: bool
    name: str

    @classmethod
    def of(cls, update: Update) -> Who | None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return None
        name = user.full_name or (f"@{user.username}" if user.username else str(user.id))
        return cls("telegram", str(user.id), str(chat.id), chat.type != "private", name)


@dataclass
class Request:
    """One command, as the action sees it: inside a transaction, with the member already checked."""

    session: Session
    member: Member
    who: Who
    args: str
    ctx: BotContext
    files: list[dict[str, Any]]

    @property
    def today(self) -> date:
        return self.ctx.today()

    @property
    def clock(self) -> Clock:
        return self.ctx.clock
