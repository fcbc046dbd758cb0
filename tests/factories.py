"""Building what tests start from: the seed plan in a database, people bound to it, office workbooks.

One home for what several test files need, so that no test module imports another.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import Engine
from sqlalchemy import text as sql
from sqlmodel import select

from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.bulk import load_rows
from tasks.clock import Clock
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Assignment, AssignmentRole, Plan, Role, Task, TaskKind, Unit
from tasks.plan.importer import import_file, prepare_database
from tasks.plan.units import UnitDirectory
from tasks.work.members import create_invite, redeem_invite
from tests.databases import bring_to

ADMIN = Actor("admin", "cli")
SEED_DOCUMENT = seed_path(MENTOUGOU_2021)
COMMERCE = "区商务局"
EXHIBITION = "project:内蒙古武川县:武川县消费扶贫展销服务中心运营项目"  # 区商务局 leads, due 2021-10-31
# The seed's 任务清单 header as the document writes it.
TASK_LIST_HEADER = ["工作事项", "任务类别", "任务内容", "责任部门", "完成时限"]


def seed_directory() -> UnitDirectory:
    return UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))


def seed_plan(engine: Engine, clock: Clock) -> None:
    """The new database behind ``engine`` as an office starts it at ``clock``'s moment: the seed
    directory's units and the 2021 document imported (a copy of the first build after that)."""
    def build(new: Engine) -> None:
        directory = seed_directory()
        prepare_database(new, directory, clock, ADMIN)
        import_file(new, SEED_DOCUMENT, clock, ADMIN, district=directory.district)

    bring_to(engine, ("seed plan", UNIT_DIRECTORY, MENTOUGOU_2021, clock.now()), build)


def task_id(engine: Engine, ref: str) -> int:
    """The id of the task with this ref (a test names a task of the seed plan by its ref)."""
    with transaction(engine) as session:
        found = session.exec(select(Task.id).where(Task.ref == ref)).one()
    assert found is not None
    return found


def bind(engine: Engine, clock: Clock, user_id: int, role: Role, unit_name: str | None = None) -> int:
    """A person bound through an invite, as /start CODE does it, without the bot; their member id."""
    with transaction(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == unit_name)).one() if unit_name else None
        code = create_invite(session, clock, ADMIN, role, unit).code
        member = redeem_invite(session, clock, code, channel="telegram", user_id=str(user_id), address=str(user_id), name=f"{role}{user_id}",
                               is_group=False)
        assert member.id is not None
        return member.id


def seed_task_rows() -> list[list[str]]:
    """The rows of the seed's 任务清单 exactly as the document has them (repeated headers dropped)."""
    text = SEED_DOCUMENT.read_text(encoding="utf-8")
    section = text[text.index("工作事项\t任务类别"): text.index("## 附件3")]
    rows = [line.split("\t") for line in section.splitlines() if "\t" in line]
    return [row + [""] * (5 - len(row)) for row in rows if row[:5] != TASK_LIST_HEADER]


def write_office_workbook(path: Path) -> None:
    """The seed's 任务清单 as an office keeps it in Excel: title row, columns renamed and reordered,
    工作事项 written once per block as a merged cell."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "任务清单"
    sheet.append(["门头沟区2021年支援合作工作任务清单"])
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", "时间节点", "重点工作", "任务类别", "责任单位", "具体任务"])
    area, first_row = "", 3
    rows = seed_task_rows()
    for number, (row_area, topic, text, units, deadline) in enumerate(rows, start=1):
        sheet.append([number, deadline, row_area, topic, units, text])
        current = sheet.max_row
        if row_area and row_area != area:
            if current - 1 > first_row:
                sheet.merge_cells(f"C{first_row}:C{current - 1}")
            area, first_row = row_area, current
    sheet.merge_cells(f"C{first_row}:C{sheet.max_row}")
    workbook.save(path)


def add_many_tasks(engine: Engine, count: int, *, first_due: date, days: int) -> None:
    """``count`` more tasks in the seed plan, one to three of the seed's units each (the first leads),
    deadlines spread over ``days`` from ``first_due``: a district's year at the scale of a city's."""
    rng = random.Random(count)
    with transaction(engine) as session:
        plan = session.exec(select(Plan)).first()
        assert plan is not None
        unit_ids = [u for u in session.exec(select(Unit.id).where(Unit.kind != "group").order_by(Unit.id)).all()]
        first_position = len(session.exec(select(Task.id)).all())
        created = plan.imported_at
        plan_id = plan.id
    with engine.begin() as connection:
        load_rows(connection, Task, [Task(
            plan_id=plan_id, ref=f"many:{n}", kind=TaskKind.TASK, number=str(n + 1), text=f"第{n}项加压任务：推进重点项目建设并按月报送进展情况",
            category=f"类别{n % 7}", position=first_position + n, deadline=first_due + timedelta(days=n % days),
            created_at=created, updated_at=created).model_dump(exclude={"id"}) for n in range(count)])
        ids = dict(connection.execute(sql("SELECT ref, id FROM task WHERE ref LIKE 'many:%'")).all())
        rows = []
        for n in range(count):
            for position, unit_id in enumerate(rng.sample(unit_ids, rng.randint(1, 3))):
                rows.append(Assignment(
                    task_id=ids[f"many:{n}"], unit_id=unit_id, role=AssignmentRole.LEAD if position == 0 else AssignmentRole.CO,
                    position=position,
                    due_on=first_due + timedelta(days=n % days), created_at=created, updated_at=created,
                ).model_dump(exclude={"id"}))
        load_rows(connection, Assignment, rows)
