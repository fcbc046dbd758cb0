"""The local server's side of a webhook: pushing updates to the bot as Telegram does.

After ``setWebhook`` Telegram POSTs each update as JSON to the URL, with the secret in the
``X-Telegram-Bot-Api-Secret-Token`` header, and keeps an update until the bot answers 2xx;
``getUpdates`` is refused meanwhile. Real Telegram wants HTTPS on port 443, 80, 88 or 8443;
the sandbox can only reach this machine, so it also accepts plain http on the loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
TELEGRAM_WEBHOOK_PORTS = {443, 80, 88, 8443}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def webhook_url_problem(url: str) -> str | None:
    """Why Telegram would refuse ``url`` as a webhook (None: it is acceptable)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None  # the sandbox's own allowance
    if parts.scheme != "https" or not parts.hostname:
        return "bad webhook: An HTTPS URL must be provided for webhook"
    if (parts.port or 443) not in TELEGRAM_WEBHOOK_PORTS:
        return "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    return None


@dataclass
class WebhookPusher:
    url: str
    secret: str | None
    next_update: Callable[[], dict[str, Any] | None]  # the oldest update not yet accepted
    accepted: Callable[[int], None]  # the bot answered 2xx for this update_id
    wait_for_updates: Callable[[float], Awaitable[None]]
    retry_delay: float = 0.5

    last_error: str = ""
    stopped: bool = False  # set when the webhook is removed or the server stops: run() returns

    async def run(self) -> None:
        headers = {SECRET_HEADER: self.secret} if self.secret else {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while not self.stopped:
                update = self.next_update()
                if update is None:
                    await self.wait_for_updates(1.0)
                    continue
                if await self._post(http, update, headers):
                    self.accepted(update["update_id"])
                else:
                    await asyncio.sleep(self.retry_delay)

    async def _post(self, http: aiohttp.ClientSession, update: dict[str, Any], headers: dict[str, str]) -> bool:
        try:
            async with http.post(self.url, json=update, headers=headers) as response:
                if response.status < 300:
                    return True
                self.last_error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as error:
            self.last_error = f"Connection failed: {type(error).__name__}"
        return False
