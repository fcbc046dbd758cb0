"""沙盒 in a browser: a persona's chat against the local Bot API server — messages, buttons, photos, login."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.app import DeskPlan
from bot.config import WebSettings
from bot.sandbox.console import PERSONAS, UNIT_GROUP_TITLE
from bot.web.desk import SandboxDesk
from tasks.clock import FixedClock
from tests.desk import page_text, press, screenshot, wait_for_text
from tests.factories import EXHIBITION
from tests.harness import BotHarness


@pytest.fixture
def sandbox_bot(database_url: str) -> Iterator[BotHarness]:
    """The bot with its desk beside the sandbox's server and personas, bound as the console binds them.
    The harness makes its own server as it starts, so the desk is told it right after (before any page
    is asked for)."""
    sandbox = SandboxDesk(None, list(PERSONAS))
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)),
                         desk=DeskPlan(WebSettings(port=0), sandbox))
    sandbox.server = harness.server
    for persona in PERSONAS:
        if persona.group is None:
            harness.bind(persona.user_id, persona.name, persona.role, persona.unit)
        else:
            harness.bind_group(persona.group, UNIT_GROUP_TITLE, persona.unit or "", persona.user_id)
    yield harness
    harness.stop()
    assert harness.server.state.rejected == []


def say(browser: WebDriver, text: str) -> None:
    field = browser.find_element(By.NAME, "text")
    field.clear()
    field.send_keys(text)
    press(browser, "发送")


def test_a_visitor_plays_a_unit_then_the_office_and_enters_the_desk(sandbox_bot: BotHarness,
                                                                    browser: WebDriver) -> None:
    browser.get(sandbox_bot.ctx.desk_url + "sandbox")
    text = page_text(browser)
    assert "沙盒时间：2021-09-01 09:00" in text
    assert "商务局·王科长" in text and "督办办·赵主任" in text and f"群聊：{UNIT_GROUP_TITLE}" in text
    cookie = browser.get_cookie("taskbot_sandbox_csrf")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    screenshot(browser, "sandbox-personas")

    press(browser, "1. 商务局·王科长")
    wait_for_text(browser, "与机器人私聊")
    say(browser, "我的任务")
    wait_for_text(browser, "发送 /task 编号")
    task = sandbox_bot.task_id(EXHIBITION)
    assert "武川县消费扶贫展销服务中心" in page_text(browser)

    press(browser, str(task))  # the list's button for the task: its card, with what a unit can do
    wait_for_text(browser, "申请延期")
    press(browser, "办结")
    question = sandbox_bot.server.messages(1001)[-1]["text"]
    wait_for_text(browser, question.splitlines()[0])
    say(browser, "展销中心已开业")
    wait_for_text(browser, "等待督办办公室审核")
    assert "展销中心已开业" in page_text(browser)  # the persona's own words, on its side of the chat
    screenshot(browser, "sandbox-chat-unit")

    press(browser, "督办办·赵主任")  # another persona: the office was told, in its own chat
    wait_for_text(browser, "办结申请（区商务局，商务局·王科长）")
    press(browser, "审核通过")
    wait_for_text(browser, "已审核通过")
    screenshot(browser, "sandbox-chat-office")
    assert "✅ 已审核通过" in sandbox_bot.server.messages(1001)[-1]["text"]  # and the unit hears it

    say(browser, "网页")
    wait_for_text(browser, "网页版登录链接")
    browser.find_element(By.PARTIAL_LINK_TEXT, "/login/").click()
    wait_for_text(browser, "以 督办办·赵主任 的身份进入")
    press(browser, "进入")
    wait_for_text(browser, "退出")
    assert "督办办·赵主任" in page_text(browser)
