"""Dispatcher throughput under Telegram's limits, against the local Bot API server enforcing them.

    .venv/bin/python bench/bench_dispatch.py [--shape spread|per-chat] [--messages N] [--chats N] [--groups N]
                                             [--senders 1] [--round-trip-ms 0] [--in-flight 4] [--runs 3]
                                             [--backend sqlite|postgresql] [--postgres URL]

Queues the messages round-robin over the chats (people and groups; negative ids are groups) in
the outbox of a scratch database, delivers them with the real sender — ``--senders N`` is N
processes, each claiming and sending as a `taskbot worker` does and sharing nothing but the
database — and prints how long it took beside the least the limits allow for that mix
(bot/flood.py: 30 messages a second overall, one a second to a person, twenty a minute to a
group), the 429s received, and what went wrong, read from what the local Bot API server received
against the outbox's rows: a duplicate is a notice delivered more than once, a loss an outbox
row never delivered (whatever its status says).

Shapes: ``spread`` (3,000 messages to 1,000 chats, 50 of them groups: the overall limit binds)
and ``per-chat`` (150 messages to 6 chats, 2 of them groups, 25 each: the per-person and
per-group limits bind; a run takes a minute, as twenty a minute to a group allows no less).
--messages, --chats and --groups override a shape's figures.

``--round-trip-ms`` puts each Bot API call that long on the wire, as a far server would
(loopback answers in about a millisecond). ``--in-flight`` is the sender's window
(``[delivery] in_flight``): the most a kill -9 repeats, and with the round trip its speed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from common import (
    NOW,
    SH,
    add_database_options,
    add_in_flight_option,
    add_runs_option,
    best_median,
    notice_number,
    queue_notice,
    queued_notices,
    run,
    scratch_database,
)
from sqlalchemy import func
from sqlmodel import Session, select

from bot.context import BotContext
from bot.flood import FloodLimits, is_group
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender, TelegramTransport
from bot.telegram_http import make_bot
from tasks.clock import FixedClock, ShiftedClock
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Member, Outbox, OutboxStatus, Role

SHAPES = {"spread": (3000, 1000, 50), "per-chat": (150, 6, 2)}  # messages, chats, groups among them
POLL = 0.05  # seconds an idle sender waits before looking again while others still hold rows


# --- a sender process -------------------------------------------------------------------------------------

def sender_process(url: str, token: str, base_url: str, in_flight: int, ready: Queue[int], start: Event,
                   results: Queue[tuple[int, int]]) -> None:
    """One sender as a worker runs it: claim, send, record, until no row is left pending; reports
    (its pid, rows it claimed)."""
    engine = make_engine(url)
    # Time runs from the moment the rows were queued, so that a RetryAfter's wait ends.
    ctx = BotContext(engine, ShiftedClock(NOW), SH, "bench", in_flight=in_flight)

    def pending(session: Session) -> int:
        return session.exec(select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.PENDING)
                            ).one()

    async def deliver() -> int:
        claimed = 0
        async with make_bot(token, base_url) as bot:
            sender = OutboxSender(ctx, TelegramTransport(bot))
            ready.put(os.getpid())
            await asyncio.to_thread(start.wait)
            while True:
                taken = await sender.deliver_due()  # as many as `taskbot worker` claims at once
                claimed += taken
                if not taken:
                    if not await ctx.run(pending):
                        return claimed
                    await asyncio.sleep(POLL)

    results.put((os.getpid(), asyncio.run(deliver())))
    engine.dispose()


# --- one run -------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    seconds: float  # from the senders' start to the last one's end
    claimed: list[int]  # by each sender
    delivered: int  # notices the server accepted at least once (a duplicate counts once)
    too_many: int  # 429s the server answered
    duplicates: int  # notices delivered more than once
    extra: int  # deliveries beyond the first of those
    wrong_chat: int  # notices delivered to a chat not theirs
    lost: int  # outbox rows never delivered
    lost_by_status: Counter[str]  # their status in the outbox


def chat_ids(chats: int, groups: int) -> list[int]:
    return [-(100_000 + n) if n < groups else 100_000 + n for n in range(chats)]


def least_seconds(per_chat: Counter[int], limits: FloodLimits) -> float:
    """The least time the limits allow to deliver ``per_chat`` messages (first to last send)."""
    total = sum(per_chat.values())
    floors = [(total - 1) // limits.overall_per_second]
    for chat, count in per_chat.items():
        if is_group(str(chat)):
            floors.append((count - 1) // limits.group_per_minute * 60.0)
        else:
            floors.append((count - 1) * limits.per_chat_interval)
    return float(max(floors))


def queue(url: str, chats: list[int], messages: int, server: SandboxServer) -> None:
    engine = make_engine(url)
    create_schema(engine)
    clock = FixedClock(NOW)
    with transaction(engine) as session:
        members = []
        for chat in chats:
            server.group(chat, f"群{chat}") if is_group(str(chat)) else server.person(chat, f"人{chat}")
            members.append(Member(user_id=None if chat < 0 else str(chat), address=str(chat), name=str(chat),
                                  role=Role.OFFICE, created_at=clock.now()))
        session.add_all(members)
        session.flush()
        for n in range(messages):
            queue_notice(session, clock, members[n % len(members)], n)
    engine.dispose()


def dispatch(url: str, server: SandboxServer, senders: int, in_flight: int, timeout: float) -> tuple[float, list[int]]:
    """Run ``senders`` sender processes until the outbox is empty: (seconds, rows each claimed)."""
    context = multiprocessing.get_context("spawn")  # nothing of this process's state is inherited
    ready: Queue[int] = context.Queue()
    results: Queue[tuple[int, int]] = context.Queue()
    start = context.Event()
    processes: list[SpawnProcess] = [
        context.Process(target=sender_process, args=(url, server.token, server.base_url, in_flight, ready, start,
                                                     results), daemon=True) for _ in range(senders)]
    finished = False
    try:
        # Ctrl-C reaches the whole process group; the senders are born ignoring it (an ignored signal
        # stays ignored across exec), so that only the bench handles it: it stops them below.
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for process in processes:
                process.start()
        finally:
            signal.signal(signal.SIGINT, interrupt)
        for _ in processes:  # started, imported and connected: the clock starts when all can send
            ready.get(timeout=120)
        started = time.perf_counter()
        start.set()
        claimed = [results.get(timeout=timeout)[1] for _ in processes]
        finished = True
        return time.perf_counter() - started, claimed
    finally:
        for process in processes:
            if finished:
                process.join(5)
            if process.is_alive():  # stopped early (Ctrl-C, a timeout): no sender outlives the bench
                process.kill()
                process.join()


def one_run(url: str, args: argparse.Namespace, chats: list[int], limits: FloodLimits) -> Outcome:
    server = SandboxServer(flood_limits=limits, round_trip=args.round_trip_ms / 1000).start_in_thread()
    try:
        queue(url, chats, args.messages, server)
        least = least_seconds(Counter(chats[n % len(chats)] for n in range(args.messages)), limits)
        seconds, claimed = dispatch(url, server, args.senders, args.in_flight, timeout=10 * least + 300)
    finally:
        server.stop()
    received: Counter[int] = Counter()
    wrong_chat = 0
    for message in server.messages():
        number = notice_number(message)
        if number is None:
            continue
        received[number] += 1
        wrong_chat += message["chat"]["id"] != chats[number % len(chats)]
    engine = make_engine(url)
    rows = queued_notices(engine)
    engine.dispose()
    lost = [number for number in rows if not received[number]]
    return Outcome(seconds=seconds, claimed=claimed, delivered=len(received),
                   too_many=sum(1 for _method, code, _ in server.state.rejected if code == 429),
                   duplicates=sum(1 for count in received.values() if count > 1),
                   extra=sum(count - 1 for count in received.values() if count > 1), wrong_chat=wrong_chat,
                   lost=len(lost) + (args.messages - len(rows)), lost_by_status=Counter(rows[n][1] for n in lost))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="spread")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--chats", type=int)
    parser.add_argument("--groups", type=int)
    parser.add_argument("--senders", type=int, default=1, help="sender processes")
    parser.add_argument("--round-trip-ms", type=float, default=0.0)
    add_in_flight_option(parser)
    add_runs_option(parser, 3, "dispatches, each on a fresh database and server")
    add_database_options(parser)
    args = parser.parse_args()
    messages, chats, groups = SHAPES[args.shape]
    args.messages = args.messages or messages
    args.chats, args.groups = args.chats or chats, groups if args.groups is None else args.groups
    limits = FloodLimits()
    chats_list = chat_ids(args.chats, args.groups)
    per_chat = Counter(chats_list[n % len(chats_list)] for n in range(args.messages))
    least = least_seconds(per_chat, limits)
    print(f"{args.shape}: {args.messages} messages to {args.chats} chats ({args.groups} groups), "
          f"at most {max(per_chat.values())} to one chat; {args.senders} sender process(es), "
          f"{args.in_flight} in flight each, round trip {args.round_trip_ms:.0f} ms, {args.backend}; "
          f"the limits allow {least:.0f} s at the least", flush=True)
    outcomes = []
    for attempt in range(1, args.runs + 1):
        with scratch_database("dispatch", args.backend, args.postgres) as url:
            outcome = one_run(url, args, chats_list, limits)
        outcomes.append(outcome)
        lost = ", ".join(f"{status} {count}" for status, count in sorted(outcome.lost_by_status.items()))
        print(f"  run {attempt}: {outcome.seconds:.1f} s "
              f"({outcome.delivered / outcome.seconds:.2f} messages/s, each counted once; "
              f"{least / outcome.seconds if outcome.seconds else 0:.2f} of the fastest the limits allow); "
              f"claimed by sender {outcome.claimed}; 429s {outcome.too_many}; "
              f"duplicates {outcome.duplicates} ({outcome.extra} extra deliveries); "
              f"losses {outcome.lost}{f' (outbox status: {lost})' if lost else ''}; "
              f"to a wrong chat {outcome.wrong_chat}", flush=True)
    rates = [o.delivered / o.seconds for o in outcomes]
    print(f"  rate {best_median(rates, 'messages/s', digits=2, higher_is_better=True)}, "
          f"{max(rates) / limits.overall_per_second:.3f} of the {limits.overall_per_second}/s cap at best; "
          f"time {best_median([o.seconds for o in outcomes], digits=1)} against {least:.0f} s at the least")
    faults = sum(o.duplicates + o.lost + o.wrong_chat + o.too_many for o in outcomes)
    return 1 if faults else 0


if __name__ == "__main__":
    run(main)
