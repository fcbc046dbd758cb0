"""What the supervision office and leadership do in chat. Each action runs inside one transaction."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Request
from bot.parsing import task_number
from bot.render import LIST_LIMIT, Page, Reply, esc, overdue_table, say, stats_tables, unit_title
from bot.unit_actions import unit_list
from tasks.clock import db_time
from tasks.errors import ServiceError, quoted
from tasks.models import OPEN_STATUSES, AssignmentRole, Role, Unit
from tasks.plan.directory import merge_unit
from tasks.work.duties import Duty, actor_of, find_task, task_open_duties, unit_duties
from tasks.work.lookup import NotFoundError, find_team, find_unit, is_category, latest_plan
from tasks.work.members import ROLE_NAMES, create_invite, members_of, parse_role, revoke_invite, unbind
from tasks.work.progress import Scope, completion_stats, count_open_due, open_duties, unit_scope
from tasks.work.review import (
    assign_unit,
    decide_extension,
    duty_of_report,
    one_reported_duty,
    pending_completion,
    send_back,
    unassign_unit,
    urge,
    verify,
)

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
    if is_category(req.session, text):
        return Scope(category=text)
    raise ServiceError(f"没有找到名为“{quoted(text)}”的单位、工作专班或类别。")


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
    number, note = task_number(req.args, "/approve 延期申请编号", "延期申请编号")
    extension = decide_extension(req.session, req.clock, req.member, number, approve=True, note=note)
    return say(f"已同意延期申请 #{number}，新的完成时限 {extension.new_date.isoformat()}。已通知该单位。")


def refuse_command(req: Request) -> Reply:
    number, note = task_number(req.args, "/refuse 延期申请编号 理由", "延期申请编号")
    decide_extension(req.session, req.clock, req.member, number, approve=False, note=note)
    return say(f"已不同意延期申请 #{number}，并通知该单位。")


def urge_command(req: Request) -> Reply:
    text = req.args.strip()
    if not text:
        raise ServiceError("用法：/urge 任务编号 [说明]，或 /urge 单位名称 [说明]")
    if text.split()[0].lstrip("#").isdigit():
        number, note = task_number(text, "/urge 任务编号 [说明]")
        duties = task_open_duties(req.session, find_task(req.session, number))
    else:
        unit, note = _optional_unit(req, text)
        if unit is None:
            raise ServiceError(f"没有找到单位“{quoted(text.split()[0])}”。用法：/urge 单位名称 [说明]")
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


def _task_and_unit(req: Request, usage: str) -> tuple[int, Unit, str]:
    number, rest = task_number(req.args, usage)
    unit, remainder = _optional_unit(req, rest)
    if unit is None:
        raise ServiceError(f"请写明单位名称。用法：{usage}")
    return number, unit, remainder


def assign_command(req: Request) -> Reply:
    number, unit, rest = _task_and_unit(req, "/assign 任务编号 单位 [牵头]")
    role = AssignmentRole.LEAD if rest.strip() in ("牵头", "lead") else AssignmentRole.CO
    assign_unit(req.session, req.clock, req.member, number, unit, role)
    kind = "牵头" if role == AssignmentRole.LEAD else "配合"
    return say(f"已将{esc(unit.name)}列为任务 <b>{number}</b> 的{kind}单位，重新导入文件不会改变这一安排。")


def unassign_command(req: Request) -> Reply:
    number, unit, _ = _task_and_unit(req, "/unassign 任务编号 单位")
    unassign_unit(req.session, req.clock, req.member, number, unit)
    return say(f"已将{esc(unit.name)}移出任务 <b>{number}</b>，其报送记录保留；重新导入文件不会把它加回来。")


def merge_command(req: Request) -> Reply:
    names = req.args.split()
    if len(names) != 2:
        raise ServiceError("用法：/merge 原名称 并入的单位，如：/merge 区科信局 区科技和信息化局")
    source, target = (find_unit(req.session, name, req.ctx.district) for name in names)
    moved = merge_unit(req.session, req.clock, actor_of(req.member), source, target)
    return say(f"已将“{esc(source.name)}”并入{esc(target.name)}，转入 {moved} 项任务。以后导入的文件中"
               f"“{esc(source.name)}”都按{esc(target.name)}处理。")


def members_command(req: Request) -> Reply:
    """Who is bound, a unit's or everyone's, with the numbers /unbind takes."""
    unit = find_unit(req.session, req.args, req.ctx.district) if req.args.strip() else None
    rows = members_of(req.session, unit)
    if not rows:
        return say(f"{esc(unit.name) if unit else ''}还没有已绑定的成员。")
    page = Page().add(f"<b>已绑定成员</b>{f' · {esc(unit.name)}' if unit else ''}（{len(rows)} 个）")
    for member, unit_name in rows:
        kind = "单位群" if member.user_id is None else ROLE_NAMES[Role(member.role)]
        where = f"，{esc(unit_name)}" if unit_name else ""
        page.add(f"<b>{member.id}</b> {esc(member.name or '未命名')}（{kind}{where}）")
    page.add("解除绑定：/unbind 编号")
    return page.reply()


def unbind_command(req: Request) -> Reply:
    number, _ = task_number(req.args, "/unbind 成员编号", "成员编号")
    member = unbind(req.session, req.clock, actor_of(req.member), Role(req.member.role), number)
    return say(f"已解除 {esc(member.name or member.id)} 的绑定。其报送记录保留；如需重新绑定，请发新的邀请码。")


def revoke_command(req: Request) -> Reply:
    code = req.args.strip()
    if not code:
        raise ServiceError("用法：/revoke 邀请码")
    revoke_invite(req.session, req.clock, actor_of(req.member), code)
    return say(f"已撤销邀请码 <code>{esc(code)}</code>，它不能再用于绑定。")


def stats(req: Request) -> Reply:
    units, teams, total = completion_stats(req.session, req.today)
    return stats_tables(units, teams, total, req.today)


# --- buttons on notifications ---------------------------------------------------------


def verify_button(req: Request, report_id: int) -> Reply:
    duty = duty_of_report(req.session, report_id)
    verify(req.session, req.clock, req.member, duty, report_id)
    return say(f"已审核通过：任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）办结。")


def retired_review_button(_req: Request, _assignment_id: int) -> Reply:
    """审核通过 / 退回 on notifications sent before buttons named their report: which claim they
    meant is not known, so they decide nothing."""
    raise ServiceError("这个按钮来自旧的通知，已失效，没有做任何改动。"
                       "请用 /verify 任务编号 或 /sendback 任务编号 理由 办理。")


def approve_button(req: Request, extension_id: int) -> Reply:
    extension = decide_extension(req.session, req.clock, req.member, extension_id, approve=True)
    return say(f"已同意延期申请 #{extension_id}，新的完成时限 {extension.new_date.isoformat()}。")


# The pending action's name says what its target is: "send_back" named an assignment before the
# 退回 button named its report, and a reason typed for one of those is not applied to a report.
SEND_BACK_REPORT, RETIRED_SEND_BACK = "send_back_report", "send_back"


def ask_reason(req: Request, action: str, target_id: int) -> Reply:
    """退回 / 不同意 need a reason: the next message is it."""
    if action == SEND_BACK_REPORT:
        duty = duty_of_report(req.session, target_id)
        pending_completion(req.session, duty, target_id)  # a handled claim is said to be handled before any reason
        prompt = f"请发送退回任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）的理由。发送“取消”放弃。"
    else:
        prompt = f"请发送不同意延期申请 #{target_id} 的理由。发送“取消”放弃。"
    req.member.pending = {"action": action, "target_id": target_id,
                          "until": (db_time(req.clock) + timedelta(hours=2)).isoformat()}
    return say(prompt)


def answer_reason(req: Request) -> Reply | None:
    pending = dict(req.member.pending or {})
    if pending.get("action") not in (SEND_BACK_REPORT, RETIRED_SEND_BACK, "refuse"):
        return None
    req.member.pending = {}
    if pending["action"] == RETIRED_SEND_BACK or pending.get("until", "") < db_time(req.clock).isoformat():
        raise ServiceError("上一次的操作已超时，请重新点按钮或使用命令。")
    target = int(pending["target_id"])
    if pending["action"] == SEND_BACK_REPORT:
        duty = duty_of_report(req.session, target)
        send_back(req.session, req.clock, req.member, duty, req.args, report_id=target)
        return say(f"已退回任务 <b>{duty.task.id}</b>（{esc(duty.unit.name)}）的办结申请，并通知该单位。")
    decide_extension(req.session, req.clock, req.member, target, approve=False, note=req.args)
    return say(f"已不同意延期申请 #{target}，并通知该单位。")
