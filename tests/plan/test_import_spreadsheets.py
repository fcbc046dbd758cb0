"""The task list as office staff keep it: XLSX and CSV, other column names and orders, merged cells."""

import csv
import random
from datetime import date, datetime
from pathlib import Path

import pytest
import xlwt
from openpyxl import Workbook
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.events import Actor
from tasks.models import Assignment, Task
from tasks.plan import workbook_reader
from tasks.plan.importer import DocumentError, import_file, parse_file
from tasks.plan.units import UnitDirectory
from tasks.plan.workplan import read_workplan
from tests.dbstate import snapshot
from tests.factories import TASK_LIST_HEADER, seed_task_rows, write_office_workbook


def seed_task_items(directory: UnitDirectory) -> list[tuple]:
    plan = read_workplan(seed_path(MENTOUGOU_2021).read_text(encoding="utf-8"), directory)
    return [(i.ref, i.parent, i.text, i.units, i.roles, i.deadline, i.recurrence) for i in plan.of_kind("task")]


def items_of(path: Path, directory: UnitDirectory, **kwargs: object) -> list[tuple]:
    plan = parse_file(path, directory, **kwargs)
    return [(i.ref, i.parent, i.text, i.units, i.roles, i.deadline, i.recurrence) for i in plan.of_kind("task")]


def test_xlsx_reads_the_same_as_the_document(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "任务清单.xlsx"
    write_office_workbook(path)
    assert items_of(path, directory) == seed_task_items(directory)
    plan = parse_file(path, directory)
    assert (plan.year, plan.title) == (2021, "门头沟区2021年支援合作工作任务清单")


def test_csv_in_gb18030_reads_the_same_as_the_document(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "2021年任务清单.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["工作事项", "任务类别", "任务内容", "责任单位", "时间节点"])
        writer.writerows(seed_task_rows())
    assert items_of(path, directory) == seed_task_items(directory)
    assert parse_file(path, directory).year == 2021


def write_xls(path: Path) -> None:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("任务清单")
    for row_number, row in enumerate([["2021年支援合作工作任务清单"], TASK_LIST_HEADER, *seed_task_rows()]):
        for column, value in enumerate(row):
            sheet.write(row_number, column, value)
    workbook.save(str(path))


def test_xls_from_older_office_software_reads_the_same_as_the_document(tmp_path: Path,
                                                                      directory: UnitDirectory) -> None:
    path = tmp_path / "任务清单.xls"
    write_xls(path)
    assert items_of(path, directory) == seed_task_items(directory)


def damaged(data: bytes, rng: random.Random) -> bytes:
    """Truncated, or with bytes or a block overwritten: what a broken download or disk leaves."""
    copy = bytearray(data)
    how = rng.choice(["truncate", "bytes", "block"])
    if how == "truncate":
        return bytes(copy[:rng.randrange(len(copy))])
    if how == "bytes":
        for _ in range(rng.randint(1, 20)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        return bytes(copy)
    start = rng.randrange(len(copy))
    copy[start:start + rng.randint(1, 200)] = rng.randbytes(rng.randint(1, 200))
    return bytes(copy)


def test_damaged_workbooks_are_read_or_refused_and_never_crash(tmp_path: Path) -> None:
    # Among such copies of an .xls the reader (calamine) panics, aborts on a failed allocation or asks for
    # all the memory there is; it runs in a fenced child process, so the import only ever sees a refusal.
    write_xls(tmp_path / "original.xls")
    write_office_workbook(tmp_path / "original.xlsx")
    rng = random.Random(2021)
    outcomes = []
    for suffix in (".xls", ".xlsx"):
        original = (tmp_path / f"original{suffix}").read_bytes()
        for n in range(15):
            path = tmp_path / f"damaged{n}{suffix}"
            path.write_bytes(damaged(original, rng))
            try:
                parse_file(path, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)), year=2021)
                outcomes.append("read")
            except DocumentError as error:
                assert str(error)
                outcomes.append("refused")
    assert "refused" in outcomes


def test_a_workbook_the_reader_cannot_finish_is_refused_and_nothing_is_imported(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "任务清单.xlsx"
    write_office_workbook(path)
    before = snapshot(prepared_engine)
    monkeypatch.setattr(workbook_reader, "TIME_LIMIT_SECONDS", 0.001)
    with pytest.raises(DocumentError, match="无法打开表格文件：读取超过"):
        import_file(prepared_engine, path, clock, Actor("office", "import"), district="门头沟区")
    monkeypatch.undo()
    monkeypatch.setenv("TASKBOT_WORKBOOK_MEMORY_BYTES", str(16 << 20))  # too little even to load the reader
    with pytest.raises(DocumentError, match="无法打开表格文件"):
        import_file(prepared_engine, path, clock, Actor("office", "import"), district="门头沟区")
    assert snapshot(prepared_engine) == before


def test_date_and_number_cells_read_as_the_office_typed_them(tmp_path: Path, directory: UnitDirectory) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["序号", "任务内容", "责任单位", "完成时限"])
    sheet.append([1, "建立消费帮扶台账", "区商务局", datetime(2022, 6, 30)])
    sheet.append([2.0, "开展干部培训", "区委组织部", date(2022, 9, 15)])
    sheet.append([3, "召开推进会", "区商务局", "三季度末"])
    path = tmp_path / "tasks.xlsx"
    workbook.save(path)
    plan = parse_file(path, directory, year=2022)
    assert [(t.number, t.deadline, t.deadline_text) for t in plan.of_kind("task")] == [
        ("1", date(2022, 6, 30), "2022-06-30"), ("2", date(2022, 9, 15), "2022-09-15"),
        ("3", date(2022, 9, 30), "三季度末")]
    assert plan.problems == []


def test_lead_and_co_columns(tmp_path: Path, directory: UnitDirectory) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["序号", "工作任务", "牵头单位", "配合单位", "完成时间"])
    sheet.append([1, "建立消费帮扶台账", "区商务局", "区财政局、区国资委", "2022年6月底前"])
    sheet.append([2, "开展干部培训", "区委组织部、区人社局", "", "下半年"])
    sheet.append(["合计", "", "", "", ""])
    path = tmp_path / "tasks.xlsx"
    workbook.save(path)
    plan = parse_file(path, directory, year=2022)
    tasks = plan.of_kind("task")
    assert [(t.text, t.roles, t.deadline, t.start) for t in tasks] == [
        ("建立消费帮扶台账", {"区商务局": "lead", "区财政局": "co", "区国资委": "co"}, date(2022, 6, 30), None),
        ("开展干部培训", {"区委组织部": "lead", "区人力社保局": "lead"}, date(2022, 12, 31), date(2022, 7, 1)),
    ]
    assert plan.problems == []


def test_spreadsheet_without_a_year_needs_one(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text("任务内容,责任单位,完成时限\n做好对接,区商务局,10月底前\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="--year"):
        parse_file(path, directory)
    assert parse_file(path, directory, year=2024).of_kind("task")[0].deadline == date(2024, 10, 31)


def test_spreadsheet_without_known_columns_is_refused(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "names.csv"
    path.write_text("姓名,电话\n张三,123\n", encoding="utf-8")
    with pytest.raises(DocumentError):
        parse_file(path, directory, year=2021)


def test_damaged_workbook_is_refused(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DocumentError, match="无法打开表格文件"):
        parse_file(path, directory, year=2021)


def test_workbook_imports_into_the_database(prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    path = tmp_path / "任务清单.xlsx"
    write_office_workbook(path)
    _parsed, summary = import_file(prepared_engine, path, clock, Actor("office", "import"), district="门头沟区")
    assert summary.created == 42
    _parsed, again = import_file(prepared_engine, path, clock, Actor("office", "import"), district="门头沟区")
    assert not again.changed
    with Session(prepared_engine) as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == 42
        assert session.exec(select(func.count()).select_from(Assignment)).one() > 42


def test_a_workbook_is_read_by_its_content_whatever_its_name_says(tmp_path: Path, directory: UnitDirectory) -> None:
    """An .xlsx renamed .xls (and an .xls renamed .xlsx) reads as what it is; a file that is no
    workbook at all is refused with a sentence that says what to do."""
    write_office_workbook(tmp_path / "任务清单.xls")  # openpyxl writes .xlsx content whatever the name
    write_xls(tmp_path / "任务清单.xlsx")
    expected = seed_task_items(directory)
    assert items_of(tmp_path / "任务清单.xls", directory) == expected
    assert items_of(tmp_path / "任务清单.xlsx", directory) == expected
    text = tmp_path / "纪要.xls"
    text.write_text("序号,任务\n1,落实\n", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"不是 Excel 工作簿.*另存为 \.xlsx"):
        parse_file(text, directory, year=2021)
