"""Notifications go through the outbox and survive the Bot API's refusals: nothing lost, nothing doubled."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.sandbox.server import Fault
from tasks.db import transaction
from tasks.models import Member, Outbox, Role
from tasks.notifications import NotificationKind
from tasks.outbox import stored_row
from tests.factories import COMMERCE
from tests.harness import BotHarness


@pytest.fixture
def bot(database_url: str) -> Iterator[BotHarness]:
    from tasks.clock import FixedClock
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)))
    yield harness
    harness.stop()


def urges_received(bot: BotHarness, chat_id: int) -> list[str]:
    return [m["text"] for m in bot.server.messages(chat_id) if m.get("text", "").startswith("📣")]


def outbox_rows(bot: BotHarness) -> list[Outbox]:
    with transaction(bot.engine) as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)).all())


def wait_for_row(bot: BotHarness, predicate: Callable[[Outbox], bool], timeout: float = 10) -> Outbox:
    deadline = time.monotonic() + timeout
    while True:
        row = outbox_rows(bot)[-1]
        if predicate(row) or time.monotonic() > deadline:
            return row
        time.sleep(0.01)


@pytest.mark.parametrize(("kind", "wait"), [("429", timedelta(seconds=31)), ("500", timedelta(seconds=3))])
def test_temporary_refusals_are_retried_once_due(bot: BotHarness, kind: str, wait: timedelta) -> None:
    member = bot.join(601, "商务局成员", Role.MEMBER, COMMERCE)
    office = bot.join(602, "督办办公室", Role.OFFICE)
    bot.server.inject(Fault("sendMessage", kind, retry_after=30, chat_id=member.id))
    bot.say(office, "/urge 区商务局 请尽快报送")
    row = wait_for_row(bot, lambda r: bool(r.last_error))  # the first attempt was refused and recorded
    assert row.status == "pending" and row.attempts == 1 and urges_received(bot, member.id) == []
    bot.clock.advance(wait)
    bot.settle()
    assert len(urges_received(bot, member.id)) == 1
    assert outbox_rows(bot)[-1].status == "sent"


def test_blocked_member_is_marked_unreachable_and_the_office_told(bot: BotHarness) -> None:
    member = bot.join(611, "商务局成员", Role.MEMBER, COMMERCE)
    office = bot.join(612, "督办办公室", Role.OFFICE)
    bot.server.block(member.id)
    before = len(bot.server.messages(office.id))
    bot.say(office, "/urge 区商务局")
    bot.settle()
    notices = [m["text"] for m in bot.server.messages(office.id)[before:]]
    assert any("无法送达" in text and "商务局成员" in text for text in notices)
    rows = outbox_rows(bot)
    assert [r.status for r in rows if r.address == str(member.id)] == ["dead"]
    with transaction(bot.engine) as session:
        assert session.exec(select(Member).where(Member.user_id == member.id)).one().reachable is False
    # Later notifications for the unit no longer go to a chat that refuses them.
    count = len(rows)
    bot.say(office, "/urge 区商务局")
    assert [r for r in outbox_rows(bot)[count:] if r.address == str(member.id)] == []


def test_migrated_group_is_followed(bot: BotHarness) -> None:
    group = bot.server.group(-4001, "商务局群")
    staff = bot.server.person(621, "群成员")
    bot.say(staff, f"/start {bot.invite(Role.MEMBER, COMMERCE)}", chat_id=group["id"])
    office = bot.join(622, "督办办公室", Role.OFFICE)
    bot.server.migrate(group["id"], -1004001)
    bot.say(office, "/urge 区商务局 群已升级")
    bot.settle()
    assert any("群已升级" in text for text in urges_received(bot, -1004001))
    with transaction(bot.engine) as session:
        assert session.exec(select(Member).where(Member.user_id.is_(None))).one().address == "-1004001"


def test_permanent_refusal_is_a_dead_letter_with_its_reason(bot: BotHarness) -> None:
    member = bot.join(631, "商务局成员", Role.MEMBER, COMMERCE)
    office = bot.join(632, "督办办公室", Role.OFFICE)
    bot.server.inject(Fault("sendMessage", "400", chat_id=member.id))
    bot.say(office, "/urge 区商务局")
    bot.settle()
    row = next(r for r in outbox_rows(bot) if r.address == str(member.id))
    assert row.status == "dead" and "injected fault" in row.last_error.lower()
    assert urges_received(bot, member.id) == []
    assert [m["text"] for m in bot.server.messages(office.id) if "消息未能送达" in m["text"]] != []


def test_a_message_that_cannot_be_rendered_is_set_aside_and_the_rest_go_out(bot: BotHarness) -> None:
    """Finding 2, the sender's side: one bad row is a dead letter, reported to the office once per
    chat; the messages queued beside it are delivered."""
    member = bot.join(641, "商务局成员", Role.MEMBER, COMMERCE)
    office = bot.join(642, "督办办公室", Role.OFFICE)
    with transaction(bot.engine) as session:
        recipient = session.exec(select(Member).where(Member.user_id == member.id)).one()
        for n, tasks in enumerate((7, 8)):  # "tasks" must be a list: queueing refuses these, so they are written
            # as a row an earlier version left in the database, which then fails to render
            broken = {"urger": "督办办", "unit": COMMERCE, "tasks": tasks}
            session.add(Outbox(**stored_row(bot.clock, recipient, NotificationKind.URGE, broken, f"broken:{n}")))
    bot.say(office, "/urge 区商务局 请尽快报送")
    bot.settle()
    assert len(urges_received(bot, member.id)) == 1
    assert [r.status for r in outbox_rows(bot) if r.dedupe_key.startswith("broken:")] == ["dead", "dead"]
    told = [m["text"] for m in bot.server.messages(office.id) if "消息未能送达" in m["text"]]
    assert len(told) == 1 and "商务局成员" in told[0]
