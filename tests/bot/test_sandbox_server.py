"""The local Bot API server answers as Telegram does, so the bot's errors are found here, not in production."""

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.flood import FloodLimits
from bot.sandbox.html_check import HtmlError, visible_text
from bot.sandbox.server import Fault, SandboxServer
from bot.telegram_http import AiohttpRequest


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def call(server: SandboxServer, work, transport: type[BaseRequest] = HTTPXRequest, **request_options):
    """``work(bot)`` with a Bot whose calls go through ``transport``: PTB's own, unless a test names ours."""
    async def run():
        bot = Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url,
                  request=transport(**request_options))
        async with bot:
            return await work(bot)
    return asyncio.run(run())


@pytest.mark.parametrize(("markup", "visible"), [
    ("<b>粗</b>体 &amp; &lt;b&gt;", "粗体 & <b>"),
    ("<pre>a\nb</pre><i>x</i>", "a\nbx"),
    ('<a href="http://x">链接</a>', "链接"),
])
def test_valid_html(markup: str, visible: str) -> None:
    assert visible_text(markup) == visible


@pytest.mark.parametrize("markup", ["a & b", "<b>x", "<script>x</script>", "<b><i>x</b></i>", "x > y", "</b>"])
def test_invalid_html_is_refused_like_telegram(markup: str) -> None:
    with pytest.raises(HtmlError):
        visible_text(markup)


def test_messages_are_checked_as_telegram_checks_them(server: SandboxServer) -> None:
    server.person(11, "甲")

    async def work(bot: Bot):
        errors = []
        for text, mode in (("a & b", "HTML"), ("x" * 4097, None), ("", None)):
            try:
                await bot.send_message(11, text, parse_mode=mode)
            except BadRequest as error:
                errors.append(str(error))
        long_button = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        try:
            await bot.send_message(11, "ok", reply_markup=long_button)
        except BadRequest as error:
            errors.append(str(error))
        try:
            await bot.send_message(99, "nobody")
        except BadRequest as error:
            errors.append(str(error))
        sent = await bot.send_message(11, "&lt;ok&gt; " + "字" * 4091, parse_mode="HTML")
        return errors, sent

    errors, sent = call(server, work)
    assert ["entities" in errors[0], errors[1:]] == [True, ["Message is too long", "Message text is empty",
                                                             "Button_data_invalid", "Chat not found"]]
    assert len(sent.text) == 4096  # counted after entities are decoded, as Telegram does


def test_updates_long_poll_and_offsets(server: SandboxServer) -> None:
    person = server.person(12, "乙")
    server.send_text(person, "/start CODE")
    server.send_text(person, "你好")

    async def work(bot: Bot):
        first = await bot.get_updates(timeout=0)
        again = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
        empty = await bot.get_updates(offset=again[-1].update_id + 1, timeout=0.2)
        return first, again, empty

    first, again, empty = call(server, work)
    assert [u.message.text for u in first] == ["/start CODE", "你好"]
    assert first[0].message.entities[0].type == "bot_command"
    assert [u.message.text for u in again] == ["你好"] and empty == ()


@pytest.mark.parametrize("transport", [HTTPXRequest, AiohttpRequest])
def test_injected_faults_reach_the_client_as_telegram_errors(server: SandboxServer,
                                                             transport: type[BaseRequest]) -> None:
    server.person(13, "丙")
    server.inject(Fault("sendMessage", "429", retry_after=7))
    server.inject(Fault("sendMessage", "migrate", migrate_to_chat_id=-100999))
    server.inject(Fault("sendMessage", "403"))
    server.inject(Fault("sendMessage", "500"))
    server.inject(Fault("sendMessage", "timeout", delay=1.5))

    async def work(bot: Bot):
        raised = []
        for _ in range(5):
            try:
                await bot.send_message(13, "x")
            except (RetryAfter, ChatMigrated, Forbidden, TimedOut) as error:
                raised.append(type(error).__name__)
            except Exception as error:  # the 500
                raised.append(type(error).__name__)
        delivered = await bot.send_message(13, "after the faults")
        return raised, delivered

    raised, delivered = call(server, work, transport, read_timeout=0.5)
    assert raised == ["RetryAfter", "ChatMigrated", "Forbidden", "NetworkError", "TimedOut"]
    assert delivered.text == "after the faults"


def test_flood_limits_answer_429_with_retry_after() -> None:
    fake_time = FakeTime()
    server = SandboxServer(flood_limits=FloodLimits(), monotonic=fake_time).start_in_thread()
    try:
        for chat in range(100, 140):
            server.person(chat, f"用户{chat}")
        server.group(-5, "群")

        async def work(bot: Bot):
            outcomes = []
            for chat in range(100, 131):  # 31 different chats in the same second
                try:
                    await bot.send_message(chat, "x")
                    outcomes.append("ok")
                except RetryAfter as error:
                    wait = error.retry_after
                    outcomes.append(f"retry {int(wait if isinstance(wait, int) else wait.total_seconds())}")
            fake_time.now += 1.0
            same_chat = []
            for _ in range(2):  # one chat twice within a second
                try:
                    await bot.send_message(135, "x")
                    same_chat.append("ok")
                except RetryAfter:
                    same_chat.append("429")
            group = []
            for _ in range(21):  # a group twenty-one times within a minute
                fake_time.now += 1.5
                try:
                    await bot.send_message(-5, "x")
                    group.append("ok")
                except RetryAfter:
                    group.append("429")
            return outcomes, same_chat, group

        outcomes, same_chat, group = call(server, work)
        assert outcomes == ["ok"] * 30 + ["retry 1"]
        assert same_chat == ["ok", "429"]
        assert group == ["ok"] * 20 + ["429"]
    finally:
        server.stop()


def test_files_round_trip(server: SandboxServer) -> None:
    person = server.person(14, "丁")
    server.send_document(person, b"%PDF-1.4 data", "合同.pdf", "application/pdf")

    async def work(bot: Bot):
        update = (await bot.get_updates(timeout=0))[0]
        file = await update.message.document.get_file()
        return update.message.document.file_name, bytes(await file.download_as_bytearray())

    assert call(server, work) == ("合同.pdf", b"%PDF-1.4 data")


def test_set_webhook_is_checked_as_telegram_checks_it(server: SandboxServer) -> None:
    async def refused(bot: Bot, url: str, secret: str | None) -> str:
        with pytest.raises(BadRequest) as error:
            await bot.set_webhook(url, secret_token=secret)
        return error.value.message.lower()

    assert "unallowed characters" in call(server, lambda bot: refused(bot, "https://a.example.org/u", "密钥 with space"))
    assert "https url" in call(server, lambda bot: refused(bot, "http://a.example.org/u", None))
    assert "ports 80, 88, 443 or 8443" in call(server, lambda bot: refused(bot, "https://a.example.org:9000/u", None))

    async def set_then_delete(bot: Bot) -> tuple[str, str]:
        await bot.set_webhook("https://a.example.org:8443/u", secret_token="s3cret_-token")
        url = (await bot.get_webhook_info()).url
        await bot.delete_webhook()
        return url, (await bot.get_webhook_info()).url

    assert call(server, set_then_delete) == ("https://a.example.org:8443/u", "")
    server.send_text(server.person(5, "人"), "你好")
    assert [u["message"]["text"] for u in call(server, lambda bot: bot.get_updates())] == ["你好"]  # polling again


def test_a_server_with_a_webhook_set_stops_and_leaves_no_thread_behind() -> None:
    # The terminal sandbox and every test stop their server this way; a pusher that kept its
    # thread alive would spin there for the rest of the process.
    server = SandboxServer().start_in_thread()
    call(server, lambda bot: bot.set_webhook("http://127.0.0.1:9/updates"))  # nobody listens there
    server.stop()
    assert server._thread is not None and not server._thread.is_alive()
