"""The inbox: edits are not commands, an unreadable update is skipped, stored updates are resumed,
and the webhook refuses what is not Telegram's before reading it."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from bot.app import Webhook
from bot.intake import WEBHOOK_BODY_LIMIT
from bot.sandbox.webhook import SECRET_HEADER
from bot.texts import EDIT_NOT_TAKEN
from tasks import inbox
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Extension, Inbox, InboxStatus, Invite, Report, Role
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness
from tests.processes import free_port

NOON = datetime(2021, 9, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def bot(database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(database_url, FixedClock(NOON))
    yield harness
    harness.stop()


def counts(bot: BotHarness) -> tuple[int, int, int]:
    with transaction(bot.engine) as session:
        return tuple(session.exec(select(func.count()).select_from(model)).one()  # type: ignore[return-value]
                     for model in (Report, Extension, Invite))


def inbox_rows(bot: BotHarness) -> dict[int, Inbox]:
    with transaction(bot.engine) as session:
        return {row.update_id: row for row in session.exec(select(Inbox).order_by(col(Inbox.id))).all()}


def settled_inbox(bot: BotHarness, timeout: float = 10.0) -> dict[int, Inbox]:
    """The inbox once nothing in it is pending (a reply goes out before its update is marked)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = inbox_rows(bot)
        if all(row.status != InboxStatus.PENDING for row in rows.values()):
            return rows
        assert time.monotonic() < deadline, "updates still pending"
        time.sleep(0.01)


def test_an_edited_command_is_answered_and_not_run_again(bot: BotHarness) -> None:
    member = bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = bot.join(311, "督办办老李", Role.OFFICE)
    task = bot.task_id(EXHIBITION)
    commands = [(member, f"/report {task} 60% 场地已签约", f"/report {task} 70% 场地已签约并装修"),
                (member, f"/extend {task} 2021-11-30 场地交付推迟", f"/extend {task} 2021-12-15 场地交付推迟"),
                (office, "/invite 区农业农村局", "/invite 区商务局")]
    for person, text, edit in commands:
        bot.say(person, text)
        before, sent = counts(bot), len(bot.server.messages(person.id))
        bot.server.edit_text(person, edit)
        reply = bot.server.wait_for(person.id, after=sent)
        assert [m["text"] for m in reply] == [EDIT_NOT_TAKEN]
        assert counts(bot) == before  # no second report, request or code
    time.sleep(0.3)  # an edit answered twice would have its second answer in by now
    assert bot.server.messages(member.id)[-1]["text"] == EDIT_NOT_TAKEN
    assert [m["text"] for m in bot.server.messages(office.id)].count(EDIT_NOT_TAKEN) == 1
    assert counts(bot) == (1, 1, 3)  # the two invites that bound the people, and /invite once


def test_an_unreadable_update_is_marked_failed_and_the_rest_go_on(
        bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    member = bot.join(212, "商务局小张", Role.MEMBER, COMMERCE)
    # A message whose chat is not an object: PTB's Update.de_json cannot read it.
    bad = bot.server.push_raw({"channel_post": {"message_id": 99, "date": 0, "chat": 5, "text": "/help"}})
    with caplog.at_level(logging.ERROR, logger="bot.intake"):
        assert "区商务局 未办结任务" in bot.say(member, "我的任务")["text"]
        assert "区商务局 未办结任务" in bot.say(member, "我的任务")["text"]  # polling goes on
    rows = settled_inbox(bot)
    assert rows[bad].status == InboxStatus.FAILED and "无法解析" in rows[bad].error
    assert f"update {bad} cannot be read" in caplog.text
    assert all(row.status == InboxStatus.HANDLED for update_id, row in rows.items() if update_id != bad)


def test_stored_updates_are_resumed_at_start_and_one_in_hand_at_two_deaths_is_skipped(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    clock = FixedClock(NOON)

    def message(update_id: int, user_id: int, text: str) -> dict:
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": 0, "text": text,
            "chat": {"id": user_id, "type": "private", "first_name": "路人"},
            "from": {"id": user_id, "is_bot": False, "first_name": "路人"}}}

    # What a process that died left: two updates never begun, one in hand once, one in hand twice.
    with transaction(engine) as session:
        inbox.store(session, clock, [message(1, 601, "你好"), message(2, 602, "你好"), message(3, 603, "你好"),
                                     message(4, 604, "你好")])
        session.execute(Inbox.__table__.update().where(Inbox.__table__.c.update_id == 3).values(attempts=1))
        session.execute(Inbox.__table__.update().where(Inbox.__table__.c.update_id == 4).values(attempts=2))
    engine.dispose()
    with caplog.at_level(logging.ERROR, logger="bot.intake"):
        bot = PeopleFirst(database_url, clock)
        try:
            for user_id in (601, 602, 603):
                assert "还没有绑定身份" in bot.server.wait_for(user_id)[0]["text"]
            time.sleep(0.3)
            assert bot.server.messages(604) == []
            rows = settled_inbox(bot)
        finally:
            bot.stop()
    assert [rows[n].status for n in (1, 2, 3, 4)] == ["handled", "handled", "handled", "failed"]
    assert [rows[n].attempts for n in (1, 2, 3, 4)] == [1, 1, 2, 2]
    assert "handling update 4 was interrupted 2 times" in caplog.text


class PeopleFirst(BotHarness):
    """The bot, with its chats there before it starts: it answers stored updates at once."""

    def start(self, timeout: float = 15.0) -> BotHarness:
        for user_id in (601, 602, 603, 604):
            self.server.person(user_id, "路人")
        return super().start(timeout)


# --- the webhook listener ------------------------------------------------------------------


@pytest.fixture
def hooked(database_url: str) -> Iterator[tuple[BotHarness, Webhook]]:
    port = free_port()
    webhook = Webhook(f"http://127.0.0.1:{port}/telegram-updates", "127.0.0.1", port)
    harness = BotHarness(database_url, FixedClock(NOON), webhook=webhook)
    yield harness, webhook
    harness.stop()


def raw_post(webhook: Webhook, headers: dict[str, str], body: bytes) -> str:
    """Send a request's head and ``body`` (maybe less than the head announces) and return the
    status line the listener answers with, without sending more."""
    with socket.create_connection((webhook.listen, webhook.port), timeout=10) as connection:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall(f"POST /{webhook.path} HTTP/1.1\r\nHost: {webhook.listen}\r\n{head}\r\n".encode()
                           + body)
        answer = connection.recv(4096)
    return answer.split(b"\r\n", 1)[0].decode()


def test_the_webhook_refuses_a_stranger_and_a_huge_body_before_reading_it(
        hooked: tuple[BotHarness, Webhook]) -> None:
    harness, webhook = hooked
    huge = str(100 * 1024 * 1024)
    start = b'{"update_id": 1, "message": {"text": "'  # the first bytes of a 100 MB body, never finished
    # Without the secret: 403 at once, while 100 MB are still to come.
    for headers in ({}, {SECRET_HEADER: "not-the-secret"}):
        assert raw_post(webhook, {"Content-Length": huge, **headers}, start) == "HTTP/1.1 403 Forbidden"
    # With the secret, a body announced over the limit is refused unread, and one sent in chunks
    # is cut off at the limit.
    secret = {SECRET_HEADER: webhook.secret}
    assert raw_post(webhook, {"Content-Length": huge, **secret}, start) == "HTTP/1.1 413 Request Entity Too Large"
    chunk = b"x" * (256 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(WEBHOOK_BODY_LIMIT // len(chunk) + 1))
    assert raw_post(webhook, {"Transfer-Encoding": "chunked", **secret}, chunks) == \
        "HTTP/1.1 413 Request Entity Too Large"
    assert inbox_rows(harness) == {}
    # An update within the limit, with the secret, is stored and answered.
    person = harness.server.person(666, "路人")
    update = {"update_id": 900001, "message": {"message_id": 1, "date": 0, "text": "你好", "from": person.as_user(),
                                               "chat": {"id": 666, "type": "private", "first_name": "路人"}}}
    body = json.dumps(update).encode()
    assert raw_post(webhook, {"Content-Length": str(len(body)), "Content-Type": "application/json", **secret},
                    body) == "HTTP/1.1 200 OK"
    assert "还没有绑定身份" in harness.server.wait_for(666)[0]["text"]


def test_handled_updates_are_forgotten_after_a_week_and_failed_ones_kept(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    clock = FixedClock(NOON)
    with transaction(engine) as session:
        inbox.store(session, clock, [{"update_id": n} for n in (1, 2, 3)])
        inbox.finish(session, clock, 1)
        inbox.finish(session, clock, 2, "无法解析", failed=True)
    clock.moment = NOON + inbox.KEEP_HANDLED
    with transaction(engine) as session:
        assert inbox.forget_handled(session, clock) == 0  # a week to the second: kept
        inbox.store(session, clock, [{"update_id": 4}])
        inbox.finish(session, clock, 4)
    clock.moment = NOON + inbox.KEEP_HANDLED + timedelta(seconds=1)
    with transaction(engine) as session:
        assert inbox.forget_handled(session, clock) == 1
        left = {row.update_id: row.status for row in session.exec(select(Inbox)).all()}
    engine.dispose()
    assert left == {2: "failed", 3: "pending", 4: "handled"}
