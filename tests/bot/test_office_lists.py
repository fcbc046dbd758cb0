"""The office's and leadership's answers on a phone: one message each, every line within a phone's width,
a summary first, and every duty reached by the page buttons exactly once."""

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select
from wcwidth import wcswidth

from bot.phone import PHONE_COLUMNS
from bot.render import notification
from bot.sandbox.html_check import visible_text
from bot.sandbox.server import Person
from tasks.clock import FixedClock
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.db import transaction
from tasks.models import Assignment, Member, Role, Task, Unit
from tasks.notifications import NotificationKind
from tasks.work.review import assign_unit
from tests.factories import add_many_tasks
from tests.harness import BotHarness

TODAY = date(2021, 11, 2)
NOW = datetime(2021, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
DUTY_LINE = re.compile(r"^[🔴🟡🟢] (\d+) ", re.MULTILINE)
PAGE_MARK = re.compile(r"（\d+/\d+）$")


def harness_with(database_url: str, extra_tasks: int) -> Iterator[BotHarness]:
    harness = BotHarness(database_url, FixedClock(NOW))
    add_many_tasks(harness.engine, extra_tasks, first_due=date(2021, 3, 1), days=300)
    yield harness
    harness.stop()
    assert harness.server.state.rejected == []


@pytest.fixture
def big(database_url: str) -> Iterator[BotHarness]:
    """The seed plan and ten thousand more tasks on 2 November 2021: thousands of duties overdue."""
    yield from harness_with(database_url, 10_000)


@pytest.fixture
def small(database_url: str) -> Iterator[BotHarness]:
    """The seed plan and 150 more tasks: over a hundred duties overdue, a dozen pages."""
    yield from harness_with(database_url, 150)


def assert_fits_a_phone(message: dict) -> None:
    assert "<pre>" not in message["html"]
    assert not PAGE_MARK.search(message["text"]), "an answer in several messages"
    for line in message["text"].splitlines():
        assert wcswidth(line) <= PHONE_COLUMNS, line  # measured by another library than the one that cut it
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        assert len(row) <= 5


def overdue_in_database(harness: BotHarness, unit: str | None = None) -> Counter:
    """Task numbers of the open duties past their deadline, counted by SQL, not through the bot."""
    query = (select(Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
             .where(col(Assignment.status).in_(("open", "reported")), col(Assignment.due_on) < TODAY))
    if unit is not None:
        query = query.where(Unit.name == unit)
    with transaction(harness.engine) as session:
        return Counter(session.exec(query).all())


def digest_payload(harness: BotHarness) -> dict:
    with transaction(harness.engine) as session:
        return weekly_digest(session, TODAY, Policy())


def office_member(session, person: Person) -> Member:
    return session.exec(select(Member).where(Member.user_id == person.id)).one()


def buttons_of(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def test_every_office_and_leader_answer_at_ten_thousand_tasks_is_one_phone_screen(big: BotHarness) -> None:
    office = big.join(501, "督办办小王", Role.OFFICE)
    leader = big.join(502, "分管副区长", Role.LEADER)
    assert sum(overdue_in_database(big).values()) > 5000
    chat_before = len(big.server.messages(office.id))
    asked = 0

    def ask(person: Person, text: str) -> dict:
        nonlocal asked
        asked += person is office
        answer = big.say(person, text)
        assert_fits_a_phone(answer)
        return answer

    def tap(person: Person, message: dict, button: str) -> dict:
        nonlocal asked
        asked += person is office
        answer = big.tap(person, message, button)
        assert_fits_a_phone(answer)
        return answer

    overdue = ask(office, "/overdue")
    total = sum(overdue_in_database(big).values())
    assert f"共 {total} 项" in overdue["text"] and "🔴逾期 🟡7天内到期或待审核 🟢其余" in overdue["text"]
    second = tap(office, overdue, "下一页 ▶")
    assert "第2/" in second["text"]
    items = tap(office, overdue, "逐项查看")
    assert len(DUTY_LINE.findall(items["text"])) == 10
    first_unit = buttons_of(overdue)[0]
    unit_items = tap(office, overdue, first_unit)
    assert first_unit.rstrip("…") in unit_items["text"]
    for question in ("/overdue 各镇街", "/overdue 类别3", "/overdue 科技帮扶专班", "/due 30", "/unit 各镇街",
                     "/unit 区商务局", "逾期 区商务局"):
        ask(office, question)
    stats = ask(office, "/stats")
    assert "最差的 5 个专班" in stats["text"] and "按单位" in stats["text"]
    teams = tap(office, stats, "全部专班")
    assert "按工作专班" in teams["text"]
    tap(office, teams, buttons_of(teams)[0])
    tap(office, stats, "下一页 ▶")
    ask(leader, "/stats")
    ask(leader, "/overdue")
    digest = notification(NotificationKind.DIGEST, digest_payload(big))
    assert len(digest.pages) == 1
    assert_fits_a_phone({"html": digest.pages[0], "text": visible_text(digest.pages[0]),
                         "reply_markup": digest.buttons.to_dict()})
    big.say(office, "/help")  # answered after every earlier answer: each of them has sent all it had by now
    assert len(big.server.messages(office.id)) - chat_before == asked + 1


def test_paging_by_buttons_reaches_every_overdue_duty_exactly_once(small: BotHarness) -> None:
    office = small.join(503, "督办办小李", Role.OFFICE)
    with transaction(small.engine) as session:  # units the office added share a position: equal sort keys
        clock = FixedClock(NOW)
        task = session.exec(select(Task).where(col(Task.deadline) < TODAY).order_by(col(Task.id))).first()
        for unit in session.exec(select(Unit).where(Unit.kind != "group").order_by(col(Unit.id))).all():
            if session.exec(select(Assignment).where(Assignment.task_id == task.id,
                                                     Assignment.unit_id == unit.id)).first() is None:
                assign_unit(session, clock, office_member(session, office), task.id, unit)
    expected = overdue_in_database(small)
    assert sum(expected.values()) > 100
    page = small.tap(office, small.say(office, "/overdue"), "逐项查看")
    seen: Counter = Counter()
    while True:
        assert_fits_a_phone(page)
        seen.update(int(number) for number in DUTY_LINE.findall(page["text"]))
        if "下一页 ▶" not in buttons_of(page):
            break
        page = small.tap(office, page, "下一页 ▶")
    assert seen == expected

    # The summary's units add up to the same duties, and a unit's button opens exactly its own.
    summary = small.say(office, "/overdue")
    unit_lines = re.findall(r"^🔴 (\S+) (\d+)项", summary["text"], re.MULTILINE)
    name, count = unit_lines[0]
    assert int(count) == sum(overdue_in_database(small, name).values())
    opened = small.tap(office, summary, buttons_of(summary)[0])
    assert Counter(int(n) for n in DUTY_LINE.findall(opened["text"])) <= overdue_in_database(small, name)


def test_an_escalation_list_is_one_screen_whose_buttons_open_a_units_overdue_duties(small: BotHarness) -> None:
    office = small.join(504, "督办办小赵", Role.OFFICE)
    member = small.join(505, "商务局小钱", Role.MEMBER, "区商务局")
    with transaction(small.engine) as session:
        rows = session.exec(select(Assignment, Task, Unit).join(Task, col(Task.id) == Assignment.task_id)
                            .join(Unit, col(Unit.id) == Assignment.unit_id)
                            .where(col(Assignment.status) == "open", col(Assignment.due_on) < TODAY)).all()
        items = [{"key": f"a{a.id}:o", "task_id": t.id, "text": t.text, "unit": u.name, "unit_id": u.id,
                  "due_on": a.due_on.isoformat(), "step": "o3", "days": (TODAY - a.due_on).days} for a, t, u in rows]
    reply = notification(NotificationKind.OVERDUE_OFFICE, {"items": items})
    assert len(reply.pages) == 1
    units = Counter(item["unit"] for item in items)
    assert f"共 {len(items)} 项，涉及 {len(units)} 个单位" in reply.pages[0]

    # Sent as the clock sends it, then tapped: the unit's duties as they are now.
    message = dict(small.say(office, "/help"), reply_markup=reply.buttons.to_dict(), text=reply.pages[0])
    first = reply.buttons.inline_keyboard[0][0].text
    opened = small.tap(office, message, first)
    assert_fits_a_phone(opened)
    assert DUTY_LINE.search(opened["text"])

    # A unit's member cannot open the office's lists; a made-up button is refused, and nothing is sent.
    before = len(small.server.messages(member.id))
    refused = small.tap(member, dict(message, chat={"id": member.id, "type": "private"}), first)
    assert "无权" in refused["text"] or "不能" in refused["text"]
    small.server.tap_data(member, dict(message, chat={"id": member.id, "type": "private"}), "ls:o:u99x:i1")
    small.settle()
    assert len(small.server.messages(member.id)) == before + 1


def test_a_units_button_sent_before_it_was_merged_opens_the_unit_it_was_merged_into(small: BotHarness) -> None:
    from tasks.plan.directory import merge_unit
    from tests.factories import ADMIN

    office = small.join(506, "督办办小孙", Role.OFFICE)
    summary = small.say(office, "/overdue")
    name = re.findall(r"^🔴 (\S+) \d+项", summary["text"], re.MULTILINE)[0]
    with transaction(small.engine) as session:
        source = session.exec(select(Unit).where(Unit.name == name)).one()
        target = session.exec(select(Unit).where(Unit.kind != "group", Unit.name != name).order_by(col(Unit.id))).first()
        merge_unit(session, FixedClock(NOW), ADMIN, source, target)
        target_name = target.name
    opened = small.tap(office, summary, buttons_of(summary)[0])
    assert f"逾期未办结 · {target_name}" in opened["text"] and DUTY_LINE.search(opened["text"])
