"""A unit reports a project's milestone reached in chat; the office hears of it; the card shows it."""

from __future__ import annotations

from tasks.models import Role
from tests.e2e.year import ROSE
from tests.harness import BotHarness

AGRICULTURE = "区农业农村局"


def test_a_unit_taps_started_and_the_office_is_told(bot: BotHarness) -> None:
    member = bot.join(211, "农业局小李", Role.MEMBER, AGRICULTURE)
    office = bot.join(311, "督办办老周", Role.OFFICE)
    task = bot.task_id(ROSE)  # 2021年4月-2021年5月: 开工 on 04-01, long past on 09-01

    card = bot.say(member, f"/task {task}")
    assert "开工 2021-04-01 🔴逾期153天" in card["text"]
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "已开工" in buttons

    office_before = len(bot.server.messages(office.id))
    reply = bot.tap(member, card, "已开工")
    assert "“开工”节点于 2021-09-01 达成" in reply["text"]
    notice = bot.next_message(office.id, office_before)
    assert "节点达成" in notice["text"] and "开工" in notice["text"] and AGRICULTURE in notice["text"]
    assert "农业局小李" in notice["text"] and "计划 2021-04-01，报告达成 2021-09-01" in notice["text"]

    again = bot.say(member, f"/task {task}")
    assert "开工 2021-04-01 ✅已达成（2021-09-01）" in again["text"]
    assert "已开工" not in [b["text"] for row in again["reply_markup"]["inline_keyboard"] for b in row]
    assert "开工节点已达成" in again["text"]  # in the card's history, where the office sees who said so
    office_card = bot.say(office, f"/task {task}")
    assert "✅已达成（2021-09-01）" in office_card["text"] and "农业局小李" in office_card["text"]


def test_a_typed_milestone_is_recorded_and_bad_input_changes_nothing(bot: BotHarness) -> None:
    member = bot.join(212, "农业局小王", Role.MEMBER, AGRICULTURE)
    task = bot.task_id(ROSE)
    before = bot.snapshot()
    for typed, refusal in ((f"/milestone {task} 封顶", "没有“封顶”这个节点"),
                           ("/milestone 开工", "请在命令后写任务编号"),
                           (f"节点 {task}", "请写明达成的节点"),
                           (f"/milestone {task} 9", "没有“9”这个节点")):
        answer = bot.say(member, typed)["text"]
        assert refusal in answer and "Traceback" not in answer, (typed, answer)
    assert bot.snapshot() == before

    assert "“开工”节点于 2021-09-01 达成" in bot.say(member, f"节点 {task} 已开工")["text"]
    assert "已于 2021-09-01 报告达成" in bot.say(member, f"/milestone {task} 开工")["text"]
