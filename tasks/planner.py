"""The planner: what is due now becomes outbox rows, in the same transaction as the bookkeeping.

A tick reads only assignments whose ``next_check_at`` has come. For each it takes the steps
that fell since ``planned_until`` (see ``schedule``): the latest reminder (folded with others
into one message per unit when the bot was down and it is stale), the latest escalation for
each audience, the latest check-in. Office and leadership escalations of one tick go out as
one list each. Then ``planned_until`` moves to now and ``next_check_at`` to the next step.
A crash before commit leaves nothing behind; dedupe keys make a replayed tick harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.digest import weekly_digest
from tasks.duties import duty_select
from tasks.models import Assignment, AssignmentStatus, Member, Role, Task, TaskStatus, Unit
from tasks.outbox import already_queued, enqueue, notify_unit, recipients_by_unit, role_recipients
from tasks.policy import Policy
from tasks.schedule import LEADERSHIP, OFFICE, UNIT, Step, next_step, steps_between
from tasks.workdays import WorkCalendar

BATCH = 500


@dataclass
class TickResult:
    assignments: int = 0
    messages: int = 0
    folded: int = 0
    digest: bool = False


@dataclass
class _Ladder:
    """Escalations of one tick for the office and for leadership, sent as one list each;
    and the members of the batch's units, read once."""

    office: list[dict[str, Any]] = field(default_factory=list)
    leadership: list[dict[str, Any]] = field(default_factory=list)
    folded: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    members: dict[int, list[Member]] = field(default_factory=dict)


def _item(assignment: Assignment, task: Task, unit: Unit, step: Step, today_days: int | None) -> dict[str, Any]:
    return {"key": step.key(assignment.id or 0), "task_id": task.id, "text": task.text, "unit": unit.name,
            "due_on": assignment.due_on, "step": step.level, "days": today_days}


def _latest(steps: list[Step], audience: str) -> Step | None:
    matching = [s for s in steps if audience in s.audience and s.rule == "overdue"]
    return matching[-1] if matching else None


def plan_assignment(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar, assignment: Assignment,
                    task: Task, unit: Unit, ladder: _Ladder) -> int:
    """Queue what fell due for one assignment; returns the messages queued for its unit."""
    now = clock.now()
    start = assignment.planned_until or assignment.created_at
    steps = steps_between(assignment.due_on, task.recurrence, policy, calendar, after=start, until=now)
    if assignment.planned_until is None and assignment.due_on is not None:
        # Nothing from before the assignment existed is replayed, except where the ladder stands
        # for a task that was already overdue when it was imported.
        before = steps_between(assignment.due_on, None, policy, calendar, after=None, until=start)
        steps = [s for s in before if s.rule == "overdue"] + steps
    today = now.astimezone(policy.timezone).date()
    days = (today - assignment.due_on).days if assignment.due_on else None
    queued = 0
    reminders = [s for s in steps if s.rule == "remind"]
    if reminders:
        latest = reminders[-1]
        item = _item(assignment, task, unit, latest, days)
        if now - latest.at > timedelta(minutes=policy.catch_up_grace_minutes):
            ladder.folded[unit.id or 0].append(item)
        else:
            queued += notify_unit(session, clock, unit.id or 0, "reminder", item, latest.key(assignment.id or 0),
                                  ladder.members.get(unit.id or 0))
    if (step := _latest(steps, UNIT)) is not None:
        queued += notify_unit(session, clock, unit.id or 0, "overdue", _item(assignment, task, unit, step, days),
                              step.key(assignment.id or 0), ladder.members.get(unit.id or 0))
    if (step := _latest(steps, OFFICE)) is not None:
        ladder.office.append(_item(assignment, task, unit, step, days))
    if (step := _latest(steps, LEADERSHIP)) is not None:
        ladder.leadership.append(_item(assignment, task, unit, step, days))
    checkins = [s for s in steps if s.rule == "checkin"]
    if checkins:
        queued += notify_unit(session, clock, unit.id or 0, "checkin",
                              _item(assignment, task, unit, checkins[-1], days), checkins[-1].key(assignment.id or 0),
                              ladder.members.get(unit.id or 0))
    assignment.planned_until = db_time(clock)
    upcoming = next_step(assignment.due_on, task.recurrence, policy, calendar, after=now)
    assignment.next_check_at = upcoming.at if upcoming else None
    return queued


def _send_ladder(session: Session, clock: Clock, ladder: _Ladder, stamp: str) -> int:
    queued = 0
    for kind, items, roles in (("overdue_office", ladder.office, (Role.OFFICE,)),
                               ("overdue_leadership", ladder.leadership, (Role.LEADER,))):
        if not items:
            continue
        for member in role_recipients(session, *roles):
            queued += enqueue(session, clock, member, kind, {"items": items}, f"{kind}:{stamp}") is not None
    for unit_id, items in ladder.folded.items():
        queued += notify_unit(session, clock, unit_id, "reminders_folded", {"items": items}, f"fold:{unit_id}:{stamp}")
    return queued


def _sending_time(clock: Clock, policy: Policy, calendar: WorkCalendar) -> bool:
    local = clock.now().astimezone(policy.timezone)
    return calendar.is_workday(local.date()) and not policy.is_quiet(local.time())


def plan_steps(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar,
               limit: int = BATCH) -> TickResult:
    """One batch of due assignments. The caller commits and calls again while a batch comes back full,
    so that a long catch-up is many short transactions, not one that locks out the bot."""
    result = TickResult()
    if not _sending_time(clock, policy, calendar):
        return result  # reminders wait for the next working morning
    now = db_time(clock)
    # Two steps on purpose: the due ids come from the next_check_at index alone, whatever the
    # database's statistics say (a join here let PostgreSQL scan every open assignment).
    due_query = (select(Assignment.id).where(col(Assignment.next_check_at) <= now,
                                             Assignment.status == AssignmentStatus.OPEN)
                 .order_by(col(Assignment.next_check_at), col(Assignment.id)).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due_query = due_query.with_for_update(skip_locked=True)  # concurrent workers plan disjoint batches
    due_ids = session.exec(due_query).all()
    rows = session.exec(
        duty_select().where(col(Assignment.id).in_(due_ids or [-1]))
        .order_by(col(Assignment.next_check_at), col(Assignment.id))).all() if due_ids else []
    live = []
    for assignment, task, unit in rows:
        if task.status == TaskStatus.ACTIVE:
            live.append((assignment, task, unit))
        else:
            assignment.next_check_at = None  # a withdrawn task has nothing more to chase
    ladder = _Ladder(members=recipients_by_unit(session, {u.id for _a, _t, u in live if u.id is not None}))
    with session.no_autoflush:  # the batch's changes are written once, at the end
        for assignment, task, unit in live:
            result.messages += plan_assignment(session, clock, policy, calendar, assignment, task, unit, ladder)
    result.assignments = len(rows)
    result.folded = sum(len(items) for items in ladder.folded.values())
    result.messages += _send_ladder(session, clock, ladder, f"{now.isoformat()}:{rows[0][0].id if rows else 0}")
    return result


def plan_digest(session: Session, clock: Clock, policy: Policy) -> bool:
    """On the digest weekday, once the digest hour has come, every leader and office member gets it once."""
    local = clock.now().astimezone(policy.timezone)
    if local.weekday() != policy.digest_weekday or local.time() < policy.digest_at or policy.is_quiet(local.time()):
        return False
    year, week, _ = local.isocalendar()
    key = f"digest:{year}W{week:02d}"
    missing = [m for m in role_recipients(session, Role.LEADER, Role.OFFICE) if not already_queued(session, m, key)]
    if not missing:
        return False
    digest = weekly_digest(session, local.date(), policy)  # computed once a week, not once a minute
    for member in missing:
        enqueue(session, clock, member, "digest", digest, key)
    return True


def tick(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar, limit: int = BATCH) -> TickResult:
    """One batch of steps and, when due, the digest. ``TickResult.assignments == limit`` means: call again."""
    result = plan_steps(session, clock, policy, calendar, limit)
    result.digest = plan_digest(session, clock, policy)
    return result


def run_tick(run: Callable[[Callable[[Session], TickResult]], TickResult], clock: Clock, policy: Policy,
             calendar: WorkCalendar, limit: int = BATCH) -> TickResult:
    """A whole tick as consecutive transactions: ``run`` opens one transaction per call."""
    total = TickResult()
    while True:
        result = run(lambda session: tick(session, clock, policy, calendar, limit))
        total.assignments += result.assignments
        total.messages += result.messages
        total.folded += result.folded
        total.digest |= result.digest
        if result.assignments < limit:
            return total
