"""Files a notification carries that are made when it is sent: the digest's chart and ledger, and a
ledger asked for in chat (/export).

They need the database (the ledger is the plan as it stands), so the sender makes them, not the
renderer, and off the handling of updates: a ledger of a large plan takes seconds, and no one else
should wait for a reply meanwhile. The digest's files are made once for all who receive that
week's digest: its sends run side by side, so the first builds them and the rest wait for it; a
build that failed is remembered too, rather than tried again by every recipient.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot import texts
from bot.context import BotContext
from bot.render import Attachment
from tasks.clock.digest import digest_files
from tasks.notifications import Digest, LedgerRequest, NotificationKind, Payload, parse_payload
from tasks.plan.ledger import ledger_workbook

MADE_WHEN_SENT = frozenset({NotificationKind.DIGEST_FILES, NotificationKind.LEDGER})


class FileMaker:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self._lock = asyncio.Lock()
        self._digest: tuple[date, list[Attachment] | Exception] | None = None

    async def files_for(self, kind: str, stored: dict) -> list[Attachment]:
        """The files of one outbox row of a MADE_WHEN_SENT kind; raises what made them fail."""
        payload: Payload = parse_payload(kind, stored)
        if isinstance(payload, LedgerRequest):
            return [await self._ledger(payload)]
        assert isinstance(payload, Digest)
        return await self._digest_files(payload)

    async def _digest_files(self, digest: Digest) -> list[Attachment]:
        async with self._lock:
            if self._digest is None or self._digest[0] != digest.week_of:
                try:
                    files = await self.ctx.run(lambda session: digest_files(
                        session, digest, district=self.ctx.district, timezone=self.ctx.timezone))
                    made: list[Attachment] | Exception = [
                        Attachment("photo", files.chart_name, data=files.chart,
                                   caption=texts.digest_chart_caption(digest.week_of)),
                        Attachment("document", files.ledger.file_name, data=files.ledger.content,
                                   caption=texts.ledger_caption(files.ledger.title, files.ledger.tasks,
                                                                files.ledger.rows))]
                except Exception as error:
                    made = error
                self._digest = (digest.week_of, made)
            made = self._digest[1]
        if isinstance(made, Exception):
            raise made
        return made

    async def _ledger(self, asked: LedgerRequest) -> Attachment:
        ledger = await self.ctx.run(lambda session: ledger_workbook(
            session, asked.day, unit=asked.unit, team=asked.team, status=asked.status, district=self.ctx.district,
            timezone=self.ctx.timezone))
        return Attachment("document", ledger.file_name, data=ledger.content,
                          caption=texts.ledger_caption(ledger.title, ledger.tasks, ledger.rows))
