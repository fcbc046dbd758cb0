"""Every workflow end to end: the real Application, run_polling, the local Bot API server, a real database."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from harness import BotHarness

from tasks.clock import FixedClock
from tasks.models import Role

COMMERCE = "区商务局"
AGRICULTURE = "区农业农村局"
EXHIBITION = "project:内蒙古武川县:武川县消费扶贫展销服务中心运营项目"  # 区商务局 leads, due 2021-10-31


@pytest.fixture
def bot(database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)))  # 09:00 Beijing
    yield harness
    harness.stop()


def test_unit_member_reports_and_office_verifies(bot: BotHarness) -> None:
    member = bot.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    office = bot.join(301, "督办办老李", Role.OFFICE)
    task = bot.task_id(EXHIBITION)

    mine = bot.say(member, "我的任务")
    assert "区商务局 未办结任务" in mine["text"] and str(task) in mine["text"]

    card = bot.say(member, f"/task {task}")
    assert "武川县消费扶贫展销服务中心运营项目" in card["text"]
    assert [b["text"] for b in card["reply_markup"]["inline_keyboard"][0]] == ["报进展", "办结", "申请延期"]

    assert "已记录任务" in bot.say(member, f"/report {task} 60% 场地已签约")["text"]
    prompt = bot.tap(member, card, "办结")
    assert "办结说明" in prompt["text"]
    office_before = len(bot.server.messages(office.id))
    assert "等待督办办公室审核" in bot.say(member, "展销中心已开业运营")["text"]

    notice = bot.next_message(office.id, office_before)
    assert "办结申请" in notice["text"] and "商务局小王" in notice["text"] and "展销中心已开业运营" in notice["text"]
    member_before = len(bot.server.messages(member.id))
    confirmation = bot.tap(office, notice, "审核通过")
    assert "已审核通过" in confirmation["text"]
    verified = bot.next_message(member.id, member_before)
    assert "已审核通过" in verified["text"] and "督办办老李" in verified["text"]

    history = bot.say(member, f"/task {task}")
    assert "已办结" in history["text"] and "60%" in history["text"] and "场地已签约" in history["text"]
    assert "reply_markup" not in history  # nothing left to do on it
