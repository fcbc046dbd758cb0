"""The planner: which duties it chases, and how it finds the due ones among a million."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.context import BotContext
from bot.render import notification
from seed import MENTOUGOU_2021, seed_path
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Assignment, Member, Outbox, Role, Task, Unit
from tasks.plan.importer import import_file
from tasks.work.duties import member_duty, report_completion
from tasks.work.review import one_reported_duty, send_back, verify
from tests.factories import ADMIN, bind

SH = ZoneInfo("Asia/Shanghai")
REF = "list:加强区域协作/引导企业"  # 区科技和信息化局 leads it, 10月底前
LEAD_UNIT = "区科技和信息化局"
POLICY, CALENDAR = Policy(timezone=SH), WorkCalendar()


def tick(engine: Engine, clock: FixedClock, limit: int = planner.BATCH) -> None:
    planner.run_tick(BotContext(engine, clock, SH, "门头沟区").in_transaction, clock, POLICY, CALENDAR, limit)


def rows_about(engine: Engine, task_id: int, since: datetime) -> list[Outbox]:
    """Notifications queued since ``since`` that name the task (alone or in a list)."""
    def names(payload: dict[str, Any]) -> bool:
        return payload.get("task_id") == task_id or any(i.get("task_id") == task_id for i in payload.get("items", []))

    return [r for r in rows_since(engine, since) if names(r.payload)]


def rows_since(engine: Engine, since: datetime) -> list[Outbox]:
    with transaction(engine) as session:
        return list(session.exec(select(Outbox).where(col(Outbox.created_at) >= since)).all())


EVE = datetime(2021, 10, 14, 1, 35, tzinfo=UTC)  # the day before the d10 reminders of 10月底前
MORNING = datetime(2021, 10, 15, 1, 35, tzinfo=UTC)


def planned_to_the_eve(engine: Engine, clock: FixedClock) -> tuple[list[tuple[str, int, date]], dict[str, set[int]]]:
    """The seed imported and planned up to the eve while nobody is bound (so nothing earlier is sent
    later); its dated duties as (unit, task, deadline), and each unit's tasks due on 10/31."""
    import_file(engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    clock.moment = EVE
    tick(engine, clock)
    with transaction(engine) as session:
        dated = list(session.exec(select(Unit.name, Assignment.task_id, Assignment.due_on)
                                  .join(Unit, col(Unit.id) == Assignment.unit_id)
                                  .where(col(Assignment.due_on).is_not(None))).all())
    due_on_31: dict[str, set[int]] = {}
    for unit, task, due_on in dated:
        if due_on == date(2021, 10, 31):
            due_on_31.setdefault(unit, set()).add(task)
    return dated, due_on_31


def kinds_about(row: Outbox, task_id: int) -> set[str]:
    """What the row tells about the task: a card is of its kind; a unit's list names each item's kind."""
    if row.kind == "duties_due":
        return {i["kind"] for i in row.payload["items"] if i["task_id"] == task_id}
    return {row.kind}


def the_task(engine: Engine) -> Task:
    with transaction(engine) as session:
        return session.exec(select(Task).where(Task.ref == REF)).one()


def after_deadline(task: Task, workdays: int = 0) -> datetime:
    """Half an hour after the send time on the ``workdays``-th working day after the first overdue one."""
    day = CALENDAR.shift(CALENDAR.after(task.deadline), workdays)
    return datetime.combine(day, time(POLICY.send_at.hour, POLICY.send_at.minute + 30), tzinfo=SH)


def test_the_due_query_is_answered_from_the_next_check_index_whatever_the_statistics(tmp_path: Path) -> None:
    # A database that was never analysed (it grew through small imports, or was just migrated): with a
    # status condition in the due query SQLite chose the (status, due_on) index here, walked every open
    # assignment and sorted them — 1.4 s a tick at a million.
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    create_schema(engine)
    compiled = planner.due_query(datetime(2021, 10, 15, tzinfo=UTC), 500, "sqlite").compile(dialect=engine.dialect)
    parameters = tuple(str(compiled.params[name]) for name in compiled.positiontup or ())
    with engine.connect() as connection:
        plan = " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters))
    engine.dispose()
    assert "INDEX ix_assignment_next_check " in plan and "TEMP B-TREE" not in plan, plan


def test_a_unit_hears_of_one_batch_in_one_list_and_of_a_lone_step_in_its_card(prepared_engine: Engine,
                                                                             clock: FixedClock) -> None:
    dated, due_on_31 = planned_to_the_eve(prepared_engine, clock)
    # Another unit whose dated duties all fall due on 10/31, all but one of them reported done before.
    lone_unit = next(name for name, tasks in due_on_31.items()
                     if name != "区商务局" and len(tasks) > 1 and len(tasks) == sum(u == name for u, _t, _d in dated))
    left = min(due_on_31[lone_unit])
    assert len(due_on_31["区商务局"]) > 1
    many = [bind(prepared_engine, clock, user_id, Role.MEMBER, "区商务局") for user_id in (701, 702)]
    lone = bind(prepared_engine, clock, 703, Role.MEMBER, lone_unit)
    with transaction(prepared_engine) as session:
        member = session.get(Member, lone)
        for task_id in due_on_31[lone_unit] - {left}:
            report_completion(session, clock, member, member_duty(session, member, task_id), "已完成")
    clock.moment = MORNING
    tick(prepared_engine, clock)
    rows = rows_since(prepared_engine, MORNING)
    by_member = {member_id: [r for r in rows if r.member_id == member_id] for member_id in [*many, lone]}

    for member_id in many:  # one message each, naming every task of the unit that the morning reminds of
        [row] = by_member[member_id]
        assert row.kind == "duties_due"
        # (The same list carries the steps of the unit's milestones that fall that morning: each names its milestone.)
        deadlines = [i for i in row.payload["items"] if "milestone" not in i]
        assert {i["task_id"] for i in deadlines} == due_on_31["区商务局"]
        assert {i["kind"] for i in deadlines} == {"reminder"}
    assert len({r.dedupe_key.rsplit(":", 1)[0] for m in many for r in by_member[m]}) == 1  # one occasion
    [card] = by_member[lone]
    assert card.kind == "reminder" and card.payload["task_id"] == left

    tick(prepared_engine, clock)  # the same morning again: nothing more
    assert len(rows_since(prepared_engine, MORNING)) == len(rows)


def test_a_tick_of_several_batches_takes_the_due_duties_a_unit_at_a_time(prepared_engine: Engine,
                                                                        clock: FixedClock) -> None:
    _dated, due_on_31 = planned_to_the_eve(prepared_engine, clock)
    busiest = sorted(due_on_31, key=lambda name: -len(due_on_31[name]))[:4]
    members = {bind(prepared_engine, clock, 800 + n, Role.MEMBER, name): name for n, name in enumerate(busiest)}
    clock.moment = MORNING
    limit = max(len(due_on_31[name]) for name in busiest)  # each of these units fits in one batch
    assert sum(len(tasks) for tasks in due_on_31.values()) > 3 * limit  # and the morning takes several
    tick(prepared_engine, clock, limit=limit)
    rows = rows_since(prepared_engine, MORNING)
    for member_id, name in members.items():
        received = [r for r in rows if r.member_id == member_id]
        # A unit's duties are consecutive in the due order: at most the end of one batch and the
        # start of the next (taken in the order of ids, each unit would hear in many batches).
        assert 1 <= len(received) <= 2
        reminded = {i["task_id"] for r in received for i in r.payload.get("items", [r.payload])
                    if i.get("kind", r.kind) == "reminder"}
        assert reminded == due_on_31[name]


def test_a_duty_waiting_for_review_is_not_chased_until_it_is_sent_back(prepared_engine: Engine,
                                                                       clock: FixedClock) -> None:
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    member_id = bind(prepared_engine, clock, 501, Role.MEMBER, LEAD_UNIT)
    office_id = bind(prepared_engine, clock, 502, Role.OFFICE)
    tick(prepared_engine, clock)
    task = the_task(prepared_engine)
    clock.moment = datetime(2021, 10, 20, 2, tzinfo=UTC)
    with transaction(prepared_engine) as session:
        member = session.get(Member, member_id)
        report_completion(session, clock, member, member_duty(session, member, task.id), "已完成")
    clock.moment = after_deadline(task)
    overdue_at = clock.now()
    tick(prepared_engine, clock)
    assert not [r for r in rows_about(prepared_engine, task.id, overdue_at) if r.member_id == member_id]

    with transaction(prepared_engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == LEAD_UNIT)).one()
        send_back(session, clock, session.get(Member, office_id), one_reported_duty(session, task.id, unit),
                  "请补充验收材料")
    sent_back_at = clock.now()
    clock.moment = after_deadline(task, POLICY.office_after)  # the ladder's next rung after the send-back
    tick(prepared_engine, clock)
    chased = [r for r in rows_about(prepared_engine, task.id, sent_back_at) if r.kind.startswith("overdue")]
    assert chased, "sent back, the duty is chased again"


def test_a_task_withdrawn_and_put_back_is_chased_again(prepared_engine: Engine, clock: FixedClock,
                                                       tmp_path: Path) -> None:
    document = seed_path(MENTOUGOU_2021)
    import_file(prepared_engine, document, clock, ADMIN, district="门头沟区")
    member_id = bind(prepared_engine, clock, 601, Role.MEMBER, LEAD_UNIT)
    tick(prepared_engine, clock)
    text = document.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("\t引导企业"))
    without = tmp_path / "without.txt"
    without.write_text(text.replace(row + "\n", ""), encoding="utf-8")
    import_file(prepared_engine, without, clock, ADMIN, district="门头沟区")
    withdrawn_at = clock.now()
    clock.moment = datetime(2021, 10, 20, 2, tzinfo=UTC)  # its d10 reminder has come: the planner lets it go
    tick(prepared_engine, clock)
    task = the_task(prepared_engine)
    assert task.status == "withdrawn" and not rows_about(prepared_engine, task.id, withdrawn_at)

    import_file(prepared_engine, document, clock, ADMIN, district="门头沟区")  # put back
    clock.moment = after_deadline(task)
    overdue_at = clock.now()
    tick(prepared_engine, clock)
    assert [r for r in rows_about(prepared_engine, task.id, overdue_at)
            if r.member_id == member_id and "overdue" in kinds_about(r, task.id)]


def test_one_duty_the_clock_cannot_plan_does_not_stop_anyone_elses(engine: Engine, clock: FixedClock) -> None:
    """Finding 2: an extension to 9999-12-30 (approved before dates were bounded) made every tick fail,
    so nobody in the district heard anything. Now that duty is set aside, the office hears of it
    once, and every other unit's reminders go out."""
    _dated, due_on_31 = planned_to_the_eve(engine, clock)
    bind(engine, clock, 901, Role.MEMBER, LEAD_UNIT)
    other_unit = next(unit for unit in sorted(due_on_31) if unit != LEAD_UNIT)
    bind(engine, clock, 902, Role.MEMBER, other_unit)
    bind(engine, clock, 903, Role.OFFICE)
    task = the_task(engine)
    with transaction(engine) as session:
        unit_id = session.exec(select(Unit.id).where(Unit.name == LEAD_UNIT)).one()
        broken = session.exec(select(Assignment).where(Assignment.task_id == task.id,
                                                       Assignment.unit_id == unit_id)).one()
        broken.due_on = broken.extended_to = date(9999, 12, 30)
        broken.next_check_at = EVE
        broken_id = broken.id
    clock.moment = MORNING
    tick(engine, clock)
    rows = rows_since(engine, MORNING)
    other_tasks = {i["task_id"] for r in rows if r.address == "902" for i in [r.payload, *r.payload.get("items", [])]
                   if "task_id" in i}
    assert other_tasks & due_on_31[other_unit], "the other unit still hears of its 10/31 duties"
    faults = [r for r in rows if r.kind == "duty_unplannable"]
    assert [(int(r.address), r.payload["task_id"], r.payload["unit"]) for r in faults] == [(903, task.id, LEAD_UNIT)]
    assert "自动提醒已暂停" in notification(faults[0].kind, faults[0].payload).pages[0]
    with transaction(engine) as session:
        assert session.get(Assignment, broken_id).next_check_at is None  # set aside until someone changes it
    clock.moment = MORNING + (MORNING - EVE)
    tick(engine, clock)
    assert not [r for r in rows_since(engine, MORNING + (MORNING - EVE)) if r.kind == "duty_unplannable"], "reported once"


def test_after_downtime_a_passed_deadline_is_chased_as_overdue_never_reminded(prepared_engine: Engine,
                                                                              clock: FixedClock) -> None:
    # Down from the eve of the d10 reminders to the morning after the 10/31 deadline: every reminder of
    # those tasks fell in the gap, and so did the deadline. The unit hears they are overdue, not that
    # they are due "in -1 days" (补发).
    _dated, due_on_31 = planned_to_the_eve(prepared_engine, clock)
    member_id = bind(prepared_engine, clock, 901, Role.MEMBER, "区商务局")
    clock.moment = after_deadline(the_task(prepared_engine))
    today = clock.now().astimezone(SH).date()
    assert today == date(2021, 11, 1)
    tick(prepared_engine, clock)
    rows = [r for r in rows_since(prepared_engine, clock.now()) if r.member_id == member_id]
    items = [{"kind": r.kind, **i} for r in rows for i in r.payload.get("items", [r.payload])]
    reminded = [i for i in items if i["kind"] in ("reminder", "reminders_folded")]
    assert all(date.fromisoformat(str(i["due_on"])) >= today for i in reminded), reminded
    assert {i["task_id"] for i in items if i["kind"] == "overdue"} >= due_on_31["区商务局"]
    text = "\n".join(page for r in rows for page in notification(r.kind, r.payload).pages)
    assert "还有-" not in text and "逾期未办结" in text


def test_the_digest_goes_out_on_the_first_working_day_of_the_week_never_on_a_holiday(prepared_engine: Engine,
                                                                                      clock: FixedClock) -> None:
    # 2021: Mid-Autumn takes Monday 9/20 and Tuesday 9/21, National Day 10/1–10/7 (a Friday to a Thursday).
    office_id = bind(prepared_engine, clock, 951, Role.OFFICE)
    sent: dict[date, int] = {}
    day = date(2021, 9, 13)
    while day <= date(2021, 10, 17):
        clock.moment = datetime.combine(day, time(9, 30), tzinfo=SH)
        tick(prepared_engine, clock)
        sent[day] = len([r for r in rows_since(prepared_engine, clock.now())
                         if r.kind == "digest" and r.member_id == office_id])
        day += timedelta(days=1)
    # Independently: each week's first day that chinese_calendar calls a working day.
    weeks: dict[date, date] = {}
    for day in sorted(sent):
        if chinese_calendar.is_workday(day):
            weeks.setdefault(day - timedelta(days=day.weekday()), day)
    assert sorted(weeks.values()) == [date(2021, 9, 13), date(2021, 9, 22), date(2021, 9, 27), date(2021, 10, 8),
                                      date(2021, 10, 11)]
    assert {day for day, n in sent.items() if n} == set(weeks.values())
    assert all(n == 1 for n in sent.values() if n)


def test_a_digest_moved_by_a_holiday_still_tells_everything_since_the_last_one(prepared_engine: Engine,
                                                                               clock: FixedClock) -> None:
    # Verified on Tuesday 9/14, after Monday 9/13's digest: the next digest, moved to Wednesday 9/22 by
    # Mid-Autumn, must still list it (a week back from Wednesday reaches only to Wednesday 9/15).
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    member_id = bind(prepared_engine, clock, 961, Role.MEMBER, LEAD_UNIT)
    office_id = bind(prepared_engine, clock, 962, Role.OFFICE)
    task = the_task(prepared_engine)
    clock.moment = datetime(2021, 9, 13, 9, 30, tzinfo=SH)
    tick(prepared_engine, clock)
    with transaction(prepared_engine) as session:
        member = session.get(Member, member_id)
        report_completion(session, clock, member, member_duty(session, member, task.id), "已完成")
    clock.moment = datetime(2021, 9, 14, 10, 0, tzinfo=SH)
    with transaction(prepared_engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == LEAD_UNIT)).one()
        verify(session, clock, session.get(Member, office_id), one_reported_duty(session, task.id, unit))
    clock.moment = datetime(2021, 9, 22, 9, 30, tzinfo=SH)
    tick(prepared_engine, clock)
    [digest] = [r for r in rows_since(prepared_engine, clock.now()) if r.kind == "digest"]
    assert task.id in {item["task_id"] for item in digest.payload["newly_done"]}
