"""What the supervision office and leadership do in chat. Each action runs inside one transaction."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.context import Request
from bot.parsing import task_number
from bot.render import Attachment, Page, Reply, notification, say, unit_title
from tasks.clock import db_time
from tasks.errors import ServiceError, quoted
from tasks.models import OPEN_STATUSES, AssignmentRole, Role, Unit
from tasks.notifications import LedgerRequest, NotificationKind, stored_payload
from tasks.outbox import enqueue
from tasks.plan.directory import merge_unit
from tasks.plan.ledger import STATUS_FILTERS
from tasks.work.duties import Duty, actor_of, find_task, task_open_duties, unit_duties
from tasks.work.lookup import NotFoundError, find_team, find_unit, latest_plan
from tasks.work.members import (
    ROLE_NAMES,
    create_invite,
    mask_mobile,
    members_of,
    parse_role,
    revoke_invite,
    unbind,
)
from tasks.work.progress import unit_scope
from tasks.work.review import (
    EVIDENCE_SENT_AT_ONCE,
    Evidence,
    assign_unit,
    completion_claim,
    decide_extension,
    duty_of_report,
    extension_request,
    one_reported_duty,
    pending_completion,
    report_evidence,
    send_back,
    unassign_unit,
    unit_evidence,
    urge,
    verify,
)


def _optional_unit(req: Request, rest: str) -> tuple[Unit | None, str]:
    """"区商务局 理由…": a leading unit name, if the first word is one."""
    first, _, remainder = rest.partition(" ")
    if not first:
        return None, rest
    try:
        return find_unit(req.session, first, req.ctx.district), remainder.strip()
    except NotFoundError:
        return None, rest


def verify_command(req: Request) -> Reply:
    number, rest = task_number(req.args, texts.USAGE_VERIFY)
    unit, _ = _optional_unit(req, rest)
    duty = one_reported_duty(req.session, number, unit)
    verify(req.session, req.clock, req.member, duty)
    return say(texts.verified(number, duty.unit.name, unit_told=True))


def send_back_command(req: Request) -> Reply:
    number, rest = task_number(req.args, texts.USAGE_SEND_BACK)
    unit, reason = _optional_unit(req, rest)
    duty = one_reported_duty(req.session, number, unit)
    send_back(req.session, req.clock, req.member, duty, reason)
    return say(texts.sent_back(number, duty.unit.name))


def approve_command(req: Request) -> Reply:
    number, note = task_number(req.args, texts.USAGE_APPROVE, texts.EXTENSION_NUMBER)
    extension = decide_extension(req.session, req.clock, req.member, number, approve=True, note=note)
    return say(texts.extension_approved(number, extension.new_date, unit_told=True))


def refuse_command(req: Request) -> Reply:
    number, note = task_number(req.args, texts.USAGE_REFUSE, texts.EXTENSION_NUMBER)
    decide_extension(req.session, req.clock, req.member, number, approve=False, note=note)
    return say(texts.extension_refused(number))


def urge_command(req: Request) -> Reply:
    text = req.args.strip()
    if not text:
        raise ServiceError(texts.USAGE_URGE)
    if text.split()[0].lstrip("#").isdigit():
        number, note = task_number(text, texts.USAGE_URGE_TASK)
        duties = task_open_duties(req.session, find_task(req.session, number))
    else:
        unit, note = _optional_unit(req, text)
        if unit is None:
            raise ServiceError(texts.no_such_unit_to_urge(quoted(text.split()[0])))
        scope = unit_scope(req.session, unit)
        if scope.is_group:  # each member with open tasks hears of its own
            duties = [d for member_id in scope.members for d in unit_duties(req.session, member_id)]
            if not any(d.assignment.status in OPEN_STATUSES for d in duties):
                raise ServiceError(texts.nothing_to_urge_in_group(unit_title(scope)))
            units = urge(req.session, req.clock, req.member, duties, note)
            return say(texts.urged_group(unit_title(scope), units, _open_count(duties)))
        duties = unit_duties(req.session, unit.id)
    units = urge(req.session, req.clock, req.member, duties, note)
    return say(texts.urged(units, _open_count(duties)))


def _open_count(duties: list[Duty]) -> int:
    return len([d for d in duties if d.assignment.status in OPEN_STATUSES])


def invite_command(req: Request) -> Reply:
    words = req.args.split()
    if not words:
        raise ServiceError(texts.USAGE_INVITE)
    role, unit = Role.MEMBER, None
    for word in words:
        try:
            role = parse_role(word)
            continue
        except ServiceError:
            pass
        unit = find_unit(req.session, word, req.ctx.district)
    invite = create_invite(req.session, req.clock, actor_of(req.member), role, unit,
                           inviter_role=req.member.role)
    link = f"https://t.me/{req.ctx.bot_username}?start={invite.code}" if req.ctx.bot_username else ""
    expires = invite.expires_at.astimezone(req.ctx.timezone).strftime("%Y-%m-%d %H:%M")
    return say("\n".join(texts.invite_lines(unit.name if unit else None, ROLE_NAMES[role], expires, invite.code,
                                             link)))


def _task_and_unit(req: Request, usage: str) -> tuple[int, Unit, str]:
    number, rest = task_number(req.args, usage)
    unit, remainder = _optional_unit(req, rest)
    if unit is None:
        raise ServiceError(texts.unit_needed(usage))
    return number, unit, remainder


def assign_command(req: Request) -> Reply:
    number, unit, rest = _task_and_unit(req, texts.USAGE_ASSIGN)
    role = AssignmentRole.LEAD if rest.strip() in texts.LEAD_WORDS else AssignmentRole.CO
    assign_unit(req.session, req.clock, req.member, number, unit, role)
    return say(texts.assigned(unit.name, number, lead=role == AssignmentRole.LEAD))


def unassign_command(req: Request) -> Reply:
    number, unit, _ = _task_and_unit(req, texts.USAGE_UNASSIGN)
    unassign_unit(req.session, req.clock, req.member, number, unit)
    return say(texts.unassigned(unit.name, number))


def merge_command(req: Request) -> Reply:
    names = req.args.split()
    if len(names) != 2:
        raise ServiceError(texts.USAGE_MERGE)
    source, target = (find_unit(req.session, name, req.ctx.district) for name in names)
    moved = merge_unit(req.session, req.clock, actor_of(req.member), source, target)
    return say(texts.merged(source.name, target.name, moved))


def members_command(req: Request) -> Reply:
    """Who is bound, a unit's or everyone's, with the numbers /unbind takes."""
    unit = find_unit(req.session, req.args, req.ctx.district) if req.args.strip() else None
    rows = members_of(req.session, unit)
    if not rows:
        return say(texts.no_members(unit.name if unit else None))
    page = Page().add(texts.members_title(unit.name if unit else None, len(rows)))
    for member, unit_name in rows:
        kind = texts.GROUP_CHAT if member.user_id is None else ROLE_NAMES[member.role]
        masked = mask_mobile(member.mobile) if member.mobile else None
        page.add(texts.member_line(member.id, member.name, kind, unit_name, masked))
    page.add(texts.UNBIND_HINT)
    return page.reply()


def unbind_command(req: Request) -> Reply:
    number, _ = task_number(req.args, texts.USAGE_UNBIND, texts.MEMBER_NUMBER)
    member = unbind(req.session, req.clock, actor_of(req.member), req.member.role, number)
    return say(texts.unbound_member(member.name or member.id))


def revoke_command(req: Request) -> Reply:
    code = req.args.strip()
    if not code:
        raise ServiceError(texts.USAGE_REVOKE)
    revoke_invite(req.session, req.clock, actor_of(req.member), code)
    return say(texts.invite_revoked(code))


def export_command(req: Request) -> Reply:
    """/export [单位/专班/状态]: the ledger (台账) as the XLSX taskbot export writes, sent as a file. The
    filter is checked here, so a wrong one is said at once; the file is made by the sender."""
    wanted = req.args.strip()
    narrowed: dict[str, str] = {}
    if wanted in STATUS_FILTERS or wanted.lower() in STATUS_FILTERS:
        narrowed["status"] = wanted
    elif wanted:
        try:
            find_unit(req.session, wanted, req.ctx.district)
            narrowed["unit"] = wanted
        except NotFoundError:
            find_team(req.session, latest_plan(req.session), wanted)  # neither a unit nor a team: said so
            narrowed["team"] = wanted
    else:
        latest_plan(req.session)  # no plan yet: said so now, not by a file that never comes
    asked = LedgerRequest(day=req.today, **narrowed)
    enqueue(req.session, req.clock, req.member, NotificationKind.LEDGER, asked,
            # The same question at the same moment is one request (a repeated update, say), another one is not.
            f"ledger:{req.member.id}:{db_time(req.clock).isoformat()}:{wanted}")
    return say(texts.ledger_coming(wanted))


# --- what waits for the office: its cards and the files a unit sent ----------------------------


def completion_card(req: Request, report_id: int) -> Reply:
    """A completion report opened from 待审核: the card the office was sent, with its buttons."""
    claim = completion_claim(req.session, report_id)
    pending_completion(req.session, duty_of_report(req.session, report_id), report_id)  # handled: said so
    return notification(NotificationKind.COMPLETION_REPORTED, stored_payload(NotificationKind.COMPLETION_REPORTED,
                                                                              claim))


def extension_card(req: Request, extension_id: int) -> Reply:
    request = extension_request(req.session, extension_id)
    return notification(NotificationKind.EXTENSION_REQUESTED, stored_payload(NotificationKind.EXTENSION_REQUESTED,
                                                                              request))


def evidence_files(req: Request, report_id: int) -> Reply:
    """The photos and files a unit attached to a report, sent again by the chat's own references."""
    return _evidence_reply(report_evidence(req.session, report_id))


def unit_evidence_files(req: Request, assignment_id: int) -> Reply:
    """Every photo and file one unit sent on a task (the newest EVIDENCE_SENT_AT_ONCE)."""
    return _evidence_reply(unit_evidence(req.session, assignment_id))


def _evidence_reply(evidence: Evidence) -> Reply:
    files = [Attachment("photo" if item.get("kind") == "photo" else "document", str(item.get("name") or ""),
                        file_id=str(item["file_id"]), channel=str(item.get("channel", "telegram")))
             for item in evidence.files[:EVIDENCE_SENT_AT_ONCE]]
    return Reply([texts.evidence_head(evidence.task_id, evidence.unit, len(evidence.files), len(files))],
                 files=files)


# --- buttons on notifications ---------------------------------------------------------


def verify_button(req: Request, report_id: int) -> Reply:
    duty = duty_of_report(req.session, report_id)
    verify(req.session, req.clock, req.member, duty, report_id)
    return say(texts.verified(duty.task.id, duty.unit.name, unit_told=False))


def retired_review_button(_req: Request, _assignment_id: int) -> Reply:
    """审核通过 / 退回 on notifications sent before buttons named their report: which claim they
    meant is not known, so they decide nothing."""
    raise ServiceError(texts.RETIRED_REVIEW_BUTTON)


def approve_button(req: Request, extension_id: int) -> Reply:
    extension = decide_extension(req.session, req.clock, req.member, extension_id, approve=True)
    return say(texts.extension_approved(extension_id, extension.new_date, unit_told=False))


# The pending action's name says what its target is: "send_back" named an assignment before the
# 退回 button named its report, and a reason typed for one of those is not applied to a report.
SEND_BACK_REPORT, RETIRED_SEND_BACK = "send_back_report", "send_back"


def ask_reason(req: Request, action: str, target_id: int) -> Reply:
    """退回 / 不同意 need a reason: the next message is it."""
    if action == SEND_BACK_REPORT:
        duty = duty_of_report(req.session, target_id)
        pending_completion(req.session, duty, target_id)  # a handled claim is said to be handled before any reason
        prompt = texts.send_back_question(duty.task.id, duty.unit.name)
    else:
        prompt = texts.refuse_question(target_id)
    req.member.pending = {"action": action, "target_id": target_id,
                          "until": (db_time(req.clock) + timedelta(hours=2)).isoformat()}
    return say(prompt)


def answer_reason(req: Request) -> Reply | None:
    pending = dict(req.member.pending or {})
    if pending.get("action") not in (SEND_BACK_REPORT, RETIRED_SEND_BACK, "refuse"):
        return None
    req.member.pending = {}
    if pending["action"] == RETIRED_SEND_BACK or pending.get("until", "") < db_time(req.clock).isoformat():
        raise ServiceError(texts.QUESTION_TIMED_OUT)
    target = int(pending["target_id"])
    if pending["action"] == SEND_BACK_REPORT:
        duty = duty_of_report(req.session, target)
        send_back(req.session, req.clock, req.member, duty, req.args, report_id=target)
        return say(texts.sent_back(duty.task.id, duty.unit.name))
    decide_extension(req.session, req.clock, req.member, target, approve=False, note=req.args)
    return say(texts.extension_refused(target))
