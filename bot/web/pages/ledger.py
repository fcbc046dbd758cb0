"""台账 (to be written: every task × unit with filters, search, sort, server-side paging, the XLSX)."""

from __future__ import annotations

from aiohttp import web

from bot.web.desk import Visit, page


@page("GET", "/ledger", may="task")
async def ledger(visit: Visit) -> web.StreamResponse:
    return visit.render("ledger.html")
