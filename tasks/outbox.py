"""Queueing notifications. A row is written in the same transaction as the change it reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, and_, case, false, literal, or_, text, update
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from tasks.bulk import insert_new_rows
from tasks.clock import Clock, db_time
from tasks.errors import ServiceError
from tasks.events import Actor, record
from tasks.models import PENDING_ONLY, Member, Outbox, OutboxStatus, Role, Unit
from tasks.notifications import MemberUnreachable, NotificationKind, NotificationUndeliverable, Payload, stored_payload
from tasks.redaction import redact

_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
# Each status as the office reads it (the desk's 发送状态, ``taskbot outbox``).
OUTBOX_STATUS_NAMES = {OutboxStatus.PENDING: "待发", OutboxStatus.SENT: "已发", OutboxStatus.DEAD: "失败"}


class Recipient(Protocol):
    """Whom a notification goes to: a Member, or a row of its id, channel and address (what the
    lookups below return: the planner finds a batch's recipients every tick, and whole ORM members
    cost more to build than the rest of the lookup)."""

    @property
    def id(self) -> int | None: ...

    @property
    def channel(self) -> str: ...

    @property
    def address(self) -> str: ...


def recipient_key(recipient: Recipient | Outbox) -> str:
    """The end of a notification's dedupe key that names where it goes. A Telegram chat is named by
    its number alone, as before there were other channels, so that the keys of rows queued then
    still match the same occasion queued again now."""
    if recipient.channel == "telegram":
        return recipient.address
    return f"{recipient.channel}:{recipient.address}"


def already_queued(session: Session, member: Recipient, dedupe_key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedupe_key == f"{dedupe_key}:{recipient_key(member)}")
                        ).first() is not None


def outbox_row(clock: Clock, member: Recipient, kind: NotificationKind, payload: Payload,
               dedupe_key: str) -> dict[str, Any]:
    """The columns of one notification for one chat; the key names the occasion, the chat is added.
    A payload of another kind's type is refused here, before anything is written."""
    return stored_row(clock, member, kind, stored_payload(kind, payload), dedupe_key)


def stored_row(clock: Clock, member: Recipient, kind: NotificationKind, stored: dict[str, Any],
               dedupe_key: str) -> dict[str, Any]:
    """``outbox_row`` for a payload already turned into its stored JSON (``stored_payload``): the
    planner sends one payload to each of a unit's members and turns it into JSON once."""
    return {"channel": member.channel, "address": member.address, "member_id": member.id, "kind": kind,
            "payload": stored, "dedupe_key": f"{dedupe_key}:{recipient_key(member)}",
            "status": OutboxStatus.PENDING, "attempts": 0, "last_error": "", "next_attempt_at": db_time(clock),
            "created_at": db_time(clock)}


def enqueue(session: Session, clock: Clock, member: Recipient, kind: NotificationKind, payload: Payload,
            dedupe_key: str) -> Outbox | None:
    """Queue one notification for one chat; a second row with the same key is not written.
    A payload of another kind's type is refused (TypeError) and nothing is written."""
    return _enqueue_stored(session, clock, member, kind, stored_payload(kind, payload), dedupe_key)


def _enqueue_stored(session: Session, clock: Clock, member: Recipient, kind: NotificationKind,
                    stored: dict[str, Any], dedupe_key: str) -> Outbox | None:
    if already_queued(session, member, dedupe_key):
        return None
    row = Outbox(**stored_row(clock, member, kind, stored, dedupe_key))
    session.add(row)
    return row


def enqueue_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Queue many ``outbox_row``s in one executemany; rows whose key is already queued are skipped.
    Returns how many were queued."""
    # Through the driver with plain values (tasks/bulk.py): SQLAlchemy's executemany ran every
    # value through its column's processor, and on PostgreSQL rendered each batch as a new
    # multi-row statement, which psycopg then parsed afresh.
    return insert_new_rows(session.connection(), Outbox, "dedupe_key", rows)


def unit_recipients(session: Session, unit_id: int) -> list[Recipient]:
    """Everyone who speaks for a unit: its members and its bound group chats."""
    return recipients_by_unit(session, {unit_id})[unit_id]


def role_recipients(session: Session, *roles: Role) -> list[Recipient]:
    return list(session.exec(select(Member.id, Member.channel, Member.address).where(
        col(Member.role).in_(roles), col(Member.active).is_(True), col(Member.reachable).is_(True))
        .order_by(col(Member.id))).all())


def notify_unit(session: Session, clock: Clock, unit_id: int, kind: NotificationKind, payload: Payload,
                dedupe_key: str, recipients: list[Recipient] | None = None) -> int:
    """``recipients``: the unit's members when the caller already has them (the planner loads a batch's at once)."""
    stored = stored_payload(kind, payload)  # first: a wrong payload is refused even when no one would hear it
    members = unit_recipients(session, unit_id) if recipients is None else recipients
    rows = [_enqueue_stored(session, clock, m, kind, stored, dedupe_key) for m in members]
    return sum(1 for r in rows if r is not None)


def recipients_by_unit(session: Session, unit_ids: set[int]) -> dict[int, list[Recipient]]:
    found: dict[int, list[Recipient]] = {unit_id: [] for unit_id in unit_ids}
    for member in session.exec(select(Member.id, Member.channel, Member.address, Member.unit_id).where(
            col(Member.unit_id).in_(unit_ids or {-1}), Member.role == Role.MEMBER, col(Member.active).is_(True),
            col(Member.reachable).is_(True)).order_by(col(Member.id))).all():
        found[member.unit_id or 0].append(member)
    return found


def notify_office(session: Session, clock: Clock, kind: NotificationKind, payload: Payload, dedupe_key: str) -> int:
    stored = stored_payload(kind, payload)  # first: a wrong payload is refused even when no one would hear it
    rows = [_enqueue_stored(session, clock, m, kind, stored, dedupe_key) for m in role_recipients(session, Role.OFFICE)]
    return sum(1 for r in rows if r is not None)


# --- delivery bookkeeping (the chat adapter sends; these record what happened) -------------


def count_due(session: Session, clock: Clock) -> int:
    """How many notifications are waiting to be sent now (claimed or not)."""
    return session.exec(select(func.count()).select_from(Outbox).where(
        Outbox.status == OutboxStatus.PENDING, col(Outbox.next_attempt_at) <= db_time(clock))).one()


def pending_by_channel(session: Session, prefixes: Collection[str] = ()) -> dict[tuple[str, str], int]:
    """How many notifications wait, by chat platform and by which of ``prefixes`` their address
    begins with ("" for none of them)."""
    kind = case(*((col(Outbox.address).startswith(prefix), prefix) for prefix in prefixes), else_="") \
        if prefixes else literal("")
    rows = session.exec(select(Outbox.channel, kind, func.count()).where(Outbox.status == OutboxStatus.PENDING)
                        .group_by(col(Outbox.channel), kind)).all()
    return {(channel, prefix): count for channel, prefix, count in rows}


LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=10)


def claim_due(session: Session, clock: Clock, limit: int = 20, channels: Collection[str] | None = None,
              address_prefixes: Collection[str] | None = None) -> list[Row[Any]]:
    """Take up to ``limit`` due rows. The conditional UPDATE is the claim: a row another sender
    holds (an unexpired lease) is skipped, so no two senders deliver the same row, provided a
    sender renews the lease of every row it still means to send before it runs out
    (``renew_leases``) and sends none it could not renew.

    The rows come back as plain values (``row.id``, ``row.address``, ``row.payload`` …), not ORM
    objects: they outlive the transaction, and the sender only reads them.

    ``channels``: only rows for these chat platforms (a sender delivers on the ones it runs; a row
    for a platform no running process serves waits for one that does). None: every channel.
    ``address_prefixes``: of those, only rows whose address begins with one of these (a sender
    that can reach a platform's group robots but not its app's chats leaves the chats' rows to a
    process that can). None: every address."""
    now = db_time(clock)
    query = claimable(session, now, limit, channels, address_prefixes)
    candidates = session.exec(query).all()
    if not candidates:
        return []
    # One conditional UPDATE … RETURNING claims them all; it repeats the conditions so that a row
    # another sender claimed since the SELECT (SQLite has no row locks) is left to it.
    claim = (update(_OUTBOX).where(_OUTBOX.c.id.in_(candidates), _OUTBOX.c.status == OutboxStatus.PENDING, _free(now))
             .values(lease_until=now + LEASE, attempts=_OUTBOX.c.attempts + 1).returning(*_OUTBOX.c))
    claimed = session.execute(claim).all()
    return sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))


def renew_leases(session: Session, clock: Clock, claims: Mapping[int, int]) -> tuple[set[int], datetime]:
    """Extend the leases of rows a sender still means to send (or has on the wire): ``claims`` maps
    each row's id to its ``attempts`` as the sender's claim left it. Returns the ids renewed and
    the end of their new lease; a row left out is no longer the sender's, and must not be sent by it."""
    until = db_time(clock) + LEASE
    if not claims:
        return set(), until
    renew = update(_OUTBOX).where(_still_held(claims)).values(lease_until=until).returning(_OUTBOX.c.id)
    return set(session.execute(renew).scalars()), until


def release_leases(session: Session, claims: Mapping[int, int] | None = None) -> int:
    """Give claimed rows back at once instead of when their lease runs out: ``claims`` (rows a
    sender claimed and never put on the wire, id to ``attempts`` as its claim left them), or, with
    None, every pending row's lease (for a caller that knows no sender holding one can still be
    sending). Returns how many were freed."""
    if claims is None:
        query = update(_OUTBOX).where(_OUTBOX.c.status == OutboxStatus.PENDING, _OUTBOX.c.lease_until.is_not(None))
    elif not claims:
        return 0
    else:
        query = update(_OUTBOX).where(_still_held(claims))
    return session.execute(query.values(lease_until=None)).rowcount


def _still_held(claims: Mapping[int, int]) -> ColumnElement[bool]:
    """The rows of ``claims`` that no other sender has claimed since, and that wait to be sent.

    ``attempts`` is the claim's token: every claim adds one, so a row whose count moved on was
    claimed again by another sender once this one's lease ran out, and is that sender's now. A row
    that is no longer pending, or has no lease (its outcome recorded, or every lease given back),
    is held by no one either."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for row_id, attempts in claims.items():
        by_attempts[attempts].append(row_id)
    return and_(_OUTBOX.c.status == OutboxStatus.PENDING, _OUTBOX.c.lease_until.is_not(None),
                or_(*(and_(_OUTBOX.c.attempts == attempts, _OUTBOX.c.id.in_(row_ids))
                      for attempts, row_ids in by_attempts.items())))


def _free(now: datetime) -> ColumnElement[bool]:
    """No sender holds the row: never leased, or its lease ran out."""
    return or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now)


def claimable(session: Session, now: datetime, limit: int, channels: Collection[str] | None = None,
              address_prefixes: Collection[str] | None = None) -> Select[tuple[int]]:
    """The ids of up to ``limit`` pending rows that are due and free, earliest first. On
    PostgreSQL it also tells the planner how to read them, for the rest of the transaction."""
    # The status as a literal, not a parameter: a plan must see that the query implies the
    # condition of the index of pending rows (ix_outbox_pending) to use it, and PostgreSQL's
    # generic plan for a prepared statement (psycopg prepares a statement it runs often) does
    # not know a parameter's value.
    query = (select(Outbox.id).where(text(PENDING_ONLY), col(Outbox.next_attempt_at) <= now, _free(now))
             .order_by(col(Outbox.next_attempt_at), col(Outbox.id)).limit(limit))
    if channels is not None:
        query = query.where(col(Outbox.channel).in_(channels))
    if address_prefixes is not None:
        query = query.where(or_(false(), *(col(Outbox.address).startswith(prefix, autoescape=True)
                                           for prefix in address_prefixes)))
    if session.get_bind().dialect.name == "postgresql":
        # Several workers: each takes rows no other transaction holds, without waiting for them.
        query = query.with_for_update(skip_locked=True)
        # A delivered row leaves dead entries in the index until a vacuum. A plain index scan
        # marks each one dead the first time it meets it, and later claims skip it; PostgreSQL
        # preferred a bitmap scan, which marks nothing, so every claim fetched every dead entry
        # again (15 ms a claim by the end of the year simulation with autovacuum off, 0.3 ms
        # this way). Reading the index in order is also what a LIMIT over a backlog wants.
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    return query


def mark_sent(session: Session, clock: Clock, row_ids: list[int]) -> None:
    """Rows delivered: one statement for all of them (on PostgreSQL, a statement each was half of
    the sender's time in the database)."""
    if row_ids:
        session.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(row_ids))
                        .values(status=OutboxStatus.SENT, sent_at=db_time(clock), lease_until=None))


def retry_later(session: Session, clock: Clock, row_id: int, delay: timedelta, error: str) -> None:
    row = session.get(Outbox, row_id)
    if row is not None:
        row.next_attempt_at, row.lease_until, row.last_error = db_time(clock) + delay, None, stored_error(error)


def stored_error(error: str) -> str:
    """An error as the outbox keeps it: without secrets (a Bot API error may name the URL it was
    sent to, token included, and the outbox goes into backups), and short."""
    return redact(error)[:500]


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


def mark_dead(session: Session, clock: Clock, row_id: int, error: str) -> None:
    row = session.get(Outbox, row_id)
    if row is not None:
        row.status, row.lease_until, row.last_error = OutboxStatus.DEAD, None, stored_error(error)
        record(session, clock, Actor("outbox", "scheduler"), "outbox.dead", "outbox", row_id, kind=row.kind,
               channel=row.channel, address=row.address, error=row.last_error)
        if row.kind != NotificationKind.NOTIFICATION_UNDELIVERABLE:
            # The office hears once per chat that messages to it are not getting through, not once per message.
            # (Not to the chat that is failing, when that is an office member's own.)
            member = session.get(Member, row.member_id) if row.member_id else None
            kind = NotificationKind.NOTIFICATION_UNDELIVERABLE
            stored = stored_payload(kind, NotificationUndeliverable(
                member=member.name if member else row.address, notification=row.kind))
            for office in role_recipients(session, Role.OFFICE):
                if (office.channel, office.address) != (row.channel, row.address):
                    _enqueue_stored(session, clock, office, kind, stored, f"undeliverable:{recipient_key(row)}")


def chat_migrated(session: Session, clock: Clock, row_id: int, new_address: str) -> None:
    """A group moved to a new address (a Telegram group became a supergroup): its member row and
    every pending row follow it."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    old, channel = row.address, row.channel
    for member in session.exec(select(Member).where(Member.channel == channel, Member.address == old)).all():
        member.address = new_address
    for pending in session.exec(select(Outbox).where(Outbox.channel == channel, Outbox.address == old,
                                                     Outbox.status == OutboxStatus.PENDING)).all():
        pending.address = new_address
    row.lease_until = None
    record(session, clock, Actor("outbox", "scheduler"), "chat.migrated", "outbox", row_id, channel=channel, old=old,
           new=new_address)


def member_unreachable(session: Session, clock: Clock, row_id: int, error: str) -> None:
    """The chat app says the bot was blocked: stop writing to that chat and tell the office."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    mark_dead(session, clock, row_id, error)
    member = session.get(Member, row.member_id) if row.member_id else None
    if member is None or not member.reachable:
        return
    member.reachable = False
    record(session, clock, Actor("outbox", "scheduler"), "member.unreachable", "member", member.id,
           error=stored_error(error)[:200])
    unit = session.get(Unit, member.unit_id) if member.unit_id else None
    notify_office(session, clock, NotificationKind.MEMBER_UNREACHABLE,
                  MemberUnreachable(member=member.name, unit=unit.name if unit else "", role=member.role),
                  f"unreachable:{member.id}:{row_id}")


def retry_dead(session: Session, clock: Clock, actor: Actor, row_id: int) -> Outbox:
    """Someone saw why a notification could not be sent and fixed it (the person unblocked the bot,
    the group let it back in): the dead row is pending again, due now, for the running sender.

    ``attempts`` is kept, not reset: every claim adds one and the sender uses the count as its
    claim's token (``_still_held``), so a count that went back could match a token an earlier claim
    already gave out; it also keeps how often the row was tried. The reason it died is kept in the
    audit event and cleared from the row, which is waiting again, not failing.

    A recipient marked unreachable (the bot was blocked) is taken as reachable again: whoever retries
    says it is fixed, and otherwise this one message would reach them and nothing after it. If the
    bot is still blocked, the sender marks them unreachable again, and the office is not told twice
    about the same row (its notice's key names the row)."""
    row = session.get(Outbox, row_id, with_for_update=True, populate_existing=True)  # two retries take turns
    if row is None:
        raise ServiceError(f"没有编号为 {row_id} 的通知。")
    if row.status != OutboxStatus.DEAD:
        raise ServiceError(f"通知 {row_id} 不是发送失败的通知（现在是“{OUTBOX_STATUS_NAMES[row.status]}”），无需重发。")
    row.status, row.next_attempt_at, row.lease_until = OutboxStatus.PENDING, db_time(clock), None
    member = session.get(Member, row.member_id) if row.member_id else None
    reachable_again = member is not None and member.active and not member.reachable
    if member is not None and reachable_again:
        member.reachable = True
    record(session, clock, actor, "outbox.retried", "outbox", row_id, kind=row.kind, address=row.address,
           attempts=row.attempts, error=row.last_error, reachable_again=reachable_again)
    row.last_error = ""
    return row
