"""发送状态: the outbox's counts and lists, a dead letter with its reason sent again after the person
unblocked the bot, the lists paged, and a leader refused."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlmodel import Session, select

from tasks.db import transaction
from tasks.errors import ServiceError
from tasks.events import Actor
from tasks.models import Event, Member, Outbox, OutboxStatus, Role
from tasks.notifications import CompletionVerified, NotificationKind
from tasks.outbox import enqueue, mark_dead, retry_dead
from tests.desk import browser_session, call, log_in, page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE
from tests.harness import BotHarness

TASK_TEXT = "推进消费扶贫展销中心运营 <b>&</b>"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def member_of(session: Session, user_id: int) -> Member:
    return session.exec(select(Member).where(Member.user_id == user_id)).one()


def queue_verified(bot: BotHarness, user_id: int, key: str) -> int:
    """A notification for the person, as the office's verify writes it; its row's id."""
    with transaction(bot.engine) as session:
        row = enqueue(session, bot.clock, member_of(session, user_id), NotificationKind.COMPLETION_VERIFIED,
                      CompletionVerified(task_id=1, task_text=TASK_TEXT, reviewer="督办办老李"), key)
        assert row is not None
        session.flush()
        assert row.id is not None
        return row.id


def row_of(bot: BotHarness, row_id: int) -> Outbox:
    with transaction(bot.engine) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row


def wait_for_status(bot: BotHarness, row_id: int, status: OutboxStatus, timeout: float = 10) -> Outbox:
    deadline = time.monotonic() + timeout
    while (row := row_of(bot, row_id)).status != status:
        assert time.monotonic() < deadline, f"row {row_id} is {row.status}, not {status}"
        time.sleep(0.05)
    return row


def refused_as_blocked(bot: BotHarness, count: int) -> None:
    """The sandbox's server refused exactly the sends to the person who blocked the bot, and nothing
    else (the fixture checks at the end that nothing was refused): those refusals are this test's."""
    blocked = ("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert bot.server.state.rejected == [blocked] * count
    bot.server.state.rejected.clear()


def test_a_dead_letter_is_seen_with_its_reason_and_sent_again(desk_bot: BotHarness, browser: WebDriver) -> None:
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    desk_bot.server.block(211)
    row_id = queue_verified(desk_bot, 211, "verified:test")
    dead = wait_for_status(desk_bot, row_id, OutboxStatus.DEAD)
    desk_bot.settle()  # the office is told the message did not get through

    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "outbox")
    counts = browser.find_element(By.CSS_SELECTOR, "p.counts").text
    assert "失败 1 条" in counts and "待发 0 条" in counts
    row = browser.find_element(By.CSS_SELECTOR, f"table.dead tr#outbox-{row_id}").text
    assert "办结已通过" in row and "商务局小王" in row and COMMERCE in row
    assert "对方屏蔽了机器人" in row and "blocked by the user" in row and str(dead.attempts) in row
    sent = browser.find_element(By.CSS_SELECTOR, "table.sent").text
    assert "成员联系不上" in sent and "督办办老李" in sent  # what the office was told, delivered
    screenshot(browser, "outbox-dead")

    browser.get(desk_bot.ctx.desk_url + "people?q=" + urllib.parse.quote(COMMERCE))
    assert "联系不上" in browser.find_element(By.XPATH, "//li[contains(., '商务局小王')]").text

    desk_bot.server.state.blocked.discard(211)  # the person unblocks the bot
    browser.get(desk_bot.ctx.desk_url + "outbox")
    before = len(desk_bot.server.messages(211))
    browser.find_element(By.CSS_SELECTOR, f"tr#outbox-{row_id}").find_element(
        By.XPATH, ".//button[normalize-space()='重发']").click()
    wait_for_text(browser, f"通知 {row_id} 已放回待发队列")
    delivered = desk_bot.server.wait_for(211, after=before)[0]
    assert "推进消费扶贫展销中心运营 <b>&</b>" in delivered["text"]
    sent_row = wait_for_status(desk_bot, row_id, OutboxStatus.SENT)
    assert sent_row.attempts == dead.attempts + 1 and sent_row.last_error == ""

    browser.get(desk_bot.ctx.desk_url + "outbox")
    assert browser.find_elements(By.CSS_SELECTOR, f"table.sent tr#outbox-{row_id}")
    assert not browser.find_elements(By.CSS_SELECTOR, "table.dead")
    assert "失败 0 条" in browser.find_element(By.CSS_SELECTOR, "p.counts").text
    screenshot(browser, "outbox-resent")
    # Reachable again: what the office sends them next reaches them too.
    browser.get(desk_bot.ctx.desk_url + "people?q=" + urllib.parse.quote(COMMERCE))
    assert "联系不上" not in browser.find_element(By.XPATH, "//li[contains(., '商务局小王')]").text
    refused_as_blocked(desk_bot, 1)
    with transaction(desk_bot.engine) as session:
        event = session.exec(select(Event).where(Event.action == "outbox.retried", Event.entity_id == row_id)).one()
        assert (event.actor, event.source) == ("督办办老李", "web")
        assert "blocked" in event.detail["error"] and event.detail["reachable_again"] is True
        assert member_of(session, 211).reachable


def test_only_a_dead_letter_is_sent_again(desk_bot: BotHarness) -> None:
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    row_id = queue_verified(desk_bot, 211, "verified:sent")
    wait_for_status(desk_bot, row_id, OutboxStatus.SENT)
    before = desk_bot.snapshot()
    with pytest.raises(ServiceError, match="不是发送失败的通知（现在是“已发”）"), transaction(desk_bot.engine) as session:
        retry_dead(session, desk_bot.clock, Actor("督办办老李", "web"), row_id)
    assert desk_bot.snapshot() == before


def test_the_lists_are_paged_newest_first(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    desk_bot.server.block(211)
    ids = []
    for number in range(25):
        ids.append(queue_verified(desk_bot, 211, f"verified:{number}"))
        desk_bot.clock.advance(timedelta(minutes=1))
    for row_id in ids:
        wait_for_status(desk_bot, row_id, OutboxStatus.DEAD)
    with transaction(desk_bot.engine) as session:  # one reason spelled out as a refusal of the chat app would
        mark_dead(session, desk_bot.clock, ids[0], "BadRequest: chat not found")

    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "outbox")
    assert "发送失败（25 条）" in page_text(browser)
    shown = [int(tr.get_attribute("id").removeprefix("outbox-"))
             for tr in browser.find_elements(By.CSS_SELECTOR, "table.dead tbody tr")]
    assert shown == sorted(ids, reverse=True)[:20]
    assert "第 1 / 2 页" in page_text(browser)
    press(browser, "下一页")
    wait_for_text(browser, "第 2 / 2 页")
    shown = [int(tr.get_attribute("id").removeprefix("outbox-"))
             for tr in browser.find_elements(By.CSS_SELECTOR, "table.dead tbody tr")]
    assert shown == sorted(ids, reverse=True)[20:]
    assert "BadRequest: chat not found" in browser.find_element(By.CSS_SELECTOR, f"tr#outbox-{ids[0]}").text
    screenshot(browser, "outbox-paged")
    refused_as_blocked(desk_bot, 25)


def test_a_leader_is_refused_the_outbox(desk_bot: BotHarness, browser: WebDriver) -> None:
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    desk_bot.server.block(211)
    row_id = queue_verified(desk_bot, 211, "verified:leader")
    wait_for_status(desk_bot, row_id, OutboxStatus.DEAD)
    leader = desk_bot.join(411, "分管领导老赵", Role.LEADER)
    desk_bot.settle()
    log_in(desk_bot, leader, browser)
    assert "发送状态" not in browser.find_element(By.TAG_NAME, "nav").text
    browser.get(desk_bot.ctx.desk_url + "outbox")
    assert "分管领导）不能使用" in page_text(browser)
    assert "商务局小王" not in page_text(browser)

    cookie = browser_session(browser)
    base = desk_bot.ctx.desk_url.rstrip("/")

    def answer(path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        found = call(base + path, "GET" if form is None else "POST", cookie, form)
        return found.status, found.body

    found = CSRF.search(answer("/ledger")[1])
    assert found
    before = desk_bot.snapshot()
    assert answer("/outbox")[0] == 403
    status, text = answer("/outbox/retry", {"csrf": found.group(1), "id": str(row_id)})
    assert status == 403 and "不能使用" in text
    assert desk_bot.snapshot() == before
    assert row_of(desk_bot, row_id).status == OutboxStatus.DEAD
    refused_as_blocked(desk_bot, 1)
