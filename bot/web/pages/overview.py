"""总览: the completion rate, work teams and units with the chat's lights and legend, the overdue trend
by week and the weekly digest's chart. Every figure is the one /stats and the digest give, from the
same functions (tasks/work/progress.py, tasks/clock/digest.py), read from the tally.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlmodel import Session

from bot.phone import GROUP_LEGEND, LEGEND
from bot.render import LIGHTS
from bot.web.desk import Visit, page
from tasks.clock.digest import weekly_digest, weekly_trend
from tasks.clock.policy import Policy
from tasks.notifications import Digest, NotificationKind, parse_payload
from tasks.work.progress import Tally, completion_stats, light_counts

# The chat's one legend (bot/phone.py), each emoji drawn as a dot of its colour: a desktop without an
# emoji font would show boxes.
COLOURS = {emoji: colour for colour, emoji in LIGHTS.items()}
DOT_LEGEND = [(COLOURS[part[0]], part[1:]) for part in LEGEND.split()]
LIGHT_NAMES = {"red": "逾期", "yellow": "7天内到期或待审核", "green": "其余"}
CHART_CACHE = "overview-chart"  # visit.desk.files: (day, figures it was drawn from, PNG)


@dataclass(frozen=True)
class Figures:
    total: Tally
    teams: list[Tally]
    units: list[Tally]
    lights: dict[str, int]
    trend: list[dict[str, Any]]


def _policy(visit: Visit) -> Policy:
    return visit.ctx.policy or Policy(timezone=visit.ctx.timezone)


@page("GET", "/overview", may="stats")
async def overview(visit: Visit) -> web.StreamResponse:
    today = visit.ctx.today()
    policy = _policy(visit)

    def work(session: Session) -> Figures:
        units, teams, total = completion_stats(session, today)
        this_week = {"week_of": today, "overdue": total.overdue, "rate": round(total.rate, 4)}
        return Figures(total, teams, units, light_counts(session, today),
                       weekly_trend(session, today, policy, this_week))

    figures = await visit.run(work)
    return visit.render("overview.html", figures=figures, today=today, legend=DOT_LEGEND, group_legend=GROUP_LEGEND,
                        light_names=LIGHT_NAMES)


@page("GET", "/overview/chart.png", may="stats")
async def chart(visit: Visit) -> web.StreamResponse:
    """The weekly digest's chart, drawn from the digest as it would be sent today. Drawing takes far
    longer than the page: the picture is kept for the day, and drawn again when the totals change."""
    today = visit.ctx.today()
    policy = _policy(visit)

    def totals(session: Session) -> tuple[int, ...]:
        _units, _teams, total = completion_stats(session, today)
        return total.total, total.done, total.reported, total.overdue, total.soon

    key = (today, await visit.run(totals))
    kept = visit.desk.files.get(CHART_CACHE)
    if kept is None or kept[0] != key:
        def digest(session: Session) -> Digest:
            stored = weekly_digest(session, today, policy)
            parsed = parse_payload(NotificationKind.DIGEST, stored)
            assert isinstance(parsed, Digest)
            return parsed

        drawn = await asyncio.to_thread(_draw, await visit.run(digest))
        kept = (key, drawn)
        visit.desk.files[CHART_CACHE] = kept
    return web.Response(body=kept[1], content_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def _draw(digest: Digest) -> bytes:
    # Imported here: matplotlib takes a while to load, and most visits never draw.
    from tasks.clock.digest_chart import digest_chart

    return digest_chart(digest)
