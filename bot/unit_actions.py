"""What a responsible unit's member does in chat. Each action runs inside one transaction."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Request
from bot.parsing import new_date_and_reason, percent_and_text, task_number
from bot.render import LIST_LIMIT, CardFacts, Reply, duty_list, esc, say, task_card, unit_title
from tasks.clock import db_time
from tasks.errors import ServiceError
from tasks.models import Role, Task, Unit
from tasks.work.duties import (
    HistoryEntry,
    find_task,
    member_duty,
    report_completion,
    report_progress,
    request_extension,
    require_person,
    task_assignments,
    task_history,
)
from tasks.work.progress import count_open_due, open_duties, unit_scope

KIND_WORDS = {"progress": "进展", "completion": "办结申请", "evidence": "证明材料"}
REVIEW_WORDS = {"accepted": "（已审核通过）", "sent_back": "（已退回）", "pending": "（待审核）"}
PENDING_LIFETIME = timedelta(hours=2)


def my_tasks(req: Request) -> Reply:
    unit = req.session.get(Unit, req.member.unit_id)
    assert unit is not None
    return unit_list(req, unit)


def unit_list(req: Request, unit: Unit) -> Reply:
    """A unit's open tasks, nearest deadline first, as its members and the office see them; a group's
    (各镇街) are its members', each line naming its unit."""
    scope = unit_scope(req.session, unit)
    return duty_list(open_duties(req.session, before=None, limit=LIST_LIMIT, scope=scope), req.today,
                     f"{unit_title(scope)} 未办结任务", count_open_due(req.session, before=None, scope=scope),
                     with_units=scope.is_group)


def show_task(req: Request) -> Reply:
    number, _rest = task_number(req.args, "/task 编号")
    own = None
    if req.member.role == Role.MEMBER:
        own = member_duty(req.session, req.member, number).assignment
    task = find_task(req.session, number)
    parent = req.session.get(Task, task.parent_id) if task.parent_id else None
    history = [_history_line(entry, req) for entry in task_history(req.session, task.id)]
    facts = CardFacts(task, parent.text if parent else None, task_assignments(req.session, task.id), history, own)
    return task_card(facts, req.today)


def _history_line(entry: HistoryEntry, req: Request) -> str:
    local = entry.at.astimezone(req.ctx.timezone).strftime("%m-%d %H:%M")
    percent = f" {entry.percent}%" if entry.percent is not None else ""
    files = f" [附件{entry.files}]" if entry.files else ""
    review = REVIEW_WORDS.get(entry.review_status or "", "")
    note = f" 退回理由：{entry.review_note}" if entry.review_note else ""
    kind = KIND_WORDS.get(entry.kind, entry.kind)
    return f"{local} {entry.unit} {entry.author} {kind}{review}{percent}：{entry.text}{files}{note}"


def report(req: Request) -> Reply:
    number, rest = task_number(req.args, "/report 编号 [百分比%] 进展情况，如 /report 12 60% 已完成方案初稿")
    return _progress(req, number, rest)


def _progress(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    percent, text = percent_and_text(text)
    if not text and not req.files:
        raise ServiceError("请写明进展情况，如：/report 12 60% 已完成方案初稿")
    report_progress(req.session, req.clock, req.member, duty, text, percent, req.files)
    files = f"，证明材料 {len(req.files)} 份" if req.files else ""
    return say(f"已记录任务 <b>{number}</b> 的进展{files}。")


def done(req: Request) -> Reply:
    number, rest = task_number(req.args, "/done 编号 办结说明，如 /done 12 已签订协议")
    return _completion(req, number, rest)


def _completion(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    report_completion(req.session, req.clock, req.member, duty, text, req.files)
    return say(f"已提交任务 <b>{number}</b> 的办结申请，等待督办办公室审核。")


def extend(req: Request) -> Reply:
    number, rest = task_number(req.args, "/extend 编号 新日期 理由，如 /extend 12 2021-11-30 等待上级批复")
    return _extension(req, number, rest)


def _extension(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    new_date, reason = new_date_and_reason(text, req.today)
    extension = request_extension(req.session, req.clock, req.member, duty, new_date, reason, req.today)
    return say(f"已提交延期申请 #{extension.id}：任务 <b>{number}</b> 申请延至 {new_date.isoformat()}，"
               "等待督办办公室审批。")


# --- one-tap buttons: the tap asks a question, the next message answers it -------------------

PROMPTS = {
    "progress": ("请发送任务 <b>{n}</b> 的进展情况（可写百分比，如：60% 已完成方案初稿；"
                 "也可以直接发送照片或文件作为证明材料）。发送“取消”放弃。"),
    "completion": "请发送任务 <b>{n}</b> 的办结说明（如：已签订帮扶协议），也可附照片或文件。发送“取消”放弃。",
    "extension": "请发送新的完成日期和理由，如：<code>2021-11-30 等待上级批复</code>。发送“取消”放弃。",
}
ANSWERS = {"progress": _progress, "completion": _completion, "extension": _extension}


def start_pending(req: Request, action: str, number: int) -> Reply:
    require_person(req.member)  # a group's binding is told how to report before it types anything
    duty = member_duty(req.session, req.member, number)  # refuses another unit's task before asking anything
    req.member.pending = {"action": action, "task_id": duty.task.id,
                          "until": (db_time(req.clock) + PENDING_LIFETIME).isoformat()}
    return say(PROMPTS[action].format(n=number) + f"\n任务：{esc(duty.task.text[:60])}")


def answer_pending(req: Request) -> Reply | None:
    """The member's answer to the question a button asked; None when no question is open."""
    pending = dict(req.member.pending or {})
    if pending.get("action") not in ANSWERS:
        return None
    req.member.pending = {}
    if pending.get("until", "") < db_time(req.clock).isoformat():
        raise ServiceError("上一次的操作已超时，请重新点按钮或使用命令。")
    return ANSWERS[pending["action"]](req, int(pending["task_id"]), req.args)
