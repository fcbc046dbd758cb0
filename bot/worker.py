"""`taskbot worker`: the planner and the outbox sender without the chat side.

Any number of workers may run against one PostgreSQL: the planner and the sender take their
rows with FOR UPDATE SKIP LOCKED, so each assignment is planned and each notification sent by
one of them. Exactly one process, `taskbot run`, consumes the chat's updates: it holds the
database's consumer lock (bot/consumer_lock.py) while it does.
"""

from __future__ import annotations

import asyncio
import logging

from bot.context import BotContext
from bot.sender import OutboxSender
from bot.telegram_http import make_bot
from tasks.clock import planner

log = logging.getLogger(__name__)


async def run_worker(ctx: BotContext, token: str, base_url: str | None = None, *, until_idle: bool = False,
                     ca_bundle: str | None = None) -> None:
    async with make_bot(token, base_url, ca_bundle=ca_bundle) as bot:
        sender = OutboxSender(ctx, bot)
        next_tick = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if ctx.policy is not None and ctx.calendar is not None and loop.time() >= next_tick:
                await asyncio.to_thread(planner.run_tick, ctx.in_transaction, ctx.clock, ctx.policy, ctx.calendar)
                next_tick = loop.time() + ctx.planner_interval
            delivered = await sender.deliver_due()
            if not delivered:
                if until_idle:
                    return
                await asyncio.sleep(ctx.outbox_interval)
