"""The ledger (台账) as the office's working copy of the bundled 2021 document: exported, edited in
Excel, imported back. Unedited it changes nothing at all; edits are applied exactly, each with its
event; a narrowed ledger touches nothing outside it and withdraws nothing; the state columns are
never read; another plan's ledger is refused (both databases)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from bot.cli import main
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.models import Assignment, Event, Member, OfficeChoice, Role, Task, TaskStatus, Unit
from tasks.plan.directory import merge_unit
from tasks.plan.importer import import_file
from tasks.plan.ledger import FILLED_HEADERS, IDENTITY_SHEET, LEDGER_SHEET
from tasks.work.duties import member_duty, report_completion, report_progress, request_extension
from tasks.work.lookup import find_unit
from tasks.work.review import assign_unit, decide_extension, unassign_unit, verify
from tests.dbstate import snapshot
from tests.factories import ADMIN, SEED_DOCUMENT, bind, seed_directory, seed_plan

CONSUMPTION = "list:助力巩固拓展脱贫攻坚成果/消费帮扶"  # 区商务局 leads, 20 units work with it, 10月底前
SUPPORT = "list:助力巩固拓展脱贫攻坚成果/倾斜支持"
FUNDS_POINT = "list:助推乡村振兴/资金项目#2"  # a numbered point of a task: a task of its own
COMMERCE, PLANNING = "区商务局", "区发展改革委"  # 区发展改革委 is not among 消费帮扶's units
EXTENDED_TO = date(2021, 12, 15)
SEPTEMBER = datetime(2021, 9, 1, 1, 0, tzinfo=UTC)
COLUMN = {header: index + 1 for index, header in enumerate(FILLED_HEADERS)}


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def taskbot(engine: Engine, *args: str, clock: FixedClock) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--database-url", url_of(engine), *args], stdout=out, clock=clock), out.getvalue()


def task_id(engine: Engine, ref: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Task.id).where(Task.ref == ref)).one()


def a_year_of_work(engine: Engine, clock: FixedClock) -> None:
    """The seed as the chat leaves it by September: 区商务局 reports progress on 消费帮扶 and has an
    extension approved, completes 倾斜支持 and the office verifies it."""
    clock.set(SEPTEMBER)
    commerce = bind(engine, clock, 501, Role.MEMBER, COMMERCE)
    office = bind(engine, clock, 503, Role.OFFICE)
    consumption, support = task_id(engine, CONSUMPTION), task_id(engine, SUPPORT)
    with transaction(engine) as session:
        member, reviewer = session.get(Member, commerce), session.get(Member, office)
        duty = member_duty(session, member, consumption)
        report_progress(session, clock, member, duty, "分中心改造完成一半", percent=50)
        extension = request_extension(session, clock, member, duty, EXTENDED_TO, "场地改造推迟", today=SEPTEMBER.date())
        decide_extension(session, clock, reviewer, extension.id, approve=True)
        duty = member_duty(session, member, support)
        report_completion(session, clock, member, duty, "资金已拨付")
        verify(session, clock, reviewer, duty)


def exported(engine: Engine, path: Path, clock: FixedClock, *filters: str) -> Path:
    code, said = taskbot(engine, "export", *filters, str(path), clock=clock)
    assert code == 0, said
    return path


def first_row(sheet: Worksheet, number: int) -> int:
    return next(row for row in range(3, sheet.max_row + 1) if sheet.cell(row, COLUMN["编号"]).value == number)


def edit(path: Path, change: Any) -> Path:
    """The ledger as the office saves it after editing it in Excel (here: openpyxl)."""
    workbook = load_workbook(path)
    change(workbook[LEDGER_SHEET])
    edited = path.with_name("改后台账.xlsx")
    workbook.save(edited)
    return edited


def events_since(engine: Engine, last: int) -> list[tuple[str, Any]]:
    with Session(engine) as session:
        return [(e.action, e.detail) for e in session.exec(select(Event).where(col(Event.id) > last)
                                                             .order_by(col(Event.id))).all()]


def last_event(engine: Engine) -> int:
    with Session(engine) as session:
        return max(session.exec(select(Event.id)).all())


def test_the_seed_exported_and_imported_back_changes_nothing(engine: Engine, clock: FixedClock,
                                                             tmp_path: Path) -> None:
    seed_plan(engine, clock)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)
    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(ledger), clock=clock)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in said
    assert "台账中 77 项任务" in said and "不在台账中" not in said  # 工作要点, tasks, their points, projects
    assert snapshot(engine) == before

    # And after the units and the office have worked on it: reports, an extension, a verification.
    a_year_of_work(engine, clock)
    ledger = exported(engine, tmp_path / "九月台账.xlsx", clock)
    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(ledger), clock=clock)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in said
    assert "保留办公室的决定：已批准的延期 1 项，已审核办结 1 项。" in said
    assert snapshot(engine) == before
    # The same file again, after the plan moved on: what the ledger held is no edit, nothing goes back.
    support = task_id(engine, SUPPORT)
    with transaction(engine) as session:
        task = session.get(Task, support)
        task.deadline_text = "11月底前"
    before = snapshot(engine)
    assert taskbot(engine, "import", str(ledger), clock=clock)[0] == 0
    assert snapshot(engine) == before


def test_edits_made_in_excel_are_applied_exactly_with_their_events(engine: Engine, clock: FixedClock,
                                                                  tmp_path: Path) -> None:
    seed_plan(engine, clock)
    a_year_of_work(engine, clock)
    consumption, point = task_id(engine, CONSUMPTION), task_id(engine, FUNDS_POINT)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)

    def office_edits(sheet: Worksheet) -> None:
        row = first_row(sheet, consumption)
        sheet.cell(row, COLUMN["完成时限"]).value = "11月底前"  # earlier than 区商务局's extension
        sheet.cell(row, COLUMN["配合单位"]).value = PLANNING  # on the lead's row, whose co cell was empty
        sheet.cell(first_row(sheet, point), COLUMN["任务内容"]).value = "动员社会各界力量捐助资金和物资。"
        new = sheet.max_row + 1
        for header, value in (("工作领域", "助力巩固拓展脱贫攻坚成果"), ("任务类别", "消费帮扶"),
                              ("任务内容", "组织秋季消费帮扶展销会。"), ("牵头单位", COMMERCE),
                              ("配合单位", "区农业农村局、区发改委"), ("完成时限", "10月15日前")):
            sheet.cell(new, COLUMN[header]).value = value

    edited = edit(ledger, office_edits)
    before, last = snapshot(engine), last_event(engine)
    code, preview = taskbot(engine, "import", str(edited), "--dry-run", clock=clock)
    assert code == 0 and snapshot(engine) == before  # a dry run says what it would do, and does nothing
    code, said = taskbot(engine, "import", str(edited), clock=clock)
    assert code == 0
    # Exactly what the dry run said (but the new task's number, which only the import gives it).
    assert re.sub(r"新增任务 \d+", "新增任务", said.split("\n", 1)[1]) == \
        re.sub(r"新增任务 \d+", "新增任务", preview.split("\n", 1)[1])
    assert "新增 1 项，修改 2 项，责任单位变动 4 处：" in said
    assert f"任务 {consumption}：修改完成时限（10月底前 → 11月底前）" in said
    assert f"任务 {consumption}：增加配合单位{PLANNING}" in said
    assert f"任务 {point}：修改任务内容" in said
    assert f"任务 {consumption}（{COMMERCE}）：文件时限改为 2021-11-30，早于已批准的延期，仍按延期后的 2021-12-15 执行" in said

    with Session(engine) as session:
        task = session.get(Task, consumption)
        assert (task.deadline, task.deadline_text) == (date(2021, 11, 30), "11月底前")
        dues = {name: (due, choice) for name, due, choice in session.exec(
            select(Unit.name, Assignment.due_on, Assignment.office_choice)
            .join(Assignment, col(Assignment.unit_id) == Unit.id).where(Assignment.task_id == consumption)).all()}
        assert dues[COMMERCE] == (EXTENDED_TO, None)  # the office's extension stands
        assert dues[PLANNING] == (date(2021, 11, 30), OfficeChoice.ADDED)
        assert dues["区财政局"] == (date(2021, 11, 30), None)
        assert session.get(Task, point).text == "动员社会各界力量捐助资金和物资。"
        new = session.exec(select(Task).where(Task.text == "组织秋季消费帮扶展销会。")).one()
        assert (new.kind, new.category, new.topic, new.deadline) == \
            ("task", "助力巩固拓展脱贫攻坚成果", "消费帮扶", date(2021, 10, 15))
        assert dict(session.exec(select(Unit.name, Assignment.role).join(Assignment, col(Assignment.unit_id) == Unit.id)
                                 .where(Assignment.task_id == new.id)).all()) == \
            {COMMERCE: "lead", "区农业农村局": "co", PLANNING: "co"}
    actions = [action for action, _detail in events_since(engine, last)]
    assert actions == ["task.updated", "assignment.extension_kept", "assignment.assigned_by_office", "task.updated",
                       "task.created", "plan.ledger_imported"]
    # Nothing else moved: every other task as it was.
    after = snapshot(engine)
    changed_tasks = {row for row in after["task"] if row not in before["task"]}
    assert {int(row[0]) for row in changed_tasks} == {consumption, point, new.id}
    assert len(after["task"]) == len(before["task"]) + 1 and after["importproblem"] == before["importproblem"]
    assert after["workteam"] == before["workteam"] and after["plan"] == before["plan"]


def test_a_narrowed_ledger_changes_nothing_outside_it_and_withdraws_nothing(engine: Engine, clock: FixedClock,
                                                                           tmp_path: Path) -> None:
    seed_plan(engine, clock)
    ledger = exported(engine, tmp_path / "商务局台账.xlsx", clock, "--unit", COMMERCE)
    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(ledger), clock=clock)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in said
    with Session(engine) as session:
        live = len(session.exec(select(Task.id).where(Task.status == TaskStatus.ACTIVE)).all())
    in_file = int(said.split("台账中 ")[1].split(" 项任务")[0])
    assert 0 < in_file < live and f"不在台账中的 {live - in_file} 项任务保持不变" in said
    assert snapshot(engine) == before

    # The office deletes a task's row and edits another: that edit, and nothing else, no task withdrawn.
    consumption = task_id(engine, CONSUMPTION)

    def office_edits(sheet: Worksheet) -> None:
        sheet.delete_rows(first_row(sheet, task_id(engine, SUPPORT)))
        sheet.cell(first_row(sheet, consumption), COLUMN["责任领导"]).value = "张三、李四"

    code, said = taskbot(engine, "import", str(edit(ledger, office_edits)), clock=clock)
    assert code == 0 and f"任务 {consumption}：修改责任领导" in said and "撤销 " not in said
    with Session(engine) as session:
        assert session.get(Task, consumption).officials == "张三、李四"
        assert session.exec(select(Task.id).where(Task.status == TaskStatus.WITHDRAWN)).all() == []
        # The 20 units the narrowed ledger did not show are on the task as before.
        assert len(session.exec(select(Assignment.id).where(Assignment.task_id == consumption,
                                                            Assignment.status != "withdrawn")).all()) == 21


def test_the_state_columns_are_never_read_and_the_import_says_so(engine: Engine, clock: FixedClock,
                                                                  tmp_path: Path) -> None:
    seed_plan(engine, clock)
    consumption = task_id(engine, CONSUMPTION)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)

    def office_edits(sheet: Worksheet) -> None:
        row = first_row(sheet, consumption)
        sheet.cell(row, COLUMN["办理状态"]).value = "已办结"
        sheet.cell(row, COLUMN["完成比例(%)"]).value = 100
        sheet.cell(row, COLUMN["类型"]).value = "项目"

    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(edit(ledger, office_edits)), clock=clock)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in said
    assert f"（任务 {consumption}，{COMMERCE}）：办理状态等只读列的改动未导入" in said
    assert snapshot(engine) == before


def test_a_unit_deleted_from_the_ledger_is_taken_off_and_the_document_does_not_put_it_back(
        engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    seed_plan(engine, clock)
    consumption = task_id(engine, CONSUMPTION)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)

    def office_edits(sheet: Worksheet) -> None:
        row = next(r for r in range(first_row(sheet, consumption), sheet.max_row + 1)
                   if sheet.cell(r, COLUMN["配合单位"]).value == "区财政局")
        sheet.cell(row, COLUMN["配合单位"]).value = None
        # The first row of the task after it deleted: its other units' rows are not the task above's.
        sheet.delete_rows(first_row(sheet, consumption + 1))

    code, said = taskbot(engine, "import", str(edit(ledger, office_edits)), clock=clock)
    assert code == 0 and "新增 0 项，修改 0 项，责任单位变动 1 处：\n" in said
    assert f"任务 {consumption}：移出区财政局" in said and "所属任务的首行不在表中，该行未导入" in said
    import_file(engine, SEED_DOCUMENT, clock, ADMIN, district=seed_directory().district)
    with Session(engine) as session:
        status, choice = session.exec(select(Assignment.status, Assignment.office_choice)
                                      .join(Unit, col(Unit.id) == Assignment.unit_id)
                                      .where(Assignment.task_id == consumption, Unit.name == "区财政局")).one()
    assert (status, choice) == ("withdrawn", OfficeChoice.REMOVED)


@pytest.mark.parametrize(("change", "said"), [
    (lambda sheet: sheet.parent[IDENTITY_SHEET].cell(4, 2, "门头沟区2022年支援合作工作要点"),
     "这份台账是《门头沟区2022年支援合作工作要点》（2021年）的，与数据库中的计划不符，未导入；台账只能导回导出它的计划"),
    (lambda sheet: sheet.cell(3, COLUMN["编号"], 99999), "第3行的编号 99999 不是《2021年门头沟区支援合作工作要点》中的任务"),
    (lambda sheet: sheet.cell(3, COLUMN["配合单位"], "区宇宙管理局"), "第3行的单位“区宇宙管理局”不在单位名录中，未导入"),
    (lambda sheet: sheet.cell(3, COLUMN["完成时限"], "尽快吧"), "第3行（任务 1）的完成时限“尽快吧”无法识别，未导入"),
])
def test_a_ledger_that_cannot_be_imported_is_one_sentence_and_changes_nothing(
        engine: Engine, clock: FixedClock, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any,
        said: str) -> None:
    seed_plan(engine, clock)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)
    edited = edit(ledger, lambda sheet: (change(sheet), sheet.cell(3, COLUMN["任务内容"], "改过的第一项要点。")))
    before = snapshot(engine)
    code, _out = taskbot(engine, "import", str(edited), clock=clock)
    error = capsys.readouterr().err
    assert code != 0 and said in error and "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert snapshot(engine) == before


def test_decisions_the_office_took_after_the_export_survive_importing_it(engine: Engine, clock: FixedClock,
                                                                        tmp_path: Path) -> None:
    """The office puts a unit on a task, takes one off, merges a name and approves an extension in chat,
    then imports a ledger exported before all that: the ledger said nothing new, nothing goes back."""
    seed_plan(engine, clock)
    consumption = task_id(engine, CONSUMPTION)
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)
    clock.set(SEPTEMBER)
    commerce = bind(engine, clock, 501, Role.MEMBER, COMMERCE)
    office = bind(engine, clock, 503, Role.OFFICE)
    with transaction(engine) as session:
        member, reviewer = session.get(Member, commerce), session.get(Member, office)
        assign_unit(session, clock, reviewer, consumption, find_unit(session, "区农业农村局"))
        unassign_unit(session, clock, reviewer, consumption, find_unit(session, "区财政局"))
        merge_unit(session, clock, ADMIN, find_unit(session, "前方挂职干部"), find_unit(session, "区委组织部"))
        extension = request_extension(session, clock, member, member_duty(session, member, consumption), EXTENDED_TO,
                                      "场地改造推迟", today=SEPTEMBER.date())
        decide_extension(session, clock, reviewer, extension.id, approve=True)
    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(ledger), clock=clock)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in said and "已批准的延期 1 项" in said
    assert snapshot(engine) == before


def test_a_task_cell_typed_on_a_units_row_below_is_said_to_belong_on_the_tasks_first_row(
        engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    seed_plan(engine, clock)
    with Session(engine) as session:  # a task of several units whose 责任领导 cell is empty
        shared = session.exec(select(Assignment.task_id).join(Task, col(Task.id) == Assignment.task_id)
                              .where(Task.officials == "").group_by(col(Assignment.task_id))
                              .having(func.count() > 1).order_by(col(Assignment.task_id))).first()
    ledger = exported(engine, tmp_path / "台账.xlsx", clock)

    def office_edits(sheet: Worksheet) -> None:
        sheet.cell(first_row(sheet, shared) + 1, COLUMN["责任领导"]).value = "张副区长"

    before = snapshot(engine)
    code, said = taskbot(engine, "import", str(edit(ledger, office_edits)), clock=clock)
    assert code == 0 and "责任领导请写在该任务的第一行（编号所在行），这一行里的未导入" in said
    assert snapshot(engine) == before
