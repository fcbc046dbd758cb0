"""Importing into the database (SQLite and PostgreSQL): faithful, idempotent, in place, all or nothing."""

import gc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from seed import MENTOUGOU_2021, seed_path
from tasks.clock import FixedClock
from tasks.events import Actor
from tasks.models import (
    Assignment,
    Event,
    ImportProblem,
    Milestone,
    Plan,
    Project,
    Report,
    Task,
    Unit,
    WorkTeam,
    WorkTeamLead,
)
from tasks.plan import store
from tasks.plan.importer import DocumentError, import_file
from tests.dbstate import snapshot

SEED_DOCUMENT = seed_path(MENTOUGOU_2021)

IMPORTER = Actor("office-admin", "import")
DISTRICT = "门头沟区"


def run_import(engine: Engine, clock: FixedClock, path: Path = SEED_DOCUMENT):
    return import_file(engine, path, clock, IMPORTER, district=DISTRICT)


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SEED_DOCUMENT.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "variant.txt"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def task_by_ref(session: Session, ref: str) -> Task:
    return session.exec(select(Task).where(Task.ref == ref)).one()


def add_report(session: Session, task: Task, text: str) -> None:
    """A progress report by the task's first unit (reports arrive through the bot in later issues)."""
    assignment = session.exec(select(Assignment).where(Assignment.task_id == task.id)).first()
    session.add(Report(assignment_id=assignment.id, kind="progress", text=text, percent=40, author="unit member",
                       created_at=datetime(2021, 6, 25, tzinfo=UTC)))
    session.commit()


def test_seed_lands_in_the_database(prepared_engine: Engine, clock: FixedClock) -> None:
    parsed, summary = run_import(prepared_engine, clock)
    with Session(prepared_engine) as session:
        plan = session.exec(select(Plan)).one()
        assert (plan.year, plan.title) == (2021, "2021年门头沟区支援合作工作要点")
        kinds = dict(session.exec(select(Task.kind, func.count()).group_by(col(Task.kind))).all())
        assert kinds == {"workpoint": 19, "task": 42, "project": 16}
        assert session.exec(select(func.count()).select_from(WorkTeam)).one() == 10
        # One assignment per leaf task and unit; a row with sub-items is tracked through them.
        leaves = [i for i in parsed.items if i.kind != "team" and not any(c.parent == i.ref for c in parsed.items)]
        assert session.exec(select(func.count()).select_from(Assignment)).one() == sum(len(i.units) for i in leaves)
        parent = task_by_ref(session, "list:组织领导/研究部署")
        assert session.exec(select(Assignment).where(Assignment.task_id == parent.id)).all() == []
        child = task_by_ref(session, "list:组织领导/研究部署#1")
        assert child.parent_id == parent.id and child.recurrence == "half-yearly"
        units = session.exec(select(Unit.name, Assignment.role, Assignment.due_on)
                             .join(Assignment, col(Assignment.unit_id) == Unit.id)
                             .where(Assignment.task_id == child.id).order_by(col(Assignment.position))).all()
        assert units == [("区委办公室", "lead", date(2021, 10, 31)), ("区政府办公室", "co", date(2021, 10, 31)),
                         ("领导小组办公室", "co", date(2021, 10, 31))]
        project = task_by_ref(session, "project:内蒙古武川县:武川县乡村振兴加工车间援建项目")
        detail = session.get(Project, project.id)
        assert (detail.funds, detail.total_investment) == (Decimal("30"), Decimal("30"))
        milestones = session.exec(select(Milestone.kind, Milestone.due).where(Milestone.task_id == project.id)
                                  .order_by(col(Milestone.due))).all()
        assert milestones == [("start", date(2021, 6, 1)), ("complete", date(2021, 9, 30))]
        team = session.exec(select(WorkTeam).where(WorkTeam.name == "产业合作专班")).one()
        assert session.exec(select(func.count()).select_from(WorkTeamLead)
                            .where(WorkTeamLead.team_id == team.id)).one() == 5
        assert session.exec(select(func.count()).select_from(ImportProblem)).one() == len(parsed.problems) == 12
        # Every created task is audited with the assignments it was created with.
        created = session.exec(select(Event).where(Event.action == "task.created")).all()
        assert len(created) == 77
        audited = {(e.entity_id, unit, role) for e in created for unit, role in e.detail["assignments"]}
        stored = set(session.exec(select(Assignment.task_id, Unit.name, Assignment.role)
                                  .join(Unit, col(Unit.id) == Assignment.unit_id)).all())
        assert audited == stored and len(stored) == summary.assignments_changed
        deadlines = dict(session.exec(select(Task.id, Task.deadline)).all())
        assert {e.entity_id: e.detail["deadline"] for e in created} == \
            {e.entity_id: deadlines[e.entity_id] and deadlines[e.entity_id].isoformat() for e in created}
    assert summary.created == 77 and summary.changed


def test_importing_twice_changes_nothing(prepared_engine: Engine, clock: FixedClock) -> None:
    run_import(prepared_engine, clock)
    before = snapshot(prepared_engine)
    clock.advance(timedelta(days=3))
    _parsed, summary = run_import(prepared_engine, clock)
    assert not summary.changed and summary.unchanged == 77
    assert snapshot(prepared_engine) == before


def test_editing_one_deadline_changes_exactly_that_task(prepared_engine: Engine, clock: FixedClock,
                                                        tmp_path: Path) -> None:
    run_import(prepared_engine, clock)
    with Session(prepared_engine) as session:
        task = task_by_ref(session, "list:组织领导/问题整改")
        add_report(session, task, "整改方案已制订")
        task_id = task.id
    before = snapshot(prepared_engine)
    clock.advance(timedelta(days=10))

    row = next(line for line in SEED_DOCUMENT.read_text(encoding="utf-8").splitlines() if line.startswith("\t问题整改"))
    edited = write_variant(tmp_path, row, row.replace("6月底前", "7月底前"))
    _parsed, summary = run_import(prepared_engine, clock, edited)

    assert (summary.created, summary.updated, summary.withdrawn, summary.assignments_changed) == (0, 1, 0, 0)
    after = snapshot(prepared_engine)
    changed_tables = {name for name in before if before[name] != after[name]}
    # duty_tally: the task's units now count one duty due 7/31 instead of 6/30.
    assert changed_tables == {"task", "assignment", "event", "plan", "duty_tally"}
    with Session(prepared_engine) as session:
        task = session.get(Task, task_id)
        assert (task.deadline, task.deadline_text) == (date(2021, 7, 31), "7月底前")
        assert {a.due_on for a in session.exec(select(Assignment).where(Assignment.task_id == task_id))} == {
            date(2021, 7, 31)}
        other_tasks = session.exec(select(Task).where(Task.id != task_id)).all()
        assert all(t.updated_at == datetime(2021, 6, 18, 1, tzinfo=UTC) for t in other_tasks)
        assert session.exec(select(Report)).one().text == "整改方案已制订"
        history = session.exec(select(Event.action, Event.detail).where(Event.entity == "task", Event.entity_id == task_id)
                               .order_by(col(Event.id))).all()
        assert [action for action, _ in history] == ["task.created", "task.updated"]
        assert history[1][1]["changes"] == {"deadline": ["2021-06-30", "2021-07-31"],
                                            "deadline_text": ["6月底前", "7月底前"]}


def test_a_task_removed_from_the_document_is_withdrawn_with_its_reports(prepared_engine: Engine, clock: FixedClock,
                                                                        tmp_path: Path) -> None:
    run_import(prepared_engine, clock)
    with Session(prepared_engine) as session:
        task = task_by_ref(session, "list:加强区域协作/引导企业")
        add_report(session, task, "已对接两家企业")
    row = next(line for line in SEED_DOCUMENT.read_text(encoding="utf-8").splitlines() if line.startswith("\t引导企业"))
    _parsed, summary = run_import(prepared_engine, clock, write_variant(tmp_path, row + "\n", ""))
    assert summary.withdrawn == 1
    with Session(prepared_engine) as session:
        task = task_by_ref(session, "list:加强区域协作/引导企业")
        assert task.status == "withdrawn"
        assert {a.status for a in session.exec(select(Assignment).where(Assignment.task_id == task.id))} == {"withdrawn"}
        assert session.exec(select(func.count()).select_from(Report)).one() == 1
    # Put back, it is active again with the same row and its report.
    _parsed, summary = run_import(prepared_engine, clock)
    with Session(prepared_engine) as session:
        task = task_by_ref(session, "list:加强区域协作/引导企业")
        assert task.status == "active"
        assert {a.status for a in session.exec(select(Assignment).where(Assignment.task_id == task.id))} == {"open"}


def test_unknown_unit_is_created_once_for_review(prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    variant = write_variant(tmp_path, "**责任单位：**区教委、区卫生健康委、区残联、前方挂职干部等",
                            "**责任单位：**区教委、区火星开发局、前方挂职干部等")
    parsed, summary = run_import(prepared_engine, clock, variant)
    assert summary.new_units == ["区火星开发局"]
    assert any(p.code == "unit.unknown" and p.text == "区火星开发局" for p in parsed.problems)
    _parsed, summary = run_import(prepared_engine, clock, variant)
    assert not summary.changed
    with Session(prepared_engine) as session:
        units = session.exec(select(Unit).where(Unit.name == "区火星开发局")).all()
        assert len(units) == 1 and units[0].needs_review and units[0].kind == "department"


def test_a_failed_import_leaves_the_database_as_it_was(prepared_engine: Engine, clock: FixedClock,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_import(prepared_engine, clock)
    before = snapshot(prepared_engine)
    row = next(line for line in SEED_DOCUMENT.read_text(encoding="utf-8").splitlines() if line.startswith("\t问题整改"))
    edited = write_variant(tmp_path, row, row.replace("6月底前", "7月底前"))

    def broken_teams(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_teams", broken_teams)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(prepared_engine, clock, edited)
    assert snapshot(prepared_engine) == before


def test_a_first_import_that_fails_leaves_no_plan(prepared_engine: Engine, clock: FixedClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(prepared_engine)
    monkeypatch.setattr(store, "_problems", lambda *_args: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        run_import(prepared_engine, clock)
    assert snapshot(prepared_engine) == before


def test_the_bot_collects_its_garbage_again_after_an_import_succeeds_or_fails(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    # The import pauses the cyclic collector while it builds its rows; a bot that kept it off
    # would grow for as long as it runs.
    run_import(prepared_engine, clock)
    assert gc.isenabled()
    notes = tmp_path / "notes.txt"
    notes.write_text("会议纪要\n\n大家发言踊跃。\n", encoding="utf-8")
    with pytest.raises(DocumentError):
        run_import(prepared_engine, clock, notes)
    assert gc.isenabled()


def test_an_unreadable_document_is_refused_with_nothing_written(prepared_engine: Engine, clock: FixedClock,
                                                                tmp_path: Path) -> None:
    before = snapshot(prepared_engine)
    path = tmp_path / "notes.txt"
    path.write_text("会议纪要\n\n大家发言踊跃。\n", encoding="utf-8")
    with pytest.raises(DocumentError):
        run_import(prepared_engine, clock, path)
    with pytest.raises(DocumentError, match="找不到文件"):
        run_import(prepared_engine, clock, tmp_path / "missing.txt")
    assert snapshot(prepared_engine) == before


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    return path


def test_what_only_sqlite_would_store_is_cut_or_left_out_alike_on_both_databases(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    """Cells longer than their column, NUL characters, amounts of 10¹² and NaN: SQLite stored them
    and PostgreSQL refused the whole import. Now both store the same, and the problems say why."""
    long_area, long_deadline, long_unit = "长" * 300, "10月底前" + "，并持续推进" * 60, "区" + "很长的单位" * 50
    tasks_csv = write_csv(tmp_path / "任务清单.csv", [
        ["2021年测试任务清单"], ["工作事项", "任务类别", "任务内容", "责任部门", "完成时限"],
        [long_area, "类别", "落实第一项", "区商务局", "10月底前"],
        ["事项", "类别", "落实\x00第二项", "区商务局\x00", long_deadline],
        ["事项", "类别", "落实第三项", long_unit, "9月底前"]])
    run_import(prepared_engine, clock, tasks_csv)
    with Session(prepared_engine) as session:
        tasks = {t.text: t for t in session.exec(select(Task).where(Task.kind == "task")).all()}
        problems = {(p.code, p.where) for p in session.exec(select(ImportProblem)).all()}
        assert set(tasks) == {"落实第一项", "落实第二项", "落实第三项"}  # NUL dropped
        assert len(tasks["落实第一项"].category) == 200 and tasks["落实第一项"].category.startswith("长" * 199)
        assert len(tasks["落实第二项"].deadline_text) == 200
        units = {u.name for u in session.exec(select(Unit)).all()}
        assert "区商务局\x00" not in units  # the NUL did not make a new unit
        assert max(len(u) for u in units) == 200
        commerce = session.exec(select(Unit).where(Unit.name == "区商务局")).one()
        assert session.exec(select(Assignment).where(Assignment.task_id == tasks["落实第二项"].id)).one().unit_id \
            == commerce.id
    assert {("text.nul", "全文"), ("fit.length", "第3行"), ("fit.length", "第4行"), ("fit.unit", "")} <= problems
    # The same document again: the cut values and refs are the same, so nothing changes.
    assert not run_import(prepared_engine, clock, tasks_csv)[1].changed

    projects_csv = write_csv(tmp_path / "项目计划表.csv", [
        ["2021年测试项目计划表"], ["序号", "项目名称", "项目总投资", "区级帮扶资金", "项目实施单位", "开工竣工时间"],
        ["1", "大项目", "1000000000000", "NaN", "区商务局", "2021年6月-2021年9月"],
        ["2", "小项目", "999999999999.99", "12.5", "区商务局", "2021年6月-2021年9月"],
        ["3", "进位项目", "999999999999.995", "-Infinity", "区商务局", "2021年6月-2021年9月"]])
    run_import(prepared_engine, clock, projects_csv)
    with Session(prepared_engine) as session:
        amounts = {t.text: (p.total_investment, p.funds)
                   for t, p in session.exec(select(Task, Project).where(Project.task_id == Task.id)).all()}
        problems = [p for p in session.exec(select(ImportProblem)).all() if p.code == "fit.amount"]
    assert amounts == {"大项目": (None, None), "小项目": (Decimal("999999999999.99"), Decimal("12.5")),
                       "进位项目": (None, None)}
    assert sorted(p.text for p in problems) == ["-Infinity", "1000000000000", "999999999999.995", "NaN"]
