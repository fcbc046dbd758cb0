"""Dispatcher throughput under Telegram's limits, against the local Bot API server enforcing them.

    .venv/bin/python bench/bench_dispatch.py [--messages 3000] [--chats 1000] [--groups 50] [--senders 1]
                                             [--database-url postgresql://postgres@127.0.0.1:5432/taskbot_bench]
                                             [--round-trip-ms 0] [--in-flight 4]

Queues the messages round-robin over the chats (people and groups) in a fresh outbox (SQLite
unless a PostgreSQL URL is given; that database is emptied), delivers them with the real sender
— with ``--senders N``, N senders at once that share nothing but the database, as N worker
processes would — and prints messages/s as a fraction of the 30/s cap, the 429s received, and
what was lost. ``--round-trip-ms`` puts each Bot API call that long on the wire, as a far
server would (loopback answers in about a millisecond). ``--in-flight`` is the sender's window
(``[delivery] in_flight``): the most a kill -9 repeats, and with the round trip its speed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import SQLModel, select

from bot.config import DEFAULT_IN_FLIGHT
from bot.context import BotContext
from bot.flood import FloodLimits
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender
from bot.telegram_http import make_bot
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Member, Outbox, Role
from tasks.notifications import MemberUnreachable, NotificationKind
from tasks.outbox import enqueue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument("--round-trip-ms", type=float, default=0.0)
    parser.add_argument("--in-flight", type=int, default=DEFAULT_IN_FLIGHT)
    args = parser.parse_args()
    limits = FloodLimits()
    engine = make_engine(args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'dispatch.db'}")
    if args.database_url:
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    create_schema(engine)
    clock = FixedClock(datetime(2021, 10, 15, 1, 30, tzinfo=UTC))
    server = SandboxServer(flood_limits=limits, round_trip=args.round_trip_ms / 1000).start_in_thread()
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
            enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
                    MemberUnreachable(member=f"第{n}条", unit="", role=Role.OFFICE), f"bench:{n}")

    async def one_sender() -> None:
        async with make_bot(server.token, server.base_url) as bot:
            sender = OutboxSender(BotContext(engine, clock, ZoneInfo("Asia/Shanghai"), "bench",
                                             in_flight=args.in_flight), bot)
            while await sender.deliver_due(limit=200 // args.senders):
                pass

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one_sender() for _ in range(args.senders)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    server.stop()
    with transaction(engine) as session:
        statuses = [row.status for row in session.exec(select(Outbox)).all()]
    delivered = len(server.messages())
    rate = delivered / elapsed
    too_many = sum(1 for method, code, _ in server.state.rejected if code == 429)
    print(f"{args.messages} messages to {args.chats} chats ({args.groups} groups), {args.senders} sender(s), "
          f"{engine.dialect.name}: {elapsed:.1f} s, "
          f"{rate:.2f} messages/s = {rate / limits.overall_per_second:.3f} of the {limits.overall_per_second}/s cap")
    print(f"429s received: {too_many}; delivered {delivered}; rows sent {statuses.count('sent')}, "
          f"lost {args.messages - delivered}")


if __name__ == "__main__":
    main()
