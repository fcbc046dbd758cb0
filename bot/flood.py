"""Telegram's flood limits, and keeping under them on our side of the wire.

About 30 messages a second overall, one a second to the same chat, twenty a minute to the
same group. The sandbox server enforces the same numbers (``FloodLimits``); the sender
waits with ``FloodControl`` so that it is never told to (no 429 in the first place).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20


class FloodControl:
    def __init__(self, limits: FloodLimits = FloodLimits(), *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.limits = limits
        self.monotonic = monotonic
        self.sleep = sleep
        self._recent: deque[float] = deque()
        self._chats: dict[int, deque[float]] = defaultdict(deque)

    def delay(self, chat_id: int) -> float:
        """Seconds to wait before a message to ``chat_id`` may go (0: now)."""
        now = self.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        chat = self._chats[chat_id]
        is_group = chat_id < 0
        window = 60.0 if is_group else self.limits.per_chat_interval
        while chat and now - chat[0] >= window:
            chat.popleft()
        waits = [0.0]
        if len(self._recent) >= self.limits.overall_per_second:
            waits.append(1.0 - (now - self._recent[0]))
        if is_group and len(chat) >= self.limits.group_per_minute:
            waits.append(60.0 - (now - chat[0]))
        if not is_group and chat:
            waits.append(self.limits.per_chat_interval - (now - chat[-1]))
        return max(waits)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may go. Call ``sent`` once the request has returned."""
        while (wait := self.delay(chat_id)) > 0:
            await self.sleep(wait + 0.001)

    def sent(self, chat_id: int) -> None:
        # Recorded when the response is back, never before the server saw the request: so our
        # window is never looser than the one the server counts, whatever the network delay.
        now = self.monotonic()
        self._recent.append(now)
        self._chats[chat_id].append(now)


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
