"""`taskbot run` without a token: the local sandbox with its personas, driven by a script on stdin."""

import io
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.cli import CHANNELS, main
from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.models import Member, Task
from tasks.plan.importer import import_file, prepare_database
from tasks.plan.units import UnitDirectory


def exhibition_task_id(database_url: str) -> int:
    engine = make_engine(database_url)
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    clock = FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC))
    prepare_database(engine, directory, clock, Actor("test", "cli"))
    import_file(engine, seed_path(MENTOUGOU_2021), clock, Actor("test", "cli"), district=directory.district)
    with transaction(engine) as session:
        return session.exec(select(Task.id).where(Task.ref.contains("武川县消费扶贫展销服务中心运营项目"))).one()


# Where the buttons are, by platform: WeCom sends a message's buttons on a card of their own, after its words.
CARD_BUTTONS = {"telegram": 1, "dingtalk": 1, "wecom": 2, "feishu": 1}
OFFICE_NOTICE = {"telegram": (4, 4), "dingtalk": (4, 4), "wecom": (5, 6), "feishu": (4, 4)}  # its words, its buttons
STARTED = {"telegram": "不连接 Telegram。", "dingtalk": "沙盒：钉钉（本机模拟服务器，经官方 SDK 连接）",
           "wecom": "沙盒：企业微信（本机模拟服务器，经官方 SDK 连接）",
           "feishu": "沙盒：飞书（本机模拟服务器，经官方 SDK 连接）"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_unit_reports_completion_and_the_office_verifies_in_the_sandbox(database_url: str, channel: str,
                                                                          monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    task = exhibition_task_id(database_url)
    notice, notice_buttons = OFFICE_NOTICE[channel]
    script = "\n".join([
        f"/task {task}",                         # the card, with its buttons
        f":tap {CARD_BUTTONS[channel]} 办结",     # the question
        "展销中心已开业",                          # the unit's confirmation, the office's notice
        ":as 督办办",
        f":tap {notice_buttons} 审核通过",        # the unit hears, the office is answered
        ":as 4",
        "/stats",
        ":wait 2d",                              # Monday: a unit with overdue tasks is reminded
        ":quit",
    ]) + "\n"
    out = io.StringIO()
    # A Saturday that is not a make-up working day: the planner sends nothing, so message numbers are ours.
    code = main(["--database-url", database_url, "--now", "2021-09-04T10:00", "run", "--channel", channel],
                stdin=io.StringIO(script), stdout=out)
    text = out.getvalue()
    assert code == 0, text
    assert "启动本地沙盒" in text and STARTED[channel] in text and "内置身份" in text
    assert f"[{notice}] 督办助手 → 督办办·赵主任\n📥 办结申请（区商务局，商务局·王科长）" in text, text
    # The unit hears (a notification) and the office is answered (a reply), in either order.
    assert re.search(r"\[\d+\] 督办助手 → 商务局·王科长\n✅ 已审核通过", text), text
    assert "完成情况统计" in text and "已办结 1" in text
    monday = text.partition("沙盒时间：2021-09-06 10:00")[2]
    assert re.search(r"\[\d+\] 督办助手 → 农业农村局·李科长\n📋 督办提醒：本单位有 \d+ 项任务需要办理", monday), text
    with transaction(make_engine(database_url)) as session:
        # The personas and the unit group, bound with invite codes, on the platform played.
        assert [member.channel for member in session.exec(select(Member)).all()] == [channel] * 5


@pytest.mark.parametrize("channel", CHANNELS)
def test_personas_are_bound_once(database_url: str, channel: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    for _ in range(2):
        out = io.StringIO()
        assert main(["--database-url", database_url, "sandbox", "--channel", channel], stdin=io.StringIO("我的任务\n"),
                    stdout=out) == 0
        assert "区商务局 未办结任务" in out.getvalue()
    with transaction(make_engine(database_url)) as session:
        assert len(session.exec(select(Member)).all()) == 5


def test_administrator_creates_invites_from_the_command_line(database_url: str, capsys) -> None:
    out = io.StringIO()
    assert main(["--database-url", database_url, "invite", "区科信局"], stdout=out) == 0
    assert "区科技和信息化局 责任单位成员" in out.getvalue() and "/start " in out.getvalue()
    out = io.StringIO()
    assert main(["--database-url", database_url, "invite", "--role", "leader"], stdout=out) == 0
    assert "分管领导" in out.getvalue()
    assert main(["--database-url", database_url, "invite"], stdout=io.StringIO()) == 1
    assert "必须指定单位" in capsys.readouterr().err


def test_the_sandboxs_unit_group_hears_commands_until_privacy_is_switched_off(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    script = "\n".join([":help", ":who", ":as 工作群", "我的任务", "/mytasks", ":privacy off", "我的任务", ":quit"]) + "\n"
    out = io.StringIO()
    assert main(["--database-url", database_url, "--now", "2021-09-04T10:00", "run"], stdin=io.StringIO(script),
                stdout=out) == 0
    text = out.getvalue()
    assert ":privacy off" in text and "切换身份" in text and "Messages" not in text  # :help, in Chinese
    assert "农业农村局工作群·李科长（责任单位成员，区农业农村局，在区农业农村局工作群里发言）" in text
    assert "督办办·赵主任（督办办公室）" in text
    # Under privacy mode the words never reach the bot, and the console says why; the command does.
    assert "机器人收不到群里的这句话" in text
    assert text.count("区农业农村局 未办结任务") == 2  # /mytasks, then the words once privacy is off


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_on_a_domestic_platform_the_unit_group_persona_at_s_the_bot(database_url: str, channel: str,
                                                                     monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    script = "\n".join([":as 工作群", "我的任务", ":privacy off", ":reply 1 好的", ":help", ":quit"]) + "\n"
    out = io.StringIO()
    assert main(["--database-url", database_url, "--now", "2021-09-04T10:00", "run", "--channel", channel],
                stdin=io.StringIO(script), stdout=out) == 0
    text = out.getvalue()
    # The words reach the bot (a bot there hears a group only when @-ed), and it answers in the group.
    assert re.search(r"\[1\] 督办助手 → 农业农村局工作群·李科长\n区农业农村局 未办结任务", text), text
    assert "机器人收不到" not in text
    assert ":privacy 是 Telegram 的功能" in text and ":reply 是 Telegram 的功能" in text
    assert ":privacy off" not in text.partition("[农业农村局工作群·李科长]> :help")[2]  # nor in its help
