"""单位与人员: the directory with who is bound, an invite made on the page and redeemed in chat, a code
revoked, a person unbound whose own desk session then ends; a leader may not see or change any of it."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlmodel import select

from tasks.db import transaction
from tasks.models import Event, Member, Role, Unit
from tests.desk import Answer, browser_session, call, chat_link, log_in, page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE
from tests.harness import BotHarness

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class DeskClient:
    """A second browser for one person, as plain HTTP with their session cookie."""

    base: str
    cookie: str = ""

    def open(self, path: str, form: dict[str, str] | None = None) -> Answer:
        url = self.base.rstrip("/") + path if path.startswith("/") else path
        answer = call(url, "GET" if form is None else "POST", self.cookie or None, form)
        cookie = answer.headers.get("Set-Cookie", "")
        if cookie:
            self.cookie = cookie.split(";", 1)[0].split("=", 1)[1]
        return answer

    def log_in(self, link: str) -> None:
        """As the login page's 进入 does: POST the link; the session cookie comes with the redirect."""
        answer = self.open(link, {})
        assert answer.status == 303 and self.cookie, answer

    def csrf(self, path: str) -> str:
        found = CSRF.search(self.open(path).body)
        assert found
        return found.group(1)


def unit_row(browser: WebDriver, unit: str) -> str:
    return browser.find_element(By.XPATH, f"//tr[.//strong[normalize-space()='{unit}']]").text


def test_office_invites_a_person_who_binds_in_chat_and_is_unbound_with_their_session(
        desk_bot: BotHarness, browser: WebDriver) -> None:
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    desk_bot.join(212, "<script>alert(1)</script>&\"小李\"", Role.MEMBER, COMMERCE)
    desk_bot.bind_group(-1001234, "商务局工作群", COMMERCE, 211)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)

    browser.get(desk_bot.ctx.desk_url + "people")
    row = unit_row(browser, COMMERCE)
    assert "商务局工作群 单位群" in row
    assert "商务局小王" in row and "责任单位成员" in row and "2021-09-01 绑定" in row
    assert "<script>alert(1)</script>&\"小李\"" in row  # a name is shown as it was typed, not run
    office_line = browser.find_element(By.XPATH, "//li[contains(., '督办办老李')]").text
    assert "督办办公室" in office_line and "您本人" in office_line and "解除绑定" not in office_line
    screenshot(browser, "people-directory")

    browser.find_element(By.NAME, "q").send_keys("商务")
    press(browser, "查找")
    wait_for_text(browser, "找到")
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.units td:first-child strong")]
    found, total = map(int, re.search(r"找到 (\d+) 个，共 (\d+) 个", page_text(browser)).groups())
    assert COMMERCE in names and len(names) == found < total, names
    screenshot(browser, "people-search")
    Select(browser.find_element(By.NAME, "bound")).select_by_visible_text("有人绑定的")
    press(browser, "查找")
    wait_for_text(browser, "找到 1 个")
    assert [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.units td:first-child strong")
            ] == [COMMERCE]

    Select(browser.find_element(By.NAME, "unit")).select_by_visible_text(COMMERCE)
    Select(browser.find_element(By.NAME, "role")).select_by_visible_text("责任单位成员")
    press(browser, "生成邀请码")
    wait_for_text(browser, "前使用")
    code = browser.find_element(By.CSS_SELECTOR, ".code code").text.removeprefix("/start ").strip()
    assert f"{COMMERCE} 责任单位成员的邀请码" in page_text(browser)
    link = f"https://t.me/taskbot_sandbox_bot?start={code}"
    assert link in page_text(browser)
    qr = browser.find_element(By.CSS_SELECTOR, "figure.qr svg")
    assert qr.size["width"] > 80 and qr.find_elements(By.TAG_NAME, "path")
    screenshot(browser, "people-invite")

    newcomer = desk_bot.server.person(213, "商务局小张")
    assert "绑定成功" in desk_bot.say(newcomer, f"/start {code}")["text"]
    browser.get(desk_bot.ctx.desk_url + f"people/invite/{code}")
    assert "已被使用" in page_text(browser) and not browser.find_elements(By.CSS_SELECTOR, "svg")
    browser.get(desk_bot.ctx.desk_url + "people?q=" + urllib.parse.quote(COMMERCE))
    assert "商务局小张" in unit_row(browser, COMMERCE)
    assert code not in page_text(browser)  # no longer among the open codes

    # The newcomer opens the desk in their own browser.
    theirs = DeskClient(desk_bot.ctx.desk_url)
    theirs.log_in(chat_link(desk_bot, newcomer))
    assert theirs.open("/ledger").status == 200

    browser.find_element(By.XPATH, "//li[contains(., '商务局小张')]//a[normalize-space()='解除绑定']").click()
    wait_for_text(browser, "确定解除 商务局小张")
    screenshot(browser, "people-unbind")
    press(browser, "确定解除绑定")
    wait_for_text(browser, "已解除 商务局小张 的绑定")
    browser.get(desk_bot.ctx.desk_url + "people?q=" + urllib.parse.quote(COMMERCE))
    row = unit_row(browser, COMMERCE)
    assert "商务局小张" not in row and "商务局小王" in row

    refused = theirs.open("/ledger")
    assert refused.status == 401 and "请先登录" in refused.body
    with transaction(desk_bot.engine) as session:
        member = session.exec(select(Member).where(Member.user_id == 213)).one()
        assert not member.active
        event = session.exec(select(Event).where(Event.action == "member.unbound", Event.entity_id == member.id)).one()
        assert (event.actor, event.source) == ("督办办老李", "web")


def test_an_open_code_is_revoked_from_the_list(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "people")
    Select(browser.find_element(By.NAME, "role")).select_by_visible_text("督办办公室")
    press(browser, "生成邀请码")
    wait_for_text(browser, "督办办公室的邀请码")
    code = browser.find_element(By.CSS_SELECTOR, ".code code").text.removeprefix("/start ").strip()

    browser.get(desk_bot.ctx.desk_url + "people")
    invite_row = browser.find_element(By.XPATH, f"//tr[.//code[normalize-space()='{code}']]")
    assert "督办办公室" in invite_row.text and "督办办老李" in invite_row.text
    invite_row.find_element(By.XPATH, ".//button[normalize-space()='撤销']").click()
    wait_for_text(browser, f"邀请码 {code} 已撤销")
    assert code not in page_text(browser).split("已撤销")[1]

    colleague = desk_bot.server.person(312, "督办办小周")
    assert "撤销" in desk_bot.say(colleague, f"/start {code}")["text"]
    with transaction(desk_bot.engine) as session:
        assert session.exec(select(Member).where(Member.user_id == 312)).first() is None


def test_an_office_member_may_not_invite_a_leader(desk_bot: BotHarness, browser: WebDriver) -> None:
    """The roles offered are the ones /invite allows this person; a forged one is refused by the same rule."""
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "people")
    offered = [option.text for option in Select(browser.find_element(By.NAME, "role")).options]
    assert offered == ["责任单位成员", "督办办公室"]

    client = DeskClient(desk_bot.ctx.desk_url, cookie=browser_session(browser))
    before = desk_bot.snapshot()
    answer = client.open("/people/invite", {"csrf": client.csrf("/people"), "role": "leader", "unit": ""})
    assert answer.status == 400 and "您无权邀请分管领导" in answer.body
    assert desk_bot.snapshot() == before


def test_a_leader_is_refused_the_page_and_its_actions(desk_bot: BotHarness, browser: WebDriver) -> None:
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    leader = desk_bot.join(411, "分管领导老赵", Role.LEADER)
    log_in(desk_bot, leader, browser)
    assert "单位与人员" not in browser.find_element(By.TAG_NAME, "nav").text
    browser.get(desk_bot.ctx.desk_url + "people")
    assert "分管领导）不能使用" in page_text(browser)

    client = DeskClient(desk_bot.ctx.desk_url, cookie=browser_session(browser))
    csrf = client.csrf("/ledger")
    with transaction(desk_bot.engine) as session:
        member_id = session.exec(select(Member.id).where(Member.user_id == member.id)).one()
    before = desk_bot.snapshot()
    assert client.open("/people").status == 403
    for path, form in (("/people/invite", {"role": "member", "unit": ""}), (f"/people/unbind/{member_id}", {}),
                       ("/people/revoke", {"code": "x"}), (f"/people/mobile/{member_id}", {"mobile": "13800138000"})):
        answer = client.open(path, {"csrf": csrf, **form})
        assert answer.status == 403 and "不能使用" in answer.body, path
    assert client.open(f"/people/unbind/{member_id}").status == 403
    assert client.open(f"/people/mobile/{member_id}").status == 403
    assert desk_bot.snapshot() == before


def binding_line(browser: WebDriver, name: str) -> str:
    return browser.find_element(By.XPATH, f"//li[contains(@class, 'binding')][.//span[@class='who'][normalize-space()='{name}']]").text


def test_the_office_keeps_a_members_mobile_number_and_sees_each_ones_platform(
        desk_bot: BotHarness, browser: WebDriver) -> None:
    """The number a group robot @s, given on the desk as /mobile gives it in chat; whose number the
    office may give follows who it may unbind, and each binding says where the person is reached."""
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    desk_bot.join(411, "分管领导老赵", Role.LEADER)
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    with transaction(desk_bot.engine) as session:
        commerce = session.exec(select(Unit).where(Unit.name == COMMERCE)).one()
        session.add(Member(channel="dingtalk", user_id="staff-7", address="user:staff-7", name="商务局小赵",
                           role=Role.MEMBER, unit_id=commerce.id, created_at=desk_bot.clock.now()))
        session.add(Member(channel="dingtalk", user_id=None, address="robot:商务局群", name="商务局群",
                           role=Role.MEMBER, unit_id=commerce.id, created_at=desk_bot.clock.now()))
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "people")
    assert "Telegram" in binding_line(browser, "商务局小王") and "钉钉" in binding_line(browser, "商务局小赵")
    robot_line = binding_line(browser, "商务局群")
    assert "群机器人" in robot_line and "钉钉" in robot_line and "手机号" not in robot_line
    assert "手机号" not in binding_line(browser, "分管领导老赵")  # the office cannot change how a leader is reached
    assert "登记手机号" in binding_line(browser, "督办办老李")  # one's own, always

    browser.find_element(By.XPATH, "//li[contains(., '商务局小王')]//a[normalize-space()='登记手机号']").click()
    wait_for_text(browser, "还没有登记手机号")
    browser.find_element(By.NAME, "mobile").send_keys("12345")
    press(browser, "保存")
    wait_for_text(browser, "不是手机号码")
    with transaction(desk_bot.engine) as session:
        assert session.exec(select(Member.mobile).where(Member.user_id == str(member.id))).one() is None

    browser.back()
    field = browser.find_element(By.NAME, "mobile")
    field.clear()
    field.send_keys("+86 138 0013 8000")
    press(browser, "保存")
    wait_for_text(browser, "已登记 商务局小王 的手机号 138****8000")
    assert "手机 138****8000" in binding_line(browser, "商务局小王")
    assert "13800138000" not in page_text(browser)  # the page shows the number masked, as chat does
    screenshot(browser, "people-mobile")
    with transaction(desk_bot.engine) as session:
        kept = session.exec(select(Member).where(Member.user_id == str(member.id))).one()
        assert kept.mobile == "13800138000"
        event = session.exec(select(Event).where(Event.action == "member.mobile_set", Event.entity_id == kept.id)).one()
        assert (event.actor, event.source, event.detail["mobile"]) == ("督办办老李", "web", "138****8000")

    browser.find_element(By.XPATH, "//li[contains(., '商务局小王')]//a[normalize-space()='更改手机号']").click()
    wait_for_text(browser, "现登记的手机号：138****8000")
    press(browser, "删除手机号")
    wait_for_text(browser, "已删除 商务局小王 的手机号")
    with transaction(desk_bot.engine) as session:
        assert session.exec(select(Member.mobile).where(Member.user_id == str(member.id))).one() is None
        leader_id, robot_id = (session.exec(select(Member.id).where(Member.name == name)).one()
                               for name in ("分管领导老赵", "商务局群"))

    client = DeskClient(desk_bot.ctx.desk_url, cookie=browser_session(browser))
    before = desk_bot.snapshot()
    for target, refused in ((leader_id, "您无权更改分管领导的手机号"), (robot_id, "群聊和群机器人没有手机号")):
        answer = client.open(f"/people/mobile/{target}", {"csrf": client.csrf("/people"), "mobile": "13800138000"})
        assert answer.status == 400 and refused in answer.body, answer.body
    assert desk_bot.snapshot() == before
