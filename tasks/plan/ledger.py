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

The filled ledger (``ledger_workbook``, below) adds each responsible unit's state beside these
columns and a second sheet of figures by unit (按单位统计, which the import never reads either).
What imports back unchanged: the whole ledger of a plan kept in these columns (a task list read from
a spreadsheet). Two things do not: a plan read from a Word or text document, whose 工作要点 and
projects the import knows by the document's own structure, not by these columns; and a ledger narrowed
by unit, team or status, whose title row names the filter, so that importing it makes a plan of its
own rather than withdrawing every task it leaves out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from tasks.clock import DEFAULT_TIMEZONE
from tasks.errors import ServiceError, quoted
from tasks.models import (
    OPEN_STATUSES,
    STATUS_NAMES,
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Extension,
    ExtensionStatus,
    Plan,
    Report,
    ReportKind,
    ReviewStatus,
    Task,
    TaskStatus,
    Unit,
    WorkTeamLead,
)
from tasks.plan.columns import TASK_FIELD_LABELS
from tasks.work.lookup import find_team, find_unit, latest_plan, unit_and_members

if TYPE_CHECKING:
    from openpyxl import Workbook

GUIDE_SHEET = "填写说明"
LEDGER_SHEET = "任务清单"
UNIT_SHEET = "按单位统计"  # the filled ledger's second sheet: figures, which the import never reads


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


def template_workbook(title: str, rows: Sequence[Sequence[object]] = ()) -> Workbook:
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

    workbook = template_workbook(ledger_title(year, title))
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


# --- the filled ledger: ``taskbot export`` ------------------------------------------------------------
#
# One row per task and responsible unit. The task's own cells (序号, 工作领域, 任务类别, 任务内容,
# 完成时限) are written on its first unit's row and merged down over the rows of its other units; each
# row names its unit in 牵头单位 or 配合单位, by its role, beside that unit's state. Why this shape:
#
# - an office reads it as the tables it already keeps: a task once, in a merged cell, its units one
#   a line, each with its own status, report and days overdue, a red row for a unit that is late;
#   Excel's filter on 办理状态 or 牵头单位 picks out units' rows, which per-unit columns (29 units of
#   one task side by side) or a units list in one cell would not allow;
# - the import reads a merged task cell over rows that name units as one task with all those units
#   (tasks.plan.tables: a row with units and no task words belongs to the task above), and the
#   unit's column as its role, so the file imports back as the same tasks with the same units. A
#   task repeated on every row would import as that many tasks instead.
#
# A task with numbered sub-items (its text "1.……2.……") is tracked through them: its row holds the
# parent's whole text (which the import divides again) and, per unit, the state of the unit's
# sub-items taken together. The state columns' headers are names the import does not read as a task
# field, so what the office writes in them is never imported.

@dataclass(frozen=True)
class StateColumn:
    header: str
    width: int


STATE_COLUMNS: tuple[StateColumn, ...] = (
    StateColumn("办理状态", 10), StateColumn("最新反馈", 40), StateColumn("反馈日期", 12),
    StateColumn("完成比例(%)", 10), StateColumn("办结审核日期", 13), StateColumn("延期情况", 24),
    # Written on every unit's row, 0 when not late: a row whose cells end early would read to the
    # import as a row whose merged cells a converter had dropped.
    StateColumn("逾期天数", 9),
)
UNIT_SHEET_HEADERS = (("单位", 24), ("分工", 8), ("办结", 8), ("待审核", 8), ("逾期", 8), ("完成率", 9))
OVERDUE_NAME = "逾期"
# What ``--status`` accepts: the ledger's own words, the chat's, and the English codes.
STATUS_FILTERS: dict[str, str] = {
    "open": "open", "未办结": "open", "办理中": "open",
    "reported": "reported", "待审核": "reported",
    "done": "done", "已办结": "done", "办结": "done",
    "overdue": "overdue", "逾期": "overdue", "已逾期": "overdue",
}
_OVERDUE_FILL = "FFC7CE"
_TASK_FIELDS = ("number", "area", "topic", "text", "deadline")  # merged down over a task's unit rows


@dataclass(frozen=True)
class UnitState:
    """One responsible unit's state on a task (for a task with sub-items: on all of them together)."""

    task_id: int
    unit_id: int
    unit: str
    role: AssignmentRole
    status: AssignmentStatus
    days_overdue: int
    report: str = ""
    reported_on: date | None = None
    percent: int | None = None
    verified_on: date | None = None
    extension: str = ""

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True)
class LedgerFile:
    """The filled ledger as a file: what the chat sends and the command line writes."""

    content: bytes
    file_name: str  # 台账-YYYY-MM-DD.xlsx
    title: str
    tasks: int
    rows: int  # task and unit rows below the header


@dataclass
class _Assignments:
    """The plan's live assignments and what the office and the units did with them, read in bulk."""

    # (id, task_id, unit_id, name, role, position, status, due_on, extended_to)
    rows: list[Any] = field(default_factory=list)
    latest: dict[int, tuple[str, datetime, int | None]] = field(default_factory=dict)
    percent: dict[int, int] = field(default_factory=dict)
    verified: dict[int, datetime] = field(default_factory=dict)
    asked: dict[int, date] = field(default_factory=dict)  # pending extension requests: the date asked for


def ledger_workbook(session: Session, today: date, *, unit: str | None = None, team: str | None = None,
                    status: str | None = None, year: int | None = None, district: str = "",
                    timezone: ZoneInfo = DEFAULT_TIMEZONE) -> LedgerFile:
    """The latest plan's ledger (or ``year``'s) as of ``today``, narrowed to a unit (a group: its
    members), a work team's lead units, or a status. A name that matches nothing is refused with a
    ServiceError before anything is read."""
    plan = latest_plan(session, year)
    unit_ids = _unit_ids(session, plan, unit, team, district)
    wanted = _status_filter(status)
    narrowed = [label for label in (unit, team, status) if label]
    title = plan.title if not narrowed else f"{plan.title}（{'、'.join(narrowed)}）"
    tasks = _top_level_tasks(session, plan.id)
    states = _unit_states(_assignments(session, plan.id, unit_ids), tasks, today, timezone)
    if wanted is not None:
        states = {task_id: [state for state in lines if _matches(state, wanted)] for task_id, lines in states.items()}
    shown = [(task, states.get(task.id, [])) for task, _children in tasks
             if states.get(task.id) or not (unit_ids is not None or wanted)]
    content, rows = _write(title, shown, today)
    return LedgerFile(content, f"台账-{today.isoformat()}.xlsx", title, len(shown), rows)


def _matches(state: UnitState, wanted: str) -> bool:
    """未办结, 待审核 and 已办结 are the unit's status; 逾期 is an open or reported duty past its deadline."""
    return state.overdue if wanted == "overdue" else state.status.value == wanted


def _status_filter(status: str | None) -> str | None:
    if status is None:
        return None
    wanted = STATUS_FILTERS.get(status.strip().lower())
    if wanted is None:
        raise ServiceError(f"不认识状态“{quoted(status)}”，可选：未办结、待审核、已办结、逾期。")
    return wanted


def _unit_ids(session: Session, plan: Plan, unit: str | None, team: str | None, district: str) -> set[int] | None:
    """The units whose rows the ledger shows; None: every unit."""
    ids: set[int] | None = None
    if unit is not None:
        ids = set(unit_and_members(session, find_unit(session, unit, district)))
    if team is not None:
        leads = set(session.exec(select(WorkTeamLead.unit_id).where(
            WorkTeamLead.team_id == find_team(session, plan, team).id)).all())
        ids = leads if ids is None else ids & leads
    return ids


def _top_level_tasks(session: Session, plan_id: int) -> list[tuple[Task, list[int]]]:
    """The plan's active tasks as the document has them (sub-items within their parent), in order,
    each with its sub-items' ids."""
    tasks = session.exec(select(Task).where(Task.plan_id == plan_id, Task.status == TaskStatus.ACTIVE)
                         .order_by(col(Task.position), col(Task.id))).all()
    children: dict[int, list[int]] = {}
    for task in tasks:
        if task.parent_id is not None:
            children.setdefault(task.parent_id, []).append(task.id)
    return [(task, children.get(task.id, [])) for task in tasks if task.parent_id is None]


def _in_plan(plan_id: int) -> Any:
    return select(Assignment.id).join(Task, col(Task.id) == Assignment.task_id).where(
        Task.plan_id == plan_id, Assignment.status != AssignmentStatus.WITHDRAWN)


def _assignments(session: Session, plan_id: int, unit_ids: set[int] | None) -> _Assignments:
    """Five queries for the whole plan, whatever its size: the assignments, each one's latest report,
    latest percent, verification and pending extension request."""
    query = (select(Assignment.id, Assignment.task_id, Assignment.unit_id, Unit.name, Assignment.role,
                    Assignment.position, Assignment.status, Assignment.due_on, Assignment.extended_to)
             .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
             .where(Task.plan_id == plan_id, Assignment.status != AssignmentStatus.WITHDRAWN))
    if unit_ids is not None:
        query = query.where(col(Assignment.unit_id).in_(unit_ids))
    found = _Assignments(rows=list(session.exec(query).all()))
    in_plan = _in_plan(plan_id)
    said = (ReportKind.PROGRESS, ReportKind.COMPLETION)
    latest_ids = (select(func.max(Report.id)).where(col(Report.assignment_id).in_(in_plan), col(Report.kind).in_(said))
                  .group_by(col(Report.assignment_id)))
    for assignment_id, text, created_at, percent in session.exec(
            select(Report.assignment_id, Report.text, Report.created_at, Report.percent)
            .where(col(Report.id).in_(latest_ids))).all():
        found.latest[assignment_id] = (text, created_at, percent)
    percent_ids = (select(func.max(Report.id)).where(col(Report.assignment_id).in_(in_plan),
                                                     col(Report.percent).is_not(None))
                   .group_by(col(Report.assignment_id)))
    found.percent = {a: p for a, p in session.exec(
        select(Report.assignment_id, Report.percent).where(col(Report.id).in_(percent_ids))).all() if p is not None}
    found.verified = dict(session.exec(
        select(Report.assignment_id, func.max(Report.reviewed_at))
        .where(col(Report.assignment_id).in_(in_plan), Report.review_status == ReviewStatus.ACCEPTED)
        .group_by(col(Report.assignment_id))).all())
    found.asked = dict(session.exec(
        select(Extension.assignment_id, func.max(Extension.new_date))
        .where(col(Extension.assignment_id).in_(in_plan), Extension.status == ExtensionStatus.PENDING)
        .group_by(col(Extension.assignment_id))).all())
    return found


def _local_date(moment: datetime | None, timezone: ZoneInfo) -> date | None:
    """A stored moment (UTC, as every datetime column keeps it) as the district's calendar date."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(timezone).date()


def _extension_text(extended_to: date | None, asked: date | None) -> str:
    parts = []
    if extended_to is not None:
        parts.append(f"已批准延期至{extended_to.isoformat()}")
    if asked is not None:
        parts.append(f"申请延期至{asked.isoformat()}，待审核")
    return "；".join(parts)


# A unit's sub-items taken together are only as far as the least advanced of them.
_STATUS_ORDER = {AssignmentStatus.OPEN: 0, AssignmentStatus.REPORTED: 1, AssignmentStatus.DONE: 2}


def _unit_states(found: _Assignments, tasks: list[tuple[Task, list[int]]], today: date,
                 timezone: ZoneInfo) -> dict[int, list[UnitState]]:
    """Per top-level task, its units' states: lead units first, in the document's order."""
    parent_of = {child: task.id for task, children in tasks for child in children}
    per_unit: dict[tuple[int, int], list[Any]] = {}
    for row in found.rows:
        per_unit.setdefault((parent_of.get(row.task_id, row.task_id), row.unit_id), []).append(row)
    states: dict[int, list[tuple[tuple[int, int, int], UnitState]]] = {}
    for (task_id, unit_id), rows in per_unit.items():
        status = min((row.status for row in rows), key=_STATUS_ORDER.__getitem__)
        late = max(((today - row.due_on).days for row in rows
                    if row.status in OPEN_STATUSES and row.due_on is not None and row.due_on < today), default=0)
        latest = max((found.latest[row.id] + (row.id,) for row in rows if row.id in found.latest),
                     key=lambda said: said[1], default=None)
        percents = [found.percent[row.id] for row in rows if row.id in found.percent]
        verified = [found.verified[row.id] for row in rows if row.id in found.verified]
        extended = max((row.extended_to for row in rows if row.extended_to is not None), default=None)
        asked = max((found.asked[row.id] for row in rows if row.id in found.asked), default=None)
        first = min(rows, key=lambda row: row.position)
        state = UnitState(
            task_id=task_id, unit_id=unit_id, unit=first.name, role=first.role, status=status, days_overdue=late,
            report=latest[0] if latest else "", reported_on=_local_date(latest[1] if latest else None, timezone),
            # Of sub-items, the share done is what the unit's own figures average to.
            percent=round(sum(percents) / len(percents)) if percents else None,
            verified_on=_local_date(max(verified), timezone) if status == AssignmentStatus.DONE and verified else None,
            extension=_extension_text(extended, asked))
        order = (0 if first.role == AssignmentRole.LEAD else 1, first.position, unit_id)
        states.setdefault(task_id, []).append((order, state))
    return {task_id: [state for _order, state in sorted(lines, key=lambda line: line[0])]
            for task_id, lines in states.items()}


def _task_cells(task: Task) -> dict[str, object]:
    deadline = task.deadline_text or (task.deadline.isoformat() if task.deadline else "")
    return {"number": task.number, "area": task.category or "", "topic": task.topic or "", "text": task.text,
            "deadline": deadline}


def _state_cells(state: UnitState | None) -> list[object]:
    if state is None:
        return [""] * len(STATE_COLUMNS)
    return [STATUS_NAMES[state.status], state.report, state.reported_on, state.percent, state.verified_on,
            state.extension, state.days_overdue]


def _write(title: str, shown: list[tuple[Task, list[UnitState]]], today: date) -> tuple[bytes, int]:
    """The workbook, written a row at a time (XlsxWriter's constant-memory mode keeps one row in
    memory, so a hundred thousand take seconds). Returns its bytes and the rows written."""
    import xlsxwriter

    buffer = io.BytesIO()
    # What a unit typed is text, even when it begins with "=" or looks like a link.
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(LEDGER_SHEET)
    columns = [(column.header, column.width) for column in LEDGER_COLUMNS] + \
        [(column.header, column.width) for column in STATE_COLUMNS]
    for index, (_header, width) in enumerate(columns):
        sheet.set_column(index, index, width)
    last = len(columns) - 1
    sheet.freeze_panes(2, 0)  # title and header stay in view
    sheet.set_row(0, 24)
    sheet.merge_range(0, 0, 0, last, title, workbook.add_format({"bold": True, "font_size": 14, "align": "center"}))
    header = workbook.add_format({"bold": True, "bg_color": f"#{_HEADER_FILL}", "align": "center",
                                  "valign": "vcenter", "text_wrap": True, "border": 1})
    for index, (name, _width) in enumerate(columns):
        sheet.write_string(1, index, name, header)
    formats = {(late, text, is_date): workbook.add_format({
        "valign": "top", **({"bg_color": f"#{_OVERDUE_FILL}"} if late else {}),
        **({"text_wrap": True} if text else {}), **({"num_format": "yyyy-mm-dd"} if is_date else {})})
        for late in (False, True) for text in (False, True) for is_date in (False, True)}
    text_column = next(index for index, column in enumerate(LEDGER_COLUMNS) if column.field == "text")
    merged_columns = [index for index, column in enumerate(LEDGER_COLUMNS) if column.field in _TASK_FIELDS]
    row = 1
    for task, states in shown:
        task_cells = _task_cells(task)
        span = len(states)
        for index, state in enumerate(states or [None]):
            row += 1
            values: list[object] = [task_cells[column.field] if index == 0 and column.field in task_cells else ""
                                    for column in LEDGER_COLUMNS]
            if state is not None:
                values[_ROLE_COLUMN[state.role]] = state.unit
            values += _state_cells(state)
            late = state is not None and state.overdue
            if late:
                sheet.set_row(row, None, formats[(True, False, False)])  # its empty cells red too
            for position, value in enumerate(values):
                is_date = isinstance(value, date)
                cell_format = formats[(late, position == text_column, is_date)]
                if index == 0 and span > 1 and position in merged_columns:
                    # The task's cell over its units' rows, merged while its first row is the one being
                    # written (the rows go to the file one by one). Without a format the merge writes
                    # nothing into the rows below, which would send this row to the file unfinished.
                    sheet.merge_range(row, position, row + span - 1, position, None, None)
                if value == "" or value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, position, value, cell_format)
                elif isinstance(value, date):
                    sheet.write_datetime(row, position, datetime.combine(value, time()), cell_format)
                else:
                    sheet.write_number(row, position, value, cell_format)  # type: ignore[arg-type]
    sheet.autofilter(1, 0, max(row, 1), last)
    _write_unit_sheet(workbook, title, shown, today)
    workbook.close()
    return buffer.getvalue(), row - 1


_ROLE_COLUMN = {AssignmentRole.LEAD: next(i for i, c in enumerate(LEDGER_COLUMNS) if c.field == "lead"),
                AssignmentRole.CO: next(i for i, c in enumerate(LEDGER_COLUMNS) if c.field == "co")}


@dataclass
class UnitFigures:
    """A unit's line on the second sheet."""

    unit: str
    duties: int = 0
    done: int = 0
    reported: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float:
        return self.done / self.duties if self.duties else 0.0


def unit_figures(shown: list[tuple[Task, list[UnitState]]]) -> list[UnitFigures]:
    """Per unit, its rows of the ledger counted, worst first: most overdue, then the lowest rate."""
    figures: dict[int, UnitFigures] = {}
    for _task, states in shown:
        for state in states:
            unit = figures.setdefault(state.unit_id, UnitFigures(state.unit))
            unit.duties += 1
            unit.done += state.status == AssignmentStatus.DONE
            unit.reported += state.status == AssignmentStatus.REPORTED
            unit.overdue += state.overdue
    return sorted(figures.values(), key=lambda u: (-u.overdue, u.rate, -u.duties, u.unit))


def _write_unit_sheet(workbook: Any, title: str, shown: list[tuple[Task, list[UnitState]]], today: date) -> None:
    sheet = workbook.add_worksheet(UNIT_SHEET)
    for index, (_header, width) in enumerate(UNIT_SHEET_HEADERS):
        sheet.set_column(index, index, width)
    last = len(UNIT_SHEET_HEADERS) - 1
    sheet.freeze_panes(2, 0)
    sheet.merge_range(0, 0, 0, last, f"{title}：按单位统计（截至{today.isoformat()}）",
                      workbook.add_format({"bold": True, "font_size": 14}))
    header = workbook.add_format({"bold": True, "bg_color": f"#{_HEADER_FILL}", "border": 1})
    for index, (name, _width) in enumerate(UNIT_SHEET_HEADERS):
        sheet.write_string(1, index, name, header)
    plain, late = workbook.add_format({}), workbook.add_format({"bg_color": f"#{_OVERDUE_FILL}"})
    rate, late_rate = workbook.add_format({"num_format": "0.0%"}), \
        workbook.add_format({"num_format": "0.0%", "bg_color": f"#{_OVERDUE_FILL}"})
    figures = unit_figures(shown)
    for row, unit in enumerate(figures, start=2):
        cell_format = late if unit.overdue else plain
        sheet.write_string(row, 0, unit.unit, cell_format)
        for column, value in enumerate((unit.duties, unit.done, unit.reported, unit.overdue), start=1):
            sheet.write_number(row, column, value, cell_format)
        sheet.write_number(row, 5, round(unit.rate, 4), late_rate if unit.overdue else rate)
    sheet.autofilter(1, 0, len(figures) + 1, last)
