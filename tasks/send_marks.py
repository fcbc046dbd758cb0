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


def recent(session: Session, channel: str, overall_after: float, chats_after: float,
           addresses: set[str]) -> tuple[list[float], dict[str, list[float]]]:
    """Send times on ``channel`` after ``overall_after`` for every address, and after
    ``chats_after`` for each of ``addresses``; oldest first."""
    overall = list(session.exec(select(SendMark.at)
                                .where(SendMark.channel == channel, col(SendMark.at) > overall_after)
                                .order_by(col(SendMark.at))))
    by_chat: dict[str, list[float]] = defaultdict(list)
    if addresses:
        rows = session.exec(select(SendMark.address, SendMark.at)
                            .where(SendMark.channel == channel, col(SendMark.address).in_(addresses),
                                   col(SendMark.at) > chats_after)
                            .order_by(col(SendMark.at)))
        for address, at in rows:
            by_chat[address].append(at)
    return overall, by_chat


def add_mark(session: Session, channel: str, address: str, at: float) -> int:
    """Count one message to ``address`` on ``channel`` at ``at``; returns the mark's id (for ``move_marks``)."""
    mark = SendMark(channel=channel, address=address, at=at)
    session.add(mark)
    session.flush()
    assert mark.id is not None
    return mark.id


def move_marks(session: Session, mark_ids: Sequence[int], at: float) -> None:
    if mark_ids:
        session.execute(update(SendMark).where(col(SendMark.id).in_(mark_ids)).values(at=at))
