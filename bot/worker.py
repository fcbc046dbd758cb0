"""The planner and the outbox sender: one loop, run by `taskbot run` beside the chat and by
`taskbot worker` without it.

Any number of workers may run against one PostgreSQL: the planner and the sender take their
rows with FOR UPDATE SKIP LOCKED, so each assignment is planned and each notification sent by
one of them. Exactly one process, `taskbot run`, consumes the chat's updates: it holds the
database's consumer lock (bot/consumer_lock.py) while it does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.context import BotContext
from bot.scheduler import plan_once, start_scheduler
from bot.sender import OutboxSender, Transport

log = logging.getLogger(__name__)


async def run_planner_and_sender(ctx: BotContext, transports: Sequence[Transport], *,
                                 until_idle: bool = False) -> None:
    """APScheduler ticks the planner (when ``ctx`` has a policy) while a sender per chat platform
    (``transports``) delivers that platform's share of the outbox, until cancelled; with
    ``until_idle``, until a pass of every sender finds nothing left to send.

    The senders run side by side: a platform whose robots may post twenty a minute does not hold
    up another's notifications.

    One error policy for all: a planner tick or an outbox pass that fails is logged and the next
    one retries, because nothing is marked done until it commits. A run until idle has no next
    pass to wait for: its failure is raised, so that the command says it and exits non-zero.
    """
    senders = [OutboxSender(ctx, transport) for transport in transports]
    scheduler = None
    if ctx.policy is not None and ctx.calendar is not None:
        if until_idle:  # the whole queue is planned before the sender can find it empty
            await asyncio.to_thread(plan_once, ctx, ctx.policy, ctx.calendar)
        scheduler = start_scheduler(ctx, ctx.planner_interval, tick_now=not until_idle)
    try:
        await asyncio.gather(*(_deliver(ctx, sender, until_idle) for sender in senders))
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


async def _deliver(ctx: BotContext, sender: OutboxSender, until_idle: bool) -> None:
    while True:
        try:
            delivered = await sender.deliver_due()
        except Exception as error:  # a database hiccup: the rows wait in the outbox for the next pass
            if isinstance(error, RuntimeError) and "after shutdown" in str(error):
                return  # the process is exiting: the rows wait in the outbox
            if until_idle:
                raise
            log.exception("outbox pass failed (%s)", sender.transport.channel)
            delivered = 0
        if not delivered:
            if until_idle:
                return
            await asyncio.sleep(ctx.outbox_interval)
