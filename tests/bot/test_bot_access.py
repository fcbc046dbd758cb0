"""Who may do what, and bad input: refused with a clear Chinese message, nothing changed."""

import logging
import time

import pytest
from sqlmodel import select

from tasks.clock import db_time
from tasks.db import transaction
from tasks.models import Assignment, Role, Task, Unit
from tests.chats import ALLOWED, COMMANDS
from tests.harness import BotHarness


def test_help_lists_exactly_what_the_role_may_do(bot: BotHarness) -> None:
    for user_id, role in ((511, Role.MEMBER), (512, Role.OFFICE), (513, Role.LEADER)):
        person = bot.join(user_id, f"{role}用户", role, "区商务局" if role == Role.MEMBER else None)
        text = bot.say(person, "/help")["text"]
        listed = {c for c in COMMANDS if f"/{c} " in text}
        assert listed == ALLOWED[role.value]


def other_units_task(bot: BotHarness, unit_name: str) -> int:
    """A task assigned to some unit but not to ``unit_name``."""
    with transaction(bot.engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == unit_name)).one()
        mine = select(Assignment.task_id).where(Assignment.unit_id == unit.id)
        task_id = session.exec(select(Task.id).join(Assignment, Assignment.task_id == Task.id)
                               .where(Task.id.not_in(mine)).order_by(Task.id)).first()
        assert task_id is not None
        return task_id


def test_bad_input_is_explained_and_changes_nothing(bot: BotHarness) -> None:
    member = bot.join(521, "商务局成员", Role.MEMBER, "区商务局")
    office = bot.join(522, "督办办公室", Role.OFFICE)
    own = bot.task_id("project:内蒙古武川县:武川县消费扶贫展销服务中心运营项目")
    foreign = other_units_task(bot, "区商务局")
    snapshot = bot.snapshot()
    cases = [
        (member, "/task abc", "请在命令后写任务编号"),
        (member, "/task 99999", "没有编号为 99999 的任务"),
        (member, f"/task {foreign}", "不是本单位负责的任务"),
        (member, f"/report {foreign} 50% 顺利", "不是本单位负责的任务"),
        (member, f"/report {own} 150% 超额", "0 到 100"),
        (member, f"/report {own}", "请写明进展情况"),
        (member, f"/report {own} {'很长' * 1500}", "内容过长"),
        (member, f"/extend {own} 2021-08-01 来不及", "不能早于或等于今天"),
        (member, f"/extend {own} 2021-02-30 来不及", "不存在"),
        (member, f"/extend {own} 过几天吧 来不及", "没有读懂新的完成日期"),
        (member, f"/extend {own} 2021-12-31", "内容不能为空"),
        (member, "/foo", "没有 /foo 这个命令"),
        (member, "随便说点什么", "没有看懂这条消息"),
        (office, "/verify 99999", "没有编号为 99999 的任务"),
        (office, f"/verify {own}", "没有待审核的办结申请"),
        (office, "/approve 42", "没有编号为 42 的延期申请"),
        (office, "/overdue 火星局", "没有找到名为“火星局”"),
        (office, "/due 0", "天数应在 1 到"),
        (office, "/unit 火星局", "未找到单位“火星局”"),
        (office, "/invite 火星局", "未找到单位“火星局”"),
        (office, "/urge 99999", "没有编号为 99999 的任务"),
    ]
    for person, text, expected in cases:
        reply = bot.say(person, text)["text"]
        assert expected in reply, (text, reply)
    assert bot.snapshot() == snapshot


def test_forged_and_stale_buttons_are_refused(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.conversation")
    member = bot.join(531, "商务局成员", Role.MEMBER, "区商务局")
    foreign = other_units_task(bot, "区商务局")
    card = bot.say(member, "我的任务")
    snapshot = bot.snapshot()
    before = len(bot.server.messages(member.id))
    bot.server.tap_data(member, card, f"rp:{foreign}")  # callback_data naming another unit's task
    assert "不是本单位负责的任务" in bot.server.wait_for(member.id, after=before)[0]["text"]
    before = len(bot.server.messages(member.id))
    with transaction(bot.engine) as session:
        assignment_id = session.exec(select(Assignment.id)).first()
    bot.server.tap_data(member, card, f"vr:{assignment_id}")  # an office button, forged by a unit member
    assert "不能使用这个按钮" in bot.server.wait_for(member.id, after=before)[0]["text"]
    answers = len(bot.server.state.callback_answers)
    bot.server.tap_data(member, card, "zz:1")
    deadline = time.monotonic() + 5
    while len(bot.server.state.callback_answers) == answers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bot.server.state.callback_answers[-1].get("text") == "这个按钮已失效。"
    for forged in ("rp:²", "rp:１２", "rp:" + "9" * 40):  # digits int() refuses, or a number no row has
        answers = len(bot.server.state.callback_answers)
        bot.server.tap_data(member, card, forged)
        deadline = time.monotonic() + 5
        while len(bot.server.state.callback_answers) == answers and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(bot.server.state.callback_answers) > answers, forged
        assert bot.server.state.callback_answers[-1].get("text") == "这个按钮已失效。"
    stranger = bot.server.person(532, "路人")
    before = len(bot.server.messages(stranger.id))
    bot.server.tap_data(stranger, {**card, "chat": {"id": stranger.id, "type": "private"}}, f"rp:{foreign}")
    assert "还没有绑定身份" in bot.server.wait_for(stranger.id, after=before)[0]["text"]
    assert bot.snapshot() == snapshot
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.conversation" and r.getMessage().startswith("refused")]
    # Each forged or stale button is in the log: another unit's task, an office button, unknown data, a stranger.
    assert any("user 531" in m and "不是本单位负责的任务" in m for m in logged), logged
    assert any("member" in m and "role member" in m for m in logged), logged
    assert any("malformed button data 'zz:1'" in m for m in logged), logged
    assert any("unbound user 532" in m for m in logged), logged


def test_long_document_text_with_markup_characters_renders(bot: BotHarness) -> None:
    member = bot.join(541, "商务局成员", Role.MEMBER, "区商务局")
    text = ("<b>加粗不是标记</b> & R&D 中心 <script>x</script> " + "推进消费帮扶工作，完善长效机制。" * 300)
    assert len(text) > 4000
    with transaction(bot.engine) as session:
        task = session.exec(select(Task).where(Task.kind == "task")).first()
        task.text = text
        unit = session.exec(select(Unit).where(Unit.name == "区商务局")).one()
        if session.exec(select(Assignment).where(Assignment.task_id == task.id,
                                                 Assignment.unit_id == unit.id)).first() is None:
            session.add(Assignment(task_id=task.id, unit_id=unit.id, role="co", created_at=db_time(bot.clock),
                                   updated_at=db_time(bot.clock)))
        task_id = task.id
    before = len(bot.server.messages(member.id))
    bot.server.send_text(member, f"/task {task_id}")
    pages = bot.server.wait_for(member.id, after=before, count=2, timeout=10)
    bot.settle()
    pages = bot.server.messages(member.id)[before:]
    shown = "".join(p["text"] for p in pages)
    assert "<b>加粗不是标记</b> & R&D 中心 <script>x</script>" in shown
    assert shown.count("推进消费帮扶工作") == 300
    assert all(len(p["text"]) <= 4096 for p in pages)
    assert pages[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "报进展"


def test_a_refusal_that_repeats_a_long_name_is_one_short_answer(bot: BotHarness) -> None:
    """A name of 4,000 characters: the refusal quotes its start, so the answer is one message the
    server accepts, not one over Telegram's limit that the person never receives."""
    office = bot.join(551, "督办办公室", Role.OFFICE)
    member = bot.join(552, "商务局成员", Role.MEMBER, "区商务局")
    name = "<区火星局&>" * 680  # escaped, each of these characters grows
    before = bot.snapshot()
    for person, command in ((office, "/unit"), (office, "/overdue"), (office, "/urge"), (office, "/invite"),
                            (member, "/start")):
        reply = bot.say(person, f"{command} {name}"[:4096])
        assert len(reply["text"]) < 200, (command, reply["text"])
        assert command == "/start" or "“<区火星局&><区火星局&>" in reply["text"]  # what was typed, recognisably
    assert bot.server.state.rejected == []
    assert bot.snapshot() == before
