"""When header detection is not enough: the office names the columns (--columns), or fills the
ledger template, which imports exactly."""

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, select

from bot.cli import main
from tasks.db import make_engine
from tasks.models import Assignment, Task, Unit
from tasks.plan.chosen_columns import ColumnsError, parse_columns
from tasks.plan.importer import DocumentError, parse_file
from tasks.plan.ledger import GUIDE_SHEET, LEDGER_COLUMNS
from tasks.plan.units import UnitDirectory


def run(database_url: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--database-url", database_url, *args], stdout=out)
    return code, out.getvalue()


def write_unknown_headers(path: Path) -> None:
    """A district's own ledger: a title row, then headers no vocabulary knows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append(["2022年重点工作推进台账"])
    sheet.append(["编号", "要做的事", "负责科室", "办结节点"])
    sheet.append([1, "建立消费帮扶台账", "区商务局、区财政局", "9月底前"])
    sheet.append([2, "开展干部培训", "区委组织部\n区人力社保局", "2022年11月30日"])
    workbook.save(path)


def assigned(database_url: str, text: str) -> list[tuple[str, str]]:
    with Session(make_engine(database_url)) as session:
        task = session.exec(select(Task).where(Task.text == text)).one()
        return list(session.exec(select(Unit.name, Assignment.role).join(Assignment, col(Assignment.unit_id) == Unit.id)
                                 .where(Assignment.task_id == task.id).order_by(col(Assignment.position))).all())


@pytest.mark.parametrize("columns", ["任务=B,责任单位=C,完成时限=D,序号=A",
                                     "任务内容=要做的事，责任单位=负责科室，时间节点=办结节点"])
def test_a_spreadsheet_with_unknown_headers_imports_with_the_columns_named(database_url: str, tmp_path: Path,
                                                                          columns: str) -> None:
    path = tmp_path / "台账.xlsx"
    write_unknown_headers(path)
    assert run(database_url, "import", str(path), "--dry-run")[0] == 1  # the headers alone say nothing
    code, preview = run(database_url, "import", str(path), "--dry-run", "--columns", columns)
    assert code == 0
    assert preview.startswith("试导入（未写入数据库）：2022年《2022年重点工作推进台账》\n")
    assert "开展干部培训\n     责任单位：区委组织部（牵头）、区人力社保局\n     完成时限：2022-11-30（2022年11月30日）\n" in preview
    assert "合计：任务 2 项；问题 0 个" in preview
    code, output = run(database_url, "import", str(path), "--columns", columns)
    assert code == 0 and "新增 2 项" in output
    assert assigned(database_url, "建立消费帮扶台账") == [("区商务局", "lead"), ("区财政局", "co")]
    code, output = run(database_url, "import", str(path), "--columns", columns)
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in output


def test_the_header_row_can_be_given(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "台账.xlsx"
    write_unknown_headers(path)
    # Row 1 taken as the header: row 2, the real header, would be read as a task; row 2 it is.
    plan = parse_file(path, directory, columns=parse_columns("任务=B,责任单位=C", header_row=2))
    assert [t.text for t in plan.of_kind("task")] == ["建立消费帮扶台账", "开展干部培训"]
    # No header row at all: every row is a task (the title row has no task text, and is said so).
    plan = parse_file(path, directory, year=2022, columns=parse_columns("任务=B,责任单位=C", header_row=0))
    assert [t.text for t in plan.of_kind("task")] == ["要做的事", "建立消费帮扶台账", "开展干部培训"]


def test_mistakes_in_columns_are_said_with_what_is_accepted(database_url: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "台账.xlsx"
    write_unknown_headers(path)
    said = {}
    for columns in ("任务=B,负责人=C", "任务=B", "任务=B,责任单位=B", "任务=B,责任单位", "任务=B,责任单位=负责人员"):
        assert run(database_url, "import", str(path), "--dry-run", "--columns", columns)[0] == 1
        said[columns] = capsys.readouterr().err
    assert said["任务=B,负责人=C"].startswith("错误：--columns 中的“负责人”不是能识别的列：可以写 序号（或编号）、"
                                          "工作领域（或工作事项、重点工作）、任务类别（或任务分类、分类）、任务内容（或工作内容、具体任务）、"
                                          "责任单位（或责任部门、责任主体）、牵头单位（或牵头部门、主责单位）")
    assert "至少要指明任务内容一列和责任单位（或牵头单位、配合单位）一列" in said["任务=B"]
    assert "有两项指向同一列" in said["任务=B,责任单位=B"]
    assert "“责任单位”应写成“列名=列”，如 任务=B 或 任务=工作内容" in said["任务=B,责任单位"]
    assert ("表格前 20 行中没有找到 --columns 写的列名 “负责人员”（列名须与表头中写的一致，也可以用列字母，如 任务=B）；"
            "表头像是工作表台账第2行：编号、要做的事、负责科室、办结节点") in said["任务=B,责任单位=负责人员"]
    document = tmp_path / "工作要点.txt"
    document.write_text("2021年工作要点\n", encoding="utf-8")
    with pytest.raises(ColumnsError, match="--columns 只用于表格文件"):
        parse_file(document, UnitDirectory(), columns=parse_columns("任务=B,责任单位=C"))
    assert run(database_url, "import", str(path), "--header-row", "2")[0] == 1
    assert "--header-row 只与 --columns 一起使用" in capsys.readouterr().err


FILLED = [
    [1, "组织领导", "研究部署", "召开专题会议研究部署年度工作。", "区委办公室", "区政府办公室、区财政局", "9月底前"],
    [2, None, None, "1. 建立工作台账。 2. 每季度通报进展。", "区商务局\n区农业农村局", None, "2022年6月30日"],
    [3, "消费帮扶", "展销", "组织农产品展销活动。", None, "区商务局、区国资委", "长期坚持"],
]


def fill_template(database_url: str, path: Path) -> None:
    assert run(database_url, "template", str(path), "--year", "2022") == (
        0, f"已写入任务清单模板：{path}\n填好后先试导入核对：taskbot import 任务清单.xlsx --dry-run（“填写说明”页说明了各列的写法）\n")
    workbook = load_workbook(path)
    sheet = workbook["任务清单"]
    assert [c.value for c in sheet[2]] == ["序号", "工作领域", "任务类别", "任务内容", "牵头单位", "配合单位", "完成时限"]
    assert sheet["A2"].font.bold and sheet.freeze_panes == "A3" and sheet["A1"].value == "2022年工作任务清单"
    assert [row[0].value for row in workbook[GUIDE_SHEET].iter_rows(min_row=2, max_row=len(LEDGER_COLUMNS) + 1)] == \
        [c.header for c in LEDGER_COLUMNS]
    for row in FILLED:
        sheet.append(row)
    workbook.save(path)


def test_the_filled_template_imports_exactly_and_twice_changes_nothing(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "任务清单.xlsx"
    fill_template(database_url, path)
    code, preview = run(database_url, "import", str(path), "--dry-run")
    assert code == 0 and "没有发现问题。" in preview
    assert "〔组织领导 / 研究部署〕\n  1 召开专题会议研究部署年度工作。\n     责任单位：区委办公室（牵头）、区政府办公室、区财政局\n" in preview
    code, output = run(database_url, "import", str(path), "--json")
    assert code == 0
    with Session(make_engine(database_url)) as session:
        tasks = session.exec(select(Task).order_by(col(Task.position))).all()
        assert [(t.number, t.category, t.topic, t.text, t.deadline, t.deadline_text) for t in tasks] == [
            ("1", "组织领导", "研究部署", "召开专题会议研究部署年度工作。", date(2022, 9, 30), "9月底前"),
            ("2", "组织领导", "研究部署", "1. 建立工作台账。 2. 每季度通报进展。", date(2022, 6, 30), "2022年6月30日"),
            ("1", "组织领导", "研究部署", "建立工作台账。", date(2022, 6, 30), "2022年6月30日"),
            ("2", "组织领导", "研究部署", "每季度通报进展。", date(2022, 6, 30), "2022年6月30日"),
            ("3", "消费帮扶", "展销", "组织农产品展销活动。", None, "长期坚持"),
        ]
    assert assigned(database_url, "召开专题会议研究部署年度工作。") == [
        ("区委办公室", "lead"), ("区政府办公室", "co"), ("区财政局", "co")]
    assert assigned(database_url, "建立工作台账。") == [("区商务局", "lead"), ("区农业农村局", "lead")]
    assert assigned(database_url, "组织农产品展销活动。") == [("区商务局", "lead"), ("区国资委", "co")]
    code, output = run(database_url, "import", str(path))
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in output


def test_the_template_without_a_year_asks_for_one_and_is_not_overwritten(database_url: str, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "模板.xlsx"
    assert run(database_url, "template", str(path))[0] == 0
    workbook = load_workbook(path)
    workbook["任务清单"].append(FILLED[0])
    workbook.save(path)
    with pytest.raises(DocumentError, match="无法从表格中确定年份，请用 --year 指定"):
        parse_file(path, UnitDirectory())
    assert run(database_url, "template", str(path))[0] == 1
    assert "文件已存在" in capsys.readouterr().err
