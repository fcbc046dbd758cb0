"""总览 in Chromium: the rate the database gives, lights with the chat's legend, links into the ledger,
and the digest's chart as a PNG."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import text
from sqlmodel import select

from bot.phone import LEGEND
from tasks.clock import FixedClock
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.db import transaction
from tasks.models import Member, Role
from tasks.notifications import NotificationKind, parse_payload
from tasks.outbox import enqueue
from tests.desk import browser_session, call, log_in, page_text, screenshot, wait_for_text
from tests.factories import COMMERCE
from tests.harness import BotHarness

TODAY = date(2021, 9, 1)


def unit_lights(bot: BotHarness) -> tuple[int, int, dict[str, str]]:
    """(assignments, done, each unit's light) counted from the assignments themselves: red when one
    is open and past its deadline, yellow when one waits for verification or is due within 7 days."""
    with bot.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT u.name, a.status, a.due_on FROM assignment a JOIN unit u ON u.id = a.unit_id "
            "WHERE a.status <> 'withdrawn'")).all()
    lights: dict[str, str] = {}
    rank = {"green": 0, "yellow": 1, "red": 2}
    for name, status, due in rows:
        due = due if isinstance(due, date) or due is None else date.fromisoformat(due)
        light = "green"
        if status in ("open", "reported") and due is not None and due < TODAY:
            light = "red"
        elif status == "reported" or (status == "open" and due is not None and due <= TODAY + timedelta(days=7)):
            light = "yellow"
        if rank[light] >= rank[lights.get(name, "green")]:
            lights[name] = light
    return len(rows), sum(status == "done" for _n, status, _d in rows), lights


def test_the_overview_shows_the_rate_and_each_units_light_with_the_legend(desk_bot: BotHarness,
                                                                          browser: WebDriver) -> None:
    # One duty done, so the rate is not zero.
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    with desk_bot.engine.begin() as connection:
        connection.execute(text("UPDATE assignment SET status = 'done' WHERE id IN "
                                "(SELECT id FROM assignment WHERE status = 'open' ORDER BY id LIMIT 40)"))
    _total, _done, before = unit_lights(desk_bot)
    green = sorted(name for name, light in before.items() if light == "green")[0]
    with desk_bot.engine.begin() as connection:  # and one waits for verification: its unit turns yellow
        connection.execute(text(
            "UPDATE assignment SET status = 'reported' WHERE id = (SELECT min(a.id) FROM assignment a "
            "JOIN unit u ON u.id = a.unit_id WHERE u.name = :n AND a.status = 'open')"), {"n": green})
    total, done, lights = unit_lights(desk_bot)
    assert lights[green] == "yellow"
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "overview")
    wait_for_text(browser, "完成率")
    assert browser.find_element(By.ID, "rate").text == f"{done / total:.0%}"
    assert f"合计 {total} 项分工，已办结 {done}" in page_text(browser)
    # The chat's legend, word for word, each light a dot of its colour.
    legend = browser.find_element(By.ID, "legend")
    assert legend.text.split("；")[0].replace("●", " ").split() == [part[1:] for part in LEGEND.split()]
    assert [d.get_attribute("class") for d in legend.find_elements(By.CLASS_NAME, "dot")] == \
        ["dot light-red", "dot light-yellow", "dot light-green"]
    shown = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "table.tallies tbody tr"):
        link = row.find_element(By.CSS_SELECTOR, "td a")
        if "unit=" in link.get_attribute("href"):
            shown[link.text] = row.get_attribute("data-light")
    assert shown == lights
    assert {"red", "yellow"} <= set(shown.values())
    screenshot(browser, "overview")

    # A unit's name opens the ledger filtered to it.
    browser.find_element(By.LINK_TEXT, COMMERCE).click()
    wait_for_text(browser, f"台账 · {COMMERCE}")
    assert "unit=" in browser.current_url

    chart = call(desk_bot.ctx.desk_url + "overview/chart.png", "GET", browser_session(browser))
    assert chart.headers["Content-Type"] == "image/png"
    assert chart.data.startswith(b"\x89PNG\r\n\x1a\n")
    browser.get(desk_bot.ctx.desk_url + "overview")
    wait_for_text(browser, "周报图表")
    loaded = browser.execute_script("const i = document.querySelector('img.chart'); return i.complete && i.naturalWidth")
    assert loaded and loaded > 300


def test_a_member_has_no_overview(desk_bot: BotHarness, browser: WebDriver) -> None:
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    log_in(desk_bot, member, browser)
    browser.get(desk_bot.ctx.desk_url + "overview")
    wait_for_text(browser, "不能使用")
    browser.get(desk_bot.ctx.desk_url + "overview/chart.png")
    wait_for_text(browser, "不能使用")


def test_the_trend_has_a_point_for_each_weeks_digest_as_sent(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    week_ago = datetime(2021, 8, 25, 1, 0, tzinfo=UTC)
    with transaction(desk_bot.engine) as session:
        member = session.exec(select(Member).where(Member.user_id == 311)).one()
        stored = weekly_digest(session, TODAY - timedelta(days=7), Policy())
        stored["total"]["overdue"], stored["total"]["rate"] = 77, 0.25  # what leadership was told that week
        enqueue(session, FixedClock(week_ago), member, NotificationKind.DIGEST,
                parse_payload(NotificationKind.DIGEST, stored), "digest:test")
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "overview")
    wait_for_text(browser, "逾期趋势")
    weeks = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
             for row in browser.find_elements(By.CSS_SELECTOR, "table.trend tbody tr")]
    assert weeks[0] == ["2021-08-25", "77", "25%"]
    assert weeks[1][0] == "2021-09-01" and len(weeks) == 2
