"""The ledger (台账) as a workbook: the columns a task list is kept in, the one place that says them.

``taskbot template`` writes it empty, for an office whose task list has no file yet or whose
headers the import does not know; ``taskbot export`` (issue 17) writes the same columns filled. Every
header is a name the import's column vocabulary reads exactly (tasks.plan.columns), so a filled
template imports as written, with no --columns.

One column per task field the import stores: the roles are two columns (牵头单位, 配合单位) rather
than one 责任单位 list whose first name leads, so what is written is what is stored, and an export
of it imports back the same. There is no 备注: nothing would store it.

The layout: a title row (its year is the plan's year), the header (bold, frozen), the rows; a
second sheet, 填写说明, says what goes in each column, and the import never reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.plan.columns import TASK_FIELD_LABELS

if TYPE_CHECKING:
    from openpyxl import Workbook

GUIDE_SHEET = "填写说明"
LEDGER_SHEET = "任务清单"


@dataclass(frozen=True)
class LedgerColumn:
    field: str  # the task field, as in tasks.plan.columns.TASK_COLUMNS
    width: int  # characters, as Excel counts them (a Chinese character is about two)
    explanation: str
    example: str

    @property
    def header(self) -> str:
        return TASK_FIELD_LABELS[self.field]


LEDGER_COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn("number", 6, "任务的序号，如 1、2、3；可以不填。", "1"),
    LedgerColumn("area", 14, "任务所属的工作领域（板块），如“组织领导”。同一领域的几行只需在第一行填写"
                 "（或合并单元格），下面留空的行沿用上一个领域。", "组织领导"),
    LedgerColumn("topic", 12, "任务类别，如“研究部署”；可以不填。留空的行沿用上一行的类别，直到换了工作领域。",
                 "研究部署"),
    LedgerColumn("text", 50, "任务的具体内容，一行一项任务。内容中分条写的“1.……2.……”，每一条导入为一项子任务，"
                 "责任单位和完成时限与本行相同。", "召开专题会议研究部署年度工作。"),
    LedgerColumn("lead", 22, "牵头单位，写全称或常用简称（如“区科信局”）。几个单位用顿号（、）隔开，"
                 "或在单元格内换行（Alt+回车）；写在这一列的单位都是牵头单位。", "区委办公室"),
    LedgerColumn("co", 22, "配合单位，写法与牵头单位相同；没有可以不填。只填配合单位时，第一个单位作为牵头单位。",
                 "区政府办公室、区财政局"),
    LedgerColumn("deadline", 16, "完成时限，照文件原文写，如“9月底前”“2022年6月30日”“每季度末”“长期坚持”；"
                 "年份不写时按计划年份计算。", "9月底前"),
)

_HEADER_FILL = "DDEBF7"


def ledger_title(year: int | None, title: str | None = None) -> str:
    """The title row: its year is how the import knows the plan's year."""
    if title:
        return title
    return f"{year}年工作任务清单" if year else "____年工作任务清单"


def ledger_workbook(title: str, rows: Sequence[Sequence[object]] = ()) -> Workbook:
    """The ledger sheet: title row, bold frozen header, the rows in the order of LEDGER_COLUMNS."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = LEDGER_SHEET
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(LEDGER_COLUMNS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([column.header for column in LEDGER_COLUMNS])
    for index, column in enumerate(LEDGER_COLUMNS, start=1):
        cell = sheet.cell(row=2, column=index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=_HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for row in rows:
        sheet.append(list(row))
    wrapped = Alignment(wrap_text=True, vertical="top")
    for row_cells in sheet.iter_rows(min_row=3):
        for cell in row_cells:
            cell.alignment = wrapped
    sheet.freeze_panes = "A3"  # title and header stay in view
    return workbook


def write_template(path: Path, *, year: int | None = None, title: str | None = None) -> None:
    """The empty ledger, with the 填写说明 sheet."""
    from openpyxl.styles import Alignment, Font

    workbook = ledger_workbook(ledger_title(year, title))
    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append(["列名", "填写说明", "示例"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in LEDGER_COLUMNS:
        guide.append([column.header, column.explanation, column.example])
    guide.append([])
    guide.append(["年份", "第1行标题写明年份（如“2022年工作任务清单”），导入时据此确定计划年份；"
                  "标题没有年份时，导入命令须加 --year，如 taskbot import 任务清单.xlsx --year 2022。", ""])
    guide.append(["导入", "先试导入查看结果：taskbot import 任务清单.xlsx --dry-run；核对无误后去掉 --dry-run "
                  "正式导入。同一文件再次导入不会重复建任务，只更新改动的内容。本页不会被导入。", ""])
    guide.column_dimensions["A"].width = 12
    guide.column_dimensions["B"].width = 80
    guide.column_dimensions["C"].width = 24
    for row_cells in guide.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    guide.freeze_panes = "A2"
    workbook.save(path)
