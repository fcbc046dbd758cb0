"""A mobile number for the group robots' @: the office sets a member's, not a leader's (as it cannot
unbind one), an administrator anyone's; a group chat has none; whatever is refused changes nothing."""

from sqlmodel import col, select

from tasks.db import transaction
from tasks.models import Event, Member, Role
from tests.factories import COMMERCE
from tests.harness import BotHarness


def member_id(bot: BotHarness, user_id: int) -> int:
    with transaction(bot.engine) as session:
        return session.exec(select(Member.id).where(Member.user_id == str(user_id))).one()


def mobile_of(bot: BotHarness, user_id: int) -> str | None:
    with transaction(bot.engine) as session:
        return session.exec(select(Member.mobile).where(Member.user_id == str(user_id))).one()


def mobile_events(bot: BotHarness) -> list[tuple[str, str, int | None, dict]]:
    with transaction(bot.engine) as session:
        return [(e.action, e.actor, e.entity_id, e.detail) for e in session.exec(
            select(Event).where(col(Event.action).startswith("member.mobile")).order_by(col(Event.id)))]


def test_the_office_sets_and_clears_a_members_mobile_but_not_a_leaders(bot: BotHarness) -> None:
    office = bot.join(721, "督办办小吴", Role.OFFICE)
    wang = bot.join(722, "商务局小王", Role.MEMBER, COMMERCE)
    leader = bot.join(723, "分管领导", Role.LEADER)
    admin = bot.join(724, "系统管理员", Role.ADMIN)
    number = member_id(bot, 722)

    assert "已登记 商务局小王 的手机号 139****0000" in bot.say(office, f"/mobile {number} 139 0000 0000")["text"]
    assert mobile_of(bot, 722) == "13900000000"
    assert "139****0000" in bot.say(wang, "手机")["text"]
    listing = bot.say(office, "/members 区商务局")["text"]
    assert f"{number} 商务局小王（责任单位成员，区商务局） · 手机 139****0000" in listing
    assert "13900000000" not in listing
    assert mobile_events(bot) == [("member.mobile_set", "督办办小吴", number,
                                   {"name": "商务局小王", "mobile": "139****0000"})]

    unchanged = bot.snapshot()
    assert "无权更改分管领导的手机号" in bot.say(office, f"/mobile {member_id(bot, 723)} 13700000000")["text"]
    assert "没有编号为 99999 的已绑定成员" in bot.say(office, "/mobile 99999 13700000000")["text"]
    assert "不是手机号码" in bot.say(office, f"/mobile {number} 1390000")["text"]
    # A member names no one but themself: another's number is read as a number of their own, and is none.
    assert "不是手机号码" in bot.say(wang, f"/mobile {member_id(bot, 721)} 13600000000")["text"]
    assert bot.snapshot() == unchanged

    assert "已登记 分管领导 的手机号 137****0000" in bot.say(admin, f"/mobile {member_id(bot, 723)} 13700000000")["text"]
    assert mobile_of(bot, 723) == "13700000000"
    assert "已删除 商务局小王 登记的手机号" in bot.say(office, f"/mobile {number} 删除")["text"]
    assert mobile_of(bot, 722) is None
    assert mobile_events(bot)[-1] == ("member.mobile_cleared", "督办办小吴", number, {"name": "商务局小王"})
    assert "您登记的手机号：137****0000" in bot.say(leader, "手机")["text"]


def test_a_group_chat_has_no_mobile(bot: BotHarness) -> None:
    group = bot.server.group(-1002011, "商务局工作群")
    binder = bot.server.person(731, "群管理员")
    assert "绑定成功" in bot.say(binder, f"/start {bot.invite(Role.MEMBER, COMMERCE)}", chat_id=group["id"])["text"]
    office = bot.join(732, "督办办老周", Role.OFFICE)
    with transaction(bot.engine) as session:
        group_member = session.exec(select(Member.id).where(col(Member.user_id).is_(None))).one()
    unchanged = bot.snapshot()
    assert "群聊和群机器人没有手机号" in bot.say(binder, "/mobile 13800000000", chat_id=group["id"])["text"]
    assert "群聊和群机器人没有手机号" in bot.say(office, f"/mobile {group_member} 13800000000")["text"]
    assert bot.snapshot() == unchanged


def test_a_number_typed_in_full_width_is_kept_as_digits(bot: BotHarness) -> None:
    """A Chinese input method in full-width mode types １３８: kept as the digits a robot's @ needs."""
    person = bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    assert "138****8000" in bot.say(person, "/mobile （＋86）１３８ ００１３ ８０００")["text"]
    assert "138****8001" in bot.say(person, "手机 13８0013 8001")["text"]
    with transaction(bot.engine) as session:
        assert session.exec(select(Member.mobile).where(Member.user_id == "211")).one() == "13800138001"


def test_the_office_names_member_86_whose_number_could_read_as_a_country_code(bot: BotHarness) -> None:
    """"86 13900000000" is member 86's number when the office writes it, not the office's own with +86."""
    office = bot.join(741, "督办办小吴", Role.OFFICE)
    with transaction(bot.engine) as session:
        first = session.exec(select(Member.id)).first() or 0
    for n in range(first + 1, 87):
        bot.join(1000 + n, f"成员{n}", Role.MEMBER, COMMERCE)
    with transaction(bot.engine) as session:
        target = session.get(Member, 86)
        assert target is not None and target.user_id is not None
        name = target.name
    assert f"已登记{name}的手机号" in bot.say(office, "/mobile 86 13900000000")["text"].replace(" ", "")
    assert "138****0000" in bot.say(office, "手机 138 0000 0000")["text"]  # a whole number is still one's own
    with transaction(bot.engine) as session:
        mobiles = {m.id: m.mobile for m in session.exec(select(Member)).all() if m.mobile}
        office_id = session.exec(select(Member.id).where(Member.user_id == "741")).one()
    assert mobiles == {86: "13900000000", office_id: "13800000000"}
