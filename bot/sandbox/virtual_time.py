"""Virtual time for delivering at a platform's cap: minutes of pacing in a second, the arithmetic exact.

The flood budget (bot/flood.py) waits by its ``sleep`` and reads its ``wall``; the robot double
(robot_double.py), the Bot API double (server.py) and the robot client's signatures read a clock
callable; the outbox reads a ``Clock``. ``VirtualTime`` is all of them at once: time that passes
only when every sender is waiting for it, and then straight to the earliest moment one of them
waits for. The HTTP, the database and the rendering stay real; only the waiting is skipped.

Moving on as soon as one sender waits would let time pass while another sender's request is on
the wire: the double would take that message later than the flood budget counted it, a network
delay of minutes that no loopback has, and it could then refuse what the budget rightly let go.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session, func, select

from bot.channels import is_group_address
from bot.context import BotContext
from bot.flood import CHANNEL_LIMITS, SharedFlood
from bot.sender import OutboxSender
from tasks.models import Outbox, OutboxStatus

Wall = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class VirtualTime:
    """One clock for a run's senders and doubles. Each sender runs inside ``sender()``, and its
    budget keeps time through ``budget_time()``; anything else that waits uses ``pause``."""

    def __init__(self, start: datetime) -> None:
        self.at = start.timestamp()
        self.senders = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def seconds(self) -> float:
        """The doubles' and the robot client's clock."""
        return self.at

    def now(self) -> datetime:
        """The outbox's clock (a tasks.clock.Clock)."""
        return datetime.fromtimestamp(self.at, UTC)

    def budget_time(self) -> tuple[Wall, Sleep]:
        """A ``wall`` and a ``sleep`` for one sender's flood budget. A wait is counted from the
        moment the budget read the clock to compute it, not from when the sender got round to
        sleeping (another sender may have moved the clock in between)."""
        read = [self.at]

        def wall() -> float:
            read[0] = self.at
            return read[0]

        async def sleep(seconds: float) -> None:
            await self._sleep_until(read[0] + seconds)

        return wall, sleep

    async def pause(self, seconds: float) -> None:
        await self._sleep_until(self.at + seconds)

    @contextmanager
    def sender(self) -> Iterator[None]:
        """A sender at work: time waits for it until it sleeps or leaves."""
        self.senders += 1
        try:
            yield
        finally:
            self.senders -= 1
            self._advance()

    async def _sleep_until(self, at: float) -> None:
        if at <= self.at:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (at, next(self._order), woken))
        self._advance()
        await woken

    def _advance(self) -> None:
        # A sender sleeps in one place at a time: its pass waiting for the budget, a send waiting for
        # its next page's turn while the pass waits for that send, or between passes.
        if not self._sleepers or len(self._sleepers) < self.senders:
            return  # a sender is still working: its time has not passed yet
        self.at = max(self.at, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self.at:
            woken = heapq.heappop(self._sleepers)[2]
            if not woken.done():
                woken.set_result(None)


@dataclass
class PacedContext(BotContext):
    """A sender's context whose flood budgets keep ``budget_time``'s time (a BotContext's keep the wall clock's)."""

    budget_time: tuple[Wall, Sleep] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.flood is not None:
            self.flood = self._budget("telegram")

    def flood_for(self, channel: str) -> SharedFlood | None:
        if channel == "telegram" or self.flood is None:
            return self.flood
        if channel not in self._floods:
            self._floods[channel] = self._budget(channel)
        return self._floods[channel]

    def _budget(self, channel: str) -> SharedFlood:
        flood = SharedFlood(self.run, CHANNEL_LIMITS[channel], channel=channel,
                            group=lambda address: is_group_address(channel, address))
        if self.budget_time is not None:
            flood.wall, flood.sleep = self.budget_time
        return flood


class Pace(Protocol):
    """The time a delivery run keeps (``VirtualTime``, or the wall's): seconds for the flood budget,
    the robot client and the doubles; a Clock for the outbox."""

    def seconds(self) -> float: ...

    def now(self) -> datetime: ...

    def budget_time(self) -> tuple[Wall, Sleep]: ...

    async def pause(self, seconds: float) -> None: ...

    def sender(self) -> AbstractContextManager[None]: ...


def _pending(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.PENDING)).one()


async def deliver_until_done(sender: OutboxSender, pace: Pace, claim: int, poll: float) -> int:
    """One sender as the worker runs it: claim, send, record, until no row is left pending (waiting
    ``poll`` while another sender holds the rest); the rows it claimed."""
    claimed = 0
    with pace.sender():
        while True:
            taken = await sender.deliver_due(claim)
            claimed += taken
            if not taken:
                if not await sender.ctx.run(_pending):
                    return claimed
                await pace.pause(poll)
