"""Binding by the organisation's directory: the office maps a platform's departments to units in chat,
and a person of a mapped department is bound to its unit as they first write, through the platforms'
own SDKs against the doubles, which serve the sandbox's organisation (bot/sandbox/organisation.py).

Each test runs once per database; the directory tests once on DingTalk and once on Feishu.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from tasks.db import transaction
from tasks.models import DepartmentUnit, Event, Member, Role
from tests.chats import DomesticChat, open_chat
from tests.factories import COMMERCE, EXHIBITION

FINANCE = "区财政局"
# People of the sandbox's organisation: a 商务局 official, and one of 农业农村局 (never mapped here).
COMMERCE_OFFICIAL, FARM_OFFICIAL = "swj-zhao", "nyj-sun"


@pytest.fixture(params=["dingtalk", "feishu"])
def chat(request: pytest.FixtureRequest, database_url: str) -> Iterator[DomesticChat]:
    opened = DomesticChat(database_url, request.param)
    yield opened
    opened.stop()


def greeted_pages(chat: DomesticChat) -> int:
    """How many messages carry "you are bound now" and the answer: Feishu puts both on one card."""
    return 1 if chat.channel == "feishu" else 2


def members(chat: DomesticChat, user_id: str) -> list[Member]:
    with transaction(chat.engine) as session:
        return list(session.exec(select(Member).where(Member.channel == chat.channel, Member.user_id == user_id)))


def events(chat: DomesticChat, action: str) -> list[Event]:
    with transaction(chat.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action).order_by(col(Event.id))))


def test_the_office_maps_a_department_and_its_people_are_bound_as_they_write(chat: DomesticChat) -> None:
    office = chat.join(301, "督办办老李", Role.OFFICE)
    listing = chat.say(office, "部门")
    assert "通讯录的部门" in listing.text and "区商务局" in listing.text and "预算科" in listing.text
    assert "→ 未映射" in listing.text

    mapped = chat.say(office, f"部门 区商务局 {COMMERCE}")
    assert f"已将部门“区商务局”映射到单位“{COMMERCE}”" in mapped.text
    assert "已绑定的人不随映射改变" in mapped.text
    assert re.search(rf"区商务局（编号 \S+）→ {COMMERCE}", chat.say(office, "/departments").text)
    [event] = events(chat, "department.mapped")
    assert event.detail["unit"] == COMMERCE and event.actor == "督办办老李"

    chat.sandbox.person(COMMERCE_OFFICIAL, "商务局赵干事")
    mine = chat.say(COMMERCE_OFFICIAL, "我的任务", pages=greeted_pages(chat))
    assert f"您现在是{COMMERCE}的责任单位成员" in mine.text
    assert f"{COMMERCE} 未办结任务" in mine.text and str(chat.task_id(EXHIBITION)) in mine.text
    [member] = members(chat, COMMERCE_OFFICIAL)
    assert (member.name, member.mobile, member.role, member.active) == ("商务局赵干事", "13800001003", Role.MEMBER, True)
    [bound] = [e for e in events(chat, "member.bound") if e.entity_id == member.id]
    assert bound.detail["how"] == "department" and bound.detail["channel"] == chat.channel

    # Bound now: the next message is answered as usual, and binds nobody again.
    assert "已自动绑定" not in chat.say(COMMERCE_OFFICIAL, "我的任务").text
    assert len(events(chat, "member.bound")) == 2  # the office's by invite code, and this one


def test_people_the_mapping_does_not_bind_are_told_what_to_do(chat: DomesticChat) -> None:
    office = chat.join(302, "督办办小赵", Role.OFFICE)
    chat.say(office, f"部门 区商务局 {COMMERCE}")
    chat.say(office, f"部门 区财政局 {FINANCE}")
    organisation = chat.sandbox.double.organisation
    numbers = {department.name: number for number, department in organisation.departments.items()}
    commerce, finance = numbers["区商务局"], numbers["区财政局"]
    organisation.person("both-ways", "两头跑", "13800009999", commerce, finance)
    organisation.person("swj-new", "商务局新人", "13800009998", commerce)
    chat.sandbox.person("both-ways", "两头跑")
    chat.sandbox.person(FARM_OFFICIAL, "农业农村局孙干事")
    chat.sandbox.person(COMMERCE_OFFICIAL, "商务局赵干事")
    chat.sandbox.person("swj-new", "商务局新人")

    several = chat.say("both-ways", "我的任务").text
    assert "分属 2 个单位" in several and COMMERCE in several and FINANCE in several and "邀请码" in several
    assert members(chat, "both-ways") == []
    assert "还没有绑定身份" in chat.say(FARM_OFFICIAL, "我的任务").text
    assert members(chat, FARM_OFFICIAL) == []

    # A member may not map; a wrong department, a wrong unit or a unit group is one sentence; nothing changes.
    chat.say(COMMERCE_OFFICIAL, "我的任务", pages=greeted_pages(chat))
    snapshot = chat.snapshot()
    assert "不能使用" in chat.say(COMMERCE_OFFICIAL, f"部门 区农业农村局 {COMMERCE}").text
    assert "通讯录中没有部门“火星部”" in chat.say(office, f"部门 火星部 {COMMERCE}").text
    assert "未找到单位“火星局”" in chat.say(office, "部门 区农业农村局 火星局").text
    assert "是单位组" in chat.say(office, "部门 区农业农村局 各镇街").text
    assert "没有映射到任何单位" in chat.say(office, "部门 区农业农村局 取消").text
    assert chat.snapshot() == snapshot

    # Unbound by the office: never bound again by department, told to ask for a code.
    [member] = members(chat, COMMERCE_OFFICIAL)
    assert "已解除" in chat.say(office, f"/unbind {member.id}").text
    again = chat.say(COMMERCE_OFFICIAL, "我的任务").text
    assert "已由督办办公室解除" in again and "邀请码" in again
    [member] = members(chat, COMMERCE_OFFICIAL)
    assert not member.active

    # Unmapped: the department's newcomers bind by invite code again.
    unmapped = chat.say(office, "部门 区商务局 取消").text
    assert f"已取消部门“区商务局”到单位“{COMMERCE}”的映射" in unmapped
    assert len(events(chat, "department.unmapped")) == 1
    assert "还没有绑定身份" in chat.say("swj-new", "我的任务").text
    with transaction(chat.engine) as session:
        assert [row.department_name for row in session.exec(select(DepartmentUnit))] == ["区财政局"]


def test_a_directory_the_app_may_not_read_is_said_and_binds_nobody(chat: DomesticChat) -> None:
    office = chat.join(303, "督办办老周", Role.OFFICE)
    chat.say(office, f"部门 区商务局 {COMMERCE}")
    chat.sandbox.double.organisation.denied = True
    snapshot = chat.snapshot()
    assert "没有读取" in chat.say(office, "部门").text
    chat.sandbox.person(COMMERCE_OFFICIAL, "商务局赵干事")
    refused = chat.say(COMMERCE_OFFICIAL, "我的任务").text
    assert "无法按通讯录部门为您绑定" in refused and "邀请码" in refused
    assert chat.snapshot() == snapshot


@pytest.mark.parametrize("channel", ["telegram", "wecom"])
def test_a_platform_without_a_directory_says_so(database_url: str, channel: str) -> None:
    chat = open_chat(database_url, channel)
    try:
        office = chat.join(304, "督办办小吴", Role.OFFICE)
        said = {"telegram": "Telegram 没有组织通讯录", "wecom": "企业微信的智能机器人不提供组织通讯录"}[channel]
        snapshot = chat.snapshot()
        for asked in ("部门", f"/departments 区商务局 {COMMERCE}"):
            answer = chat.say(office, asked).text
            assert said in answer and "邀请码" in answer
        assert chat.snapshot() == snapshot
    finally:
        chat.stop()


def test_a_section_follows_its_bureau_unless_mapped_itself(chat: DomesticChat) -> None:
    office = chat.join(305, "督办办老孙", Role.OFFICE)
    organisation = chat.sandbox.double.organisation
    numbers = {department.name: number for number, department in organisation.departments.items()}
    trade = organisation.department(106, "外贸科", numbers["区商务局"])
    organisation.person("two-sections", "两科兼任", "13800009997", numbers["预算科"], trade)
    organisation.person("ysk-new", "预算科新人", "13800009996", numbers["预算科"])
    for user_id, name in (("czj-li", "预算科李会计"), ("two-sections", "两科兼任"), ("ysk-new", "预算科新人")):
        chat.sandbox.person(user_id, name)

    mapped = chat.say(office, f"部门 区财政局 {FINANCE}").text
    assert "下属部门随之，另行映射的除外" in mapped
    listing = chat.say(office, "部门").text
    assert re.search(rf"预算科（编号 \S+）（随 区财政局 → {FINANCE}）", listing)
    assert re.search(r"外贸科（编号 \S+）→ 未映射", listing)
    # Each section is listed right under its own bureau, indented one step further.
    lines = [line for line in listing.splitlines() if "（编号" in line]
    for section, bureau in (("预算科", "区财政局"), ("外贸科", "区商务局")):
        below = next(i for i, line in enumerate(lines) if line.lstrip("　").startswith(section))
        above = next(i for i in range(below - 1, -1, -1) if len(lines[i]) - len(lines[i].lstrip("　"))
                     < len(lines[below]) - len(lines[below].lstrip("　")))
        assert lines[above].lstrip("　").startswith(bureau), listing

    # Only 区财政局 is mapped: the 预算科 accountant is bound to its unit, by it.
    mine = chat.say("czj-li", "我的任务", pages=greeted_pages(chat)).text
    assert f"您现在是{FINANCE}的责任单位成员" in mine
    [member] = members(chat, "czj-li")
    assert member.name == "预算科李会计"
    [bound] = [e for e in events(chat, "member.bound") if e.entity_id == member.id]
    assert bound.detail["department_names"] == ["区财政局"]

    # Sections under two differently mapped bureaus: asked for a code, naming both.
    chat.say(office, f"部门 区商务局 {COMMERCE}")
    several = chat.say("two-sections", "我的任务").text
    assert "分属 2 个单位" in several and COMMERCE in several and FINANCE in several and "邀请码" in several
    assert members(chat, "two-sections") == []

    # A mapped section overrides its bureau's mapping for its newcomers.
    chat.say(office, f"部门 预算科 {COMMERCE}")
    assert re.search(rf"预算科（编号 \S+）→ {COMMERCE}", chat.say(office, "部门").text)
    newcomer = chat.say("ysk-new", "我的任务", pages=greeted_pages(chat)).text
    assert f"您现在是{COMMERCE}的责任单位成员" in newcomer
    [bound] = [e for e in events(chat, "member.bound") if e.entity_id == members(chat, "ysk-new")[0].id]
    assert bound.detail["department_names"] == ["预算科"]


def test_the_office_moving_to_the_platform_binds_by_code_not_as_its_departments_unit(chat: DomesticChat) -> None:
    """The office's 老李, bound on Telegram with his number kept, writes to the new platform's app: his
    department is mapped, but his number says he is the office's, so he is told to bind by code (and
    nothing is recorded); his office code then binds him as the office here."""
    office = chat.join(306, "督办办小钱", Role.OFFICE)
    chat.say(office, f"部门 区商务局 {COMMERCE}")
    with transaction(chat.engine) as session:
        session.add(Member(channel="telegram", user_id="741", address="741", name="督办办老李", role=Role.OFFICE,
                           created_at=datetime(2021, 8, 1, tzinfo=UTC), mobile="13800009990"))
        session.add(Member(channel="telegram", user_id="742", address="742", name="王区长", role=Role.LEADER,
                           created_at=datetime(2021, 8, 1, tzinfo=UTC), mobile="13800009991"))
    organisation = chat.sandbox.double.organisation
    commerce = next(n for n, d in organisation.departments.items() if d.name == "区商务局")
    organisation.person("ldb-li", "督办办老李", "13800009990", commerce)
    organisation.person("qz-wang", "王区长", "13800009991", commerce)
    chat.sandbox.person("ldb-li", "督办办老李")
    chat.sandbox.person("qz-wang", "王区长")

    snapshot = chat.snapshot()
    told = chat.say("ldb-li", "我的任务").text
    assert "您已在Telegram绑定为督办办公室" in told and "邀请码" in told and COMMERCE not in told
    assert "您已在Telegram绑定为分管领导" in chat.say("qz-wang", "我的任务").text
    assert chat.snapshot() == snapshot

    assert "绑定成功" in chat.say("ldb-li", f"绑定 {chat.sandbox.invite(Role.OFFICE)}").text
    [member] = members(chat, "ldb-li")
    assert (member.role, member.unit_id) == (Role.OFFICE, None)


def test_a_department_whose_name_has_spaces_is_named_whole(chat: DomesticChat) -> None:
    """A directory may name a department with a space in it; the office names it as it is shown, and
    the words after it are the unit (or 取消)."""
    office = chat.join(307, "督办办老吴", Role.OFFICE)
    organisation = chat.sandbox.double.organisation
    finance = next(n for n, d in organisation.departments.items() if d.name == "区财政局")
    organisation.department(107, "区财政局 国库科", finance)

    mapped = chat.say(office, f"部门 区财政局 国库科 {COMMERCE}").text
    assert f"已将部门“区财政局 国库科”映射到单位“{COMMERCE}”" in mapped
    assert f"已将部门“区财政局”映射到单位“{FINANCE}”" in chat.say(office, f"部门 区财政局 {FINANCE}").text
    with transaction(chat.engine) as session:
        assert {row.department_name: row.unit_id for row in session.exec(select(DepartmentUnit))}.keys() == {
            "区财政局 国库科", "区财政局"}
    unmapped = chat.say(office, "部门 区财政局 国库科 取消").text
    assert f"已取消部门“区财政局 国库科”到单位“{COMMERCE}”的映射" in unmapped
    with transaction(chat.engine) as session:
        assert [row.department_name for row in session.exec(select(DepartmentUnit))] == ["区财政局"]


def test_a_merged_unit_hands_its_departments_to_the_unit_it_went_into(chat: DomesticChat) -> None:
    office = chat.join(308, "督办办老郑", Role.OFFICE)
    chat.say(office, f"部门 区商务局 {COMMERCE}")
    chat.say(office, f"/merge {COMMERCE} {FINANCE}")
    assert re.search(rf"区商务局（编号 \S+）→ {FINANCE}", chat.say(office, "部门").text)
    chat.sandbox.person(COMMERCE_OFFICIAL, "商务局赵干事")
    assert f"您现在是{FINANCE}的责任单位成员" in chat.say(COMMERCE_OFFICIAL, "我的任务", pages=greeted_pages(chat)).text
    assert "已合并到" in chat.say(office, "部门 区商务局 商务局").text
