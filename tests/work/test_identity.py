"""Identity (finding 5): in a unit's group chat a report carries the person who sent it, who must be
bound to that unit; the office sees, unbinds and revokes; an invite code never changes a role."""


from sqlmodel import col, select

from tasks.db import transaction
from tasks.models import Event, Member, Report, Role
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness


def bound_group(bot: BotHarness, chat_id: int) -> dict:
    group = bot.server.group(chat_id, "商务局工作群")
    binder = bot.server.person(chat_id * -1 % 100000, "群管理员")
    assert "绑定成功" in bot.say(binder, f"/start {bot.invite(Role.MEMBER, COMMERCE)}", chat_id=group["id"])["text"]
    return group


def reports(bot: BotHarness) -> list[tuple[str, int | None, str]]:
    with transaction(bot.engine) as session:
        return [(r.author, r.author_member_id, r.text) for r in session.exec(select(Report).order_by(col(Report.id)))]


def member_id(bot: BotHarness, user_id: int) -> int:
    with transaction(bot.engine) as session:
        return session.exec(select(Member.id).where(Member.user_id == user_id)).one()


def test_in_a_group_a_report_carries_the_bound_person_and_a_stranger_reports_nothing(bot: BotHarness) -> None:
    group = bound_group(bot, -1002001)
    task = bot.task_id(EXHIBITION)
    stranger = bot.server.person(701, "群里的路人")
    unchanged = bot.snapshot()
    refused = bot.say(stranger, f"/report {task} 50% 我替他们报一下", chat_id=group["id"])
    assert "需要您本人先绑定为本单位成员" in refused["text"]
    assert bot.snapshot() == unchanged
    assert "区商务局 未办结任务" in bot.say(stranger, "/mytasks", chat_id=group["id"])["text"]  # reading stays open

    other_unit = bot.join(702, "农业局小陈", Role.MEMBER, "区农业农村局")
    assert "需要您本人先绑定为本单位成员" in bot.say(other_unit, f"/done {task} 已完成", chat_id=group["id"])["text"]

    wang = bot.join(703, "商务局王科长", Role.MEMBER, COMMERCE)
    assert "已记录任务" in bot.say(wang, f"/report {task} 60% 场地已签约", chat_id=group["id"])["text"]
    assert reports(bot) == [("商务局王科长", member_id(bot, 703), "场地已签约")]


def test_the_office_lists_and_unbinds_members_and_revokes_an_unused_code(bot: BotHarness) -> None:
    office = bot.join(711, "督办办小吴", Role.OFFICE)
    wang = bot.join(712, "商务局小王", Role.MEMBER, COMMERCE)
    listing = bot.say(office, "/members 区商务局")["text"]
    number = member_id(bot, 712)
    assert f"{number} 商务局小王（责任单位成员，区商务局）" in listing

    assert "请在命令后写成员编号。用法：/unbind 成员编号" in bot.say(office, "/unbind 小王")["text"]
    assert "已解除" in bot.say(office, f"/unbind {number}")["text"]
    assert "还没有绑定身份" in bot.say(wang, "我的任务")["text"]
    assert "商务局小王" not in bot.say(office, "/members")["text"]
    leader = bot.join(713, "分管领导", Role.LEADER)
    assert "无权解除分管领导的绑定" in bot.say(office, f"/unbind {member_id(bot, 713)}")["text"]
    assert "分管领导" in bot.say(leader, "/help")["text"]

    code = bot.invite(Role.MEMBER, COMMERCE)
    assert "已撤销邀请码" in bot.say(office, f"/revoke {code}")["text"]
    newcomer = bot.server.person(714, "新人")
    assert "已被督办办公室撤销" in bot.say(newcomer, f"/start {code}")["text"]
    # Bound again with a fresh code, the person who was unbound works as before.
    assert "绑定成功" in bot.say(wang, f"/start {bot.invite(Role.MEMBER, COMMERCE)}")["text"]
    with transaction(bot.engine) as session:
        actions = session.exec(select(Event.action).where(col(Event.action).in_(
            ("member.unbound", "invite.revoked", "member.rebound"))).order_by(col(Event.id))).all()
    assert actions == ["member.unbound", "invite.revoked", "member.rebound"]


def test_a_code_never_silently_changes_who_someone_is(bot: BotHarness) -> None:
    office = bot.join(721, "督办办小郑", Role.OFFICE)
    code = bot.invite(Role.MEMBER, COMMERCE)
    unchanged = bot.snapshot()
    answer = bot.say(office, f"/start {code}")["text"]
    assert "已绑定为督办办公室" in answer and "没有改变您的身份" in answer and "/unbind" in answer
    assert bot.snapshot() == unchanged  # the role is the same and the code is still unused
    assert "逾期" in bot.say(office, "/help")["text"]
    group = bound_group(bot, -1002002)
    someone = bot.server.person(722, "群成员")
    other = bot.invite(Role.MEMBER, "区农业农村局")
    assert "本群已绑定为区商务局的责任单位成员" in bot.say(someone, f"/start {other}", chat_id=group["id"])["text"]
