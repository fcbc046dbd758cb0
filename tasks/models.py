"""The database tables (SQLModel).

One row per thing a person can point at: a unit, a task, an assignment of a task to
a unit, a report, an audit event. Work points, task-list rows and their numbered
sub-items, and projects are all ``Task`` rows distinguished by ``kind``, so that
assignments, reminders and reports treat every trackable duty the same way; the
extra columns a project has live in ``Project``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Column, Dialect, Index, Numeric, String, TypeDecorator, UniqueConstraint, text
from sqlmodel import Field, SQLModel

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A column of one of the enums below, stored as its value in a VARCHAR of ``length``: the
    type the column has had since it was declared as plain text, so no migration. A value that
    is not one of the enum's is refused when written; a read gives the enum member back."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length
        self._members: dict[str, E] = {member.value: member for member in enum}  # faster than enum(value)

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self._members[value]


class TaskKind(StrEnum):
    WORKPOINT = "workpoint"  # 工作要点 numbered item
    TASK = "task"  # 任务清单 row or numbered sub-item
    PROJECT = "project"  # 项目计划表 row


class TaskStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # no longer in the re-imported document; kept with its history


class AssignmentRole(StrEnum):
    LEAD = "lead"  # 牵头单位
    CO = "co"  # 配合单位


class AssignmentStatus(StrEnum):
    OPEN = "open"
    REPORTED = "reported"  # completion reported, waiting for the office to verify
    DONE = "done"  # verified (办结)
    WITHDRAWN = "withdrawn"  # the unit is no longer named for the task


OPEN_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.REPORTED)

# What the office's files call each status (the import's summary, the ledger): the domain's words,
# so that neither needs the chat's texts.
STATUS_NAMES = {AssignmentStatus.OPEN: "未办结", AssignmentStatus.REPORTED: "待审核",
                AssignmentStatus.DONE: "已办结", AssignmentStatus.WITHDRAWN: "已撤销"}


class OfficeChoice(StrEnum):
    ADDED = "added"  # a unit the document does not name, kept on the task by the office
    REMOVED = "removed"  # a unit the document names, taken off the task by the office


MERGED_UNIT = "merged"  # Unit.kind of a name the office merged into another unit (its aliases moved there)


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=200)
    kind: str = Field(default="department", max_length=20)
    # Created from a name the directory did not know: the office should confirm or merge it.
    needs_review: bool = Field(default=False)
    created_at: datetime


class UnitAlias(SQLModel, table=True):
    alias: str = Field(primary_key=True, max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)


class GroupMember(SQLModel, table=True):
    group_id: int = Field(foreign_key="unit.id", primary_key=True)
    member_id: int = Field(foreign_key="unit.id", primary_key=True)
    position: int = 0


class Plan(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("year", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    title: str = Field(max_length=300)
    source: str = Field(default="", max_length=500)
    source_sha256: str = Field(default="", max_length=64)
    imported_at: datetime


class Task(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("plan_id", "ref"),
        Index("ix_task_plan_kind", "plan_id", "kind"),
        Index("ix_task_plan_category", "plan_id", "category"),  # the desk's 台账 filtered by 工作事项
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    # Identity inside the plan that survives re-numbering and inserted rows (see importer).
    ref: str = Field(max_length=400)
    parent_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    kind: TaskKind = Field(sa_type=EnumText(TaskKind, 20))
    number: str = Field(default="", max_length=20)  # the document's own 序号
    position: int = 0  # order in the document
    category: str | None = Field(default=None, max_length=200)  # 工作事项 / section / project category
    topic: str | None = Field(default=None, max_length=200)  # 任务类别
    text: str
    deadline: date | None = Field(default=None, index=True)
    start: date | None = None
    deadline_text: str = Field(default="", max_length=200)
    recurrence: str | None = Field(default=None, max_length=20)
    # Named leaders the document puts beside the units (责任领导 / 牵头领导), "、"-separated: people
    # the office reports to, never units the bot chases.
    officials: str = Field(default="", max_length=200)
    status: TaskStatus = Field(default=TaskStatus.ACTIVE, sa_type=EnumText(TaskStatus, 20))
    source_line: int | None = None
    created_at: datetime
    updated_at: datetime


class Milestone(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=20)  # start | complete | inline
    due: date = Field(index=True)
    text: str = Field(default="")
    # Reported reached by one of the task's units (tasks/work/milestones.py): the clock stops chasing it.
    reached_on: date | None = None
    reached_by: str = Field(default="", max_length=200)


class Project(SQLModel, table=True):
    task_id: int = Field(foreign_key="task.id", primary_key=True)
    region: str = Field(default="", max_length=100)
    nature: str = Field(default="", max_length=50)  # 建设性质: 新建 / 续建
    content: str = Field(default="")
    total_investment: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    funds: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    implementing_unit: str = Field(default="")
    manager: str = Field(default="")
    period_text: str = Field(default="", max_length=100)
    benefit: str = Field(default="")


class WorkTeam(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("plan_id", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    ref: str = Field(max_length=200)
    number: str = Field(default="", max_length=20)
    name: str = Field(max_length=200)
    duty: str = Field(default="")
    status: TaskStatus = Field(default=TaskStatus.ACTIVE, sa_type=EnumText(TaskStatus, 20))


class WorkTeamLead(SQLModel, table=True):
    team_id: int = Field(foreign_key="workteam.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    position: int = 0


class Assignment(SQLModel, table=True):
    """One task for one responsible unit: what reminders, reports and the ledger count."""

    __table_args__ = (
        UniqueConstraint("task_id", "unit_id"),
        # "my open tasks, nearest deadline first" and "what is overdue" are the hot questions; with the
        # task last, a unit's or a group's rows of the desk's 台账 come in task order from the index alone.
        Index("ix_assignment_unit_status_due_task", "unit_id", "status", "due_on", "task_id"),
        Index("ix_assignment_status_due", "status", "due_on"),
        # The planner's due query: what is due, taken a unit at a time, so that one batch holds all
        # or most of a unit's duties and the unit hears of them in one message.
        Index("ix_assignment_next_check", "next_check_at", "unit_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")  # looked up through the (task_id, unit_id) index
    unit_id: int = Field(foreign_key="unit.id")
    role: AssignmentRole = Field(sa_type=EnumText(AssignmentRole, 10))
    position: int = 0
    status: AssignmentStatus = Field(default=AssignmentStatus.OPEN, sa_type=EnumText(AssignmentStatus, 20))
    # The deadline in force for this unit: the document's (Task.deadline), or the office's approved
    # extension where that is later. Kept here so the indexes above can serve.
    due_on: date | None = None
    # The office's decisions, kept apart from the document so that no re-import undoes them: the
    # date of the approved extension, and the status a verified or reported duty had when its task
    # left the document (restored when the task comes back).
    extended_to: date | None = None
    withdrawn_from: AssignmentStatus | None = Field(default=None, sa_type=EnumText(AssignmentStatus, 20))
    # The office added this unit to the task, or took it off, whatever the document says (OfficeChoice).
    office_choice: OfficeChoice | None = Field(default=None, sa_type=EnumText(OfficeChoice, 10))
    # The planner looks at an assignment when next_check_at has come (indexed above, so a tick
    # costs what is due, not what exists); every step up to planned_until has been handled.
    next_check_at: datetime | None = None
    planned_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


def deadline_in_force(document: date | None, extended_to: date | None) -> date | None:
    """The later of the document's deadline and the office's approved extension.

    A document that names no fixed date gives more time than any extension, so it wins."""
    if document is None or extended_to is None:
        return document
    return max(document, extended_to)


# A deadline-less duty is tallied under this date: it sorts after every real one and is never overdue.
NO_DEADLINE = date(9999, 12, 31)


class DutyTally(SQLModel, table=True):
    """How many live assignments each unit has, per status and deadline.

    Kept by database triggers on ``assignment`` (see tasks/tally.py), in the same transaction as
    every change, whoever makes it. /stats, /overdue and the digest add up these few thousand
    rows instead of counting a million assignments. Withdrawn assignments are not counted.
    """

    __tablename__ = "duty_tally"

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    status: AssignmentStatus = Field(primary_key=True, sa_type=EnumText(AssignmentStatus, 20))
    due_on: date = Field(primary_key=True)  # NO_DEADLINE when the task has none
    n: int = 0


class ReportKind(StrEnum):
    PROGRESS = "progress"  # 进展反馈
    COMPLETION = "completion"  # 办结申请, waits for the office to verify
    EVIDENCE = "evidence"  # 证明材料 sent on their own


class ReviewStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # 审核通过
    SENT_BACK = "sent_back"  # 退回


class Report(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    kind: ReportKind = Field(sa_type=EnumText(ReportKind, 20))
    text: str = ""
    percent: int | None = None
    # Files as the chat transport stores them: [{"file_id", "kind", "name", "size"}].
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    author: str = Field(default="", max_length=200)
    author_member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime
    # Completion reports only: the office's verdict.
    review_status: ReviewStatus | None = Field(default=None, sa_type=EnumText(ReviewStatus, 20))
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: datetime | None = None
    review_note: str = ""


class Role(StrEnum):
    MEMBER = "member"  # 责任单位 staff
    OFFICE = "office"  # 领导小组办公室 (supervision office)
    LEADER = "leader"  # 分管领导
    ADMIN = "admin"


class Member(SQLModel, table=True):
    """A person (or a unit's group chat) bound to a role by an invite code, on one chat platform."""

    # A person is one per platform: the same id on two platforms is two different people.
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_member_channel_user"),)

    id: int | None = Field(default=None, primary_key=True)
    # Where they are reached (bot/channels): telegram, dingtalk, wecom or feishu.
    channel: str = Field(default="telegram", max_length=20, sa_column_kwargs={"server_default": "telegram"})
    # The platform's id of the person, as text (Telegram's number, a DingTalk staff id, a Feishu
    # open_id); None for a bound group chat.
    user_id: str | None = Field(default=None, max_length=100)
    # Where their messages go on that platform: their own chat, or the group's.
    address: str = Field(max_length=200, index=True)
    name: str = Field(default="", max_length=200)
    role: Role = Field(sa_type=EnumText(Role, 10))
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    active: bool = True
    reachable: bool = True  # False once the chat app says the bot was blocked
    # A started one-step conversation: {"action": "progress", "assignment_id": 3}.
    pending: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime
    # A mainland mobile number, eleven digits: a DingTalk or WeCom group robot @s the person by it.
    # Given by the person, the office, or the platform's directory; None when nobody gave one.
    mobile: str | None = Field(default=None, max_length=20)


class DepartmentUnit(SQLModel, table=True):
    """The office's word that a department of a platform's directory is a unit: a person of that
    department who writes to the bot is bound to the unit without an invite code."""

    __tablename__ = "department_unit"

    channel: str = Field(primary_key=True, max_length=20)
    department_id: str = Field(primary_key=True, max_length=100)
    department_name: str = Field(max_length=200)  # as the directory named it when it was mapped
    unit_id: int = Field(foreign_key="unit.id", index=True)
    mapped_by: str = Field(max_length=200)
    mapped_at: datetime


class Invite(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=40)
    role: Role = Field(sa_type=EnumText(Role, 10))
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    created_by: str = Field(max_length=200)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    revoked_at: datetime | None = None  # the office took it back before anyone used it


class WebLogin(SQLModel, table=True):
    """A single-use link into the web desk, asked for in chat (/web). Only the hash of its secret
    part is kept: whoever reads the database cannot log in with it."""

    token_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A browser logged in to the web desk as a member; its cookie carries the secret whose hash this is."""

    token_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    csrf: str = Field(max_length=64)  # every form of this session carries it back
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None  # logged out


class WebKey(SQLModel, table=True):
    """The key that signs the desk's cookies when the configuration names none: kept here so that a
    restart does not log everyone out, and shared by every process on this database."""

    id: int = Field(default=1, primary_key=True)
    secret: str = Field(max_length=128)
    created_at: datetime


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Extension(SQLModel, table=True):
    """申请延期: a unit asks for a new date; the office decides."""

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    requested_by: str = Field(max_length=200)
    old_date: date | None = None
    new_date: date
    reason: str = ""
    status: ExtensionStatus = Field(default=ExtensionStatus.PENDING, sa_type=EnumText(ExtensionStatus, 20), index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = None
    decision_note: str = ""
    created_at: datetime


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # will not be sent: the reason is in last_error


PENDING_ONLY = f"status = '{OutboxStatus.PENDING}'"
SENT_ONLY = f"status = '{OutboxStatus.SENT}'"
DEAD_ONLY = f"status = '{OutboxStatus.DEAD}'"


class Outbox(SQLModel, table=True):
    """A notification to deliver, written in the same transaction as the change it reports.

    It holds what to say (``kind`` and ``payload``), not how: the chat adapter renders it
    when it sends, so the domain stays free of chat markup.
    """

    # The sender asks "what is pending and due now, earliest first?" on every pass: only pending
    # rows are in this index, in the order the sender takes them (see outbox.claim_due).
    # The digest's trend reads the digests sent in the weeks before (see clock/digest.weekly_trend).
    __table_args__ = (Index("ix_outbox_pending", "next_attempt_at", "id", postgresql_where=text(PENDING_ONLY),
                            sqlite_where=text(PENDING_ONLY)),
                      Index("ix_outbox_kind_created", "kind", "created_at"),
                      # The desk's 发送状态: the latest sent, and the failed ones, newest first.
                      Index("ix_outbox_sent", "sent_at", "id", postgresql_where=text(SENT_ONLY),
                            sqlite_where=text(SENT_ONLY)),
                      Index("ix_outbox_dead", "id", postgresql_where=text(DEAD_ONLY), sqlite_where=text(DEAD_ONLY)))

    id: int | None = Field(default=None, primary_key=True)
    # The platform and the address there that the member had when this was queued.
    channel: str = Field(default="telegram", max_length=20, sa_column_kwargs={"server_default": "telegram"})
    address: str = Field(max_length=200)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    # A tasks.notifications.NotificationKind, kept as plain text: a row of a kind this version does
    # not know (written by another version) must still be claimed, and then fail alone, as a dead
    # letter, rather than stop every claim that reads it.
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    dedupe_key: str = Field(max_length=200, unique=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=EnumText(OutboxStatus, 10))
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    last_error: str = ""
    created_at: datetime
    sent_at: datetime | None = None


class Event(SQLModel, table=True):
    """Append-only audit: who changed what, when, and through which door."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=200)
    source: str = Field(max_length=20)  # cli | import | chat | scheduler
    action: str = Field(max_length=50)
    entity: str = Field(max_length=30)
    entity_id: int | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class ImportProblem(SQLModel, table=True):
    """What the last import of a plan could not read; replaced by every import."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    code: str = Field(max_length=40)
    where: str = Field(max_length=100)
    text: str = ""
    message: str = ""


class SendMark(SQLModel, table=True):
    """One message sent to a chat platform by any of our processes, kept for a minute.

    The platforms' flood limits count per bot (or per robot), not per process: every sender
    reserves its message here first, so the bot, the workers and their replies share one budget.
    """

    __tablename__ = "send_mark"
    __table_args__ = (Index("ix_send_mark_channel_address", "channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=20, sa_column_kwargs={"server_default": "telegram"})
    address: str = Field(max_length=200)
    # Wall-clock seconds (time.time): shared by every process, unlike a monotonic clock.
    at: float = Field(index=True)


class InboxStatus(StrEnum):
    PENDING = "pending"
    HANDLED = "handled"
    FAILED = "failed"  # not handled, and never will be: the reason is in error


INBOX_PENDING_ONLY = f"status = '{InboxStatus.PENDING}'"


class Inbox(SQLModel, table=True):
    """An update from a chat platform, stored before the platform is told it arrived (tasks/inbox.py).

    ``payload`` is the update's JSON as received, kept as text: an update the bot cannot read
    is stored all the same, marked failed and skipped, and whatever characters a person typed
    are stored, escaped, on both databases.
    """

    # The bot asks "what is still to handle, oldest first?": only pending rows are in this index,
    # in the order they arrived.
    __table_args__ = (Index("ix_inbox_pending", "id", postgresql_where=text(INBOX_PENDING_ONLY),
                            sqlite_where=text(INBOX_PENDING_ONLY)),)

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    # Whose update: Telegram's (its update_id) or a domestic platform's (its message's id made a number).
    channel: str = Field(default="telegram", max_length=20, sa_column_kwargs={"server_default": "telegram"})
    payload: str
    status: InboxStatus = Field(default=InboxStatus.PENDING, sa_type=EnumText(InboxStatus, 10))
    attempts: int = 0  # times the bot began handling it; a process that died meanwhile left it pending
    error: str = ""
    received_at: datetime
    handled_at: datetime | None = None
