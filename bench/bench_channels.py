"""Delivery at each channel's cap: how near the cap the sender goes, and that the platform refuses nothing.

    .venv/bin/python bench/bench_channels.py [--channels dingtalk wecom feishu telegram] [--robots K]
                                             [--messages N] [--senders 1 2] [--claim N] [--in-flight 4]
                                             [--people N]
                                             [--real-time]
                                             [--backend sqlite|postgresql] [--postgres URL]

For each channel, queues N notifications (urges and reminders, as the planner and the office queue
them) for K group robots bound to K units (member rows reached at ``robot:<name>``, as the
configuration binds them) in the outbox of a scratch database, and delivers them with the real
sender: ``OutboxSender`` with the platform's ``DomesticTransport`` and ``RobotClient``, posting
over HTTP to the local double of the platforms' group-robot webhooks (bot/sandbox/robot_double.py),
which refuses a message past the platform's own limit (DingTalk and WeCom: twenty a minute per
robot; Feishu: a hundred a minute and five a second). ``--people N`` binds N people with a mobile
number to each unit: a DingTalk or WeCom robot then @s them (asked of the database as each message
goes, as ``taskbot run`` asks it), and WeCom's @ is a text message of its own after each notice,
counted against the robot's cap like any other. Telegram is the same run with K groups of
the local Bot API server enforcing Telegram's limits (bench_dispatch.py measures Telegram alone,
with sender processes). ``--senders 2`` is two senders, each with its own database engine,
context and flood budget object, sharing only the database, as two processes do: the budget in
the database must hold across them. ``--claim`` is how many rows a sender claims at once (the
worker's hundred; in real time ten, so that with a minute's worth of messages both senders hold
rows for the same robots at once).

Printed for each run: the messages and robots (and the @ messages, when people are bound); the time
from the first delivery to the last beside the least the channel's flood limits (bot/flood.py) allow
for the same messages, and their ratio (1.000: as fast as the limits allow); for each robot its
busiest minute (and second) as the double counted them against the platform's cap, and its rate over
the time it was busy (n messages over the span from its first to its last plus one window: at the
cap that is the cap itself, less where another limit spreads a minute's messages: the channel's
overall rate, or Feishu's five a second, which spreads a robot's hundred over twenty seconds of its
minute; the pace against the least the limits allow is the figure that says whether the sender
wastes time); the refusals the double answered (the platform's 130101, 45009, 11232, Telegram's
429); and, from what the double received against the outbox's rows, duplicates (a notice delivered
more than once), losses (a row never delivered, whatever its status says) and deliveries to a robot
not the row's.

Time: by default the sender's flood budget, the outbox's clock, the robot client's signatures and
the double all read one virtual clock (bot/sandbox/virtual_time.py), which moves only when every
sender is waiting for it, and then straight to the earliest moment one of them waits for. So
minutes of twenty-a-minute pacing run in seconds, the figures are the limits' arithmetic exactly,
and the HTTP, the database and the rendering are all real. ``--real-time`` uses the wall clock
instead (and, unless told otherwise, two robots, one sender and a minute's worth of messages per
robot: a little over a minute per channel).
The bench prints figures; it asserts nothing about time. Its exit code is 1 when anything was
refused, duplicated, lost or misdelivered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime

from common import (
    NOW,
    SH,
    add_database_options,
    add_in_flight_option,
    number_in,
    queue_duty_notice,
    queued_duty_notices,
    run,
    scratch_database,
)
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.channels import PERSON, ROBOT, Channel
from bot.channels.robots import RobotClient
from bot.channels.runtime import robot_mentions
from bot.channels.transport import DomesticTransport
from bot.flood import CHANNEL_LIMITS, FloodLimits
from bot.sandbox import robot_double
from bot.sandbox.robot_double import RobotDouble
from bot.sandbox.server import SandboxServer
from bot.sandbox.virtual_time import Pace, PacedContext, Sleep, VirtualTime, Wall, deliver_until_done
from bot.sender import OutboxSender, TelegramTransport, Transport
from bot.telegram_http import make_bot
from tasks.clock import FixedClock, ShiftedClock
from tasks.db import create_schema, make_engine, transaction
from tasks.events import Actor
from tasks.models import Member, Role, Unit
from tasks.work.members import RobotBinding, keep_robots

ORDER: tuple[Channel, ...] = ("dingtalk", "wecom", "feishu", "telegram")
NAMES = {"dingtalk": "DingTalk robots", "wecom": "WeCom robots", "feishu": "Feishu robots",
         "telegram": "Telegram groups"}
# Messages per robot: enough for the per-minute cap to bind more than once (Feishu: its five a
# second binds within each minute, its hundred a minute across them); in real time, one minute's worth.
PER_ROBOT = {"dingtalk": 60, "wecom": 60, "feishu": 200, "telegram": 60}
PER_ROBOT_REAL = {"dingtalk": 21, "wecom": 21, "feishu": 101, "telegram": 21}
# DingTalk and Feishu robots sign (加签 / 签名校验) with a secret; WeCom's have none.
SECRETS = {"dingtalk": "SECbench0123456789abcdef0123456789abcdef0123456789abcdef0123", "wecom": "",
           "feishu": "benchFeishuSecret42"}
POLL = 0.5  # seconds an idle sender waits before looking again, as the worker's outbox interval


def platform_caps(channel: Channel) -> list[tuple[int, float]]:
    """What one robot (a Telegram group) may take, as the double counts it: (messages, window seconds)."""
    if channel == "dingtalk":
        return [(robot_double.DINGTALK_PER_MINUTE, 60.0)]
    if channel == "wecom":
        return [(robot_double.WECOM_PER_MINUTE, 60.0)]
    if channel == "feishu":
        return [(robot_double.FEISHU_PER_MINUTE, 60.0), (robot_double.FEISHU_PER_SECOND, 1.0)]
    return [(FloodLimits().group_per_minute, 60.0)]


# --- time ------------------------------------------------------------------------------------------------

class RealTime:
    def __init__(self) -> None:
        self.clock = ShiftedClock(NOW)  # the outbox's: the queued rows are due from NOW on

    def seconds(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return self.clock.now()

    def budget_time(self) -> tuple[Wall, Sleep]:
        return time.time, asyncio.sleep

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @contextmanager
    def sender(self) -> Iterator[None]:
        yield


# --- the scratch database -----------------------------------------------------------------------------

def robot_names(robots: int) -> list[str]:
    return [f"单位{n + 1}工作群" for n in range(robots)]


def queue(url: str, channel: Channel, robots: int, messages: int, people: int = 0) -> None:
    """K units, each with its robot (a Telegram group) bound and ``people`` people with a mobile number,
    and the notices queued round-robin over them."""
    engine = make_engine(url)
    create_schema(engine)
    clock = FixedClock(NOW)
    names = robot_names(robots)
    with transaction(engine) as session:
        units = [Unit(name=f"单位{n + 1}", created_at=clock.now()) for n in range(robots)]
        session.add_all(units)
        session.flush()
        if channel == "telegram":
            session.add_all(Member(channel="telegram", user_id=None, address=str(chat_id(n)), name=names[n],
                                   role=Role.MEMBER, unit_id=unit.id, created_at=clock.now())
                            for n, unit in enumerate(units))
        else:
            keep_robots(session, clock, Actor("bench", "cli"), channel,
                        [RobotBinding(channel, names[n], Role.MEMBER, unit.name) for n, unit in enumerate(units)])
        session.add_all(Member(channel=channel, user_id=f"u{n}-{k}", address=f"{PERSON}u{n}-{k}", name=f"成员{n}-{k}",
                               role=Role.MEMBER, unit_id=unit.id, created_at=clock.now(), mobile=f"139{n:04d}{k:04d}")
                        for n, unit in enumerate(units) for k in range(people))
        session.flush()
        members = session.exec(select(Member).where(Member.channel == channel, col(Member.user_id).is_(None))
                               .order_by(Member.id)).all()
        unit_names = {unit.id: unit.name for unit in units}
        for number in range(messages):
            member = members[number % robots]
            queue_duty_notice(session, clock, member, number, unit_names[member.unit_id])
    engine.dispose()


def chat_id(n: int) -> int:
    return -(100_000 + n)


# --- one run -------------------------------------------------------------------------------------------------

@dataclass
class Delivered:
    number: int
    address: str  # where it arrived
    at: float  # when the double took it


@dataclass
class Delivery:
    """What one run's senders did, as the platform's double saw it."""

    real_seconds: float
    claimed: list[int]
    deliveries: list[Delivered]
    refusals: Counter[str]  # by the platform's code
    # Every message each robot took, a notice's or an @ of its own, when: what its cap counts.
    sends: dict[str, list[float]]
    mentioned: int  # messages that @'d someone


@dataclass
class Outcome(Delivery):
    """A run's delivery beside what the outbox says of each notice."""

    rows: dict[int, tuple[str, str]]  # number -> (address, status) in the outbox


async def deliver(url: str, channel: Channel, senders: int, robots: int, in_flight: int, claim: int, pace: Pace
                  ) -> Delivery:
    names = robot_names(robots)
    engines: list[Engine] = []
    contexts = []
    for _ in range(senders):
        engines.append(make_engine(url))
        contexts.append(PacedContext(engines[-1], pace, SH, "bench", in_flight=in_flight,
                                     budget_time=pace.budget_time()))
    sends: dict[str, list[float]] = defaultdict(list)
    mentioned = 0
    async with AsyncExitStack() as stack:
        transports: list[Transport] = []
        if channel == "telegram":
            server = SandboxServer(flood_limits=FloodLimits(), monotonic=pace.seconds).start_in_thread()
            stack.callback(server.stop)
            for n, name in enumerate(names):
                server.group(chat_id(n), name)
            for _ in range(senders):
                bot = await stack.enter_async_context(make_bot(server.token, server.base_url))
                transports.append(TelegramTransport(bot))
        else:
            double = await stack.enter_async_context(RobotDouble(clock=pace.seconds))
            hooks = {}
            tokens = {}
            for name in names:
                robot = double.add_robot(channel, secret=SECRETS[channel])
                hooks[name] = double.hook(robot, name)
                tokens[robot.token] = ROBOT + name
            for ctx in contexts:  # each sender its own HTTP client, as each process has
                client = await stack.enter_async_context(RobotClient(clock=pace.seconds))
                transports.append(DomesticTransport(channel, robots=hooks, robot_client=client,
                                                    mentions=robot_mentions(ctx)))
        started = time.perf_counter()
        claimed = await asyncio.gather(*(deliver_until_done(OutboxSender(ctx, transport), pace, claim, POLL)
                                         for ctx, transport in zip(contexts, transports, strict=True)))
        real_seconds = time.perf_counter() - started
        deliveries: list[Delivered] = []
        refusals: Counter[str] = Counter()
        if channel == "telegram":
            for message in server.messages():
                number = number_in(message.get("text") or "")
                if number is not None:
                    deliveries.append(Delivered(number, str(message["chat"]["id"]), 0.0))
            # Each send's time, per chat, in the order the server saw them: the messages' own times
            # when nothing was refused (a refused send is timed here too, and is reported as a refusal).
            times: dict[str, deque[float]] = defaultdict(deque)
            for at, _method, chat in server.state.calls:
                times[str(chat)].append(at)
            for delivered in deliveries:
                delivered.at = times[delivered.address].popleft() if times[delivered.address] else 0.0
            refusals.update(str(code) for _method, code, _ in server.state.rejected)
        else:
            for received in double.received:
                address = tokens.get(received.token, "?")
                sends[address].append(received.at)
                mentioned += bool(received.mentions)
                number = number_in(json.dumps(received.body, ensure_ascii=False))
                if number is not None:
                    deliveries.append(Delivered(number, address, received.at))
            refusals.update(str(refusal.code) for refusal in double.refusals)
    for engine in engines:
        engine.dispose()
    if channel == "telegram":
        for delivered in deliveries:
            sends[delivered.address].append(delivered.at)
    return Delivery(real_seconds, list(claimed), deliveries, refusals, dict(sends), mentioned)


def one_run(url: str, channel: Channel, senders: int, robots: int, messages: int, in_flight: int, claim: int,
            real_time: bool, people: int = 0) -> Outcome:
    queue(url, channel, robots, messages, people)
    pace: Pace = RealTime() if real_time else VirtualTime(NOW)
    done = asyncio.run(deliver(url, channel, senders, robots, in_flight, claim, pace))
    engine = make_engine(url)
    rows = queued_duty_notices(engine)
    engine.dispose()
    return Outcome(**vars(done), rows=rows)


# --- what the limits allow, and what a run achieved ------------------------------------------------------

def least_seconds(counts: list[int], limits: FloodLimits) -> float:
    """The least time from the first send to the last that ``limits`` allow for ``counts[i]`` messages
    to group i: each message sent at the earliest moment the limits let one go, to the group with the
    fewest sent so far when several may go (the overall rate shared out, as the sender's round robin does)."""
    sent: list[deque[float]] = [deque() for _ in counts]
    overall: deque[float] = deque()
    left = list(counts)
    last = 0.0
    while any(left):
        best, best_key = -1, (float("inf"), 0)
        for index, remaining in enumerate(left):
            if not remaining:
                continue
            times = sent[index]
            at = 0.0
            if len(times) >= limits.group_per_minute:
                at = max(at, times[-limits.group_per_minute] + 60.0)
            if times and limits.group_interval:
                at = max(at, times[-1] + limits.group_interval)
            if len(overall) >= limits.overall_per_second:
                at = max(at, overall[-limits.overall_per_second] + 1.0)
            if (at, len(times)) < best_key:
                best, best_key = index, (at, len(times))
        at = best_key[0]
        sent[best].append(at)
        overall.append(at)
        left[best] -= 1
        last = max(last, at)
    return last


def busiest(times: list[float], window: float) -> int:
    """The most messages within any ``window`` seconds, counted as the double counts them (a message
    leaves the window ``window`` seconds after it was taken)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def report(channel: Channel, outcome: Outcome, messages: int, robots: int) -> int:
    """Print a run's figures; the number of faults (refusals, duplicates, losses, misdeliveries)."""
    received: Counter[int] = Counter(d.number for d in outcome.deliveries)
    wrong = sum(1 for d in outcome.deliveries if d.number in outcome.rows and d.address != outcome.rows[d.number][0])
    duplicates = sum(1 for count in received.values() if count > 1)
    extra = sum(count - 1 for count in received.values() if count > 1)
    lost = [number for number in outcome.rows if not received[number]]
    missing_rows = messages - len(outcome.rows)
    lost_by_status = Counter(outcome.rows[number][1] for number in lost)
    refused = sum(outcome.refusals.values())

    by_robot = outcome.sends  # every message the robot took, as its cap counts them
    times = [at for sent in by_robot.values() for at in sent]
    span = max(times) - min(times) if times else 0.0
    counts = [len(at) for at in by_robot.values()]
    least = least_seconds(counts, CHANNEL_LIMITS[channel])
    pace = least / span if span else 1.0
    own_mentions = sum(counts) - len(outcome.deliveries)
    if outcome.mentioned:
        print(f"  {outcome.mentioned} messages @'d people by mobile number"
              f"{f', {own_mentions} of them messages of their own' if own_mentions else ', inside the notices'}")
    print(f"  delivered {len(received)} of {messages} in {span:.1f} s from the first to the last; the flood limits "
          f"allow {least:.1f} s at the least: {pace:.3f} of the fastest pace the caps allow; "
          f"{outcome.real_seconds:.1f} s of real time; claimed by sender {outcome.claimed}")
    caps = platform_caps(channel)
    cap_figures = []
    for cap, window in caps:
        unit = "min" if window == 60.0 else "s"
        worst = [busiest(at, window) for at in by_robot.values()]
        figure = f"busiest {'minute' if window == 60.0 else 'second'} {max(worst, default=0)} (cap {cap}/{unit})"
        if window == 60.0:
            rates = [len(at) / (max(at) - min(at) + window) * window for at in by_robot.values()]
            if rates:
                figure += (f", rate over its busy time {statistics.median(rates):.2f}/min median, "
                           f"{min(rates):.2f} lowest: {min(rates) / cap:.3f}–{max(rates) / cap:.3f} of the cap")
        cap_figures.append(figure)
    print(f"  per {'group' if channel == 'telegram' else 'robot'} ({robots}, {min(counts, default=0)}–"
          f"{max(counts, default=0)} messages each): {'; '.join(cap_figures)}")
    codes = ", ".join(f"{code} ×{count}" for code, count in sorted(outcome.refusals.items()))
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(lost_by_status.items()))
    print(f"  refusals {refused}{f' ({codes})' if codes else ''}; duplicates {duplicates} ({extra} extra deliveries); "
          f"losses {len(lost) + missing_rows}{f' (outbox status: {statuses})' if statuses else ''}; "
          f"to a wrong {'group' if channel == 'telegram' else 'robot'} {wrong}", flush=True)
    return refused + duplicates + len(lost) + missing_rows + wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", nargs="+", choices=ORDER, default=list(ORDER))
    parser.add_argument("--robots", type=int, help="robots (Telegram: groups) per channel (default 5; real time 2)")
    parser.add_argument("--messages", type=int, help="notifications per channel (default: per robot "
                        f"{PER_ROBOT}; real time {PER_ROBOT_REAL})")
    parser.add_argument("--senders", type=int, nargs="+", help="a run with each of these many senders "
                        "sharing the database (default 1 2; real time 1)")
    parser.add_argument("--claim", type=int, help="rows a sender claims at once (default 100, the worker's; "
                        "real time 10)")
    parser.add_argument("--real-time", action="store_true", help="the wall clock instead of the virtual one")
    parser.add_argument("--people", type=int, default=0, help="people with a mobile number bound to each unit, "
                        "for its DingTalk or WeCom robot to @ (default 0)")
    add_in_flight_option(parser)
    add_database_options(parser)
    args = parser.parse_args()
    robots = args.robots or (2 if args.real_time else 5)
    senders_list = args.senders or ([1] if args.real_time else [1, 2])
    per_robot = PER_ROBOT_REAL if args.real_time else PER_ROBOT
    claim = args.claim or (10 if args.real_time else 100)
    faults = 0
    for senders in senders_list:
        for channel in args.channels:
            messages = args.messages or per_robot[channel] * robots
            print(f"{NAMES[channel]}: {messages} notifications to {robots}"
                  f"{f' ({args.people} people with a mobile in each unit)' if args.people else ''}, "
                  f"{senders} sender(s) sharing the "
                  f"database, claiming {claim} at once, {args.in_flight} in flight each, {args.backend}, "
                  f"{'real' if args.real_time else 'virtual'} time", flush=True)
            with scratch_database("channels", args.backend, args.postgres) as url:
                outcome = one_run(url, channel, senders, robots, messages, args.in_flight, claim, args.real_time,
                                  args.people)
            faults += report(channel, outcome, messages, robots)
    return 1 if faults else 0


if __name__ == "__main__":
    run(main)
