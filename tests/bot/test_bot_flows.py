"""Every workflow end to end: the real Application, run_polling, the local Bot API server, a real database."""

import re
import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.sandbox.server import Person
from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.models import Assignment, Role, Unit
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

AGRICULTURE = "区农业农村局"


def test_photo_and_file_evidence(bot: BotHarness) -> None:
    member = bot.join(204, "商务局小陈", Role.MEMBER, COMMERCE)
    task = bot.task_id(EXHIBITION)
    before = len(bot.server.messages(member.id))
    bot.server.send_photo(member, b"\xff\xd8photo", caption=f"#{task} 展销中心开业现场")
    assert "证明材料 1 份" in bot.next_message(member.id, before)["text"]
    before = len(bot.server.messages(member.id))
    bot.server.send_document(member, b"%PDF-1.4", "运营合同.pdf", "application/pdf", caption=f"/done {task} 合同已签")
    assert "等待督办办公室审核" in bot.next_message(member.id, before)["text"]
    card = bot.say(member, f"/task {task}")["text"]
    assert "展销中心开业现场 [附件1]" in card and "合同已签 [附件1]" in card

    snapshot = bot.snapshot()
    before = len(bot.server.messages(member.id))
    bot.server.send_document(member, b"MZ", "setup.exe", "application/x-msdownload", caption=f"#{task}")
    assert "不支持“setup.exe”" in bot.next_message(member.id, before)["text"]
    before = len(bot.server.messages(member.id))
    bot.server.send_document(member, b"big", "航拍.zip", "application/zip", caption=f"#{task}",
                             declared_size=30 * 1024 * 1024)
    assert "文件过大" in bot.next_message(member.id, before)["text"]
    before = len(bot.server.messages(member.id))
    bot.server.send_photo(member, b"\xff\xd8photo")
    assert "写上任务编号" in bot.next_message(member.id, before)["text"]
    assert bot.snapshot() == snapshot


def test_office_questions_and_urging(bot: BotHarness) -> None:
    office = bot.join(304, "督办办小吴", Role.OFFICE)
    member = bot.join(205, "科信局小孙", Role.MEMBER, "区科技和信息化局")
    summary = bot.say(office, "/overdue")
    # On 1 September 2021: 问题整改 (6/30), 调研对接 (8/31), 学生资助 (7/31) and 玫瑰试种 (5/31) are late.
    assert "逾期未办结" in summary["text"] and "区农业农村局 1项 · 最长93天" in summary["text"]
    overdue = bot.tap(office, summary, "逐项查看")["text"]
    assert "逾期93天" in overdue and "逾期1天" in overdue
    assert "没有符合条件" in bot.say(office, "/overdue 区商务局")["text"]
    assert "武川县脱贫家庭学生资助项目"[:8] in bot.say(office, "逾期 区教委")["text"]
    assert "组织领导" in bot.say(office, "/overdue 组织领导")["text"]
    team = bot.say(office, "/overdue 科技帮扶专班")["text"]
    assert "科技帮扶专班" in team
    due = bot.say(office, "/due 30")
    assert "30天内到期" in due["text"] and "共 2 项，涉及 2 个单位" in due["text"]
    assert "武川县乡村振兴加工车间援建项目"[:8] in bot.tap(office, due, "逐项查看")["text"]
    assert "未办结任务 · 区科技和信息化局" in bot.say(office, "/unit 区科信局")["text"]

    task = bot.task_id("project:内蒙古武川县:武川县乡村振兴加工车间援建项目")
    before = len(bot.server.messages(member.id))
    assert "已催办 1 个单位" in bot.say(office, f"/urge {task} 请本周内报送进展")["text"]
    urged = bot.next_message(member.id, before)
    assert "催办" in urged["text"] and "督办办小吴" in urged["text"] and "请本周内报送进展" in urged["text"]
    assert [b["text"] for b in urged["reply_markup"]["inline_keyboard"][0]] == ["报进展", "办结", "申请延期"]
    before = len(bot.server.messages(member.id))
    bot.say(office, "/urge 区科信局")
    assert "催办" in bot.next_message(member.id, before)["text"]


def test_leader_stats(bot: BotHarness) -> None:
    leader = bot.join(401, "分管副区长", Role.LEADER)
    stats = bot.say(leader, "/stats")
    html = stats["html"]
    assert "完成情况统计" in stats["text"] and "<pre>" not in html
    assert "最差的 5 个专班" in stats["text"] and "按单位" in stats["text"]
    every_team = bot.tap(leader, stats, "全部专班")["text"]
    assert "干部人才专班" in every_team
    units = [stats]
    while "下一页 ▶" in [b["text"] for row in units[-1]["reply_markup"]["inline_keyboard"] for b in row]:
        units.append(bot.tap(leader, units[-1], "下一页 ▶"))
    assert any("区科技和信息化局" in page["text"] for page in units)


def test_invites_are_single_use_and_expire(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    office = bot.join(305, "督办办小郑", Role.OFFICE)
    reply = bot.say(office, "/invite 区农业农村局")["text"]
    code = reply.split("/start ")[1].split()[0]
    assert "t.me/taskbot_sandbox_bot?start=" in reply
    newcomer = bot.server.person(206, "农业局新人")
    assert "绑定成功" in bot.say(newcomer, f"/start {code}")["text"]
    assert "区农业农村局 未办结任务" in bot.say(newcomer, "我的任务")["text"]
    stranger = bot.server.person(207, "陌生人")
    old = bot.invite(Role.MEMBER, COMMERCE)
    snapshot = bot.snapshot()
    assert "已被使用" in bot.say(stranger, f"/start {code}")["text"]
    assert "邀请码无效" in bot.say(stranger, "/start NOSUCHCODE")["text"]
    bot.clock.advance(timedelta(days=8))
    assert "已过期" in bot.say(stranger, f"/start {old}")["text"]
    assert bot.snapshot() == snapshot
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused invite code from user 207")]
    assert len(refused) == 3  # the replayed, the unknown and the expired code are each logged
    assert "还没有绑定身份" in bot.say(stranger, "我的任务")["text"]
    # Office staff cannot make leaders.
    assert "无权邀请分管领导" in bot.say(office, "/invite 领导")["text"]


def test_unit_group_chat_binds_and_works(bot: BotHarness) -> None:
    group = bot.server.group(-1001234, "商务局工作群")
    staff = bot.server.person(208, "商务局群成员")
    assert "本群尚未绑定" in bot.say(staff, "/mytasks", chat_id=group["id"])["text"]
    code = bot.invite(Role.MEMBER, COMMERCE)
    assert "绑定成功" in bot.say(staff, f"/start {code}", chat_id=group["id"])["text"]
    assert "区商务局 未办结任务" in bot.say(staff, "/mytasks", chat_id=group["id"])["text"]
    office = bot.join(306, "督办办小冯", Role.OFFICE)
    before = len(bot.server.messages(group["id"]))
    bot.say(office, "/urge 区商务局 请各位抓紧")
    assert "请各位抓紧" in bot.next_message(group["id"], before)["text"]


def test_menus_follow_the_role(bot: BotHarness) -> None:
    member = bot.join(209, "商务局小何", Role.MEMBER, COMMERCE)
    office = bot.join(307, "督办办小许", Role.OFFICE)
    commands = bot.server.state.commands
    member_menu = [c["command"] for c in commands[f'{{"chat_id": {member.id}, "type": "chat"}}']]
    office_menu = [c["command"] for c in commands[f'{{"chat_id": {office.id}, "type": "chat"}}']]
    assert {"mytasks", "report", "done", "extend"} <= set(member_menu) and "verify" not in member_menu
    assert {"overdue", "verify", "urge", "invite", "stats"} <= set(office_menu) and "mytasks" not in office_menu
    assert [c["command"] for c in commands['{"type": "default"}']] == ["start", "help"]
    help_text = bot.say(member, "帮助")["text"]
    assert "/report" in help_text and "/verify" not in help_text


def test_the_bot_process_reminds_by_itself(database_url: str) -> None:
    """APScheduler in the running bot ticks the planner; a unit's reminders of the morning arrive as
    one list whose numbered buttons open each task's card with its buttons."""
    from tasks.clock.policy import Policy

    clock = FixedClock(datetime(2021, 10, 14, 1, 5, tzinfo=UTC))  # imported the day before the d10 reminders
    harness = BotHarness(database_url, clock, Policy())
    try:
        member = harness.join(251, "商务局小林", Role.MEMBER, COMMERCE)
        office = harness.join(351, "督办办小钱", Role.OFFICE)
        before = len(harness.server.messages(member.id))
        clock.moment = datetime(2021, 10, 15, 1, 5, tzinfo=UTC)  # 09:05 on the 10th working day before 10/31
        reminders = harness.server.wait_for(member.id, after=before, timeout=15,
                                            predicate=lambda m: m["text"].startswith("📋 督办提醒"))[0]
        lines = [line for line in reminders["text"].splitlines() if line.startswith("• ")]
        # (The same list carries the 开工 still unreported of the unit's project, escalated on the same morning.)
        deadlines = [line for line in lines if "开工节点" not in line]
        assert len(deadlines) > 1 and all("截止 2021-10-31，还有16天" in line for line in deadlines)
        assert any("开工节点 2021-06-01，已逾期" in line for line in lines)
        assert f"本单位有 {len(lines)} 项任务需要办理" in reminders["text"]
        numbers = [b["text"] for row in reminders["reply_markup"]["inline_keyboard"] for b in row]
        # One button per listed task, in the list's order (a project's 开工 and its deadline share one).
        assert numbers == list(dict.fromkeys(line.split()[1] for line in lines))
        card = harness.tap(member, reminders, numbers[0])
        assert card["text"].splitlines()[0].split(" · ")[0].split()[-1] == numbers[0]  # e.g. "任务 27 · 类别"
        assert [b["text"] for b in card["reply_markup"]["inline_keyboard"][0]] == ["报进展", "办结", "申请延期"]
        prompt = harness.tap(member, card, "报进展")
        assert "请发送任务" in prompt["text"]
        before = len(harness.server.messages(member.id))
        harness.say(office, "/urge 区商务局")
        # The planner may still be delivering this morning's reminders: wait for the urge itself.
        urge = harness.server.wait_for(member.id, after=before, predicate=lambda m: m["text"].startswith("📣"))[0]
        assert "点任务编号查看详情" in urge["text"] and len(urge["reply_markup"]["inline_keyboard"]) >= 2
    finally:
        harness.stop()
    assert harness.server.state.rejected == []


def test_review_buttons_act_on_the_claim_they_were_sent_with(bot: BotHarness) -> None:
    """Finding 3: 审核通过 on the first claim's notice, after that claim was sent back and the unit
    claimed again, must not approve the second claim, which the office never opened."""
    member = bot.join(203, "商务局小刘", Role.MEMBER, COMMERCE)
    office = bot.join(303, "督办办小孙", Role.OFFICE)
    task = bot.task_id(EXHIBITION)
    office_before = len(bot.server.messages(office.id))
    bot.say(member, f"/done {task} 第一次申请")
    first_notice = bot.next_message(office.id, office_before)
    assert "已退回" in bot.say(office, f"/sendback {task} 材料不全")["text"]
    office_before = len(bot.server.messages(office.id))
    bot.say(member, f"/done {task} 第二次申请，已补材料")
    second_notice = bot.next_message(office.id, office_before)

    bot.settle()
    unchanged = bot.snapshot()
    stale = bot.tap(office, first_notice, "审核通过")
    assert "已处理（已退回），没有做任何改动" in stale["text"]
    assert "已处理（已退回）" in bot.tap(office, first_notice, "退回")["text"]
    assert bot.snapshot() == unchanged
    assert "待审核" in bot.say(member, f"/task {task}")["text"]

    assert "已审核通过" in bot.tap(office, second_notice, "审核通过")["text"]
    assert "已办结" in bot.say(member, f"/task {task}")["text"]


def test_buttons_from_before_they_named_their_claim_decide_nothing(bot: BotHarness) -> None:
    member = bot.join(204, "商务局小钱", Role.MEMBER, COMMERCE)
    office = bot.join(304, "督办办小周", Role.OFFICE)
    task = bot.task_id(EXHIBITION)
    office_before = len(bot.server.messages(office.id))
    bot.say(member, f"/done {task} 已完成")
    notice = bot.next_message(office.id, office_before)
    bot.settle()
    unchanged = bot.snapshot()
    for data in ("vf:1", "sb:1"):  # what the old notifications carried: an assignment, not a claim
        before = len(bot.server.messages(office.id))
        bot.server.tap_data(office, notice, data)
        assert "已失效，没有做任何改动" in bot.server.wait_for(office.id, after=before)[0]["text"]
    assert bot.snapshot() == unchanged


def test_office_adds_and_removes_units_and_merges_a_name_in_chat(bot: BotHarness) -> None:
    office = bot.join(305, "督办办小韩", Role.OFFICE)
    farmer = bot.join(205, "农业局小林", Role.MEMBER, AGRICULTURE)
    task = bot.task_id(EXHIBITION)
    assert str(task) not in bot.say(farmer, "我的任务")["text"]
    assert "已将区农业农村局列为任务" in bot.say(office, f"/assign {task} 区农业农村局")["text"]
    assert str(task) in bot.say(farmer, "我的任务")["text"]
    assert "已是任务" in bot.say(office, f"/assign {task} 区农业农村局")["text"]
    assert "已将区农业农村局移出任务" in bot.say(office, f"/unassign {task} 区农业农村局")["text"]
    assert "不是本单位负责的任务" in bot.say(farmer, f"/task {task}")["text"]
    unchanged = bot.snapshot()
    assert "请写明单位名称" in bot.say(office, f"/assign {task}")["text"]
    assert "用法：/merge" in bot.say(office, "/merge 区商务局")["text"]
    assert "不能把单位合并到它自己" in bot.say(office, "/merge 区商务局 区商务局")["text"]
    assert "单位组不能合并" in bot.say(office, "/merge 各镇街 区商务局")["text"]
    assert bot.snapshot() == unchanged
    assert "不能使用/assign" in bot.say(farmer, f"/assign {task} 区农业农村局")["text"]
    assert bot.snapshot() == unchanged


def whole_answer(harness: BotHarness, person: Person, text: str) -> str:
    """Every page of the bot's answer (a long list comes in several, marked （1/N）)."""
    before = len(harness.server.messages(person.id))
    first = harness.say(person, text)["text"]
    pages = int(match[1]) if (match := re.search(r"（1/(\d+)）", first)) else 1
    return "\n".join(m["text"] for m in harness.server.wait_for(person.id, after=before, count=pages))


def test_a_group_means_its_members_in_every_question_and_in_urge(database_url: str) -> None:
    # 2 November 2021: each of the 13 towns and streets has its share of the 10/31 tasks overdue.
    harness = BotHarness(database_url, FixedClock(datetime(2021, 11, 2, 1, 0, tzinfo=UTC)))
    try:
        office = harness.join(306, "督办办小钱", Role.OFFICE)
        town = harness.join(207, "斋堂镇小周", Role.MEMBER, "斋堂镇")
        # Counted here from the seed's unit file and the assignments, not through the bot's group lookup.
        group = next(g for g in tomllib.loads(seed_path(UNIT_DIRECTORY).read_text(encoding="utf-8"))["group"]
                     if g["name"] == "各镇街")
        members = group["members"]
        assert len(members) == 13
        with transaction(harness.engine) as session:
            open_rows = session.exec(select(Assignment.due_on).join(Unit, col(Unit.id) == Assignment.unit_id).where(
                col(Unit.name).in_(members), col(Assignment.status).in_(("open", "reported")))).all()
        overdue = sum(1 for due_on in open_rows if due_on is not None and due_on < date(2021, 11, 2))
        assert overdue > 0

        answer = whole_answer(harness, office, "/overdue 各镇街")
        assert f"逾期未办结 · 各镇街（13个单位）\n共 {overdue} 项，涉及 13 个单位" in answer and "斋堂镇" in answer
        listed = whole_answer(harness, office, "/unit 各镇街")
        assert f"未办结任务 · 各镇街（13个单位）\n共 {len(open_rows)} 项，涉及 13 个单位" in listed

        before = len(harness.server.messages(town.id))
        urged = harness.say(office, "/urge 各镇街 请本周内报送")["text"]
        assert f"已催办 各镇街（13个单位）中的 13 个单位，共 {len(open_rows)} 项任务" in urged
        notice = harness.next_message(town.id, before)["text"]
        assert "催办" in notice and "斋堂镇" in notice and "请本周内报送" in notice
    finally:
        harness.stop()
    assert harness.server.state.rejected == []
