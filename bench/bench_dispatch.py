"""Dispatcher throughput under Telegram's limits, against the local Bot API server enforcing them.

    .venv/bin/python bench/bench_dispatch.py [--messages 3000] [--chats 1000] [--groups 50]

Queues the messages round-robin over the chats (people and groups) in a fresh SQLite outbox,
delivers them with the real sender, and prints messages/s as a fraction of the 30/s cap, the
429s received, and what was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select
from telegram import Bot

from bot.context import BotContext
from bot.flood import FloodControl, FloodLimits
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Member, Outbox, Role
from tasks.outbox import enqueue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    args = parser.parse_args()
    limits = FloodLimits()
    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'dispatch.db'}")
    create_schema(engine)
    clock = FixedClock(datetime(2021, 10, 15, 1, 30, tzinfo=UTC))
    server = SandboxServer(flood_limits=limits).start_in_thread()
    chats = [-(100_000 + n) if n < args.groups else 100_000 + n for n in range(args.chats)]
    with transaction(engine) as session:
        members = []
        for chat in chats:
            server.group(chat, f"群{chat}") if chat < 0 else server.person(chat, f"人{chat}")
            members.append(Member(user_id=None if chat < 0 else chat, chat_id=chat, name=str(chat), role=Role.OFFICE,
                                  created_at=clock.now()))
        session.add_all(members)
        session.flush()
        for n in range(args.messages):
            member = members[n % len(members)]
            enqueue(session, clock, member, "member_unreachable", {"member": f"第{n}条", "unit": ""}, f"bench:{n}")
    ctx = BotContext(engine, clock, ZoneInfo("Asia/Shanghai"), "bench")

    async def run() -> float:
        async with Bot(server.token, base_url=server.base_url) as bot:
            sender = OutboxSender(ctx, bot, FloodControl(limits))
            started = time.perf_counter()
            while await sender.deliver_due(limit=200):
                pass
            return time.perf_counter() - started

    elapsed = asyncio.run(run())
    server.stop()
    with transaction(engine) as session:
        statuses = [row.status for row in session.exec(select(Outbox)).all()]
    delivered = len(server.messages())
    rate = delivered / elapsed
    too_many = sum(1 for method, code, _ in server.state.rejected if code == 429)
    print(f"{args.messages} messages to {args.chats} chats ({args.groups} groups): {elapsed:.1f} s, "
          f"{rate:.2f} messages/s = {rate / limits.overall_per_second:.3f} of the {limits.overall_per_second}/s cap")
    print(f"429s received: {too_many}; delivered {delivered}; rows sent {statuses.count('sent')}, "
          f"lost {args.messages - delivered}")


if __name__ == "__main__":
    main()
