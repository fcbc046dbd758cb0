"""The desk's pages, one module each; importing this package registers every route (bot/web/desk.py)."""

from bot.web.pages import (  # noqa: F401
    imports,
    ledger,
    outbox,
    overview,
    pending,
    people,
    sandbox,
    session,
    task,
)
