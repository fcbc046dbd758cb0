"""Telegram's flood limits, and keeping under them on our side of the wire.

About 30 messages a second overall, one a second to the same chat, twenty a minute to the
same group. The limits are the bot's, whichever process sends: the bot that answers and any
number of ``taskbot worker`` processes. So the budget lives in the database (tasks/send_marks.py):
a sender reserves its message there before sending and is never told to wait (no 429 in the
first place). The sandbox server enforces the same numbers with the same arithmetic.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from tasks import send_marks

T = TypeVar("T")
RunInTransaction = Callable[[Callable[[Session], T]], Awaitable[T]]


@dataclass(frozen=True)
class FloodLimits:
    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20

    def window(self, chat_id: int) -> float:
        """How far back sends to ``chat_id`` still count."""
        return 60.0 if is_group(chat_id) else self.per_chat_interval


def is_group(chat_id: int) -> bool:
    return chat_id < 0


def wait_needed(limits: FloodLimits, now: float, overall: Sequence[float], chat: Sequence[float],
                chat_id: int) -> float:
    """Seconds until one more message to ``chat_id`` keeps within the limits (0: it may go now).

    ``overall`` holds the send times of the last second, ``chat`` those of this chat within its
    window (``limits.window``); both oldest first.
    """
    waits = [0.0]
    if len(overall) >= limits.overall_per_second:
        waits.append(1.0 - (now - overall[-limits.overall_per_second]))
    if is_group(chat_id):
        if len(chat) >= limits.group_per_minute:
            waits.append(60.0 - (now - chat[-limits.group_per_minute]))
    elif chat:
        waits.append(limits.per_chat_interval - (now - chat[-1]))
    return max(waits)


class SharedFlood:
    """The flood budget of every process sending as this bot, kept in ``send_mark``."""

    def __init__(self, run: RunInTransaction, limits: FloodLimits = FloodLimits(), *,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.run = run
        self.limits = limits
        self.wall = wall
        self.sleep = sleep

    async def take(self, chat_ids: Sequence[int]) -> tuple[int, int] | float:
        """Reserve a message to the first of ``chat_ids`` that may go now: (its index, the mark for
        ``stamp``). When none may, the seconds until one might; nothing is reserved then."""
        return await self.run(lambda session: self._take(session, chat_ids))

    async def acquire(self, chat_id: int) -> int:
        """Wait until a message to ``chat_id`` may go and reserve it; returns the mark for ``stamp``."""
        while isinstance(taken := await self.take([chat_id]), float):
            await self.sleep(taken + 0.001)
        return taken[1]

    def stamp(self, session: Session, mark_ids: Sequence[int]) -> None:
        """Move marks to now, once their requests have been answered (inside the caller's transaction).

        The server saw each request before its response came back, so with the marks at the
        response time our count is never looser than the server's, whatever the network delay.
        """
        send_marks.move_marks(session, mark_ids, self.wall())

    async def record(self, chat_id: int) -> None:
        """Count a message that went out without waiting (a reply to someone who just wrote)."""
        await self.run(lambda session: send_marks.add_mark(session, chat_id, self.wall()))

    def _take(self, session: Session, chat_ids: Sequence[int]) -> tuple[int, int] | float:
        send_marks.lock_budget(session)
        now = self.wall()  # read under the lock: no other sender can slip in between
        send_marks.forget_before(session, now - 60.0)
        # The last second overall, the last minute (a group's window, the longest) for these chats.
        overall, by_chat = send_marks.recent(session, now - 1.0, now - 60.0, set(chat_ids))
        shortest = float("inf")
        for index, chat_id in enumerate(chat_ids):
            wait = wait_needed(self.limits, now, overall, _within(self.limits, now, chat_id, by_chat[chat_id]),
                               chat_id)
            if wait <= 0:
                return index, send_marks.add_mark(session, chat_id, now)
            shortest = min(shortest, wait)
        return shortest


def _within(limits: FloodLimits, now: float, chat_id: int, times: list[float]) -> list[float]:
    return [at for at in times if now - at < limits.window(chat_id)]


def round_robin(chat_ids: list[int]) -> list[int]:
    """Indexes of ``chat_ids`` reordered so that consecutive sends go to different chats where possible."""
    queues: dict[int, deque[int]] = defaultdict(deque)
    for index, chat_id in enumerate(chat_ids):
        queues[chat_id].append(index)
    order: list[int] = []
    while queues:
        for chat_id in list(queues):
            order.append(queues[chat_id].popleft())
            if not queues[chat_id]:
                del queues[chat_id]
    return order
