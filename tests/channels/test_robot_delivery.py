"""The outbox sender posting to group robots keeps under each platform's limit and loses nothing.

Urges and reminders for units' group robots go through the real sender (OutboxSender,
DomesticTransport, RobotClient) over HTTP to the robot double, which refuses what the platform
would: past twenty a minute for a DingTalk or WeCom robot (DingTalk then stops the robot for ten
minutes), past a hundred a minute or five a second for a Feishu one. Time is virtual
(bot/sandbox/virtual_time.py): the minutes the limits impose pass at once, and the flood budget,
the outbox, the client's signatures and the double all read the same clock.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels import ROBOT
from bot.channels.robots import RobotClient
from bot.channels.transport import DomesticTransport
from bot.sandbox import robot_double
from bot.sandbox.robot_double import RobotDouble
from bot.sandbox.virtual_time import PacedContext, VirtualTime, deliver_until_done
from bot.sender import OutboxSender
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.models import Member, Outbox, OutboxStatus, Role, Unit
from tasks.notifications import DutyStep, NotificationKind, Urge, UrgedTask
from tasks.outbox import enqueue
from tasks.work.members import RobotBinding, keep_robots

START = datetime(2021, 10, 15, 1, 30, tzinfo=UTC)
SECRETS = {"dingtalk": "SECtest0123456789abcdef0123456789abcdef0123456789abcdef01234", "wecom": "",
           "feishu": "testFeishuSecret7"}
# What one robot may take, as the platform counts it: (messages, window seconds).
CAPS = {
    "dingtalk": [(robot_double.DINGTALK_PER_MINUTE, 60.0)],
    "wecom": [(robot_double.WECOM_PER_MINUTE, 60.0)],
    "feishu": [(robot_double.FEISHU_PER_MINUTE, 60.0), (robot_double.FEISHU_PER_SECOND, 1.0)],
}
MARK = re.compile(r"第(\d+)号任务")


def queue(engine: Engine, channel: str, robots: int, messages: int) -> list[str]:
    """``robots`` units each with its group robot bound, and ``messages`` urges and reminders queued
    round-robin over them; the robots' names."""
    clock = FixedClock(START)
    names = [f"单位{n + 1}工作群" for n in range(robots)]
    with transaction(engine) as session:
        units = [Unit(name=f"单位{n + 1}", created_at=START) for n in range(robots)]
        session.add_all(units)
        session.flush()
        keep_robots(session, clock, Actor("test", "cli"), channel,
                    [RobotBinding(channel, names[n], Role.MEMBER, unit.name) for n, unit in enumerate(units)])
        members = session.exec(select(Member).where(Member.channel == channel).order_by(Member.id)).all()
        for number in range(messages):
            member = members[number % robots]
            unit = units[number % robots].name
            text = f"第{number}号任务：老旧小区改造"
            due = START.date() + timedelta(days=3)
            if number % 2:
                enqueue(session, clock, member, NotificationKind.REMINDER,
                        DutyStep(key=f"t:{number}", task_id=number + 1, text=text, unit=unit, due_on=due, step="d3",
                                 days=-3, unit_id=member.unit_id), f"reminder:{number}")
            else:
                enqueue(session, clock, member, NotificationKind.URGE,
                        Urge(urger="区督办办", unit=unit, tasks=[UrgedTask(task_id=number + 1, text=text, due_on=due)]),
                        f"urge:{number}")
    return names


def statuses(engine: Engine) -> set[str]:
    with transaction(engine) as session:
        return {str(status) for status in session.exec(select(Outbox.status)).all()}


def deliver(url: str, channel: str, names: list[str], senders: int, claim: int = 100, *,
            fault: Callable[[RobotDouble, robot_double.Robot, float], None] | None = None, timeout: float = 10.0
            ) -> tuple[dict[str, list[tuple[int, float]]], list[robot_double.Refusal], list[int]]:
    """Deliver the outbox with ``senders`` senders, each with its own engine and context as a process
    has: what each robot received ((notice number, when), in order), the refusals, the rows each sender claimed.
    ``fault``: done to the double and the first robot before anything is sent (with the time then);
    ``timeout``: how long the robot client waits for an answer."""

    async def run() -> tuple[dict[str, list[tuple[int, float]]], list[robot_double.Refusal], list[int]]:
        time = VirtualTime(START)
        engines = [make_engine(url) for _ in range(senders)]
        try:
            async with RobotDouble(clock=time.seconds) as double:
                robots = {name: double.add_robot(channel, secret=SECRETS[channel]) for name in names}
                hooks = {name: double.hook(robot, name) for name, robot in robots.items()}
                if fault is not None:
                    fault(double, robots[names[0]], time.seconds())

                async def one_sender(engine: Engine) -> int:
                    ctx = PacedContext(engine, time, START.tzinfo, "test", budget_time=time.budget_time())
                    async with RobotClient(clock=time.seconds, timeout=timeout) as client:
                        sender = OutboxSender(ctx, DomesticTransport(channel, robots=hooks, robot_client=client))
                        return await deliver_until_done(sender, time, claim, poll=0.5)

                claimed = await asyncio.gather(*(one_sender(engine) for engine in engines))
                received = {
                    ROBOT + name: [(int(MARK.search(json.dumps(r.body, ensure_ascii=False)).group(1)), r.at)
                                   for r in double.received if r.token == robot.token]
                    for name, robot in robots.items()}
                return received, list(double.refusals), list(claimed)
        finally:
            for engine in engines:
                engine.dispose()

    return asyncio.run(run())


def assert_within_caps(channel: str, times: list[float]) -> None:
    """No window of the platform's holds more messages than it takes."""
    for cap, window in CAPS[channel]:
        for first, later in zip(times, times[cap:], strict=False):
            assert later - first >= window, f"{cap + 1} messages within {later - first:.3f} s"


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_a_robot_gets_every_notice_once_in_order_and_is_never_refused(channel, engine, database_url):
    per_minute = CAPS[channel][0][0]
    messages = per_minute + 3  # into the robot's second minute
    names = queue(engine, channel, 1, messages)

    received, refusals, _claimed = deliver(database_url, channel, names, senders=1)

    assert refusals == []
    got = received[ROBOT + names[0]]
    assert [number for number, _ in got] == list(range(messages))
    times = [at for _, at in got]
    assert_within_caps(channel, times)
    # The robot's next minute is used as soon as it opens: nothing waits out a penalty it never earned.
    assert times[per_minute] - times[0] < 61.0
    assert statuses(engine) == {OutboxStatus.SENT}


# DingTalk: past a robot's twenty in its first minute; Feishu: well past its five a second.
@pytest.mark.parametrize(("channel", "per_robot"), [("dingtalk", 25), ("feishu", 30)])
def test_two_senders_sharing_the_database_keep_one_budget_per_robot(channel, per_robot, engine, database_url):
    messages = 2 * per_robot
    names = queue(engine, channel, 2, messages)

    # Each claims a few at a time, so that both hold rows for both robots at once.
    received, refusals, claimed = deliver(database_url, channel, names, senders=2, claim=10)

    assert refusals == []
    assert all(claimed), claimed
    numbers = sorted(number for got in received.values() for number, _ in got)
    assert numbers == list(range(messages))  # each once
    for n, name in enumerate(names):
        got = received[ROBOT + name]
        assert {number % 2 for number, _ in got} == {n}  # to its own robot
        assert_within_caps(channel, sorted(at for _, at in got))
    assert statuses(engine) == {OutboxStatus.SENT}


def _minute_used_elsewhere(double: RobotDouble, robot: robot_double.Robot, now: float) -> None:
    """Another system posted through the same robot this minute, up to its cap: taskbot's budget never saw it."""
    robot.sent.extend([now] * CAPS[robot.channel][-1][0])


# Each fault on the first robot, before anything is sent; whether the notice may arrive once more than sent.
ROBOT_FAULTS: dict[str, tuple[Callable[[RobotDouble, robot_double.Robot, float], None], bool]] = {
    "rate limit": (_minute_used_elsewhere, False),
    "server error": (lambda double, robot, now: double.fail_next(1, 502), False),
    # The answer comes after the client gave up: the platform took it, and the retry posts it again.
    "timeout": (lambda double, robot, now: double.hang_next(1.0, 1), True),
}


@pytest.mark.parametrize("fault", list(ROBOT_FAULTS))
@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_a_fault_on_a_robot_loses_nothing_and_repeats_at_most_one(channel, fault, engine, database_url):
    names = queue(engine, channel, 1, 3)
    do, may_repeat = ROBOT_FAULTS[fault]

    received, refusals, _claimed = deliver(database_url, channel, names, senders=1, fault=do, timeout=0.3)

    numbers = [number for number, _ in received[ROBOT + names[0]]]
    assert sorted(set(numbers)) == [0, 1, 2]  # nothing lost
    assert len(numbers) - 3 <= (1 if may_repeat else 0)
    assert len(refusals) <= 1  # the one the fault itself made, and none after it
    assert statuses(engine) == {OutboxStatus.SENT}


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_a_removed_robot_is_marked_unreachable_and_its_notices_kept_as_dead_letters(channel, engine, database_url):
    names = queue(engine, channel, 1, 2)

    received, _refusals, _claimed = deliver(database_url, channel, names, senders=1,
                                            fault=lambda double, robot, now: double.revoke(robot))

    assert received[ROBOT + names[0]] == []
    with transaction(engine) as session:
        robot = session.exec(select(Member).where(Member.address == ROBOT + names[0])).one()
        assert not robot.reachable
        rows = session.exec(select(Outbox).where(Outbox.member_id == robot.id)).all()
        assert {row.status for row in rows} == {OutboxStatus.DEAD} and len(rows) == 2
        assert all(ROBOT_SECRETISH not in row.last_error for row in rows)


ROBOT_SECRETISH = "access_token="
