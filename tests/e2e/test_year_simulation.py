"""A whole plan year on a moved clock: every message the bot sends, checked against the policy.

The planner and the outbox sender run as in the bot process (the sender delivers through the
local Bot API server). The expected schedule is computed independently, from the official
calendar (``chinese_calendar``) and the policy's numbers, in tests/e2e/year.py.

The same year is played again with its audiences spread over every platform at once (year.MIXED_CAST):
Telegram, DingTalk's Stream app, WeCom's intelligent robot, Feishu's app, a unit's WeCom group robot
and the leadership's DingTalk group robot, a sender per platform side by side, each platform's SDK
talking to its local double. Every chat must hear what the Telegram year's expectation says its
audience hears, on the same days, each message exactly once, and no robot ever over its limit.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from sqlmodel import col, select
from telegram import Bot

from bot.attachments import MADE_WHEN_SENT
from bot.channels import GROUP, ROBOT, Incoming, is_group_address
from bot.channels.dingtalk import DingTalkChannel, template_of
from bot.channels.feishu import FeishuChannel, _body_content, marked_for_group
from bot.channels.robots import RobotClient
from bot.channels.transport import FILES_ON_DESK, DomesticTransport, rendered
from bot.channels.wecom import WeComChannel
from bot.context import BotContext
from bot.flood import CHANNEL_LIMITS, SharedFlood
from bot.render import Reply, notification
from bot.sandbox.dingtalk_double import DingTalkDouble
from bot.sandbox.feishu_double import FeishuDouble
from bot.sandbox.robot_double import RobotDouble
from bot.sandbox.server import SandboxServer
from bot.sandbox.wecom_double import WeComDouble, trust_double_certificate
from bot.sender import OutboxSender, TelegramTransport, Transport
from seed import UNIT_DIRECTORY, seed_path
from tasks import outbox
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine, transaction
from tasks.models import Outbox
from tasks.plan.units import UnitDirectory
from tests.databases import BACKENDS, empty_postgres
from tests.e2e.year import (
    END,
    MIXED_CAST,
    PEOPLE,
    SCHEDULED_KINDS,
    SH,
    START,
    TELEGRAM_CAST,
    Seat,
    expected,
    in_every_chat,
    live_assignments,
    nine,
    scripted_events,
    seed_with_people,
    sent_steps,
    sent_steps_by_chat,
    workday,
)


@pytest.fixture(scope="module")
def year(postgres_or_sqlite_url: str):
    run = simulate(postgres_or_sqlite_url, TELEGRAM_CAST)
    return run.rows, run.assignments, run.telegram, run.rejected


@pytest.fixture(scope="module")
def mixed_year(mixed_url: str) -> Year:
    return simulate(mixed_url, MIXED_CAST)


def database_for(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('year') / 'year.db'}"
    return request.getfixturevalue("postgres_database")


# One simulation per database, run once for the tests that read it: under pytest-xdist each
# database's tests stay on one worker (--dist loadgroup), and the two simulations may run side by side.
@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.xdist_group(f"year-{name}"))
                                        for name in BACKENDS])
def postgres_or_sqlite_url(request, tmp_path_factory) -> str:
    return database_for(request, tmp_path_factory)


# The mixed year in groups of its own: a worker other than the Telegram year's may play it meanwhile.
@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.xdist_group(f"mixed-year-{name}"))
                                        for name in BACKENDS])
def mixed_url(request, tmp_path_factory) -> str:
    return database_for(request, tmp_path_factory)


class Wall:
    """The time the robots' double, the robots' signatures and the flood budgets read, in seconds: moved
    with the simulated clock, and on by whatever a sender waits for its turn. A sender waiting out a
    robot's minute moves it on at once instead of sleeping, so the year's pacing costs no real time."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def reach(self, moment: datetime) -> None:
        self.now = max(self.now, moment.timestamp())

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Year:
    rows: list[Outbox]
    assignments: list
    telegram: list[dict[str, Any]]  # every message the Bot API server took
    rejected: list  # what the Bot API server refused
    received: Counter = field(default_factory=Counter)  # (chat, message body) the domestic doubles took
    refused: list = field(default_factory=list)  # what the domestic doubles refused, robots' limits among it
    robot_taken: dict[str, list[float]] = field(default_factory=dict)  # a robot's chat → when it took each message


# The threads the platforms' SDKs and doubles run in: none may outlive the simulation.
PLATFORM_THREADS = {"dingtalk-stream", "dingtalk-double", "feishu-ws", "feishu-double"}


async def ignore(_incoming: Incoming) -> None:
    """Nobody writes to the bot in this year: what the platforms' apps hear is not the point."""


class Platforms:
    """The domestic platforms of a cast, each app's SDK connected to its double, and the robots' double:
    started and stopped on the simulation's loop, and what they received read back for the tests."""

    def __init__(self, cast: tuple[Seat, ...], wall: Wall) -> None:
        self.cast = [seat for seat in cast if seat.channel != "telegram"]
        self.wall = wall
        self.dingtalk = DingTalkDouble()
        self.feishu = FeishuDouble()
        self.wecom = WeComDouble()
        self.robots = RobotDouble(clock=wall)  # judges each robot's minute by the same clock the budget keeps
        self.robot_client = RobotClient(clock=wall)  # signs with it too: the robots' double checks the time
        self.robot_seats: dict[tuple[str, str], Seat] = {}  # (channel, token) → the robot's chat
        self.apps: list[Any] = []

    async def start(self) -> list[Transport]:
        self.dingtalk.start_in_thread()
        self.feishu.start_in_thread()
        trust_double_certificate()
        await self.wecom.start()
        await self.robots.start()
        hooks: dict[str, dict] = {"dingtalk": {}, "wecom": {}, "feishu": {}}
        for seat in self.cast:
            name = seat.address.split(":", 1)[1]
            if seat.robot:
                robot = self.robots.add_robot(seat.channel, secret="SECyearsim0leadership0robot" if seat.channel
                                              != "wecom" else "")
                hooks[seat.channel][name] = self.robots.hook(robot, name)
                self.robot_seats[(seat.channel, robot.token)] = seat
            elif seat.channel == "dingtalk":
                (self.dingtalk.group if seat.group else self.dingtalk.person)(name, seat.who)
            elif seat.channel == "wecom":
                if seat.group:
                    self.wecom.groups[name] = set()
                else:
                    self.wecom.users.add(name)
            elif seat.group:
                self.feishu.group(name, seat.who)
            else:
                self.feishu.person(name, seat.who)
        apps = {
            "dingtalk": DingTalkChannel(self.dingtalk.client_id, self.dingtalk.client_secret, ignore,
                                        api_base=self.dingtalk.base_url),
            "wecom": WeComChannel(self.wecom.bot_id, self.wecom.secret, ignore, ws_url=self.wecom.ws_url,
                                  bot_name=self.wecom.bot_name),
            "feishu": FeishuChannel(self.feishu.app_id, self.feishu.app_secret, ignore, domain=self.feishu.base_url),
        }
        for app in apps.values():
            await app.start()
            self.apps.append(app)
        return [DomesticTransport(channel, robots=hooks[channel], robot_client=self.robot_client, app=app)  # type: ignore[arg-type]
                for channel, app in apps.items()]

    async def stop(self) -> None:
        for app in self.apps:
            await app.stop()
        await self.robot_client.close()
        await self.robots.stop()
        await self.wecom.stop()
        self.feishu.stop()
        self.dingtalk.stop()

    def received(self) -> Counter:
        """(chat key, the message as the platform took it) for every message a domestic double took."""
        found: Counter = Counter()
        for push in self.dingtalk.pushes:
            where = "user:" if push.via == "oto" else GROUP
            found[(f"dingtalk:{where}{push.address}", wire(["app", push.msg_key, push.msg_param]))] += 1
        for sent in self.wecom.sent:
            where = "user:" if sent.chat_type == 1 else GROUP
            found[(f"wecom:{where}{sent.chatid}", wire(sent.body))] += 1
        for record in self.feishu.sent:
            where = GROUP if record["receive_id_type"] == "chat_id" else "user:"
            found[(f"feishu:{where}{record['receive_id']}",
                   wire(["app", record["msg_type"], record["content"]]))] += 1
        for taken in self.robots.received:
            seat = self.robot_seats[(taken.channel, taken.token)]
            body = {k: v for k, v in taken.body.items() if k not in ("timestamp", "sign")}  # Feishu's signature
            found[(seat.key, wire(body))] += 1
        return found

    def refused(self) -> list:
        return [*self.robots.refusals, *self.wecom.refused]

    def robot_taken(self) -> dict[str, list[float]]:
        return {seat.key: [taken.at for taken in self.robots.received if (taken.channel, taken.token) == robot]
                for robot, seat in self.robot_seats.items()}


def wire(value: Any) -> str:
    """A message as compared: its JSON, but for a WeCom card's task_id, new (and random) at each rendering."""
    if isinstance(value, dict) and isinstance(value.get("template_card"), dict):
        value = {**value, "template_card": {**value["template_card"], "task_id": "…"}}
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_sent(row: Outbox) -> list[str]:
    """How a domestic platform takes a row's messages, rendered here from the row as its transport renders
    them: a robot's and a DingTalk group's copy without buttons, a file named by a line instead."""
    reply = notification(row.kind, row.payload)
    if row.kind in MADE_WHEN_SENT:
        reply = Reply([*reply.pages, FILES_ON_DESK], reply.buttons)
    one_way = row.address.startswith(ROBOT) or (row.channel == "dingtalk" and row.address.startswith(GROUP))
    bodies = rendered(row.channel, reply, two_way=not one_way)  # type: ignore[arg-type]
    if row.address.startswith(ROBOT):
        return [wire(body) for body in bodies]
    if row.channel == "dingtalk":
        return [wire(["app", *template_of(body)]) for body in bodies]
    if row.channel == "feishu":
        if row.address.startswith(GROUP):  # a group's card says so on its buttons
            bodies = [marked_for_group(body) for body in bodies]
        return [wire(["app", msg_type, json.loads(content)]) for msg_type, content in map(_body_content, bodies)]
    return [wire(body) for body in bodies]


def paced(ctx: BotContext, sender: OutboxSender, wall: Wall) -> OutboxSender:
    """A domestic platform's sender kept within its limits (robots' twenty a minute among them) on ``wall``."""
    channel = sender.transport.channel
    sender.flood = SharedFlood(ctx.run, CHANNEL_LIMITS[channel], wall=wall, sleep=wall.sleep, channel=channel,
                               group=lambda address: is_group_address(channel, address))
    return sender


def simulate(url: str, cast: tuple[Seat, ...]) -> Year:
    engine = make_engine(url)
    if not url.startswith("sqlite"):
        empty_postgres(url)
    clock = FixedClock(START)
    members = seed_with_people(engine, clock, cast)
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    server = SandboxServer().start_in_thread()
    for seat in cast:
        if seat.channel == "telegram":
            server.person(int(seat.address), seat.who)
    policy, calendar = Policy(timezone=SH), WorkCalendar()
    # Not paced on Telegram: the server here does not enforce the flood limits (test_dispatch covers pacing).
    ctx = BotContext(engine, clock, SH, directory.district, policy=policy, calendar=calendar, paced=False)
    wall = Wall(START)
    platforms = Platforms(cast, wall) if any(seat.channel != "telegram" for seat in cast) else None

    script = scripted_events(engine, clock, members)

    async def drain(sender: OutboxSender) -> None:
        while await sender.deliver_due():
            pass

    async def run() -> None:
        bot = Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)
        async with bot:
            senders = [OutboxSender(ctx, TelegramTransport(bot))]
            try:
                if platforms is not None:
                    senders += [paced(ctx, OutboxSender(ctx, transport), wall) for transport in await platforms.start()]
                moment = START
                while moment <= END:
                    clock.moment = moment
                    wall.reach(moment)
                    if moment in script:
                        script[moment]()
                    await asyncio.to_thread(planner.run_tick, ctx.in_transaction, clock, policy, calendar)
                    # Every platform's sender at once, as run_planner_and_sender runs them; none while
                    # nothing is due (most hours of the year), so that four senders cost what one did.
                    if await ctx.run(lambda session: outbox.count_due(session, clock)):
                        await asyncio.gather(*(drain(sender) for sender in senders))
                    moment += timedelta(hours=1)
            finally:
                if platforms is not None:
                    await platforms.stop()

    try:
        asyncio.run(run())
        left = {thread.name for thread in threading.enumerate()} & PLATFORM_THREADS
        assert not left, f"still running after the year: {left}"
        with transaction(engine) as session:
            rows = list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())
            assignments = live_assignments(session)
        year = Year(rows, assignments, server.messages(), list(server.state.rejected))
        if platforms is not None:
            year.received, year.refused, year.robot_taken = (platforms.received(), platforms.refused(),
                                                              platforms.robot_taken())
        return year
    finally:
        server.stop()
        engine.dispose()


def test_every_message_follows_the_policy(year) -> None:
    rows, assignments, _messages, _rejected = year
    actual, wanted = sent_steps(rows), expected(assignments)
    assert actual == wanted, (sorted(set(actual) - set(wanted))[:10], sorted(set(wanted) - set(actual))[:10])


def test_nothing_is_sent_on_non_working_days_and_the_make_up_saturday_counts(year) -> None:
    rows, _assignments, _messages, _rejected = year
    days = {row.sent_at.astimezone(SH).date() for row in rows if row.kind in SCHEDULED_KINDS}
    assert not any(date(2021, 10, 1) <= day <= date(2021, 10, 7) for day in days)
    assert all(chinese_calendar.is_workday(day) for day in days)
    assert date(2021, 10, 9) in days  # 调休 Saturday: the rose project's d1 reminder
    assert all(9 <= row.sent_at.astimezone(SH).hour < 21 for row in rows if row.kind in SCHEDULED_KINDS)


def first_working_days() -> list[date]:
    """Each week's (Monday to Sunday) first official working day up to the end of the simulation,
    from chinese_calendar alone; a week that is all holiday (Spring Festival 2022) has none."""
    days: dict[date, date] = {}
    day = START.date() - timedelta(days=START.weekday())
    while nine(day) <= END:
        if workday(day):
            days.setdefault(day - timedelta(days=day.weekday()), day)
        day += timedelta(days=1)
    return sorted(day for day in days.values() if nine(day) >= START)


def test_digest_on_each_weeks_first_working_day_to_the_office_and_the_leader(year) -> None:
    rows, _assignments, _messages, _rejected = year
    digests = Counter((int(row.address), row.sent_at.astimezone(SH).date()) for row in rows if row.kind == "digest")
    days = first_working_days()
    assert {date(2021, 9, 22), date(2021, 10, 8)} <= set(days)  # the weeks of Mid-Autumn and National Day
    assert not {date(2021, 9, 20), date(2021, 10, 4)} & set(days)
    assert digests == Counter({(chat, day): 1 for chat in (PEOPLE["office"], PEOPLE["leader"]) for day in days})


def test_nothing_at_all_is_sent_in_the_national_day_holiday(year) -> None:
    rows, _assignments, _messages, _rejected = year
    assert [(row.kind, row.sent_at) for row in rows
            if date(2021, 10, 1) <= row.sent_at.astimezone(SH).date() <= date(2021, 10, 7)] == []


def test_every_row_was_delivered_once_and_nothing_refused(year) -> None:
    rows, _assignments, messages, rejected = year
    assert rejected == []
    assert {row.status for row in rows} == {"sent"}
    assert len({row.dedupe_key for row in rows}) == len(rows)
    assert len(messages) >= len(rows)  # a long list may take several pages


# --- the same year, its audiences on every platform at once ------------------------------------------

def seat_of(row: Outbox) -> Seat:
    return next(seat for seat in MIXED_CAST if (seat.channel, seat.address) == (row.channel, row.address))


def test_on_every_platform_each_chat_hears_its_audiences_steps_on_the_telegram_years_days(mixed_year) -> None:
    actual = sent_steps_by_chat(mixed_year.rows)
    wanted = in_every_chat(expected(mixed_year.assignments), MIXED_CAST)
    assert {seat.channel for seat in MIXED_CAST} == {"telegram", "dingtalk", "wecom", "feishu"}
    assert {key[0] for key in actual} == {seat.key for seat in MIXED_CAST}  # every chat heard something
    assert actual == wanted, (sorted(set(actual) - set(wanted))[:10], sorted(set(wanted) - set(actual))[:10])


def test_on_every_platform_each_occasion_reaches_every_chat_of_its_audience_once_on_one_day(mixed_year) -> None:
    """Whatever the platform, an occasion's dedupe key is the same, ending in the chat; every chat of an
    audience that hears of it hears of it on the same day. The replies to what people did and the digest
    included, which the steps above leave out."""
    chats: dict[str, list[tuple[Seat, date]]] = {}
    for row in mixed_year.rows:
        seat = seat_of(row)
        assert row.dedupe_key.endswith(f":{seat.key}"), (row.dedupe_key, seat)
        chats.setdefault(row.dedupe_key.removesuffix(f":{seat.key}"), []).append(
            (seat, row.sent_at.astimezone(SH).date()))
    assert len(chats) > 100
    for occasion, heard in chats.items():
        audiences = {seat.who for seat, _day in heard}
        assert sorted(seat.key for seat, _day in heard) == sorted(
            seat.key for seat in MIXED_CAST if seat.who in audiences), occasion
        assert len({day for _seat, day in heard}) == 1, occasion


def test_on_every_platform_the_digest_reaches_the_office_and_the_leaderships_robot_each_week(mixed_year) -> None:
    digests = Counter((seat_of(row).key, row.sent_at.astimezone(SH).date())
                      for row in mixed_year.rows if row.kind == "digest")
    leaders = [seat.key for seat in MIXED_CAST if seat.who in ("office", "leader")]
    assert "dingtalk:robot:区领导工作群" in leaders
    assert digests == Counter({(chat, day): 1 for chat in leaders for day in first_working_days()})


def test_on_every_platform_every_notification_reaches_its_double_exactly_once(mixed_year) -> None:
    rows = mixed_year.rows
    assert {row.status for row in rows} == {"sent"}
    assert [row.dedupe_key for row in rows if row.last_error] == []  # none had to be tried again
    wanted: Counter = Counter()
    for row in rows:
        if row.channel != "telegram":
            wanted.update((seat_of(row).key, body) for body in as_sent(row))
    received = mixed_year.received
    assert sum(received.values()) > len([row for row in rows if row.channel != "telegram"])
    assert received == wanted, (sorted(received - wanted)[:3], sorted(wanted - received)[:3])
    telegram = Counter(message["chat"]["id"] for message in mixed_year.telegram if "text" in message)
    assert telegram == Counter(int(row.address) for row in rows if row.channel == "telegram"
                               for _page in notification(row.kind, row.payload).pages)
    assert mixed_year.rejected == []


def test_no_group_robot_is_ever_over_its_limit(mixed_year) -> None:
    """The robots' double refuses a twenty-first message within a minute (and DingTalk then stops the robot
    for ten) by the simulated year's time; each robot is sent far more than twenty in the year, and none
    is ever refused."""
    assert mixed_year.refused == []
    assert sorted(mixed_year.robot_taken) == ["dingtalk:robot:区领导工作群", "wecom:robot:农业农村局工作群"]
    for chat, taken in mixed_year.robot_taken.items():
        assert len(taken) > 100, chat
        assert all(later - earlier >= 60 for earlier, later in zip(taken, taken[20:], strict=False)), chat
