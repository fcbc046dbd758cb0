"""台账 in Chromium: filters, paging, search, a member's own unit only, and the Excel download."""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from datetime import date, timedelta

from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlalchemy import text

from tasks.models import Role
from tests.desk import browser_session, call, log_in, page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE
from tests.harness import BotHarness

TODAY = date(2021, 9, 1)  # the desk_bot's clock, in Beijing
# Every live row of the latest plan, read straight from the tables: (assignment, task, unit, status, due, text).
ROWS = """
    SELECT a.id, a.task_id, u.name, a.status, a.due_on, t.text, a.unit_id
    FROM assignment a JOIN task t ON t.id = a.task_id JOIN unit u ON u.id = a.unit_id
    WHERE a.status <> 'withdrawn'
      AND t.plan_id = (SELECT id FROM plan ORDER BY imported_at DESC, id DESC LIMIT 1)
"""


def live_rows(bot: BotHarness) -> list[tuple]:
    with bot.engine.connect() as connection:
        rows = connection.execute(text(ROWS)).all()
    return [(a, t, u, s, d if isinstance(d, date) or d is None else date.fromisoformat(d), x, unit)
            for a, t, u, s, d, x, unit in rows]


def is_overdue(row: tuple) -> bool:
    return row[3] in ("open", "reported") and row[4] is not None and row[4] < TODAY


def unit_id(bot: BotHarness, name: str) -> int:
    with bot.engine.connect() as connection:
        return connection.execute(text("SELECT id FROM unit WHERE name = :n"), {"n": name}).scalar_one()


def shown_ids(browser: WebDriver) -> list[int]:
    return [int(row.get_attribute("data-assignment"))
            for row in browser.find_elements(By.CSS_SELECTOR, "table.ledger tbody tr")]


def red_ids(browser: WebDriver) -> set[int]:
    return {int(row.get_attribute("data-assignment"))
            for row in browser.find_elements(By.CSS_SELECTOR, "table.ledger tbody tr.overdue")}


def test_the_office_filters_by_unit_and_overdue_and_downloads_those_rows(desk_bot: BotHarness,
                                                                         browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    rows = live_rows(desk_bot)
    late = [row for row in rows if is_overdue(row)]
    assert late, "the seed plan has overdue rows on 2021-09-01"
    # The unit with the most overdue rows, and its rows that are.
    busiest = max({row[2] for row in late}, key=lambda name: (sum(r[2] == name for r in late), name))
    expected = {row[0] for row in late if row[2] == busiest}
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "ledger")
    Select(browser.find_element(By.NAME, "unit")).select_by_visible_text(busiest)
    browser.find_element(By.NAME, "overdue").click()
    press(browser, "筛选")
    wait_for_text(browser, f"台账 · {busiest}")
    assert f"unit={unit_id(desk_bot, busiest)}" in browser.current_url and "overdue=1" in browser.current_url
    assert set(shown_ids(browser)) == expected and len(shown_ids(browser)) == len(expected)
    assert red_ids(browser) == expected  # every one of them is a red row
    assert f"共 {len(expected)} 行" in page_text(browser)
    screenshot(browser, "ledger-unit-overdue")

    # Most overdue first when sorted by days overdue.
    Select(browser.find_element(By.NAME, "sort")).select_by_visible_text("逾期天数")
    press(browser, "筛选")
    wait_for_text(browser, "共")
    dues = {row[0]: row[4] for row in rows}
    shown = shown_ids(browser)
    assert [dues[i] for i in shown] == sorted(dues[i] for i in expected)

    # 导出 Excel: the same XLSX as taskbot export, narrowed to the unit and overdue: one row per row shown.
    link = browser.find_element(By.LINK_TEXT, "导出 Excel").get_attribute("href")
    assert "/ledger/export.xlsx?" in link and "overdue=1" in link
    download = call(desk_bot.ctx.desk_url + link.split("/", 3)[3], "GET", browser_session(browser))
    content, headers = download.data, download.headers
    # Named as /export in chat names it (台账-YYYY-MM-DD.xlsx).
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6-2021-09-01.xlsx" in headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(content))["任务清单"]
    header = [cell.value for cell in sheet[2]]
    number, lead, co = header.index("编号"), header.index("牵头单位"), header.index("配合单位")
    found, current = [], None
    for line in sheet.iter_rows(min_row=3, values_only=True):
        current = line[number] if line[number] is not None else current
        unit = line[lead] or line[co]
        if unit:
            found.append((int(current), unit))
    by_id = {row[0]: row for row in rows}
    assert sorted(found) == sorted((by_id[i][1], by_id[i][2]) for i in expected)


def test_paging_reaches_every_row_once_and_search_finds_text(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    rows = live_rows(desk_bot)
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "ledger")
    seen: list[int] = []
    pages = -(-len(rows) // 50)
    assert pages > 2
    assert f"第 1 / {pages} 页" in page_text(browser)
    screenshot(browser, "ledger-all")
    red = set()
    for number in range(1, pages + 1):
        wait_for_text(browser, f"第 {number} / {pages} 页")
        seen += shown_ids(browser)
        red |= red_ids(browser)
        if number < pages:
            press(browser, "下一页")
    assert "下一页" not in page_text(browser)
    assert len(seen) == len(set(seen)) == len(rows)
    assert set(seen) == {row[0] for row in rows}
    assert red == {row[0] for row in rows if is_overdue(row)}
    ordered = {row[0]: row[1] for row in rows}
    assert [ordered[i] for i in seen] == sorted(ordered[i] for i in seen)  # by task number

    # By deadline (none last), and by days overdue (the late first, most overdue first, then by
    # deadline): every row once, in that order, page after page.
    def by_deadline(row: tuple) -> tuple:
        return (row[4] is None, row[4] or TODAY, row[1], row[6])

    for sort, key in (("deadline", by_deadline), ("late", lambda row: (not is_overdue(row), *by_deadline(row)))):
        walked: list[int] = []
        for number in range(1, pages + 1):
            browser.get(desk_bot.ctx.desk_url + f"ledger?sort={sort}&page={number}")
            wait_for_text(browser, f"第 {number} / {pages} 页")
            walked += shown_ids(browser)
        assert walked == [row[0] for row in sorted(rows, key=key)], sort

    word = "消费扶贫"
    expected = {row[0] for row in rows if word in row[5]}
    assert 0 < len(expected) < len(rows)
    box = browser.find_element(By.NAME, "q")
    box.clear()
    box.send_keys(word)
    press(browser, "筛选")
    wait_for_text(browser, f"共 {len(expected)} 行")
    assert set(shown_ids(browser)) == expected
    screenshot(browser, "ledger-search")

    # A task's text is shown as text, and a row links to its task's page.
    first = browser.find_element(By.CSS_SELECTOR, "table.ledger tbody tr td a")
    assert first.get_attribute("href").endswith(f"/task/{ordered[shown_ids(browser)[0]]}")


def add_last_years_plan(bot: BotHarness) -> None:
    """An older plan with a duty of every unit, due within the days asked below: not the ledger's."""
    with bot.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO plan (year, title, source, source_sha256, imported_at) "
            "VALUES (2020, '去年的计划', '', '', '2020-01-01 00:00:00')"))
        plan = connection.execute(text("SELECT id FROM plan WHERE year = 2020")).scalar_one()
        connection.execute(text(
            "INSERT INTO task (plan_id, ref, kind, number, position, text, deadline_text, officials, status, "
            "created_at, updated_at) VALUES (:p, 'old', 'task', '1', 0, '去年的任务', '', '', 'active', "
            "'2020-01-01 00:00:00', '2020-01-01 00:00:00')"), {"p": plan})
        task = connection.execute(text("SELECT id FROM task WHERE ref = 'old'")).scalar_one()
        connection.execute(text(
            "INSERT INTO assignment (task_id, unit_id, role, position, status, due_on, created_at, updated_at) "
            "SELECT :t, id, 'lead', 0, 'open', :d, '2020-01-01 00:00:00', '2020-01-01 00:00:00' FROM unit"),
            {"t": task, "d": TODAY + timedelta(days=3)})


def test_within_days_and_a_group_of_units(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    add_last_years_plan(desk_bot)
    rows = live_rows(desk_bot)
    assert all("去年" not in row[5] for row in rows)
    log_in(desk_bot, office, browser)
    end = TODAY + timedelta(days=60)
    expected = {row[0] for row in rows if row[3] in ("open", "reported") and row[4] and TODAY <= row[4] <= end}
    browser.get(desk_bot.ctx.desk_url + "ledger?within=60")
    wait_for_text(browser, f"共 {len(expected)} 行")
    seen = shown_ids(browser)
    while "下一页" in page_text(browser):
        press(browser, "下一页")
        wait_for_text(browser, "共")
        seen += shown_ids(browser)
    assert set(seen) == expected and len(seen) == len(expected)

    with desk_bot.engine.connect() as connection:
        group, members = connection.execute(text(
            "SELECT g.id, count(*) FROM unit g JOIN groupmember m ON m.group_id = g.id "
            "WHERE g.kind = 'group' GROUP BY g.id ORDER BY count(*) DESC")).first()
        names = set(connection.execute(text(
            "SELECT u.name FROM groupmember m JOIN unit u ON u.id = m.member_id WHERE m.group_id = :g"),
            {"g": group}).scalars())
    wanted = {row[0] for row in rows if row[2] in names}
    assert members > 1 and wanted
    browser.get(desk_bot.ctx.desk_url + f"ledger?unit={group}")
    wait_for_text(browser, f"共 {len(wanted)} 行")


def test_a_member_sees_only_their_own_unit_whatever_the_link_asks(desk_bot: BotHarness, browser: WebDriver) -> None:
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    rows = live_rows(desk_bot)
    own = {row[0] for row in rows if row[2] == COMMERCE}
    other = next(row[2] for row in rows if row[2] != COMMERCE)
    log_in(desk_bot, member, browser)
    browser.get(desk_bot.ctx.desk_url + f"ledger?unit={unit_id(desk_bot, other)}&team=1")
    wait_for_text(browser, f"台账 · {COMMERCE}")
    assert set(shown_ids(browser)) == own and len(own) <= 50
    assert f"共 {len(own)} 行" in page_text(browser)
    assert "导出 Excel" not in page_text(browser)  # 导出 is the office's and leadership's
    assert browser.find_elements(By.NAME, "unit") == []
    screenshot(browser, "ledger-member")
    browser.get(desk_bot.ctx.desk_url + "ledger/export.xlsx")
    wait_for_text(browser, "不能使用")


def test_a_tasks_text_is_shown_as_written(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    written = '<script>window.hit = 1</script> & "引号" <b>粗</b>'
    with desk_bot.engine.begin() as connection:
        connection.execute(text("UPDATE task SET text = :t WHERE id = (SELECT min(task_id) FROM assignment)"),
                           {"t": written})
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "ledger?" + urllib.parse.urlencode({"q": "<script>"}))
    wait_for_text(browser, "共")
    assert written in page_text(browser)
    assert browser.execute_script("return window.hit === undefined")
    assert browser.find_element(By.NAME, "q").get_attribute("value") == "<script>"
