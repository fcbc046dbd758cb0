"""Entering the desk: a single-use link from chat, a signed HttpOnly session cookie, logging out."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from selenium.webdriver.remote.webdriver import WebDriver
from sqlmodel import select

from tasks.db import transaction
from tasks.models import Role, WebSession
from tests.desk import call, chat_link, log_in, page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE
from tests.harness import BotHarness


def test_a_person_enters_with_the_link_from_chat_once_and_leaves(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    browser.get(desk_bot.ctx.desk_url)
    assert "/web" in page_text(browser)  # not logged in: told how to get in

    link = chat_link(desk_bot, office)
    browser.get(link)
    wait_for_text(browser, "督办办老李")
    screenshot(browser, "login")
    press(browser, "进入")
    wait_for_text(browser, "退出")
    cookie = browser.get_cookie("taskbot_desk")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and "expiry" in cookie

    browser.get(link)  # a second use of the same link
    assert "已用过" in page_text(browser)

    browser.get(desk_bot.ctx.desk_url)
    press(browser, "退出")
    wait_for_text(browser, "/web")
    browser.get(desk_bot.ctx.desk_url + "ledger")
    assert "请先登录" in page_text(browser)


def test_a_link_is_good_for_ten_minutes_and_only_in_a_private_chat(desk_bot: BotHarness, browser: WebDriver) -> None:
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    link = chat_link(desk_bot, member)
    desk_bot.clock.advance(timedelta(minutes=11))
    browser.get(link)
    assert "已过期" in page_text(browser)
    log_in(desk_bot, member, browser)  # a new one works
    assert "商务局小王" in page_text(browser)


def test_a_link_pressed_many_times_at_once_opens_one_session(desk_bot: BotHarness) -> None:
    """Eight presses of 进入 on one link at the same moment (a double click, a copied link): one session."""
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    link = chat_link(desk_bot, office)
    start = threading.Barrier(8)

    def press_once(_: int) -> int:
        start.wait()
        return call(link, "POST", None).status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(press_once, range(8)))
    assert statuses == [303] + [400] * 7
    with transaction(desk_bot.engine) as session:
        assert len(session.exec(select(WebSession)).all()) == 1


def test_a_page_elsewhere_cannot_log_a_browser_in_with_its_own_link(desk_bot: BotHarness) -> None:
    """The 进入 form has no session to carry a CSRF token: a POST from another site's page (its Origin,
    or "null" from a sandboxed frame) is refused, and the link stays unused for its owner."""
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    link = chat_link(desk_bot, office)
    for origin in ("https://evil.example", "null"):
        assert call(link, "POST", None, headers={"Origin": origin}).status == 403
    assert call(link, "POST", None, headers={"Origin": desk_bot.ctx.desk_url.rstrip("/")}).status == 303
