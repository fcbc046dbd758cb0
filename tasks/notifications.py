"""What ``tasks/`` tells people, as types: one kind per occasion, one payload type per kind.

``tasks/`` queues a payload (see ``tasks.outbox``); ``bot/`` reads it back from the outbox row
and renders it (``bot/render.py``, one renderer per kind). The kinds' values and the payloads'
field names are what the outbox stores: rows already in a database must still render, so
neither may change.

Payloads are pydantic models rather than frozen dataclasses: pydantic comes with SQLModel, and
it gives both directions of the contract from one declaration. Built by ``tasks/``, a model
refuses a missing or mistyped field at once, when the notification is queued rather than when
it is sent. Read back by ``bot/``, the stored JSON (dates kept as text) is parsed into the same
types without a hand-written reader per kind.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tasks.models import Role


class NotificationKind(StrEnum):
    """The ``kind`` column of an outbox row."""

    # A person did something: the office or the unit hears of it.
    COMPLETION_REPORTED = "completion_reported"
    EXTENSION_REQUESTED = "extension_requested"
    COMPLETION_VERIFIED = "completion_verified"
    COMPLETION_SENT_BACK = "completion_sent_back"
    EXTENSION_DECIDED = "extension_decided"
    URGE = "urge"
    MILESTONE_REACHED = "milestone_reached"
    # The clock (tasks/clock/planner.py): a unit's steps, the escalation ladder, the weekly digest.
    REMINDER = "reminder"
    OVERDUE = "overdue"
    CHECKIN = "checkin"
    REMINDERS_FOLDED = "reminders_folded"
    DUTIES_DUE = "duties_due"
    OVERDUE_OFFICE = "overdue_office"
    OVERDUE_LEADERSHIP = "overdue_leadership"
    DIGEST = "digest"
    # Files made when they are sent (they need the database: bot/attachments.py): the digest's chart
    # and ledger, after its text and in a row of their own, so that a failed upload never sends the
    # text again; and the ledger someone asked for in chat (/export).
    DIGEST_FILES = "digest_files"
    LEDGER = "ledger"
    # Something the office must see to: a duty the clock cannot plan, a chat the bot cannot reach.
    DUTY_UNPLANNABLE = "duty_unplannable"
    NOTIFICATION_UNDELIVERABLE = "notification_undeliverable"
    MEMBER_UNREACHABLE = "member_unreachable"



# Each kind as the office reads it in ``taskbot outbox``; the code itself is kept for ``--json`` and the database.
KIND_NAMES: dict[NotificationKind, str] = {
    NotificationKind.COMPLETION_REPORTED: "办结待审核",
    NotificationKind.EXTENSION_REQUESTED: "延期申请",
    NotificationKind.COMPLETION_VERIFIED: "办结已通过",
    NotificationKind.COMPLETION_SENT_BACK: "办结被退回",
    NotificationKind.EXTENSION_DECIDED: "延期批复",
    NotificationKind.URGE: "催办",
    NotificationKind.MILESTONE_REACHED: "项目节点达成",
    NotificationKind.REMINDER: "到期提醒",
    NotificationKind.OVERDUE: "逾期提醒",
    NotificationKind.CHECKIN: "定期进展询问",
    NotificationKind.REMINDERS_FOLDED: "补发提醒汇总",
    NotificationKind.DUTIES_DUE: "督办提醒清单",
    NotificationKind.OVERDUE_OFFICE: "逾期报办公室",
    NotificationKind.OVERDUE_LEADERSHIP: "逾期报领导",
    NotificationKind.DIGEST: "周报",
    NotificationKind.DIGEST_FILES: "周报图表和台账",
    NotificationKind.LEDGER: "台账文件",
    NotificationKind.DUTY_UNPLANNABLE: "无法安排提醒",
    NotificationKind.NOTIFICATION_UNDELIVERABLE: "通知无法送达",
    NotificationKind.MEMBER_UNREACHABLE: "成员联系不上",
}


class Payload(BaseModel):
    """A notification's content. Fields with a default are the ones rows written by earlier
    versions may lack; the rest must be given."""

    # extra="forbid": a misspelt field name is refused, not stored and silently never shown.
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- what a person did ------------------------------------------------------------------------


class CompletionReported(Payload):
    report_id: int
    assignment_id: int
    task_id: int
    task_text: str
    unit: str
    text: str
    author: str
    files: int = 0


class ExtensionRequested(Payload):
    extension_id: int
    task_id: int
    task_text: str
    unit: str
    old_date: date | None
    new_date: date
    reason: str
    author: str


class CompletionVerified(Payload):
    task_id: int
    task_text: str
    reviewer: str


class CompletionSentBack(Payload):
    task_id: int
    task_text: str
    reviewer: str
    reason: str


class ExtensionDecided(Payload):
    extension_id: int
    task_id: int
    task_text: str
    approved: bool
    new_date: date
    note: str = ""
    reviewer: str = ""


class MilestoneReached(Payload):
    """A unit reported one of its project's milestones reached: the office hears of it."""

    task_id: int
    task_text: str
    unit: str
    milestone: str  # 开工, 完工, or the stage's own words
    due: date
    reached_on: date
    author: str


class UrgedTask(Payload):
    task_id: int
    text: str
    due_on: date | None


class Urge(Payload):
    urger: str
    note: str = ""
    unit: str
    tasks: list[UrgedTask]


# --- the clock --------------------------------------------------------------------------------

StepKind = Literal["reminder", "overdue", "checkin"]


class DutyStep(Payload):
    """One step of one duty's schedule that fell due: the payload of a reminder, an overdue
    notice or a check-in sent as the duty's own card, and an item of the lists below."""

    key: str
    task_id: int
    text: str
    unit: str
    due_on: date | None
    step: str  # the step's level: "d3", "2021W42" …
    days: int | None  # days past the deadline (negative: still to come); None without a deadline
    unit_id: int | None = None  # for a button that opens the unit's list (None in rows queued before it was kept)
    # A milestone's step (开工, "9月底100%开工"): due_on and days are then the milestone's. None: the deadline's.
    milestone: str | None = None


class DueItem(DutyStep):
    """A unit's step in a list of several: which kind of step, and whether it is a late reminder
    (one that fell while the bot was down)."""

    kind: StepKind
    late: bool = False


class StepList(Payload):
    """Several steps in one message: reminders folded after downtime, or an escalation list."""

    items: list[DutyStep]


class DutiesDue(Payload):
    items: list[DueItem]


class TallyLine(Payload):
    name: str
    total: int
    done: int
    reported: int
    overdue: int
    rate: float
    light: str  # red | yellow | green


class OverdueLine(Payload):
    task_id: int
    unit: str
    text: str
    due_on: date
    days: int


class DoneLine(Payload):
    task_id: int
    unit: str
    text: str


class SilentUnit(Payload):
    unit: str
    open: int


class WeekPoint(Payload):
    """One week of the digest's trend: its figures as that week's digest told them."""

    week_of: date
    overdue: int
    rate: float


class Digest(Payload):
    week_of: date
    title: str = ""  # the plan's title (empty in digests queued before it was given)
    total: TallyLine
    teams: list[TallyLine]
    units: list[TallyLine]
    lights: dict[str, int]
    overdue: list[OverdueLine]
    overdue_total: int | None = None  # None: a digest from before the total was counted lists every overdue item
    newly_done: list[DoneLine]
    newly_overdue: list[OverdueLine]
    newly_overdue_total: int | None = None  # None: a digest from before it was counted (its list is all of them)
    silent_units: list[SilentUnit]
    silent_days: int
    trend: list[WeekPoint] = []  # oldest week first, this week last (empty in digests queued before it)


class LedgerRequest(Payload):
    """/export: the ledger of the day it was asked for, narrowed as it was asked (None: not narrowed)."""

    day: date
    unit: str | None = None
    team: str | None = None
    status: str | None = None


# --- for the office's attention ---------------------------------------------------------------


class DutyUnplannable(Payload):
    task_id: int
    task_text: str
    unit: str
    due_on: date | None


class NotificationUndeliverable(Payload):
    member: str  # the member's name, or the chat id when the member is gone
    notification: str  # the kind of the notification that could not be sent


class MemberUnreachable(Payload):
    member: str
    unit: str
    role: Role


PAYLOADS: dict[NotificationKind, type[Payload]] = {
    NotificationKind.COMPLETION_REPORTED: CompletionReported,
    NotificationKind.EXTENSION_REQUESTED: ExtensionRequested,
    NotificationKind.COMPLETION_VERIFIED: CompletionVerified,
    NotificationKind.COMPLETION_SENT_BACK: CompletionSentBack,
    NotificationKind.EXTENSION_DECIDED: ExtensionDecided,
    NotificationKind.URGE: Urge,
    NotificationKind.MILESTONE_REACHED: MilestoneReached,
    # A step as its own card: the three kinds differ in what they say, not in what they carry.
    NotificationKind.REMINDER: DutyStep,
    NotificationKind.OVERDUE: DutyStep,
    NotificationKind.CHECKIN: DutyStep,
    NotificationKind.REMINDERS_FOLDED: StepList,
    NotificationKind.DUTIES_DUE: DutiesDue,
    NotificationKind.OVERDUE_OFFICE: StepList,
    NotificationKind.OVERDUE_LEADERSHIP: StepList,
    NotificationKind.DIGEST: Digest,
    NotificationKind.DIGEST_FILES: Digest,  # the figures the chart is drawn from (its lists left empty)
    NotificationKind.LEDGER: LedgerRequest,
    NotificationKind.DUTY_UNPLANNABLE: DutyUnplannable,
    NotificationKind.NOTIFICATION_UNDELIVERABLE: NotificationUndeliverable,
    NotificationKind.MEMBER_UNREACHABLE: MemberUnreachable,
}


def stored_payload(kind: NotificationKind, payload: Payload) -> dict[str, Any]:
    """The JSON an outbox row keeps for ``payload``; a payload of another kind's type is refused.

    Only the fields the writer gave are stored (``exclude_unset``), so a row holds the keys it
    always held: a list item that is not a late reminder carries no ``late`` key, as before."""
    expected = PAYLOADS[kind]
    if type(payload) is not expected:
        raise TypeError(f"a {kind} notification carries {expected.__name__}, not {type(payload).__name__}")
    stored = payload.model_dump(mode="json", exclude_unset=True)
    # Checked again as it will be read back at send time: a payload built without validation
    # (model_construct) or changed after it was built fails here, before its row exists.
    expected.model_validate(stored)
    return stored


def parse_payload(kind: str, stored: dict[str, Any]) -> Payload:
    """An outbox row's payload as its kind's type. Keys no field knows are left out: a row an
    earlier version wrote may carry one that is no longer read."""
    payload_type = PAYLOADS[NotificationKind(kind)]
    known = payload_type.model_fields
    return payload_type.model_validate({key: value for key, value in stored.items() if key in known})
