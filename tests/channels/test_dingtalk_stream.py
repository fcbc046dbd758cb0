"""DingTalk both ways: the official dingtalk-stream SDK connected to the local double, our channel around it.

People's messages arrive over a real Stream connection (handshake, ticket, CALLBACK frames, ACKs);
the bot's messages go out through the robot OpenAPI the double answers as DingTalk does.
"""

import asyncio
import logging
import threading

import pytest
from dingtalk_stream import ChatbotHandler, ChatbotMessage

from bot.channels import DeliveryError, Incoming, IncomingFile
from bot.channels.dingtalk import APP_REFUSED_WAIT, DingTalkChannel
from bot.sandbox.dingtalk_double import ROBOT_TOPIC, DingTalkDouble

PERSON = "manager4521"
GROUP = "cidGroupSupervision01"
MARKDOWN = {"msgtype": "markdown", "markdown": {"title": "本周任务", "text": "### 本周任务\n- 报送台账 **周五前**"}}
CARD = {"msgtype": "actionCard", "actionCard": {
    "title": "请确认", "text": "任务已下发，请确认",
    "btns": [{"title": "已完成", "actionURL": "dtmd://dingtalkclient/sendMessage?content=%E6%8C%89%E9%92%AE%20done"},
             {"title": "延期", "actionURL": "dtmd://dingtalkclient/sendMessage?content=%E6%8C%89%E9%92%AE%20later"}]}}


def run(work, *, timeout: float = 2.0, clock=None, refuse_first: int = 0):
    """Run ``work(double, channel, received)`` with the SDK connected to a fresh double; leave nothing running.

    ``refuse_first``: the bot fails on that many messages before it takes any (they are not acknowledged).
    """
    double = DingTalkDouble().start_in_thread()
    double.person(PERSON, "张三")
    double.group(GROUP, "督办一组")
    received: list[Incoming] = []
    refusals = [refuse_first]

    async def on_incoming(incoming: Incoming) -> None:
        if refusals[0]:
            refusals[0] -= 1
            raise RuntimeError("数据库暂不可用")
        received.append(incoming)

    async def inside():
        extra = {"monotonic": clock} if clock else {}
        channel = DingTalkChannel(double.client_id, double.client_secret, on_incoming, api_base=double.base_url,
                                  timeout=timeout, **extra)
        await channel.start()
        try:
            return await work(double, channel, received)
        finally:
            await channel.stop()

    try:
        return asyncio.run(inside())
    finally:
        double.stop()
        names = {thread.name for thread in threading.enumerate()}
        assert not names & {"dingtalk-stream", "dingtalk-double"}, names


async def arrived(double: DingTalkDouble, received: list[Incoming], count: int = 1) -> list[Incoming]:
    return await double.wait_for(lambda: received[:] if len(received) >= count else None, what="the bot's Incoming")


def test_a_private_message_reaches_the_bot_as_the_person_wrote_it_and_is_acknowledged() -> None:
    async def work(double, channel, received):
        await double.wait_for_connections(1)
        msg_id = double.person_says(PERSON, "本周任务已完成")
        [incoming] = await arrived(double, received)
        ack = await double.wait_for_ack(double.frame_id_of(msg_id))
        return incoming, ack, double.open_requests[0], msg_id

    incoming, ack, opened, msg_id = run(work)
    assert incoming == Incoming(channel="dingtalk", user_ref=PERSON, address=PERSON, is_group=False, name="张三",
                                text="本周任务已完成", files=[], mentions_bot=False, message_id=msg_id)
    assert ack["code"] == 200
    assert {"type": "CALLBACK", "topic": ROBOT_TOPIC} in opened["subscriptions"]


def test_a_group_message_that_ats_the_robot_is_answered_in_the_group() -> None:
    async def work(double, channel, received):
        double.person_says(PERSON, "按钮 done", group=GROUP, at_bot=True)
        return (await arrived(double, received))[0]

    incoming = run(work)
    assert (incoming.address, incoming.is_group, incoming.mentions_bot, incoming.user_ref) == (GROUP, True, True, PERSON)
    assert incoming.text == "按钮 done"  # the space DingTalk leaves where the @name was is gone, the rest kept


def test_a_file_arrives_with_its_download_code_and_can_be_fetched() -> None:
    content = "序号,任务\n1,报送台账\n".encode() * 200

    async def work(double, channel, received):
        msg_id = double.person_sends_file(PERSON, "台账.csv", content)
        [incoming] = await arrived(double, received)
        return incoming, double.download_code_of(msg_id), await channel.download(incoming.files[0].ref)

    incoming, code, fetched = run(work)
    assert incoming.files == [IncomingFile("document", "台账.csv", 0, code)]
    assert fetched == content


def test_a_picture_arrives_as_a_photo() -> None:
    async def work(double, channel, received):
        double.person_sends_picture(PERSON, b"\x89PNG fake", group=GROUP, at_bot=True)
        return (await arrived(double, received))[0]

    incoming = run(work)
    assert [file.kind for file in incoming.files] == ["photo"] and incoming.is_group


def test_pushes_to_a_person_and_to_a_group_arrive_with_their_bodies_intact() -> None:
    async def work(double, channel, received):
        await channel.push(PERSON, False, [MARKDOWN, CARD])
        await channel.push(GROUP, True, [MARKDOWN])
        return double.messages_to(PERSON), double.messages_to(GROUP), double.token_requests

    to_person, to_group, token_requests = run(work)
    assert [(p.via, p.msg_key) for p in to_person] == [("oto", "sampleMarkdown"), ("oto", "sampleActionCard2")]
    assert to_person[0].msg_param == MARKDOWN["markdown"]
    assert to_person[1].msg_param == {
        "title": "请确认", "text": "任务已下发，请确认",
        "actionTitle1": "已完成", "actionURL1": CARD["actionCard"]["btns"][0]["actionURL"],
        "actionTitle2": "延期", "actionURL2": CARD["actionCard"]["btns"][1]["actionURL"]}
    assert [(p.via, p.msg_key, p.msg_param) for p in to_group] == [("group", "sampleMarkdown", MARKDOWN["markdown"])]
    assert token_requests == 1  # one token served all three sends


@pytest.mark.parametrize("drop", ["disconnect", "close"])
def test_after_the_gateway_drops_the_connection_the_sdk_reconnects_and_every_message_arrives_once(drop: str) -> None:
    async def work(double, channel, received):
        await double.wait_for_connections(1)
        double.person_says(PERSON, "第一条")
        await arrived(double, received, 1)
        if drop == "disconnect":
            double.disconnect()  # SYSTEM disconnect: the gateway asks the client to move
        else:
            double.close_connections(1001)  # the gateway closes the WebSocket: going away
        during = double.person_says(PERSON, "断线时的第二条")  # on the old connection or the next, never both
        await double.wait_for_connections(2)
        after = double.person_says(PERSON, "重连后的第三条")
        await arrived(double, received, 3)
        for msg_id in (during, after):
            await double.wait_for(lambda msg_id=msg_id: [a for a in double.acked(double.frame_id_of(msg_id))
                                                         if a["code"] == 200], what="the ACK of " + msg_id)
        await double.wait_for_ack(double.ping())  # one more round trip: anything sent twice would be in by now
        return [incoming.text for incoming in received], len(double.connections)

    texts, connections = run(work)
    assert texts == ["第一条", "断线时的第二条", "重连后的第三条"]
    assert connections == 2


def test_a_message_the_bot_failed_on_is_not_acknowledged_and_is_taken_once_when_sent_again() -> None:
    async def work(double, channel, received):
        await double.wait_for_connections(1)
        msg_id = double.person_says(PERSON, "请更新进度")
        refused = await double.wait_for_ack(double.frame_id_of(msg_id))
        double.disconnect()  # on the next connection the gateway sends what was not acknowledged
        await double.wait_for_connections(2)
        await double.wait_for(lambda: [a for a in double.acked(double.frame_id_of(msg_id)) if a["code"] == 200],
                              what="the message taken on the second try")
        return refused["code"], [incoming.text for incoming in received]

    assert run(work, refuse_first=1) == (500, ["请更新进度"])


def test_a_message_the_gateway_sends_twice_reaches_the_bot_once_and_is_acknowledged_both_times() -> None:
    async def work(double, channel, received):
        msg_id = double.person_says(PERSON, "完成了")
        frame_id = double.frame_id_of(msg_id)
        await double.wait_for_ack(frame_id)
        double.resend(msg_id)  # as if that ACK had been lost
        await double.wait_for(lambda: len(double.acked(frame_id)) >= 2 or None, what="the second ACK")
        return [incoming.text for incoming in received], [ack["code"] for ack in double.acked(frame_id)]

    assert run(work) == (["完成了"], [200, 200])


def test_a_ping_is_answered_with_its_opaque() -> None:
    async def work(double, channel, received):
        await double.wait_for_connections(1)
        frame_id = double.ping()
        return await double.wait_for_ack(frame_id)

    ack = run(work)
    assert ack["code"] == 200 and '"opaque"' in ack["data"]


def failure(work_on_double, address: str = PERSON, is_group: bool = False, timeout: float = 2.0) -> DeliveryError:
    async def work(double, channel, received):
        work_on_double(double)
        with pytest.raises(DeliveryError) as error:
            await channel.push(address, is_group, [MARKDOWN])
        return error.value

    return run(work, timeout=timeout)


def test_throttling_asks_to_retry_after_a_second() -> None:
    error = failure(lambda double: double.throttle_next(1))
    assert (error.kind, error.retry_after) == ("retry_later", 1.0)
    assert "QpsLimit" in error.detail


def test_a_server_error_asks_to_retry_when_the_outbox_sees_fit() -> None:
    error = failure(lambda double: double.fail_next(1))
    assert (error.kind, error.retry_after) == ("retry_later", None)


def test_an_answer_that_never_comes_is_a_retry_not_a_hang() -> None:
    error = failure(lambda double: double.hang_next(1), timeout=0.3)
    assert (error.kind, error.retry_after) == ("retry_later", None)


def test_a_withdrawn_permission_or_reset_secret_waits_without_blaming_the_person() -> None:
    """The whole app is refused: every notice waits until the administrator puts it right, and
    nobody is marked unreachable for it (that would stop their notices for good)."""
    withdrawn = failure(lambda double: double.revoke_permission())
    assert withdrawn.kind == "retry_later" and withdrawn.retry_after == APP_REFUSED_WAIT
    reset = failure(lambda double: double.reset_secret("a-new-secret-from-the-console"))
    assert reset.kind == "retry_later" and "invalidClientIdOrSecret" in reset.detail


def test_a_person_dingtalk_does_not_know_and_a_group_without_the_robot_are_unreachable() -> None:
    assert failure(lambda double: None, address="left9999").kind == "unreachable"
    assert failure(lambda double: double.remove_robot_from(GROUP), address=GROUP, is_group=True).kind == "unreachable"


def test_a_person_dingtalk_holds_back_is_retried_later() -> None:
    error = failure(lambda double: double.flow_control(PERSON))
    assert error.kind == "retry_later" and error.retry_after


def test_a_body_dingtalk_cannot_send_is_dead() -> None:
    async def work(double, channel, received):
        with pytest.raises(DeliveryError) as error:
            await channel.push(PERSON, False, [{"msgtype": "feedCard", "feedCard": {}}])
        return error.value.kind, double.messages_to(PERSON)

    assert run(work) == ("dead", [])


def test_a_token_dingtalk_forgot_or_that_is_about_to_expire_is_fetched_again() -> None:
    now = [1000.0]

    async def work(double, channel, received):
        await channel.push(PERSON, False, [MARKDOWN])
        double.expire_tokens()  # DingTalk no longer knows the cached token: 401, then a new one
        await channel.push(PERSON, False, [MARKDOWN])
        now[0] += 7200
        await channel.push(PERSON, False, [MARKDOWN])
        return double.token_requests, len(double.messages_to(PERSON))

    assert run(work, clock=lambda: now[0]) == (3, 3)


def test_neither_the_secret_nor_the_ticket_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def work(double, channel, received):
        await double.wait_for_connections(1)
        double.person_says(PERSON, "你好")
        await arrived(double, received)
        await channel.push(PERSON, False, [MARKDOWN])
        return double.client_secret, double.connections[0].ticket, repr(channel)

    secret, ticket, shown = run(work)
    assert "endpoint is" in caplog.text  # the SDK's own line about the connection was logged, redacted
    assert secret not in caplog.text and ticket not in caplog.text and secret not in shown


def test_an_app_whose_secret_the_gateway_refuses_never_connects_and_still_stops_at_once() -> None:
    double = DingTalkDouble().start_in_thread()

    async def nothing(incoming: Incoming) -> None:
        raise AssertionError("no message can arrive")

    async def inside():
        channel = DingTalkChannel(double.client_id, "not-the-secret-at-all", nothing, api_base=double.base_url)
        await channel.start()
        await double.wait_for(lambda: double.open_requests[:], what="the SDK's connections/open")
        await channel.stop()  # the SDK is in its pause after the refusal: the stop does not wait it out
        return double.connections

    try:
        assert asyncio.run(asyncio.wait_for(inside(), 3)) == []
    finally:
        double.stop()
    assert "dingtalk-stream" not in {thread.name for thread in threading.enumerate()}


def test_the_sdks_own_reply_through_the_session_webhook_reaches_the_conversation() -> None:
    async def work(double, channel, received):
        msg_id = double.person_says(PERSON, "收到请回复", group=GROUP, at_bot=True)
        await arrived(double, received)
        message = ChatbotMessage.from_dict(double.callback_data(msg_id))
        # The SDK's reply posts with requests (blocking): off the loop, as an application would.
        answer = await asyncio.to_thread(ChatbotHandler().reply_markdown, "回复", "**已收到**", message)
        return answer, double.messages_to(GROUP)

    answer, to_group = run(work)
    assert answer == {"errcode": 0, "errmsg": "ok"}
    assert [(p.via, p.msg_key, p.msg_param) for p in to_group] == [("webhook", "markdown", {"title": "回复", "text": "**已收到**"})]


def test_a_stop_lets_the_message_being_handled_finish_and_be_acknowledged() -> None:
    double = DingTalkDouble().start_in_thread()
    handled: list[str] = []

    async def slow(incoming: Incoming) -> None:
        handled.append("begun")
        await asyncio.sleep(0.3)  # writing to the database, say
        handled.append(incoming.text)

    async def inside():
        channel = DingTalkChannel(double.client_id, double.client_secret, slow, api_base=double.base_url)
        await channel.start()
        msg_id = double.person_says(PERSON, "停机前的消息")
        await double.wait_for(lambda: handled[:], what="the bot to begin on the message")
        await channel.stop()
        return double.acked(double.frame_id_of(msg_id))

    try:
        acks = asyncio.run(inside())
    finally:
        double.stop()
    assert handled == ["begun", "停机前的消息"]
    assert [ack["code"] for ack in acks] == [200]
