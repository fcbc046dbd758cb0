"""A task's page: its text, units and their state, deadlines, milestones, project facts, the history from
the audit events, every report with its evidence; the office's decisions (审核通过, 退回, 催办, 延期) and a
unit's own reports, each through the same tasks/ service as the chat's command of the same name.

A unit's member sees only tasks their unit is on, as /task N in chat; the evidence of another unit's
reports stays with the office (the chat offers members no evidence either).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from bot import texts
from bot.channels import CHANNEL_NAMES
from bot.parsing import percent_and_text
from bot.render import due_label
from bot.web.desk import RefusedError, Visit, page, whole_number
from tasks.clock import local_moment
from tasks.errors import ServiceError
from tasks.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Event,
    Extension,
    ExtensionStatus,
    Milestone,
    Project,
    Report,
    ReportKind,
    ReviewStatus,
    Role,
    Task,
    Unit,
    WorkTeam,
    WorkTeamLead,
)
from tasks.work.duties import find_task, member_duty, parent_text, report_completion, report_progress, task_open_duties
from tasks.work.milestones import MilestoneState, milestone_states, task_milestones
from tasks.work.progress import traffic_light
from tasks.work.review import decide_extension, duty_of_report, send_back, urge, verify

REPORT_KIND_NAMES = {ReportKind.PROGRESS: "进展", ReportKind.COMPLETION: "办结申请", ReportKind.EVIDENCE: "证明材料"}
REVIEW_NAMES = {ReviewStatus.PENDING: "待审核", ReviewStatus.ACCEPTED: "已审核通过", ReviewStatus.SENT_BACK: "已退回"}
EXTENSION_NAMES = {ExtensionStatus.PENDING: "待审批", ExtensionStatus.APPROVED: "已同意",
                   ExtensionStatus.REFUSED: "未同意"}
ROLE_LABELS = {AssignmentRole.LEAD: "牵头", AssignmentRole.CO: "配合"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp"}
NOT_YOUR_TASK = "任务 {n} 不是本单位负责的任务，不能查看或办理。"
NOT_YOUR_FILE = "这份证明材料不是本单位报送的，不能查看。"
NO_SUCH_FILE = "找不到这份证明材料。"


@dataclass(frozen=True)
class UnitRow:
    assignment_id: int
    unit: str
    role: str
    status: AssignmentStatus
    status_name: str
    light: str
    due: str
    extended_to: date | None
    own: bool


@dataclass(frozen=True)
class FileView:
    index: int
    name: str
    size: int
    image: bool


@dataclass(frozen=True)
class ReportView:
    id: int
    unit: str
    kind: str
    text: str
    percent: int | None
    author: str
    at: str
    review: str
    reviewed_by: str
    review_note: str
    pending: bool  # a completion report waiting for the office
    files: list[FileView]
    files_shown: bool  # the viewer may open them


@dataclass(frozen=True)
class ExtensionView:
    id: int
    unit: str
    old_date: date | None
    new_date: date
    reason: str
    requested_by: str
    at: str
    status: str
    pending: bool
    decided_by: str
    decision_note: str


@dataclass(frozen=True)
class HistoryView:
    at: str
    actor: str
    unit: str
    what: str


@dataclass
class TaskView:
    task: Task
    kind_name: str
    parent: str | None
    teams: list[str]
    deadline: str
    units: list[UnitRow]
    milestones: list[MilestoneState]
    project: Project | None
    reports: list[ReportView]
    extensions: list[ExtensionView]
    history: list[HistoryView]
    own: UnitRow | None = None
    open_units: int = 0
    project_facts: list[tuple[str, str]] = field(default_factory=list)


# --- who may look ----------------------------------------------------------------------------------


def _task_number(visit: Visit) -> int:
    raw = visit.request.match_info["task_id"]
    number = whole_number(raw)
    if number is None:
        raise RefusedError(404, f"没有编号为 {raw[:20]} 的任务。")
    return number


def _open_task(session: Session, visit: Visit, number: int) -> tuple[Task, int | None]:
    """The task, and for a unit's member the assignment of their unit (another unit's task is refused)."""
    try:
        task = find_task(session, number)
    except ServiceError as missing:
        raise RefusedError(404, str(missing)) from None
    if visit.me.role != Role.MEMBER:
        return task, None
    try:
        duty = member_duty(session, visit.acting_member(session), number)
    except ServiceError:
        raise RefusedError(403, NOT_YOUR_TASK.format(n=number)) from None
    return task, duty.assignment.id


# --- what the page shows ----------------------------------------------------------------------------


def _local(moment: datetime | None, visit: Visit) -> str:
    if moment is None:
        return ""
    return local_moment(moment, visit.ctx.timezone).strftime("%Y-%m-%d %H:%M")


def _file_views(evidence: list[dict[str, Any]]) -> list[FileView]:
    return [FileView(n, str(item.get("name") or texts.FILE_NAME), int(item.get("size") or 0),
                     _content_type(item) in IMAGE_TYPES) for n, item in enumerate(evidence)]


def _content_type(item: dict[str, Any]) -> str:
    """A chat photo is always a JPEG; a document's type is its name's."""
    if item.get("kind") == "photo":
        return "image/jpeg"
    guessed = mimetypes.guess_type(str(item.get("name") or ""))[0]
    return guessed or "application/octet-stream"


def task_view(session: Session, visit: Visit, number: int) -> TaskView:
    task, own_assignment = _open_task(session, visit, number)
    today = visit.ctx.today()
    rows = session.exec(select(Assignment, Unit.name).join(Unit, col(Unit.id) == Assignment.unit_id)
                        .where(Assignment.task_id == task.id)
                        .order_by(col(Assignment.role).desc(), col(Assignment.position), col(Assignment.id))).all()
    unit_of_assignment = {a.id: name for a, name in rows}
    units = [UnitRow(a.id or 0, name, ROLE_LABELS.get(a.role, a.role), a.status, texts.STATUS_NAMES[a.status],
                     traffic_light(a, today) if a.status != AssignmentStatus.WITHDRAWN else "",
                     due_label(a.due_on, today, task.deadline_text) if a.status != AssignmentStatus.WITHDRAWN else "",
                     a.extended_to if a.extended_to is not None and a.due_on != task.deadline else None,
                     a.id == own_assignment)
             for a, name in rows]
    assignment_ids = list(unit_of_assignment)
    lead_units = [a.unit_id for a, _name in rows if a.role == AssignmentRole.LEAD
                  and a.status != AssignmentStatus.WITHDRAWN]
    teams = list(session.exec(select(WorkTeam.name).join(WorkTeamLead, col(WorkTeamLead.team_id) == WorkTeam.id)
                              .where(WorkTeam.plan_id == task.plan_id, col(WorkTeamLead.unit_id).in_(lead_units))
                              .distinct()).all()) if lead_units else []

    reports = list(session.exec(select(Report).where(col(Report.assignment_id).in_(assignment_ids))
                                .order_by(col(Report.created_at).desc(), col(Report.id).desc())).all()
                   ) if assignment_ids else []
    report_views = [ReportView(r.id or 0, unit_of_assignment[r.assignment_id], REPORT_KIND_NAMES[r.kind], r.text,
                               r.percent, r.author, _local(r.created_at, visit),
                               REVIEW_NAMES.get(r.review_status, "") if r.review_status else "",
                               r.reviewed_by or "", r.review_note,
                               r.kind == ReportKind.COMPLETION and r.review_status == ReviewStatus.PENDING,
                               _file_views(r.evidence),
                               own_assignment is None or r.assignment_id == own_assignment)
                    for r in reports]
    extensions = list(session.exec(select(Extension).where(col(Extension.assignment_id).in_(assignment_ids))
                                   .order_by(col(Extension.created_at).desc(), col(Extension.id).desc())).all()
                      ) if assignment_ids else []
    extension_views = [ExtensionView(e.id or 0, unit_of_assignment[e.assignment_id], e.old_date, e.new_date, e.reason,
                                     e.requested_by, _local(e.created_at, visit), EXTENSION_NAMES[e.status],
                                     e.status == ExtensionStatus.PENDING, e.decided_by or "", e.decision_note)
                       for e in extensions]
    milestones = task_milestones(session, task.id or 0)
    history = _history(session, visit, task, unit_of_assignment, reports, extensions, milestones)
    project = session.get(Project, task.id)
    view = TaskView(task, texts.TASK_KIND_NAMES.get(task.kind, "任务"), parent_text(session, task), teams,
                    due_label(task.deadline, today, task.deadline_text), units, milestone_states(milestones, today),
                    project, report_views, extension_views, history,
                    own=next((u for u in units if u.own), None),
                    open_units=len(task_open_duties(session, task)))
    if project is not None:
        view.project_facts = [(label, str(value)) for label, value in (
            ("地区", project.region), ("建设性质", project.nature), ("建设内容", project.content),
            ("总投资（万元）", project.total_investment), ("资金（万元）", project.funds),
            ("实施单位", project.implementing_unit), ("负责人", project.manager), ("建设周期", project.period_text),
            ("效益", project.benefit)) if value not in (None, "")]
    return view


# --- the history, from the audit events -------------------------------------------------------------


def _history(session: Session, visit: Visit, task: Task, unit_of_assignment: dict[int | None, str],
             reports: list[Report], extensions: list[Extension], milestones: list[Milestone]) -> list[HistoryView]:
    """Every audit event on the task, its assignments, reports, extensions and milestones, oldest first."""
    report_unit = {r.id: unit_of_assignment[r.assignment_id] for r in reports}
    extension_unit = {e.id: unit_of_assignment[e.assignment_id] for e in extensions}
    milestone_ids = [m.id for m in milestones]
    wanted = [and_(Event.entity == "task", Event.entity_id == task.id)]
    for entity, ids in (("assignment", list(unit_of_assignment)), ("report", list(report_unit)),
                        ("extension", list(extension_unit)), ("milestone", milestone_ids)):
        if ids:
            wanted.append(and_(Event.entity == entity, col(Event.entity_id).in_(ids)))
    events = session.exec(select(Event).where(or_(*wanted)).order_by(col(Event.at), col(Event.id))).all()
    units = {"assignment": unit_of_assignment, "report": report_unit, "extension": extension_unit}
    history = []
    for event in events:
        detail = event.detail or {}
        unit = units.get(event.entity, {}).get(event.entity_id, "")
        if event.entity == "milestone":
            unit = unit_of_assignment.get(detail.get("assignment_id"), "")
        history.append(HistoryView(_local(event.at, visit), event.actor, unit, describe(event.action, detail)))
    return history


def describe(action: str, detail: dict[str, Any]) -> str:
    """One audit event in words an office reads."""
    def said(key: str, head: str = "") -> str:
        value = detail.get(key)
        return f"{head}{value}" if value not in (None, "", [], {}) else ""

    kind = detail.get("kind")
    simple = {
        "task.created": "导入文档，建立任务",
        "task.withdrawn": "任务已不在重新导入的文档中",
        "task.milestones_changed": "计划节点按文档更新",
        "project.created": "导入项目信息",
        "project.updated": "项目信息按文档更新",
        "assignment.withdrawn": "重新导入后不再是责任单位",
        "assignment.completion_reported": "申请办结，等待审核",
        "assignment.verified": "审核通过，已办结",
        "assignment.planning_failed": "提醒计划出错，已记录",
        "assignment.extension_kept": "重新导入后保留已同意的延期",
        "assignment.extension_superseded": "文档的新时限晚于已同意的延期，按文档",
    }
    if action in simple:
        return simple[action]
    if action == "task.updated":
        return "任务内容更新" + ("（台账导入）" if detail.get("via") == "台账" else "（重新导入文档）")
    if action == "assignment.created":
        return f"列为{ROLE_LABELS.get(detail.get('role', ''), '')}责任单位"
    if action == "assignment.updated":
        return "分工信息按文档更新"
    if action == "assignment.assigned_by_office":
        return f"督办办公室增加为{ROLE_LABELS.get(detail.get('role', ''), '')}责任单位"
    if action == "assignment.removed_by_office":
        return "督办办公室移出责任单位"
    if action == "assignment.sent_back":
        return f"退回办结申请，理由：{detail.get('reason', '')}"
    if action == "assignment.urged":
        return "催办" + said("note", "：")
    if action == "report.created":
        name = REPORT_KIND_NAMES.get(kind, "报送") if kind else "报送"
        percent = f" {detail['percent']}%" if detail.get("percent") is not None else ""
        files = f"，附件 {detail['files']} 份" if detail.get("files") else ""
        return f"报送{name}{percent}{files}"
    if action == "extension.requested":
        return f"申请延期至 {detail.get('new_date', '')}，理由：{detail.get('reason', '')}"
    if action == "extension.approved":
        return f"同意延期至 {detail.get('new_date', '')}" + said("note", "，")
    if action == "extension.refused":
        return "不同意延期" + said("note", "，理由：")
    if action == "milestone.reached":
        return f"报告节点达成：{detail.get('text') or detail.get('kind', '')}（计划 {detail.get('due', '')}）"
    return action


# --- the page ----------------------------------------------------------------------------------------


@page("GET", "/task/{task_id}", may="task")
async def task_page(visit: Visit) -> web.StreamResponse:
    number = _task_number(visit)
    view = await visit.run(lambda session: task_view(session, visit, number))
    return visit.render("task.html", view=view, today=visit.ctx.today())


@page("GET", "/task/{task_id}/evidence/{report_id}/{index}", may="task")
async def evidence_file(visit: Visit) -> web.StreamResponse:
    number = _task_number(visit)
    found = visit.request.match_info
    report_id, index = whole_number(found["report_id"]), whole_number(found["index"])
    if report_id is None or index is None:
        raise RefusedError(404, NO_SUCH_FILE)

    def find(session: Session) -> dict[str, Any]:
        task, own_assignment = _open_task(session, visit, number)
        report = session.get(Report, report_id)
        assignment = session.get(Assignment, report.assignment_id) if report is not None else None
        if report is None or assignment is None or assignment.task_id != task.id \
                or index >= len(report.evidence):
            raise RefusedError(404, NO_SUCH_FILE)
        if own_assignment is not None and assignment.id != own_assignment:
            raise RefusedError(403, NOT_YOUR_FILE)
        return dict(report.evidence[index])

    item = await visit.run(find)
    channel = str(item.get("channel", "telegram"))
    source = visit.desk.ctx.file_sources.get(channel) if channel != "telegram" else None
    if source is None and (channel != "telegram" or visit.desk.bot is None):
        raise RefusedError(503, f"网页版没有连接{CHANNEL_NAMES.get(channel, channel)}，暂时无法取回这份证明材料。")
    try:
        if source is not None:
            data = await source(str(item["file_id"]))
        else:
            chat_file = await visit.desk.bot.get_file(str(item["file_id"]))
            data = bytes(await chat_file.download_as_bytearray())
    except Exception as error:  # the chat platform's refusal or an unreachable server: said in one sentence
        raise RefusedError(502, f"暂时无法从聊天平台取回这份证明材料（{type(error).__name__}），请稍后重试。") from None
    content_type = _content_type(item)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if content_type not in IMAGE_TYPES:
        headers["Content-Disposition"] = _attachment(str(item.get("name") or texts.FILE_NAME))
    return web.Response(body=data, content_type=content_type, headers=headers)


def _attachment(name: str) -> str:
    """The original name, for every browser: an ASCII fallback and the RFC 5987 UTF-8 form."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- the office's decisions ----------------------------------------------------------------------


def _back(number: int) -> str:
    return f"/task/{number}"


def _form_int(visit: Visit, name: str) -> int:
    number = whole_number(visit.form(name))
    if number is None:
        raise ServiceError("表单缺少要办理的对象，什么也没有改动：请刷新页面后重试。")
    return number


def _report_of_task(session: Session, visit: Visit, number: int, report_id: int) -> Any:
    """The duty of a completion report on this task (a report of another task is refused, not decided)."""
    find_task(session, number)
    duty = duty_of_report(session, report_id)
    if duty.task.id != number:
        raise ServiceError("这份办结申请不属于这个任务，什么也没有改动。")
    return duty


@page("POST", "/task/{task_id}/verify", may="verify")
async def verify_action(visit: Visit) -> web.StreamResponse:
    number, report_id = _task_number(visit), _form_int(visit, "report")

    def work(session: Session) -> str:
        duty = _report_of_task(session, visit, number, report_id)
        verify(session, visit.ctx.clock, visit.acting_member(session), duty, report_id)
        return f"已审核通过：任务 {number}（{duty.unit.name}）办结，已通知该单位。"

    return visit.back_to(_back(number), await visit.run(work))


@page("POST", "/task/{task_id}/sendback", may="sendback")
async def send_back_action(visit: Visit) -> web.StreamResponse:
    number, report_id = _task_number(visit), _form_int(visit, "report")
    reason = visit.form("reason")

    def work(session: Session) -> str:
        duty = _report_of_task(session, visit, number, report_id)
        send_back(session, visit.ctx.clock, visit.acting_member(session), duty, reason, report_id)
        return f"已退回任务 {number}（{duty.unit.name}）的办结申请，并通知该单位。"

    return visit.back_to(_back(number), await visit.run(work))


@page("POST", "/task/{task_id}/urge", may="urge")
async def urge_action(visit: Visit) -> web.StreamResponse:
    number, note = _task_number(visit), visit.form("note")

    def work(session: Session) -> str:
        duties = task_open_duties(session, find_task(session, number))
        units = urge(session, visit.ctx.clock, visit.acting_member(session), duties, note)
        return f"已催办任务 {number} 的 {units} 个未办结单位。"

    return visit.back_to(_back(number), await visit.run(work))


async def _decide(visit: Visit, *, approve: bool) -> web.StreamResponse:
    number, extension_id, note = _task_number(visit), _form_int(visit, "extension"), visit.form("note")

    def work(session: Session) -> str:
        find_task(session, number)
        extension = session.get(Extension, extension_id)
        assignment = session.get(Assignment, extension.assignment_id) if extension is not None else None
        if assignment is None or assignment.task_id != number:
            raise ServiceError("这份延期申请不属于这个任务，什么也没有改动。")
        decided = decide_extension(session, visit.ctx.clock, visit.acting_member(session), extension_id,
                                   approve=approve, note=note)
        if approve:
            return f"已同意延期申请 #{extension_id}，新的完成时限 {decided.new_date.isoformat()}，已通知该单位。"
        return f"已不同意延期申请 #{extension_id}，并通知该单位。"

    return visit.back_to(_back(number), await visit.run(work))


@page("POST", "/task/{task_id}/approve", may="approve")
async def approve_action(visit: Visit) -> web.StreamResponse:
    return await _decide(visit, approve=True)


@page("POST", "/task/{task_id}/refuse", may="refuse")
async def refuse_action(visit: Visit) -> web.StreamResponse:
    return await _decide(visit, approve=False)


# --- a unit's own reports --------------------------------------------------------------------------


@page("POST", "/task/{task_id}/report", may="report")
async def report_action(visit: Visit) -> web.StreamResponse:
    number, text = _task_number(visit), visit.form("text")
    percent_raw = visit.form("percent").rstrip("%％")

    def work(session: Session) -> str:
        _open_task(session, visit, number)  # another unit's task: refused before anything
        member = visit.acting_member(session)
        duty = member_duty(session, member, number)
        typed_percent = whole_number(percent_raw)
        if percent_raw and typed_percent is None:
            raise ServiceError("进度百分比应在 0 到 100 之间。")
        percent, rest = (typed_percent, text) if typed_percent is not None else percent_and_text(text)
        if not rest:
            raise ServiceError("请写明进展情况，如：已完成方案初稿。")
        report_progress(session, visit.ctx.clock, member, duty, rest, percent)
        return f"已记录任务 {number} 的进展。"

    return visit.back_to(_back(number), await visit.run(work))


@page("POST", "/task/{task_id}/done", may="done")
async def done_action(visit: Visit) -> web.StreamResponse:
    number, text = _task_number(visit), visit.form("text")

    def work(session: Session) -> str:
        _open_task(session, visit, number)
        member = visit.acting_member(session)
        report_completion(session, visit.ctx.clock, member, member_duty(session, member, number), text)
        return f"已提交任务 {number} 的办结申请，等待督办办公室审核。"

    return visit.back_to(_back(number), await visit.run(work))
