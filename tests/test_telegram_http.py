"""The bot's Bot API calls over aiohttp behave as python-telegram-bot's own networking does.

(Telegram's errors and a timeout reaching the bot as PTB's exceptions are checked for both
transports in test_sandbox_server.)"""

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import trustme
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError

from bot.sandbox.server import SandboxServer
from bot.telegram_http import make_bot


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    server = SandboxServer().start_in_thread()
    yield server
    server.stop()


def run(bot: Bot, work):
    async def inside():
        async with bot:
            return await work(bot)
    return asyncio.run(inside())


def test_a_file_goes_up_as_multipart_and_comes_back_whole(server: SandboxServer) -> None:
    server.person(14, "丁")
    content = "序号,任务\n1,落实\n".encode() * 500

    async def work(bot: Bot):
        sent = await bot.send_document(14, content, filename="任务清单.csv", caption="本周清单")
        file = await bot.get_file(sent.document.file_id)
        return sent.document.file_name, sent.caption, bytes(await file.download_as_bytearray())

    assert run(make_bot(server.token, server.base_url), work) == ("任务清单.csv", "本周清单", content)


def test_a_server_nobody_listens_on_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def first_call() -> str:
        with pytest.raises(NetworkError) as error:
            async with make_bot("1:closed", f"http://127.0.0.1:{port}/bot"):  # starts with getMe
                pass
        return str(error.value)

    assert "aiohttp.ClientConnectorError" in asyncio.run(first_call())


@contextlib.asynccontextmanager
async def listening(handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A local HTTP(S) server answering with ``handler``; yields its port."""
    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def test_a_server_whose_certificate_no_public_authority_signed_is_refused() -> None:
    # An HTTPS server with a certificate from a private authority, as a man in the middle would present.
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    answered: list[str] = []

    async def answer(request: web.BaseRequest) -> web.Response:
        answered.append(request.path)
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "假冒"}})

    async def scenario() -> str:
        async with listening(answer, server_context) as port:
            with pytest.raises(NetworkError) as error:
                async with make_bot("1:tls", f"https://127.0.0.1:{port}/bot"):
                    pass
            return str(error.value)

    assert "certificate" in asyncio.run(scenario()).lower()
    assert answered == []  # the request never reached the impostor


class ForwardProxy:
    """A plain-HTTP forward proxy that carries each call on and remembers which method it was."""

    def __init__(self) -> None:
        self.carried: list[str] = []

    async def handle(self, request: web.BaseRequest) -> web.Response:
        self.carried.append(request.url.path.rsplit("/", 1)[-1])
        async with aiohttp.ClientSession() as session, session.request(
                request.method, request.url, data=await request.read(),
                headers={"Content-Type": request.headers.get("Content-Type", "")}) as answer:
            return web.Response(status=answer.status, body=await answer.read(),
                                headers={"Content-Type": answer.headers["Content-Type"]})


def test_calls_go_through_the_proxy_the_environment_names(server: SandboxServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server.person(15, "戊")
    proxy = ForwardProxy()

    async def scenario() -> tuple[list[str], list[str]]:
        async with listening(proxy.handle) as port:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            for name in ("NO_PROXY", "no_proxy", "http_proxy"):
                monkeypatch.delenv(name, raising=False)
            async with make_bot(server.token, server.base_url) as bot:
                await bot.send_message(15, "经代理发送")
            through = list(proxy.carried)
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            async with make_bot(server.token, server.base_url) as bot:
                await bot.send_message(15, "直连发送")
            return through, proxy.carried

    through, after_bypass = asyncio.run(scenario())
    assert through == ["getMe", "sendMessage"]
    assert after_bypass == through  # NO_PROXY: the second bot went straight to the server
    assert [m["text"] for m in server.messages(15)] == ["经代理发送", "直连发送"]
