"""What a responsible unit's member does in chat. Each action runs inside one transaction."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.context import Request
from bot.parsing import new_date_and_reason, percent_and_text, task_number
from bot.render import LIST_LIMIT, CardFacts, Reply, duty_list, say, task_card, unit_title
from tasks.clock import db_time
from tasks.errors import ServiceError
from tasks.models import Milestone, Role, Unit
from tasks.work.duties import (
    Duty,
    HistoryEntry,
    find_task,
    member_duty,
    parent_text,
    report_completion,
    report_progress,
    request_extension,
    require_person,
    task_assignments,
    task_history,
)
from tasks.work.members import unit_of
from tasks.work.milestones import find_milestone, milestone_label, report_milestone, task_milestones
from tasks.work.progress import count_open_due, open_duties, unit_scope
from tasks.work.review import units_with_evidence

PENDING_LIFETIME = timedelta(hours=2)


def my_tasks(req: Request) -> Reply:
    unit = unit_of(req.session, req.member)
    assert unit is not None  # the dispatcher refuses a unit's member without a unit
    return unit_list(req, unit)


def unit_list(req: Request, unit: Unit) -> Reply:
    """A unit's open tasks, nearest deadline first, as its members and the office see them; a group's
    (各镇街) are its members', each line naming its unit."""
    scope = unit_scope(req.session, unit)
    return duty_list(open_duties(req.session, before=None, limit=LIST_LIMIT, scope=scope), req.today,
                     texts.unit_open_list_title(unit_title(scope)),
                     count_open_due(req.session, before=None, scope=scope), with_units=scope.is_group)


def show_task(req: Request) -> Reply:
    number, _rest = task_number(req.args, texts.USAGE_TASK)
    own = None
    if req.member.role == Role.MEMBER:
        own = member_duty(req.session, req.member, number).assignment
    task = find_task(req.session, number)
    history = [_history_line(entry, req) for entry in task_history(req.session, task.id)]
    # The office and leadership open the files units sent; a unit's member sent them.
    evidence = [] if req.member.role == Role.MEMBER else units_with_evidence(req.session, task.id)
    milestones = task_milestones(req.session, task.id)
    facts = CardFacts(task, parent_text(req.session, task), task_assignments(req.session, task.id), history, own,
                      evidence, milestones)
    return task_card(facts, req.today)


def _history_line(entry: HistoryEntry, req: Request) -> str:
    local = entry.at.astimezone(req.ctx.timezone).strftime("%m-%d %H:%M")
    return texts.history_line(local, entry.unit, entry.author, entry.kind, entry.review_status, entry.percent,
                              entry.text, entry.files, entry.review_note)


def report(req: Request) -> Reply:
    number, rest = task_number(req.args, texts.USAGE_REPORT)
    return _progress(req, number, rest)


def _progress(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    percent, text = percent_and_text(text)
    if not text and not req.files:
        raise ServiceError(texts.PROGRESS_NEEDS_TEXT)
    report_progress(req.session, req.clock, req.member, duty, text, percent, req.files)
    return say(texts.progress_recorded(number, len(req.files)))


def done(req: Request) -> Reply:
    number, rest = task_number(req.args, texts.USAGE_DONE)
    return _completion(req, number, rest)


def _completion(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    report_completion(req.session, req.clock, req.member, duty, text, req.files)
    return say(texts.completion_submitted(number))


def extend(req: Request) -> Reply:
    number, rest = task_number(req.args, texts.USAGE_EXTEND)
    return _extension(req, number, rest)


def _extension(req: Request, number: int, text: str) -> Reply:
    duty = member_duty(req.session, req.member, number)
    new_date, reason = new_date_and_reason(text, req.today)
    extension = request_extension(req.session, req.clock, req.member, duty, new_date, reason, req.today)
    return say(texts.extension_submitted(extension.id, number, new_date))


# --- one-tap buttons: the tap asks a question, the next message answers it -------------------

ANSWERS = {"progress": _progress, "completion": _completion, "extension": _extension}


def start_pending(req: Request, action: str, number: int) -> Reply:
    require_person(req.member)  # a group's binding is told how to report before it types anything
    duty = member_duty(req.session, req.member, number)  # refuses another unit's task before asking anything
    req.member.pending = {"action": action, "task_id": duty.task.id,
                          "until": (db_time(req.clock) + PENDING_LIFETIME).isoformat()}
    return say(texts.question(action, number, duty.task.text, in_group=req.who.is_group))


def answer_pending(req: Request) -> Reply | None:
    """The member's answer to the question a button asked; None when no question is open."""
    pending = dict(req.member.pending or {})
    if pending.get("action") not in ANSWERS:
        return None
    req.member.pending = {}
    if pending.get("until", "") < db_time(req.clock).isoformat():
        raise ServiceError(texts.QUESTION_TIMED_OUT)
    return ANSWERS[pending["action"]](req, int(pending["task_id"]), req.args)


# --- a project's milestones: 已开工, 已完工, a stage done (tasks/work/milestones.py) -------------


def milestone(req: Request) -> Reply:
    """/milestone 41 开工 (or 节点 41 1): the unit reports one of the task's milestones reached."""
    number, rest = task_number(req.args, texts.USAGE_MILESTONE)
    duty = member_duty(req.session, req.member, number)
    return _milestone_reached(req, duty, find_milestone(req.session, duty.task.id, rest))


def milestone_button(req: Request, milestone_id: int) -> Reply:
    """The 已开工 button of a task's card."""
    chosen = req.session.get(Milestone, milestone_id)
    if chosen is None:
        raise ServiceError(texts.MILESTONE_GONE)
    return _milestone_reached(req, member_duty(req.session, req.member, chosen.task_id), chosen)


def _milestone_reached(req: Request, duty: Duty, chosen: Milestone) -> Reply:
    report_milestone(req.session, req.clock, req.member, duty, chosen, req.today)
    return say(texts.milestone_recorded(duty.task.id, milestone_label(chosen), req.today))
