"""WeCom both ways: the official SDK (aibot) against the local double of the robot's long connection.

Every scenario runs the real ``aibot.WSClient`` inside ``WeComChannel``, dialing the double over
wss:// (the only changes to the SDK: its ``ws_url`` option, and the double's certificate added to
the SDK's trust), and ends by checking that stopping left no task behind.
"""

import asyncio
import logging
import os

import pytest

from bot.channels import DeliveryError, Incoming
from bot.channels.wecom import WeComChannel, WeComFileError, WeComStartError
from bot.sandbox.wecom_double import (
    BOT_NOT_IN_CHAT,
    FREQ_OUT_OF_LIMIT,
    INVALID_BOT_ID,
    INVALID_CREDENTIAL,
    IP_NOT_ALLOWED,
    SYSTEM_BUSY,
    WeComDouble,
    trust_double_certificate,
)

MARKDOWN = {"msgtype": "markdown", "markdown": {"content": "**本周任务**\n> 请于周五前报送"}}
CARD = {
    "msgtype": "template_card",
    "template_card": {
        "card_type": "button_interaction",
        "main_title": {"title": "任务 #12", "desc": "防汛物资清点"},
        "task_id": "task-12-1",
        "button_list": [{"text": "已完成", "style": 1, "key": "done:12"}, {"text": "有困难", "style": 2, "key": "help:12"}],
    },
}


class Inbox:
    """What on_incoming was handed, with a wait for the next ones."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, incoming: Incoming) -> None:
        async with self._arrived:
            self.items.append(incoming)
            self._arrived.notify_all()

    async def wait(self, count: int = 1) -> list[Incoming]:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.items) >= count), 5)
        return self.items


def channel_for(double: WeComDouble, inbox: Inbox, secret: str | None = None, bot_id: str | None = None, **options) -> WeComChannel:
    settings = {
        "ws_url": double.ws_url,
        "bot_name": double.bot_name,
        "reconnect_interval_ms": 20,
        "heartbeat_interval_ms": 200,
        "send_timeout": 1.0,
        "ready_timeout": 3.0,
        "watch_interval": 0.05,
        **options,
    }
    return WeComChannel(bot_id or double.bot_id, secret or double.secret, inbox, **settings)


def run(scenario, **double_options):
    """Run ``scenario(double, channel, inbox)`` with the robot online; then stop both, leaving nothing running."""
    trust_double_certificate()

    async def inside():
        inbox = Inbox()
        double = WeComDouble(**double_options)
        await double.start()
        channel = channel_for(double, inbox)
        try:
            await channel.start()
            return await scenario(double, channel, inbox)
        finally:
            await channel.stop()
            await double.stop()
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert left == [], left

    return asyncio.run(inside())


def test_the_robot_subscribes_with_its_id_and_its_secret_stays_out_of_the_log(caplog) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(double, channel, inbox):
        await double.person_says("zhangsan", "你好")
        await inbox.wait()
        return double.frames[0], channel.is_connected, double.subscriptions

    first, connected, subscriptions = run(scenario)
    assert first["cmd"] == "aibot_subscribe" and first["body"]["bot_id"] == "aibDOUBLE0001"
    assert connected and subscriptions == 1
    assert "Authentication successful" in caplog.text
    assert "double-robot-secret-0001" not in caplog.text


@pytest.mark.parametrize(
    ("refusal", "code"),
    [("secret", INVALID_CREDENTIAL), ("ip", IP_NOT_ALLOWED), ("bot", INVALID_BOT_ID)],
)
def test_a_refused_subscription_stops_the_channel_with_a_chinese_reason(refusal, code, caplog) -> None:
    trust_double_certificate()

    async def inside():
        async with WeComDouble() as double:
            if refusal == "ip":
                double.refuse_next_subscribe(code)
            channel = channel_for(
                double,
                Inbox(),
                secret="wrong-secret-000" if refusal == "secret" else None,
                bot_id="aibOTHER0002" if refusal == "bot" else None,
            )
            with pytest.raises(WeComStartError) as refused:
                await channel.start()
            await asyncio.sleep(0.2)  # long enough for the SDK to have dialed again, had it kept trying
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return str(refused.value), channel.state, double.subscriptions, len(double.frames), left

    reason, state, subscriptions, frames, left = asyncio.run(inside())
    assert f"错误码 {code}" in reason and "企业微信拒绝了机器人的登录" in reason
    assert state == "refused" and subscriptions == 0
    assert frames == 1  # one subscription tried, then no redial against a refusal
    assert left == []
    assert "wrong-secret-000" not in caplog.text


def test_a_subscription_refused_for_frequency_is_tried_again_later() -> None:
    trust_double_certificate()

    async def inside():
        inbox = Inbox()
        async with WeComDouble() as double:
            double.refuse_next_subscribe(FREQ_OUT_OF_LIMIT)
            channel = channel_for(double, inbox, busy_backoff=0.1)
            try:
                await channel.start()
                await double.person_says("zhangsan", "登录后第一条")
                await inbox.wait()
                tried = sum(f.get("cmd") == "aibot_subscribe" for f in double.frames)
                return channel.state, tried, double.subscriptions, inbox.items[0].text
            finally:
                await channel.stop()

    assert asyncio.run(inside()) == ("online", 2, 1, "登录后第一条")


def test_stopping_while_waiting_to_dial_again_does_not_wait_out_the_backoff() -> None:
    trust_double_certificate()

    async def inside():
        async with WeComDouble() as double:
            double.refuse_next_subscribe(FREQ_OUT_OF_LIMIT)
            channel = channel_for(double, Inbox(), busy_backoff=600, ready_timeout=0.3)
            await channel.start()
            state = channel.state
            with pytest.raises(DeliveryError):
                await channel.push("zhangsan", False, [MARKDOWN])
            await asyncio.wait_for(channel.stop(), 5)
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return state, channel.state, left

    assert asyncio.run(inside()) == ("connecting", "stopped", [])


def test_a_person_writing_in_the_single_chat_reaches_the_bot_with_no_name_wecom_does_not_give() -> None:
    async def scenario(double, channel, inbox):
        msgid = await double.person_says("zhangsan", "任务12已完成")
        return (await inbox.wait())[0], msgid

    incoming, msgid = run(scenario)
    assert incoming == Incoming(
        channel="wecom", user_ref="zhangsan", address="zhangsan", is_group=False, name="", text="任务12已完成",
        message_id=msgid,
    )


def test_a_group_message_at_the_robot_arrives_for_the_group_without_the_mention() -> None:
    async def scenario(double, channel, inbox):
        await double.person_says("lisi", "本周进度 80%", chat="wrOgQhDgAAcwMTB7YmDkbeBsgT_KAAAA", at_bot=True)
        return (await inbox.wait())[0]

    got = run(scenario)
    assert (got.address, got.user_ref, got.is_group, got.mentions_bot) == (
        "wrOgQhDgAAcwMTB7YmDkbeBsgT_KAAAA",
        "lisi",
        True,
        True,
    )
    assert got.text == "本周进度 80%"


def test_a_voice_message_arrives_as_its_transcript() -> None:
    async def scenario(double, channel, inbox):
        await double.person_speaks("wangwu", "明天上午报送")
        return (await inbox.wait())[0].text

    assert run(scenario) == "明天上午报送"


def test_a_file_arrives_as_a_ref_that_downloads_and_decrypts_to_the_original_bytes() -> None:
    original = os.urandom(1000) + "防汛物资清单".encode()  # not a whole number of cipher blocks

    async def scenario(double, channel, inbox):
        await double.person_sends_file("zhangsan", original, "防汛物资清单.xlsx")
        got = (await inbox.wait())[0]
        return got.files, await channel.fetch_file(got.files[0].ref)

    files, (data, name) = run(scenario)
    assert [f.kind for f in files] == ["document"]
    assert data == original and name == "防汛物资清单.xlsx"


def test_a_picture_and_a_mixed_message_arrive_as_photos() -> None:
    picture = b"\x89PNG\r\n\x1a\n" + os.urandom(300)

    async def scenario(double, channel, inbox):
        await double.person_sends_file("zhangsan", picture, "现场.png", kind="image")
        await double.person_sends_mixed("lisi", "现场照片", picture, chat="wrgroup7")
        photo, mixed = await inbox.wait(2)
        return photo, mixed, await channel.fetch_file(mixed.files[0].ref)

    photo, mixed, (data, _) = run(scenario)
    assert [f.kind for f in photo.files] == ["photo"] and photo.text == ""
    assert mixed.text == "现场照片" and [f.kind for f in mixed.files] == ["photo"] and data == picture


def test_an_expired_file_link_is_a_chinese_sentence_not_a_traceback() -> None:
    async def scenario(double, channel, inbox):
        await double.person_sends_file("zhangsan", b"report", "r.txt")
        got = (await inbox.wait())[0]
        with pytest.raises(WeComFileError) as failed:
            await channel.fetch_file(got.files[0].ref)
        return str(failed.value)

    assert "几分钟内有效" in run(scenario, link_ttl=0)


def test_a_tapped_card_button_arrives_with_its_key() -> None:
    async def scenario(double, channel, inbox):
        await double.person_taps("zhangsan", "done:12", "task-12-1")
        await double.person_taps("lisi", "help:12", "task-12-1", chat="wrgroup7")
        return await inbox.wait(2)

    single, group = run(scenario)
    assert (single.button, single.address, single.text) == ("done:12", "zhangsan", "")
    assert (group.button, group.address, group.user_ref, group.is_group) == ("help:12", "wrgroup7", "lisi", True)


def test_entering_the_chat_is_not_an_action() -> None:
    async def scenario(double, channel, inbox):
        await double.person_enters("zhangsan")
        await double.person_says("zhangsan", "在")
        return [i.text for i in await inbox.wait()]

    assert run(scenario) == ["在"]


def test_a_push_to_a_person_and_to_a_group_is_recorded_with_its_body_intact() -> None:
    async def scenario(double, channel, inbox):
        await double.person_says("zhangsan", "在")
        await double.person_says("lisi", "在", chat="wrgroup7", at_bot=True)
        await inbox.wait(2)
        await channel.push("zhangsan", False, [MARKDOWN, CARD])
        await channel.push("wrgroup7", True, [MARKDOWN])
        return double.messages_to("zhangsan"), double.messages_to("wrgroup7"), [s.chat_type for s in double.sent]

    to_person, to_group, chat_types = run(scenario)
    assert to_person == [MARKDOWN, CARD]
    assert to_group == [MARKDOWN]
    assert chat_types == [1, 1, 2]


def test_a_dropped_connection_is_dialed_again_and_the_next_message_arrives_once() -> None:
    async def scenario(double, channel, inbox):
        double.drop_connection()
        await double.wait_connected(subscriptions=2)
        await double.person_says("zhangsan", "断线后的第一条")
        await double.redeliver_last()  # the platform may send a callback twice
        await double.person_says("zhangsan", "第二条")
        await inbox.wait(2)
        await channel.push("zhangsan", False, [MARKDOWN])
        return [i.text for i in inbox.items], double.messages_to("zhangsan")

    texts, sent = run(scenario)
    assert texts == ["断线后的第一条", "第二条"]
    assert sent == [MARKDOWN]


def test_a_normal_close_by_the_server_is_dialed_again_though_the_sdk_gives_up() -> None:
    async def scenario(double, channel, inbox):
        await double.close_connection(1000)
        await double.wait_connected(subscriptions=2)
        await double.person_says("zhangsan", "回来了")
        return (await inbox.wait())[0].text

    assert run(scenario) == "回来了"


def test_unanswered_heartbeats_end_the_connection_and_it_is_dialed_again() -> None:
    async def scenario(double, channel, inbox):
        double.faults.ignore_heartbeats = True
        await double.wait_for(lambda: not double.connected)
        double.faults.ignore_heartbeats = False
        await double.wait_connected(subscriptions=2)
        await double.person_says("zhangsan", "心跳恢复")
        return (await inbox.wait())[0].text

    assert run(scenario) == "心跳恢复"


def test_a_newer_connection_takes_the_robot_and_the_older_channel_stands_down() -> None:
    async def scenario(double, channel, inbox):
        other_inbox = Inbox()
        other = channel_for(double, other_inbox)
        await other.start()
        try:
            await double.wait_for(lambda: channel.state == "taken_over" and double.takeovers == 1)
            await double.person_says("zhangsan", "给新连接")
            await other_inbox.wait()
            with pytest.raises(DeliveryError) as refused:
                await channel.push("zhangsan", False, [MARKDOWN])
            await other.push("zhangsan", False, [MARKDOWN])
            return refused.value.kind, double.subscriptions, other.is_connected, inbox.items, double.messages_to("zhangsan")
        finally:
            await other.stop()

    kind, subscriptions, other_connected, old_inbox, sent = run(scenario)
    assert kind == "retry_later"
    assert subscriptions == 2 and other_connected  # the older channel did not take the robot back
    assert old_inbox == [] and sent == [MARKDOWN]


def _push_failure(prepare, address="zhangsan", is_group=False, bodies=None, **double_options):
    async def scenario(double, channel, inbox):
        await double.person_says("zhangsan", "在")
        await double.person_says("lisi", "在", chat="wrgroup7", at_bot=True)
        await inbox.wait(2)
        await prepare(double)
        with pytest.raises(DeliveryError) as failed:
            await channel.push(address, is_group, bodies or [MARKDOWN])
        return failed.value, double.sent

    return run(scenario, **double_options)


def test_the_frequency_limit_is_retry_later_after_a_minute() -> None:
    async def prepare(double):
        double.rate_limit(1)

    error, sent = _push_failure(prepare)
    assert (error.kind, error.retry_after) == ("retry_later", 60.0)
    assert "45009" in error.detail and sent == []


def test_a_busy_platform_is_retry_later_without_a_wait() -> None:
    async def prepare(double):
        double.fail_next_sends(1, SYSTEM_BUSY)

    error, _ = _push_failure(prepare)
    assert (error.kind, error.retry_after) == ("retry_later", None)


def test_a_person_who_left_is_unreachable() -> None:
    async def prepare(double):
        double.user_leaves("zhangsan")

    error, _ = _push_failure(prepare)
    assert error.kind == "unreachable" and "60111" in error.detail


def test_a_group_the_robot_was_removed_from_is_unreachable() -> None:
    async def prepare(double):
        double.remove_bot_from("wrgroup7")

    error, _ = _push_failure(prepare, address="wrgroup7", is_group=True)
    assert error.kind == "unreachable"


def test_the_robot_taken_out_of_a_group_answers_93008_unreachable() -> None:
    async def prepare(double):
        double.fail_next_sends(1, BOT_NOT_IN_CHAT)

    error, _ = _push_failure(prepare, address="wrgroup7", is_group=True)
    assert error.kind == "unreachable" and "93008" in error.detail


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"msgtype": "text", "text": {"content": "纯文本"}}, "40008"),
        ({"msgtype": "markdown", "markdown": {"content": " "}}, "44004"),
        ({"msgtype": "markdown", "markdown": {"content": "长" * 7000}}, "45002"),
        ({"msgtype": "template_card", "template_card": {"card_type": "button_interaction"}}, "40058"),
    ],
)
def test_a_body_the_platform_will_never_take_is_dead(body, code) -> None:
    async def prepare(double):
        return None

    error, sent = _push_failure(prepare, bodies=[body])
    assert error.kind == "dead" and code in error.detail and sent == []


def test_an_unanswered_send_is_retry_later_without_a_wait() -> None:
    async def prepare(double):
        double.hang()

    error, _ = _push_failure(prepare)
    assert (error.kind, error.retry_after) == ("retry_later", None)


def test_a_connection_dropped_under_a_send_is_retry_later() -> None:
    async def scenario(double, channel, inbox):
        await double.person_says("zhangsan", "在")
        await inbox.wait()
        double.hang()
        sending = asyncio.ensure_future(channel.push("zhangsan", False, [MARKDOWN]))
        await double.wait_for(lambda: any(f.get("cmd") == "aibot_send_msg" for f in double.frames))
        double.drop_connection()
        with pytest.raises(DeliveryError) as failed:
            await sending
        return failed.value

    error = run(scenario)
    assert (error.kind, error.retry_after) == ("retry_later", None)


def test_a_failure_part_way_names_the_body_and_keeps_the_ones_sent() -> None:
    async def scenario(double, channel, inbox):
        await double.person_says("zhangsan", "在")
        await inbox.wait()
        with pytest.raises(DeliveryError) as failed:
            await channel.push("zhangsan", False, [MARKDOWN, {"msgtype": "markdown", "markdown": {"content": ""}}])
        return failed.value, double.messages_to("zhangsan")

    error, sent = run(scenario)
    assert error.kind == "dead" and "第 2/2 条" in error.detail
    assert sent == [MARKDOWN]


def test_a_push_while_not_connected_is_retry_later() -> None:
    trust_double_certificate()

    async def inside():
        async with WeComDouble() as double:
            channel = channel_for(double, Inbox())
            with pytest.raises(DeliveryError) as before:
                await channel.push("zhangsan", False, [MARKDOWN])
            await channel.start()
            await channel.stop()
            with pytest.raises(DeliveryError) as after:
                await channel.push("zhangsan", False, [MARKDOWN])
            return before.value.kind, after.value.kind

    assert asyncio.run(inside()) == ("retry_later", "retry_later")


class QuietLog:
    """The SDK's logger interface, saying nothing (its default prints to stderr)."""

    def debug(self, message, *args):
        return None

    info = warn = error = debug


def test_the_double_takes_a_reply_echoing_a_callbacks_req_id_and_refuses_any_other() -> None:
    """The SDK's reply path, straight on the double (the sandbox answers through it)."""
    from aibot import WSClient, WSClientOptions

    trust_double_certificate()

    async def inside():
        async with WeComDouble() as double:
            options = WSClientOptions(bot_id=double.bot_id, secret=double.secret, ws_url=double.ws_url, logger=QuietLog())
            client = WSClient(options)
            frames: asyncio.Queue = asyncio.Queue()
            client.on("message.text", frames.put_nowait)
            client.on("error", lambda error: None)
            await client.connect()
            await double.wait_connected()
            await double.person_says("lisi", "进度？", chat="wrgroup7", at_bot=True)
            frame = await asyncio.wait_for(frames.get(), 5)
            await client.reply_stream(frame, "stream-1", "**已收到**", finish=True)
            with pytest.raises(RuntimeError) as refused:
                await client.reply({"headers": {"req_id": "made-up"}}, {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "x"}})
            before = asyncio.all_tasks()
            client.disconnect()
            await asyncio.wait(asyncio.all_tasks() - before, timeout=5)
            return double.messages_to("wrgroup7"), str(refused.value)

    replies, refusal = asyncio.run(inside())
    assert replies == [{"msgtype": "stream", "stream": {"id": "stream-1", "finish": True, "content": "**已收到**"}}]
    assert "errcode=846605" in refusal
