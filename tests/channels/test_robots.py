"""Group robots over real HTTP on the loopback: the client signs and posts, the double answers as each platform does."""

import asyncio
import logging
import socket
import time

import aiohttp
import pytest

from bot.channels import DeliveryError
from bot.channels.robots import RobotClient, RobotHook, RobotLimits, dingtalk_sign, robot_limits
from bot.sandbox.robot_double import RobotDouble

DINGTALK_SECRET = "SEC0c3d9b2f5e8a41d7a1b6c4e2f9d8a7b6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0"
FEISHU_SECRET = "fsS3cretQk2mZ8vT1wXy"

BODIES = {
    "dingtalk": {"msgtype": "markdown", "markdown": {"title": "本周进展", "text": "### 本周进展\n- 城建局：3 项逾期"}},
    "wecom": {"msgtype": "markdown", "markdown": {"content": "**本周进展**\n> 城建局：3 项逾期"}},
    "feishu": {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": "本周进展"}},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "城建局：3 项逾期"}}],
        },
    },
}
SECRETS = {"dingtalk": DINGTALK_SECRET, "wecom": "", "feishu": FEISHU_SECRET}


class Clock:
    """Real time, moved on by the test: the client signs with real time, the double judges by this clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def scenario(work, *, timeout: float = 2.0, client_clock=time.time):
    async def inside():
        clock = Clock()
        async with RobotDouble(clock) as double, RobotClient(timeout=timeout, clock=client_clock) as client:
            return await work(double, client, clock)

    return asyncio.run(inside())


async def refused(client: RobotClient, hook: RobotHook, body: dict) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await client.post(hook, body)
    return caught.value


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
@pytest.mark.parametrize("signed", [True, False])
def test_a_message_reaches_the_group_on_each_platform(channel, signed):
    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel] if signed else "")
        await client.post(double.hook(robot, "城建局工作群"), BODIES[channel])
        return double.messages(robot), double.refusals

    messages, refusals = scenario(work)
    assert refusals == []
    assert len(messages) == 1
    sent = {key: value for key, value in messages[0].items() if key not in ("timestamp", "sign")}
    assert sent == BODIES[channel]


@pytest.mark.parametrize(("channel", "code"), [("dingtalk", 310000), ("feishu", 19021)])
def test_a_wrong_secret_makes_the_robot_unreachable_and_no_credential_is_shown(channel, code, caplog):
    caplog.set_level(logging.DEBUG)

    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        hook = double.hook(robot, "区政府领导群", secret="SECwrongwrongwrongwrong")
        error = await refused(client, hook, BODIES[channel])
        return robot.token, error, double.refusals, double.messages(robot)

    token, error, refusals, messages = scenario(work)
    assert error.kind == "unreachable"
    assert "区政府领导群" in error.detail
    for credential in (token, SECRETS[channel], "SECwrongwrongwrongwrong"):
        assert credential not in error.detail
        assert credential not in caplog.text
    assert [r.code for r in refusals] == [code]
    assert messages == []


def test_a_dingtalk_signature_with_plus_and_slash_survives_the_query_string():
    # Unencoded, a "+" in the base64 signature reaches DingTalk as a space and the message is refused.
    now = int(time.time() * 1000)
    stamp = next(ms for ms in range(now, now + 10_000) if "+" in (sign := dingtalk_sign(DINGTALK_SECRET, ms))
                 and "/" in sign)

    async def work(double, client, _clock):
        robot = double.add_robot("dingtalk", secret=DINGTALK_SECRET)
        await client.post(double.hook(robot), BODIES["dingtalk"])
        return len(double.messages(robot)), double.refusals

    assert scenario(work, client_clock=lambda: (stamp + 0.5) / 1000) == (1, [])


@pytest.mark.parametrize("channel", ["dingtalk", "feishu"])
def test_a_signature_from_a_clock_hours_off_is_refused(channel):
    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        return await refused(client, double.hook(robot), BODIES[channel]), double.refusals

    error, refusals = scenario(work, client_clock=lambda: time.time() - 2 * 3600)
    assert error.kind == "unreachable"
    assert refusals[0].message in ("invalid timestamp",
                                   "sign match fail or timestamp is not within one hour from current time")


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_a_robot_takes_exactly_its_limit_and_the_platform_refuses_the_next(channel):
    limits = robot_limits(channel)

    async def work(double, client, clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        hook = double.hook(robot)
        for sent in range(limits.per_minute):
            if limits.per_second and sent and sent % limits.per_second == 0:
                clock.advance(1.0)
            await client.post(hook, BODIES[channel])
        error = await refused(client, hook, BODIES[channel])
        return error, len(double.messages(robot)), [r.code for r in double.refusals]

    error, taken, codes = scenario(work)
    assert taken == limits.per_minute
    assert error.kind == "retry_later"
    assert codes == [{"dingtalk": 130101, "wecom": 45009, "feishu": 11232}[channel]]
    assert error.retry_after == {"dingtalk": 600, "wecom": 60, "feishu": 60}[channel]


def test_the_limits_the_flood_budget_is_given():
    assert robot_limits("dingtalk") == RobotLimits(per_minute=20, per_second=None, penalty_seconds=600)
    assert robot_limits("wecom") == RobotLimits(per_minute=20, per_second=None, penalty_seconds=60)
    assert robot_limits("feishu") == RobotLimits(per_minute=100, per_second=5, penalty_seconds=0)


def test_dingtalk_keeps_a_robot_that_sent_too_fast_throttled_for_ten_minutes_and_others_free():
    async def work(double, client, clock):
        busy = double.add_robot("dingtalk", secret=DINGTALK_SECRET)
        other = double.add_robot("dingtalk")
        for _ in range(20):
            await client.post(double.hook(busy), BODIES["dingtalk"])
        first = await refused(client, double.hook(busy), BODIES["dingtalk"])
        await client.post(double.hook(other), BODIES["dingtalk"])  # the limit is each robot's own
        clock.advance(5 * 60)  # the minute is long past, the throttle is not
        still = await refused(client, double.hook(busy), BODIES["dingtalk"])
        clock.advance(5 * 60 + 1)
        await client.post(double.hook(busy), BODIES["dingtalk"])
        return first, still, len(double.messages(busy)), len(double.messages(other))

    first, still, busy_taken, other_taken = scenario(work)
    assert (first.kind, first.retry_after) == ("retry_later", 600)
    assert (still.kind, still.retry_after) == ("retry_later", 600)
    assert (busy_taken, other_taken) == (21, 1)


def test_wecom_takes_messages_again_once_the_minute_has_passed():
    async def work(double, client, clock):
        robot = double.add_robot("wecom")
        for _ in range(20):
            await client.post(double.hook(robot), BODIES["wecom"])
        error = await refused(client, double.hook(robot), BODIES["wecom"])
        clock.advance(61)
        await client.post(double.hook(robot), BODIES["wecom"])
        return error, len(double.messages(robot)), double.refusals[0].message

    error, taken, message = scenario(work)
    assert (error.kind, error.retry_after) == ("retry_later", 60)
    assert message.startswith("api freq out of limit")
    assert taken == 21


def test_feishu_refuses_a_sixth_message_within_one_second():
    async def work(double, client, clock):
        robot = double.add_robot("feishu", secret=FEISHU_SECRET)
        for _ in range(5):
            await client.post(double.hook(robot), BODIES["feishu"])
        error = await refused(client, double.hook(robot), BODIES["feishu"])
        clock.advance(1.0)
        await client.post(double.hook(robot), BODIES["feishu"])
        return error, [r.code for r in double.refusals], len(double.messages(robot))

    error, codes, taken = scenario(work)
    assert (error.kind, error.retry_after) == ("retry_later", 60)
    assert codes == [11232]
    assert taken == 6


@pytest.mark.parametrize("channel", ["dingtalk", "wecom", "feishu"])
def test_a_server_error_is_tried_again_later_with_no_wait_named(channel):
    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        double.fail_next(1, status=502)
        error = await refused(client, double.hook(robot), BODIES[channel])
        await client.post(double.hook(robot), BODIES[channel])
        return error, len(double.messages(robot))

    error, taken = scenario(work)
    assert (error.kind, error.retry_after) == ("retry_later", None)
    assert taken == 1


def test_no_answer_within_the_timeout_is_tried_again_later():
    async def work(double, client, _clock):
        robot = double.add_robot("wecom")
        double.hang_next(5.0)
        return robot.token, await refused(client, double.hook(robot), BODIES["wecom"])

    token, error = scenario(work, timeout=0.3)
    assert (error.kind, error.retry_after) == ("retry_later", None)
    assert token not in error.detail


def test_a_robot_address_nobody_listens_on_is_tried_again_later():
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = RobotHook("wecom", "教育局工作群", f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4")

    async def work():
        async with RobotClient(timeout=2.0) as client:
            return await refused(client, hook, BODIES["wecom"])

    error = asyncio.run(work())
    assert (error.kind, error.retry_after) == ("retry_later", None)
    assert "693a91f6-7xxx-4bc4" not in error.detail


@pytest.mark.parametrize(("channel", "code"), [("dingtalk", 300005), ("wecom", 93000), ("feishu", 19001)])
def test_a_robot_removed_from_its_group_is_unreachable(channel, code):
    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        await client.post(double.hook(robot), BODIES[channel])
        double.revoke(robot)
        error = await refused(client, double.hook(robot), BODIES[channel])
        return robot.token, error, [r.code for r in double.refusals]

    token, error, codes = scenario(work)
    assert error.kind == "unreachable"
    assert codes == [code]
    assert token not in error.detail


@pytest.mark.parametrize(
    ("channel", "body", "code"),
    [
        ("dingtalk", {"msgtype": "voice", "voice": {"media_id": "x"}}, 400105),
        ("dingtalk", {"msgtype": "markdown", "markdown": {"title": "周报"}}, 40035),
        ("dingtalk", {"msgtype": "text", "text": {"content": "逾期" * 8000}}, 460101),
        ("wecom", {"msgtype": "markdown", "markdown": {"content": ""}}, 44004),
        ("wecom", {"msgtype": "markdown", "markdown": {"content": "逾期" * 1400}}, 40058),
        ("wecom", {"msgtype": "card", "card": {}}, 40008),
        ("feishu", {"msg_type": "interactive"}, 9499),
        ("feishu", {"content": {"text": "周报"}}, 19002),
        ("feishu", {"msg_type": "text", "content": {"text": "逾期" * 8000}}, 9499),
    ],
)
def test_a_message_the_platform_cannot_take_is_dead(channel, body, code):
    async def work(double, client, _clock):
        robot = double.add_robot(channel, secret=SECRETS[channel])
        error = await refused(client, double.hook(robot), body)
        return error, [r.code for r in double.refusals], double.messages(robot)

    error, codes, messages = scenario(work)
    assert error.kind == "dead"
    assert codes == [code]
    assert str(code) in error.detail
    assert messages == []


def test_a_session_given_to_the_client_is_left_open_for_its_owner():
    async def work():
        async with RobotDouble() as double, aiohttp.ClientSession() as session:
            robot = double.add_robot("wecom")
            async with RobotClient(session) as client:
                await client.post(double.hook(robot), BODIES["wecom"])
            return session.closed, len(double.messages(robot))

    assert asyncio.run(work()) == (False, 1)


MENTION_BODIES = {
    # (body, whom the group sees @'d) — what the platforms document: DingTalk @s on text and markdown
    # (markdown only where the text names the number), WeCom on text only.
    "dingtalk text": ({"msgtype": "text", "text": {"content": "请报进展"},
                       "at": {"atMobiles": ["13800000001"], "isAtAll": False}}, ("13800000001",)),
    "dingtalk markdown": ({"msgtype": "markdown", "markdown": {"title": "提醒", "text": "请报进展 @13800000001"},
                           "at": {"atMobiles": ["13800000001", "13800000002"]}}, ("13800000001",)),
    "dingtalk card": ({"msgtype": "actionCard", "actionCard": {"title": "提醒", "text": "请报进展 @13800000001"},
                       "at": {"atMobiles": ["13800000001"]}}, ()),
    "wecom text": ({"msgtype": "text", "text": {"content": "请留意", "mentioned_mobile_list": ["13800000001"]}},
                   ("13800000001",)),
    "wecom markdown": ({"msgtype": "markdown", "markdown": {"content": "请留意",
                                                            "mentioned_mobile_list": ["13800000001"]}}, ()),
}


@pytest.mark.parametrize("case", list(MENTION_BODIES))
def test_the_double_records_whom_a_message_ats_as_the_platform_shows_it(case):
    body, expected = MENTION_BODIES[case]

    async def work(double, client, _clock):
        robot = double.add_robot(case.split()[0])
        await client.post(double.hook(robot), body)
        return double.mentioned(robot), double.refusals

    mentioned, refusals = scenario(work)
    assert refusals == [] and mentioned == [expected]


@pytest.mark.parametrize(("channel", "body", "code"), [
    ("dingtalk", {"msgtype": "text", "text": {"content": "提醒"}, "at": {"atMobiles": "13800000001"}}, 40035),
    ("dingtalk", {"msgtype": "text", "text": {"content": "提醒"}, "at": {"isAtAll": "false"}}, 40035),
    ("wecom", {"msgtype": "text", "text": {"content": "提醒", "mentioned_mobile_list": [13800000001]}}, 40058),
])
def test_a_mention_field_of_the_wrong_type_is_refused_and_the_message_is_dead(channel, body, code):
    async def work(double, client, _clock):
        robot = double.add_robot(channel)
        error = await refused(client, double.hook(robot), body)
        return error, double.refusals, double.messages(robot)

    error, refusals, messages = scenario(work)
    assert error.kind == "dead" and [r.code for r in refusals] == [code] and messages == []
