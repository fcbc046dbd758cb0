"""The send budget shared by every process sending as the bot: one mark per message sent or
reserved, in ``send_mark``. What the marks may add up to is the chat platform's rule
(``bot/flood.py``); this module only keeps them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from tasks.models import SendMark

# Any constant will do: it only has to be the same in every process of this bot.
POSTGRES_LOCK_KEY = 0x7A5B07


def lock_budget(session: Session) -> None:
    """Serialise reservations across processes for the rest of this transaction."""
    # SQLite transactions here start with BEGIN IMMEDIATE and so are serialised already.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})


def forget_before(session: Session, at: float) -> None:
    """Drop marks older than ``at``: they no longer count against any limit."""
    session.execute(delete(SendMark).where(col(SendMark.at) < at))


def recent(session: Session, overall_after: float, chats_after: float,
           chat_ids: set[int]) -> tuple[list[float], dict[int, list[float]]]:
    """Send times after ``overall_after`` for every chat, and after ``chats_after`` for each of
    ``chat_ids``; oldest first."""
    overall = list(session.exec(select(SendMark.at).where(col(SendMark.at) > overall_after)
                                .order_by(col(SendMark.at))))
    by_chat: dict[int, list[float]] = defaultdict(list)
    if chat_ids:
        rows = session.exec(select(SendMark.chat_id, SendMark.at)
                            .where(col(SendMark.chat_id).in_(chat_ids), col(SendMark.at) > chats_after)
                            .order_by(col(SendMark.at)))
        for chat_id, at in rows:
            by_chat[chat_id].append(at)
    return overall, by_chat


def add_mark(session: Session, chat_id: int, at: float) -> int:
    """Count one message to ``chat_id`` at ``at``; returns the mark's id (for ``move_marks``)."""
    mark = SendMark(chat_id=chat_id, at=at)
    session.add(mark)
    session.flush()
    assert mark.id is not None
    return mark.id


def move_marks(session: Session, mark_ids: Sequence[int], at: float) -> None:
    if mark_ids:
        session.execute(update(SendMark).where(col(SendMark.id).in_(mark_ids)).values(at=at))
