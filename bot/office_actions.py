"""What the supervision office and leadership do in chat. Each action runs inside one transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.context import Request
from bot.parsing import task_number
from bot.render import LIST_LIMIT, Reply, esc, overdue_table, say, stats_tables, unit_title
from bot.unit_actions import unit_list
from tasks.clock import db_time
from tasks.duties import Duty, actor_of, find_task, unit_duties
from tasks.errors import ServiceError
from tasks.members import ROLE_NAMES, create_invite, parse_role
from tasks.models import OPEN_STATUSES, Assignment, Role, Task, TaskStatus, Unit
from tasks.queries import NotFoundError, find_team, find_unit, latest_plan
from tasks.review import decide_extension, duty_by_assignment, one_reported_duty, send_back, urge, verify
from tasks.supervision import Scope, completion_stats, count_open_due, open_duties, unit_scope

MAX_DUE_DAYS = 366


def resolve_scope(req: Request, text: str) -> Scope:
    """A unit (or alias), a work team, or a 工作事项/category named after /overdue or /due."""
    text = text.strip()
    if not text:
        return Scope()
    try:
        return unit_scope(req.session, find_unit(req.session, text, req.ctx.district))
    except NotFoundError:
        pass
    try:
        return Scope(team=find_team(req.session, latest_plan(req.session), text))
    except NotFoundError:
        pass
    known = req.session.exec(select(Task.id).where(
        Task.status == TaskStatus.ACTIVE, (col(Task.category) == text) | (col(Task.topic) == text)).limit(1)).first()
    if known is not None:
        return Scope(category=text)
    raise ServiceError(f"没有找到名为“{text}”的单位、工作专班或类别。")


def _scope_title(scope: Scope) -> str:
    if scope.unit is not None:
        return f" · {unit_title(scope)}"
    if scope.team is not None:
        return f" · {scope.team.name}"
    return f" · {scope.category}" if scope.category else ""


def overdue(req: Request) -> Reply:
    scope = resolve_scope(req, req.args)
    duties = open_duties(req.session, before=req.today, scope=scope, limit=LIST_LIMIT)
    total = count_open_due(req.session, before=req.today, scope=scope)
    return overdue_table(duties, req.today, f"逾期未办结{_scope_title(scope)}", total)


def due(req: Request) -> Reply:
    days, rest = 7, req.args.strip()
    first = rest.split(maxsplit=1)
    if first and first[0].isdigit():
        days, rest = int(first[0]), (first[1] if len(first) > 1 else "")
    if not 1 <= days <= MAX_DUE_DAYS:
        raise ServiceError(f"天数应在 1 到 {MAX_DUE_DAYS} 之间，如：/due 14")
    scope = resolve_scope(req, rest)
    window = {"before": req.today + timedelta(days=days + 1), "scope": scope, "since": req.today}
    duties = open_duties(req.session, limit=LIST_LIMIT, **window)
    return overdue_table(duties, req.today, f"{days}天内到期{_scope_title(scope)}",
                         count_open_due(req.session, **window))


def unit_info(req: Request) -> Reply:
    if not req.args.strip():
        raise ServiceError("请写单位名称，如：/unit 区商务局")
    unit = find_unit(req.session, req.args, req.ctx.district)
    return unit_list(req, unit)


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
    number, rest = task_number(req.args, "/verify 任务编号 [单位]")
    unit, _ = _optional_unit(req, rest)
    duty = one_reported_duty(req.session, number, unit)
    verify(req.session, req.clock, req.member, duty)
    return say(f"已审核通过：任务 <b>{number}</b>（{esc(duty.unit.name)}）办结。已通知该单位。")


def send_back_command(req: Request) -> Reply:
    number, rest = task_number(req.args, "/sendback 任务编号 [单位] 理由")
    unit, reason = _optional_unit(req, rest)
    duty = one_reported_duty(req.session, number, unit)
    send_back(req.session, req.clock, req.member, duty, reason)
    return say(f"已退回任务 <b>{number}</b>（{esc(duty.unit.name)}）的办结申请，并通知该单位。")


def approve_command(req: Request) -> Reply:
    number, note = task_number(req.args, "/approve 延期申请编号")
    extension = decide_extension(req.session, req.clock, req.member, number, approve=True, note=note)
    return say(f"已同意延期申请 #{number}，新的完成时限 {extension.new_date.isoformat()}。已通知该单位。")


def refuse_command(req: Request) -> Reply:
    number, note = task_number(req.args, "/refuse 延期申请编号 理由")
    decide_extension(req.session, req.clock, req.member, number, approve=False, note=note)
    return say(f"已不同意延期申请 #{number}，并通知该单位。")


def urge_command(req: Request) -> Reply:
    text = req.args.strip()
    if not text:
        raise ServiceError("用法：/urge 任务编号 [说明]，或 /urge 单位名称 [说明]")
    if text.split()[0].lstrip("#").isdigit():
        number, note = task_number(text, "/urge 任务编号 [说明]")
        task = find_task(req.session, number)
        rows = req.session.exec(select(Assignment, Unit).join(Unit, col(Unit.id) == Assignment.unit_id).where(
            Assignment.task_id == task.id, col(Assignment.status).in_(OPEN_STATUSES))).all()
        duties = [Duty(a, task, u) for a, u in rows]
    else:
        unit, note = _optional_unit(req, text)
        if unit is None:
            raise ServiceError(f"没有找到单位“{text.split()[0]}”。用法：/urge 单位名称 [说明]")
        scope = unit_scope(req.session, unit)
        if scope.is_group:  # each member with open tasks hears of its own
            duties = [d for member_id in scope.members for d in unit_duties(req.session, member_id)]
            if not any(d.assignment.status in OPEN_STATUSES for d in duties):
                raise ServiceError(f"{unit_title(scope)}没有需要催办的未办结任务。")
            units = urge(req.session, req.clock, req.member, duties, note)
            return say(f"已催办 {esc(unit_title(scope))}中的 {units} 个单位，共 {_open_count(duties)} 项任务。")
        duties = unit_duties(req.session, unit.id)
    units = urge(req.session, req.clock, req.member, duties, note)
    return say(f"已催办 {units} 个单位，共 {_open_count(duties)} 项任务。")


def _open_count(duties: list[Duty]) -> int:
    return len([d for d in duties if d.assignment.status in OPEN_STATUSES])


def invite_command(req: Request) -> Reply:
    words = req.args.split()
    if not words:
        raise ServiceError("用法：/invite 单位名称 [角色]，或 /invite 办公室；角色可选：成员、办公室、领导")
    role, unit = Role.MEMBER, None
    for word in words:
        try:
            role = parse_role(word)
            continue
        except ServiceError:
            pass
        unit = find_unit(req.session, word, req.ctx.district)
    invite = create_invite(req.session, req.clock, actor_of(req.member), role, unit,
                           inviter_role=Role(req.member.role))
    link = f"https://t.me/{req.ctx.bot_username}?start={invite.code}" if req.ctx.bot_username else ""
    expires = invite.expires_at.astimezone(req.ctx.timezone).strftime("%Y-%m-%d %H:%M")
    target = f"{unit.name} " if unit else ""
    lines = [f"邀请码（{esc(target)}{ROLE_NAMES[role]}，一次有效，{expires} 前使用）：",
             f"<code>/start {invite.code}</code>"]
    if link:
        lines.append(f"或打开链接：{esc(link)}")
    return say("\n".join(lines))


def stats(req: Request) -> Reply:
    units, teams, total = completion_stats(req.session, req.today)
    return stats_tables(units, teams, total, req.today)


# --- buttons on notifications ---------------------------------------------------------


def verify_button(req: Request, assignment_id: int) -> Reply:
    duty = duty_by_assignment(req.session, assignment_id)
    verify(req.session, req.clock, req.member, duty)
    return say(f"已审核通过：任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）办结。")


def approve_button(req: Request, extension_id: int) -> Reply:
    extension = decide_extension(req.session, req.clock, req.member, extension_id, approve=True)
    return say(f"已同意延期申请 #{extension_id}，新的完成时限 {extension.new_date.isoformat()}。")


def ask_reason(req: Request, action: str, target_id: int) -> Reply:
    """退回 / 不同意 need a reason: the next message is it."""
    if action == "send_back":
        duty = duty_by_assignment(req.session, target_id)
        prompt = f"请发送退回任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）的理由。发送“取消”放弃。"
    else:
        prompt = f"请发送不同意延期申请 #{target_id} 的理由。发送“取消”放弃。"
    req.member.pending = {"action": action, "target_id": target_id,
                          "until": (db_time(req.clock) + timedelta(hours=2)).isoformat()}
    return say(prompt)


def answer_reason(req: Request) -> Reply | None:
    pending = dict(req.member.pending or {})
    if pending.get("action") not in ("send_back", "refuse"):
        return None
    req.member.pending = {}
    if pending.get("until", "") < db_time(req.clock).isoformat():
        raise ServiceError("上一次的操作已超时，请重新点按钮或使用命令。")
    target = int(pending["target_id"])
    if pending["action"] == "send_back":
        duty = duty_by_assignment(req.session, target)
        send_back(req.session, req.clock, req.member, duty, req.args)
        return say(f"已退回任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）的办结申请，并通知该单位。")
    decide_extension(req.session, req.clock, req.member, target, approve=False, note=req.args)
    return say(f"已不同意延期申请 #{target}，并通知该单位。")
