"""What the bot says in chat, in one place, so a reviewer can read every reply together.

One constant per fixed text, one small function per text with blanks. Text from a person or a
document goes into a reply only through ``esc`` (Telegram HTML); the functions here escape
what they are given, so a caller passes plain values.

Not here: the domain's refusals (``ServiceError`` messages raised in ``tasks/``: a wrong task
number, a date outside the plan, a claim already handled …) stay where they are raised, beside
the rule they state; the wording of notifications, and of lists, cards and tables, is laid out
by their renderers in ``bot/render.py`` (one renderer per notification kind, in its RENDERERS
table); the CLI's own messages are in ``bot/cli.py``.
"""

from __future__ import annotations

import html
from datetime import date

from tasks.models import AssignmentStatus, ReportKind, ReviewStatus, TaskKind


def esc(text: object) -> str:
    """``text`` safe to put into a Telegram HTML message as it is."""
    return html.escape(str(text), quote=False)


# --- who may do what (bot/handlers.py) ---------------------------------------------------------

UNBOUND = ("您好！这里是支援合作工作督办助手。\n您还没有绑定身份，暂时不能查看或办理任务。"
           "请向督办办公室（领导小组办公室）索取邀请码，然后发送：\n<code>/start 邀请码</code>")
UNBOUND_GROUP = "本群尚未绑定责任单位。请单位管理员向督办办公室索取邀请码，在群里发送：<code>/start 邀请码</code>"
NO_UNIT = "您的账号没有关联责任单位，请联系督办办公室。"
HANDLER_FAILED = "抱歉，处理这条消息时出错了，没有做任何改动。请稍后再试。"
BUTTON_EXPIRED = "这个按钮已失效。"
EDIT_NOT_TAKEN = "修改过的消息不会再执行一次，已办理的内容也不会随之改变。如需再办理，请重新发送一条消息。"
NOT_UNDERSTOOD = "没有看懂这条消息。发送“帮助”或 /help 查看可用命令。"
CANCELLED = "已取消。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
CANCEL_WORD = "取消"
# What a refused action is called in "您的身份是…，不能使用…".
THIS_MESSAGE = "这条消息"
EVIDENCE = "证明材料"
THIS_BUTTON = "这个按钮"


def not_allowed(role: str, what: str) -> str:
    return f"您的身份是“{role}”，不能使用{esc(what)}。发送 /help 查看您可以使用的命令。"


def unknown_command(name: str) -> str:
    return f"没有 {esc(name)} 这个命令。发送 /help 查看可用命令。"


# --- binding and help ---------------------------------------------------------------------------

HELP_MENU_ENTRY = "帮助"
HELP_FILES = "也可以直接发送照片或文件作为证明材料，在说明里写任务编号，如 <code>#12</code>。"
HELP_HELP = "/help — 查看本帮助（也可发送“帮助”）"
# A unit's group chat while the bot hears only what is meant for it (Telegram's privacy mode).
HELP_FILES_GROUP = ("在群里发送照片或文件作证明材料：<b>回复</b>机器人的消息发送，"
                    "说明里写任务编号，如 <code>#12</code>。")
HELP_HELP_GROUP = "/help — 查看本帮助"
GROUP_PRIVACY = ("在群里，机器人只收到命令（如 /mytasks）、对它消息的回复和按钮点击；直接发送“我的任务”这样的文字，"
                 "Telegram 不会转给它（隐私模式）。要让群里的文字也管用，请群主把机器人设为群管理员，或由机器人的管理员"
                 "在 BotFather 用 /setprivacy 关闭隐私模式（关闭后把机器人移出本群再重新拉入）。")


def help_head(role: str) -> str:
    return f"您的身份：<b>{role}</b>。可以使用："


def help_line(name: str, description: str, word: str | None) -> str:
    words = f"（也可发送“{word}”）" if word else ""
    return f"/{name} — {esc(description)}{words}"


def bound(role: str, unit: str | None) -> str:
    where = f"，单位：<b>{esc(unit)}</b>" if unit else ""
    return f"绑定成功！身份：<b>{role}</b>{where}。"


# --- photos and files as evidence ---------------------------------------------------------------

PHOTO_NAME = "照片.jpg"
FILE_NAME = "文件"
NO_FILE = "没有收到文件。"
EVIDENCE_NEEDS_TASK = "请在图片或文件的说明里写上任务编号，如：#12 签约现场照片；或先在任务上点“报进展”再发送。"


def file_kind_refused(name: str) -> str:
    return f"不支持“{esc(name)}”这种文件。证明材料请用 PDF、Word、Excel、PPT、图片或压缩包。"


def file_on_other_platform(name: str, platform: str) -> str:
    return (f"证明材料“{esc(name or FILE_NAME)}”是在{platform}上发送的，本进程没有连接{platform}，"
            f"请在网页版或{platform}中查看。")


def file_too_large(size_bytes: int) -> str:
    return f"文件过大（{size_bytes / 1024 / 1024:.1f} MB），请压缩到 20 MB 以内再发送。"


# --- a unit's work (bot/unit_actions.py) --------------------------------------------------------

REPORT_KINDS = {ReportKind.PROGRESS: "进展", ReportKind.COMPLETION: "办结申请", ReportKind.EVIDENCE: "证明材料"}
REVIEW_MARKS = {ReviewStatus.ACCEPTED: "（已审核通过）", ReviewStatus.SENT_BACK: "（已退回）",
                ReviewStatus.PENDING: "（待审核）"}
USAGE_TASK = "/task 编号"
USAGE_REPORT = "/report 编号 [百分比%] 进展情况，如 /report 12 60% 已完成方案初稿"
USAGE_DONE = "/done 编号 办结说明，如 /done 12 已签订协议"
USAGE_EXTEND = "/extend 编号 新日期 理由，如 /extend 12 2021-11-30 等待上级批复"
PROGRESS_NEEDS_TEXT = "请写明进展情况，如：/report 12 60% 已完成方案初稿"
QUESTION_TIMED_OUT = "上一次的操作已超时，请重新点按钮或使用命令。"
# What a button's question asks; {n} is the task number.
QUESTIONS = {
    "progress": ("请发送任务 <b>{n}</b> 的进展情况（可写百分比，如：60% 已完成方案初稿；"
                 "也可以直接发送照片或文件作为证明材料）。发送“取消”放弃。"),
    "completion": "请发送任务 <b>{n}</b> 的办结说明（如：已签订帮扶协议），也可附照片或文件。发送“取消”放弃。",
    "extension": "请发送新的完成日期和理由，如：<code>2021-11-30 等待上级批复</code>。发送“取消”放弃。",
}


# In a group the bot hears an answer only as a reply to its question (Telegram's privacy mode).
QUESTION_IN_GROUP = "在群里请<b>回复这条消息</b>作答。"


def question(action: str, task_id: int, task_text: str, *, in_group: bool = False) -> str:
    asked = QUESTIONS[action].format(n=task_id) + (QUESTION_IN_GROUP if in_group else "")
    return asked + f"\n任务：{esc(task_text[:60])}"


def history_line(when: str, unit: str, author: str, kind: ReportKind, review_status: ReviewStatus | None,
                 percent: int | None, text: str, files: int, review_note: str) -> str:
    """One line of a task card's history: plain text (the card escapes it)."""
    percent_text = f" {percent}%" if percent is not None else ""
    files_text = f" [附件{files}]" if files else ""
    review = REVIEW_MARKS[review_status] if review_status else ""
    note = f" 退回理由：{review_note}" if review_note else ""
    return f"{when} {unit} {author} {REPORT_KINDS[kind]}{review}{percent_text}：{text}{files_text}{note}"


def unit_open_list_title(unit_title: str) -> str:
    return f"{unit_title} 未办结任务"


def progress_recorded(task_id: int, files: int) -> str:
    files_text = f"，证明材料 {files} 份" if files else ""
    return f"已记录任务 <b>{task_id}</b> 的进展{files_text}。"


def completion_submitted(task_id: int) -> str:
    return f"已提交任务 <b>{task_id}</b> 的办结申请，等待督办办公室审核。"


def extension_submitted(extension_id: int | None, task_id: int, new_date: date) -> str:
    return (f"已提交延期申请 #{extension_id}：任务 <b>{task_id}</b> 申请延至 {new_date.isoformat()}，"
            "等待督办办公室审批。")


# --- the office's work (bot/office_actions.py) --------------------------------------------------

USAGE_VERIFY = "/verify 任务编号 [单位]"
USAGE_SEND_BACK = "/sendback 任务编号 [单位] 理由"
USAGE_APPROVE = "/approve 延期申请编号"
USAGE_REFUSE = "/refuse 延期申请编号 理由"
USAGE_URGE = "用法：/urge 任务编号 [说明]，或 /urge 单位名称 [说明]"
USAGE_URGE_TASK = "/urge 任务编号 [说明]"
USAGE_INVITE = "用法：/invite 单位名称 [角色]，或 /invite 办公室；角色可选：成员、办公室、领导"
USAGE_ASSIGN = "/assign 任务编号 单位 [牵头]"
USAGE_UNASSIGN = "/unassign 任务编号 单位"
USAGE_MERGE = "用法：/merge 原名称 并入的单位，如：/merge 区科信局 区科技和信息化局"
USAGE_UNBIND = "/unbind 成员编号"
USAGE_REVOKE = "用法：/revoke 邀请码"
UNIT_NEEDED = "请写单位名称，如：/unit 区商务局"
EXTENSION_NUMBER = "延期申请编号"
MEMBER_NUMBER = "成员编号"
LEAD_WORDS = ("牵头", "lead")  # after /assign: the unit leads the task
RETIRED_REVIEW_BUTTON = ("这个按钮来自旧的通知，已失效，没有做任何改动。"
                         "请用 /verify 任务编号 或 /sendback 任务编号 理由 办理。")
GROUP_CHAT = "单位群"
UNNAMED = "未命名"
UNBIND_HINT = "解除绑定：/unbind 编号；登记成员手机号：/mobile 编号 号码"


def nothing_named(name: str) -> str:
    return f"没有找到名为“{name}”的单位、工作专班或类别。"


def due_days_out_of_range(most: int) -> str:
    return f"天数应在 1 到 {most} 之间，如：/due 14"


def overdue_title(scope: str) -> str:
    return f"逾期未办结{scope}"


def due_title(days: int, scope: str) -> str:
    return f"{days}天内到期{scope}"


def verified(task_id: int | None, unit: str, *, unit_told: bool) -> str:
    told = "已通知该单位。" if unit_told else ""
    return f"已审核通过：任务 <b>{task_id}</b>（{esc(unit)}）办结。{told}"


def sent_back(task_id: int | None, unit: str) -> str:
    return f"已退回任务 <b>{task_id}</b>（{esc(unit)}）的办结申请，并通知该单位。"


def extension_approved(extension_id: int, new_date: date, *, unit_told: bool) -> str:
    told = "已通知该单位。" if unit_told else ""
    return f"已同意延期申请 #{extension_id}，新的完成时限 {new_date.isoformat()}。{told}"


def extension_refused(extension_id: int) -> str:
    return f"已不同意延期申请 #{extension_id}，并通知该单位。"


def no_such_unit_to_urge(name: str) -> str:
    return f"没有找到单位“{name}”。用法：/urge 单位名称 [说明]"


def nothing_to_urge_in_group(group_title: str) -> str:
    return f"{group_title}没有需要催办的未办结任务。"


def urged_group(group_title: str, units: int, duties: int) -> str:
    return f"已催办 {esc(group_title)}中的 {units} 个单位，共 {duties} 项任务。"


def urged(units: int, duties: int) -> str:
    return f"已催办 {units} 个单位，共 {duties} 项任务。"


def invite_lines(unit: str | None, role: str, expires: str, code: str, link: str) -> list[str]:
    target = f"{unit} " if unit else ""
    lines = [f"邀请码（{esc(target)}{role}，一次有效，{expires} 前使用）：", f"<code>/start {code}</code>"]
    if link:
        lines.append(f"或打开链接：{esc(link)}")
    return lines


def unit_needed(usage: str) -> str:
    return f"请写明单位名称。用法：{usage}"


def assigned(unit: str, task_id: int, *, lead: bool) -> str:
    kind = "牵头" if lead else "配合"
    return f"已将{esc(unit)}列为任务 <b>{task_id}</b> 的{kind}单位，重新导入文件不会改变这一安排。"


def unassigned(unit: str, task_id: int) -> str:
    return f"已将{esc(unit)}移出任务 <b>{task_id}</b>，其报送记录保留；重新导入文件不会把它加回来。"


def merged(source: str, target: str, moved: int) -> str:
    return (f"已将“{esc(source)}”并入{esc(target)}，转入 {moved} 项任务。以后导入的文件中"
            f"“{esc(source)}”都按{esc(target)}处理。")


def no_members(unit: str | None) -> str:
    return f"{esc(unit) if unit else ''}还没有已绑定的成员。"


def members_title(unit: str | None, count: int) -> str:
    return f"<b>已绑定成员</b>{f' · {esc(unit)}' if unit else ''}（{count} 个）"


def member_line(member_id: int | None, name: str, kind: str, unit: str | None, mobile: str | None = None) -> str:
    where = f"，{esc(unit)}" if unit else ""
    phone = f" · 手机 {esc(mobile)}" if mobile else ""
    return f"<b>{member_id}</b> {esc(name or UNNAMED)}（{kind}{where}）{phone}"


def unbound_member(name: object) -> str:
    return f"已解除 {esc(name)} 的绑定。其报送记录保留；如需重新绑定，请发新的邀请码。"


def invite_revoked(code: str) -> str:
    return f"已撤销邀请码 <code>{esc(code)}</code>，它不能再用于绑定。"


def send_back_question(task_id: int | None, unit: str) -> str:
    return f"请发送退回任务 <b>{task_id}</b>（{esc(unit)}）的理由。发送“取消”放弃。"


def refuse_question(extension_id: int) -> str:
    return f"请发送不同意延期申请 #{extension_id} 的理由。发送“取消”放弃。"


# --- a person's mobile number, for the group robots' @ (bot/mobile_actions.py) -----------------

MOBILE_WHY = "钉钉、企业微信的群机器人在群里发提醒和周报时会 @ 您。"


def mobile_kept(masked: str | None) -> str:
    if masked is None:
        return ("您还没有登记手机号。登记后，" + MOBILE_WHY
                + "\n登记：发送“手机 13800000000”（换成您的号码）。")
    return (f"您登记的手机号：{esc(masked)}。{MOBILE_WHY}"
            "\n更改：发送“手机 新号码”；删除：发送“手机 删除”。")


def mobile_set(whose: str | None, masked: str) -> str:
    if whose is None:
        return f"已登记您的手机号 {esc(masked)}。{MOBILE_WHY}删除：发送“手机 删除”。"
    return f"已登记 {esc(whose)} 的手机号 {esc(masked)}，群机器人发通知时会 @ 其本人。"


def mobile_cleared(whose: str | None) -> str:
    if whose is None:
        return "已删除您登记的手机号，群机器人不再 @ 您。"
    return f"已删除 {esc(whose)} 登记的手机号。"


# --- the command menu (bot/commands.py): what each command does, as /help and the menu say -----

COMMAND_DESCRIPTIONS = {
    "mytasks": "我的任务：本单位未办结的任务",
    "task": "任务详情：/task 编号",
    "report": "报进展：/report 编号 [百分比%] 进展",
    "done": "申请办结：/done 编号 说明",
    "extend": "申请延期：/extend 编号 新日期 理由",
    "milestone": "报告节点达成：/milestone 编号 开工|完工|节点序号",
    "overdue": "逾期任务：/overdue [单位|专班|类别]",
    "due": "即将到期：/due [天数] [单位|专班|类别]",
    "unit": "单位任务：/unit 单位名称",
    "stats": "完成情况：按单位和工作专班统计",
    "export": "导出台账（Excel）：/export [单位|专班|状态]",
    "pending": "待审核：办结申请和延期申请，先提交的在前",
    "verify": "审核通过：/verify 任务编号 [单位]",
    "sendback": "退回办结：/sendback 任务编号 [单位] 理由",
    "approve": "同意延期：/approve 申请编号",
    "refuse": "不同意延期：/refuse 申请编号 理由",
    "urge": "催办：/urge 任务编号或单位 [说明]",
    "invite": "生成邀请码：/invite 单位 [角色]",
    "assign": "增加责任单位：/assign 任务编号 单位 [牵头]",
    "unassign": "移出责任单位：/unassign 任务编号 单位",
    "merge": "合并单位名称：/merge 原名称 并入的单位",
    "revoke": "撤销未用的邀请码：/revoke 邀请码",
    "members": "已绑定成员：/members [单位]",
    "unbind": "解除绑定：/unbind 成员编号",
    "departments": "通讯录部门：/departments 列出；/departments 部门 单位 映射；/departments 部门 取消",
    "mobile": "手机号（群机器人 @ 您）：/mobile 号码，/mobile 删除；督办办公室可加成员编号：/mobile 编号 号码",
    "web": "网页版：获取网页版的登录链接（10分钟内有效，只能用一次）",
}

# --- the web desk (bot/web) ----------------------------------------------------------------------

DESK_OFF = "网页版没有开启：请管理员在配置文件的 [web] 中设置 enabled = true 后重启 taskbot run。"
DESK_LINK_PRIVATE_ONLY = "登录链接只在私聊中发送：群里的人都能点开它。请私聊机器人发送 /web。"
DESK_LINK_SPENT = "这个登录链接已用过、已过期或已失效：请在聊天中发送 /web 获取新的链接。"


def desk_link(url: str, minutes: int) -> str:
    return (f"网页版登录链接（{minutes}分钟内有效，只能用一次，请勿转发）：\n{url}\n"
            "在浏览器中打开，点“进入”即可。")


# --- lists, cards and notifications (bot/render.py): the fixed words among their layout ---------

STATUS_NAMES = {AssignmentStatus.OPEN: "办理中", AssignmentStatus.REPORTED: "待审核", AssignmentStatus.DONE: "已办结",
                AssignmentStatus.WITHDRAWN: "已撤销"}
TASK_KIND_NAMES = {TaskKind.WORKPOINT: "工作要点", TaskKind.TASK: "任务", TaskKind.PROJECT: "项目"}
BUTTON_PROGRESS = "报进展"
BUTTON_DONE = "办结"
BUTTON_EXTEND = "申请延期"
BUTTON_VERIFY = "审核通过"
BUTTON_SEND_BACK = "退回"
BUTTON_APPROVE = "同意"
BUTTON_REFUSE = "不同意"
NO_OPEN_DUTIES = "没有未办结的任务。"
NO_MATCHING_DUTIES = "没有符合条件的任务。"
OPEN_ONES_FIRST = "先办理这些，办结后会显示后面的任务。"
OPEN_A_CARD = "发送 <code>/task 编号</code> 查看详情并办理，或点下面的编号。"
NARROW_OVERDUE = "可按单位、工作专班或类别筛选，如 /overdue 区商务局。"
OVERDUE_ADVICE = "请尽快办理并报送进展；确需延期请点“申请延期”。"
TAP_A_NUMBER = "点任务编号查看详情并办理："
TAP_A_NUMBER_TO_ACT = "点任务编号查看详情并办理（报进展 · 办结 · 申请延期）"
TAP_A_NUMBER_OR_TYPE = "点任务编号查看详情并办理；其余任务发送 <code>/task 编号</code> 办理。"
ESCALATION_HINT = "点单位查看其逾期事项；<code>/urge 单位</code> 催办。"
ESCALATION_TO_OFFICE = "逾期任务督办清单"
ESCALATION_TO_LEADERSHIP = "逾期事项报分管领导"


# --- the office's lists on a phone (bot/office_lists.py): every line within a phone's width ---

STATS_TITLE = "完成情况统计"
TAP_A_UNIT = "点单位查看它的事项："
TAP_A_NAME = "点名称查看未办结事项："
WAITING_MARK = "[待审核]"
BUTTON_EVERY_ITEM = "逐项查看"
BUTTON_ALL_TEAMS = "全部专班"
BUTTON_ALL_UNITS = "全部单位"
BUTTON_ALL_OVERDUE = "全部逾期事项"


LONGEST_OVERDUE = "逾期最久的事项"
PENDING_TITLE = "待审核"
NOTHING_PENDING = "没有待审核的办结申请或延期申请。"
TAP_TO_DECIDE = "点编号打开申请，审核或决定："
BUTTON_TASK_CARD = "任务详情"


def extended_from(document: date | None) -> str:
    return f"（已批准延期；文件原定 {document.isoformat() if document else '无固定时限'}）"


def units_extended(count: int) -> str:
    return f"其中 {count} 个单位已批准延期，以各单位的时限为准。"


def units_done(done: int, total: int) -> str:
    return f"<b>{done}/{total} 单位已办结</b>" + ("，未办结：" if done < total else "")


def evidence_button(files: int) -> str:
    return f"查看证明材料（{files}）"


def evidence_head(task_id: int, unit: str, files: int, sent: int) -> str:
    shown = f"，这里发送最新的 {sent} 份" if sent < files else ""
    return f"📎 任务 <b>{task_id}</b>（{esc(unit)}）的证明材料 {files} 份{shown}："


def pending_heading(total: int, page: int, pages: int) -> str:
    return f"共 {total} 项，先提交的在前" + (f"\n第{page}/{pages}页" if pages > 1 else "")


def days_ago(days: int) -> str:
    return "今天" if days <= 0 else f"{days}天前"


def ledger_caption(title: str, tasks: int, rows: int) -> str:
    """Plain text: a file's caption is sent without markup."""
    return f"台账：{title}\n{tasks} 项任务，{rows} 行（每个责任单位一行）"


def digest_chart_caption(week_of: date) -> str:
    return f"周报图表（{week_of.isoformat()}）：按专班或单位的完成情况，逐周逾期趋势"


def ledger_coming(narrowed: str) -> str:
    return f"📎 正在生成台账{f'（{esc(narrowed)}）' if narrowed else ''}，生成后以文件发到这里。"


# The week's digest is named after the year's document (its title), never after a fixed topic.
DIGEST_HEAD = "周报"
DIGEST_UNTITLED = "本年度工作要点"


def digest_week(done: int, overdue: int) -> str:
    return f"本周：办结 +{done} · 逾期 +{overdue}"


def worst_heading(count: int, what: str) -> str:
    return f"最差的 {count} 个{what}"


def silent_heading(days: int, units: int) -> str:
    return f"{days}天未报送进展：{units} 个单位"


def open_list_title(scope: str) -> str:
    return f"未办结任务{scope}"


def units_in_list(total: int, units: int) -> str:
    return f"共 {total} 项，涉及 {units} 个单位"


def by_unit_heading(page: int, pages: int) -> str:
    return "按单位，多的在前" + (f"（第{page}/{pages}页）" if pages > 1 else "")


def items_heading(total: int, page: int, pages: int) -> str:
    return f"共 {total} 项，先到期的在前" + (f"\n第{page}/{pages}页" if pages > 1 else "")


def stats_total(total: int, done: int, rate: float, reported: int, overdue: int) -> str:
    return f"合计 {total} 项分工，已办结 {done}（{rate:.0%}）\n待审核 {reported} · 逾期 {overdue}"


def worst_teams_heading(shown: int, teams: int) -> str:
    return f"<b>最差的 {shown} 个专班</b>（共 {teams} 个）"


def teams_heading(count: int, page: int, pages: int) -> str:
    return f"<b>按工作专班</b>（{count} 个，最差在前）" + (f"\n第{page}/{pages}页" if pages > 1 else "")


def units_heading(count: int, page: int, pages: int) -> str:
    return f"<b>按单位</b>（{count} 个，最差在前）" + (f"\n第{page}/{pages}页" if pages > 1 else "")


def more_units(count: int) -> str:
    return f"另有 {count} 个单位，点“全部逾期事项”查看。"


def more_than_shown(total: int, shown: int, hint: str) -> str | None:
    """Said under a list cut short; None when nothing was left out."""
    return f"共 {total} 项，这里显示最早的 {shown} 项。{hint}" if total > shown else None


def more_in_my_tasks(count: int) -> str:
    return f"另有 {count} 项未列出，发送“我的任务”查看全部。"


def duty_unplannable(task_line: str, unit: str, due_on: object) -> str:
    """``task_line``: the task's number and summary, already HTML."""
    return (f"⚠️ <b>自动提醒已暂停</b>：{task_line}（{esc(unit)}）的完成时限 {esc(due_on or '无')} "
            "无法排出提醒和逾期督办。其他任务照常提醒。请核对该任务的完成时限（如延期日期）；时限改正后自动恢复。")


def notification_undeliverable(member: str) -> str:
    return (f"⚠️ <b>消息未能送达</b>：发给 {esc(member)} 的一条通知无法发送，已跳过，"
            "其他通知照常发送。请运维人员用 <code>taskbot outbox --status dead</code> 查看原因。")


def member_unreachable(member: str, unit: str) -> str:
    where = f"（{esc(unit)}）" if unit else ""
    return (f"⚠️ <b>无法送达</b>：{esc(member)}{where} 已屏蔽或删除了督办助手，后续提醒无法送达，"
            "请电话联系并请其重新绑定。")


# --- a project's milestones (tasks/work/milestones.py): reported reached, reminded, escalated ---------

USAGE_MILESTONE = "/milestone 编号 节点，如 /milestone 41 开工"
MILESTONE_GONE = "该节点已不在文件中（已重新导入），请发送 /task 编号 查看任务现在的节点。"
# What the button of each fixed milestone says; an inline stage's says 节点已完成 with its words.
MILESTONE_BUTTONS = {"start": "已开工", "complete": "已完工"}
MILESTONE_BUTTON_INLINE = "节点已完成"
BUTTON_OPEN_CARD = "打开任务"


def milestone_recorded(task_id: int, label: str, day: object) -> str:
    return f"✅ 已记录：任务 {task_id} 的“{esc(label)}”节点于 {esc(day)} 达成，已告知督办办公室，不再提醒该节点。"


def milestone_state(reached_on: object | None, overdue_days: int) -> str:
    """已达成（日期）, 逾期N天 or 未到: what a card says of one milestone."""
    if reached_on is not None:
        return f"✅已达成（{esc(reached_on)}）"
    return f"🔴逾期{overdue_days}天" if overdue_days > 0 else "未到"


FIXED_MILESTONES = ("开工", "完工")


def _milestone_plan(label: str, task_id: int, due: object) -> tuple[str, str]:
    """(the head's title, what is planned): 开工 and 完工 name a project's; a stage says its own words."""
    if label in FIXED_MILESTONES:
        return f"{label}节点", f"项目 <b>{task_id}</b> 计划 {esc(due)} {label}"
    return "节点", f"任务 <b>{task_id}</b> 计划 {esc(due)} 完成“{esc(label)}”"


def milestone_reminder_head(label: str, task_id: int, due: object, days_left: int) -> str:
    """⏰ 开工节点提醒：项目 41 计划 2021-06-01 开工（还有5天）"""
    title, planned = _milestone_plan(label, task_id, due)
    when = "今天" if days_left <= 0 else f"还有{days_left}天"
    return f"⏰ <b>{title}提醒</b>：{planned}（{when}）"


def milestone_overdue_head(label: str, task_id: int, due: object, days: int | None) -> str:
    """🔴 开工节点逾期：项目 41 计划 2021-06-01 开工，已逾期 3 天"""
    title, planned = _milestone_plan(label, task_id, due)
    return f"🔴 <b>{title}逾期</b>：{planned}，已逾期 {days} 天"


MILESTONE_ADVICE = "已达成请点下方按钮报告；未达成请报进展说明原因。"


def milestone_reached_head(label: str, unit: str, author: str) -> str:
    return f"🏗 <b>节点达成</b>：{esc(label)}（{esc(unit)}，{esc(author)}）"


# --- a platform's directory: departments mapped to units, binding by department (bot/departments.py) --

CHANNEL_WITHOUT_DIRECTORY = {
    "telegram": "Telegram 没有组织通讯录，不能按部门绑定：在 Telegram 上请用邀请码绑定（/invite）。",
    "wecom": "企业微信的智能机器人不提供组织通讯录，不能按部门绑定：在企业微信上请用邀请码绑定（/invite）。",
}
USAGE_DEPARTMENTS = ("用法：发送“部门”列出通讯录的部门；“部门 部门名或编号 单位名”把部门映射到单位；"
                     "“部门 部门名或编号 取消”取消映射。")
DEPARTMENT_UNMAP_WORD = "取消"
DEPARTMENTS_HINT = ("映射：<code>部门 部门名或编号 单位名</code>；取消：<code>部门 部门名或编号 取消</code>。\n"
                    "映射后，该部门及其下属部门（另行映射的除外）的人第一次给机器人发消息时自动绑定为该单位的责任单位成员。")
# What a mapping change never does: the office unbinds on purpose.
MAPPING_MOVES_NOBODY = "已绑定的人不随映射改变；如需调整，请用 /members 查看并 /unbind 解除绑定。"
UNBOUND_BY_OFFICE = ("您的绑定已由督办办公室解除，不会再按通讯录部门自动绑定。"
                     "如需继续使用，请向督办办公室索取邀请码，然后发送：<code>绑定 邀请码</code>")


def no_directory(channel: str) -> str:
    return CHANNEL_WITHOUT_DIRECTORY.get(channel, "这个平台没有组织通讯录，请用邀请码绑定（/invite）。")


def departments_title(platform: str, count: int) -> str:
    return f"<b>{esc(platform)}通讯录的部门</b>（共 {count} 个）："


def department_line(depth: int, department_id: str, name: str, unit: str | None,
                    follows: tuple[str, str] | None = None) -> str:
    """``follows``: (department, unit) of the mapping above it that a department without its own follows."""
    if unit:
        mapped = f"→ <b>{esc(unit)}</b>"
    else:
        mapped = f"（随 {esc(follows[0])} → {esc(follows[1])}）" if follows else "→ 未映射"
    return f"{'　' * depth}{esc(name)}（编号 {esc(department_id)}）{mapped}"


def department_gone_line(department_id: str, name: str, unit: str) -> str:
    return f"{esc(name)}（编号 {esc(department_id)}，通讯录中已没有）→ <b>{esc(unit)}</b>"


NO_DEPARTMENTS = "通讯录中没有可见的部门：请管理员检查应用的通讯录权限范围。"


def unknown_department(platform: str, name: str) -> str:
    return f"{platform}通讯录中没有部门“{name}”。发送“部门”查看部门及其编号。"


def department_ambiguous(name: str, ids: list[str]) -> str:
    return f"通讯录中有 {len(ids)} 个部门叫“{name}”（编号 {'、'.join(ids)}），请写编号。"


def department_mapped(department: str, unit: str, before: str | None) -> str:
    if before == unit:
        return f"部门“{esc(department)}”已映射到单位“{esc(unit)}”，无需改动。"
    was = f"（原映射到“{esc(before)}”）" if before else ""
    return (f"已将部门“{esc(department)}”映射到单位“<b>{esc(unit)}</b>”{was}。该部门的人第一次给机器人发消息时"
            f"将自动绑定为{esc(unit)}的责任单位成员；下属部门随之，另行映射的除外。{MAPPING_MOVES_NOBODY}")


def department_unmapped(department: str, unit: str) -> str:
    return (f"已取消部门“{esc(department)}”到单位“{esc(unit)}”的映射：该部门的新成员随上级部门的映射，"
            "没有则需用邀请码绑定。"
            f"{MAPPING_MOVES_NOBODY}")


def bound_by_department(unit: str, role: str) -> str:
    return f"您所在的通讯录部门已映射到单位，已自动绑定：您现在是<b>{esc(unit)}的{role}</b>。"


def several_units(units: tuple[str, ...]) -> str:
    return (f"您所在的通讯录部门分属 {len(units)} 个单位（{esc('、'.join(units))}），无法自动绑定。"
            "请向督办办公室索取您所代表单位的邀请码，然后发送：<code>绑定 邀请码</code>")


def bound_elsewhere(platform: str, role: str) -> str:
    return (f"您已在{platform}绑定为{role}，不按通讯录部门自动绑定：请向督办办公室索取邀请码，"
            "然后在此发送：<code>绑定 邀请码</code>")


def directory_unreadable(said: str) -> str:
    return (f"无法按通讯录部门为您绑定：{esc(said)}没有做任何改动。也可向督办办公室索取邀请码，"
            "然后发送：<code>绑定 邀请码</code>")
