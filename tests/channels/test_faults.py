"""Faults on each domestic platform, end to end: the outbox sender pushes through the platform's
app while its double answers with the platform's own rate-limit answer, a server error, a person or
a permission gone, or drops the long connection. Nothing is lost, nothing is sent twice, and a
person who cannot be reached any more is marked so and the office told."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.sandbox.domestic import merged
from tasks.db import transaction
from tasks.models import Member, Outbox, OutboxStatus, Role
from tasks.notifications import NotificationKind, Urge, UrgedTask
from tasks.outbox import notify_unit
from tasks.work.lookup import unit_named
from tests.chats import DomesticChat
from tests.factories import COMMERCE

DOMESTIC = ("dingtalk", "wecom", "feishu")


@pytest.fixture(params=DOMESTIC)
def platform(request: pytest.FixtureRequest, database_url: str) -> Iterator[DomesticChat]:
    opened = DomesticChat(database_url, request.param)
    yield opened
    opened.stop()


def urge(chat: DomesticChat, note: str) -> None:
    clock = chat.sandbox.ctx.clock
    with transaction(chat.engine) as session:
        unit = unit_named(session, COMMERCE)
        assert unit.id is not None
        notify_unit(session, clock, unit.id, NotificationKind.URGE,
                    Urge(urger="督办办", note=note, unit=COMMERCE,
                         tasks=[UrgedTask(task_id=41, text="武川县消费扶贫展销服务中心运营项目", due_on=None)]),
                    f"urge:{note}")


def received(chat: DomesticChat, who: str, note: str) -> int:
    return sum(note in shown.text for shown in chat.sandbox.messages(who))


def rows(chat: DomesticChat) -> list[Outbox]:
    with Session(chat.engine) as session:
        return list(session.exec(select(Outbox).where(Outbox.kind == NotificationKind.URGE)).all())


def wait(chat: DomesticChat, condition: Callable[[], Any], moving: timedelta = timedelta(0)) -> None:
    """Until ``condition``: the sender tries again when a row's wait is over, so the clock is moved on
    by ``moving`` at a time (the platform asked to wait, or the outbox backs off)."""
    import time

    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if moving:
            chat.sandbox.ctx.clock.advance(moving)
        time.sleep(0.1)


RETRIED: dict[str, dict[str, Callable[[Any], None]]] = {
    "rate limit": {
        "dingtalk": lambda double: double.throttle_next(1),
        "wecom": lambda double: double.rate_limit(1),
        "feishu": lambda double: double.rate_limit_next_sends(1),
    },
    "server error": {
        "dingtalk": lambda double: double.fail_next(1, 503),
        "wecom": lambda double: double.fail_next_sends(1, -1),  # WeCom's "system busy"
        "feishu": lambda double: double.fail_next_sends(1, 502),
    },
}


@pytest.mark.parametrize("fault", list(RETRIED))
def test_a_refused_push_is_sent_once_when_the_platform_takes_it_again(platform: DomesticChat, fault: str) -> None:
    member = platform.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    RETRIED[fault][platform.channel](platform.sandbox.double)
    urge(platform, "请本周报送")
    wait(platform, lambda: received(platform, member, "请本周报送") >= 1, moving=timedelta(minutes=5))
    platform.settle()
    assert received(platform, member, "请本周报送") == 1
    [row] = rows(platform)
    assert row.status == OutboxStatus.SENT and row.attempts == 2  # refused once, then taken


GONE: dict[str, Callable[[Any, str], None]] = {
    "dingtalk": lambda double, who: double.people.pop(who),  # left the organisation: batchSend names them invalid
    "wecom": lambda double, who: double.user_leaves(who),
    "feishu": lambda double, who: double.make_unavailable(who),
}


def test_a_person_the_platform_no_longer_reaches_is_marked_and_the_office_told(platform: DomesticChat) -> None:
    member = platform.join(202, "商务局小张", Role.MEMBER, COMMERCE)
    office = platform.join(302, "督办办小赵", Role.OFFICE)
    office_before = platform.count(office)
    GONE[platform.channel](platform.sandbox.double, member)
    urge(platform, "请补充材料")
    wait(platform, lambda: rows(platform)[0].status == OutboxStatus.DEAD)
    with Session(platform.engine) as session:
        marked = session.exec(select(Member).where(Member.name == "商务局小张")).one()
    assert not marked.reachable
    notice = platform.next_message(office, office_before)
    assert "商务局小张" in notice.text


def test_a_dropped_connection_comes_back_and_each_message_is_answered_once(platform: DomesticChat) -> None:
    member = platform.join(203, "商务局小陈", Role.MEMBER, COMMERCE)
    double = platform.sandbox.double
    if platform.channel == "dingtalk":
        double.close_connections()
        wait(platform, lambda: len(double.connections) >= 2)
    elif platform.channel == "wecom":
        double.drop_connection()
        platform.sandbox._run(double.wait_connected(subscriptions=2, timeout=15))
    else:
        double.drop_connection()
        double.wait_connected(count=2, timeout=15)
    before = platform.count(member)
    answer = platform.say(member, "我的任务")
    assert "区商务局 未办结任务" in answer.text
    after_first = platform.count(member)
    platform.say(member, "我的任务")  # the same question again, on a connection that stayed up
    # The answer after the drop came once: as many messages as the same answer takes now.
    assert after_first - before == platform.count(member) - after_first


def reports_filed(chat: DomesticChat) -> int:
    from tasks.models import Report

    with Session(chat.engine) as session:
        return len(session.exec(select(Report)).all())


@pytest.mark.parametrize("platform", ["dingtalk"], indirect=True)
def test_a_message_handed_on_again_after_a_restart_is_acted_on_once(platform: DomesticChat) -> None:
    """DingTalk hands a message on again when it heard no acknowledgement; a restarted process has
    forgotten the ids it saw, and the inbox has not."""
    member = platform.join(204, "商务局小刘", Role.MEMBER, COMMERCE)
    double = platform.sandbox.double
    before = platform.count(member)
    msg_id = double.person_says(member, "/report 41 60% 场地已签约")
    wait(platform, lambda: platform.count(member) > before)
    app = platform.sandbox.channels.apps["dingtalk"]
    app._seen.clear()  # what a new process knows of the messages it saw: nothing
    double.resend(msg_id)
    wait(platform, lambda: len(double.acked(double.frame_id_of(msg_id))) >= 2)
    platform.settle()
    assert reports_filed(platform) == 1
    assert platform.count(member) == before + 1  # answered once


@pytest.mark.parametrize("platform", DOMESTIC, indirect=True)
def test_a_message_stored_by_a_process_that_died_is_acted_on_when_the_app_starts(platform: DomesticChat) -> None:
    """Stored, then the process died before acting on it: the app takes it up when it starts again."""
    import dataclasses

    from bot.channels import Incoming
    from tasks.inbox import platform_update_id, store_new

    member = platform.join(205, "商务局小周", Role.MEMBER, COMMERCE)
    said = Incoming(platform.channel, member, member, False, "商务局小周", text="/report 41 60% 场地已签约",  # type: ignore[arg-type]
                    message_id="left-behind-1")
    update = {"update_id": platform_update_id(platform.channel, said.message_id), "incoming": dataclasses.asdict(said)}
    with transaction(platform.engine) as session:
        assert store_new(session, platform.sandbox.ctx.clock, update, platform.channel) is not None
    before = platform.count(member)
    conversation = platform.sandbox.channels.conversations[platform.channel]
    platform.sandbox._run(conversation.take_up_stored())  # what the app's start does
    wait(platform, lambda: platform.count(member) > before)
    assert reports_filed(platform) == 1
    platform.sandbox._run(conversation.take_up_stored())  # and a second start finds nothing left
    assert reports_filed(platform) == 1


@pytest.mark.parametrize("platform", DOMESTIC, indirect=True)
def test_a_message_that_comes_while_the_app_starts_is_acted_on_once(platform: DomesticChat) -> None:
    """The app connects, then takes up what an earlier process left: a message that came in between
    is being acted on by its own handler, and is not taken up again beside it."""
    import dataclasses

    from bot.channels import Incoming
    from tasks.inbox import platform_update_id, store_new

    member = platform.join(206, "商务局小吴", Role.MEMBER, COMMERCE)
    conversation = platform.sandbox.channels.conversations[platform.channel]
    left_over = platform.sandbox._run(conversation.left_over())  # read as the app's start reads it, before connecting
    said = Incoming(platform.channel, member, member, False, "商务局小吴", text="/report 41 60% 场地已签约",  # type: ignore[arg-type]
                    message_id="came-while-starting")
    update = {"update_id": platform_update_id(platform.channel, said.message_id), "incoming": dataclasses.asdict(said)}
    with transaction(platform.engine) as session:  # its handler has stored it and is acting on it
        assert store_new(session, platform.sandbox.ctx.clock, update, platform.channel) is not None
    before = platform.count(member)
    platform.sandbox._run(conversation.take_up_stored(left_over))
    platform.settle()
    assert reports_filed(platform) == 0 and platform.count(member) == before  # left to the handler that has it


@pytest.mark.parametrize("platform", DOMESTIC, indirect=True)
def test_a_message_that_finds_the_database_busy_past_its_timeout_is_answered_once(platform: DomesticChat) -> None:
    """Another writer holds the database longer than SQLite's busy timeout (a planner pass on a slow
    machine): the message waits and is answered, rather than go back to the platform unanswered."""
    import threading
    import time

    from sqlalchemy import text

    from tasks.db import SQLITE_BUSY_TIMEOUT_MS, make_engine

    member = platform.join(207, "商务局小郑", Role.MEMBER, COMMERCE)
    before = platform.count(member)
    engine = make_engine(platform.engine.url.render_as_string(hide_password=False))
    holder = engine.connect()
    holder.begin()  # on SQLite, BEGIN IMMEDIATE (tasks.db): the one writer it allows
    if engine.dialect.name == "postgresql":
        holder.execute(text("LOCK TABLE inbox IN EXCLUSIVE MODE"))
    held = SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.5
    releaser = threading.Timer(held, holder.rollback)
    started = time.monotonic()
    releaser.start()
    try:
        platform.sandbox.write(member, "我的任务")
        answers = platform.sandbox.wait_for(member, before, timeout=held + 15)
    finally:
        releaser.join()
        holder.close()
        engine.dispose()
    assert time.monotonic() - started >= held  # it really waited for the writer
    assert "区商务局 未办结任务" in merged(answers).text
    platform.settle()
    assert platform.count(member) == before + len(answers)  # once
