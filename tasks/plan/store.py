"""Writing a parsed plan to the database: in place, idempotent, audited.

Items are matched to rows by their ``ref``; only what differs is written, each
change with an audit event. Tasks that left the document are withdrawn, never
deleted, so reports and history survive a corrected document. The caller owns
the transaction: a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from tasks import tally
from tasks.bulk import load_rows
from tasks.clock import Clock, db_time
from tasks.db import parameter_limit
from tasks.events import Actor, event_row
from tasks.models import (
    STATUS_NAMES,
    Assignment,
    AssignmentStatus,
    Event,
    ImportProblem,
    Milestone,
    OfficeChoice,
    Plan,
    Project,
    Task,
    TaskStatus,
    Unit,
    UnitAlias,
    WorkTeam,
    WorkTeamLead,
    deadline_in_force,
)
from tasks.plan.parsed import Item, ParsedPlan
from tasks.text import compact

TRACKED_KINDS = ("workpoint", "task", "project")
# Fields whose change is a change to the duty itself, and so an audited event.
# Where a row sits in the document (line, position) is refreshed silently: inserting
# a row above a task does not change that task.
AUDITED_TASK_FIELDS = ("kind", "number", "category", "topic", "text", "deadline", "start",
                       "deadline_text", "recurrence", "officials", "parent_id", "status")
# Rows in one INSERT … RETURNING, and values in one IN list, at most: a plan may hold more tasks
# than a statement may carry parameters (tasks.db.parameter_limit), so anything written or read
# per task goes in slices of this many, or fewer where the database's limit is lower.
INSERT_BATCH = 2000
SELECT_BATCH = 10_000
PROJECT_FIELDS = ("region", "nature", "content", "total_investment", "funds", "implementing_unit",
                  "manager", "period_text", "benefit")


@dataclass(frozen=True)
class KeptDecision:
    """An office decision the document and this import left standing, said in the import's summary."""

    task_id: int
    unit: str
    note: str


@dataclass
class ImportSummary:
    plan_id: int
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    assignments_changed: int = 0
    teams_changed: int = 0
    new_units: list[str] = field(default_factory=list)
    problems: int = 0
    # The office's decisions on the plan's duties, which no import undoes: how many stand, and a
    # line for each that this document touched (a moved deadline, a task dropped or back).
    extensions_in_force: int = 0
    verified: int = 0
    awaiting_review: int = 0
    kept: list[KeptDecision] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.withdrawn or self.assignments_changed
                    or self.teams_changed or self.new_units)


class _Store:
    def __init__(self, session: Session, clock: Clock, actor: Actor) -> None:
        self.session = session
        self.clock = clock
        self.actor = actor
        self.now = db_time(clock)
        # Audit rows are written together at the end, in the order the changes were made.
        self.events: list[dict[str, Any]] = []

    def event(self, action: str, entity: str, entity_id: int | None, **detail: Any) -> None:
        self.events.append(event_row(self.now, self.actor, action, entity, entity_id, detail))

    def load(self, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
        """Bulk INSERT: a first import writes tens of thousands of rows (see tasks.bulk)."""
        load_rows(self.session.connection(), table, rows)

    def insert_returning(self, table: type[SQLModel], rows: list[dict[str, Any]], *returning: Any) -> list[Any]:
        """INSERT … RETURNING in batches, for the rows a re-import adds and must name in its events."""
        if not rows:
            return []
        connection = self.session.connection()
        batch = max(1, min(INSERT_BATCH, parameter_limit(connection) // len(rows[0])))
        # SQLAlchemy sends the rows as multi-row INSERTs of this many rows each.
        statement = insert(table).returning(*returning).execution_options(insertmanyvalues_page_size=batch)
        return list(connection.execute(statement, rows).all())

    def write_events(self) -> None:
        self.load(Event, self.events)
        self.events = []


def store_plan(session: Session, parsed: ParsedPlan, clock: Clock, actor: Actor) -> ImportSummary:
    store = _Store(session, clock, actor)
    plan = _plan(store, parsed)
    summary = ImportSummary(plan_id=plan.id)
    unit_ids = _units(store, parsed, summary)
    _tasks(store, plan, parsed, unit_ids, summary)
    _teams(store, plan, parsed, unit_ids, summary)
    _problems(store, plan, parsed, summary)
    if summary.changed:
        plan.imported_at = store.now
        plan.source = parsed.source
        store.event("plan.imported", "plan", plan.id, created=summary.created, updated=summary.updated,
                    withdrawn=summary.withdrawn, assignments_changed=summary.assignments_changed,
                    new_units=summary.new_units, problems=summary.problems, source=parsed.source)
    session.flush()
    store.write_events()
    return summary


def _plan(store: _Store, parsed: ParsedPlan) -> Plan:
    plan = store.session.exec(select(Plan).where(Plan.year == parsed.year, Plan.title == parsed.title)).first()
    if plan is None:
        plan = Plan(year=parsed.year, title=parsed.title, source=parsed.source, imported_at=store.now)
        store.session.add(plan)
        store.session.flush()
        store.event("plan.created", "plan", plan.id, year=parsed.year, title=parsed.title)
    return plan


def _units(store: _Store, parsed: ParsedPlan, summary: ImportSummary) -> dict[str, int]:
    """Ids of every unit the items name, creating the ones the directory did not know."""
    names = {name for item in parsed.items for name in item.units}
    existing = {u.name: u for u in _select_in(store.session, Unit, Unit.name, names)}
    for name, kind in parsed.new_units.items():
        if name in existing or name not in names:
            continue
        unit = Unit(name=name, kind=kind, needs_review=True, created_at=store.now)
        store.session.add(unit)
        store.session.flush()
        store.session.add(UnitAlias(alias=compact(name), unit_id=unit.id))
        store.event("unit.created", "unit", unit.id, name=name, kind=kind, needs_review=True)
        existing[name] = unit
        summary.new_units.append(name)
    missing = names - existing.keys()
    if missing:
        raise LookupError(f"units named by the plan are not in the database: {'、'.join(sorted(missing))}")
    return {name: unit.id for name, unit in existing.items()}


@dataclass
class _Plan:
    """The document's tracked items with what the store needs to know about each."""

    items: list[Item]
    positions: dict[str, int]
    parents: set[str]  # refs that have sub-items: tracked through their sub-items, not assigned
    ids: dict[str, int]  # ref -> task id, filled as tasks are found or created

    def assigned_units(self, item: Item) -> list[str]:
        return [] if item.ref in self.parents else item.units


def _tasks(store: _Store, plan: Plan, parsed: ParsedPlan, unit_ids: dict[str, int],
           summary: ImportSummary) -> None:
    items = [i for i in parsed.items if i.kind in TRACKED_KINDS]
    existing = {t.ref: t for t in store.session.exec(select(Task).where(Task.plan_id == plan.id)).all()}
    tracked = _Plan(items, {item.ref: position for position, item in enumerate(items)},
                    {i.parent for i in items if i.parent}, {ref: t.id for ref, t in existing.items()})
    _create_tasks(store, plan, tracked, [i for i in items if i.ref not in existing], unit_ids, summary)
    _update_tasks(store, tracked, existing, unit_ids, summary)


def _create_tasks(store: _Store, plan: Plan, tracked: _Plan, new_items: list[Item], unit_ids: dict[str, int],
                  summary: ImportSummary) -> None:
    pending = new_items
    while pending:  # parents first, so that sub-items can name their parent's id
        ready = [i for i in pending if i.parent is None or i.parent in tracked.ids]
        if not ready:
            raise ValueError(f"sub-items without their parent: {', '.join(i.ref for i in pending[:5])}")
        rows = [{"plan_id": plan.id, "ref": i.ref, "position": tracked.positions[i.ref], "source_line": i.line,
                 "created_at": store.now, "updated_at": store.now, **_task_fields(i, tracked.ids)} for i in ready]
        store.load(Task, rows)
        # (plan_id, ref) is unique: the new ids are read back by ref, one query per level of sub-items.
        tracked.ids.update({ref: task_id for task_id, ref in
                            store.session.exec(select(Task.id, Task.ref).where(Task.plan_id == plan.id))})
        pending = [i for i in pending if i.ref not in tracked.ids]

    milestones, projects, assignments = [], [], []
    for item in new_items:
        task_id = tracked.ids[item.ref]
        wanted_milestones = _wanted_milestones(item)
        milestones += [{"task_id": task_id, "kind": k, "due": d, "text": t, "reached_on": None, "reached_by": ""}
                       for k, d, t in wanted_milestones]
        if item.project is not None:
            projects.append({"task_id": task_id, **{f: getattr(item.project, f) for f in PROJECT_FIELDS}})
        units = tracked.assigned_units(item)
        assignments += [{"task_id": task_id, "unit_id": unit_ids[name], "role": item.roles.get(name, "co"),
                         "position": position, "status": AssignmentStatus.OPEN, "due_on": item.deadline,
                         "next_check_at": store.now, "created_at": store.now, "updated_at": store.now}
                        for position, name in enumerate(units)]
        # One event records the task as created with its assignments and milestones.
        store.event("task.created", "task", task_id, ref=item.ref, **_task_fields(item, tracked.ids),
                    assignments=[[name, item.roles.get(name, "co")] for name in units],
                    milestones=[list(m) for m in wanted_milestones])
        summary.created += 1
        summary.assignments_changed += len(units)
    store.load(Milestone, milestones)
    store.load(Project, projects)
    with tally.bulk_insert(store.session.connection(), len(assignments)):
        store.load(Assignment, assignments)


def _update_tasks(store: _Store, tracked: _Plan, existing: dict[str, Task], unit_ids: dict[str, int],
                  summary: ImportSummary) -> None:
    session = store.session
    task_ids = [t.id for t in existing.values()]
    if not task_ids:
        return
    milestones = _group(_select_in(session, Milestone, Milestone.task_id, task_ids), "task_id")
    assignments = _group(_select_in(session, Assignment, Assignment.task_id, task_ids), "task_id")
    projects = {p.task_id: p for p in _select_in(session, Project, Project.task_id, task_ids)}
    new_assignments: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in tracked.items:
        task = existing.get(item.ref)
        if task is None:
            continue
        seen.add(item.ref)
        wanted = _task_fields(item, tracked.ids)
        changes = {f: [getattr(task, f), v] for f, v in wanted.items() if getattr(task, f) != v}
        if changes:
            for name, (_old, new) in changes.items():
                setattr(task, name, new)
            task.updated_at = store.now
            store.event("task.updated", "task", task.id, ref=item.ref, changes=changes)
            summary.updated += 1
        else:
            summary.unchanged += 1
        task.position, task.source_line = tracked.positions[item.ref], item.line
        if _milestones(store, task, item, milestones.get(task.id, [])):
            # The clock looks at the task's duties again: a milestone added or moved has steps of its own.
            for assignment in assignments.get(task.id, []):
                if assignment.status == AssignmentStatus.OPEN:
                    assignment.next_check_at = store.now
        if item.project is not None:
            _project(store, task, item, projects.get(task.id))
        summary.assignments_changed += _assignments(store, task, item, tracked.assigned_units(item), unit_ids,
                                                    assignments.get(task.id, []), new_assignments, summary,
                                                    deadline_moved="deadline" in changes)

    for ref, task in existing.items():
        if ref not in seen and task.status != TaskStatus.WITHDRAWN:
            task.status, task.updated_at = TaskStatus.WITHDRAWN, store.now
            store.event("task.withdrawn", "task", task.id, ref=ref, reason="不在重新导入的文档中")
            summary.withdrawn += 1
            summary.assignments_changed += _assignments(store, task, None, [], unit_ids,
                                                        assignments.get(task.id, []), new_assignments, summary,
                                                        deadline_moved=False)
    names = {unit_id: name for name, unit_id in unit_ids.items()}
    with tally.bulk_insert(session.connection(), len(new_assignments)):
        created = store.insert_returning(Assignment, new_assignments, Assignment.id, Assignment.task_id,
                                         Assignment.unit_id, Assignment.role)
    for assignment_id, task_id, unit_id, role in created:
        store.event("assignment.created", "assignment", assignment_id, task_id=task_id, unit=names[unit_id], role=role)


def _select_in(session: Session, table: type[SQLModel], column: Any, values: Iterable[Any]) -> list[Any]:
    """The rows of ``table`` whose ``column`` is one of ``values``, in statements of at most
    SELECT_BATCH parameters each (see there)."""
    values = list(values)
    batch = min(SELECT_BATCH, parameter_limit(session.connection()))
    rows: list[Any] = []
    for start in range(0, len(values), batch):
        rows += session.exec(select(table).where(col(column).in_(values[start:start + batch]))).all()
    return rows


def _group(rows: list[Any], key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _task_fields(item: Item, ids: dict[str, int]) -> dict[str, Any]:
    return {
        "kind": item.kind, "number": item.number, "category": item.category, "topic": item.topic,
        "text": item.text, "deadline": item.deadline, "start": item.start,
        "deadline_text": item.deadline_text, "recurrence": item.recurrence,
        "officials": "、".join(item.officials),
        "parent_id": ids[item.parent] if item.parent else None, "status": TaskStatus.ACTIVE,
    }


def _wanted_milestones(item: Item) -> list[tuple[str, date, str]]:
    wanted = [("inline", m.due, m.text) for m in item.milestones]
    if item.kind == "project":
        wanted = ([("start", item.start, "开工")] if item.start else []) + \
                 ([("complete", item.deadline, "竣工")] if item.deadline else []) + wanted
    return wanted


def _milestones(store: _Store, task: Task, item: Item, current: list[Milestone]) -> bool:
    """Make the task's milestones the document's. A milestone is matched by its kind and words, so
    that a moved 开工 keeps its row and what a unit reported of it (reached stays reached); one
    the document no longer names goes. Returns whether anything changed."""
    wanted = _wanted_milestones(item)
    if sorted((m.kind, m.due, m.text) for m in current) == sorted(wanted):
        return False
    kept: dict[tuple[str, str], list[Milestone]] = {}
    for milestone in sorted(current, key=lambda m: (m.due, m.id or 0)):
        kept.setdefault((milestone.kind, milestone.text), []).append(milestone)
    for kind, due, text in wanted:
        if same := kept.get((kind, text)):
            same.pop(0).due = due
        else:
            store.session.add(Milestone(task_id=task.id, kind=kind, due=due, text=text))
    for gone in kept.values():
        for milestone in gone:
            store.session.delete(milestone)
    store.event("task.milestones_changed", "task", task.id, milestones=[list(m) for m in wanted])
    return True


def _project(store: _Store, task: Task, item: Item, current: Project | None) -> None:
    detail = item.project
    assert detail is not None
    wanted = {name: getattr(detail, name) for name in PROJECT_FIELDS}
    if current is None:
        store.session.add(Project(task_id=task.id, **wanted))
        store.event("project.created", "task", task.id, **wanted)
        return
    changes = {n: [getattr(current, n), v] for n, v in wanted.items() if getattr(current, n) != v}
    if changes:
        for name, (_old, new) in changes.items():
            setattr(current, name, new)
        store.event("project.updated", "task", task.id, changes=changes)


def _assignments(store: _Store, task: Task, item: Item | None, wanted_units: list[str], unit_ids: dict[str, int],
                 current: list[Assignment], new_rows: list[dict[str, Any]], summary: ImportSummary, *,
                 deadline_moved: bool) -> int:
    """Make an existing task's assignments match the units the document names, keeping the office's
    decisions (extensions, verifications, reviews, units it added or took off) as they are.
    Returns changes made."""
    changed = 0
    by_unit = {a.unit_id: a for a in current}
    wanted_ids = {unit_ids[name]: position for position, name in enumerate(wanted_units)}
    for name in wanted_units:
        unit_id, role = unit_ids[name], (item.roles.get(name, "co") if item else "co")
        assignment = by_unit.get(unit_id)
        if assignment is None:
            new_rows.append({"task_id": task.id, "unit_id": unit_id, "role": role, "position": wanted_ids[unit_id],
                             "status": AssignmentStatus.OPEN, "due_on": task.deadline, "next_check_at": store.now,
                             "created_at": store.now, "updated_at": store.now})
            changed += 1
        elif assignment.office_choice == OfficeChoice.REMOVED:
            summary.kept.append(KeptDecision(task.id, name, "文件列为责任单位，办公室已将其移出该任务，保持移出"))
        else:
            changed += _keep_in_step(store, summary, task, name, assignment, role, wanted_ids[unit_id],
                                     deadline_moved=deadline_moved)
    for assignment in current:
        if assignment.unit_id in wanted_ids:
            continue
        if item is not None and assignment.office_choice == OfficeChoice.ADDED:
            name = _unit_name(store, assignment.unit_id)
            summary.kept.append(KeptDecision(task.id, name, "文件未列该单位，办公室已将其加入该任务，保持不变"))
            changed += _keep_in_step(store, summary, task, name, assignment, assignment.role, assignment.position,
                                     deadline_moved=deadline_moved)
        elif assignment.status != AssignmentStatus.WITHDRAWN:
            old_status = assignment.status
            if old_status != AssignmentStatus.OPEN or assignment.extended_to is not None:
                summary.kept.append(KeptDecision(task.id, _unit_name(store, assignment.unit_id),
                                                 "已不在文件中，分工撤销；办结、审核和延期记录保留，重新列入时恢复"))
            assignment.status, assignment.withdrawn_from = AssignmentStatus.WITHDRAWN, old_status
            assignment.updated_at = store.now
            store.event("assignment.withdrawn", "assignment", assignment.id, task_id=task.id,
                        previous_status=old_status)
            changed += 1
    return changed


def _keep_in_step(store: _Store, summary: ImportSummary, task: Task, name: str, assignment: Assignment, role: str,
                  position: int, *, deadline_moved: bool) -> int:
    """An assignment that stays: its role and place follow the document, its deadline is the one in
    force, and a duty back from withdrawal comes back as the office left it. Returns 1 if audited."""
    changes: dict[str, list[Any]] = {}
    if assignment.role != role:
        changes["role"] = [assignment.role, role]
    if assignment.status == AssignmentStatus.WITHDRAWN:
        # A duty the office had verified (or that waits for its review) comes back as it was, not open again.
        restored = assignment.withdrawn_from or AssignmentStatus.OPEN
        changes["status"] = [assignment.status, restored]
        assignment.withdrawn_from = None
        if restored != AssignmentStatus.OPEN:
            summary.kept.append(KeptDecision(task.id, name, f"任务重新列入文件，恢复为“{STATUS_NAMES[restored]}”"))
    if changes:
        for field_name, (_old, new) in changes.items():
            setattr(assignment, field_name, new)
        assignment.updated_at = store.now
        store.event("assignment.updated", "assignment", assignment.id, unit=name, changes=changes)
    assignment.position = position
    _count_decisions(summary, assignment)
    in_force = deadline_in_force(task.deadline, assignment.extended_to)
    if assignment.extended_to is not None and deadline_moved:
        _extension_meets_new_deadline(store, summary, task, name, assignment, in_force)
    if assignment.due_on != in_force:
        # Follows the document, or the office's extension where that is later; the planner looks again.
        assignment.due_on, assignment.next_check_at = in_force, store.now
    elif assignment.status == AssignmentStatus.OPEN and assignment.next_check_at is None:
        # Open again after the planner let it go (its task had been withdrawn): chase it again.
        assignment.next_check_at = store.now
    return 1 if changes else 0


def _unit_name(store: _Store, unit_id: int) -> str:
    unit = store.session.get(Unit, unit_id)
    return unit.name if unit else str(unit_id)


def _count_decisions(summary: ImportSummary, assignment: Assignment) -> None:
    if assignment.status == AssignmentStatus.DONE:
        summary.verified += 1
    elif assignment.status == AssignmentStatus.REPORTED:
        summary.awaiting_review += 1
    if assignment.extended_to is not None and assignment.status != AssignmentStatus.WITHDRAWN:
        summary.extensions_in_force += 1


def _extension_meets_new_deadline(store: _Store, summary: ImportSummary, task: Task, unit: str,
                                  assignment: Assignment, in_force: date | None) -> None:
    """The document moved a deadline the office had already extended for this unit: the later date
    stands. The task's own event records the document's change; this one records the outcome."""
    document = task.deadline.isoformat() if task.deadline else "无固定时限"
    extended = assignment.extended_to.isoformat() if assignment.extended_to else ""
    kept = in_force == assignment.extended_to
    store.event("assignment.extension_kept" if kept else "assignment.extension_superseded", "assignment",
                assignment.id, unit=unit, task_id=task.id, document_deadline=task.deadline,
                extended_to=assignment.extended_to, due_on=in_force)
    note = (f"文件时限改为 {document}，早于已批准的延期，仍按延期后的 {extended} 执行" if kept
            else f"文件时限改为 {document}，晚于已批准的延期（{extended}），按文件执行")
    summary.kept.append(KeptDecision(task.id, unit, note))


def _teams(store: _Store, plan: Plan, parsed: ParsedPlan, unit_ids: dict[str, int],
           summary: ImportSummary) -> None:
    session = store.session
    existing = {t.ref: t for t in session.exec(select(WorkTeam).where(WorkTeam.plan_id == plan.id)).all()}
    seen: set[str] = set()
    for item in parsed.of_kind("team"):
        seen.add(item.ref)
        team = existing.get(item.ref)
        wanted = {"number": item.number, "name": item.text, "duty": item.category or "",
                  "status": TaskStatus.ACTIVE}
        if team is None:
            team = WorkTeam(plan_id=plan.id, ref=item.ref, **wanted)
            session.add(team)
            session.flush()
            store.event("team.created", "team", team.id, **wanted, leads=item.units)
            summary.teams_changed += 1
            current_leads: list[WorkTeamLead] = []
        else:
            changes = {f: [getattr(team, f), v] for f, v in wanted.items() if getattr(team, f) != v}
            if changes:
                for name, (_old, new) in changes.items():
                    setattr(team, name, new)
                store.event("team.updated", "team", team.id, changes=changes)
                summary.teams_changed += 1
            current_leads = list(session.exec(select(WorkTeamLead).where(WorkTeamLead.team_id == team.id)).all())
        wanted_leads = [(unit_ids[name], position) for position, name in enumerate(item.units)]
        if sorted((lead.unit_id, lead.position) for lead in current_leads) != sorted(wanted_leads):
            for lead in current_leads:
                session.delete(lead)
            session.flush()
            for unit_id, position in wanted_leads:
                session.add(WorkTeamLead(team_id=team.id, unit_id=unit_id, position=position))
            if current_leads:
                store.event("team.leads_changed", "team", team.id, leads=item.units)
                summary.teams_changed += 1
    for ref, team in existing.items():
        if ref not in seen and team.status != TaskStatus.WITHDRAWN:
            team.status = TaskStatus.WITHDRAWN
            store.event("team.withdrawn", "team", team.id, ref=ref)
            summary.teams_changed += 1


def _problems(store: _Store, plan: Plan, parsed: ParsedPlan, summary: ImportSummary) -> None:
    session = store.session
    current = session.exec(select(ImportProblem).where(ImportProblem.plan_id == plan.id)).all()
    wanted = [(p.code, p.where, p.text, p.message) for p in parsed.problems]
    summary.problems = len(wanted)
    if sorted((p.code, p.where, p.text, p.message) for p in current) == sorted(wanted):
        return
    for problem in current:
        session.delete(problem)
    for code, where, text, message in wanted:
        session.add(ImportProblem(plan_id=plan.id, code=code, where=where, text=text, message=message))
