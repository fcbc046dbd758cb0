"""The contract between tasks/ and bot/: every kind of notification has a payload type and a
renderer; a payload that does not fit its kind is refused when it is queued, not when it is sent;
what is stored reads back as the same payload and renders."""

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.render import RENDERERS, notification
from bot.sandbox.html_check import visible_text
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.events import jsonable
from tasks.models import Member, Outbox, Role
from tasks.notifications import (
    PAYLOADS,
    CompletionReported,
    CompletionSentBack,
    CompletionVerified,
    Digest,
    DoneLine,
    DueItem,
    DutiesDue,
    DutyStep,
    DutyUnplannable,
    ExtensionDecided,
    ExtensionRequested,
    LedgerRequest,
    MemberUnreachable,
    MilestoneReached,
    NotificationKind,
    NotificationUndeliverable,
    OverdueLine,
    Payload,
    SilentUnit,
    StepList,
    TallyLine,
    Urge,
    UrgedTask,
    parse_payload,
    stored_payload,
)
from tasks.outbox import enqueue, notify_office, notify_unit

STEP = DutyStep(key="a7:remind:2021-10-31:d3", task_id=12, text="推进京西商贸区建设", unit="区商务局",
                due_on=date(2021, 10, 31), step="d3", days=-3)
TALLY = TallyLine(name="区商务局", total=10, done=4, reported=1, overdue=2, rate=0.4, light="yellow")
LATE = OverdueLine(task_id=13, unit="区商务局", text="完成招商引资任务", due_on=date(2021, 9, 30), days=31)

# One example of each kind, with what a person would look for in its message.
EXAMPLES: dict[NotificationKind, tuple[Payload, str]] = {
    NotificationKind.COMPLETION_REPORTED: (CompletionReported(
        report_id=5, assignment_id=7, task_id=12, task_text="推进京西商贸区建设", unit="区商务局", text="已完成验收",
        author="王科长", files=2), "办结申请"),
    NotificationKind.EXTENSION_REQUESTED: (ExtensionRequested(
        extension_id=3, task_id=12, task_text="推进京西商贸区建设", unit="区商务局", old_date=date(2021, 10, 31),
        new_date=date(2021, 11, 30), reason="材料待补", author="王科长"), "2021-11-30"),
    NotificationKind.COMPLETION_VERIFIED: (CompletionVerified(
        task_id=12, task_text="推进京西商贸区建设", reviewer="督办办"), "已审核通过"),
    NotificationKind.COMPLETION_SENT_BACK: (CompletionSentBack(
        task_id=12, task_text="推进京西商贸区建设", reviewer="督办办", reason="请补充验收材料"), "请补充验收材料"),
    NotificationKind.EXTENSION_DECIDED: (ExtensionDecided(
        extension_id=3, task_id=12, task_text="推进京西商贸区建设", approved=True, new_date=date(2021, 11, 30),
        note="", reviewer="督办办"), "新的完成时限：2021-11-30"),
    NotificationKind.URGE: (Urge(urger="督办办", note="请尽快报送", unit="区商务局", tasks=[
        UrgedTask(task_id=12, text="推进京西商贸区建设", due_on=None)]), "催办"),
    NotificationKind.MILESTONE_REACHED: (MilestoneReached(
        task_id=41, task_text="高山玫瑰试种项目", unit="区农业农村局", milestone="开工", due=date(2021, 6, 1),
        reached_on=date(2021, 6, 3), author="李科长"), "节点达成"),
    NotificationKind.REMINDER: (STEP, "还有3天到期"),
    NotificationKind.OVERDUE: (STEP.model_copy(update={"days": 4}), "已逾期 4 天"),
    NotificationKind.CHECKIN: (STEP.model_copy(update={"step": "2021W42", "due_on": None, "days": None}), "2021W42"),
    NotificationKind.REMINDERS_FOLDED: (StepList(items=[STEP]), "补发的提醒"),
    NotificationKind.DUTIES_DUE: (DutiesDue(items=[DueItem(**STEP.model_dump(exclude={"milestone"}), kind="reminder"),
                                                   DueItem(**STEP.model_dump(exclude={"milestone"}), kind="overdue",
                                                           late=True)]), "督办提醒"),
    NotificationKind.OVERDUE_OFFICE: (StepList(items=[STEP]), "逾期任务督办清单"),
    NotificationKind.OVERDUE_LEADERSHIP: (StepList(items=[STEP]), "逾期事项报分管领导"),
    NotificationKind.DIGEST: (Digest(
        week_of=date(2021, 11, 1), total=TALLY, teams=[TALLY], units=[TALLY], lights={"red": 1, "yellow": 2, "green": 3},
        overdue=[LATE], overdue_total=1, newly_done=[DoneLine(task_id=14, unit="区商务局", text="设立服务专窗")],
        newly_overdue=[LATE], silent_units=[SilentUnit(unit="区商务局", open=3)], silent_days=14), "完成招商引资任务"),
    # Files only, made by the sender (tests/bot/test_export_chat.py, tests/bot/test_sandbox_clock.py): no text.
    NotificationKind.DIGEST_FILES: (Digest(
        week_of=date(2021, 11, 1), total=TALLY, teams=[TALLY], units=[TALLY], lights={"red": 1, "yellow": 2, "green": 3},
        overdue=[], newly_done=[], newly_overdue=[], silent_units=[], silent_days=14), ""),
    NotificationKind.LEDGER: (LedgerRequest(day=date(2021, 11, 1), unit="区商务局"), ""),
    NotificationKind.DUTY_UNPLANNABLE: (DutyUnplannable(
        task_id=12, task_text="推进京西商贸区建设", unit="区商务局", due_on=None), "自动提醒已暂停"),
    NotificationKind.NOTIFICATION_UNDELIVERABLE: (NotificationUndeliverable(member="王科长", notification="urge"),
                                                  "消息未能送达"),
    NotificationKind.MEMBER_UNREACHABLE: (MemberUnreachable(member="王科长", unit="区商务局", role=Role.MEMBER),
                                          "已屏蔽或删除了督办助手"),
}


def test_every_kind_has_a_payload_type_a_renderer_and_an_example() -> None:
    assert set(PAYLOADS) == set(NotificationKind)
    assert set(RENDERERS) == set(NotificationKind)
    assert set(EXAMPLES) == set(NotificationKind)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_each_kind_reads_back_from_the_stored_json_and_renders(kind: NotificationKind) -> None:
    payload, shown = EXAMPLES[kind]
    stored = jsonable(stored_payload(kind, payload))  # as the JSON column gives it back
    assert parse_payload(kind, stored) == payload
    text = "".join(visible_text(page) for page in notification(kind, stored).pages)
    assert shown in text


def test_stored_keys_are_those_the_outbox_has_always_kept() -> None:
    """Rows already in a database must keep rendering: the stored JSON keeps its keys, and a list
    item that is not a late reminder carries no "late" key."""
    payload, _ = EXAMPLES[NotificationKind.DUTIES_DUE]
    items = stored_payload(NotificationKind.DUTIES_DUE, payload)["items"]
    assert set(items[0]) == {"key", "task_id", "text", "unit", "due_on", "step", "days", "kind", "unit_id"}
    assert items[1]["late"] is True
    assert set(stored_payload(NotificationKind.URGE, EXAMPLES[NotificationKind.URGE][0])) == {
        "urger", "note", "unit", "tasks"}
    assert stored_payload(NotificationKind.REMINDER, STEP)["due_on"] == "2021-10-31"


def test_a_row_written_before_a_key_existed_still_renders() -> None:
    """A digest from before ``overdue_total`` was counted, and a row with a key no longer read."""
    stored = jsonable(stored_payload(NotificationKind.DIGEST, EXAMPLES[NotificationKind.DIGEST][0]))
    del stored["overdue_total"]
    stored["retired_key"] = 1
    text = "".join(visible_text(page) for page in notification(NotificationKind.DIGEST, stored).pages)
    assert "逾期最久的事项" in text and "周报" in text and "本年度工作要点" in text  # no title stored: no topic made up


def test_an_escalation_row_from_before_units_had_ids_renders_without_their_buttons() -> None:
    old_item = {k: v for k, v in jsonable(stored_payload(NotificationKind.REMINDER, STEP)).items() if k != "unit_id"}
    reply = notification(NotificationKind.OVERDUE_OFFICE, {"items": [old_item]})
    assert "共 1 项，涉及 1 个单位" in visible_text(reply.pages[0])
    assert [[b.text for b in row] for row in reply.buttons.inline_keyboard] == [["全部逾期事项"]]


def _office(session: Session, clock: FixedClock) -> Member:
    member = Member(user_id=str(90), address=str(90), name="督办办公室", role=Role.OFFICE, created_at=clock.now())
    session.add(member)
    session.flush()
    return member


def test_a_payload_missing_a_field_is_refused_when_queued_and_nothing_is_written(engine: Engine,
                                                                                 clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="tasks"), transaction(engine) as session:
        office = _office(session, clock)
        enqueue(session, clock, office, NotificationKind.URGE, Urge(urger="督办办", unit="区商务局"), "urge:1")
    with Session(engine) as session:
        assert session.exec(select(Outbox)).all() == []


def test_a_payload_built_without_validation_is_refused_when_queued(engine: Engine, clock: FixedClock) -> None:
    """A payload that skipped its checks (model_construct) without a field is caught by enqueue
    itself, not by the renderer at send time."""
    with pytest.raises(ValidationError, match="tasks"), transaction(engine) as session:
        office = _office(session, clock)
        enqueue(session, clock, office, NotificationKind.URGE, Urge.model_construct(urger="督办办", unit="区商务局"),
                "urge:1")
    with Session(engine) as session:
        assert session.exec(select(Outbox)).all() == []


def test_a_payload_of_another_kind_is_refused_when_queued_and_nothing_is_written(engine: Engine,
                                                                                 clock: FixedClock) -> None:
    verified = EXAMPLES[NotificationKind.COMPLETION_VERIFIED][0]
    with transaction(engine) as session:
        with pytest.raises(TypeError, match="CompletionVerified"):  # refused even with no one to tell
            notify_unit(session, clock, 1, NotificationKind.URGE, verified, "urge:1")
        office = _office(session, clock)
        with pytest.raises(TypeError, match="CompletionVerified"):
            notify_office(session, clock, NotificationKind.EXTENSION_REQUESTED, verified, "extension:1")
        with pytest.raises(TypeError, match="CompletionVerified"):
            enqueue(session, clock, office, NotificationKind.URGE, verified, "urge:1")
        session.flush()
        assert session.exec(select(Outbox)).all() == []


def test_a_misspelt_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="reviewr"):
        CompletionVerified(task_id=1, task_text="任务", reviewer="督办办", reviewr="督办办")  # type: ignore[call-arg]
