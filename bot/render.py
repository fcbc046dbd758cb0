"""Turning what the domain knows into chat messages: HTML, Chinese, within Telegram's limits.

Every string that came from a person or a document goes through ``esc``. Long answers
are split into several messages, never inside a tag, each under the 4096-character limit.
The fixed words are in ``bot/texts.py``; a notification is rendered by its kind's renderer
(RENDERERS, at the end) from its typed payload (``tasks/notifications.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, NamedTuple

from tabulate import tabulate

from bot import texts
from bot.phone import (
    GROUP_LEGEND,
    ITEMS,
    LEGEND,
    NAMES_PER_ROW,
    NUMBERS_PER_ROW,
    OVERDUE,
    PHONE_COLUMNS,
    STATS,
    SUMMARY_ROWS,
    ListQuery,
    button_name,
    button_rows,
    fit,
    names_in_lines,
    phone_width,
    wrapped,
)
from bot.texts import esc
from tasks.models import Assignment, AssignmentRole, AssignmentStatus, Milestone, Task, TaskKind
from tasks.notifications import (
    CompletionReported,
    CompletionSentBack,
    CompletionVerified,
    Digest,
    DueItem,
    DutiesDue,
    DutyStep,
    DutyUnplannable,
    ExtensionDecided,
    ExtensionRequested,
    MemberUnreachable,
    MilestoneReached,
    NotificationKind,
    NotificationUndeliverable,
    StepList,
    TallyLine,
    Urge,
    parse_payload,
)
from tasks.work.duties import Duty
from tasks.work.milestones import MilestoneState, milestone_states
from tasks.work.progress import Scope, Tally, traffic_light

MESSAGE_LIMIT = 4096
# Room for the page marker and a safety margin: the server counts characters after parsing.
PAGE_BUDGET = 3800
LIGHTS = {"red": "🔴", "yellow": "🟡", "green": "🟢"}


class Button(NamedTuple):
    """An inline button: what it says, and the callback_data a tap sends back."""

    text: str
    callback_data: str


@dataclass(frozen=True)
class Keyboard:
    """An inline keyboard, rows of buttons, as plain values: handed to the Bot API as the JSON it
    takes. PTB's InlineKeyboardButton objects, built and serialized for every notification and
    then thrown away, were a fifth of the sender's time on the event loop (24 buttons on a unit's
    list of eight duties)."""

    inline_keyboard: list[list[Button]]

    def to_dict(self) -> dict[str, Any]:
        return {"inline_keyboard": [[button._asdict() for button in row] for row in self.inline_keyboard]}


@dataclass(frozen=True)
class Attachment:
    """A file sent after a reply's text: made here (``data``), or one a person sent earlier, sent
    again by the chat's own reference to it (``file_id``, a reference of the platform ``channel``)."""

    kind: Literal["photo", "document"]
    name: str
    data: bytes | None = None
    file_id: str | None = None
    channel: str = "telegram"  # whose reference file_id is: a unit may report on another platform
    caption: str = ""  # plain text


@dataclass
class Reply:
    """One or more messages to send in order, buttons on the last text one; then any files."""

    pages: list[str]
    buttons: Keyboard | None = None
    files: list[Attachment] = field(default_factory=list)


@dataclass
class Page:
    """Builds an answer from blocks; splits it into messages when it grows past the budget."""

    blocks: list[str] = field(default_factory=list)

    def add(self, block: str) -> Page:
        self.blocks.append(block)
        return self

    def text(self, text: str) -> Page:
        """A block of plain text from a person or a document: escaped, and split if very long."""
        for piece in _split_plain(text, PAGE_BUDGET // 2):
            self.blocks.append(esc(piece))
        return self

    def table(self, rows: list[list[Any]], headers: list[str]) -> Page:
        """A table in <pre>, split by rows if it does not fit one message."""
        lines = tabulate(rows, headers=headers, disable_numparse=True).splitlines()
        head, body = lines[:2], lines[2:]
        chunk: list[str] = []
        for line in body:
            if chunk and _pre_length(head + chunk + [line]) > PAGE_BUDGET // 2:
                self.blocks.append(_pre(head + chunk))
                chunk = []
            chunk.append(line)
        self.blocks.append(_pre(head + chunk))
        return self

    def pages(self) -> list[str]:
        pages: list[str] = []
        current = ""
        for block in self.blocks:
            candidate = f"{current}\n{block}" if current else block
            if current and len(candidate) > PAGE_BUDGET:
                pages.append(current)
                current = block
            else:
                current = candidate
        if current:
            pages.append(current)
        if len(pages) > 1:
            pages = [f"{page}\n<i>（{n}/{len(pages)}）</i>" for n, page in enumerate(pages, start=1)]
        return pages

    def reply(self, buttons: Keyboard | None = None) -> Reply:
        return Reply(self.pages(), buttons)


def _pre(lines: list[str]) -> str:
    return "<pre>" + esc("\n".join(lines)) + "</pre>"


def _pre_length(lines: list[str]) -> int:
    return len(_pre(lines))


def _split_plain(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters once escaped, cut at line or sentence ends when possible."""
    pieces: list[str] = []
    while len(esc(text)) > limit:
        cut = limit
        while len(esc(text[:cut])) > limit:
            cut = int(cut * 0.8)
        window = text[:cut]
        for mark in ("\n", "。", "；", "，", " "):
            position = window.rfind(mark)
            if position > cut // 2:
                cut = position + 1
                break
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def say(text: str) -> Reply:
    """A short reply written by us (may contain our own tags; never unescaped user text)."""
    return Reply([text])


def refusal(text: str) -> Reply:
    """A refusal's plain text, escaped and within the message limit however much of what a person
    typed it repeats: Telegram refuses a message over 4096 characters, and the person then heard
    nothing at all."""
    return Page().text(text).reply()


# --- tasks ---------------------------------------------------------------------------


def due_label(due_on: date | None, today: date, deadline_text: str = "") -> str:
    if due_on is None:
        return f"无固定时限（{deadline_text}）" if deadline_text else "无固定时限"
    days = (due_on - today).days
    if days < 0:
        return f"{due_on.isoformat()}（逾期{-days}天）"
    if days == 0:
        return f"{due_on.isoformat()}（今天到期）"
    return f"{due_on.isoformat()}（还有{days}天）"


def summary(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def duty_buttons(task_id: int, *, numbered: bool = False) -> list[Button]:
    """报进展 · 办结 · 申请延期 for one task; ``numbered`` names the task on the first button (a list's rows)."""
    progress = texts.BUTTON_PROGRESS
    return [Button(f"{task_id} {progress}" if numbered else progress, f"rp:{task_id}"),
            Button(texts.BUTTON_DONE, f"dn:{task_id}"),
            Button(texts.BUTTON_EXTEND, f"ex:{task_id}")]


CARD_BUTTONS = 40  # Telegram allows 100 buttons; 40 in rows of 5 still fit a phone screen


def card_buttons(task_ids: list[int]) -> Keyboard:
    """Numbered buttons that open each task's card (where the 报进展 · 办结 · 申请延期 buttons are)."""
    buttons = [Button(str(task_id), f"card:{task_id}") for task_id in task_ids[:CARD_BUTTONS]]
    return Keyboard(button_rows(buttons, NUMBERS_PER_ROW))


LIST_LIMIT = 60  # rows shown in one answer; the rest are counted and can be narrowed down


def unit_title(scope: Scope) -> str:
    """The unit a scope names; a group says how many units it stands for, so that its count is read
    as theirs: "各镇街（13个单位）"."""
    if scope.unit is None:
        return ""
    return f"{scope.unit.name}（{len(scope.members)}个单位）" if scope.is_group else scope.unit.name


def duty_list(duties: list[Duty], today: date, title: str, total: int | None = None, *,
              with_units: bool = False) -> Reply:
    """``with_units``: each line names its unit (a group's list holds the same task for several)."""
    total = len(duties) if total is None else total
    page = Page().add(f"<b>{esc(title)}</b>（{total} 项）")
    if not duties:
        return page.add(texts.NO_OPEN_DUTIES).reply()
    for duty in duties:
        light = LIGHTS[traffic_light(duty.assignment, today)]
        status = duty.assignment.status
        state = "" if status == AssignmentStatus.OPEN else f" [{texts.STATUS_NAMES[status]}]"
        unit = f"{esc(duty.unit.name)} · " if with_units else ""
        page.add(f"{light} <b>{duty.task.id}</b> {unit}{esc(summary(duty.task.text))}\n"
                 f"    {esc(due_label(duty.assignment.due_on, today, duty.task.deadline_text))}{state}")
    if more := texts.more_than_shown(total, len(duties), texts.OPEN_ONES_FIRST):
        page.add(esc(more))
    page.add(texts.OPEN_A_CARD)
    return page.reply(card_buttons([d.task.id for d in duties if d.task.id is not None]))


@dataclass
class CardFacts:
    task: Task
    parent_text: str | None
    assignments: list[tuple[Assignment, str]]  # (assignment, unit name), lead first
    history: list[str]  # already plain text lines, newest first
    own: Assignment | None  # the viewer's unit's assignment, if any
    evidence: list[tuple[int, str, int]] = field(default_factory=list)  # (assignment id, unit, files): a button each
    milestones: list[Milestone] = field(default_factory=list)


CARD_EVIDENCE_BUTTONS = 10  # units whose files a card opens, latest senders first: more would not fit a phone screen


def task_card(facts: CardFacts, today: date) -> Reply:
    task = facts.task
    page = Page()
    kind = texts.TASK_KIND_NAMES.get(task.kind, texts.TASK_KIND_NAMES[TaskKind.TASK])
    page.add(f"<b>{kind} {task.id}</b>" + (f" · {esc(task.category)}" if task.category else "")
             + (f" · {esc(task.topic)}" if task.topic and task.topic != task.category else ""))
    if facts.parent_text:
        page.text(f"所属：{summary(facts.parent_text, 60)}")
    page.text(task.text)
    if facts.own is not None:
        light = LIGHTS[traffic_light(facts.own, today)]
        page.add(f"{light} 本单位：{texts.STATUS_NAMES[facts.own.status]}，完成时限 "
                 f"{esc(due_label(facts.own.due_on, today, task.deadline_text))}")
        if facts.own.extended_to is not None and facts.own.due_on != task.deadline:
            page.add(texts.extended_from(task.deadline))
    else:
        page.add(f"完成时限：{esc(due_label(task.deadline, today, task.deadline_text))}")
        extended = [name for a, name in facts.assignments if a.extended_to is not None and a.due_on != task.deadline]
        if extended:
            page.add(texts.units_extended(len(extended)))
    if task.start is not None:
        page.add(f"开始：{task.start.isoformat()}")
    states = milestone_states(facts.milestones, today)
    if states:
        page.add(_milestone_lines(states))
    lead = [name for a, name in facts.assignments if a.role == AssignmentRole.LEAD]
    co = [name for a, name in facts.assignments if a.role != AssignmentRole.LEAD]
    if lead:
        page.text(f"牵头单位：{'、'.join(lead)}")
    if co:
        page.text(f"配合单位：{'、'.join(co)}")
    if len(facts.assignments) > 1:
        done = sum(1 for a, _name in facts.assignments if a.status == AssignmentStatus.DONE)
        still = [name for a, name in facts.assignments if a.status != AssignmentStatus.DONE]
        page.add(texts.units_done(done, len(facts.assignments)))
        if still:
            page.add(esc("\n".join(names_in_lines(still, 2))))
    if facts.history:
        page.add("<b>最近记录</b>")
        page.text("\n".join(facts.history))
    rows = []
    own_open = facts.own is not None and facts.own.status == AssignmentStatus.OPEN
    if own_open:  # a duty reported or done has nothing more to report, its milestones included
        rows.append(duty_buttons(task.id))
        rows += button_rows(milestone_buttons(states, today), 2)
    evidence = [Button(f"📎{fit(unit, 10)}（{files}）", f"eu:{assignment_id}")
                for assignment_id, unit, files in facts.evidence[:CARD_EVIDENCE_BUTTONS]]
    rows += button_rows(evidence, NAMES_PER_ROW)
    return page.reply(Keyboard(rows) if rows else None)


def _milestone_lines(states: list[MilestoneState]) -> str:
    """• 开工 2021-06-01 ✅已达成（2021-06-03）, one line or two per milestone on a phone."""
    lines = []
    for state in states:
        head = f"• {state.label} {state.milestone.due.isoformat()}"
        mark = texts.milestone_state(state.reached_on, state.overdue_days)
        lines.append(f"{esc(head)} {mark}" if phone_width(head) + 12 <= PHONE_COLUMNS else f"{esc(head)}\n　 {mark}")
    return "\n".join(lines)


# A milestone gets its button once its reminders may have begun (the policy's first is ten working
# days before), so that the card does not offer 已完工 for a project that has not started.
MILESTONE_BUTTON_AHEAD = timedelta(days=14)


def milestone_buttons(states: list[MilestoneState], today: date) -> list[Button]:
    """已开工 · 已完工 · 节点已完成 for the open milestones that are due or past, on a unit's card."""
    buttons = []
    for state in states:
        if state.open and state.milestone.due <= today + MILESTONE_BUTTON_AHEAD:
            text = texts.MILESTONE_BUTTONS.get(state.milestone.kind) or \
                f"{texts.MILESTONE_BUTTON_INLINE}：{fit(state.label, 10)}"
            buttons.append(Button(text, f"ms:{state.milestone.id}"))
    return buttons


def _days_text(due_on: date, today: date) -> str:
    days = (today - due_on).days
    return f"已过{days}天" if days > 0 else ("今天" if days == 0 else f"还有{-days}天")


# --- notifications (from outbox rows) -------------------------------------------------


def notification(kind: str, stored: dict[str, Any]) -> Reply:
    """The message for one outbox row: its payload read back as its kind's type, rendered by the
    kind's renderer. An unknown kind or a payload that does not fit it raises (a programming
    error: the sender marks that one row dead and goes on)."""
    return RENDERERS[NotificationKind(kind)](parse_payload(kind, stored))


def _task_line(task_id: int, task_text: str) -> str:
    return f"任务 <b>{task_id}</b>：{esc(summary(task_text, 50))}"


def _completion_reported(payload: CompletionReported) -> Reply:
    page = Page().add(f"📥 <b>办结申请</b>（{esc(payload.unit)}，{esc(payload.author)}）")
    page.add(_task_line(payload.task_id, payload.task_text))
    page.text(f"说明：{payload.text}")
    if payload.files:
        page.add(f"附证明材料 {payload.files} 份")
    report = payload.report_id  # the buttons act on this claim only, never on a later one
    rows = [[Button(texts.BUTTON_VERIFY, f"vr:{report}"), Button(texts.BUTTON_SEND_BACK, f"sr:{report}")]]
    if payload.files:
        rows.append([Button(texts.evidence_button(payload.files), f"ev:{report}")])
    return page.reply(Keyboard(rows))


def _extension_requested(payload: ExtensionRequested) -> Reply:
    page = Page().add(f"⏳ <b>延期申请 #{payload.extension_id}</b>（{esc(payload.unit)}，{esc(payload.author)}）")
    page.add(_task_line(payload.task_id, payload.task_text))
    page.add(f"原截止：{esc(payload.old_date or '无')}，申请延至：<b>{esc(payload.new_date)}</b>")
    page.text(f"理由：{payload.reason}")
    eid = payload.extension_id
    return page.reply(Keyboard([[Button(texts.BUTTON_APPROVE, f"ea:{eid}"), Button(texts.BUTTON_REFUSE, f"er:{eid}")]]))


def _completion_verified(payload: CompletionVerified) -> Reply:
    return (Page().add(f"✅ <b>已审核通过</b>，办结。审核人：{esc(payload.reviewer)}")
            .add(_task_line(payload.task_id, payload.task_text)).reply())


def _completion_sent_back(payload: CompletionSentBack) -> Reply:
    page = Page().add(f"↩️ <b>办结申请被退回</b>，审核人：{esc(payload.reviewer)}")
    page.add(_task_line(payload.task_id, payload.task_text))
    page.text(f"退回理由：{payload.reason}")
    return page.reply(Keyboard([duty_buttons(payload.task_id)]))


def _extension_decided(payload: ExtensionDecided) -> Reply:
    if payload.approved:
        head = f"🗓 <b>延期申请 #{payload.extension_id} 已同意</b>，新的完成时限：{esc(payload.new_date)}"
    else:
        head = f"🚫 <b>延期申请 #{payload.extension_id} 未同意</b>"
    page = Page().add(head).add(_task_line(payload.task_id, payload.task_text))
    if payload.note:
        page.text(f"说明：{payload.note}")
    return page.reply(Keyboard([duty_buttons(payload.task_id)]))


def _urge(payload: Urge) -> Reply:
    page = Page().add(f"📣 <b>催办</b>：{esc(payload.urger)} 催办以下任务（{esc(payload.unit)}）")
    if payload.note:
        page.text(f"说明：{payload.note}")
    for item in payload.tasks:
        page.add(f"• <b>{item.task_id}</b> {esc(summary(item.text))}（截止 {esc(item.due_on or '无')}）")
    if len(payload.tasks) == 1:
        return page.reply(Keyboard([duty_buttons(payload.tasks[0].task_id)]))
    page.add(texts.TAP_A_NUMBER)
    return page.reply(card_buttons([item.task_id for item in payload.tasks]))


def _duty_unplannable(payload: DutyUnplannable) -> Reply:
    return say(texts.duty_unplannable(_task_line(payload.task_id, payload.task_text), payload.unit, payload.due_on))


def _notification_undeliverable(payload: NotificationUndeliverable) -> Reply:
    return say(texts.notification_undeliverable(payload.member))


def _member_unreachable(payload: MemberUnreachable) -> Reply:
    return say(texts.member_unreachable(payload.member, payload.unit))


# --- scheduled notifications (planner) --------------------------------------------------------

def _due_text(item: DutyStep) -> str:
    return esc(item.due_on or "无固定时限")


def _reminder(payload: DutyStep) -> Reply:
    if payload.milestone is not None:
        return _milestone_step(payload, texts.milestone_reminder_head(
            payload.milestone, payload.task_id, _due_text(payload), -(payload.days or 0)))
    days_left = -payload.days if payload.days is not None else None
    when = ("" if days_left is None else "今天到期" if days_left == 0 else f"还有{days_left}天到期" if days_left > 0
            else f"已逾期{-days_left}天")  # a row queued before the planner stopped reminding of passed deadlines
    page = Page().add(f"⏰ <b>到期提醒</b>：任务 <b>{payload.task_id}</b> {when}（截止 {_due_text(payload)}）")
    page.text(summary(payload.text, 80))
    return page.reply(Keyboard([duty_buttons(payload.task_id)]))


def _overdue(payload: DutyStep) -> Reply:
    if payload.milestone is not None:
        return _milestone_step(payload, texts.milestone_overdue_head(
            payload.milestone, payload.task_id, _due_text(payload), payload.days))
    page = Page().add(f"🔴 <b>逾期未办结</b>：任务 <b>{payload.task_id}</b> 已逾期 {payload.days} 天"
                      f"（截止 {_due_text(payload)}）")
    page.text(summary(payload.text, 80))
    page.add(texts.OVERDUE_ADVICE)
    return page.reply(Keyboard([duty_buttons(payload.task_id)]))


def _milestone_step(payload: DutyStep, head: str) -> Reply:
    """A milestone's reminder or overdue notice as its own card: the head names the milestone; the
    unit answers from the task's card, where its 已开工 button is."""
    page = Page().add(head)
    page.text(summary(payload.text, 80))
    page.add(texts.MILESTONE_ADVICE)
    return page.reply(Keyboard([[Button(texts.BUTTON_OPEN_CARD, f"card:{payload.task_id}")],
                                duty_buttons(payload.task_id)]))


def _milestone_reached(payload: MilestoneReached) -> Reply:
    page = Page().add(texts.milestone_reached_head(payload.milestone, payload.unit, payload.author))
    page.add(_task_line(payload.task_id, payload.task_text))
    page.add(f"计划 {esc(payload.due)}，报告达成 {esc(payload.reached_on)}")
    return page.reply(Keyboard([[Button(texts.BUTTON_OPEN_CARD, f"card:{payload.task_id}")]]))


def _milestone_item(item: DutyStep) -> str:
    """The middle of a list line for a milestone's step: （开工节点 2021-06-01"""
    return f"（{esc(fit(item.milestone or '', 12))}节点 {_due_text(item)}"


def _checkin(payload: DutyStep) -> Reply:
    page = Page().add(f"📝 <b>进展调度</b>：请报送任务 <b>{payload.task_id}</b> 本期（{esc(payload.step)}）的进展。")
    page.text(summary(payload.text, 80))
    return page.reply(Keyboard([duty_buttons(payload.task_id)]))


def _folded(payload: StepList) -> Reply:
    items = payload.items
    page = Page().add(f"⏰ <b>您有 {len(items)} 项任务即将到期</b>（系统恢复后补发的提醒汇总）")
    for item in items:
        when = _milestone_item(item) if item.milestone is not None else f"（截止 {_due_text(item)}"
        page.add(f"• <b>{item.task_id}</b> {esc(summary(item.text))}{when}）")
    return page.reply(card_buttons([item.task_id for item in items]))


ANSWER_ROWS = 8  # up to this many tasks, a unit's list carries each task's own buttons, a row each
DUE_SECTIONS = (("overdue", "🔴 <b>逾期未办结</b>"), ("reminder", "⏰ <b>即将到期</b>"),
                ("checkin", "📝 <b>请报送本期进展</b>"))


def _due_line(item: DueItem) -> str:
    head = f"• <b>{item.task_id}</b> {esc(summary(item.text))}"
    if item.kind == "checkin":
        return f"{head}（本期 {esc(item.step)}）"
    days = item.days
    if item.milestone is not None:
        state = f"已逾期 {days} 天" if item.kind == "overdue" else "今天" if not days else f"还有{-(days or 0)}天"
        return f"{head}{_milestone_item(item)}，{state}）" + ("（补发）" if item.late else "")
    if item.kind == "overdue":
        return f"{head}（截止 {_due_text(item)}，已逾期 {days} 天）"
    # The planner no longer reminds of a passed deadline; a row it queued before that (still
    # pending after an upgrade) says the task is late rather than "还有-1天".
    left = ("" if days is None else "，今天到期" if days == 0 else f"，还有{-days}天" if days < 0
            else f"，已逾期 {days} 天")
    return f"{head}（截止 {_due_text(item)}{left}）" + ("（补发）" if item.late else "")


def _duties_due(payload: DutiesDue) -> Reply:
    """A unit's steps of one planner batch in one message: overdue first, then reminders, then check-ins."""
    items = payload.items
    page = Page().add(f"📋 <b>督办提醒</b>：本单位有 {len(items)} 项任务需要办理")
    shown = 0
    for kind, title in DUE_SECTIONS:
        chosen = [item for item in items if item.kind == kind]
        if not chosen:
            continue
        page.add(f"{title}（{len(chosen)} 项）")
        for item in chosen[:max(LIST_LIMIT - shown, 0)]:
            page.add(_due_line(item))
            shown += 1
    if shown < len(items):
        page.add(texts.more_in_my_tasks(len(items) - shown))
    # The buttons in the list's order: overdue first, as the sections are (a milestone's step may lead).
    order = [kind for kind, _title in DUE_SECTIONS]
    task_ids = list(dict.fromkeys(item.task_id for item in sorted(items, key=lambda i: order.index(i.kind))))
    if len(task_ids) <= ANSWER_ROWS:  # a reminder is answered with one tap, as on a single card
        return page.reply(Keyboard([duty_buttons(task_id, numbered=True) for task_id in task_ids]))
    page.add(texts.TAP_A_NUMBER_TO_ACT if len(task_ids) <= CARD_BUTTONS else texts.TAP_A_NUMBER_OR_TYPE)
    return page.reply(card_buttons(task_ids))


@dataclass
class _Share:
    """One unit's part of an escalation list."""

    unit: str
    unit_id: int | None
    count: int = 0
    days: int = 0


def _ladder(title: str) -> Callable[[StepList], Reply]:
    def render(payload: StepList) -> Reply:
        """An escalation list as one screen: how many, the units with most first, a button to each
        (they open what is overdue now, not what was when the list was sent)."""
        shares: dict[str, _Share] = {}
        for item in payload.items:
            share = shares.setdefault(item.unit, _Share(item.unit, item.unit_id))
            share.count += 1
            share.days = max(share.days, item.days or 0)
        ordered = sorted(shares.values(), key=lambda s: (-s.count, -s.days, s.unit))
        shown = ordered[:SUMMARY_ROWS]
        page = Page().add(f"🔴 <b>{esc(title)}</b>").add(texts.units_in_list(len(payload.items), len(ordered)))
        page.add(LEGEND)
        page.add("\n".join(named_line("🔴", share.unit, f" {share.count}项 · 最长{share.days}天") for share in shown))
        if len(ordered) > len(shown):
            page.add(texts.more_units(len(ordered) - len(shown)))
        page.add(texts.ESCALATION_HINT)
        units = [Button(button_name(share.unit), ListQuery(OVERDUE, f"u{share.unit_id}", ITEMS).data)
                 for share in shown if share.unit_id is not None]
        everything = [Button(texts.BUTTON_ALL_OVERDUE, ListQuery(OVERDUE).data)]
        return page.reply(Keyboard([*button_rows(units, NAMES_PER_ROW), everything]))
    return render


DIGEST_WORST = 5  # the worst units and teams the digest names
DIGEST_LONGEST = 3  # the duties overdue longest it names


def named_line(light: str, name: str, rest: str) -> str:
    """"🔴 区商务局 41项 · 最长63天": a light, a name cut to what the rest leaves of a phone's line, the rest."""
    return f"{light} {esc(fit(name, PHONE_COLUMNS - phone_width(f'{light} {rest}')))}{esc(rest)}"


def tally_line(t: Tally | TallyLine) -> str:
    """"🔴 区商务局 办结7% 逾期12": a unit's or a team's counts, asked now or as a digest stored them."""
    return named_line(LIGHTS[t.light], t.name, f" 办结{t.rate:.0%}" + (f" 逾期{t.overdue}" if t.overdue else ""))


def _worst(tallies: list[TallyLine]) -> list[TallyLine]:
    return sorted(tallies, key=lambda t: (t.total == 0, -t.overdue, t.rate, t.name))[:DIGEST_WORST]


def _digest(payload: Digest) -> Reply:
    """The week on one phone screen: the rate, what changed, the worst teams and units, the duties
    overdue longest and the silent units; every list behind it a tap away."""
    total, lights = payload.total, payload.lights
    title = "\n".join(wrapped(payload.title or texts.DIGEST_UNTITLED, 2))
    page = Page().add(f"📊 <b>{texts.DIGEST_HEAD}</b> {payload.week_of.isoformat()}\n<b>{esc(title)}</b>")
    page.add(texts.stats_total(total.total, total.done, total.rate, total.reported, total.overdue))
    newly_overdue = (len(payload.newly_overdue) if payload.newly_overdue_total is None
                     else payload.newly_overdue_total)
    page.add(texts.digest_week(len(payload.newly_done), newly_overdue))
    page.add(f"{LEGEND}\n{GROUP_LEGEND}\n" + " · ".join(f"{LIGHTS[c]} {lights[c]}" for c in ("red", "yellow", "green")))
    if payload.teams:
        page.add(f"<b>{texts.worst_heading(DIGEST_WORST, '专班')}</b>")
        page.add("\n".join(tally_line(t) for t in _worst(payload.teams)))
    page.add(f"<b>{texts.worst_heading(DIGEST_WORST, '单位')}</b>")
    page.add("\n".join(tally_line(t) for t in _worst(payload.units)))
    if payload.overdue:
        page.add(f"<b>{texts.LONGEST_OVERDUE}</b>")
        lines = []
        for item in sorted(payload.overdue, key=lambda i: -i.days)[:DIGEST_LONGEST]:
            head = f"🔴 {item.task_id} · 逾期{item.days}天 · "
            lines.append(f"🔴 <b>{item.task_id}</b> {esc(fit(item.unit, PHONE_COLUMNS - phone_width(head)))}"
                         f" · 逾期{item.days}天\n　 {esc(fit(item.text, PHONE_COLUMNS - 3))}")
        page.add("\n".join(lines))
    if payload.silent_units:
        page.add(f"<b>{texts.silent_heading(payload.silent_days, len(payload.silent_units))}</b>")
        page.add(esc("\n".join(names_in_lines([u.unit for u in payload.silent_units], 2))))
    buttons = [Button(texts.BUTTON_ALL_OVERDUE, ListQuery(OVERDUE).data),
               Button(texts.STATS_TITLE, ListQuery(STATS).data)]
    return page.reply(Keyboard([buttons]))


# One renderer per kind; tests/bot/test_notifications.py checks that every kind has one. Each renderer
# takes its kind's payload type (tasks.notifications.PAYLOADS), so the table is typed loosely.
RENDERERS: dict[NotificationKind, Callable[[Any], Reply]] = {
    NotificationKind.COMPLETION_REPORTED: _completion_reported,
    NotificationKind.EXTENSION_REQUESTED: _extension_requested,
    NotificationKind.COMPLETION_VERIFIED: _completion_verified,
    NotificationKind.COMPLETION_SENT_BACK: _completion_sent_back,
    NotificationKind.EXTENSION_DECIDED: _extension_decided,
    NotificationKind.URGE: _urge,
    NotificationKind.MILESTONE_REACHED: _milestone_reached,
    NotificationKind.REMINDER: _reminder,
    NotificationKind.OVERDUE: _overdue,
    NotificationKind.CHECKIN: _checkin,
    NotificationKind.REMINDERS_FOLDED: _folded,
    NotificationKind.DUTIES_DUE: _duties_due,
    NotificationKind.OVERDUE_OFFICE: _ladder(texts.ESCALATION_TO_OFFICE),
    NotificationKind.OVERDUE_LEADERSHIP: _ladder(texts.ESCALATION_TO_LEADERSHIP),
    NotificationKind.DIGEST: _digest,
    # Files only, made by the sender when it sends them (bot/attachments.py): no text of their own.
    NotificationKind.DIGEST_FILES: lambda _payload: Reply([]),
    NotificationKind.LEDGER: lambda _payload: Reply([]),
    NotificationKind.DUTY_UNPLANNABLE: _duty_unplannable,
    NotificationKind.NOTIFICATION_UNDELIVERABLE: _notification_undeliverable,
    NotificationKind.MEMBER_UNREACHABLE: _member_unreachable,
}
