"""Secrets out of every text a person or a file will keep: messages, log lines, stored errors.

Errors carry secrets without anyone writing them on purpose: PTB names the rejected token in its
InvalidToken message, aiohttp names the URL it was asked for (``…/bot<TOKEN>/sendMessage``) in a
redirect or response error, psycopg and SQLAlchemy may repeat a database URL with its password.
Such a text ends up in ``outbox.last_error``, in audit events, in backups and on a terminal, so
every place that turns an error into text passes it through ``redact`` first.

Two nets: the values this process was configured with (``register_secret``: the bot token, the
webhook secret, a database password), replaced wherever they appear; and the shapes secrets take
when the value was never registered (a test's bot, a worker started elsewhere): a Bot API token,
the token in a Bot API URL path, the password in a ``scheme://user:password@host`` URL.
"""

from __future__ import annotations

import re
import threading

HIDDEN = "***"
# The shortest value worth hiding: a shorter "secret" (a test's "x") would blank out ordinary words.
SHORTEST_SECRET = 6

# A Bot API token as BotFather issues it: the bot's numeric id, a colon, 35 characters.
_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
# Whatever follows /bot (or /file/bot) in a Bot API URL is the token, whatever its shape.
_URL_TOKEN = re.compile(r"(/(?:file/)?bot)[^/\s'\"]+(?=/)")
# scheme://user:password@host: the password.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"]+(@)")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Hide ``value`` from every text redacted from now on in this process."""
    if value and len(value) >= SHORTEST_SECRET:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every secret it contains replaced by ***."""
    if not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):  # a longer secret may contain a shorter one
        text = text.replace(secret, HIDDEN)
    text = _URL_TOKEN.sub(rf"\1{HIDDEN}", text)
    text = _URL_PASSWORD.sub(rf"\1{HIDDEN}\2", text)
    return _TOKEN.sub(HIDDEN, text)
