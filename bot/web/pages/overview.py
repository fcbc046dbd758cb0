"""总览 (to be written: rates, lights by team and unit, the overdue trend, the digest's chart)."""

from __future__ import annotations

from aiohttp import web

from bot.web.desk import Visit, page


@page("GET", "/overview", may="stats")
async def overview(visit: Visit) -> web.StreamResponse:
    return visit.render("overview.html")
