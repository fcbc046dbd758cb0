"""python-telegram-bot's networking over aiohttp, through PTB's documented extension point (BaseRequest).

PTB's own backend (httpx over httpcore and anyio) costs 1.6–2.4 ms of our CPU per Bot API call
on the benchmark machine: on every request httpcore asks each pooled connection whether it has
expired, and each answer goes through anyio's typed attributes and a getpeername call. Here the
same call costs about 0.7 ms (``bench/bench_wire.py``, which measures both). The outbox sends
tens of thousands of messages a year, so that difference is most of the sender's own cost.

A call goes as one UTF-8 JSON object (``application/json``, which the Bot API accepts for every
call that uploads nothing): percent-encoding a message's Chinese text as a form, as PTB does, made
each character nine bytes and cost a tenth of the sender's time. A call that uploads files is
multipart, as with PTB. Timeouts and connection failures become PTB's ``TimedOut`` and
``NetworkError``, as with PTB's HTTPXRequest, so PTB's retries and our sender's error handling see
the same exceptions. Proxies come from the environment (HTTPS_PROXY, NO_PROXY), as httpx reads them:
a bot in a government network reaches Telegram through one. An http:// proxy carries the calls
(CONNECT for https); a socks5:// one gets a connector of its own (aiohttp-socks), with the
proxy resolving Telegram's name, since such a network often has no outside DNS. A CA bundle
(``ca_bundle``: ``[telegram] ca_bundle`` or SSL_CERT_FILE) is trusted beside certifi's roots, for
a gateway that inspects TLS and signs what it forwards with its own authority.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

# PTB's own defaults (HTTPXRequest), in seconds.
READ_TIMEOUT = WRITE_TIMEOUT = CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_SIZE = 256
JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_pool_size: int = POOL_SIZE, *, read_timeout: float | None = READ_TIMEOUT,
                 write_timeout: float | None = WRITE_TIMEOUT, connect_timeout: float | None = CONNECT_TIMEOUT,
                 pool_timeout: float | None = POOL_TIMEOUT,
                 media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT, ca_bundle: str | None = None) -> None:
        self._pool_size = connection_pool_size
        self._ca_bundle = ca_bundle
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._socks_sessions: dict[str, aiohttp.ClientSession] = {}  # by proxy URL
        self._proxies: dict[tuple[str, str | None], _Proxy] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        # The session is made here, inside the running event loop that will use it.
        if self._session is None or self._session.closed:
            self._session = self._new_session(aiohttp.TCPConnector(limit=self._pool_size, ssl=self._ssl_context()))

    def _ssl_context(self) -> ssl.SSLContext:
        # Telegram's certificate checked against certifi's roots, as PTB's httpx does: the
        # machine's own store may be missing or old on a government server.
        context = ssl.create_default_context(cafile=certifi.where())
        if self._ca_bundle:
            context.load_verify_locations(cafile=self._ca_bundle)
        return context

    def _new_session(self, connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT},
                                     cookie_jar=aiohttp.DummyCookieJar())  # the Bot API sets none

    def _session_for(self, proxy: _Proxy) -> tuple[aiohttp.ClientSession, _Proxy]:
        """The session a call goes through, and the proxy to name on the call: aiohttp carries
        calls through an http:// proxy itself, but a SOCKS proxy is a connector of its own."""
        assert self._session is not None
        if proxy.url is None or not proxy.url.scheme.startswith("socks"):
            return self._session, proxy
        key = str(proxy.url)
        session = self._socks_sessions.get(key)
        if session is None or session.closed:
            from aiohttp_socks import ProxyConnector  # only where a SOCKS proxy is configured

            connector = ProxyConnector.from_url(key, rdns=True, limit=self._pool_size, ssl=self._ssl_context())
            session = self._socks_sessions[key] = self._new_session(connector)
        return session, _Proxy()

    async def shutdown(self) -> None:
        for session in [self._session, *self._socks_sessions.values()]:
            if session is not None and not session.closed:
                await session.close()
        self._socks_sessions.clear()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        timeout = self._timeout(
            read=self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout,
            write=(self._media_write_timeout if files else self._write_timeout)
            if write_timeout is BaseRequest.DEFAULT_NONE else write_timeout,
            connect=self._connect_timeout if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout,
            pool=self._pool_timeout if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout)
        session, proxy = self._session_for(self._proxy_for(URL(url)))
        body, headers = _body(request_data, files)
        try:
            async with session.request(method, url, data=body, headers=headers, timeout=timeout,
                                             proxy=proxy.url, proxy_headers=proxy.headers) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:  # aiohttp's timeouts, ServerTimeoutError included
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name says what failed when the message is empty (a refused connection, say).
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    def _proxy_for(self, url: URL) -> _Proxy:
        """The environment's proxy for a host, read once: aiohttp's own ``trust_env`` reads the
        environment in a thread on every request, which cost 0.9 ms a call here."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            try:
                proxy, auth = get_env_proxy_for_url(url)
            except LookupError:  # no proxy set, or NO_PROXY names the host
                self._proxies[key] = _Proxy()
            else:
                self._proxies[key] = _Proxy(proxy, {"Proxy-Authorization": auth.encode()} if auth else None)
        return self._proxies[key]

    @staticmethod
    def _timeout(*, read: float | None, write: float | None, connect: float | None,
                 pool: float | None) -> aiohttp.ClientTimeout:
        """aiohttp has no write timeout and counts the wait for a pooled connection in ``connect``:
        a whole call is bounded by the sum instead, so a stalled upload still ends."""
        parts = (read, write, connect, pool)
        return aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect, sock_read=read)


@dataclass(frozen=True)
class _Proxy:
    url: URL | None = None
    headers: dict[str, str] | None = None


def _body(request_data: RequestData | None, files: dict[str, Any] | None
          ) -> tuple[bytes | aiohttp.FormData | None, dict[str, str] | None]:
    if request_data is None:
        return None, None
    if not files:
        return json.dumps(request_data.parameters, ensure_ascii=False).encode(), JSON_HEADERS
    # Unquoted: a file name goes as UTF-8, as browsers and httpx send it; quoted, Telegram would
    # show the recipient "%E4%BB%BB…" for 任务清单.
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, None


def file_url_for(base_url: str) -> str:
    """Where a Bot API server at ``base_url`` (…/bot) serves files: …/file/bot, as Telegram does."""
    return base_url.replace("/bot", "/file/bot")


def make_bot(token: str, base_url: str | None = None, *, ca_bundle: str | None = None) -> Bot:
    """A Bot as our processes use it: Bot API calls over aiohttp (getUpdates on a connection of its own)."""
    urls = {"base_url": base_url, "base_file_url": file_url_for(base_url)} if base_url else {}
    return Bot(token, request=AiohttpRequest(ca_bundle=ca_bundle),
               get_updates_request=AiohttpRequest(1, ca_bundle=ca_bundle), **urls)
