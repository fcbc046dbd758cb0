"""The inbox: every update from a chat platform is stored before the platform is told it arrived.

Telegram forgets an update once it is acknowledged (the next getUpdates offset passes it, or
the webhook answered 200). Stored first, an update survives whatever happens to the process
after the acknowledgement, and is handled from the store, in arrival order, exactly once:

- A handler that changes something writes the update's handled mark in the same transaction
  (``mark_if_written``, called by every transaction run while the update is in hand): its
  change and the mark commit together or not at all, so a replay never repeats the change.
- A handler that only reads (or refuses) is marked once it has answered; a process that dies
  before that answers the update again when it restarts.
- ``attempts`` counts how often the bot began an update: one that was in hand when the process
  died is tried once more, and one in hand at two deaths is marked failed and skipped, so an
  update that kills the bot cannot stop it for good.

The adapter (bot/intake.py) fetches or receives the updates and runs the handlers.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, delete, text, update
from sqlmodel import Session, col, func, select

from tasks.bulk import insert_new_rows
from tasks.clock import Clock, db_time
from tasks.models import Inbox, InboxStatus

MAX_ATTEMPTS = 2  # the first try, and one replay after a process died with the update in hand
# Telegram keeps an unacknowledged update for 24 hours, so only that long can a stored update come
# again; handled ones are kept a week, then forgotten. This also keeps the ids the store knows few:
# after a week without updates Telegram numbers the next one at random, and a random id equal
# to a stored one would be dropped as a resend.
KEEP_HANDLED = timedelta(days=7)
ERROR_LIMIT = 2000


@dataclass
class Handling:
    """The stored update whose handlers are running in this task (see ``HANDLING``)."""

    row_id: int
    marked: bool = False  # its handled mark is committed (with the handler's change)
    error: str = ""  # what a handler raised, for the row


# Set by the intake around one update's handlers; the database work they run (BotContext.run,
# in a thread that copies this context) reads it to write the mark with the handler's change.
HANDLING: ContextVar[Handling | None] = ContextVar("taskbot_inbox_handling", default=None)


def payload_text(update: dict[str, Any]) -> str:
    """The update as stored: JSON with every non-ASCII character escaped, so that anything a
    person typed (a NUL, a lone surrogate) is plain text that both databases accept."""
    return json.dumps(update, ensure_ascii=True, separators=(",", ":"))


def store(session: Session, clock: Clock, updates: list[dict[str, Any]], channel: str = "telegram") -> int:
    """Store updates (each with an integer ``update_id``) not stored yet; returns how many were new.

    Telegram sends an update again until it is acknowledged, and a process may die between
    storing and acknowledging: the update_id is unique, so the second copy is dropped here.
    """
    now = db_time(clock)
    rows = [{"update_id": u["update_id"], "channel": channel, "payload": payload_text(u),
             "status": InboxStatus.PENDING, "attempts": 0, "error": "", "received_at": now} for u in updates]
    return insert_new_rows(session.connection(), Inbox, "update_id", rows)


def platform_update_id(channel: str, message_id: str) -> int:
    """A domestic platform's message id as an update number: below zero, where Telegram's never are,
    so the two never meet in the unique update_id."""
    digest = hashlib.sha256(f"{channel}:{message_id}".encode()).digest()
    return -(int.from_bytes(digest[:8], "big") >> 2) - 1


def store_new(session: Session, clock: Clock, update: dict[str, Any], channel: str) -> int | None:
    """Store one update; its row's id, or None when it was stored already (a platform handing the
    same message on again: it was acted on, or waits to be at the next start)."""
    if not store(session, clock, [update], channel):
        return None
    return session.exec(select(Inbox.id).where(Inbox.update_id == update["update_id"])).one()


def last_update_id(session: Session) -> int:
    """The highest Telegram update_id stored (0: none)."""
    return session.exec(select(func.max(Inbox.update_id)).where(Inbox.channel == "telegram")).one() or 0


def pending(session: Session, limit: int, channel: str = "telegram") -> list[Row[Any]]:
    """``channel``'s updates still to handle, in the order they arrived: (id, update_id, payload, attempts)."""
    return list(session.exec(select(Inbox.id, Inbox.update_id, Inbox.payload, Inbox.attempts)
                             .where(Inbox.status == InboxStatus.PENDING, Inbox.channel == channel)
                             .order_by(col(Inbox.id)).limit(limit)).all())


def begin(session: Session, row_id: int, attempts: int) -> None:
    """Count an attempt before the handlers run: a death while they run leaves it counted."""
    session.execute(update(Inbox).where(col(Inbox.id) == row_id).values(attempts=attempts))


def finish(session: Session, clock: Clock, row_id: int, error: str = "", *, failed: bool = False) -> None:
    """Mark a pending update handled (or failed, with why); an update already marked stays as it is."""
    status = InboxStatus.FAILED if failed else InboxStatus.HANDLED
    session.execute(update(Inbox).where(col(Inbox.id) == row_id, Inbox.status == InboxStatus.PENDING)
                 .values(status=status, error=error[:ERROR_LIMIT], handled_at=db_time(clock)))


def forget_handled(session: Session, clock: Clock) -> int:
    """Delete handled updates older than KEEP_HANDLED; failed ones stay for the administrator."""
    result = session.execute(delete(Inbox).where(Inbox.status == InboxStatus.HANDLED,
                                                 col(Inbox.received_at) < db_time(clock) - KEEP_HANDLED))
    return result.rowcount


def changes_so_far(session: Session) -> int:
    """On SQLite, the rows this connection has changed since it opened (the driver's counter,
    read without a query); compared with ``mark_if_written``'s reading, it says whether this
    transaction wrote. PostgreSQL answers that itself, so 0 there."""
    if session.get_bind().dialect.name == "postgresql":
        return 0
    return session.connection().connection.driver_connection.total_changes  # type: ignore[union-attr]


def mark_if_written(session: Session, clock: Clock, row_id: int, changes_before: int) -> bool:
    """Mark the update handled in this transaction if the transaction changed anything.

    PostgreSQL gives a transaction an id at its first write (or row lock), and not before;
    SQLite counts the rows each connection changed. Both see every write, whichever way it
    was made (the ORM, a bulk statement, a COPY).
    """
    session.flush()  # objects the handler added are written now, not at the commit
    if session.get_bind().dialect.name == "postgresql":
        wrote = bool(session.execute(text("SELECT txid_current_if_assigned() IS NOT NULL")).scalar_one())
    else:
        wrote = changes_so_far(session) > changes_before
    if wrote:
        finish(session, clock, row_id)
    return wrote
