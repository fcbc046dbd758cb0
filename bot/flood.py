"""The chat platforms' flood limits, and keeping under them on our side of the wire.

Telegram: about 30 messages a second overall, one a second to the same chat, twenty a minute to
the same group. DingTalk and WeCom group robots: twenty a minute each (DingTalk then stops a robot
for ten minutes); Feishu's: a hundred a minute and five a second (bot/channels/robots.py).
The limits are the bot's, whichever process sends: the bot that answers and any number of
``taskbot worker`` processes. So the budget lives in the database (tasks/send_marks.py), one per
channel: a sender reserves its message there before sending and is never told to wait (no 429,
no 130101 in the first place). The local doubles enforce the same numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from bot.channels import Channel, is_group_address
from bot.channels.robots import robot_limits
from tasks import send_marks

T = TypeVar("T")
RunInTransaction = Callable[[Callable[[Session], T]], Awaitable[T]]


@dataclass(frozen=True)
class FloodLimits:
    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    group_interval: float = 0.0  # the least time between two messages to one group (Feishu: 5 a second)

    def window(self, group: bool) -> float:
        """How far back sends to a chat still count."""
        return 60.0 if group else self.per_chat_interval


def _domestic(channel: Channel, overall_per_second: int) -> FloodLimits:
    """A domestic platform's limits: its group robots' per group (a group the bot is in is held to
    the same, the stricter reading), one message a second to a person, and the app's overall rate."""
    robot = robot_limits(channel)
    return FloodLimits(overall_per_second=overall_per_second, per_chat_interval=1.0,
                       group_per_minute=robot.per_minute,
                       group_interval=1.0 / robot.per_second if robot.per_second else 0.0)


# Each channel's budget is its own: a DingTalk robot's minute does not slow Telegram.
CHANNEL_LIMITS: dict[str, FloodLimits] = {
    "telegram": FloodLimits(),
    "dingtalk": _domestic("dingtalk", 20),
    "wecom": _domestic("wecom", 20),
    "feishu": _domestic("feishu", 50),
}


def is_group(address: str) -> bool:
    """Whether a Telegram address is a group's."""
    return is_group_address("telegram", address)


def wait_needed(limits: FloodLimits, now: float, overall: Sequence[float], chat: Sequence[float],
                group: bool) -> float:
    """Seconds until one more message to a chat (a ``group``'s or not) keeps within the limits
    (0: it may go now).

    ``overall`` holds the send times of the last second, ``chat`` those of this chat within its
    window (``limits.window``); both oldest first.
    """
    waits = [0.0]
    if len(overall) >= limits.overall_per_second:
        waits.append(1.0 - (now - overall[-limits.overall_per_second]))
    if group:
        if len(chat) >= limits.group_per_minute:
            waits.append(60.0 - (now - chat[-limits.group_per_minute]))
        if chat and limits.group_interval:
            waits.append(limits.group_interval - (now - chat[-1]))
    elif chat:
        waits.append(limits.per_chat_interval - (now - chat[-1]))
    return max(waits)


class SharedFlood:
    """The flood budget of every process sending as this bot on one channel, kept in ``send_mark``."""

    def __init__(self, run: RunInTransaction, limits: FloodLimits = FloodLimits(), *,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, channel: str = "telegram",
                 group: Callable[[str], bool] = is_group) -> None:
        self.run = run
        self.limits = limits
        self.wall = wall
        self.sleep = sleep
        self.channel = channel
        self.group = group  # whether an address on this channel is a group's

    async def take(self, addresses: Sequence[str]) -> tuple[int, int] | float:
        """Reserve a message to the first of ``addresses`` that may go now: (its index, the mark for
        ``stamp``). When none may, the seconds until one might; nothing is reserved then."""
        return await self.run(lambda session: self._take(session, addresses))

    async def acquire(self, address: str) -> int:
        """Wait until a message to ``address`` may go and reserve it; returns the mark for ``stamp``."""
        while isinstance(taken := await self.take([address]), float):
            await self.sleep(taken + 0.001)
        return taken[1]

    def stamp(self, session: Session, mark_ids: Sequence[int]) -> None:
        """Move marks to now, once their requests have been answered (inside the caller's transaction).

        The server saw each request before its response came back, so with the marks at the
        response time our count is never looser than the server's, whatever the network delay.
        """
        send_marks.move_marks(session, mark_ids, self.wall())

    async def record(self, address: str) -> None:
        """Count a message that went out without waiting (a reply to someone who just wrote)."""
        await self.run(lambda session: send_marks.add_mark(session, self.channel, address, self.wall()))

    def _take(self, session: Session, addresses: Sequence[str]) -> tuple[int, int] | float:
        send_marks.lock_budget(session)
        now = self.wall()  # read under the lock: no other sender can slip in between
        send_marks.forget_before(session, now - 60.0)
        # The last second overall, the last minute (a group's window, the longest) for these chats.
        overall, by_chat = send_marks.recent(session, self.channel, now - 1.0, now - 60.0, set(addresses))
        shortest = float("inf")
        for index, address in enumerate(addresses):
            group = self.group(address)
            recent = [at for at in by_chat[address] if now - at < self.limits.window(group)]
            wait = wait_needed(self.limits, now, overall, recent, group)
            if wait <= 0:
                return index, send_marks.add_mark(session, self.channel, address, now)
            shortest = min(shortest, wait)
        return shortest


def round_robin(addresses: Sequence[Hashable]) -> list[int]:
    """Indexes of ``addresses`` reordered so that consecutive sends go to different chats where possible."""
    queues: dict[Hashable, deque[int]] = defaultdict(deque)
    for index, address in enumerate(addresses):
        queues[address].append(index)
    order: list[int] = []
    while queues:
        for address in list(queues):
            order.append(queues[address].popleft())
            if not queues[address]:
                del queues[address]
    return order
