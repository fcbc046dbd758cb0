"""A task's page: the office sees a unit's photo and decides on the page; the unit hears of it in chat."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait
from sqlmodel import select

from bot.sandbox.server import Person
from tasks.db import transaction
from tasks.models import Assignment, Extension, Report, Role, Task
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


def small_jpeg(color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def chat_texts(bot: BotHarness, chat_id: int, after: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in bot.server.messages(chat_id)[after:]]


def fetch(browser: WebDriver, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    """What the browser gets for ``url`` with its session (a POST of ``form`` when given): status and headers."""
    script = """
        const [url, form, done] = arguments;
        const options = form ? {method: 'POST', body: new URLSearchParams(form), redirect: 'manual'} : {};
        fetch(url, options).then(async r => done({status: r.status, type: r.headers.get('content-type'),
            disposition: r.headers.get('content-disposition'), nosniff: r.headers.get('x-content-type-options'),
            size: (await r.arrayBuffer()).byteLength}));
    """
    return browser.execute_async_script(script, url, form)


def csrf_of(browser: WebDriver) -> str:
    return browser.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value") or ""


def wait_for_images(browser: WebDriver) -> list[int]:
    """The natural widths of the evidence images once each has loaded or failed (0: it failed)."""
    script = "return [...document.querySelectorAll('img.evidence')].map(i => i.complete ? i.naturalWidth : -1)"
    WebDriverWait(browser, 10).until(lambda driver: all(w != -1 for w in driver.execute_script(script)))
    return browser.execute_script(script)


def test_the_office_sees_the_units_photo_and_file_verifies_and_the_unit_is_told(
        desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    before = len(desk_bot.server.messages(commerce.id))
    desk_bot.server.send_document(commerce, b"%PDF-1.4 acceptance", "验收报告 第1版.pdf", "application/pdf",
                                  caption=f"#{task} 验收报告")
    desk_bot.next_message(commerce.id, before)
    before = len(desk_bot.server.messages(commerce.id))
    desk_bot.server.send_photo(commerce, small_jpeg(), caption=f"/done {task} 展销中心已开业")
    assert "已提交任务" in desk_bot.next_message(commerce.id, before)["text"]

    log_in(desk_bot, office, browser)
    press(browser, "待审核")
    wait_for_text(browser, "共 1 项")
    assert "申请办结，附证明材料 1 份" in page_text(browser)
    browser.find_element(By.CSS_SELECTOR, f"a[href^='/task/{task}']").click()
    wait_for_text(browser, "展销中心已开业")
    assert wait_for_images(browser) == [64]  # the photo, fetched from the chat server, really shows
    text = page_text(browser)
    assert "区商务局" in text and "待审核" in text and "牵头" in text
    assert "📎 验收报告 第1版.pdf" in text
    assert "申请办结，等待审核" in text and "导入文档，建立任务" in text  # the history, from the audit events
    screenshot(browser, "task-waiting")

    pdf = browser.find_element(By.PARTIAL_LINK_TEXT, "验收报告").get_attribute("href") or ""
    got = fetch(browser, pdf)
    assert got["status"] == 200 and got["type"] == "application/pdf" and got["nosniff"] == "nosniff"
    assert "filename*=UTF-8''%E9%AA%8C%E6%94%B6%E6%8A%A5%E5%91%8A%20%E7%AC%AC1%E7%89%88.pdf" in got["disposition"]
    photo = browser.find_element(By.CSS_SELECTOR, "img.evidence").get_attribute("src") or ""
    got = fetch(browser, photo)
    assert got["type"] == "image/jpeg" and got["disposition"] is None and got["size"] == len(small_jpeg())

    before = len(desk_bot.server.messages(commerce.id))
    press(browser, "审核通过")
    wait_for_text(browser, f"已审核通过：任务 {task}（区商务局）办结")
    assert "已办结" in page_text(browser) and "审核通过，已办结" in page_text(browser)
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='审核通过']")
    told = desk_bot.server.wait_for(commerce.id, after=before, predicate=lambda m: "已审核通过" in (m.get("text") or ""))
    assert "督办办老李" in told[0]["text"]
    screenshot(browser, "task-verified")


def test_a_report_decided_elsewhere_is_said_so_and_nothing_changes(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    other = desk_bot.join(312, "督办办小张", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    desk_bot.say(commerce, f"/done {task} 展销中心已开业")
    log_in(desk_bot, office, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    wait_for_text(browser, "展销中心已开业")

    assert "已审核通过" in desk_bot.say(other, f"/verify {task}")["text"]  # a colleague, in chat, first
    desk_bot.settle()
    unchanged = desk_bot.snapshot()
    press(browser, "审核通过")  # on the page opened before
    wait_for_text(browser, "已处理（已审核通过），没有做任何改动")
    desk_bot.settle()
    assert desk_bot.snapshot() == unchanged


def test_the_office_sends_back_with_a_reason_only(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    desk_bot.say(commerce, f"/done {task} 展销中心已开业")
    log_in(desk_bot, office, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    wait_for_text(browser, "展销中心已开业")

    desk_bot.settle()
    unchanged = desk_bot.snapshot()
    press(browser, "退回")  # no reason written
    wait_for_text(browser, "退回时请写明理由")
    desk_bot.settle()
    assert desk_bot.snapshot() == unchanged

    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    browser.find_element(By.NAME, "reason").send_keys("请补充开业现场照片")
    before = len(desk_bot.server.messages(commerce.id))
    press(browser, "退回")
    wait_for_text(browser, f"已退回任务 {task}（区商务局）的办结申请")
    text = page_text(browser)
    assert "已退回" in text and "退回理由：请补充开业现场照片" in text and "办理中" in text
    told = desk_bot.server.wait_for(commerce.id, after=before, predicate=lambda m: "被退回" in (m.get("text") or ""))
    assert "请补充开业现场照片" in told[0]["text"]


def test_the_office_approves_an_extension_and_the_unit_is_told(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    desk_bot.say(commerce, f"/extend {task} 2021-11-30 等待验收")
    log_in(desk_bot, office, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    wait_for_text(browser, "等待验收")
    assert "待审批" in page_text(browser)
    screenshot(browser, "task-extension")

    before = len(desk_bot.server.messages(commerce.id))
    press(browser, "同意延期")
    wait_for_text(browser, "新的完成时限 2021-11-30")
    text = page_text(browser)
    assert "已同意" in text and "同意延期至 2021-11-30" in text
    with transaction(desk_bot.engine) as session:
        extended = session.exec(select(Assignment.extended_to).join(Extension, Extension.assignment_id == Assignment.id)
                                ).one()
    assert str(extended) == "2021-11-30"
    units = browser.find_element(By.CSS_SELECTOR, "table.units").text
    assert "2021-11-30" in units
    told = desk_bot.server.wait_for(commerce.id, after=before, predicate=lambda m: "已同意" in (m.get("text") or ""))
    assert "2021-11-30" in told[0]["text"]
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='同意延期']")


def test_a_member_sees_only_their_units_tasks_and_decides_nothing(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    farming = desk_bot.join(212, "农业局小刘", Role.MEMBER, AGRICULTURE)
    exhibition, cattle = desk_bot.task_id(EXHIBITION), desk_bot.task_id(CATTLE)
    desk_bot.say(farming, f"/done {cattle} 养殖场已建成")
    with transaction(desk_bot.engine) as session:
        report = session.exec(select(Report.id)).one()

    log_in(desk_bot, commerce, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{cattle}")
    assert f"任务 {cattle} 不是本单位负责的任务" in page_text(browser)
    assert fetch(browser, f"/task/{cattle}")["status"] == 403

    browser.get(f"{desk_bot.ctx.desk_url}task/{exhibition}")
    wait_for_text(browser, "本单位：办理中")
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='审核通过' or normalize-space()='催办']")
    desk_bot.settle()
    unchanged = desk_bot.snapshot()
    for path, form in ((f"/task/{cattle}/verify", {"report": str(report)}),
                       (f"/task/{exhibition}/verify", {"report": str(report)}),
                       (f"/task/{cattle}/report", {"text": "冒名报送"}),
                       ("/pending", None)):
        got = fetch(browser, path, None if form is None else {**form, "csrf": csrf_of(browser)})
        assert got["status"] == 403, path
    desk_bot.settle()
    assert desk_bot.snapshot() == unchanged


def test_a_member_reports_progress_and_claims_done_on_the_page(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    log_in(desk_bot, commerce, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    wait_for_text(browser, "本单位办理")
    screenshot(browser, "task-member-open")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/report'] textarea").send_keys("已完成布展")
    browser.find_element(By.NAME, "percent").send_keys("60")
    press(browser, "报进展")
    wait_for_text(browser, f"已记录任务 {task} 的进展")
    assert "进展 60%" in page_text(browser) and "已完成布展" in page_text(browser)

    desk_bot.settle()
    before = len(desk_bot.server.messages(office.id))
    browser.find_element(By.CSS_SELECTOR, "form[action$='/done'] textarea").send_keys("展销中心已开业")
    press(browser, "申请办结")
    wait_for_text(browser, f"已提交任务 {task} 的办结申请")
    assert "本单位：待审核" in page_text(browser)
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='申请办结']")
    told = desk_bot.server.wait_for(office.id, after=before, predicate=lambda m: "展销中心已开业" in (m.get("text") or ""))
    assert "商务局小王" in told[0]["text"]
    screenshot(browser, "task-member")


def test_task_text_is_shown_as_text(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    task = desk_bot.task_id(EXHIBITION)
    hostile = '<script>alert(1)</script> & "quotes" <b>粗</b>'
    with transaction(desk_bot.engine) as session:
        row = session.get(Task, task)
        assert row is not None
        row.text = hostile
    desk_bot.say(commerce, f'/done {task} <img src=x onerror=alert(2)> & "done"')
    log_in(desk_bot, office, browser)
    for path in (f"task/{task}", "pending"):
        browser.get(desk_bot.ctx.desk_url + path)
        wait_for_text(browser, "<script>alert(1)</script>")
        assert not browser.find_elements(By.TAG_NAME, "script")
        assert not browser.find_elements(By.XPATH, "//b[normalize-space()='粗']")
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    assert browser.find_element(By.CSS_SELECTOR, ".task-text").text == hostile
    assert '<img src=x onerror=alert(2)> & "done"' in page_text(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")


def test_the_office_refuses_with_a_reason_and_urges(desk_bot: BotHarness, browser: WebDriver) -> None:
    commerce = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    task = desk_bot.task_id(EXHIBITION)
    desk_bot.say(commerce, f"/extend {task} 2021-11-30 等待验收")
    log_in(desk_bot, office, browser)
    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    wait_for_text(browser, "等待验收")

    desk_bot.settle()
    unchanged = desk_bot.snapshot()
    press(browser, "不同意")
    wait_for_text(browser, "不同意延期时请写明理由")
    desk_bot.settle()
    assert desk_bot.snapshot() == unchanged

    browser.get(f"{desk_bot.ctx.desk_url}task/{task}")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/refuse'] input[name=note]").send_keys("该任务为硬性节点")
    before = len(desk_bot.server.messages(commerce.id))
    press(browser, "不同意")
    wait_for_text(browser, "已不同意延期申请")
    assert "未同意" in page_text(browser) and "不同意延期，理由：该任务为硬性节点" in page_text(browser)
    desk_bot.server.wait_for(commerce.id, after=before, predicate=lambda m: "未同意" in (m.get("text") or ""))

    desk_bot.settle()
    before = len(desk_bot.server.messages(commerce.id))
    browser.find_element(By.CSS_SELECTOR, "form[action$='/urge'] input[name=note]").send_keys("请本周内办结")
    press(browser, "催办（1 个未办结单位）")
    wait_for_text(browser, f"已催办任务 {task} 的 1 个未办结单位")
    assert "催办：请本周内办结" in page_text(browser)
    told = desk_bot.server.wait_for(commerce.id, after=before, predicate=lambda m: "请本周内办结" in (m.get("text") or ""))
    assert "督办办老李" in told[0]["text"]
