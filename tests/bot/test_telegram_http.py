"""The bot's Bot API calls over aiohttp behave as python-telegram-bot's own networking does.

(Telegram's errors and a timeout reaching the bot as PTB's exceptions are checked for both
transports in test_sandbox_server.)"""

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError

from bot.sandbox.server import SandboxServer
from bot.telegram_http import make_bot


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


class Tunnel:
    """A proxy that only relays bytes, as a government network's gateway does: HTTP CONNECT, or
    SOCKS5 without authentication. It remembers where each tunnel went."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int,
                     answer: bytes) -> None:
        self.opened.append(f"{host}:{port}")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        writer.write(answer)
        await writer.drain()

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            finally:
                target.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    async def http_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        method, target, _version = request.split(b"\r\n")[0].decode().split()
        assert method == "CONNECT"
        host, port = target.rsplit(":", 1)
        await self._relay(reader, writer, host, int(port), b"HTTP/1.1 200 Connection established\r\n\r\n")

    async def socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _version, methods = await reader.readexactly(2)
        await reader.readexactly(methods)
        writer.write(b"\x05\x00")  # no authentication
        _version, command, _reserved, address_type = await reader.readexactly(4)
        assert command == 1  # CONNECT
        if address_type == 1:
            host = socket.inet_ntoa(await reader.readexactly(4))
        else:  # a name, resolved here: the client asked the proxy to resolve it
            assert address_type == 3
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        port = int.from_bytes(await reader.readexactly(2), "big")
        await self._relay(reader, writer, host, port, b"\x05\x00\x00\x01" + bytes(6))


@contextlib.asynccontextmanager
async def serving(handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def use_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", url)
    monkeypatch.setenv("HTTP_PROXY", url)


def test_through_a_connect_proxy_and_a_tls_inspecting_gateway(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY names an http:// proxy, and the server's certificate is signed by the gateway's own
    authority: with that authority's certificate as the CA bundle the call goes through the tunnel."""
    gateway = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    gateway.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = tmp_path / "gateway.pem"
    gateway.cert_pem.write_to_path(str(bundle))
    tunnel = Tunnel()

    async def answer(request: web.BaseRequest) -> web.Response:
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "经网关"}})

    async def scenario() -> tuple[str, int]:
        async with listening(answer, server_context) as port, serving(tunnel.http_connect) as proxy_port:
            use_proxy(monkeypatch, f"http://127.0.0.1:{proxy_port}")
            async with make_bot("1:gateway", f"https://127.0.0.1:{port}/bot", ca_bundle=str(bundle)) as bot:
                return (await bot.get_me()).first_name, port

    name, port = asyncio.run(scenario())
    assert name == "经网关" and tunnel.opened and set(tunnel.opened) == {f"127.0.0.1:{port}"}


def test_through_a_socks5_proxy(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.person(16, "己")
    tunnel = Tunnel()

    async def scenario() -> None:
        async with serving(tunnel.socks5) as proxy_port:
            use_proxy(monkeypatch, f"socks5://127.0.0.1:{proxy_port}")
            async with make_bot(server.token, server.base_url) as bot:
                await bot.send_message(16, "经 SOCKS5 代理发送")

    asyncio.run(scenario())
    assert tunnel.opened and [m["text"] for m in server.messages(16)] == ["经 SOCKS5 代理发送"]
