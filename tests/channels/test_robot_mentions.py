"""A group robot @s the people of its group by mobile number where the platform can: a unit's robot
that unit's people, the leadership's the leaders; asked when the message goes, so a number given
after the notice was queued counts and someone unbound since is not @'d.

The notices go through the real sender, transport and robot client over HTTP to the robot double,
which records whom each message @'d as the platform would (bot/sandbox/robot_double.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.channels.robots import RobotClient
from bot.channels.runtime import robot_mentions
from bot.channels.transport import DomesticTransport
from bot.context import BotContext
from bot.sandbox.robot_double import RobotDouble
from bot.sender import OutboxSender
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Member, Role, Unit
from tasks.notifications import DutyStep, NotificationKind, Urge, UrgedTask
from tasks.outbox import enqueue
from tasks.work.members import RobotBinding, create_invite, keep_robots, redeem_invite, set_mobile, unbind

START = datetime(2021, 10, 15, 1, 30, tzinfo=UTC)
ADMIN = Actor("admin", "cli")
ROBOTS = {"商务局工作群": ("区商务局", Role.MEMBER), "农业局工作群": ("区农业农村局", Role.MEMBER),
          "领导群": ("", Role.LEADER), "督办群": ("", Role.OFFICE)}
WANG, LI, ZHAO, ZHOU, LEADER, OFFICE = ("13800000001", "13800000002", "13800000003", "13900000001", "13700000001",
                                        "13600000001")


def person(session, clock, channel: str, user: str, role: Role, unit: Unit | None, mobile: str | None) -> Member:
    code = create_invite(session, clock, ADMIN, role, unit).code
    member = redeem_invite(session, clock, code, channel=channel, user_id=user, address=f"user:{user}", name=user,
                           is_group=False)
    if mobile:
        set_mobile(session, clock, ADMIN, member, member, mobile)
    return member


def queue(engine: Engine, channel: str) -> None:
    """Two units and the leadership, each with its group robot; their people, some with a number;
    one notice queued for each robot; then 小李 gives a number and 小赵 is unbound."""
    clock = FixedClock(START)
    with transaction(engine) as session:
        commerce, farming = Unit(name="区商务局", created_at=START), Unit(name="区农业农村局", created_at=START)
        session.add_all([commerce, farming])
        session.flush()
        keep_robots(session, clock, ADMIN, channel,
                    [RobotBinding(channel, name, role, unit) for name, (unit, role) in ROBOTS.items()])
        person(session, clock, channel, "wang", Role.MEMBER, commerce, WANG)
        # Bound on Telegram while the office moves to this platform: the number is the person's.
        person(session, clock, "telegram", "li", Role.MEMBER, commerce, None)
        person(session, clock, channel, "zhao", Role.MEMBER, commerce, ZHAO)
        person(session, clock, channel, "sun", Role.MEMBER, commerce, None)  # never gives one
        person(session, clock, channel, "zhou", Role.MEMBER, farming, ZHOU)
        person(session, clock, channel, "leader", Role.LEADER, None, LEADER)
        person(session, clock, channel, "office", Role.OFFICE, None, OFFICE)
        robots = {m.name: m for m in session.exec(
            select(Member).where(Member.channel == channel, col(Member.user_id).is_(None)))}
        due = START.date() + timedelta(days=3)
        for name, robot in robots.items():
            if robot.role == Role.MEMBER:
                unit = ROBOTS[name][0]
                enqueue(session, clock, robot, NotificationKind.REMINDER,
                        DutyStep(key=f"t:{name}", task_id=7, text="老旧小区改造", unit=unit, due_on=due, step="d3",
                                 days=-3, unit_id=robot.unit_id), f"reminder:{name}")
            else:
                enqueue(session, clock, robot, NotificationKind.URGE,
                        Urge(urger="区督办办", unit="", tasks=[UrgedTask(task_id=7, text="老旧小区改造", due_on=due)]),
                        f"urge:{name}")
    with transaction(engine) as session:
        li = session.exec(select(Member).where(Member.user_id == "li")).one()
        set_mobile(session, clock, ADMIN, li, li, LI)
        zhao = session.exec(select(Member).where(Member.user_id == "zhao")).one()
        unbind(session, clock, ADMIN, Role.ADMIN, zhao.id)


def deliver(engine: Engine, channel: str) -> tuple[dict[str, list[dict]], dict[str, list[tuple[str, ...]]], list]:
    """Every robot's messages and whom each @'d, and the refusals."""

    async def run() -> tuple[dict[str, list[dict]], dict[str, list[tuple[str, ...]]], list]:
        ctx = BotContext(engine, FixedClock(START), ZoneInfo("Asia/Shanghai"), "test", paced=False)
        async with RobotDouble() as double, RobotClient() as client:
            robots = {name: double.add_robot(channel) for name in ROBOTS}
            hooks = {name: double.hook(robot, name) for name, robot in robots.items()}
            sender = OutboxSender(ctx, DomesticTransport(channel, robots=hooks, robot_client=client,
                                                         mentions=robot_mentions(ctx)))
            while await sender.deliver_due(100):
                pass
            return ({name: double.messages(robot) for name, robot in robots.items()},
                    {name: double.mentioned(robot) for name, robot in robots.items()}, list(double.refusals))

    return asyncio.run(run())


def test_a_dingtalk_robot_ats_its_groups_people_who_gave_a_number(engine: Engine) -> None:
    queue(engine, "dingtalk")
    messages, mentioned, refusals = deliver(engine, "dingtalk")
    assert refusals == []
    assert mentioned == {"商务局工作群": [(WANG, LI)], "农业局工作群": [(ZHOU,)], "领导群": [(LEADER,)],
                         "督办群": [(OFFICE,)]}
    (reminder,) = messages["商务局工作群"]
    assert reminder["msgtype"] == "markdown"
    assert reminder["at"] == {"atMobiles": [WANG, LI], "isAtAll": False}
    text = reminder["markdown"]["text"]
    assert f"@{WANG}" in text and f"@{LI}" in text and "老旧小区改造" in text
    assert ZHAO not in text and ZHOU not in text


def test_a_wecom_robot_ats_in_a_text_message_after_the_markdown(engine: Engine) -> None:
    queue(engine, "wecom")
    messages, mentioned, refusals = deliver(engine, "wecom")
    assert refusals == []
    assert mentioned == {"商务局工作群": [(), (WANG, LI)], "农业局工作群": [(), (ZHOU,)], "领导群": [(), (LEADER,)],
                         "督办群": [(), (OFFICE,)]}
    reminder, mention = messages["商务局工作群"]
    assert reminder["msgtype"] == "markdown" and "老旧小区改造" in reminder["markdown"]["content"]
    assert mention["msgtype"] == "text" and mention["text"]["mentioned_mobile_list"] == [WANG, LI]


def test_a_feishu_robot_ats_nobody(engine: Engine) -> None:
    queue(engine, "feishu")
    messages, mentioned, refusals = deliver(engine, "feishu")
    assert refusals == []
    assert mentioned == {name: [()] for name in ROBOTS}
    assert not any(WANG in json.dumps(body) or LEADER in json.dumps(body) for bodies in messages.values()
                   for body in bodies)


@pytest.mark.parametrize("channel", ["dingtalk", "wecom"])
def test_a_robot_with_nobody_to_at_sends_only_the_notice(engine: Engine, channel: str) -> None:
    clock = FixedClock(START)
    with transaction(engine) as session:
        keep_robots(session, clock, ADMIN, channel, [RobotBinding(channel, "领导群", Role.LEADER)])
        person(session, clock, channel, "leader", Role.LEADER, None, None)
        robot = session.exec(select(Member).where(col(Member.user_id).is_(None))).one()
        enqueue(session, clock, robot, NotificationKind.URGE,
                Urge(urger="区督办办", unit="", tasks=[UrgedTask(task_id=7, text="老旧小区改造", due_on=None)]), "urge")
    messages, mentioned, refusals = deliver(engine, channel)
    assert refusals == [] and mentioned["领导群"] == [()]
    assert len(messages["领导群"]) == 1 and "at" not in messages["领导群"][0]
