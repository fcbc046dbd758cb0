"""What the office decided about a document's units before importing it, applied in the import's transaction.

An import leaves two kinds of unit problems for the office (tasks.plan.unit_reading): a phrase that
names nobody ("相关成员单位", "各有关部门") assigns no one, and a name the directory does not know
becomes a new unit waiting for review. In chat the office settles them afterwards, one command each:
/assign puts a unit on a task (no re-import takes it off), /merge makes a name an alias of a unit.
The web desk's import page lets the office decide them while it reads the preview; ``Resolutions``
carries those decisions into ``import_file``, which applies them with the same services, in the same
transaction, so the document and the decisions land together or not at all. A name the office accepts
as a new unit is created as the import always does, and no longer waits for review.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from tasks.clock import Clock
from tasks.errors import ServiceError
from tasks.events import record
from tasks.models import MERGED_UNIT, Assignment, AssignmentRole, AssignmentStatus, Member, Task, Unit
from tasks.plan.directory import merge_unit
from tasks.plan.parsed import Item, ParsedPlan, Problem
from tasks.plan.store import TRACKED_KINDS, ImportSummary
from tasks.plan.units import VAGUE
from tasks.script import to_simplified
from tasks.work.duties import actor_of
from tasks.work.review import assign_unit

CHANGED = "文件或单位名录在预览之后有了变化（{what}），什么也没有导入：请重新上传文件，再核对一次。"


def pending_phrases(item: Item) -> list[str]:
    """The names an item's 责任单位 wrote that name nobody, as the preview marks them (待指定)."""
    return [name for name in item.units_as_written
            if name not in item.units and VAGUE.search(to_simplified(name))]


def assignable_items(parsed: ParsedPlan) -> list[Item]:
    """Items a unit can be put on: tracked tasks without sub-items (a parent is tracked through them)."""
    parents = {item.parent for item in parsed.items if item.parent}
    return [item for item in parsed.items if item.kind in TRACKED_KINDS and item.ref not in parents]


@dataclass
class Resolutions:
    """The office's decisions on one document's unit problems; empty decides nothing."""

    member_id: int  # the office member who decided: the actor of every change
    # (item ref, vague phrase) -> the units the office chose for it, by name
    chosen: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)  # a new name -> the unit it is an alias of
    accepted: set[str] = field(default_factory=set)  # new names the office keeps as units of their own

    def __bool__(self) -> bool:
        return bool(self.chosen or self.merged or self.accepted)

    def decided_name(self, name: str) -> bool:
        return name in self.merged or name in self.accepted

    def is_resolved(self, problem: Problem, parsed: ParsedPlan) -> bool:
        """Whether the office's decisions settle this problem: a new name merged or accepted; a vague
        phrase chosen for on every item it leaves without units there (matched by line where the reader
        kept one, else wherever the phrase is pending)."""
        if problem.code == "unit.unknown":
            return self.decided_name(problem.text)
        if problem.code != "unit.unresolved":
            return False
        items = [item for item in assignable_items(parsed) if problem.text in pending_phrases(item)]
        if problem.line is not None and any(item.line == problem.line for item in items):
            items = [item for item in items if item.line == problem.line]
        return bool(items) and all((item.ref, problem.text) in self.chosen for item in items)

    def settle(self, parsed: ParsedPlan) -> None:
        """Check the decisions still fit the document as read now, and leave out of its problems the
        ones they settle (what is stored is what still waits for the office)."""
        pending = {(item.ref, phrase) for item in assignable_items(parsed) for phrase in pending_phrases(item)}
        for ref, phrase in self.chosen:
            if (ref, phrase) not in pending:
                raise ServiceError(CHANGED.format(what=f"“{phrase}”已不是待指定的单位"))
        for name in (*self.merged, *self.accepted):
            if name not in parsed.new_units:
                raise ServiceError(CHANGED.format(what=f"“{name}”已不是新单位"))
        parsed.problems = [p for p in parsed.problems if not self.is_resolved(p, parsed)]

    def apply(self, session: Session, clock: Clock, parsed: ParsedPlan, summary: ImportSummary) -> None:
        """After the plan is stored: merge, confirm and assign as the office decided, each audited by
        its own service, and one event saying the import's problems were settled so."""
        member = session.get(Member, self.member_id)
        if member is None or not member.active:
            raise ServiceError("您的身份已失效，什么也没有导入：请重新登录后再试。")
        actor = actor_of(member)
        for name, target_name in self.merged.items():
            merge_unit(session, clock, actor, _unit(session, name), _unit(session, target_name))
        for name in self.accepted:
            unit = _unit(session, name)
            if unit.needs_review:
                unit.needs_review = False
                record(session, clock, actor, "unit.confirmed", "unit", unit.id, name=name)
        items = {item.ref: item for item in parsed.items}
        tasks = {ref: task_id for task_id, ref in session.exec(
            select(Task.id, Task.ref).where(Task.plan_id == summary.plan_id,
                                            col(Task.ref).in_([ref for ref, _ in self.chosen])))}
        for (ref, _phrase), names in self.chosen.items():
            item = items[ref]
            for position, name in enumerate(names):
                unit = _unit(session, name)
                if _on_task(session, tasks[ref], unit):
                    continue  # already there (the document or a merge put it on): the choice is met
                lead = not item.units and position == 0
                assign_unit(session, clock, member, tasks[ref], unit,
                            AssignmentRole.LEAD if lead else AssignmentRole.CO)
        record(session, clock, actor, "plan.problems_resolved", "plan", summary.plan_id,
               chosen=[[ref, phrase, names] for (ref, phrase), names in self.chosen.items()],
               merged=dict(self.merged), accepted=sorted(self.accepted))


def _unit(session: Session, name: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.name == name)).first()
    if unit is None or unit.kind == MERGED_UNIT:
        raise ServiceError(CHANGED.format(what=f"单位“{name}”已不在名录中"))
    return unit


def _on_task(session: Session, task_id: int, unit: Unit) -> bool:
    return session.exec(select(Assignment.id).where(
        Assignment.task_id == task_id, Assignment.unit_id == unit.id,
        Assignment.status != AssignmentStatus.WITHDRAWN)).first() is not None
