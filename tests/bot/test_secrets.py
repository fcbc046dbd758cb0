"""Secrets (the bot token, the webhook secret, a database password) never reach a message, a log
line or a stored error."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlmodel import select

from bot.context import BotContext
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender, TelegramTransport
from bot.telegram_http import make_bot
from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.models import Event, Member, Outbox, Role
from tasks.notifications import NotificationKind, Urge
from tasks.outbox import enqueue
from tasks.plan.importer import prepare_database
from tasks.plan.units import UnitDirectory
from tasks.redaction import redact, register_secret

# Shaped as BotFather issues them, so that nothing here depends on a secret having been registered.
TOKEN = "7012345678:AAHq3vB1nS0yZ-c8Lw_4kPmT9dXeR2fUoJg"


@contextlib.asynccontextmanager
async def listening(handler):
    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def test_redact_hides_tokens_url_passwords_and_registered_secrets() -> None:
    register_secret("webhook-secret-Zq81x")
    text = (f"The token `{TOKEN}` was rejected; url='http://127.0.0.1:1/bot123:short/sendMessage'; "
            "postgresql://taskbot:s3cret-pw@db.example:5432/taskbot; header webhook-secret-Zq81x")
    hidden = redact(text)
    for secret in (TOKEN, "123:short", "s3cret-pw", "webhook-secret-Zq81x"):
        assert secret not in hidden
    assert "postgresql://taskbot:***@db.example:5432/taskbot" in hidden and "/bot***/sendMessage" in hidden
    assert redact("会议 12:30 在 https://example.org/a 举行") == "会议 12:30 在 https://example.org/a 举行"


def test_a_redirecting_proxys_error_is_stored_without_the_token(database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that answers every send with a redirect: aiohttp's error names the URL it was asked
    for, token included; the outbox row and its audit event keep the error without it."""
    server = SandboxServer(TOKEN).start_in_thread()
    engine = make_engine(database_url)
    clock = FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC))
    prepare_database(engine, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)), clock, Actor("admin", "cli"))
    server.person(41, "甲")
    with transaction(engine) as session:
        member = Member(user_id=str(41), address=str(41), name="甲", role=Role.OFFICE, created_at=clock.now())
        session.add(member)
        session.flush()
        enqueue(session, clock, member, NotificationKind.URGE, Urge(urger="督办办", unit="区商务局", tasks=[]), "urge:1")

    async def redirect(request: web.BaseRequest) -> web.StreamResponse:
        if request.url.path.endswith("/getMe"):  # the bot starts; its sends are what get redirected
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "b"}})
        raise web.HTTPFound(str(request.url))  # to itself, until aiohttp gives up

    async def scenario() -> None:
        async with listening(redirect) as port:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            for name in ("NO_PROXY", "no_proxy", "http_proxy"):
                monkeypatch.delenv(name, raising=False)
            async with make_bot(TOKEN, server.base_url) as bot:
                ctx = BotContext(engine, clock, ZoneInfo("Asia/Shanghai"), "门头沟区", paced=False)
                await OutboxSender(ctx, TelegramTransport(bot)).deliver_due()

    try:
        asyncio.run(scenario())
        with transaction(engine) as session:
            row = session.exec(select(Outbox)).one()
            events = [e.detail for e in session.exec(select(Event)).all()]
        assert row.last_error and "Redirect" in row.last_error  # the failure was recorded ...
        assert TOKEN not in row.last_error and TOKEN.split(":")[1] not in row.last_error  # ... without the token
        assert all(TOKEN.split(":")[1] not in str(details) for details in events)
    finally:
        server.stop()
        engine.dispose()


def test_log_lines_and_their_tracebacks_are_redacted() -> None:
    from bot.failures import RedactingFormatter

    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        import sys

        record = logging.LogRecord("bot.sender", logging.ERROR, __file__, 1, "outbox pass failed for %s",
                                   (f"postgresql://taskbot:pw-{TOKEN[-8:]}@db/taskbot",), sys.exc_info())
    line = RedactingFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "Traceback" in line and "RuntimeError" in line
    assert TOKEN.split(":")[1] not in line and f"pw-{TOKEN[-8:]}" not in line
