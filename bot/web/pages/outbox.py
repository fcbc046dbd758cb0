"""发送状态: the outbox as the office reads it — how many notifications wait, went out and died, the
newest of each with whom they are for, and a dead letter put back in the queue (tasks.outbox.retry_dead)
for the running bot's sender to deliver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select
from yarl import URL

from bot.web.desk import Visit, page, whole_number
from tasks.clock import local_moment
from tasks.errors import ServiceError
from tasks.models import Member, Outbox, OutboxStatus, Unit
from tasks.notifications import KIND_NAMES, NotificationKind
from tasks.outbox import OUTBOX_STATUS_NAMES, retry_dead
from tasks.redaction import redact
from tasks.work.duties import actor_of
from tasks.work.lookup import notification_counts
from tasks.work.members import ROLE_NAMES

PAGE_SIZE = 20
# Each list, its status, its heading and the moment its rows are ordered by (newest first).
LISTS = (
    ("dead", OutboxStatus.DEAD, "发送失败", Outbox.id),
    ("pending", OutboxStatus.PENDING, "待发", Outbox.id),
    ("sent", OutboxStatus.SENT, "最近已发", Outbox.sent_at),
)


# What the chat app's usual refusals mean, for an office that does not read its English. The reason
# itself is shown too: it is what an administrator searches for.
REASON_HINTS = (
    ("blocked by the user", "对方屏蔽了机器人：请对方解除屏蔽后重发"),
    ("kicked from the", "机器人被移出了群聊：请把机器人加回群后重发"),
    ("not a member of", "机器人不在这个群里：请把机器人加回群后重发"),
    ("chat not found", "找不到这个会话：对方可能从未与机器人私聊，或群已解散"),
    ("user is deactivated", "对方的账号已注销"),
    ("render:", "消息内容无法生成（程序版本不符），请联系管理员"),
)


def reason_hint(error: str) -> str:
    lowered = error.lower()
    return next((hint for pattern, hint in REASON_HINTS if pattern in lowered), "")


def kind_name(kind: str) -> str:
    """A row's kind as the office reads it; a kind this version does not know, as stored."""
    try:
        return KIND_NAMES[NotificationKind(kind)]
    except ValueError:
        return kind


@dataclass
class Listing:
    key: str
    title: str
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def _listing(session: Session, visit: Visit, key: str, status: OutboxStatus, title: str, order: Any,
             page_number: int, total: int) -> Listing:
    pages = max(1, -(-total // PAGE_SIZE))
    page_number = min(max(page_number, 1), pages)
    # Only the columns shown: a row's payload (a digest's, a ledger request's) is not read.
    query = (select(Outbox.id, Outbox.kind, Outbox.address, Outbox.attempts, Outbox.last_error, Outbox.created_at,
                    Outbox.next_attempt_at, Outbox.sent_at, Member.name, Member.user_id, Member.role, Unit.name)
             .outerjoin(Member, col(Member.id) == Outbox.member_id).outerjoin(Unit, col(Unit.id) == Member.unit_id)
             .where(Outbox.status == status).order_by(col(order).desc(), col(Outbox.id).desc())
             .offset((page_number - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    timezone = visit.desk.timezone
    rows = []
    for (row_id, kind, address, attempts, error, created_at, next_at, sent_at, name, user_id, role,
         unit) in session.exec(query).all():
        if name is None and role is None:
            recipient, detail = f"会话 {address}", ""
        elif user_id is None:
            recipient, detail = unit or name or f"会话 {address}", "单位群"
        else:
            recipient, detail = name or f"会话 {address}", unit or ROLE_NAMES.get(role, "")
        moment = sent_at if key == "sent" and sent_at else (next_at if key == "pending" else created_at)
        rows.append({"id": row_id, "kind": kind_name(kind), "recipient": recipient, "detail": detail,
                     "attempts": attempts, "at": local_moment(moment, timezone),
                     "created": local_moment(created_at, timezone), "error": redact(error or ""),
                     "hint": reason_hint(error or "")})
    return Listing(key, title, rows, total, page_number, pages)


def outbox_view(session: Session, visit: Visit, pages: dict[str, int]) -> dict[str, Any]:
    counts = notification_counts(session)
    listings = [_listing(session, visit, key, status, title, order, pages[key], counts.get(status, 0))
                for key, status, title, order in LISTS]
    keys = {status: key for key, status, _title, _order in LISTS}
    return {"counts": [(OUTBOX_STATUS_NAMES[status], counts.get(status, 0), keys[status]) for status in OutboxStatus],
            "total": sum(counts.values()), "listings": listings}


def _page_number(text: str) -> int:
    return whole_number(text) or 1


@page("GET", "/outbox", may="outbox")
async def outbox(visit: Visit) -> web.StreamResponse:
    pages = {key: _page_number(visit.query(key)) for key, *_ in LISTS}
    view = await visit.run(lambda session: outbox_view(session, visit, pages))

    def page_link(key: str, number: int) -> str:
        query = {**{k: str(v) for k, v in pages.items() if v > 1}, key: str(number)}
        return f"/outbox?{URL.build(query=query).raw_query_string}#{key}"

    return visit.render("outbox.html", page_link=page_link, **view)


@page("POST", "/outbox/retry", may="outbox")
async def retry(visit: Visit) -> web.StreamResponse:
    number = whole_number(visit.form("id"))
    if number is None:
        raise ServiceError("没有这条通知。")

    def work(session: Session) -> None:
        retry_dead(session, visit.ctx.clock, actor_of(visit.acting_member(session)), number)

    await visit.run(work)
    return visit.back_to("/outbox", f"通知 {number} 已放回待发队列，机器人会马上重新发送。")
