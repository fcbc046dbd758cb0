"""Updates by webhook: the local server pushes them with the secret token; a request without it is refused."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import Webhook
from bot.cli import main
from bot.sandbox.webhook import SECRET_HEADER
from tasks.clock import FixedClock
from tasks.models import Role
from tests.harness import BotHarness
from tests.processes import free_port


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, json.loads(payload) if payload.startswith(b"{") else None


@pytest.fixture
def bot(database_url: str) -> Iterator[tuple[BotHarness, Webhook]]:
    port = free_port()
    webhook = Webhook(f"http://127.0.0.1:{port}/telegram-updates", "127.0.0.1", port)
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC)), webhook=webhook)
    yield harness, webhook
    harness.stop()


def test_a_member_works_with_the_bot_through_the_webhook(bot: tuple[BotHarness, Webhook]) -> None:
    harness, webhook = bot
    member = harness.join(501, "王科长", Role.MEMBER, "区商务局")
    assert "区商务局 未办结任务" in harness.say(member, "我的任务")["text"]
    api = f"{harness.server.base_url}{harness.server.token}"
    status, info = post(f"{api}/getWebhookInfo", {}, {})
    assert status == 200 and info is not None
    assert info["result"]["url"] == webhook.url and info["result"]["pending_update_count"] == 0
    status, refusal = post(f"{api}/getUpdates", {}, {})  # updates are pushed now; Telegram refuses polling
    assert status == 409 and refusal is not None and "webhook is active" in refusal["description"]


def test_an_update_without_the_secret_is_refused_and_changes_nothing(bot: tuple[BotHarness, Webhook]) -> None:
    harness, webhook = bot
    code = harness.invite(Role.OFFICE)
    stranger = harness.server.person(666, "冒充者")
    forged = {"update_id": 900001, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": 666, "type": "private", "first_name": "冒充者"},
        "from": stranger.as_user(), "text": f"/start {code}",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
    before = harness.snapshot()
    for headers in ({}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: webhook.secret[:-1]}):
        status, _ = post(webhook.url, forged, headers)
        assert status == 403
    time.sleep(0.5)  # had the bot taken it, it would have answered by now
    assert harness.server.messages(666) == []
    assert harness.snapshot() == before  # the invite code is still unused
    # The same request with the secret is an update like any other: the refusal above was the secret's doing.
    status, _ = post(webhook.url, {**forged, "update_id": 900002}, {SECRET_HEADER: webhook.secret})
    assert status == 200
    assert "绑定成功" in harness.server.wait_for(666, after=0)[0]["text"]


def test_run_with_webhook_and_no_token_serves_the_sandbox_by_webhook(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("TASKBOT_TOKEN", raising=False)
    port = free_port()
    out = io.StringIO()
    code = main(["--database-url", database_url, "--now", "2021-09-04T10:00", "run",
                 "--webhook", "https://taskbot.example.org/updates", "--port", str(port)],
                stdin=io.StringIO("我的任务\n:quit\n"), stdout=out)
    text = out.getvalue()
    assert code == 0, text
    assert f"http://127.0.0.1:{port}/updates" in text
    assert "区商务局 未办结任务" in text  # the personas' messages reached the bot through the webhook
