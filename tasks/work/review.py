"""What the supervision office does: verify or send back completions, decide extensions, urge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlmodel import Session, col, func, select

from tasks.clock import Clock, db_time
from tasks.errors import ServiceError
from tasks.events import record
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Extension,
    ExtensionStatus,
    Member,
    OfficeChoice,
    Report,
    ReportKind,
    ReviewStatus,
    Task,
    Unit,
    deadline_in_force,
)
from tasks.notifications import (
    CompletionReported,
    CompletionSentBack,
    CompletionVerified,
    ExtensionDecided,
    ExtensionRequested,
    NotificationKind,
    Urge,
    UrgedTask,
)
from tasks.outbox import notify_unit
from tasks.work.duties import Duty, actor_of, check_within_plan, duty_select, find_task


def reported_duties(session: Session, task_id: int, unit: Unit | None = None) -> list[Duty]:
    """Assignments of a task whose completion waits for verification (optionally one unit's)."""
    query = (duty_select()
             .where(Assignment.task_id == task_id, Assignment.status == AssignmentStatus.REPORTED))
    if unit is not None:
        query = query.where(Assignment.unit_id == unit.id)
    return [Duty(a, t, u) for a, t, u in session.exec(query.order_by(col(Assignment.position))).all()]


def one_reported_duty(session: Session, task_id: int, unit: Unit | None) -> Duty:
    find_task(session, task_id)  # an unknown number is said to be unknown, not "nothing to verify"
    duties = reported_duties(session, task_id, unit)
    if not duties:
        target = f"{unit.name}的" if unit else ""
        raise ServiceError(f"任务 {task_id} 没有{target}待审核的办结申请。")
    if len(duties) > 1:
        names = "、".join(d.unit.name for d in duties)
        example = f"/verify {task_id} {duties[0].unit.name}"
        raise ServiceError(f"任务 {task_id} 有多个单位申请办结（{names}），请在命令后写明单位，如：{example}")
    return duties[0]


def duty_by_assignment(session: Session, assignment_id: int) -> Duty:
    row = session.exec(duty_select().where(Assignment.id == assignment_id)).first()
    if row is None:
        raise ServiceError("找不到该任务分工，可能已被撤销。")
    return Duty(*row)


def duty_of_report(session: Session, report_id: int) -> Duty:
    """The duty a completion report was filed on: a button names the report it was sent with."""
    report = session.get(Report, report_id)
    if report is None or report.kind != ReportKind.COMPLETION:
        raise ServiceError("找不到这份办结申请，这个按钮已失效。")
    return duty_by_assignment(session, report.assignment_id)


REVIEW_NAMES = {ReviewStatus.ACCEPTED: "已审核通过", ReviewStatus.SENT_BACK: "已退回"}


def pending_completion(session: Session, duty: Duty, report_id: int | None = None) -> Report:
    """The completion report waiting for review; with ``report_id``, only that one: a button from an
    older notification must not act on a newer claim the reviewer never opened."""
    # The duty's row is locked first and read again: two reviewers deciding the same report at once
    # (the desk and the chat, two browsers) take turns, and the second finds it already decided.
    session.exec(select(Assignment).where(Assignment.id == duty.assignment.id).with_for_update()
                 .execution_options(populate_existing=True)).one()
    report = session.exec(select(Report).where(
        Report.assignment_id == duty.assignment.id, Report.kind == ReportKind.COMPLETION,
        Report.review_status == ReviewStatus.PENDING).order_by(col(Report.id).desc())).first()
    if report_id is not None and (report is None or report.id != report_id):
        handled = session.get(Report, report_id)
        verdict = REVIEW_NAMES.get(handled.review_status, "") if handled and handled.review_status else ""
        raise ServiceError(f"这份办结申请（任务 {duty.task.id}，{duty.unit.name}）已处理"
                           f"{f'（{verdict}）' if verdict else ''}，没有做任何改动。")
    if report is None or duty.assignment.status != AssignmentStatus.REPORTED:
        raise ServiceError(f"任务 {duty.task.id}（{duty.unit.name}）没有待审核的办结申请，可能已被处理。")
    return report


def verify(session: Session, clock: Clock, reviewer: Member, duty: Duty, report_id: int | None = None) -> Report:
    report = pending_completion(session, duty, report_id)
    now = db_time(clock)
    report.review_status, report.reviewed_by, report.reviewed_at = ReviewStatus.ACCEPTED, reviewer.name, now
    duty.assignment.status, duty.assignment.updated_at = AssignmentStatus.DONE, now
    record(session, clock, actor_of(reviewer), "assignment.verified", "assignment", duty.assignment.id,
           report_id=report.id, task_id=duty.task.id)
    notify_unit(session, clock, duty.unit.id, NotificationKind.COMPLETION_VERIFIED,
                CompletionVerified(task_id=duty.task.id, task_text=duty.task.text, reviewer=reviewer.name),
                f"verified:{report.id}")
    return report


def send_back(session: Session, clock: Clock, reviewer: Member, duty: Duty, reason: str,
              report_id: int | None = None) -> Report:
    reason = reason.strip()
    if not reason:
        raise ServiceError("退回时请写明理由，如：/sendback 12 请补充验收材料")
    report = pending_completion(session, duty, report_id)
    now = db_time(clock)
    report.review_status, report.reviewed_by, report.reviewed_at = ReviewStatus.SENT_BACK, reviewer.name, now
    report.review_note = reason
    duty.assignment.status, duty.assignment.updated_at = AssignmentStatus.OPEN, now
    # Reminders and escalations start again from now; what fell during the review is not replayed.
    duty.assignment.next_check_at = duty.assignment.planned_until = now
    record(session, clock, actor_of(reviewer), "assignment.sent_back", "assignment", duty.assignment.id,
           report_id=report.id, task_id=duty.task.id, reason=reason)
    notify_unit(session, clock, duty.unit.id, NotificationKind.COMPLETION_SENT_BACK,
                CompletionSentBack(task_id=duty.task.id, task_text=duty.task.text, reviewer=reviewer.name,
                                   reason=reason),
                f"sent_back:{report.id}")
    return report


def decide_extension(session: Session, clock: Clock, reviewer: Member, extension_id: int, *, approve: bool,
                     note: str = "") -> Extension:
    # Locked and read again, so that two decisions at once on one request take turns.
    extension = session.get(Extension, extension_id, with_for_update=True, populate_existing=True)
    if extension is None:
        raise ServiceError(f"没有编号为 {extension_id} 的延期申请。")
    if extension.status != ExtensionStatus.PENDING:
        raise ServiceError(f"延期申请 #{extension_id} 已处理过。")
    if not approve and not note.strip():
        raise ServiceError(f"不同意延期时请写明理由，如：/refuse {extension_id} 该任务为硬性节点")
    duty = duty_by_assignment(session, extension.assignment_id)
    if approve:
        check_within_plan(session, duty.task, extension.new_date)
    now = db_time(clock)
    extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
    extension.decided_by, extension.decided_at, extension.decision_note = reviewer.name, now, note.strip()
    if approve:
        # The decision is kept apart from the document's date, so that re-importing the document
        # does not undo it; every reminder and escalation step moves with the date in force.
        assignment = duty.assignment
        assignment.extended_to = extension.new_date
        assignment.due_on = deadline_in_force(duty.task.deadline, extension.new_date)
        assignment.updated_at, assignment.next_check_at = now, now
    record(session, clock, actor_of(reviewer), f"extension.{extension.status}", "extension", extension.id,
           assignment_id=duty.assignment.id, task_id=duty.task.id, new_date=extension.new_date, note=note.strip())
    notify_unit(session, clock, duty.unit.id, NotificationKind.EXTENSION_DECIDED,
                ExtensionDecided(extension_id=extension.id, task_id=duty.task.id, task_text=duty.task.text,
                                 approved=approve, new_date=extension.new_date, note=note.strip(),
                                 reviewer=reviewer.name),
                f"extension_decided:{extension.id}")
    return extension


def urge(session: Session, clock: Clock, urger: Member, duties: list[Duty], note: str = "") -> int:
    """催办: every unit named hears which of its tasks, from whom. Returns how many units were urged."""
    open_duties = [d for d in duties if d.assignment.status in OPEN_STATUSES]
    if not open_duties:
        raise ServiceError("没有需要催办的未办结任务。")
    by_unit: dict[int, list[Duty]] = {}
    for duty in open_duties:
        by_unit.setdefault(duty.unit.id, []).append(duty)
    event = None
    for unit_id, unit_duties in by_unit.items():
        for duty in unit_duties:
            event = record(session, clock, actor_of(urger), "assignment.urged", "assignment", duty.assignment.id,
                           task_id=duty.task.id, note=note)
        session.flush()
        notify_unit(session, clock, unit_id, NotificationKind.URGE,
                    Urge(urger=urger.name, note=note, unit=unit_duties[0].unit.name,
                         tasks=[UrgedTask(task_id=d.task.id, text=d.task.text, due_on=d.assignment.due_on)
                                for d in unit_duties]),
                    f"urge:{event.id if event else 0}")
    return len(by_unit)


def assign_unit(session: Session, clock: Clock, reviewer: Member, task_id: int, unit: Unit,
                role: str = AssignmentRole.CO) -> Assignment:
    """The office puts a unit on a task the document did not give it; no re-import takes it off."""
    task = find_task(session, task_id)
    if unit.kind == "group":
        raise ServiceError(f"“{unit.name}”是单位组，请逐个指定具体单位。")
    assignment = session.exec(select(Assignment).where(Assignment.task_id == task.id,
                                                       Assignment.unit_id == unit.id)).first()
    now = db_time(clock)
    if assignment is not None and assignment.status != AssignmentStatus.WITHDRAWN:
        raise ServiceError(f"{unit.name}已是任务 {task.id} 的责任单位。")
    if assignment is None:
        assignment = Assignment(task_id=task.id, unit_id=unit.id, role=role, position=1000,
                                due_on=task.deadline, created_at=now, updated_at=now)
        session.add(assignment)
    else:
        assignment.status = assignment.withdrawn_from or AssignmentStatus.OPEN
        assignment.withdrawn_from, assignment.role, assignment.updated_at = None, role, now
        assignment.due_on = deadline_in_force(task.deadline, assignment.extended_to)
    assignment.office_choice, assignment.next_check_at = OfficeChoice.ADDED, now
    session.flush()
    record(session, clock, actor_of(reviewer), "assignment.assigned_by_office", "assignment", assignment.id,
           task_id=task.id, unit=unit.name, role=role)
    return assignment


def unassign_unit(session: Session, clock: Clock, reviewer: Member, task_id: int, unit: Unit) -> Assignment:
    """The office takes a unit off a task, even one the document names; no re-import puts it back."""
    task = find_task(session, task_id)
    assignment = session.exec(select(Assignment).where(Assignment.task_id == task.id, Assignment.unit_id == unit.id,
                                                       Assignment.status != AssignmentStatus.WITHDRAWN)).first()
    if assignment is None:
        raise ServiceError(f"{unit.name}不是任务 {task.id} 的责任单位。")
    previous = assignment.status
    assignment.status, assignment.withdrawn_from = AssignmentStatus.WITHDRAWN, previous
    assignment.office_choice, assignment.updated_at = OfficeChoice.REMOVED, db_time(clock)
    record(session, clock, actor_of(reviewer), "assignment.removed_by_office", "assignment", assignment.id,
           task_id=task.id, unit=unit.name, previous_status=previous)
    return assignment


# --- what waits for the office's decision ---------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A completion report to verify or an extension to decide: what the office has to rule on."""

    kind: Literal["completion", "extension"]
    id: int  # the report's or the extension's
    task_id: int
    task_text: str
    unit: str
    author: str
    since: datetime
    files: int = 0  # evidence attached to a completion report
    asked_for: date | None = None  # the date an extension asks for


def waiting_for_review(session: Session, *, limit: int, offset: int = 0) -> tuple[list[Waiting], int]:
    """What waits for the office, oldest first (a page of it), and how much waits in all."""
    reports = (select(Report, Task.id, Task.text, Unit.name)
               .join(Assignment, col(Assignment.id) == Report.assignment_id)
               .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
               .where(Report.kind == ReportKind.COMPLETION, Report.review_status == ReviewStatus.PENDING,
                      Assignment.status == AssignmentStatus.REPORTED))
    extensions = (select(Extension, Task.id, Task.text, Unit.name)
                  .join(Assignment, col(Assignment.id) == Extension.assignment_id)
                  .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
                  .where(Extension.status == ExtensionStatus.PENDING, col(Assignment.status).in_(OPEN_STATUSES)))
    total = sum(int(session.exec(select(func.count()).select_from(query.subquery())).one())
                for query in (reports, extensions))
    # The page's items are among the first offset + limit of each kind: merged by age, then cut.
    enough = offset + limit
    waiting = [Waiting("completion", r.id, task_id, text, unit, r.author, r.created_at, files=len(r.evidence))
               for r, task_id, text, unit in session.exec(
                   reports.order_by(col(Report.created_at), col(Report.id)).limit(enough)).all()]
    waiting += [Waiting("extension", e.id, task_id, text, unit, e.requested_by, e.created_at, asked_for=e.new_date)
                for e, task_id, text, unit in session.exec(
                    extensions.order_by(col(Extension.created_at), col(Extension.id)).limit(enough)).all()]
    waiting.sort(key=lambda w: (w.since, w.kind, w.id))
    return waiting[offset:enough], total


def completion_claim(session: Session, report_id: int) -> CompletionReported:
    """A completion report as the office was told of it: its card, opened again from 待审核."""
    report = session.get(Report, report_id)
    duty = duty_of_report(session, report_id)
    assert report is not None and report.id is not None
    return CompletionReported(report_id=report.id, assignment_id=duty.assignment.id or 0, task_id=duty.task.id or 0,
                              task_text=duty.task.text, unit=duty.unit.name, text=report.text, author=report.author,
                              files=len(report.evidence))


def extension_request(session: Session, extension_id: int) -> ExtensionRequested:
    """An extension request as the office was told of it."""
    # Locked and read again, so that two decisions at once on one request take turns.
    extension = session.get(Extension, extension_id, with_for_update=True, populate_existing=True)
    if extension is None:
        raise ServiceError(f"没有编号为 {extension_id} 的延期申请。")
    if extension.status != ExtensionStatus.PENDING:
        verdict = "已同意" if extension.status == ExtensionStatus.APPROVED else "未同意"
        raise ServiceError(f"延期申请 #{extension_id} 已处理（{verdict}），没有做任何改动。")
    duty = duty_by_assignment(session, extension.assignment_id)
    return ExtensionRequested(extension_id=extension_id, task_id=duty.task.id or 0, task_text=duty.task.text,
                              unit=duty.unit.name, old_date=extension.old_date, new_date=extension.new_date,
                              reason=extension.reason, author=extension.requested_by)


@dataclass(frozen=True)
class Evidence:
    """The files a unit attached to one report, as the chat keeps them."""

    task_id: int
    unit: str
    files: list[dict[str, Any]]  # {"file_id", "kind", "name", "size"}


def report_evidence(session: Session, report_id: int) -> Evidence:
    report = session.get(Report, report_id)
    if report is None or not report.evidence:
        raise ServiceError("这份报送没有附证明材料，或已找不到。")
    duty = duty_by_assignment(session, report.assignment_id)
    return Evidence(duty.task.id or 0, duty.unit.name, list(report.evidence))


EVIDENCE_SENT_AT_ONCE = 20  # files sent for one tap: a chat takes about one message a second


def unit_evidence(session: Session, assignment_id: int) -> Evidence:
    """Every file one unit attached to its reports on a task, newest first."""
    duty = duty_by_assignment(session, assignment_id)
    reports = session.exec(select(Report).where(Report.assignment_id == assignment_id)
                           .order_by(col(Report.created_at).desc(), col(Report.id).desc())).all()
    files = [item for report in reports for item in report.evidence]
    if not files:
        raise ServiceError(f"{duty.unit.name}没有就任务 {duty.task.id} 报送证明材料。")
    return Evidence(duty.task.id or 0, duty.unit.name, files)


def units_with_evidence(session: Session, task_id: int) -> list[tuple[int, str, int]]:
    """(assignment id, unit, how many files) of each unit that sent files on the task, latest sender first."""
    rows = session.exec(select(Report, Unit.name).join(Assignment, col(Assignment.id) == Report.assignment_id)
                        .join(Unit, col(Unit.id) == Assignment.unit_id).where(Assignment.task_id == task_id)
                        .order_by(col(Report.created_at).desc(), col(Report.id).desc())).all()
    found: dict[int, tuple[int, str, int]] = {}
    for report, unit in rows:
        if report.evidence:
            _id, _unit, files = found.get(report.assignment_id, (report.assignment_id, unit, 0))
            found[report.assignment_id] = (report.assignment_id, unit, files + len(report.evidence))
    return list(found.values())
