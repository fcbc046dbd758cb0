"""A project's milestones as its units report them: 已开工, 已完工, a stage of a compound deadline done.

A milestone is reached on the unit's word, without the office verifying it. A milestone is a
step on the way, not the duty: what the office verifies is the completion report, and a unit that
says 已开工 when the site is empty is found out at the next milestone or at the deadline. Asking
the office to confirm every 开工 of a plan's projects would put a review in its queue for each
of them, and the clock would go on chasing the unit meanwhile for something it has done. So the
report stops the clock's reminders and escalations for that milestone at once, the office is told
(an outbox message, like a completion report), and the report stays in the task's history on its
card, where the office can see who said so and when.

The reached state belongs to the milestone, not to one unit's assignment: a project starts once,
whichever of its units says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.clock.planner import stage_of
from tasks.errors import ServiceError, quoted
from tasks.events import record
from tasks.models import Member, Milestone, Report, ReportKind
from tasks.notifications import MilestoneReached, NotificationKind
from tasks.outbox import notify_office
from tasks.work.duties import Duty, actor_of, require_person

# The words a unit types for a project's two fixed milestones, with or without 已.
KIND_WORDS = {"开工": "start", "完工": "complete", "竣工": "complete"}


@dataclass(frozen=True)
class MilestoneState:
    """How a card shows one milestone: reached (on which day), not yet due, or overdue by some days."""

    milestone: Milestone
    label: str
    reached_on: date | None
    overdue_days: int  # 0 when reached or not yet due

    @property
    def open(self) -> bool:
        return self.reached_on is None


def milestone_label(milestone: Milestone) -> str:
    """开工, 完工, or the stage's own words ("产业项目9月底100%开工")."""
    return stage_of(milestone.kind, milestone.due, milestone.text).label


def milestone_states(milestones: list[Milestone], today: date) -> list[MilestoneState]:
    return [MilestoneState(m, milestone_label(m), m.reached_on,
                           0 if m.reached_on is not None else max((today - m.due).days, 0)) for m in milestones]


def task_milestones(session: Session, task_id: int) -> list[Milestone]:
    """The task's dated stages, earliest first (the order a unit numbers them in on the card)."""
    return list(session.exec(select(Milestone).where(Milestone.task_id == task_id)
                             .order_by(col(Milestone.due), col(Milestone.id))).all())


def find_milestone(session: Session, task_id: int, word: str) -> Milestone:
    """The milestone a unit named: 开工/已开工, 完工/竣工, its number on the card, or words of its text."""
    milestones = task_milestones(session, task_id)
    if not milestones:
        raise ServiceError(f"任务 {task_id} 没有计划节点（开工、完工等），无需报告节点。")
    word = word.strip().removeprefix("已")
    names = "、".join(f"{n}.{milestone_label(m)}" for n, m in enumerate(milestones, start=1))
    if not word:
        raise ServiceError(f"请写明达成的节点，例如 /milestone {task_id} 1。任务 {task_id} 的节点：{names}")
    chosen: list[Milestone] = []
    if word.isdigit() and 1 <= int(word) <= len(milestones):
        chosen = [milestones[int(word) - 1]]
    elif word in KIND_WORDS:
        chosen = [m for m in milestones if m.kind == KIND_WORDS[word]]
    else:
        chosen = [m for m in milestones if word in m.text]
    if len(chosen) != 1:
        raise ServiceError(f"任务 {task_id} 没有“{quoted(word)}”这个节点，可报的节点：{names}")
    return chosen[0]


def report_milestone(session: Session, clock: Clock, member: Member, duty: Duty, milestone: Milestone,
                     today: date) -> Report:
    """The unit says the milestone is reached: it is marked reached today, a report keeps it in the
    task's history, the office is told, and the clock stops chasing it (see the module's words)."""
    require_person(member)
    if milestone.task_id != duty.task.id:
        raise ServiceError(f"该节点不属于任务 {duty.task.id}。")
    label = milestone_label(milestone)
    if milestone.reached_on is not None:
        raise ServiceError(f"任务 {duty.task.id} 的“{label}”节点已于 {milestone.reached_on.isoformat()} "
                           f"报告达成（{milestone.reached_by}），无需再报。")
    now = db_time(clock)
    milestone.reached_on, milestone.reached_by = today, f"{duty.unit.name} {member.name}".strip()
    report = Report(assignment_id=duty.assignment.id, kind=ReportKind.PROGRESS,
                    text=f"{label}节点已达成（计划 {milestone.due.isoformat()}）", author=member.name,
                    author_member_id=member.id, created_at=now)
    session.add(report)
    session.flush()
    duty.assignment.updated_at = now
    record(session, clock, actor_of(member), "milestone.reached", "milestone", milestone.id,
           task_id=duty.task.id, assignment_id=duty.assignment.id, kind=milestone.kind, due=milestone.due,
           text=milestone.text, reached_on=today, report_id=report.id)
    notify_office(session, clock, NotificationKind.MILESTONE_REACHED,
                  MilestoneReached(task_id=duty.task.id, task_text=duty.task.text, unit=duty.unit.name,
                                   milestone=label, due=milestone.due, reached_on=today, author=member.name),
                  f"milestone:{milestone.id}")
    return report
