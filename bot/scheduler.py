"""APScheduler, the planner's ticker in `taskbot run` and `taskbot worker` alike (bot/worker.py):
it only ticks; the database decides what is due.

Every minute the planner turns due steps into outbox rows (``tasks.clock.planner``); the outbox
sender (``bot.sender``) delivers them continuously. A tick that fails is logged and the
next one picks up where it left off, because nothing is marked handled until it commits.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import BotContext
from tasks.clock import planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar

log = logging.getLogger(__name__)
PLANNER_INTERVAL_SECONDS = 60


async def planner_tick(ctx: BotContext) -> planner.TickResult | None:
    if ctx.policy is None or ctx.calendar is None:
        return None
    policy, calendar = ctx.policy, ctx.calendar
    try:
        result = await asyncio.to_thread(plan_once, ctx, policy, calendar)
    except Exception:  # the next tick retries: what was not committed is still due
        log.exception("planner tick failed")
        return None
    if result.messages or result.digest:
        log.info("planner: %s assignments looked at, %s messages queued, digest=%s", result.assignments,
                 result.messages, result.digest)
    return result


def plan_once(ctx: BotContext, policy: Policy, calendar: WorkCalendar) -> planner.TickResult:
    """One planner pass, never beside another of this process's (see BotContext.planning)."""
    with ctx.planning:
        return planner.run_tick(ctx.in_transaction, ctx.clock, policy, calendar)


def start_scheduler(ctx: BotContext, interval_seconds: float = PLANNER_INTERVAL_SECONDS, *,
                    tick_now: bool = True) -> AsyncIOScheduler:
    """Tick every ``interval_seconds``, the first at once unless ``tick_now`` is False (its caller
    has just planned)."""
    scheduler = AsyncIOScheduler(timezone=ctx.timezone)
    first = datetime.now(ctx.timezone) + (timedelta(0) if tick_now else timedelta(seconds=interval_seconds))
    scheduler.add_job(planner_tick, IntervalTrigger(seconds=interval_seconds), args=[ctx], id="planner",
                      max_instances=1, coalesce=True, next_run_time=first)
    scheduler.start()
    return scheduler
