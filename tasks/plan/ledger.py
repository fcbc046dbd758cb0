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

The filled ledger (``ledger_workbook``, below) is the plan's working copy: every task of the plan,
whatever it was imported from (a spreadsheet, or a document with 工作要点, sub-items and projects), a
row per responsible unit with that unit's state, its 编号 (the task's number in the chat), and a
hidden record of what was exported, so that importing it back (tasks.plan.ledger_import) applies the
office's edits and nothing else; a second sheet of figures by unit (按单位统计) and the 填写说明.
Why this shape is said where it is written, below.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from tasks.clock import DEFAULT_TIMEZONE, local_date
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
from tasks.plan.workbook_reader import cell_text
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
# One row per task and responsible unit. The task's own cells (编号, 类型, 序号, 工作领域, 任务类别,
# 任务内容, 完成时限, 责任领导) are written on its first unit's row and merged down over the rows of its
# other units; each row names its unit in 牵头单位 or 配合单位, by its role, beside that unit's state.
# An office reads it as the tables it already keeps: a task once, its units one a line, each with its
# own status, report and days overdue, a red row for a unit that is late; Excel's filter on 办理状态 or
# 牵头单位 picks out units' rows, which per-unit columns or a units list in one cell would not allow.
#
# The ledger is the plan's working copy, and imports back as such (tasks.plan.ledger_import):
#
# - 编号 is the task's number as the chat shows it (Task.id): what the import knows a row by, so a
#   task keeps its identity, its reports and the office's decisions whatever the office edits, and
#   whether the plan came from a spreadsheet or from a document with 工作要点, sub-items and projects.
# - Every task is a row of its own: a task with numbered sub-items has its row (its whole text, no
#   units: it is tracked through them) and each sub-item a row under it, 类型 子任务, with its units.
# - A hidden column (台账校验) carries, per row, what was exported there: on a task's first row its
#   number, digests of its editable cells and the units it showed; on every row a digest of the
#   unit's state cells. The import
#   applies what the office changed since the export, and only that: a cell as exported changes
#   nothing even if the plan moved on since, a ledger narrowed to one unit touches no other unit, and
#   an edited state cell is recognised and ignored.
# - A hidden sheet (台账标识) names the plan; a ledger is only ever imported back into its own plan.

@dataclass(frozen=True)
class StateColumn:
    header: str
    width: int


STATE_COLUMNS: tuple[StateColumn, ...] = (
    StateColumn("办理状态", 10), StateColumn("最新反馈", 40), StateColumn("反馈日期", 12),
    StateColumn("完成比例(%)", 10), StateColumn("办结审核日期", 13), StateColumn("延期情况", 24),
    # Written on every unit's row, 0 when not late, so that a red row always says by how much.
    StateColumn("逾期天数", 9),
)
ID_HEADER, KIND_HEADER = "编号", "类型"
OFFICIALS_HEADER = TASK_FIELD_LABELS["officials"]
CHECK_HEADER = "台账校验"  # the hidden column: what the export wrote on the row, for the import to compare
IDENTITY_SHEET = "台账标识"  # the hidden sheet that names the plan
LEDGER_FORMAT = "taskbot台账"
SUBITEM_KIND = "子任务"
KIND_LABELS = {"workpoint": "工作要点", "task": "任务", "project": "项目"}
# The cells of a task the office may edit, in the order their digests are kept: the template's task
# columns and 责任领导. The units are compared by name.
EDITABLE_FIELDS = ("number", "area", "topic", "text", "deadline", "officials")
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


@dataclass(frozen=True)
class FilledColumn:
    header: str
    width: int
    field: str = ""  # the task field of an editable column
    task_cell: bool = False  # written once per task, merged down over its units' rows


FILLED_COLUMNS: tuple[FilledColumn, ...] = (
    FilledColumn(ID_HEADER, 7, task_cell=True), FilledColumn(KIND_HEADER, 8, task_cell=True),
    *(FilledColumn(c.header, c.width, c.field, task_cell=c.field not in ("lead", "co")) for c in LEDGER_COLUMNS),
    FilledColumn(OFFICIALS_HEADER, 12, "officials", task_cell=True),
    *(FilledColumn(c.header, c.width) for c in STATE_COLUMNS),
    FilledColumn(CHECK_HEADER, 12),
)
FILLED_HEADERS = tuple(column.header for column in FILLED_COLUMNS)
READ_ONLY_HEADERS = (KIND_HEADER, *(column.header for column in STATE_COLUMNS))


def ledger_digest(values: Sequence[object]) -> str:
    """A short fingerprint of cells as the import reads them back (tasks.plan.workbook_reader): equal
    when the cells are, whatever their type in the file."""
    joined = "\x1f".join(cell_text(value) for value in values)
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=6).hexdigest()


@dataclass(frozen=True)
class UnitState:
    """One responsible unit's state on a task."""

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
    tasks = _plan_tasks(session, plan.id)
    states = _unit_states(_assignments(session, plan.id, unit_ids), today, timezone)
    if wanted is not None:
        states = {task_id: [state for state in lines if _matches(state, wanted)] for task_id, lines in states.items()}
    if unit_ids is None and wanted is None:
        shown = [(task, states.get(task.id, [])) for task in tasks]
    else:
        # A narrowed ledger shows the tasks with a row left, and the task a sub-item belongs to.
        kept = {task.id for task in tasks if states.get(task.id)}
        kept |= {task.parent_id for task in tasks if task.id in kept and task.parent_id is not None}
        shown = [(task, states.get(task.id, [])) for task in tasks if task.id in kept]
    content, rows = _write(plan, title, narrowed, shown, today)
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


def _plan_tasks(session: Session, plan_id: int) -> list[Task]:
    """The plan's active tasks in the document's order: a sub-item right after its parent."""
    return list(session.exec(select(Task).where(Task.plan_id == plan_id, Task.status == TaskStatus.ACTIVE)
                             .order_by(col(Task.position), col(Task.id))).all())


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
    return None if moment is None else local_date(moment, timezone)


def _extension_text(extended_to: date | None, asked: date | None) -> str:
    parts = []
    if extended_to is not None:
        parts.append(f"已批准延期至{extended_to.isoformat()}")
    if asked is not None:
        parts.append(f"申请延期至{asked.isoformat()}，待审核")
    return "；".join(parts)


def _unit_states(found: _Assignments, today: date, timezone: ZoneInfo) -> dict[int, list[UnitState]]:
    """Per task, its units' states: lead units first, in the document's order."""
    states: dict[int, list[tuple[tuple[int, int, int], UnitState]]] = {}
    for row in found.rows:
        late = (today - row.due_on).days if row.status in OPEN_STATUSES and row.due_on is not None \
            and row.due_on < today else 0
        latest = found.latest.get(row.id)
        verified = found.verified.get(row.id)
        state = UnitState(
            task_id=row.task_id, unit_id=row.unit_id, unit=row.name, role=row.role, status=row.status,
            days_overdue=late, report=latest[0] if latest else "",
            reported_on=_local_date(latest[1] if latest else None, timezone), percent=found.percent.get(row.id),
            verified_on=_local_date(verified, timezone) if row.status == AssignmentStatus.DONE else None,
            extension=_extension_text(row.extended_to, found.asked.get(row.id)))
        order = (0 if row.role == AssignmentRole.LEAD else 1, row.position, row.unit_id)
        states.setdefault(row.task_id, []).append((order, state))
    return {task_id: [state for _order, state in sorted(lines, key=lambda line: line[0])]
            for task_id, lines in states.items()}


def task_cells(task: Task) -> dict[str, str]:
    """A task's editable cells as the ledger writes them, by field."""
    deadline = task.deadline_text or (task.deadline.isoformat() if task.deadline else "")
    return {"number": task.number, "area": task.category or "", "topic": task.topic or "", "text": task.text,
            "deadline": deadline, "officials": task.officials}


def kind_label(task: Task) -> str:
    return SUBITEM_KIND if task.parent_id is not None else KIND_LABELS.get(task.kind, task.kind)


def _state_cells(state: UnitState | None) -> list[object]:
    if state is None:
        return [""] * len(STATE_COLUMNS)
    return [STATUS_NAMES[state.status], state.report, state.reported_on, state.percent, state.verified_on,
            state.extension, state.days_overdue]


def _as_cell(value: object) -> object:
    """What the file holds for a value: a date as a date cell at midnight (read back as the date)."""
    return datetime.combine(value, time()) if isinstance(value, date) and not isinstance(value, datetime) else value


class _CheckCells:
    """The hidden 台账校验 cell of each row. Most units' rows hold the same state (未办结, nothing
    reported), so a state's digest is worked out once per export."""

    def __init__(self) -> None:
        self.state_digests: dict[tuple[object, ...], str] = {}

    def cell(self, task: Task, cells: dict[str, str], states: list[UnitState], first: bool,
             state_cells: list[object]) -> str:
        key = tuple(state_cells)
        state = self.state_digests.get(key)
        if state is None:
            state = self.state_digests[key] = ledger_digest([_as_cell(value) for value in state_cells])
        if not first:
            return state  # a unit's row: the task is the one above, its units listed on the task's row
        return json.dumps({"t": task.id, "f": [ledger_digest([cells[name]]) for name in EDITABLE_FIELDS],
                           "L": [s.unit for s in states if s.role == AssignmentRole.LEAD],
                           "C": [s.unit for s in states if s.role != AssignmentRole.LEAD], "s": state},
                          ensure_ascii=False, separators=(",", ":"))


def _write(plan: Plan, title: str, narrowed: list[str], shown: list[tuple[Task, list[UnitState]]],
           today: date) -> tuple[bytes, int]:
    """The workbook, written a row at a time (XlsxWriter's constant-memory mode keeps one row in
    memory, so a hundred thousand take seconds). Returns its bytes and the rows written."""
    import xlsxwriter

    buffer = io.BytesIO()
    # What a unit typed is text, even when it begins with "=" or looks like a link.
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(LEDGER_SHEET)
    last = len(FILLED_COLUMNS) - 1
    for index, column in enumerate(FILLED_COLUMNS):
        sheet.set_column(index, index, column.width, None, {"hidden": column.header == CHECK_HEADER})
    sheet.freeze_panes(2, 0)  # title and header stay in view
    sheet.set_row(0, 24)
    sheet.merge_range(0, 0, 0, last - 1, title,
                      workbook.add_format({"bold": True, "font_size": 14, "align": "center"}))
    header = workbook.add_format({"bold": True, "bg_color": f"#{_HEADER_FILL}", "align": "center",
                                  "valign": "vcenter", "text_wrap": True, "border": 1})
    for index, column in enumerate(FILLED_COLUMNS):
        sheet.write_string(1, index, column.header, header)
    formats = {(late, text, is_date): workbook.add_format({
        "valign": "top", **({"bg_color": f"#{_OVERDUE_FILL}"} if late else {}),
        **({"text_wrap": True} if text else {}), **({"num_format": "yyyy-mm-dd"} if is_date else {})})
        for late in (False, True) for text in (False, True) for is_date in (False, True)}
    text_column = FILLED_HEADERS.index(TASK_FIELD_LABELS["text"])
    role_column = {AssignmentRole.LEAD: FILLED_HEADERS.index(TASK_FIELD_LABELS["lead"]),
                   AssignmentRole.CO: FILLED_HEADERS.index(TASK_FIELD_LABELS["co"])}
    by_header = {ID_HEADER: "id", KIND_HEADER: "kind"}
    checks = _CheckCells()
    task_columns = [(index, by_header.get(column.header, column.field))
                    for index, column in enumerate(FILLED_COLUMNS) if column.task_cell]
    first_state, check_column = FILLED_HEADERS.index(STATE_COLUMNS[0].header), len(FILLED_COLUMNS) - 1

    def put(row: int, position: int, value: object, late: bool) -> None:
        if value == "" or value is None:
            return
        if isinstance(value, str):
            sheet.write_string(row, position, value, formats[(late, position == text_column, False)])
        elif isinstance(value, date):
            sheet.write_datetime(row, position, _as_cell(value), formats[(late, False, True)])
        else:
            sheet.write_number(row, position, value, formats[(late, False, False)])  # type: ignore[arg-type]

    # Only the cells that hold something are written: most of a unit's row is the merged task cells.
    row = 1
    for task, states in shown:
        cells = task_cells(task)
        own = {"id": task.id, "kind": kind_label(task), **cells}
        span = len(states)
        for index, state in enumerate(states or [None]):
            row += 1
            late = state is not None and state.overdue
            if late:
                sheet.set_row(row, None, formats[(True, False, False)])  # its empty cells red too
            if index == 0:
                for position, name in task_columns:
                    if span > 1 and own[name] not in ("", None):  # an empty cell reads the same unmerged
                        # The task's cell over its units' rows, merged while its first row is the one
                        # being written (the rows go to the file one by one). Without a format the merge
                        # writes nothing into the rows below, which would send this row unfinished.
                        sheet.merge_range(row, position, row + span - 1, position, None, None)
                    put(row, position, own[name], late)
            if state is not None:
                put(row, role_column[state.role], state.unit, late)
            state_cells = _state_cells(state)
            for offset, value in enumerate(state_cells):
                put(row, first_state + offset, value, late)
            sheet.write_string(row, check_column, checks.cell(task, cells, states, index == 0, state_cells))
    sheet.autofilter(1, 0, max(row, 1), last - 1)
    _write_unit_sheet(workbook, title, shown, today)
    _write_guide(workbook)
    _write_identity(workbook, plan, narrowed, today)
    workbook.close()
    return buffer.getvalue(), row - 1


_FILLED_GUIDE: tuple[tuple[str, str], ...] = (
    (ID_HEADER, "任务编号，与聊天中显示的任务编号相同，导入时据此找到任务；请勿修改。新增任务时编号留空。"),
    (KIND_HEADER, "工作要点、任务、项目或子任务（子任务列在它所属的任务下面）；只读，改动不会导入。"),
    *((column.header, column.explanation) for column in LEDGER_COLUMNS),
    (OFFICIALS_HEADER, "责任领导的姓名，几位用顿号（、）隔开；可以修改。"),
    ("办理状态等", "办理状态、最新反馈、反馈日期、完成比例(%)、办结审核日期、延期情况、逾期天数是导出时"
     "各单位的办理情况，只读：改动不会导入（导入时会提示已忽略）。办结、延期等由单位和办公室在聊天中办理。"),
)
_IMPORT_GUIDE = (
    ("导入", "改好后先试导入：taskbot import 台账.xlsx --dry-run，核对将要做的改动；无误后去掉 --dry-run 正式导入。"
     "导入只应用导出后在表中改动的内容：任务内容、完成时限等单元格，牵头单位和配合单位中增加或删去的单位，"
     "以及编号留空的新行（新任务）。未改动的内容保持不变。"),
    ("单位", "增加单位：在任务的单位行下插入一行，在牵头单位或配合单位列写单位名称（或在单元格中用顿号隔开）；"
     "删去单位：删除该单位所在的行或清空其单位名称。"),
    ("未列出的任务", "台账是工作副本：表中没有的任务（筛选导出的台账，或删去的行）保持不变，不会被撤销；"
     "撤销任务请导入新的文档。"),
    ("其他计划", "台账只能导回导出它的计划；办公室已批准的延期、审核办结、指定或移出的单位都会保留。"),
    ("隐藏内容", f"“{CHECK_HEADER}”列和“{IDENTITY_SHEET}”页是隐藏的，记录导出时的内容，供导入时比对；请勿修改。"),
)


def _write_guide(workbook: Any) -> None:
    guide = workbook.add_worksheet(GUIDE_SHEET)
    guide.set_column(0, 0, 14)
    guide.set_column(1, 1, 90)
    bold, wrapped = workbook.add_format({"bold": True}), workbook.add_format({"text_wrap": True, "valign": "top"})
    guide.write_row(0, 0, ["列名", "填写说明"], bold)
    for row, (name, explanation) in enumerate((*_FILLED_GUIDE, ("", ""), *_IMPORT_GUIDE), start=1):
        guide.write_string(row, 0, name, wrapped)
        guide.write_string(row, 1, explanation, wrapped)
    guide.freeze_panes(1, 0)


def _write_identity(workbook: Any, plan: Plan, narrowed: list[str], today: date) -> None:
    identity = workbook.add_worksheet(IDENTITY_SHEET)
    for row, (name, value) in enumerate((("格式", LEDGER_FORMAT), ("计划编号", str(plan.id)),
                                         ("年份", str(plan.year)), ("计划", plan.title),
                                         ("导出日期", today.isoformat()), ("筛选", "、".join(narrowed)),
                                         ("说明", "本页供导入时识别台账，请勿修改。"))):
        identity.write_string(row, 0, name)
        identity.write_string(row, 1, value)
    identity.hide()


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
