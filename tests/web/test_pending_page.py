"""待审核: what waits for the office, oldest first, each opening its task's page where it is decided."""

from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.sandbox.server import Person
from tasks.models import Role
from tests.desk import log_in as open_link
from tests.desk import page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

AGRICULTURE = "区农业农村局"
CATTLE = "project:内蒙古武川县:西乌兰不浪镇红山子村养殖产业扶持项目"  # 区农业农村局's, due 2021-10-31


def log_in(bot: BotHarness, person: Person, browser: WebDriver) -> None:
    """Log in and wait for the desk's own page: the login page names the person too."""
    open_link(bot, person, browser)
    wait_for_text(browser, "退出")


def rows(browser: WebDriver) -> list[list[str]]:
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "table.pending tbody tr")]


def test_the_office_sees_what_waits_oldest_first_and_opens_it(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    farming = desk_bot.join(212, "农业局小刘", Role.MEMBER, AGRICULTURE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    exhibition, cattle = desk_bot.task_id(EXHIBITION), desk_bot.task_id(CATTLE)

    log_in(desk_bot, office, browser)
    press(browser, "待审核")
    wait_for_text(browser, "没有待审核的办结申请或延期申请")
    screenshot(browser, "pending-empty")

    desk_bot.say(farming, f"/extend {cattle} 2021-11-30 肉牛采购推迟")  # asked first
    desk_bot.clock.advance(timedelta(hours=22))  # the next morning: the office's session of yesterday has ended
    desk_bot.say(commerce, f"/done {exhibition} 展销中心已开业")
    log_in(desk_bot, office, browser)
    press(browser, "待审核")
    wait_for_text(browser, "共 2 项，先提交的在前")
    listed = rows(browser)
    assert [row[0].split()[0] for row in listed] == [str(cattle), str(exhibition)]
    assert listed[0][1] == AGRICULTURE and "申请延期至 2021-11-30" in listed[0][2] and listed[0][3] == "农业局小刘"
    assert "2021-09-01 09:00 （昨天）" in listed[0][4]
    assert listed[1][1] == COMMERCE and "申请办结" in listed[1][2] and "2021-09-02 07:00 （今天）" in listed[1][4]
    screenshot(browser, "pending")

    browser.find_element(By.CSS_SELECTOR, f"a[href^='/task/{cattle}']").click()
    wait_for_text(browser, "肉牛采购推迟")
    assert f"/task/{cattle}#extension-" in browser.current_url
    press(browser, "同意延期")
    wait_for_text(browser, "已同意延期申请")
    press(browser, "待审核")
    wait_for_text(browser, "共 1 项")
    assert [row[1] for row in rows(browser)] == [COMMERCE]


def test_only_the_office_has_the_list(desk_bot: BotHarness, browser: WebDriver) -> None:
    leader = desk_bot.join(411, "分管领导老王", Role.LEADER)
    log_in(desk_bot, leader, browser)
    assert "待审核" not in browser.find_element(By.CSS_SELECTOR, "header nav").text
    browser.get(desk_bot.ctx.desk_url + "pending")
    assert "不能使用这个页面" in page_text(browser)
