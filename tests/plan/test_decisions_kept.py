"""The office's decisions survive the document: re-importing the same, a corrected or a shortened
document, and restarting, never undo an extension, a verification or a review (both databases)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.cli import main
from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine, migrating, migration_config, transaction
from tasks.errors import ServiceError
from tasks.events import Actor
from tasks.models import Assignment, Event, Extension, GroupMember, Member, Report, Role, Task, Unit
from tasks.plan.directory import merge_unit
from tasks.plan.importer import import_file, prepare_database
from tasks.plan.store import ImportSummary
from tasks.plan.units import UnitDirectory
from tasks.work.duties import member_duty, report_completion, request_extension
from tasks.work.lookup import find_unit
from tasks.work.review import assign_unit, decide_extension, send_back, unassign_unit, verify
from tests.factories import bind

SEED = seed_path(MENTOUGOU_2021)
IMPORTER = Actor("office-admin", "import")
REF = "list:助力巩固拓展脱贫攻坚成果/消费帮扶"  # 区商务局 leads it, 10月底前
UNIT = "区商务局"
ROW_START = "\t消费帮扶\t完善区消费扶贫分中心服务功能"
EXTENDED_TO = date(2021, 11, 30)
TO_SEPTEMBER = timedelta(days=75)  # from the fixture clock's 2021-06-18 to 2021-09-01


def seed_row() -> str:
    return next(line for line in SEED.read_text(encoding="utf-8").splitlines() if line.startswith(ROW_START))


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SEED.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "corrected.txt"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def reimport(engine: Engine, clock: FixedClock, path: Path = SEED) -> ImportSummary:
    return import_file(engine, path, clock, IMPORTER, district="门头沟区")[1]


class Office:
    """The task's duty for 区商务局, a unit member and an office member, as the chat would have them."""

    def __init__(self, engine: Engine, clock: FixedClock) -> None:
        self.engine, self.clock = engine, clock
        reimport(engine, clock)
        self.member_id = bind(engine, clock, 501, Role.MEMBER, UNIT)
        self.office_id = bind(engine, clock, 502, Role.OFFICE)
        with Session(engine) as session:
            self.task_id = session.exec(select(Task.id).where(Task.ref == REF)).one()

    def act(self, work: Callable[[Session, Member, Member], object]) -> object:
        with transaction(self.engine) as session:
            member, office = session.get(Member, self.member_id), session.get(Member, self.office_id)
            return work(session, member, office)

    def duty_of(self, session: Session, member: Member):
        return member_duty(session, member, self.task_id)

    def assignment(self, unit: str = UNIT) -> Assignment:
        with Session(self.engine) as session:
            unit_id = session.exec(select(Unit.id).where(Unit.name == unit)).one()
            return session.exec(select(Assignment).where(Assignment.task_id == self.task_id,
                                                         Assignment.unit_id == unit_id)).one()

    def actions(self, *names: str) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(Event.action).where(col(Event.action).in_(names))
                                     .order_by(col(Event.id))).all())


# --- the decisions ---------------------------------------------------------------------------

def extension_approved(office: Office) -> None:
    def work(session: Session, member: Member, reviewer: Member) -> None:
        extension = request_extension(session, office.clock, member, office.duty_of(session, member), EXTENDED_TO,
                                      "场地改造推迟", today=date(2021, 9, 1))
        decide_extension(session, office.clock, reviewer, extension.id, approve=True)
    office.act(work)


def completion_verified(office: Office) -> None:
    def work(session: Session, member: Member, reviewer: Member) -> None:
        duty = office.duty_of(session, member)
        report_completion(session, office.clock, member, duty, "分中心已运营")
        verify(session, office.clock, reviewer, duty)
    office.act(work)


def completion_sent_back(office: Office) -> None:
    def work(session: Session, member: Member, reviewer: Member) -> None:
        duty = office.duty_of(session, member)
        report_completion(session, office.clock, member, duty, "分中心已运营")
        send_back(session, office.clock, reviewer, duty, "请补充采购台账")
    office.act(work)


def completion_awaiting_review(office: Office) -> None:
    office.act(lambda session, member, _reviewer: report_completion(
        session, office.clock, member, office.duty_of(session, member), "分中心已运营"))


def unit_added(office: Office) -> None:
    office.act(lambda session, _member, reviewer: assign_unit(
        session, office.clock, reviewer, office.task_id, find_unit(session, ADDED_UNIT)))


def unit_removed(office: Office) -> None:
    office.act(lambda session, _member, reviewer: unassign_unit(
        session, office.clock, reviewer, office.task_id, find_unit(session, UNIT)))


ADDED_UNIT = "区农业农村局"  # not named for the task by the document
DECISIONS = {"extension": extension_approved, "verified": completion_verified, "sent_back": completion_sent_back,
             "awaiting_review": completion_awaiting_review, "unit_added": unit_added, "unit_removed": unit_removed}
# What each decision leaves on a unit's duty: (unit, status, deadline in force, the audit events it wrote).
EXPECTED = {"extension": (UNIT, "open", EXTENDED_TO, ["extension.requested", "extension.approved"]),
            "verified": (UNIT, "done", date(2021, 10, 31), ["assignment.completion_reported", "assignment.verified"]),
            "sent_back": (UNIT, "open", date(2021, 10, 31),
                          ["assignment.completion_reported", "assignment.sent_back"]),
            "awaiting_review": (UNIT, "reported", date(2021, 10, 31), ["assignment.completion_reported"]),
            "unit_added": (ADDED_UNIT, "open", date(2021, 10, 31), ["assignment.assigned_by_office"]),
            "unit_removed": (UNIT, "withdrawn", date(2021, 10, 31), ["assignment.removed_by_office"])}
AUDIT = ("extension.requested", "extension.approved", "assignment.completion_reported", "assignment.verified",
         "assignment.sent_back", "assignment.assigned_by_office", "assignment.removed_by_office")


# --- the documents that follow them ----------------------------------------------------------

def same_document(office: Office, _tmp_path: Path) -> list[ImportSummary]:
    return [reimport(office.engine, office.clock)]


def corrected_document(office: Office, tmp_path: Path) -> list[ImportSummary]:
    """The deadline moves a month earlier than the document said (still before the extension)."""
    row = seed_row()
    return [reimport(office.engine, office.clock, variant(tmp_path, row, row.replace("10月底前", "9月底前")))]


def document_that_drops_the_task(office: Office, tmp_path: Path) -> list[ImportSummary]:
    """The task leaves the document, then a later edition puts it back."""
    dropped = reimport(office.engine, office.clock, variant(tmp_path, seed_row() + "\n", ""))
    with Session(office.engine) as session:
        assert session.exec(select(Task.status).where(Task.id == office.task_id)).one() == "withdrawn"
    return [dropped, reimport(office.engine, office.clock)]


def new_process(office: Office) -> None:
    """A new process on the same database: a new engine, and the seed directory synced as at start."""
    url = office.engine.url.render_as_string(hide_password=False)
    office.engine.dispose()
    office.engine = make_engine(url)
    prepare_database(office.engine, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)), office.clock, IMPORTER)


def restart(office: Office, _tmp_path: Path) -> list[ImportSummary]:
    """As `taskbot run` and the sandbox start: prepare the database, import the bundled document."""
    new_process(office)
    return [reimport(office.engine, office.clock)]


SCENARIOS = {"same": same_document, "corrected": corrected_document, "dropped": document_that_drops_the_task,
             "restart": restart}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("decision", DECISIONS)
def test_a_decision_survives_the_document(prepared_engine: Engine, clock: FixedClock, tmp_path: Path,
                                          decision: str, scenario: str) -> None:
    clock.advance(TO_SEPTEMBER)
    office = Office(prepared_engine, clock)
    DECISIONS[decision](office)
    unit, status, due_on, audit = EXPECTED[decision]
    before = office.assignment(unit)
    audit_before = office.actions(*AUDIT)
    assert (before.status, before.due_on) == (status, due_on)
    assert audit_before == audit

    clock.advance(timedelta(days=3))
    summaries = SCENARIOS[scenario](office, tmp_path)

    after = office.assignment(unit)
    # A corrected date applies to every live duty; an extension later than it stands, and a duty the
    # office took off keeps the date it had (it is set again if the office puts the unit back).
    follows = scenario == "corrected" and decision not in ("extension", "unit_removed")
    expected_due = date(2021, 9, 30) if follows else due_on
    assert (after.status, after.due_on) == (status, expected_due)
    assert office.actions(*AUDIT) == audit_before  # the decisions' trail is whole and nothing was decided again
    with Session(office.engine) as session:
        reports = session.exec(select(Report.review_status).where(Report.assignment_id == after.id)).all()
        extensions = session.exec(select(Extension.status).where(Extension.assignment_id == after.id)).all()
    review = {"verified": "accepted", "sent_back": "sent_back", "awaiting_review": "pending"}
    assert reports == ([review[decision]] if decision in review else [])
    assert extensions == (["approved"] if decision == "extension" else [])
    final = summaries[-1]
    counted = {"extension": final.extensions_in_force, "verified": final.verified,
               "awaiting_review": final.awaiting_review}
    if decision in counted:
        assert counted[decision] >= 1, "the summary says which decisions were kept"
    if scenario == "dropped" and decision in ("extension", "verified", "awaiting_review"):
        kept = [k.note for k in summaries[0].kept if k.task_id == office.task_id and k.unit == unit]
        assert kept and "保留" in kept[0]
    if decision in ("unit_added", "unit_removed"):
        kept = [k.note for k in final.kept if k.task_id == office.task_id and k.unit == unit]
        assert kept == ["文件未列该单位，办公室已将其加入该任务，保持不变" if decision == "unit_added"
                        else "文件列为责任单位，办公室已将其移出该任务，保持移出"]
    if scenario == "dropped" and decision in ("verified", "awaiting_review"):
        restored = [k.note for k in summaries[1].kept if k.task_id == office.task_id and k.unit == UNIT]
        assert restored == [f"任务重新列入文件，恢复为“{'已办结' if decision == 'verified' else '待审核'}”"]


def test_a_corrected_deadline_later_than_the_extension_wins_and_both_are_audited(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    clock.advance(TO_SEPTEMBER)
    office = Office(prepared_engine, clock)
    extension_approved(office)
    row = seed_row()
    summary = reimport(prepared_engine, clock, variant(tmp_path, row, row.replace("10月底前", "12月底前")))
    assert office.assignment().due_on == date(2021, 12, 31)
    assert office.assignment().extended_to == EXTENDED_TO
    assert [k.note for k in summary.kept if k.unit == UNIT] == [
        "文件时限改为 2021-12-31，晚于已批准的延期（2021-11-30），按文件执行"]
    # The document's change on the task, and what it meant for the extension on the unit's duty.
    assert office.actions("task.updated", "assignment.extension_superseded") == [
        "task.updated", "assignment.extension_superseded"]

    earlier = reimport(prepared_engine, clock, variant(tmp_path, row, row.replace("10月底前", "9月底前")))
    assert office.assignment().due_on == EXTENDED_TO
    assert [k.note for k in earlier.kept if k.unit == UNIT] == [
        "文件时限改为 2021-09-30，早于已批准的延期，仍按延期后的 2021-11-30 执行"]
    assert office.actions("assignment.extension_kept") == ["assignment.extension_kept"]


def test_taskbot_import_says_the_approved_extension_was_kept(prepared_engine: Engine, clock: FixedClock,
                                                            database_url: str) -> None:
    """Finding 1: /extend, /approve, then `taskbot import` of the same document."""
    clock.advance(TO_SEPTEMBER)
    office = Office(prepared_engine, clock)
    extension_approved(office)
    out = io.StringIO()
    assert main(["--database-url", database_url, "import"], stdout=out, clock=clock) == 0
    assert "没有任何改动" in out.getvalue()
    assert "保留办公室的决定：已批准的延期 1 项" in out.getvalue()
    assert office.assignment().due_on == EXTENDED_TO


def test_a_migrated_database_keeps_extensions_approved_before_the_migration(prepared_engine: Engine,
                                                                            clock: FixedClock) -> None:
    """An extension approved by the previous version has only its Extension row: the migration
    copies its date onto the duty, and the next import keeps it."""
    clock.advance(TO_SEPTEMBER)
    office = Office(prepared_engine, clock)
    extension_approved(office)
    with prepared_engine.connect() as connection, migrating(connection), connection.begin():  # 0015 by its own undoing
        command.downgrade(migration_config(connection), "0014")
    with prepared_engine.begin() as connection:  # the schema as revision 0007 left it
        for column in ("extended_to", "withdrawn_from", "office_choice"):
            connection.execute(text(f"ALTER TABLE assignment DROP COLUMN {column}"))
        connection.execute(text("ALTER TABLE invite DROP COLUMN revoked_at"))
        connection.execute(text("DROP TABLE inbox"))  # made by a later revision (0009)
        connection.execute(text("ALTER TABLE task DROP COLUMN officials"))  # and this one by 0010
        connection.execute(text("DROP INDEX ix_outbox_kind_created"))  # 0011
        for column in ("reached_on", "reached_by"):  # 0012
            connection.execute(text(f"ALTER TABLE milestone DROP COLUMN {column}"))
        for table in ("weblogin", "websession", "webkey"):  # 0013
            connection.execute(text(f"DROP TABLE {table}"))
        for index in ("ix_task_plan_category", "ix_outbox_sent", "ix_outbox_dead"):  # 0014
            connection.execute(text(f"DROP INDEX {index}"))
        connection.execute(text("DROP INDEX ix_assignment_unit_status_due_task"))
        connection.execute(text("CREATE INDEX ix_assignment_unit_status_due ON assignment (unit_id, status, due_on)"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    create_schema(prepared_engine)
    reimport(prepared_engine, clock)
    assert (office.assignment().extended_to, office.assignment().due_on) == (EXTENDED_TO, EXTENDED_TO)


@pytest.mark.parametrize("typed", [date(9999, 12, 30), date(2037, 1, 1)])
def test_an_extension_beyond_the_plans_horizon_is_refused(prepared_engine: Engine, clock: FixedClock,
                                                          typed: date) -> None:
    """Finding 2: a date near the calendar's end never reaches the clock."""
    clock.advance(TO_SEPTEMBER)
    office = Office(prepared_engine, clock)
    with pytest.raises(ServiceError, match="超出了本年度工作要点的时间范围"):
        office.act(lambda session, member, _reviewer: request_extension(
            session, clock, member, office.duty_of(session, member), typed, "无限期", today=date(2021, 9, 1)))
    assert office.assignment().due_on == date(2021, 10, 31)


@pytest.mark.parametrize("then", ["same", "restart"])
def test_a_name_the_office_merged_stays_merged(prepared_engine: Engine, clock: FixedClock, tmp_path: Path,
                                               then: str) -> None:
    """A name the directory did not know becomes a unit for review; the office merges it into the unit
    it means, and later imports read the name as that unit: no new unit, the duty stays where it went."""
    row = seed_row()
    document = variant(tmp_path, row, row.replace("区商务局、", "区商务局、区消费帮扶服务中心、"))
    office = Office(prepared_engine, clock)
    first = reimport(prepared_engine, clock, document)
    assert first.new_units == ["区消费帮扶服务中心"]
    office.act(lambda session, _member, reviewer: merge_unit(
        session, clock, Actor(reviewer.name, "chat"), find_unit(session, "区消费帮扶服务中心"),
        find_unit(session, ADDED_UNIT)))
    assert office.assignment(ADDED_UNIT).status == "open"

    if then == "restart":
        new_process(office)
    summary = reimport(office.engine, clock, document)
    assert (summary.new_units, summary.withdrawn, summary.assignments_changed) == ([], 0, 0)
    assert office.assignment(ADDED_UNIT).status == "open"
    with Session(office.engine) as session:
        assert find_unit(session, "区消费帮扶服务中心").name == ADDED_UNIT
        assert session.exec(select(Unit.kind).where(Unit.name == "区消费帮扶服务中心")).one() == "merged"
    assert office.actions("unit.merged") == ["unit.merged"]


def test_a_group_member_the_office_merged_stays_merged_when_the_directory_is_synced_again(
        prepared_engine: Engine, clock: FixedClock) -> None:
    """区总工会 is one of 领导小组各成员单位 in the seed directory; merged into another unit, a restart (which
    syncs the directory file again) and an import keep the merge, and the group names the unit it went into."""
    office = Office(prepared_engine, clock)
    office.act(lambda session, _member, reviewer: merge_unit(
        session, clock, Actor(reviewer.name, "chat"), find_unit(session, "区总工会"), find_unit(session, "区妇联")))
    new_process(office)
    summary = reimport(office.engine, clock)
    assert (summary.new_units, summary.withdrawn, summary.assignments_changed) == ([], 0, 0)
    with Session(office.engine) as session:
        group = find_unit(session, "领导小组各成员单位")
        members = {unit.name for unit in session.exec(select(Unit).join(
            GroupMember, col(GroupMember.member_id) == Unit.id).where(GroupMember.group_id == group.id)).all()}
    assert "区妇联" in members and "区总工会" not in members
