"""The sandbox in order: chats and personas before the planner's first pass, a clock that runs from
--now and jumps with :wait and :at, a script that ends only once its notifications are out, and no
claim of an earlier run holding a notification back."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, func, select

from bot.cli import main
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Member, Outbox, OutboxStatus, Role
from tasks.notifications import MemberUnreachable, NotificationKind
from tasks.outbox import enqueue

UNIT_OVERDUE_LIST = re.compile(r"\[\d+\] 督办助手 → 商务局·王科长\n📋 督办提醒：本单位有 \d+ 项任务需要办理\n🔴 逾期未办结")
OFFICE_ESCALATION = re.compile(r"\[\d+\] 督办助手 → 督办办·赵主任\n🔴 逾期任务督办清单")


def sandbox(database_url: str, now: str, script: str = "") -> str:
    out = io.StringIO()
    code = main(["--database-url", database_url, "--now", now, "run"], stdin=io.StringIO(script), stdout=out)
    assert code == 0, out.getvalue()
    return out.getvalue()


def statuses(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    with transaction(engine) as session:
        counts = dict(session.exec(select(Outbox.status, func.count()).group_by(col(Outbox.status))).all())
    engine.dispose()
    return counts


def queue_for_the_unit(database_url: str, lease_until: datetime | None = None) -> None:
    """A notification for 商务局·王科长 waiting in the outbox, claimed by a sender until ``lease_until``."""
    engine = make_engine(database_url)
    clock = FixedClock(datetime(2021, 9, 4, 1, tzinfo=UTC))  # due an hour before the sandbox starts
    with transaction(engine) as session:
        member = session.exec(select(Member).where(Member.user_id == 1001)).one()
        row = enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
                      MemberUnreachable(member="留言测试", unit="区商务局", role=Role.MEMBER), "sandbox-test")
        assert row is not None
        row.lease_until = lease_until
    engine.dispose()


def test_personas_are_bound_before_the_first_planner_pass(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    text = sandbox(database_url, "2021-11-04T09:00")  # not one line typed
    assert len(UNIT_OVERDUE_LIST.findall(text)) == 1, text
    assert OFFICE_ESCALATION.search(text), text
    counts = statuses(database_url)
    assert counts.get(OutboxStatus.DEAD, 0) == 0 and counts.get(OutboxStatus.PENDING, 0) == 0, counts


def test_a_script_ends_after_its_notifications_are_shown(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    sandbox(database_url, "2021-09-04T10:00")  # a Saturday: the planner has nothing to say
    queue_for_the_unit(database_url)
    text = sandbox(database_url, "2021-09-04T10:00")
    assert "留言测试" in text, text
    assert statuses(database_url) == {OutboxStatus.SENT: 1}


def test_a_claim_left_by_an_earlier_run_does_not_hold_the_next_back(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    sandbox(database_url, "2021-09-04T10:00")
    # As a run stopped while sending leaves it: claimed, its lease running an hour past the next start.
    queue_for_the_unit(database_url, lease_until=datetime(2021, 9, 4, 3, tzinfo=UTC))
    text = sandbox(database_url, "2021-09-04T10:00")
    assert "上次运行留下的 1 条通知发送占用已释放" in text and "留言测试" in text, text
    assert statuses(database_url) == {OutboxStatus.SENT: 1}


class SlowScript(io.StringIO):
    """A script typed a minute a line, by the test's own clock standing for real time."""

    def __init__(self, text: str, wall: FixedClock) -> None:
        super().__init__(text)
        self.wall = wall

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        self.wall.advance(timedelta(minutes=1))
        return super().readline(size)


def test_the_clock_runs_on_from_now(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    wall = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))  # any moment: the sandbox runs from --now with it
    out = io.StringIO()
    # A minute before the sending hour: the overdue list goes out only if the clock moves on.
    assert main(["--database-url", database_url, "--now", "2021-11-04T08:59", "run"],
                stdin=SlowScript(":time\n", wall), stdout=out, clock=wall) == 0
    text = out.getvalue()
    assert "沙盒时间：2021-11-04 08:59（" in text and "沙盒时间：2021-11-04 09:00:00" in text, text
    assert len(UNIT_OVERDUE_LIST.findall(text)) == 1, text


def test_wait_and_at_move_the_clock_and_what_falls_due_is_shown(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    script = ":time\n:wait soon\n:wait 2h\n:at 2021-11-01 09:00\n:at 2021-11-08 09:00\n:help\n"
    text = sandbox(database_url, "2021-11-04T07:00", script)
    before, _, after_wait = text.partition(":wait 2h\n沙盒时间：2021-11-04 09:00")
    assert after_wait, text
    assert "沙盒时间：2021-11-04 07:00" in before and not UNIT_OVERDUE_LIST.search(before), before  # quiet hours
    assert "用法：:wait 2h（或 30m、3d），沙盒时间没有改变。" in before
    on_the_4th = after_wait.partition("沙盒时间：2021-11-08 09:00")[0]  # (the 8th has its own milestone steps)
    assert len(UNIT_OVERDUE_LIST.findall(on_the_4th)) == 1, after_wait
    assert "沙盒时间只能向后调（现在是 2021-11-04 09:00），没有改变。" in after_wait
    _, _, after_at = after_wait.partition("沙盒时间：2021-11-08 09:00")
    # Monday's digest: its text, then its chart and the ledger, saved where the person trying it can open them.
    files = re.search(r"→ 督办办·赵主任\n📊 周报 2021-11-08\n2021年门头沟区支援合作工作要点\n.*?"
                     r"→ 督办办·赵主任\n周报图表.*?\n（图片：周报-2021-11-08\.png，已保存到 (\S+)）\n.*?"
                     r"→ 督办办·赵主任\n台账：.*?\n（文件：台账-2021-11-08\.xlsx，已保存到 (\S+)）", after_at, re.S)
    assert files, after_at
    assert Path(files[1]).read_bytes().startswith(b"\x89PNG") and Path(files[2]).read_bytes().startswith(b"PK")
    assert ":wait 2h" in after_at.split(":help", 1)[1] and ":at 2021-11-04 09:00" in after_at.split(":help", 1)[1]
    assert statuses(database_url).get(OutboxStatus.DEAD, 0) == 0


def run_sandbox_process(database_url: str, now: str, script: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "TASKBOT_TOKEN"}
    env["PYTHONPATH"] = os.getcwd()
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--database-url", database_url, "--now", now, "run"],
                          input=script, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_scripted_sandbox_from_an_empty_database_before_and_after_the_deadline(database_url: str) -> None:
    first = run_sandbox_process(database_url, "2021-10-25", "我的任务\n")
    second = run_sandbox_process(database_url, "2021-11-04", "我的任务\n:as 督办办\n逾期\n")
    # 10-31 is the deadline of 16 of 区商务局's tasks: on 11-04 the unit hears of them once, with its two
    # projects' milestones long past (41's 开工 on 6-01, 62's 产业项目9月底100%开工), and the office its
    # escalation (three working days after the first one past the deadline).
    assert "逾期未办结（18 项）" not in first
    assert len(UNIT_OVERDUE_LIST.findall(second)) == 1, second
    unit_list = re.search(r"→ 商务局·王科长\n📋 督办提醒.*?(?=\n\[\d+\] )", second, re.S)
    assert unit_list and "逾期未办结（18 项）" in unit_list[0] and unit_list[0].count("截止 2021-10-31") == 16, second
    assert OFFICE_ESCALATION.search(second), second
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    dead = subprocess.run([sys.executable, "-m", "bot.cli", "--database-url", database_url, "outbox",
                           "--status", "dead"], capture_output=True, text=True, env=env, timeout=120)
    assert dead.returncode == 0, dead.stderr
    assert "待发 0 条" in dead.stdout and "失败 0 条" in dead.stdout, dead.stdout
    assert len(dead.stdout.strip().splitlines()) == 3, dead.stdout  # the counts and an empty table's header
