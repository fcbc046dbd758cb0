"""The ledger (台账) as a file: ``taskbot export`` writes the plan's tasks with each unit's state and a
sheet by unit; the office can edit it and import it back, and importing it unedited changes nothing
(both databases)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
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
from tasks.errors import ServiceError
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    Event,
    Extension,
    Member,
    Report,
    Role,
    Task,
    Unit,
    WorkTeam,
    WorkTeamLead,
)
from tasks.plan.importer import import_file
from tasks.plan.ledger import FILLED_HEADERS, LEDGER_SHEET, UNIT_SHEET, LedgerFile, ledger_workbook
from tasks.work.duties import member_duty, report_completion, report_progress, request_extension
from tasks.work.review import decide_extension, verify
from tests.factories import ADMIN, bind, seed_directory, seed_plan, write_office_workbook

TODAY = date(2021, 11, 15)  # after the task list's 10月底前, before the extension's date
EXTENDED_TO = date(2021, 11, 30)
CONSUMPTION = "list:助力巩固拓展脱贫攻坚成果/消费帮扶"  # 区商务局 alone, 10月底前
SUPPORT = "list:助力巩固拓展脱贫攻坚成果/倾斜支持"  # 区农业农村局 and 区商务局 lead it, 10月底前
COMMERCE, FARMING = "区商务局", "区农业农村局"
HEADERS = list(FILLED_HEADERS)
DISTRICT = seed_directory().district


def office_plan(engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    """The task list as an office keeps it in Excel, imported; then, in September, what the chat
    does: 区商务局 reports progress on 消费帮扶 and gets an extension, completes 倾斜支持 and the office
    verifies it; 区农业农村局 reports 倾斜支持 complete, which waits for review."""
    workbook = tmp_path / "任务清单.xlsx"
    write_office_workbook(workbook)
    import_file(engine, workbook, clock, ADMIN, district=DISTRICT)
    clock.set(datetime(2021, 9, 1, 1, 0, tzinfo=UTC))
    commerce = bind(engine, clock, 501, Role.MEMBER, COMMERCE)
    farming = bind(engine, clock, 502, Role.MEMBER, FARMING)
    office = bind(engine, clock, 503, Role.OFFICE)
    with transaction(engine) as session:
        member, reviewer = session.get(Member, commerce), session.get(Member, office)
        consumption, support = task_id(session, CONSUMPTION), task_id(session, SUPPORT)
        duty = member_duty(session, member, consumption)
        report_progress(session, clock, member, duty, "分中心改造完成一半", percent=50)
        extension = request_extension(session, clock, member, duty, EXTENDED_TO, "场地改造推迟", today=date(2021, 9, 1))
        decide_extension(session, clock, reviewer, extension.id, approve=True)
        duty = member_duty(session, member, support)
        report_completion(session, clock, member, duty, "资金已拨付")
        verify(session, clock, reviewer, duty)
        report_completion(session, clock, session.get(Member, farming),
                          member_duty(session, session.get(Member, farming), support), "项目已落地")


def task_id(session: Session, ref: str) -> int:
    return session.exec(select(Task.id).where(Task.ref == ref)).one()


def export(engine: Engine, **filters: Any) -> LedgerFile:
    with Session(engine) as session:
        return ledger_workbook(session, TODAY, district=DISTRICT, **filters)


def sheet_of(ledger: LedgerFile, name: str = LEDGER_SHEET) -> Worksheet:
    return load_workbook(io.BytesIO(ledger.content))[name]


def unit_rows(sheet: Worksheet) -> list[dict[str, Any]]:
    """Each unit's row with its task's words (written once, on the first of the task's rows); the
    row of a task with no unit of its own (one tracked through its sub-items) left out."""
    rows, text = [], None
    for cells in sheet.iter_rows(min_row=3):
        values = dict(zip(HEADERS, [cell.value for cell in cells], strict=True))
        text = values["任务内容"] or text
        if values["牵头单位"] or values["配合单位"]:
            rows.append({**values, "任务内容": text, "unit": values["牵头单位"] or values["配合单位"],
                         "red": cells[HEADERS.index("办理状态")].fill.fgColor.rgb.endswith("FFC7CE")})
    return rows


def row_of(rows: list[dict[str, Any]], text_start: str, unit: str) -> dict[str, Any]:
    return next(r for r in rows if r["任务内容"].startswith(text_start) and r["unit"] == unit)


def late_pairs(engine: Engine) -> set[tuple[int, str]]:
    """(task, unit) of every open or reported duty past its deadline on TODAY, from the database."""
    with Session(engine) as session:
        rows = session.exec(select(Task.id, Unit.name).join(Assignment, col(Assignment.task_id) == Task.id)
                            .join(Unit, col(Unit.id) == Assignment.unit_id)
                            .where(col(Assignment.status).in_(OPEN_STATUSES), col(Assignment.due_on) < TODAY)).all()
    return set(rows)


def test_the_ledger_shows_each_units_state_with_overdue_rows_in_red(prepared_engine: Engine, clock: FixedClock,
                                                                    tmp_path: Path) -> None:
    office_plan(prepared_engine, clock, tmp_path)
    ledger = export(prepared_engine)
    assert ledger.file_name == "台账-2021-11-15.xlsx"
    sheet = sheet_of(ledger)
    assert sheet["A1"].value == "门头沟区2021年支援合作工作任务清单"
    assert [cell.value for cell in sheet[2]] == HEADERS
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:Q{sheet.max_row}"  # the hidden 台账校验 column after it
    rows = unit_rows(sheet)
    assert ledger.rows == sheet.max_row - 2 >= len(rows)

    consumption = row_of(rows, "完善区消费扶贫分中心", COMMERCE)
    assert (consumption["办理状态"], consumption["最新反馈"], consumption["完成比例(%)"]) == ("未办结", "分中心改造完成一半", 50)
    assert consumption["反馈日期"].date() == date(2021, 9, 1)
    assert (consumption["延期情况"], consumption["逾期天数"], consumption["red"]) == ("已批准延期至2021-11-30", 0, False)
    support = [r for r in rows if r["unit"] in (COMMERCE, FARMING) and r["任务内容"] == support_text(prepared_engine)]
    by_unit = {r["unit"]: r for r in support}
    assert by_unit[COMMERCE]["牵头单位"] == COMMERCE and by_unit[FARMING]["牵头单位"] == FARMING
    assert (by_unit[COMMERCE]["办理状态"], by_unit[COMMERCE]["办结审核日期"].date(), by_unit[COMMERCE]["red"]) == \
        ("已办结", date(2021, 9, 1), False)
    # A completion waiting for review past the deadline is still late: the office has not accepted it.
    assert (by_unit[FARMING]["办理状态"], by_unit[FARMING]["逾期天数"], by_unit[FARMING]["red"]) == ("待审核", 15, True)

    # Red exactly on the rows of units late on TODAY, as the database counts them.
    assert all(r["red"] == (r["逾期天数"] > 0) for r in rows)
    assert sum(r["red"] for r in rows) == len(late_pairs(prepared_engine)) > 0
    # A task's words are written once, merged down over its units' rows.
    assert any(str(merged).startswith("F") and merged.max_row > merged.min_row for merged in sheet.merged_cells.ranges)
    # Each row carries its task's number (the chat's), and a hidden column what was exported on it.
    assert consumption["编号"] == task_id_of(prepared_engine, CONSUMPTION)
    assert sheet.column_dimensions["R"].hidden and sheet.parent["台账标识"].sheet_state == "hidden"


def task_id_of(engine: Engine, ref: str) -> int:
    with Session(engine) as session:
        return task_id(session, ref)


def support_text(engine: Engine) -> str:
    with Session(engine) as session:
        return session.exec(select(Task.text).where(Task.ref == SUPPORT)).one()


def test_the_second_sheet_counts_each_unit_worst_first(prepared_engine: Engine, clock: FixedClock,
                                                       tmp_path: Path) -> None:
    office_plan(prepared_engine, clock, tmp_path)
    ledger = export(prepared_engine)
    rows = unit_rows(sheet_of(ledger))
    units = sheet_of(ledger, UNIT_SHEET)
    assert [cell.value for cell in units[2]] == ["单位", "分工", "办结", "待审核", "逾期", "完成率"]
    figures = [[cell.value for cell in cells] for cells in units.iter_rows(min_row=3)]
    assert {f[0] for f in figures} == {r["unit"] for r in rows}
    commerce = next(f for f in figures if f[0] == COMMERCE)
    commerce_rows = [r for r in rows if r["unit"] == COMMERCE]
    assert commerce[1:5] == [len(commerce_rows), 1, 0, sum(r["red"] for r in commerce_rows)]
    assert commerce[5] == pytest.approx(1 / len(commerce_rows), abs=1e-4)
    farming = next(f for f in figures if f[0] == FARMING)
    assert farming[3] == 1  # its completion waits for review
    overdue = [f[4] for f in figures]
    assert overdue == sorted(overdue, reverse=True) and overdue[0] > 0


def test_filters_narrow_the_rows(prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    office_plan(prepared_engine, clock, tmp_path)
    everything = unit_rows(sheet_of(export(prepared_engine)))

    commerce = export(prepared_engine, unit="商务局")
    assert commerce.title.endswith("（商务局）")
    commerce_rows = unit_rows(sheet_of(commerce))
    assert {r["unit"] for r in commerce_rows} == {COMMERCE}
    assert len(commerce_rows) == sum(r["unit"] == COMMERCE for r in everything)

    towns = unit_rows(sheet_of(export(prepared_engine, unit="各镇街")))
    with Session(prepared_engine) as session:
        members = set(session.exec(select(Unit.name).where(col(Unit.kind).in_(("town", "street")))).all())
    assert towns and {r["unit"] for r in towns} <= members

    late = unit_rows(sheet_of(export(prepared_engine, status="逾期")))
    assert len(late) == sum(r["red"] for r in everything) and all(r["red"] for r in late)
    waiting = unit_rows(sheet_of(export(prepared_engine, status="reported")))
    assert [(r["unit"], r["办理状态"]) for r in waiting] == [(FARMING, "待审核")]
    done = unit_rows(sheet_of(export(prepared_engine, status="已办结", unit=COMMERCE)))
    assert [(r["unit"], r["办理状态"]) for r in done] == [(COMMERCE, "已办结")]


def test_a_work_team_narrows_to_its_lead_units(engine: Engine, clock: FixedClock) -> None:
    seed_plan(engine, clock)
    ledger = export(engine, team="消费帮扶")
    with Session(engine) as session:
        leads = set(session.exec(select(Unit.name).join(WorkTeamLead, col(WorkTeamLead.unit_id) == Unit.id)
                                 .join(WorkTeam, col(WorkTeam.id) == WorkTeamLead.team_id)
                                 .where(col(WorkTeam.name).contains("消费帮扶"))).all())
    assert ledger.rows and {r["unit"] for r in unit_rows(sheet_of(ledger))} <= leads


@pytest.mark.parametrize(("option", "value", "said"), [("--unit", "不存在局", "未找到单位“不存在局”"),
                                                       ("--team", "无此专班", "未找到工作专班“无此专班”"),
                                                       ("--status", "完成了", "不认识状态“完成了”")])
def test_a_filter_that_matches_nothing_is_refused_and_writes_no_file(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        option: str, value: str, said: str) -> None:
    office_plan(prepared_engine, clock, tmp_path)
    with pytest.raises(ServiceError, match=said):
        export(prepared_engine, **{option.removeprefix("--"): value})
    out = tmp_path / "台账.xlsx"
    code = main(["--database-url", url_of(prepared_engine), "export", option, value, str(out)], stdout=io.StringIO(),
                clock=FixedClock(datetime(2021, 11, 15, 1, tzinfo=UTC)))
    error = capsys.readouterr().err
    assert code != 0 and said in error and "Traceback" not in error
    assert not out.exists()


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import could change and the office has decided, as rows to compare."""
    with Session(engine) as session:
        return {
            "tasks": sorted(session.exec(select(Task.ref, Task.kind, Task.number, Task.category, Task.topic, Task.text,
                                                Task.deadline, Task.deadline_text, Task.recurrence, Task.parent_id,
                                                Task.status)).all()),
            "assignments": sorted(session.exec(select(Assignment.id, Assignment.task_id, Assignment.unit_id,
                                                      Assignment.role, Assignment.status, Assignment.due_on,
                                                      Assignment.extended_to, Assignment.office_choice)).all()),
            "reports": sorted(session.exec(select(Report.id, Report.review_status, Report.reviewed_at)).all()),
            "extensions": sorted(session.exec(select(Extension.id, Extension.status, Extension.new_date)).all()),
        }


def test_export_then_import_changes_nothing(prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    office_plan(prepared_engine, clock, tmp_path)
    clock.set(datetime(2021, 11, 15, 1, 0, tzinfo=UTC))
    url, path = url_of(prepared_engine), tmp_path / "台账.xlsx"
    out = io.StringIO()
    assert main(["--database-url", url, "export", str(path)], stdout=out, clock=clock) == 0
    # The task list's 17 rows and the 25 numbered points within them, each a task of its own.
    assert out.getvalue().startswith("已导出台账：42 项任务，") and str(path) in out.getvalue()
    before = snapshot(prepared_engine)
    with Session(prepared_engine) as session:
        events = session.exec(select(func.count()).select_from(Event)).one()

    clock.advance(timedelta(hours=1))
    out = io.StringIO()
    assert main(["--database-url", url, "import", str(path)], stdout=out, clock=clock) == 0
    assert "与数据库中的内容一致，没有任何改动。" in out.getvalue()
    assert "保留办公室的决定：已批准的延期 1 项，已审核办结 1 项，待审核的办结申请 1 项。" in out.getvalue()
    assert snapshot(prepared_engine) == before
    with Session(prepared_engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == events
