"""待审核: the completion reports and extension requests waiting for the office, oldest first, each a link
to its task's page where it is decided (the same list as /pending in chat: review.waiting_for_review)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlmodel import Session

from bot.web.desk import Visit, page, whole_number
from tasks.clock import local_date, local_moment
from tasks.work.review import Waiting, waiting_for_review

PAGE_ITEMS = 50


@dataclass(frozen=True)
class WaitingRow:
    item: Waiting
    what: str
    at: str
    age: str
    anchor: str  # where on the task's page it is decided


def _age(days: int) -> str:
    return "今天" if days <= 0 else ("昨天" if days == 1 else f"{days}天前")


@page("GET", "/pending", may="pending")
async def pending(visit: Visit) -> web.StreamResponse:
    raw = visit.query("page", "1")
    number = min(whole_number(raw) or 1, 10**6)
    number = max(number, 1)

    def work(session: Session) -> tuple[list[Waiting], int]:
        items, total = waiting_for_review(session, limit=PAGE_ITEMS, offset=(number - 1) * PAGE_ITEMS)
        if not items and total:  # a page that emptied since it was linked: the last one there is
            last = (total + PAGE_ITEMS - 1) // PAGE_ITEMS
            items, total = waiting_for_review(session, limit=PAGE_ITEMS, offset=(last - 1) * PAGE_ITEMS)
        return items, total

    items, total = await visit.run(work)
    pages = max((total + PAGE_ITEMS - 1) // PAGE_ITEMS, 1)
    number = min(number, pages)
    today, zone = visit.ctx.today(), visit.ctx.timezone
    rows = []
    for item in items:
        if item.kind == "completion":
            what = "申请办结" + (f"，附证明材料 {item.files} 份" if item.files else "")
            anchor = f"report-{item.id}"
        else:
            what = f"申请延期至 {item.asked_for.isoformat()}" if item.asked_for else "申请延期"
            anchor = f"extension-{item.id}"
        rows.append(WaitingRow(item, what, local_moment(item.since, zone).strftime("%Y-%m-%d %H:%M"),
                               _age((today - local_date(item.since, zone)).days), anchor))
    return visit.render("pending.html", rows=rows, total=total, number=number, pages=pages)
