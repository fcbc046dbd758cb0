"""待审核: what waits for the office, oldest first, each a tap from its card; the evidence a unit sent,
opened by the office; a task's card with every unit's state."""

import re
from collections import Counter
from datetime import timedelta

from sqlmodel import col, func, select
from wcwidth import wcswidth

from bot.phone import PHONE_COLUMNS
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.models import Assignment, Member, Role, Unit
from tasks.work.duties import member_duty, report_completion, task_assignments
from tasks.work.progress import Scope, open_duties
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

AGRICULTURE = "区农业农村局"
CATTLE = "project:内蒙古武川县:西乌兰不浪镇红山子村养殖产业扶持项目"  # 区农业农村局, due 2021-10-31
OPENS = re.compile(r"^(📥|⏳) (\d+) ", re.MULTILINE)


def buttons_of(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def test_the_office_decides_what_waits_from_the_list_and_opens_the_units_photo(bot: BotHarness) -> None:
    commerce = bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    farming = bot.join(212, "农业局小刘", Role.MEMBER, AGRICULTURE)
    office = bot.join(311, "督办办老李", Role.OFFICE)
    exhibition, cattle = bot.task_id(EXHIBITION), bot.task_id(CATTLE)
    assert "没有待审核" in bot.say(office, "/pending")["text"]

    before = len(bot.server.messages(commerce.id))
    bot.server.send_photo(commerce, b"\xff\xd8opening-day", caption=f"/done {exhibition} 展销中心已开业")
    bot.next_message(commerce.id, before)
    sent_photo = bot.server.messages(commerce.id)  # the member's own photo, as the server stored it
    bot.clock.advance(timedelta(hours=1))
    bot.say(farming, f"/extend {cattle} 2021-11-30 肉牛采购推迟")

    listed = bot.say(office, "待审核")
    assert "共 2 项，先提交的在前" in listed["text"]
    assert OPENS.findall(listed["text"]) == [("📥", str(exhibition)), ("⏳", str(cattle))]  # oldest first
    assert "延至11-30" in listed["text"]
    assert all(wcswidth(line) <= PHONE_COLUMNS for line in listed["text"].splitlines())

    card = bot.tap(office, listed, f"📥{exhibition}")
    assert "办结申请" in card["text"] and "展销中心已开业" in card["text"]
    assert buttons_of(card) == ["审核通过", "退回", "查看证明材料（1）"]
    before = len(bot.server.messages(office.id))
    bot.server.tap(office, card, "查看证明材料（1）")
    head, photo = bot.server.wait_for(office.id, after=before, count=2)
    assert "证明材料 1 份" in head["text"]
    uploaded = [m for m in bot.server.state.files if bot.server.state.files[m][0] == b"\xff\xd8opening-day"]
    assert photo["photo"][0]["file_id"] in uploaded and sent_photo

    member_before = len(bot.server.messages(commerce.id))
    assert "已审核通过" in bot.tap(office, card, "审核通过")["text"]
    assert "已审核通过" in bot.next_message(commerce.id, member_before)["text"]

    listed = bot.say(office, "/pending")
    assert OPENS.findall(listed["text"]) == [("⏳", str(cattle))]
    request = bot.tap(office, listed, f"⏳{cattle}")
    assert "申请延至：2021-11-30" in request["text"]
    member_before = len(bot.server.messages(farming.id))
    bot.tap(office, request, "同意")
    assert "已同意" in bot.next_message(farming.id, member_before)["text"]
    assert "没有待审核" in bot.say(office, "/pending")["text"]

    # The office's card of the task: the deadline in force beside the document's.
    extended = bot.say(office, f"/task {cattle}")["text"]
    assert "已批准延期" in extended


def test_pages_of_what_waits_reach_each_claim_once(bot: BotHarness) -> None:
    office = bot.join(312, "督办办小钱", Role.OFFICE)
    commerce = bot.join(213, "商务局小赵", Role.MEMBER, COMMERCE)
    with transaction(bot.engine) as session:
        member = session.exec(select(Member).where(Member.user_id == commerce.id)).one()
        unit = session.exec(select(Unit).where(Unit.name == COMMERCE)).one()
        duties = open_duties(session, before=None, limit=100, scope=Scope(unit=unit))
        for n, duty in enumerate(duties):
            clock = FixedClock(bot.clock.now() + timedelta(minutes=n))
            report_completion(session, clock, member, member_duty(session, member, duty.task.id), f"第{n}项已完成")
    expected = Counter(str(duty.task.id) for duty in duties)
    assert len(duties) > 10
    page = bot.say(office, "/pending")
    seen: Counter = Counter()
    while True:
        seen.update(number for _mark, number in OPENS.findall(page["text"]))
        if "下一页 ▶" not in buttons_of(page):
            break
        page = bot.tap(office, page, "下一页 ▶")
    assert seen == expected


def test_a_task_of_several_units_says_how_many_have_finished_and_who_has_not(bot: BotHarness) -> None:
    leader = bot.join(411, "分管副区长", Role.LEADER)
    with transaction(bot.engine) as session:
        task_id = session.exec(select(Assignment.task_id).group_by(col(Assignment.task_id))
                               .order_by(func.count().desc(), col(Assignment.task_id)).limit(1)).one()
        units = [name for _a, name in task_assignments(session, task_id)]
    card = bot.say(leader, f"/task {task_id}")["text"]
    assert f"0/{len(units)} 单位已办结，未办结：\n{units[0]}、" in card


def test_a_line_of_what_waits_fits_a_phone_whatever_the_unit_number_and_date(monkeypatch) -> None:
    import time as clock_module
    from datetime import date, datetime
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from bot.office_lists import _waiting_lines
    from tasks.work.review import Waiting

    # A host set to Beijing time: a stored moment comes back without a zone and is UTC all the same.
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    clock_module.tzset()
    try:
        req = SimpleNamespace(today=date(2021, 11, 2), ctx=SimpleNamespace(timezone=ZoneInfo("Asia/Shanghai")))
        early = datetime(2021, 11, 1, 18, 0)  # 02:00 on 2 November in Beijing
        lines = [
            _waiting_lines(Waiting("extension", 1, 123456, "很长的任务" * 10, "广州市从化区城市管理和综合执法局",
                                   "某人", early, asked_for=date(2022, 11, 30)), req),
            _waiting_lines(Waiting("completion", 2, 99999, "任务", "区商务局", "某人", early, files=12), req),
        ]
    finally:
        monkeypatch.delenv("TZ")
        clock_module.tzset()
    shown = "\n".join(lines).replace("<b>", "").replace("</b>", "")
    assert all(wcswidth(line) <= PHONE_COLUMNS for line in shown.splitlines()), shown
    assert "延至2022-11-30 · 今天" in shown and "办结·附12份 · 今天" in shown


def test_an_old_button_of_a_decided_extension_says_it_was_decided(bot: BotHarness) -> None:
    farming = bot.join(214, "农业局小孙", Role.MEMBER, AGRICULTURE)
    office = bot.join(313, "督办办小孙", Role.OFFICE)
    cattle = bot.task_id(CATTLE)
    bot.say(farming, f"/extend {cattle} 2021-11-30 肉牛采购推迟")
    listed = bot.say(office, "/pending")
    bot.tap(office, bot.tap(office, listed, f"⏳{cattle}"), "同意")
    again = bot.tap(office, listed, f"⏳{cattle}")
    assert "已处理（已同意）" in again["text"] and "reply_markup" not in again


def test_the_office_opens_every_file_a_unit_sent_on_a_task_from_its_card(bot: BotHarness) -> None:
    commerce = bot.join(215, "商务局小李", Role.MEMBER, COMMERCE)
    leader = bot.join(412, "分管副区长", Role.LEADER)
    exhibition = bot.task_id(EXHIBITION)
    for n in range(3):
        before = len(bot.server.messages(commerce.id))
        bot.server.send_photo(commerce, b"\xff\xd8" + bytes([n]), caption=f"#{exhibition} 第{n}张现场照片")
        bot.next_message(commerce.id, before)
    card = bot.say(leader, f"/task {exhibition}")
    assert buttons_of(card) == ["📎区商务局（3）"]
    before = len(bot.server.messages(leader.id))
    bot.server.tap(leader, card, "📎区商务局（3）")
    head, *photos = bot.server.wait_for(leader.id, after=before, count=4)
    assert "证明材料 3 份" in head["text"]
    sent = {bot.server.state.files[p["photo"][0]["file_id"]][0] for p in photos}
    assert sent == {b"\xff\xd8" + bytes([n]) for n in range(3)}
