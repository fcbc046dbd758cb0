"""`taskbot worker` on the domestic platforms: it delivers each configured platform's share of the
outbox beside the one `taskbot run`, without opening any app's long connection (people's messages
stay with `taskbot run`), and leaves to `taskbot run` what only that connection can carry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.channels.feishu import file_ref
from bot.channels.runtime import DomesticChannels, DomesticPlan, waiting_without_a_way
from bot.config import DomesticSettings
from bot.context import BotContext
from bot.render import Attachment, Reply
from bot.sandbox.dingtalk_double import DingTalkDouble
from bot.sandbox.feishu_double import FeishuDouble
from bot.sandbox.robot_double import Robot, RobotDouble
from bot.sandbox.server import SandboxServer
from bot.sender import TelegramTransport
from bot.telegram_http import make_bot
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Outbox
from tasks.notifications import NotificationKind, Urge
from tasks.outbox import enqueue
from tests.chats import dingtalk_office
from tests.databases import empty_postgres
from tests.factories import COMMERCE

NOW = "2021-09-01T09:00"
CLOCK = FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC))  # NOW in Beijing: every row below is due
DINGTALK_ROBOT_SECRET = "SEC7f3e9a1c5b2d8e4f6a0b9c7d5e3f1a2b4c6d8e0f"
WECOM_BOT_SECRET = "wecom-bot-secret-never-printed-0001"
CONTRACT = b"%PDF-1.4 operating contract of the exhibition centre"


class Office:
    """An office on DingTalk (app and a group robot) and WeCom (a group robot, its app served by
    `taskbot run`), as the configuration file and the environment describe it to a process."""

    def __init__(self, tmp_path: Path, dingtalk: DingTalkDouble, robots: RobotDouble) -> None:
        self.wecom_robot = robots.add_robot("wecom")
        configured = dingtalk_office(tmp_path, dingtalk, robots, DINGTALK_ROBOT_SECRET, more_toml=f"""
[channels.wecom]
enabled = true

[[channels.wecom.robots]]
name = "区商务局企业微信群"
unit = "{COMMERCE}"
webhook_env = "TASKBOT_WECOM_ROBOT_SHANGWU"
""", more_env={"TASKBOT_WECOM_ROBOT_SHANGWU": robots.url_for("wecom", self.wecom_robot.token),
               "TASKBOT_WECOM_BOT_ID": "wecom-bot-id", "TASKBOT_WECOM_BOT_SECRET": WECOM_BOT_SECRET})
        self.dingtalk_robot, self.env = configured.robot, configured.env
        self.secrets = [dingtalk.client_secret, DINGTALK_ROBOT_SECRET, WECOM_BOT_SECRET,
                        self.dingtalk_robot.token, self.wecom_robot.token]

    def worker(self, database_url: str) -> subprocess.Popen[str]:
        """`taskbot worker --until-idle` with no Telegram token, as an office on DingTalk and WeCom starts one."""
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "--database-url", database_url, "--now", NOW,
                                 "worker", "--until-idle"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def queue_urge(session: Session, channel: str, address: str, note: str) -> None:
    """One 催办 for one address, saying ``note`` (a row the planner would write for a member there)."""
    enqueue(session, CLOCK, SimpleNamespace(id=None, channel=channel, address=address), NotificationKind.URGE,
            Urge(urger="督办办", note=note, unit=COMMERCE, tasks=[]), f"urge:{note}")


def said(texts: list[object], note: str) -> int:
    return sum(note in str(text) for text in texts)


def robot_says(robots: RobotDouble, robot: Robot, note: str) -> int:
    return said(robots.messages(robot), note)


def test_a_worker_without_telegram_delivers_dingtalk_and_the_robots_and_leaves_wecom_s_app_to_run(
        database_url: str, tmp_path: Path, dingtalk: DingTalkDouble, robots: RobotDouble) -> None:
    office = Office(tmp_path, dingtalk, robots)
    dingtalk.person("staff-wang", "王科长")
    engine = make_engine(database_url)
    subprocess.run([sys.executable, "-m", "bot.cli", "--database-url", database_url, "init"], env=office.env,
                   check=True, capture_output=True)
    with transaction(engine) as session:
        queue_urge(session, "dingtalk", "user:staff-wang", "请王科长本周报送")
        queue_urge(session, "dingtalk", "robot:区商务局工作群", "请商务局钉钉群本周报送")
        queue_urge(session, "wecom", "robot:区商务局企业微信群", "请商务局企业微信群本周报送")
        queue_urge(session, "wecom", "user:zhangsan", "请张三本周报送")
    worker = office.worker(database_url)
    out, err = worker.communicate(timeout=120)
    print(out, err)  # shown when the test fails
    assert worker.returncode == 0, err
    # It says in one line what it delivers and what it leaves to `taskbot run`.
    [share] = [line for line in out.splitlines() if line.startswith("本进程发送提醒")]
    assert "钉钉（群机器人、应用消息）" in share and "企业微信（群机器人）" in share
    assert "企业微信的应用消息" in share.split("留给 taskbot run")[1]

    assert said([push.msg_param for push in dingtalk.messages_to("staff-wang")], "请王科长本周报送") == 1
    assert robot_says(robots, office.dingtalk_robot, "请商务局钉钉群本周报送") == 1
    assert robot_says(robots, office.wecom_robot, "请商务局企业微信群本周报送") == 1
    assert robots.refusals == []
    assert dingtalk.open_requests == [] and dingtalk.connections == []  # no Stream connection was opened
    with Session(engine) as session:
        rows = {row.address: row for row in session.exec(select(Outbox)).all()}
    assert {address: row.status for address, row in rows.items()} == {
        "user:staff-wang": "sent", "robot:区商务局工作群": "sent", "robot:区商务局企业微信群": "sent",
        "user:zhangsan": "pending"}
    assert rows["user:zhangsan"].attempts == 0  # never claimed: it waits for `taskbot run`'s connection
    engine.dispose()
    for secret in office.secrets:
        assert secret not in out and secret not in err


def test_two_workers_on_postgresql_deliver_each_domestic_row_once(
        postgres_database: str, tmp_path: Path, dingtalk: DingTalkDouble, robots: RobotDouble) -> None:
    empty_postgres(postgres_database)
    office = Office(tmp_path, dingtalk, robots)
    subprocess.run([sys.executable, "-m", "bot.cli", "--database-url", postgres_database, "init"], env=office.env,
                   check=True, capture_output=True)
    engine = make_engine(postgres_database)
    people = [f"staff-{n}" for n in range(15)]
    with transaction(engine) as session:
        for person in people:
            dingtalk.person(person, person)
            queue_urge(session, "dingtalk", f"user:{person}", f"第{person}号")
        for n in range(8):  # under the robots' twenty a minute: the pace is not what this test is about
            queue_urge(session, "dingtalk", "robot:区商务局工作群", f"钉钉群第{n}条")
            queue_urge(session, "wecom", "robot:区商务局企业微信群", f"企业微信群第{n}条")
            queue_urge(session, "wecom", f"user:wecom-{n}", f"企业微信个人第{n}条")
    workers = [office.worker(postgres_database) for _ in range(2)]
    outcomes = [(worker.communicate(timeout=180), worker.returncode) for worker in workers]
    assert all(code == 0 for _, code in outcomes), outcomes

    pushed = Counter(str(push.msg_param) for push in dingtalk.pushes)
    assert len(pushed) == len(people) and max(pushed.values()) == 1
    for n in range(8):
        assert robot_says(robots, office.dingtalk_robot, f"钉钉群第{n}条") == 1
        assert robot_says(robots, office.wecom_robot, f"企业微信群第{n}条") == 1
    with Session(engine) as session:
        statuses = Counter((row.channel, row.address.split(":")[0], row.status, row.attempts)
                           for row in session.exec(select(Outbox)).all())
    assert statuses == {("dingtalk", "user", "sent", 1): 15, ("dingtalk", "robot", "sent", 1): 8,
                        ("wecom", "robot", "sent", 1): 8, ("wecom", "user", "pending", 0): 8}
    engine.dispose()


def test_a_worker_fetches_a_file_sent_on_dingtalk_for_telegram_without_the_stream(
        tmp_path: Path, dingtalk: DingTalkDouble) -> None:
    """Evidence a unit sent on DingTalk, in a Telegram message a worker sends: fetched over the
    OpenAPI (messageFiles/download), no Stream connection opened."""
    ctx = BotContext(make_engine(f"sqlite:///{tmp_path / 'unused.db'}"), CLOCK, ZoneInfo("Asia/Shanghai"), "门头沟区")
    settings = DomesticSettings(enabled=True, app_id=dingtalk.client_id, app_secret=dingtalk.client_secret)
    channels = DomesticChannels(ctx, [DomesticPlan("dingtalk", settings, api_base=dingtalk.base_url)], listen=False)
    code = dingtalk.download_code_of(dingtalk.person_sends_file("staff-wang", "运营合同.pdf", CONTRACT))
    server = SandboxServer().start_in_thread()
    server.person(301, "督办办老李")

    async def send() -> None:
        await channels.start()
        try:
            async with make_bot(server.token, server.base_url) as bot:
                reply = Reply(["证明材料"], files=[Attachment("document", "运营合同.pdf", file_id=code, channel="dingtalk")])
                await TelegramTransport(bot, ctx.file_sources).deliver("301", reply, None, reserved=None,
                                                                        sent_marks=[])
        finally:
            await channels.stop()

    try:
        asyncio.run(send())
        [document] = [message for message in server.messages(301) if "document" in message]
        assert server.state.files[document["document"]["file_id"]][0] == CONTRACT
        assert dingtalk.open_requests == [] and dingtalk.connections == []
    finally:
        server.stop()
        ctx.engine.dispose()


def test_a_worker_pushes_to_feishu_and_fetches_its_files_without_the_long_connection(tmp_path: Path) -> None:
    feishu = FeishuDouble().start_in_thread()
    ctx = BotContext(make_engine(f"sqlite:///{tmp_path / 'unused.db'}"), CLOCK, ZoneInfo("Asia/Shanghai"), "门头沟区")
    settings = DomesticSettings(enabled=True, app_id=feishu.app_id, app_secret=feishu.app_secret)
    channels = DomesticChannels(ctx, [DomesticPlan("feishu", settings, api_base=feishu.base_url)], listen=False)
    person = feishu.person(name="王科长")
    message_id, key = feishu.person_sends_file(person.open_id, CONTRACT, "运营合同.pdf")

    async def push_and_fetch() -> bytes:
        [transport] = await channels.start()
        try:
            await transport.deliver(f"user:{person.open_id}", Reply(["请本周报送"]), None, reserved=None,
                                    sent_marks=[])
            return await ctx.file_sources["feishu"](file_ref(message_id, "file", key))
        finally:
            await channels.stop()

    try:
        assert asyncio.run(push_and_fetch()) == CONTRACT
        assert said(feishu.messages_to(person.open_id), "请本周报送") == 1
        assert feishu.connections_made == 0 and feishu.endpoint_calls == 0
    finally:
        feishu.stop()
        ctx.engine.dispose()


def test_notifications_no_configured_process_can_send_are_said_at_start(engine) -> None:
    """Rows for a platform taken out of the file, for an app's people on a platform left with robots
    only, for Telegram without a token: kept, and said once in words, each with what sends them."""
    with transaction(engine) as session:
        queue_urge(session, "telegram", "4711", "电报")
        queue_urge(session, "dingtalk", "user:staff-wang", "钉钉个人")
        queue_urge(session, "dingtalk", "group:cid-1", "钉钉群")
        queue_urge(session, "dingtalk", "robot:商务局群", "钉钉机器人")
        queue_urge(session, "feishu", "user:ou_1", "飞书个人")
        queue_urge(session, "wecom", "robot:农业群", "企业微信机器人")
    ctx = BotContext(engine, CLOCK, ZoneInfo("Asia/Shanghai"), "门头沟区")
    robots_only = DomesticSettings(enabled=True)
    with_app = DomesticSettings(enabled=True, app_id="id", app_secret="secret")
    said = waiting_without_a_way(ctx, [DomesticPlan("dingtalk", robots_only), DomesticPlan("wecom", robots_only)],
                                 telegram=False)
    assert said == ["2 条钉钉应用消息（发给个人或应用所在的群）在等待发送：[channels.dingtalk] 只配置了群机器人，"
                    "设置 TASKBOT_DINGTALK_CLIENT_ID 和 TASKBOT_DINGTALK_CLIENT_SECRET 后发出。",
                    "1 条飞书通知在等待发送：配置文件启用 [channels.feishu] 后发出。",
                    "1 条 Telegram 通知在等待发送：设置 TASKBOT_TOKEN 后由 taskbot run 或 worker 发出。"]
    everything = [DomesticPlan(channel, with_app) for channel in ("dingtalk", "wecom", "feishu")]  # type: ignore[arg-type]
    assert waiting_without_a_way(ctx, everything, telegram=True) == []
    with transaction(engine) as session:  # nothing was failed or changed by saying so
        assert {row.status for row in session.exec(select(Outbox))} == {"pending"}
