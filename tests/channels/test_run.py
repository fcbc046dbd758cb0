"""`taskbot run` with a domestic platform configured and no Telegram token: the process serves the
platform's app and its group robots alone, as an office on DingTalk runs it, against local doubles."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from bot.sandbox.dingtalk_double import DingTalkDouble
from bot.sandbox.robot_double import RobotDouble
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.models import Member, Role
from tasks.notifications import NotificationKind, Urge, UrgedTask
from tasks.outbox import notify_unit
from tasks.work.lookup import unit_named
from tasks.work.members import create_invite
from tests.chats import dingtalk_office
from tests.factories import COMMERCE, seed_plan

ROBOT_SECRET = "SEC7f3e9a1c5b2d8e4f6a0b9c7d5e3f1a2b4c6d8e0f"


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_taskbot_run_serves_dingtalk_alone_and_says_no_secret(database_url: str, tmp_path: Path,
                                                              dingtalk: DingTalkDouble, robots: RobotDouble) -> None:
    engine = make_engine(database_url)
    clock = FixedClock(datetime.now(UTC))  # the process runs on the real clock: its invite must be fresh
    seed_plan(engine, clock)
    with transaction(engine) as session:
        code = create_invite(session, clock, Actor("admin", "cli"), Role.MEMBER, unit_named(session, COMMERCE)).code
    office = dingtalk_office(tmp_path, dingtalk, robots, ROBOT_SECRET)
    robot, env = office.robot, office.env
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--database-url", database_url, "run"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: bool(dingtalk.connections) or process.poll() is not None)
        assert process.poll() is None
        dingtalk.person("staff-wang", "王科长")
        dingtalk.person_says("staff-wang", f"绑定 {code}")
        wait_until(lambda: any("绑定成功" in str(push.msg_param) for push in dingtalk.messages_to("staff-wang")))
        dingtalk.person_says("staff-wang", "我的任务")
        wait_until(lambda: any("区商务局 未办结任务" in str(push.msg_param)
                               for push in dingtalk.messages_to("staff-wang")))
        with Session(engine) as session:
            bound = {(m.channel, m.address, m.user_id) for m in session.exec(select(Member)).all()}
        assert ("dingtalk", "user:staff-wang", "staff-wang") in bound
        assert ("dingtalk", "robot:区商务局工作群", None) in bound
        # A notice to the unit reaches its person through the app and its group through the robot.
        with transaction(engine) as session:
            unit = unit_named(session, COMMERCE)
            assert unit.id is not None
            notify_unit(session, clock, unit.id, NotificationKind.URGE,
                        Urge(urger="督办办", note="请本周报送", unit=COMMERCE,
                             tasks=[UrgedTask(task_id=41, text="武川县消费扶贫展销服务中心运营项目", due_on=None)]),
                        "urge:test")
        wait_until(lambda: bool(robots.messages(robot)))
        assert "请本周报送" in str(robots.messages(robot))
        assert robots.refusals == []
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        engine.dispose()
        print(out, err)  # shown when the test fails
    assert process.returncode == 0, err
    for secret in (dingtalk.client_secret, ROBOT_SECRET, robot.token):
        assert secret not in out and secret not in err
