"""What a responsible unit does: look at its tasks, report progress, report completion, ask for time."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError
from tasks.events import Actor, record
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    Extension,
    ExtensionStatus,
    Member,
    Plan,
    Report,
    ReportKind,
    ReviewStatus,
    Task,
    TaskStatus,
    Unit,
)
from tasks.notifications import CompletionReported, ExtensionRequested, NotificationKind
from tasks.outbox import notify_office
from tasks.plan.deadlines import latest_date

MAX_REPORT_LENGTH = 2000


@dataclass(frozen=True)
class Duty:
    """One assignment with the task and unit it joins, as the chat shows it."""

    assignment: Assignment
    task: Task
    unit: Unit


# The door a person's change came through, as the audit names it: the chat, unless the web desk says
# otherwise for the requests it handles (bot/web/desk.py). A context variable, so that every service
# that records a member's change names the door without each taking it as an argument.
DOOR: ContextVar[str] = ContextVar("door", default="chat")


def actor_of(member: Member) -> Actor:
    return Actor(member.name or f"member:{member.id}", DOOR.get())


def duty_select() -> Any:
    """Assignments joined with their task and unit: the rows every Duty is made of."""
    return (select(Assignment, Task, Unit).join(Task, col(Task.id) == Assignment.task_id)
            .join(Unit, col(Unit.id) == Assignment.unit_id))


def unit_duties(session: Session, unit_id: int) -> list[Duty]:
    """All of a unit's open assignments, nearest deadline first (no date last). For lists a person
    reads, supervision.open_duties gives the first N of them at any size."""
    query = (duty_select()
             .where(Assignment.unit_id == unit_id, Task.status == TaskStatus.ACTIVE,
                    col(Assignment.status).in_(OPEN_STATUSES))
             .order_by(col(Assignment.due_on).is_(None), col(Assignment.due_on), col(Task.id)))
    return [Duty(a, t, u) for a, t, u in session.exec(query).all()]


def task_open_duties(session: Session, task: Task) -> list[Duty]:
    """The units that still owe ``task`` something: its open and reported assignments."""
    rows = session.exec(select(Assignment, Unit).join(Unit, col(Unit.id) == Assignment.unit_id).where(
        Assignment.task_id == task.id, col(Assignment.status).in_(OPEN_STATUSES))).all()
    return [Duty(assignment, task, unit) for assignment, unit in rows]


def parent_text(session: Session, task: Task) -> str | None:
    """The text of the row or work point a sub-item belongs to; None for a task of its own."""
    parent = session.get(Task, task.parent_id) if task.parent_id else None
    return parent.text if parent else None


def find_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.status != TaskStatus.ACTIVE:
        raise ServiceError(f"没有编号为 {task_id} 的任务。发送“我的任务”查看本单位的任务编号。")
    return task


def member_duty(session: Session, member: Member, task_id: int) -> Duty:
    """The member's own unit's assignment for task N; another unit's task is refused."""
    task = find_task(session, task_id)
    row = session.exec(select(Assignment, Unit).join(Unit, col(Unit.id) == Assignment.unit_id).where(
        Assignment.task_id == task.id, Assignment.unit_id == member.unit_id,
        Assignment.status != AssignmentStatus.WITHDRAWN)).first()
    if row is None:
        raise ServiceError(f"任务 {task_id} 不是本单位负责的任务。发送“我的任务”查看本单位的任务。")
    return Duty(row[0], task, row[1])


def check_within_plan(session: Session, task: Task, new_date: date) -> None:
    """A date typed in chat stays inside the plan's horizon (see deadlines.latest_date)."""
    plan = session.get(Plan, task.plan_id)
    latest = latest_date(plan.year if plan else new_date.year)
    if new_date > latest:
        raise ServiceError(f"新的完成日期 {new_date.isoformat()} 超出了本年度工作要点的时间范围"
                           f"（最晚 {latest.isoformat()}），请填写合理的日期。")


GROUP_READS_ONLY = ("在单位群里报送进展、办结或申请延期，需要您本人先绑定为本单位成员：请向督办办公室索取邀请码，"
                    "私聊机器人发送 /start 邀请码。绑定后在群里报送的内容会记在您的名下。")


def require_person(member: Member) -> None:
    """What a unit reports carries the person who reported it: a group chat's binding only reads."""
    if member.user_id is None:
        raise ServiceError(GROUP_READS_ONLY)


def _require_open(duty: Duty) -> None:
    if duty.assignment.status == AssignmentStatus.DONE:
        raise ServiceError(f"任务 {duty.task.id} 已办结，无需再报。")


def _check_text(text: str, *, required: bool) -> str:
    text = text.strip()
    if required and not text:
        raise ServiceError("内容不能为空，请写明具体进展。")
    if len(text) > MAX_REPORT_LENGTH:
        raise ServiceError(f"内容过长（{len(text)}字），请控制在{MAX_REPORT_LENGTH}字以内。")
    return text


def report_progress(session: Session, clock: Clock, member: Member, duty: Duty, text: str,
                    percent: int | None = None, evidence: list[dict[str, Any]] | None = None) -> Report:
    require_person(member)
    _require_open(duty)
    text = _check_text(text, required=not evidence)
    if percent is not None and not 0 <= percent <= 100:
        raise ServiceError("进度百分比应在 0 到 100 之间。")
    kind = ReportKind.PROGRESS if text or percent is not None else ReportKind.EVIDENCE
    report = Report(assignment_id=duty.assignment.id, kind=kind, text=text, percent=percent,
                    evidence=evidence or [], author=member.name, author_member_id=member.id,
                    created_at=db_time(clock))
    session.add(report)
    session.flush()
    duty.assignment.updated_at = db_time(clock)
    record(session, clock, actor_of(member), "report.created", "report", report.id, kind=kind,
           assignment_id=duty.assignment.id, task_id=duty.task.id, percent=percent, files=len(evidence or []))
    return report


def report_completion(session: Session, clock: Clock, member: Member, duty: Duty, text: str,
                      evidence: list[dict[str, Any]] | None = None) -> Report:
    require_person(member)
    _require_open(duty)
    if duty.assignment.status == AssignmentStatus.REPORTED:
        raise ServiceError(f"任务 {duty.task.id} 已申请办结，正在等待督办办公室审核。")
    text = _check_text(text or "已完成", required=True)
    now = db_time(clock)
    report = Report(assignment_id=duty.assignment.id, kind=ReportKind.COMPLETION, text=text, percent=100,
                    evidence=evidence or [], author=member.name, author_member_id=member.id, created_at=now,
                    review_status=ReviewStatus.PENDING)
    session.add(report)
    session.flush()
    duty.assignment.status, duty.assignment.updated_at = AssignmentStatus.REPORTED, now
    record(session, clock, actor_of(member), "assignment.completion_reported", "assignment", duty.assignment.id,
           report_id=report.id, task_id=duty.task.id)
    notify_office(session, clock, NotificationKind.COMPLETION_REPORTED,
                  CompletionReported(report_id=report.id, assignment_id=duty.assignment.id, task_id=duty.task.id,
                                     task_text=duty.task.text, unit=duty.unit.name, text=text, author=member.name,
                                     files=len(evidence or [])),
                  f"completion:{report.id}")
    return report


def request_extension(session: Session, clock: Clock, member: Member, duty: Duty, new_date: date, reason: str,
                      today: date) -> Extension:
    require_person(member)
    _require_open(duty)
    reason = _check_text(reason, required=True)
    if new_date <= today:
        raise ServiceError(f"新的完成日期 {new_date.isoformat()} 不能早于或等于今天，请填写以后的日期。")
    if duty.assignment.due_on is not None and new_date <= duty.assignment.due_on:
        raise ServiceError(f"新的完成日期必须晚于当前截止日期 {duty.assignment.due_on.isoformat()}。")
    check_within_plan(session, duty.task, new_date)
    pending = session.exec(select(Extension).where(Extension.assignment_id == duty.assignment.id,
                                                   Extension.status == ExtensionStatus.PENDING)).first()
    if pending is not None:
        raise ServiceError(f"任务 {duty.task.id} 已有一份延期申请（#{pending.id}）在等待审批。")
    extension = Extension(assignment_id=duty.assignment.id, requested_by=member.name, old_date=duty.assignment.due_on,
                          new_date=new_date, reason=reason, created_at=db_time(clock))
    session.add(extension)
    session.flush()
    record(session, clock, actor_of(member), "extension.requested", "extension", extension.id,
           assignment_id=duty.assignment.id, task_id=duty.task.id, old_date=duty.assignment.due_on,
           new_date=new_date, reason=reason)
    notify_office(session, clock, NotificationKind.EXTENSION_REQUESTED,
                  ExtensionRequested(extension_id=extension.id, task_id=duty.task.id, task_text=duty.task.text,
                                     unit=duty.unit.name, old_date=duty.assignment.due_on, new_date=new_date,
                                     reason=reason, author=member.name),
                  f"extension:{extension.id}")
    return extension


def task_assignments(session: Session, task_id: int) -> list[tuple[Assignment, str]]:
    """The task's current assignments with unit names, lead first, in document order."""
    rows = session.exec(select(Assignment, Unit.name).join(Unit, col(Unit.id) == Assignment.unit_id)
                        .where(Assignment.task_id == task_id, Assignment.status != AssignmentStatus.WITHDRAWN)
                        .order_by(col(Assignment.role).desc(), col(Assignment.position))).all()
    return [(a, name) for a, name in rows]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    unit: str
    author: str
    kind: ReportKind
    percent: int | None
    text: str
    files: int
    review_status: ReviewStatus | None
    review_note: str


def task_history(session: Session, task_id: int, limit: int = 8) -> list[HistoryEntry]:
    """Reports on the task by any of its units, newest first."""
    rows = session.exec(select(Report, Unit.name).join(Assignment, col(Assignment.id) == Report.assignment_id)
                        .join(Unit, col(Unit.id) == Assignment.unit_id).where(Assignment.task_id == task_id)
                        .order_by(col(Report.created_at).desc(), col(Report.id).desc()).limit(limit)).all()
    return [HistoryEntry(r.created_at, unit, r.author, r.kind, r.percent, r.text, len(r.evidence), r.review_status,
                         r.review_note) for r, unit in rows]
