"""The planner: what is due now becomes outbox rows, in the same transaction as the bookkeeping.

A tick reads only assignments whose ``next_check_at`` has come. For each it takes the steps
that fell since ``planned_until`` (see ``schedule``): the latest reminder (folded with others
into one message per unit when the bot was down and it is stale), the latest escalation for
each audience, the latest check-in. Due duties are taken a unit at a time, and a unit hears of
its batch in one message: its task's card when one step fell due, else one list of them all (a
card per step had a year at 10k assignments send each member about eight messages a working
day). Office and leadership escalations of one batch go out as one list each. Then
``planned_until`` moves to now and ``next_check_at`` to the next step.
A crash before commit leaves nothing behind; dedupe keys make a replayed tick harmless.

A project's milestones (开工, "9月底100%开工") are chased the same way, each unreached one like a
deadline of its own (see ``chased_stages``): the batch reads the milestones of its duties' tasks in
one query by task id, and ``next_check_at`` is the earliest next step of the deadline and of them.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from tasks.bulk import update_rows
from tasks.clock import Clock, db_time
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.clock.schedule import LEADERSHIP, OFFICE, UNIT, Step, next_step, steps_between
from tasks.clock.workdays import WorkCalendar
from tasks.events import Actor, record
from tasks.models import Assignment, AssignmentStatus, Milestone, Role, Task, TaskStatus, Unit
from tasks.notifications import (
    Digest,
    DueItem,
    DutiesDue,
    DutyStep,
    DutyUnplannable,
    NotificationKind,
    Payload,
    StepKind,
    StepList,
    stored_payload,
)
from tasks.outbox import (
    Recipient,
    already_queued,
    enqueue,
    enqueue_rows,
    outbox_row,
    recipients_by_unit,
    role_recipients,
    stored_row,
)

BATCH = 500
log = logging.getLogger(__name__)
PLANNER = Actor("planner", "scheduler")


@dataclass
class TickResult:
    assignments: int = 0
    messages: int = 0
    folded: int = 0
    digest: bool = False
    more: bool = False  # more was due than one batch took: call again


@dataclass(frozen=True)
class _Due:
    """One due assignment as the planner needs it: plain values, read in one query.

    (A thousand ORM triples cost more to build than the planning itself.)
    """

    assignment_id: int
    due_on: date | None
    planned_until: datetime | None
    created_at: datetime
    task_id: int
    text: str
    recurrence: str | None
    chased: bool  # the assignment is open and its task active
    unit_id: int
    unit: str
    deadline: date | None  # the document's deadline (a milestone on it is the deadline itself)


@dataclass(frozen=True)
class Stage:
    """A milestone the clock chases for a duty: its date, what the messages call it, and the name
    its steps' dedupe keys carry (stable across re-imports, unlike the row's id)."""

    due: date
    label: str
    name: str


MILESTONE_LABELS = {"start": "开工", "complete": "完工"}


def stage_of(kind: str, due: date, text: str) -> Stage:
    """A milestone row's values as the clock names it: 开工 and 完工 by their kind, an inline stage
    by its text, its key name a checksum of that text (a task may have several inline stages)."""
    if kind in MILESTONE_LABELS:
        return Stage(due, MILESTONE_LABELS[kind], kind)
    return Stage(due, text or "节点", f"inline-{zlib.crc32(text.encode()):08x}")


def chased_stages(session: Session, dues: Sequence[_Due], dialect: str) -> dict[int, list[Stage]]:
    """The unreached milestones of the duties' tasks, by task id: one query on the milestone's task
    index. A milestone on or after the document's deadline is the deadline itself (a project's 完工,
    a compound deadline's last stage): the deadline's own steps speak for it, so it is not chased twice."""
    deadlines = {due.task_id: due.deadline for due in dues}
    if not deadlines:
        return {}
    found: dict[int, list[Stage]] = defaultdict(list)
    for task_id, kind, due_on, text in session.exec(
            select(Milestone.task_id, Milestone.kind, Milestone.due, Milestone.text)
            .where(_among(col(Milestone.task_id), list(deadlines), dialect), col(Milestone.reached_on).is_(None))
            .order_by(col(Milestone.task_id), col(Milestone.due), col(Milestone.id))).all():
        deadline = deadlines[task_id]
        if deadline is None or due_on < deadline:
            found[task_id].append(stage_of(kind, due_on, text))
    return found


@dataclass(frozen=True)
class _UnitNote:
    """One duty's step for its unit: sent as its own card when it is the unit's only one this batch."""

    kind: StepKind
    item: DutyStep
    dedupe_key: str


@dataclass
class _Batch:
    """What one batch queues: notifications written in one statement at the end; each unit's
    steps, and the office's and the leadership's escalations, sent as one message each;
    reminders folded per unit after downtime. The members of the batch's units are read once,
    and schedules computed once per deadline."""

    clock: Clock
    members: dict[int, list[Recipient]]
    notes: list[dict[str, Any]] = field(default_factory=list)
    for_units: dict[int, list[_UnitNote]] = field(default_factory=lambda: defaultdict(list))
    office: list[DutyStep] = field(default_factory=list)
    leadership: list[DutyStep] = field(default_factory=list)
    folded: dict[int, list[DutyStep]] = field(default_factory=lambda: defaultdict(list))
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def to_unit(self, unit_id: int, kind: NotificationKind, payload: Payload, dedupe_key: str) -> None:
        stored = stored_payload(kind, payload)  # once for all of the unit's members
        for member in self.members.get(unit_id, []):
            self.notes.append(stored_row(self.clock, member, kind, stored, dedupe_key))

    def for_unit(self, unit_id: int, kind: StepKind, item: DutyStep, dedupe_key: str) -> None:
        self.for_units[unit_id].append(_UnitNote(kind, item, dedupe_key))

    def remembered(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per key and batch: most of a batch shares a few deadlines."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def step_key(assignment_id: int, step: Step, stage: Stage | None) -> str:
    """The dedupe key of one step: a milestone's steps name the milestone after the deadline's form."""
    return step.key(assignment_id) if stage is None else f"{step.key(assignment_id)}:{stage.name}"


def _item(due: _Due, step: Step, today_days: int | None, stage: Stage | None = None) -> DutyStep:
    # A deadline's step is given no milestone, so its stored payload keeps the keys it always had.
    milestone = {} if stage is None else {"milestone": stage.label}
    return DutyStep(key=step_key(due.assignment_id, step, stage), task_id=due.task_id, text=due.text, unit=due.unit,
                    due_on=due.due_on if stage is None else stage.due, step=step.level, days=today_days,
                    unit_id=due.unit_id, **milestone)


def _latest(steps: list[Step], audience: str) -> Step | None:
    matching = [s for s in steps if audience in s.audience and s.rule == "overdue"]
    return matching[-1] if matching else None


def plan_assignment(clock: Clock, policy: Policy, calendar: WorkCalendar, due: _Due, batch: _Batch,
                    stages: Sequence[Stage] = ()) -> datetime | None:
    """Queue what fell due for one assignment, its deadline's steps and each chased milestone's;
    returns when to look at it next (the earliest next step of any of them)."""
    now = clock.now()
    upcoming = [_chase(clock, policy, calendar, due, batch, due.due_on, due.recurrence, None)]
    upcoming += [_chase(clock, policy, calendar, due, batch, stage.due, None, stage) for stage in stages]
    moments = [step.at for step in upcoming if step is not None and step.at > now]
    return min(moments) if moments else None


def _chase(clock: Clock, policy: Policy, calendar: WorkCalendar, due: _Due, batch: _Batch, due_on: date | None,
           recurrence: str | None, stage: Stage | None) -> Step | None:
    """One date of a duty (its deadline, or one of its milestones): queue the steps that fell since
    it was last planned, and return its next step."""
    now = clock.now()
    start = due.planned_until or due.created_at

    def between(after: datetime | None, until: datetime, recurrence: str | None) -> list[Step]:
        return batch.remembered(("between", due_on, recurrence, after, until), lambda: steps_between(
            due_on, recurrence, policy, calendar, after=after, until=until))

    def key(step: Step) -> str:
        return step_key(due.assignment_id, step, stage)

    steps = between(start, now, recurrence)
    if due.planned_until is None and due_on is not None:
        # Nothing from before the assignment existed is replayed, except where the ladder stands
        # for a task that was already overdue when it was imported.
        steps = [s for s in between(None, start, None) if s.rule == "overdue"] + steps
    today = now.astimezone(policy.timezone).date()
    days = (today - due_on).days if due_on else None
    # A reminder says a deadline is coming; once it has passed (the bot was down through it) the
    # overdue ladder speaks for the task instead, so the unit is never told a late task is still due.
    reminders = [s for s in steps if s.rule == "remind"] if days is not None and days <= 0 else []
    if reminders:
        latest = reminders[-1]
        item = _item(due, latest, days, stage)
        if now - latest.at > timedelta(minutes=policy.catch_up_grace_minutes):
            batch.folded[due.unit_id].append(item)
        else:
            batch.for_unit(due.unit_id, "reminder", item, key(latest))
    if (step := _latest(steps, UNIT)) is not None:
        batch.for_unit(due.unit_id, "overdue", _item(due, step, days, stage), key(step))
    if (step := _latest(steps, OFFICE)) is not None:
        batch.office.append(_item(due, step, days, stage))
    if (step := _latest(steps, LEADERSHIP)) is not None:
        batch.leadership.append(_item(due, step, days, stage))
    checkins = [s for s in steps if s.rule == "checkin"]
    if checkins:
        batch.for_unit(due.unit_id, "checkin", _item(due, checkins[-1], days), key(checkins[-1]))
    upcoming: Step | None = batch.remembered(("next", due_on, recurrence, now), lambda: next_step(
        due_on, recurrence, policy, calendar, after=now))
    return upcoming


def _send_collected(session: Session, batch: _Batch, stamp: str) -> None:
    """One message per audience for the batch. ``stamp`` names the batch in the dedupe keys."""
    for kind, items, roles in ((NotificationKind.OVERDUE_OFFICE, batch.office, (Role.OFFICE,)),
                               (NotificationKind.OVERDUE_LEADERSHIP, batch.leadership, (Role.LEADER,))):
        if items:
            stored = stored_payload(kind, StepList(items=items))
            for member in role_recipients(session, *roles):
                batch.notes.append(stored_row(batch.clock, member, kind, stored, f"{kind}:{stamp}"))
    for unit_id in sorted(batch.for_units.keys() | batch.folded.keys()):
        notes, folded = batch.for_units.get(unit_id, []), batch.folded.get(unit_id, [])
        if len(notes) == 1 and not folded:
            batch.to_unit(unit_id, NotificationKind(notes[0].kind), notes[0].item, notes[0].dedupe_key)
        elif not notes:
            batch.to_unit(unit_id, NotificationKind.REMINDERS_FOLDED, StepList(items=folded), f"fold:{unit_id}:{stamp}")
        else:
            # Each item keeps its step's key and says which kind of step it is.
            # (Only the fields the step was given: a deadline's item stores no milestone key.)
            items = [DueItem(**note.item.model_dump(exclude_unset=True), kind=note.kind) for note in notes]
            items += [DueItem(**item.model_dump(exclude_unset=True), kind="reminder", late=True) for item in folded]
            batch.to_unit(unit_id, NotificationKind.DUTIES_DUE, DutiesDue(items=items), f"due:{unit_id}:{stamp}")


def _set_aside(session: Session, batch: _Batch, due: _Due, error: Exception) -> None:
    """One duty the clock cannot plan stops only itself: it is not looked at again until a change
    (an extension, a re-import, a send-back) sets next_check_at, and the office hears of it once."""
    log.error("planner: assignment %s (task %s) set aside: %r", due.assignment_id, due.task_id, error)
    record(session, batch.clock, PLANNER, "assignment.planning_failed", "assignment", due.assignment_id,
           task_id=due.task_id, due_on=due.due_on, error=repr(error)[:200])
    payload = DutyUnplannable(task_id=due.task_id, task_text=due.text, unit=due.unit, due_on=due.due_on)
    for member in role_recipients(session, Role.OFFICE):
        batch.notes.append(outbox_row(batch.clock, member, NotificationKind.DUTY_UNPLANNABLE, payload,
                                      f"unplannable:{due.assignment_id}"))


def _sending_time(clock: Clock, policy: Policy, calendar: WorkCalendar) -> bool:
    local = clock.now().astimezone(policy.timezone)
    return calendar.is_workday(local.date()) and not policy.is_quiet(local.time())


DUE_ORDER = (col(Assignment.next_check_at), col(Assignment.unit_id), col(Assignment.id))


def _among(column: Any, ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``: one parameter keeps the statement
    short enough for psycopg to keep it prepared, where 500 placeholders were rewritten each tick."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def due_query(now: datetime, limit: int, dialect: str) -> Select[tuple[int]]:
    """The ids of the assignments whose next_check_at has come, the earliest first, a unit at a time
    (one batch then holds all or most of a unit's due duties: one message for the unit).

    On next_check_at alone, so that the (next_check_at, unit_id, id) index is the only one that can
    answer it, whatever the database's statistics say: with a status condition too, SQLite without
    fresh statistics walked the (status, due_on) index over every open assignment and sorted them
    (1.4 s a tick at a million). Whether a due assignment is still open is read with its task.
    """
    query = (select(Assignment.id).where(col(Assignment.next_check_at) <= now)
             .order_by(*DUE_ORDER).limit(limit))
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)  # concurrent workers plan disjoint batches
    return query


def plan_steps(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar,
               limit: int = BATCH) -> TickResult:
    """One batch of due assignments. The caller commits and calls again while ``more`` is set,
    so that a long catch-up is many short transactions, not one that locks out the bot."""
    result = TickResult()
    if not _sending_time(clock, policy, calendar):
        return result  # reminders wait for the next working morning
    now, dialect = db_time(clock), session.get_bind().dialect.name
    # One id beyond the batch says whether another batch is due, without an empty transaction to find out.
    due_ids = session.exec(due_query(now, limit + 1, dialect)).all()
    result.more, due_ids = len(due_ids) > limit, due_ids[:limit]
    if not due_ids:
        return result
    rows = [_Due(*row) for row in session.exec(
        select(Assignment.id, Assignment.due_on, Assignment.planned_until, Assignment.created_at, Task.id, Task.text,
               Task.recurrence, (Task.status == TaskStatus.ACTIVE) & (Assignment.status == AssignmentStatus.OPEN),
               Unit.id, Unit.name, Task.deadline)
        .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(_among(col(Assignment.id), due_ids, dialect)).order_by(*DUE_ORDER)).all()]
    live = [due for due in rows if due.chased]
    batch = _Batch(clock, recipients_by_unit(session, {due.unit_id for due in live}))
    stages = chased_stages(session, live, dialect)
    # A duty reported, done or withdrawn, or of a withdrawn task, has nothing more to chase until a
    # change that reopens it (send back, extension, re-import) sets next_check_at again.
    moves = [{"id": due.assignment_id, "planned_until": due.planned_until, "next_check_at": None}
             for due in rows if not due.chased]
    for due in live:
        try:
            next_check_at = plan_assignment(clock, policy, calendar, due, batch, stages.get(due.task_id, ()))
        except Exception as error:  # planning is arithmetic on this one duty's dates: the fault is the row's
            _set_aside(session, batch, due, error)
            moves.append({"id": due.assignment_id, "planned_until": due.planned_until, "next_check_at": None})
            continue
        moves.append({"id": due.assignment_id, "planned_until": now, "next_check_at": next_check_at})
    _send_collected(session, batch, f"{now.isoformat()}:{rows[0].assignment_id}")
    # One UPDATE by primary key, executed for every row: through the ORM, preparing a thousand
    # rows' parameters cost more than the database took to run it.
    update_rows(session.connection(), Assignment, "id", moves)
    result.assignments = len(rows)
    result.folded = sum(len(items) for items in batch.folded.values())
    result.messages = enqueue_rows(session, batch.notes)
    return result


def digest_day(day: date, policy: Policy, calendar: WorkCalendar) -> date | None:
    """The day the digest of ``day``'s week (Monday to Sunday) goes out: the first working day from
    the configured weekday on, so that a holiday Monday moves it to the Wednesday or the Friday
    after the holiday rather than to nobody's desk; if the rest of the week is holiday, the last
    working day before it. None for a week without a working day (Spring Festival can take one)."""
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]
    later, earlier = week[policy.digest_weekday:], week[:policy.digest_weekday]
    return next((d for d in [*later, *reversed(earlier)] if calendar.is_workday(d)), None)


def _previous_digest_day(day: date, policy: Policy, calendar: WorkCalendar) -> date | None:
    """The last digest day before ``day``'s week (None: none in the five weeks before)."""
    for weeks in range(1, 6):  # Spring Festival can leave a week without one
        if (previous := digest_day(day - timedelta(weeks=weeks), policy, calendar)) is not None:
            return previous
    return None


def plan_digest(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar) -> bool:
    """On the week's digest day (see digest_day), once the digest hour has come, every leader and
    office member gets it once."""
    local = clock.now().astimezone(policy.timezone)
    if local.time() < policy.digest_at or policy.is_quiet(local.time()):
        return False
    if digest_day(local.date(), policy, calendar) != local.date():
        return False
    year, week, _ = local.isocalendar()
    key = f"digest:{year}W{week:02d}"
    missing = [m for m in role_recipients(session, Role.LEADER, Role.OFFICE) if not already_queued(session, m, key)]
    if not missing:
        return False
    digest = Digest.model_validate(weekly_digest(  # computed once a week, not once a minute
        session, local.date(), policy, since_day=_previous_digest_day(local.date(), policy, calendar)))
    # The chart's figures without the lists it does not draw.
    figures = digest.model_copy(update={"overdue": [], "newly_done": [], "newly_overdue": [], "silent_units": []})
    for member in missing:
        enqueue(session, clock, member, NotificationKind.DIGEST, digest, key)
        enqueue(session, clock, member, NotificationKind.DIGEST_FILES, figures, f"{key}:files")
    return True


def tick(session: Session, clock: Clock, policy: Policy, calendar: WorkCalendar, limit: int = BATCH) -> TickResult:
    """One batch of steps and, when due, the digest. ``TickResult.more`` means: call again."""
    result = plan_steps(session, clock, policy, calendar, limit)
    result.digest = plan_digest(session, clock, policy, calendar)
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
        if not result.more:
            return total
