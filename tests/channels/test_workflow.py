"""The member / office / leader workflow on every chat platform: the same steps and the same answers
on Telegram and, through their own SDKs against local doubles, on DingTalk, WeCom and Feishu.

Each test runs once per platform (the ``chat`` fixture) and once per database.
"""

from __future__ import annotations

from tasks.models import Outbox, Role
from tests.chats import ALLOWED, COMMANDS, Chat
from tests.factories import COMMERCE, EXHIBITION

AGRICULTURE = "区农业农村局"
SCIENCE = "区科技和信息化局"
LIVESTOCK = "project:内蒙古武川县:西乌兰不浪镇红山子村养殖产业扶持项目"  # due 2021-10-31
WORKSHOP = "project:内蒙古武川县:武川县乡村振兴加工车间援建项目"
DUTY_BUTTONS = ["报进展", "办结", "申请延期"]

def test_unit_member_reports_with_evidence_and_office_verifies(chat: Chat) -> None:
    member = chat.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    office = chat.join(301, "督办办老李", Role.OFFICE)
    task = chat.task_id(EXHIBITION)

    mine = chat.say(member, "我的任务")
    assert "区商务局 未办结任务" in mine.text and str(task) in mine.text

    card = chat.say(member, f"/task {task}")
    assert "武川县消费扶贫展销服务中心运营项目" in card.text
    assert card.buttons[:3] == DUTY_BUTTONS

    assert "已记录任务" in chat.say(member, f"/report {task} 60% 场地已签约").text
    # A photo as evidence: the button asks which task, the picture answers.
    assert "进展" in chat.tap(member, card, "报进展").text
    assert "证明材料 1 份" in chat.send_file(member, "现场.jpg", b"\xff\xd8photo").text

    prompt = chat.tap(member, card, "办结")
    assert "办结说明" in prompt.text
    office_before = chat.count(office)
    assert "等待督办办公室审核" in chat.say(member, "展销中心已开业运营").text

    notice = chat.next_message(office, office_before)
    assert "办结申请" in notice.text and "商务局小王" in notice.text and "展销中心已开业运营" in notice.text
    member_before = chat.count(member)
    confirmation = chat.tap(office, notice, "审核通过")
    assert "已审核通过" in confirmation.text
    verified = chat.next_message(member, member_before)
    assert "已审核通过" in verified.text and "督办办老李" in verified.text

    history = chat.say(member, f"/task {task}")
    assert "已办结" in history.text and "60%" in history.text and "场地已签约" in history.text
    assert "[附件1]" in history.text
    assert not set(DUTY_BUTTONS) & set(history.buttons)  # nothing left to do on it


def test_office_sends_back_and_unit_reports_again(chat: Chat) -> None:
    member = chat.join(202, "商务局小张", Role.MEMBER, COMMERCE)
    office = chat.join(302, "督办办小赵", Role.OFFICE)
    task = chat.task_id(EXHIBITION)
    office_before = chat.count(office)
    chat.say(member, f"/done {task} 已完成")
    notice = chat.next_message(office, office_before)
    assert "请发送退回" in chat.tap(office, notice, "退回").text
    member_before = chat.count(member)
    assert "已退回" in chat.say(office, "请补充运营合同扫描件").text
    sent_back = chat.next_message(member, member_before)
    assert "被退回" in sent_back.text and "请补充运营合同扫描件" in sent_back.text
    assert sent_back.buttons[:3] == DUTY_BUTTONS
    # Sent back means open again: the unit can report completion once more.
    assert "等待督办办公室审核" in chat.say(member, f"/done {task} 已补充合同").text
    assert "（已退回）" in chat.say(member, f"/task {task}").text


def test_extension_request_approved_and_refused(chat: Chat) -> None:
    member = chat.join(203, "农业局小刘", Role.MEMBER, AGRICULTURE)
    office = chat.join(303, "督办办老周", Role.OFFICE)
    task = chat.task_id(LIVESTOCK)
    card = chat.say(member, f"/task {task}")
    chat.tap(member, card, "申请延期")
    office_before = chat.count(office)
    reply = chat.say(member, "2021-11-30 肉牛采购受疫情影响推迟")
    assert "延期申请 #" in reply.text
    notice = chat.next_message(office, office_before)
    assert "申请延至：2021-11-30" in notice.text and "肉牛采购受疫情影响推迟" in notice.text
    member_before = chat.count(member)
    chat.tap(office, notice, "同意")
    decided = chat.next_message(member, member_before)
    assert "已同意" in decided.text and "2021-11-30" in decided.text
    assert "2021-11-30" in chat.say(member, f"/task {task}").text
    # A decision cannot be made twice: Telegram takes its buttons away; where a platform cannot, the
    # second tap is answered and changes nothing.
    snapshot = chat.snapshot()
    try:
        again = chat.tap(office, notice, "同意")
    except LookupError:
        assert chat.channel == "telegram"
    else:
        assert chat.channel != "telegram" and "已同意" not in again.text
    assert chat.snapshot() == snapshot

    second = chat.say(member, f"/extend {task} 12月底 需要再延")
    extension_id = second.text.split("#")[1].split("：")[0]
    member_before = chat.count(member)
    assert "已不同意" in chat.say(office, f"/refuse {extension_id} 年底前必须完成").text
    refused = chat.next_message(member, member_before)
    assert "未同意" in refused.text and "年底前必须完成" in refused.text


def test_a_file_of_a_kind_not_taken_is_refused_and_changes_nothing(chat: Chat) -> None:
    member = chat.join(204, "商务局小陈", Role.MEMBER, COMMERCE)
    task = chat.task_id(EXHIBITION)
    chat.tap(member, chat.say(member, f"/task {task}"), "报进展")
    snapshot = chat.snapshot()
    answer = chat.send_file(member, "setup.exe", b"MZ")
    if chat.channel == "wecom":  # WeCom's file message names no file: the kind is known only once fetched
        assert "证明材料" in answer.text
    else:
        assert "不支持“setup.exe”" in answer.text
        assert chat.snapshot() == snapshot


def test_office_urges_and_the_unit_is_told(chat: Chat) -> None:
    office = chat.join(304, "督办办小吴", Role.OFFICE)
    member = chat.join(205, "科信局小孙", Role.MEMBER, SCIENCE)
    summary = chat.say(office, "/overdue")
    assert "逾期未办结" in summary.text and "区农业农村局 1项 · 最长93天" in summary.text
    task = chat.task_id(WORKSHOP)
    before = chat.count(member)
    assert "已催办 1 个单位" in chat.say(office, f"/urge {task} 请本周内报送进展").text
    urged = chat.next_message(member, before)
    assert "催办" in urged.text and "督办办小吴" in urged.text and "请本周内报送进展" in urged.text
    assert urged.buttons[:3] == DUTY_BUTTONS


def test_authorization_matrix(chat: Chat) -> None:
    people = {
        "member": chat.join(501, "商务局成员", Role.MEMBER, COMMERCE),
        "office": chat.join(502, "督办办公室", Role.OFFICE),
        "leader": chat.join(503, "分管领导", Role.LEADER),
        "admin": chat.join(504, "系统管理员", Role.ADMIN),
        "unbound": chat.stranger(505, "路人"),
    }
    snapshot = chat.snapshot()
    outcomes: dict[tuple[str, str], str] = {}
    for role, person in people.items():
        for command in COMMANDS:
            # An allowed /export answers with a text and then the ledger's file.
            pages = 2 if command == "export" and command in ALLOWED[role] and chat.channel == "telegram" else 1
            text = chat.say(person, f"/{command}", pages=pages).text
            if "还没有绑定身份" in text:
                outcomes[(role, command)] = "unbound"
            elif "不能使用" in text:
                outcomes[(role, command)] = "refused"
            else:
                outcomes[(role, command)] = "allowed"
    expected = {(role, command): ("allowed" if command in ALLOWED[role] else
                                  "unbound" if role == "unbound" else "refused")
                for role in people for command in COMMANDS}
    assert outcomes == expected
    # Asking without arguments (a usage message) and every refusal changed nothing; an allowed /export
    # queued its file, one for each who may ask, and nothing else.
    chat.settle()
    after = chat.snapshot()
    kind = list(Outbox.__table__.columns.keys()).index("kind")  # type: ignore[attr-defined]
    ledgers = [row for row in after["outbox"] if row[kind] == "ledger"]
    assert len(ledgers) == sum("export" in ALLOWED[role] for role in people)
    after["outbox"] = [row for row in after["outbox"] if row[kind] != "ledger"]
    assert after == snapshot


def test_a_person_gives_changes_and_clears_their_mobile_number(chat: Chat) -> None:
    member = chat.join(206, "商务局小钱", Role.MEMBER, COMMERCE)
    assert "还没有登记手机号" in chat.say(member, "手机").text

    before = chat.snapshot()
    refused = chat.say(member, "手机 1380000")
    assert "不是手机号码" in refused.text
    assert chat.snapshot() == before  # nothing kept, no event

    assert "已登记您的手机号 138****0000" in chat.say(member, "手机 138 0000 0000").text
    assert "138****0000" in chat.say(member, "/mobile").text
    assert "已登记您的手机号 139****1111" in chat.say(member, "/mobile +86 139-0000-1111").text
    events = [row for row in chat.snapshot()["event"] if any("member.mobile" in value for value in row)]
    assert len(events) == 2
    # The audit log keeps who changed whose number, masked: not the number itself.
    assert not any("13800000000" in value or "13900001111" in value for row in events for value in row)
    assert any("139****1111" in value for row in events for value in row)

    assert "已删除您登记的手机号" in chat.say(member, "手机 删除").text
    assert "还没有登记手机号" in chat.say(member, "手机").text
    before = chat.snapshot()
    assert "还没有登记手机号，无需删除" in chat.say(member, "手机 删除").text
    assert chat.snapshot() == before
