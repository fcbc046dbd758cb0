"""Bounded work: a plan of any size imports and re-imports within the databases' statement limits."""

import contextlib
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, func, select

from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Assignment, Task
from tasks.plan import importer
from tasks.plan.importer import DocumentError, import_file, parse_file
from tasks.plan.parsed import Item, ParsedPlan
from tasks.plan.store import ImportSummary, store_plan
from tasks.plan.units import UnitDirectory
from tests.dbstate import snapshot
from tests.factories import SEED_DOCUMENT, write_office_workbook

IMPORTER = Actor("office-admin", "import")
# More tasks than one statement may carry parameters, on each database: PostgreSQL's protocol
# allows 65,535; the SQLite run sets 999, the limit of SQLite before 3.32 and of the system SQLite
# some long-lived distributions still ship (Debian's own build allows 250,000).
PLAN_ABOVE_THE_LIMIT = {"postgresql": 70_000, "sqlite": 2_500}
SQLITE_OLD_MAX_VARIABLES = 999


def write_task_list(path: Path, rows: int, units: list[str]) -> None:
    """A task list of ``rows`` tasks, one unit each, every row its own 工作事项 (so its own ref)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["2021年某区工作任务清单"])
        writer.writerow(["工作事项", "任务类别", "任务内容", "责任单位", "完成时限"])
        writer.writerows([f"事项{n}", "", f"落实第{n}项任务。", units[n % len(units)], "年底前"] for n in range(rows))


def store(engine: Engine, plan: ParsedPlan, clock: FixedClock) -> ImportSummary:
    """What import_file does once the document is read."""
    with transaction(engine) as session:
        return store_plan(session, plan, clock, IMPORTER)


def test_a_plan_above_the_parameter_limit_re_imports(prepared_engine: Engine, clock: FixedClock,
                                                     directory: UnitDirectory, tmp_path: Path) -> None:
    size = PLAN_ABOVE_THE_LIMIT[prepared_engine.dialect.name]
    path = tmp_path / "任务清单.csv"
    write_task_list(path, size, [name for name, kind in directory.kinds.items() if kind == "department"])
    plan = parse_file(path, directory)
    if prepared_engine.dialect.name == "sqlite":
        event.listen(prepared_engine, "connect", lambda connection, _record: connection.setlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_OLD_MAX_VARIABLES))
        prepared_engine.dispose()  # every connection from here on has the limit
    assert store(prepared_engine, plan, clock).created == size
    # Re-importing reads every task's assignments, milestones and project back to compare them.
    again = store(prepared_engine, plan, clock)
    assert not again.changed and again.unchanged == size
    with Session(prepared_engine) as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == size
        assert session.exec(select(func.count()).select_from(Assignment)).one() == size
    # A corrected document names a second unit for a third of the tasks: the re-import adds that many
    # assignments to tasks already stored (INSERT … RETURNING, for the events that name them), their
    # four columns each again above the statement's limit.
    departments = [name for name, kind in directory.kinds.items() if kind == "department"]
    added = size // 3 + 1

    def seconded(item: Item) -> Item:
        second = next(d for d in departments if d not in item.units)
        return replace(item, units=[*item.units, second], roles={**item.roles, second: "co"})

    corrected = replace(plan, items=[seconded(item) for item in plan.items[:added]] + plan.items[added:])
    assert store(prepared_engine, corrected, clock).assignments_changed == added
    with Session(prepared_engine) as session:
        assert session.exec(select(func.count()).select_from(Assignment)).one() == size + added


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has finished; only its parent has yet to notice)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_workbook_reader_dies_with_the_import_that_started_it(tmp_path: Path) -> None:
    # A named pipe no one writes to: the reader child blocks opening it, as it would reading a huge file.
    workbook = tmp_path / "任务清单.xlsx"
    os.mkfifo(workbook)
    importer = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                                 "from tasks.plan.workbook_reader import read_workbook; read_workbook(Path(sys.argv[1]))",
                                 str(workbook)])
    reader: list[int] = []
    try:
        assert wait_until(lambda: children_of(importer.pid)), "no reader child"
        reader = children_of(importer.pid)
        os.kill(importer.pid, signal.SIGKILL)  # as the OOM killer or kill -9 would
        importer.wait()
        assert wait_until(lambda: not running(reader[0]), 10), "the reader outlived the import"
    finally:
        importer.kill()
        for pid in reader:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_workbook_above_the_cell_limit_is_refused_in_one_sentence(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "任务清单.xlsx"
    write_office_workbook(path)  # title, header and 18 rows, 6 columns: 120 cells
    before = snapshot(prepared_engine)
    monkeypatch.setenv("TASKBOT_WORKBOOK_MAX_CELLS", "100")  # read by the reader child
    with pytest.raises(DocumentError) as refused:
        import_file(prepared_engine, path, clock, IMPORTER, district="门头沟区")
    assert str(refused.value) == "表格共 120 个单元格，超过一次导入的上限 100 个，请拆分成几个文件分别导入"
    assert snapshot(prepared_engine) == before


def test_a_text_document_above_the_size_limit_is_refused_before_it_is_read(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "工作要点.txt"
    path.write_bytes(SEED_DOCUMENT.read_bytes() * 2)  # 78 KB
    before = snapshot(prepared_engine)
    monkeypatch.setattr(importer, "MAX_TEXT_BYTES", 64 << 10)
    with pytest.raises(DocumentError, match=r"^文件有 0 MB，超过一次导入的上限 0 MB"):
        import_file(prepared_engine, path, clock, IMPORTER, district="门头沟区")
    assert snapshot(prepared_engine) == before
