"""沙盒 in a browser: a persona's chat against the local Bot API server — messages, buttons, photos, login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.app import DeskPlan
from bot.config import WebSettings
from bot.sandbox.console import PERSONAS, UNIT_GROUP, UNIT_GROUP_TITLE
from bot.web.desk import SandboxDesk
from tasks.clock import FixedClock
from tests.desk import call, page_text, press, screenshot, wait_for_text
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


def test_a_notification_reaches_an_open_chat_page_without_a_reload(sandbox_bot: BotHarness,
                                                                    browser: WebDriver) -> None:
    """The page's one script: what another persona's action makes the bot send shows up by itself."""
    browser.get(sandbox_bot.ctx.desk_url + "sandbox/3")
    wait_for_text(browser, "督办办·赵主任")
    assert "办结申请" not in page_text(browser)
    unit = sandbox_bot.server.person(1001, "商务局·王科长")
    card = sandbox_bot.say(unit, f"/task {sandbox_bot.task_id(EXHIBITION)}")
    sandbox_bot.tap(unit, card, "办结")
    sandbox_bot.say(unit, "展销中心已开业")
    wait_for_text(browser, "办结申请（区商务局，商务局·王科长）", timeout=15)


def test_words_are_shown_as_words_and_a_photo_as_a_picture(sandbox_bot: BotHarness, browser: WebDriver,
                                                           tmp_path: Path) -> None:
    browser.get(sandbox_bot.ctx.desk_url + "sandbox/1")
    hostile = '<script>window.hacked = 1</script> & "引号" <b>粗</b>'
    say(browser, hostile)
    wait_for_text(browser, hostile)
    assert browser.execute_script("return window.hacked === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, ".message.me b")  # the persona's tags are words

    picture = tmp_path / "现场.png"
    Image.new("RGB", (120, 80), (200, 60, 40)).save(picture)
    task = sandbox_bot.task_id(EXHIBITION)
    before = len(sandbox_bot.server.messages(1001))  # the bot's messages in the chat so far
    browser.find_element(By.NAME, "photo").send_keys(str(picture))
    browser.find_element(By.NAME, "caption").send_keys(f"#{task} 现场照片")
    press(browser, "发送照片")
    wait_for_text(browser, f"#{task} 现场照片")
    shown = browser.find_element(By.CSS_SELECTOR, ".message.me img.photo")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", shown) == 120
    answer = sandbox_bot.server.wait_for(1001, after=before)[-1]["text"]
    # The bot's answer to the photo, in the chat: shown with the page, or by its poll when the bot
    # took longer than the page waits (a loaded machine).
    wait_for_text(browser, answer.splitlines()[0])
    screenshot(browser, "sandbox-chat-photo")


def test_in_the_group_the_bot_hears_commands_and_replies_only(sandbox_bot: BotHarness, browser: WebDriver) -> None:
    browser.get(sandbox_bot.ctx.desk_url + "sandbox/5")
    wait_for_text(browser, f"群聊：{UNIT_GROUP_TITLE}")
    say(browser, "大家好")
    wait_for_text(browser, "机器人没有收到这句话")
    assert sandbox_bot.server.messages(UNIT_GROUP) == []
    say(browser, "/mytasks")
    wait_for_text(browser, "区农业农村局")
    press(browser, "回复")
    wait_for_text(browser, "回复机器人的这条消息")
    before = len(sandbox_bot.server.messages(UNIT_GROUP))
    say(browser, "收到")
    sandbox_bot.server.wait_for(UNIT_GROUP, after=before)  # a reply to the bot reaches it, and it answers
    screenshot(browser, "sandbox-chat-group")


def test_a_post_needs_the_sandbox_token(sandbox_bot: BotHarness) -> None:
    page = sandbox_bot.ctx.desk_url + "sandbox/1"
    with urlopen(page) as answer:
        cookie = answer.headers["Set-Cookie"].split(";")[0]
        token = cookie.split("=", 1)[1]
        assert f'name="csrf" value="{token}"' in answer.read().decode()
    stored = dict(sandbox_bot.server.state.messages.get(1001) or {})
    for headers, field in (({}, token), ({"Cookie": cookie}, ""), ({"Cookie": cookie}, "x" * 43),
                           ({"Cookie": "taskbot_sandbox_csrf=" + "x" * 43}, token)):
        assert post(page + "/say", headers, {"csrf": field, "text": "我的任务"}) == (403, "页面已过期")
    assert dict(sandbox_bot.server.state.messages.get(1001) or {}) == stored  # nothing said in the chat
    status, _body = post(page + "/say", {"Cookie": cookie}, {"csrf": token, "text": "我的任务"})
    assert status == 303
    # The bot's answer comes when it comes (on a loaded machine, after the redirect): one answer.
    assert len(sandbox_bot.server.wait_for(1001, after=0)) == 1

    # A file said in the chat is offered for download, never served as a page of the desk's own.
    person = sandbox_bot.server.person(1001, "商务局·王科长")
    sandbox_bot.server.send_document(person, b"<script>alert(1)</script>", "说明.html", "text/html",
                                     caption=f"#{sandbox_bot.task_id(EXHIBITION)} 说明")
    sandbox_bot.server.wait_for(1001, after=1)
    with urlopen(page) as answer:
        link = re.search(r'href="(/sandbox/file/\w+)" download>说明.html<', answer.read().decode())
    assert link, "no download link for the file"
    with urlopen(sandbox_bot.ctx.desk_url + link.group(1).lstrip("/")) as answer:
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        assert answer.read() == b"<script>alert(1)</script>"


def test_the_sandbox_pages_are_there_only_beside_the_sandbox(desk_bot: BotHarness) -> None:
    """A desk beside a real bot has no 沙盒. (Its own test: two bots on one database would take
    each other's stored updates from the inbox.)"""
    for path in ("sandbox", "sandbox/1", "sandbox/file/F000001"):
        with pytest.raises(HTTPError) as refused:
            urlopen(desk_bot.ctx.desk_url + path)
        assert refused.value.code == 404 and "只在本地沙盒运行时提供" in refused.value.read().decode()
    assert post(desk_bot.ctx.desk_url + "sandbox/1/say", {}, {"csrf": "", "text": "x"})[0] == 404


def post(url: str, headers: dict[str, str], fields: dict[str, str]) -> tuple[int, str]:
    """The status of a form POST made outside the page, and the first words of its refusal."""
    answer = call(url, "POST", None, fields, headers=headers)
    found = re.search(r'role="alert">(.{5})', answer.body)
    return answer.status, (found.group(1) if found else answer.body[:80]) if answer.status >= 400 else ""
