"""The weekly digest for leadership and the office: what matters this week, as data.

Totals and completion rate; completion by work team and by unit; red/yellow/green counts;
every overdue item with days overdue; what changed since the last digest (newly done, newly
overdue); units that have reported nothing for ``silent_days``; the plan's title; and the trend
of the weeks before (see ``weekly_trend``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from tasks.clock import local_date
from tasks.clock.policy import Policy
from tasks.events import jsonable
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    DutyTally,
    Event,
    Outbox,
    Plan,
    Report,
    Task,
    Unit,
)
from tasks.notifications import Digest, NotificationKind
from tasks.plan.ledger import LedgerFile, ledger_workbook
from tasks.work.progress import Tally, completion_stats, count_open_due, light_counts, open_duties

DIGEST_LIST_LIMIT = 200  # the longest-overdue items listed; the total is always given
TREND_WEEKS = 26  # how far back the trend looks: half a year of weekly points still reads on a phone


def _tally(t: Tally) -> dict[str, Any]:
    return {"name": t.name, "total": t.total, "done": t.done, "reported": t.reported, "overdue": t.overdue,
            "rate": round(t.rate, 4), "light": t.light}


def weekly_digest(session: Session, today: date, policy: Policy, since_day: date | None = None) -> dict[str, Any]:
    """``since_day``: the day of the last digest (default a week before ``today``); what changed is
    told from then, so that a digest a holiday moved neither skips nor repeats days."""
    units, teams, total = completion_stats(session, today)
    week_ago = since_day or today - timedelta(days=7)
    since = datetime.combine(week_ago, time(0), tzinfo=policy.timezone).astimezone(UTC)
    lights = light_counts(session, today)

    def listed(duties: list) -> list[dict[str, Any]]:
        return [{"task_id": d.task.id, "unit": d.unit.name, "text": d.task.text, "due_on": d.assignment.due_on,
                 "days": (today - d.assignment.due_on).days} for d in duties if d.assignment.due_on is not None]

    overdue = listed(open_duties(session, before=today, limit=DIGEST_LIST_LIMIT))
    verified_ids = session.exec(select(Event.entity_id).where(Event.action == "assignment.verified",
                                                              col(Event.at) >= since)).all()
    newly_done = [{"task_id": task_id, "unit": name, "text": text} for task_id, name, text in session.exec(
        select(Task.id, Unit.name, Task.text).join(Assignment, col(Assignment.task_id) == Task.id)
        .join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(col(Assignment.id).in_(verified_ids or [-1]), Assignment.status == AssignmentStatus.DONE)).all()]
    newly_overdue = listed(open_duties(session, before=today, since=week_ago, limit=DIGEST_LIST_LIMIT))
    silent_since = datetime.combine(today - timedelta(days=policy.silent_days), time(0),
                                    tzinfo=policy.timezone).astimezone(UTC)
    reporting = select(Assignment.unit_id).join(Report, col(Report.assignment_id) == Assignment.id).where(
        col(Report.created_at) >= silent_since)
    open_now = func.sum(DutyTally.n)
    silent = session.exec(
        select(Unit.name, open_now).join(DutyTally, col(DutyTally.unit_id) == Unit.id)
        .where(col(DutyTally.status).in_(OPEN_STATUSES), col(DutyTally.unit_id).not_in(reporting))
        .group_by(col(Unit.name)).having(open_now > 0).order_by(col(Unit.name))).all()
    return jsonable({
        "week_of": today, "total": _tally(total), "teams": [_tally(t) for t in teams],
        "units": [_tally(t) for t in units], "lights": lights,
        "overdue": overdue, "overdue_total": count_open_due(session, before=today),
        "newly_done": newly_done, "newly_overdue": newly_overdue,
        "newly_overdue_total": count_open_due(session, before=today, since=week_ago),
        "silent_units": [{"unit": name, "open": count} for name, count in silent],
        "silent_days": policy.silent_days,
        "title": plan_title(session, today),
        "trend": weekly_trend(session, today, policy, {"week_of": today, "overdue": total.overdue,
                                                       "rate": round(total.rate, 4)}),
    })


def plan_title(session: Session, today: date) -> str:
    """The title of the plan the digest reports on: the latest imported for ``today``'s year, else
    the latest of any year (empty before any import)."""
    newest = (col(Plan.year) == today.year).desc(), col(Plan.imported_at).desc(), col(Plan.id).desc()
    return session.exec(select(Plan.title).order_by(*newest).limit(1)).first() or ""


def weekly_trend(session: Session, today: date, policy: Policy, this_week: dict[str, Any]) -> list[dict[str, Any]]:
    """Overdue count and completion rate week by week, oldest first, ending with ``this_week``.

    The earlier weeks are read from the digests already queued in the outbox, each week's figures
    as leadership was told them then. Recomputing past weeks from assignments and audit events
    would need every duty's deadline and status as they stood on each past day, extensions and
    send-backs included: a scan of every assignment and its history for each point, where the
    sent digests hold the answer already. A week in which no digest went out (the bot was not
    running, nobody was bound to receive it) has no point rather than an invented one.

    Every recipient's row of a week holds the same figures, and a payload is large (its lists):
    the week's first row is chosen from the outbox's (kind, created_at) index alone, and only
    those few payloads are read.
    """
    since = datetime.combine(today - timedelta(weeks=TREND_WEEKS), time(0), tzinfo=policy.timezone)
    queued = session.exec(select(Outbox.id, Outbox.created_at).where(
        Outbox.kind == NotificationKind.DIGEST, col(Outbox.created_at) >= since.astimezone(UTC))).all()
    first_of_week: dict[tuple[int, int], int] = {}
    for row_id, created_at in sorted(queued):
        first_of_week.setdefault(local_date(created_at, policy.timezone).isocalendar()[:2], row_id)
    payload = Outbox.payload
    sent = session.exec(select(payload["week_of"].as_string(), payload[("total", "overdue")].as_integer(),
                               payload[("total", "rate")].as_float())
                        .where(col(Outbox.id).in_(list(first_of_week.values()) or [-1]))).all()
    weeks: dict[tuple[int, int], dict[str, Any]] = {}
    for week_of, overdue, rate in sent:
        day = date.fromisoformat(str(week_of))
        if day < today:
            weeks.setdefault(day.isocalendar()[:2], {"week_of": day, "overdue": int(overdue), "rate": float(rate)})
    weeks[today.isocalendar()[:2]] = this_week
    return [point for _week, point in sorted(weeks.items())]


@dataclass(frozen=True)
class DigestFiles:
    """What goes with the digest's text: its chart, and the ledger as the database holds it that day."""

    chart: bytes
    chart_name: str
    ledger: LedgerFile


def digest_files(session: Session, digest: Digest, *, district: str, timezone: ZoneInfo) -> DigestFiles:
    # Imported here: matplotlib takes a while to load, and the planner and most commands never draw.
    from tasks.clock.digest_chart import digest_chart

    return DigestFiles(digest_chart(digest), f"周报-{digest.week_of.isoformat()}.png",
                       ledger_workbook(session, digest.week_of, district=district, timezone=timezone))
