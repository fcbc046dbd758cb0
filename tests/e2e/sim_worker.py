"""A planner + dispatcher process for the kill/restart test: the bot's scheduled work, on a moved clock.

    python tests/e2e/sim_worker.py DATABASE_URL BOT_API_BASE_URL TOKEN CLOCK_FILE ACK_FILE

It reads the moment to live at from CLOCK_FILE, runs the planner tick and delivers the
outbox exactly as the bot process does, then writes that moment to ACK_FILE. It is killed
with SIGKILL at random points by the test and restarted.

It begins once a line arrives on its standard input: the test starts the next process while
the current one works, so that a restart does not wait for Python to start and import.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.context import BotContext
from bot.sender import OutboxSender, TelegramTransport
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine

SH = ZoneInfo("Asia/Shanghai")


async def main(database_url: str, base_url: str, token: str, clock_file: Path, ack_file: Path) -> None:
    while not (first := clock_file.read_text()):  # the test has yet to name the first moment
        time.sleep(0.002)
    clock = FixedClock(datetime.fromisoformat(first))
    policy, calendar = Policy(timezone=SH), WorkCalendar()
    ctx = BotContext(make_engine(database_url), clock, SH, "门头沟区", policy=policy, calendar=calendar,
                     paced=False)
    bot = Bot(token, base_url=base_url)
    async with bot:
        sender = OutboxSender(ctx, TelegramTransport(bot))
        done = ""
        while True:
            stamp = clock_file.read_text()
            if not stamp or stamp == done:
                time.sleep(0.002)
                continue
            clock.moment = datetime.fromisoformat(stamp)
            await asyncio.to_thread(planner.run_tick, ctx.in_transaction, clock, policy, calendar)
            while await sender.deliver_due():
                pass
            partial = ack_file.with_suffix(".tmp")
            partial.write_text(stamp)
            partial.replace(ack_file)
            done = stamp


if __name__ == "__main__":
    if not sys.stdin.readline():
        sys.exit(0)  # the test ended (or died) before this process was needed
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5])))
