"""Writing what happened to sent messages: one transaction for every outcome that is ready.

The sender keeps several messages on the wire ([delivery] in_flight), so their answers arrive
close together. A transaction each made SQLite's writers queue for the write lock (and sleep in its busy
handler) one commit at a time. Here the outcomes that arrive while a write is under way are
written together in the next one, by one call of the writer with all of them (so that, say,
every message that went out is marked sent by one statement, not a round trip each). Each
outcome is still written as soon as the database can take it, before its sender goes on: a
crash leaves unrecorded at most what was on the wire, as before (those rows are sent again
once their lease runs out).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlmodel import Session

log = logging.getLogger(__name__)
Outcome = TypeVar("Outcome")


class GroupCommit(Generic[Outcome]):
    def __init__(self, run: Callable[[Callable[[Session], None]], Awaitable[None]],
                 write_all: Callable[[Session, list[Outcome]], None]) -> None:
        self.run = run  # one transaction per call
        self.write_all = write_all  # writes a list of outcomes inside the transaction it is given
        self._waiting: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, outcome: Outcome) -> None:
        """Write ``outcome`` in a transaction shared with the outcomes waiting beside it; returns once committed."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self.run(self._writing([outcome for outcome, _ in group]))
            except Exception as error:
                if len(group) == 1:
                    group[0][1].set_exception(error)
                    continue
                # One outcome that cannot be written must not undo the others: each on its own.
                log.warning("writing %d outcomes together failed (%r); writing them one by one", len(group), error)
                for outcome, done in group:
                    try:
                        await self.run(self._writing([outcome]))
                    except Exception as one:
                        done.set_exception(one)
                    else:
                        done.set_result(None)
            else:
                for _outcome, done in group:
                    done.set_result(None)

    def _writing(self, outcomes: list[Outcome]) -> Callable[[Session], None]:
        return lambda session: self.write_all(session, outcomes)
