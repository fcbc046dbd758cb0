"""The weekly digest for leadership and the office: what matters this week, as data.

Totals and completion rate; completion by work team and by unit; red/yellow/green counts;
every overdue item with days overdue; what changed since the last digest (newly done, newly
overdue); units that have reported nothing for ``silent_days``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from tasks.clock.policy import Policy
from tasks.events import jsonable
from tasks.models import OPEN_STATUSES, Assignment, AssignmentStatus, DutyTally, Event, Report, Task, Unit
from tasks.work.progress import Tally, completion_stats, count_open_due, light_counts, open_duties

DIGEST_LIST_LIMIT = 200  # the longest-overdue items listed; the total is always given


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
        "silent_units": [{"unit": name, "open": count} for name, count in silent],
        "silent_days": policy.silent_days,
    })
