"""Importing a ledger (台账) back: the office's edits to its working copy of the plan, and nothing else.

A workbook ``taskbot export`` wrote (tasks.plan.ledger) is known by its hidden sheet 台账标识, which
names the plan; ``taskbot import`` sends it here instead of reading it as a new document. Why not
through the document import (tasks.plan.store): that one makes the plan equal to a document, and
a ledger is not the document. It may be narrowed to one unit, rows may have been deleted, and the
plan may have moved on since it was exported; a document import would withdraw what the file
lacks and write back what it held. Here each row is known by its 编号 (the task's id), and the
hidden 台账校验 column says what the export wrote on it, so that:

- a cell as exported changes nothing, whatever the database holds now; a cell the office edited
  is applied exactly, with the event the document import would write (task.updated, and the
  deadline in force recomputed for each unit, an approved extension standing when it is later);
- a unit written into 牵头单位 or 配合单位 is put on the task, a unit's name deleted takes it off,
  as the office does in chat (assignment.assigned_by_office / removed_by_office, kept by later
  imports of the document); units the ledger did not show (a narrowed ledger) are not touched;
- a row without 编号 is a new task (its numbered points its sub-items), read as the template's
  rows are read;
- the state columns (办理状态 …) and 类型 are never read as changes; an edited one is reported as
  ignored; tasks not in the file are left alone and counted, never withdrawn; the import's
  problem list, the work teams and the plan's own row are not touched.

Everything is checked before anything is written: a ledger of another plan, an unknown 编号, a
unit name the directory does not know or a 完成时限 that cannot be read is refused with one Chinese
sentence, and nothing changes. ``--dry-run`` makes the same changes and rolls them back.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from tasks.clock import Clock
from tasks.db import transaction
from tasks.errors import ServiceError, quoted
from tasks.events import Actor
from tasks.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Milestone,
    OfficeChoice,
    Plan,
    Task,
    TaskStatus,
    Unit,
    deadline_in_force,
)
from tasks.plan.deadlines import find_milestones, find_recurrence, read_deadline, read_period
from tasks.plan.directory import directory_from_db
from tasks.plan.ledger import (
    CHECK_HEADER,
    EDITABLE_FIELDS,
    FILLED_COLUMNS,
    ID_HEADER,
    IDENTITY_SHEET,
    LEDGER_FORMAT,
    LEDGER_SHEET,
    STATE_COLUMNS,
    ledger_digest,
    task_cells,
)
from tasks.plan.parsed import Item
from tasks.plan.store import ImportSummary, _count_decisions, _create_tasks, _keep_in_step, _milestones, _Plan, _Store
from tasks.plan.subitems import split_subitems
from tasks.plan.tables import unique_ref
from tasks.plan.unit_reading import UnitReader
from tasks.plan.workbook_reader import read_workbook
from tasks.plan.workplan import DocumentError
from tasks.text import compact

FIELD_NAMES = {"number": "序号", "area": "工作领域", "topic": "任务类别", "text": "任务内容", "deadline": "完成时限",
               "officials": "责任领导"}
_HEADERS = {column.header: column for column in FILLED_COLUMNS}
_FIELD_HEADER = {column.field: column.header for column in FILLED_COLUMNS if column.field}
_STATE_HEADERS = tuple(column.header for column in STATE_COLUMNS)
_NAME_SEPARATORS = re.compile(r"[、，,；;\n]+")


def is_ledger(path: Path) -> bool:
    """Whether a file is a ledger this program exported: an .xlsx whose workbook has the identity sheet.
    Read from the archive's index of sheets, without opening the sheets."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            index = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return f'name="{IDENTITY_SHEET}"' in index


@dataclass
class LedgerRow:
    """A task as the ledger has it: its first row's cells and the units of all its rows."""

    where: str
    task_id: int | None  # None: a new row
    cells: dict[str, str]
    leads: list[str] = field(default_factory=list)
    cos: list[str] = field(default_factory=list)
    check: dict[str, Any] | None = None  # what the export wrote on its first row


@dataclass
class LedgerImport:
    """What importing a ledger did (or, in a dry run, would do), said line by line."""

    plan_id: int
    year: int
    title: str
    tasks_in_file: int = 0
    not_in_file: int = 0
    changes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    units_changed: int = 0
    extensions_in_force: int = 0
    verified: int = 0
    awaiting_review: int = 0
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.units_changed)


@dataclass
class _Ledger:
    identity: dict[str, str]
    rows: list[LedgerRow]
    ignored: list[str]


def read_ledger(path: Path) -> _Ledger:
    sheets = dict(read_workbook(path))
    identity = {row[0]: row[1] for row in sheets.get(IDENTITY_SHEET, []) if len(row) >= 2}
    if identity.get("格式") != LEDGER_FORMAT or LEDGER_SHEET not in sheets:
        raise DocumentError(f"“{path.name}”不是完整的台账（缺少“{LEDGER_SHEET}”或“{IDENTITY_SHEET}”页），请重新导出")
    rows, ignored = _ledger_rows(sheets[LEDGER_SHEET])
    return _Ledger(identity, rows, ignored)


def _ledger_rows(cells: list[list[str]]) -> tuple[list[LedgerRow], list[str]]:
    at = next((n for n, row in enumerate(cells[:6]) if ID_HEADER in row and CHECK_HEADER in row), None)
    if at is None:
        raise DocumentError(f"台账的表头不完整（需要“{ID_HEADER}”和隐藏的“{CHECK_HEADER}”列），请重新导出后再编辑")
    header = cells[at]
    missing = [name for name in _HEADERS if name not in header and name not in _STATE_HEADERS]
    if missing:
        raise DocumentError(f"台账缺少“{'”“'.join(missing)}”列，请不要删除台账的列")
    column = {name: header.index(name) for name in _HEADERS if name in header}
    rows: list[LedgerRow] = []
    ignored: list[str] = []
    current: LedgerRow | None = None
    for number, cells_of_row in enumerate(cells[at + 1:], start=at + 2):
        def cell(name: str, row: list[str] = cells_of_row) -> str:
            index = column.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        where = f"第{number}行"
        check = _check(cell(CHECK_HEADER))
        task_id, text = cell(ID_HEADER), cell(_FIELD_HEADER["text"])
        if task_id:
            if not task_id.isdigit():
                raise ServiceError(f"{where}的编号“{quoted(task_id)}”不是任务编号；新增的任务请把编号留空")
            own_check = check if check is not None and check.get("t") == int(task_id) and "f" in check else None
            current = LedgerRow(where, int(task_id), {f: cell(h) for f, h in _FIELD_HEADER.items()}, check=own_check)
            rows.append(current)
        elif text:
            current = LedgerRow(where, None, {f: cell(h) for f, h in _FIELD_HEADER.items()})
            rows.append(current)
        elif not any(cells_of_row):
            continue
        elif current is None or _orphan(current, check, cell(_FIELD_HEADER["lead"]) or cell(_FIELD_HEADER["co"])):
            # The unit rows of a task whose own row was deleted: that task is not in the file.
            ignored.append(f"{where}：所属任务的首行不在表中，该行未导入")
            continue
        if not (task_id or text):
            # A unit's row under its task: the task's own cells are on the task's first row (an empty
            # one is not merged over the rows below, so a value typed here would otherwise go unread).
            typed = [h for f, h in _FIELD_HEADER.items() if f not in ("lead", "co") and cell(h)]
            if typed:
                ignored.append(f"{where}：{'、'.join(typed)}请写在该任务的第一行（编号所在行），这一行里的未导入")
        current.leads += _names(cell(_FIELD_HEADER["lead"]))
        current.cos += _names(cell(_FIELD_HEADER["co"]))
        state = [cell(name) for name in _STATE_HEADERS]
        edited = ledger_digest(state) != check["s"] if check is not None and "s" in check else any(state)
        if edited:
            unit = cell(_FIELD_HEADER["lead"]) or cell(_FIELD_HEADER["co"])
            label = f"任务 {current.task_id}" if current.task_id is not None else "新任务"
            ignored.append(f"{where}（{label}{'，' + unit if unit else ''}）：办理状态等只读列的改动未导入")
    return rows, ignored


def _check(text: str) -> dict[str, Any] | None:
    """The hidden 台账校验 cell: a task's first row holds a JSON record, a unit's row its state's digest."""
    if not text.startswith("{"):
        return {"s": text} if text else None
    try:
        check = json.loads(text)
    except ValueError:
        return None
    return check if isinstance(check, dict) else None


def _orphan(current: LedgerRow, check: dict[str, Any] | None, unit: str) -> bool:
    """A unit's row the export wrote (it has its record) under a task that did not have that unit:
    its own task's row was deleted, and it is not this task's."""
    if check is None or current.check is None:
        return False
    return bool(unit) and unit not in (*current.check.get("L", []), *current.check.get("C", []))


def _names(text: str) -> list[str]:
    return [name.strip() for name in _NAME_SEPARATORS.split(text) if name.strip()]


def import_ledger(engine: Engine, path: Path, clock: Clock, actor: Actor, *, district: str,
                  year: int | None = None, dry_run: bool = False) -> LedgerImport:
    """Apply a ledger's edits in one transaction; a dry run makes them and rolls them back, so that
    what it says is exactly what an import would do."""
    ledger = read_ledger(path)
    if dry_run:
        with Session(engine) as session:
            try:
                return _apply(session, ledger, clock, actor, district, year)
            finally:
                session.rollback()
    with transaction(engine) as session:
        return _apply(session, ledger, clock, actor, district, year)


def _plan_of(session: Session, identity: dict[str, str], year: int | None) -> Plan:
    title, year_text, plan_id = identity.get("计划", ""), identity.get("年份", ""), identity.get("计划编号", "")
    plan = session.get(Plan, int(plan_id)) if plan_id.isdigit() else None
    if plan is None or str(plan.year) != year_text or plan.title != title or (year is not None and year != plan.year):
        raise ServiceError(f"这份台账是《{quoted(title)}》（{year_text}年）的，与数据库中的计划不符，未导入；"
                           "台账只能导回导出它的计划")
    return plan


@dataclass
class _Context:
    """What applying a ledger reads once: the plan's tasks, the directory, the units by name and id."""

    store: _Store
    result: LedgerImport
    plan: Plan
    tasks: dict[int, Task]
    reader: UnitReader
    unit_ids: dict[str, int]
    unit_names: dict[int, str]
    parents: set[int]
    kept: ImportSummary  # the notes of decisions a deadline edit met (tasks.plan.store)


def _apply(session: Session, ledger: _Ledger, clock: Clock, actor: Actor, district: str,
           year: int | None) -> LedgerImport:
    plan = _plan_of(session, ledger.identity, year)
    assert plan.id is not None
    tasks = {task.id: task for task in session.exec(select(Task).where(Task.plan_id == plan.id)).all()
             if task.id is not None}
    _check_numbers(ledger.rows, tasks, plan)
    units = session.exec(select(Unit.id, Unit.name)).all()
    context = _Context(
        store=_Store(session, clock, actor), result=LedgerImport(plan.id, plan.year, plan.title,
                                                                 ignored=list(ledger.ignored)),
        plan=plan, tasks=tasks, reader=UnitReader(directory_from_db(session, district)),
        unit_ids={name: unit_id for unit_id, name in units}, unit_names=dict(units),
        parents={task.parent_id for task in tasks.values() if task.parent_id is not None},
        kept=ImportSummary(plan_id=plan.id))
    result = context.result
    live = {task_id for task_id, task in tasks.items() if task.status == TaskStatus.ACTIVE}
    edits: list[tuple[LedgerRow, Task]] = []
    for row in ledger.rows:
        if row.task_id is None:
            continue
        if row.task_id in live:
            edits.append((row, tasks[row.task_id]))
        else:
            result.ignored.append(f"{row.where}：任务 {row.task_id} 已撤销，该行未导入")
    result.tasks_in_file = len(edits)
    result.not_in_file = len(live - {row.task_id for row, _task in edits})
    assignments = _task_assignments(session, [row.task_id for row, _task in edits if row.task_id is not None])
    # Everything read and checked first (a refusal leaves nothing half written), then applied.
    planned = [(task, _field_edits(row, task, plan.year, task.id in context.parents),
                _unit_edits(context, row, task, assignments.get(task.id or 0, []))) for row, task in edits]
    new_items = _new_items(context, ledger.rows)
    for task, fields, unit_edits in planned:
        own = assignments.setdefault(task.id or 0, [])
        _apply_fields(context, task, fields, own)
        _apply_units(context, task, unit_edits, own)
    _create_new(context, new_items)
    standing = ImportSummary(plan_id=plan.id)
    for task, _fields, _units in planned:
        for assignment in assignments.get(task.id or 0, []):
            if assignment.status != AssignmentStatus.WITHDRAWN:
                _count_decisions(standing, assignment)
    result.extensions_in_force, result.verified = standing.extensions_in_force, standing.verified
    result.awaiting_review = standing.awaiting_review
    result.kept = [f"任务 {kept.task_id}（{kept.unit}）：{kept.note}" for kept in context.kept.kept]
    if result.changed:
        context.store.event("plan.ledger_imported", "plan", plan.id, created=result.created, updated=result.updated,
                            units_changed=result.units_changed, tasks_in_file=result.tasks_in_file,
                            not_in_file=result.not_in_file, exported_on=ledger.identity.get("导出日期", ""))
    session.flush()
    context.store.write_events()
    return result


def _check_numbers(rows: list[LedgerRow], tasks: dict[int, Task], plan: Plan) -> None:
    seen: Counter[int] = Counter(row.task_id for row in rows if row.task_id is not None)
    for row in rows:
        if row.task_id is None:
            continue
        if row.task_id not in tasks:
            raise ServiceError(f"{row.where}的编号 {row.task_id} 不是《{quoted(plan.title)}》中的任务，未导入；"
                               "新增的任务请把编号留空")
        if seen[row.task_id] > 1:
            raise ServiceError(f"编号 {row.task_id} 在台账中出现了 {seen[row.task_id]} 次（{row.where}），未导入；"
                               "每项任务只能有一行写编号")


def _task_assignments(session: Session, task_ids: list[int]) -> dict[int, list[Assignment]]:
    """Every assignment of these tasks, withdrawn ones too (a unit written back is restored)."""
    found: dict[int, list[Assignment]] = {}
    for start in range(0, len(task_ids), _SELECT_BATCH):
        for assignment in session.exec(select(Assignment).where(
                col(Assignment.task_id).in_(task_ids[start:start + _SELECT_BATCH]))).all():
            found.setdefault(assignment.task_id, []).append(assignment)
    return found


_SELECT_BATCH = 5000  # task ids in one IN list, well within every database's parameter limit


# --- a task's own cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deadline:
    deadline: date | None
    start: date | None
    deadline_text: str
    recurrence: str | None
    milestones: list[Any]


def _edited(row: LedgerRow, name: str, current: str) -> bool:
    """Whether the office changed this cell since the export (without a record of the export:
    whether it differs from the database)."""
    value = row.cells[name]
    digests = row.check.get("f", []) if row.check is not None else []
    if len(digests) == len(EDITABLE_FIELDS):
        return ledger_digest([value]) != digests[EDITABLE_FIELDS.index(name)]
    return value != current


def _field_edits(row: LedgerRow, task: Task, year: int, has_subitems: bool) -> dict[str, Any]:
    """The office's edits to the task's cells, read and checked: {ledger field: value}."""
    current = task_cells(task)
    edits: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        value = row.cells[name]
        if value == current[name].strip() or not _edited(row, name, current[name].strip()):
            continue
        if name == "text" and not value:
            raise ServiceError(f"{row.where}（任务 {task.id}）的任务内容是空的，未导入；撤销任务请导入新的文档")
        edits[name] = _read_deadline(row, task, value, year, has_subitems) if name == "deadline" else value
    return edits


def _read_deadline(row: LedgerRow, task: Task, text: str, year: int, has_subitems: bool) -> _Deadline:
    if not text:
        return _Deadline(None, None, "", find_recurrence(task.text), [])
    if task.kind == "project":
        period = read_period(text, year)
        if period is None:
            raise ServiceError(f"{row.where}（项目 {task.id}）的开工竣工时间“{quoted(text)}”无法识别，未导入；"
                               "请写成“2021年6月-2021年9月”这样的时间")
        return _Deadline(period.end, period.start, text, task.recurrence, [])
    reading = read_deadline(text, year)
    if not reading.understood:
        raise ServiceError(f"{row.where}（任务 {task.id}）的完成时限“{quoted(text)}”无法识别，未导入；"
                           "请写成“9月底前”“2021年12月31日”“每季度末”这样的时限")
    milestones = list(reading.milestones)
    if task.kind == "task" and not has_subitems and reading.text == text:
        milestones += find_milestones(task.text, year)  # as the import reads a task list's row
    return _Deadline(reading.deadline, reading.start, reading.text,
                     reading.recurrence or find_recurrence(task.text), milestones)


def _apply_fields(context: _Context, task: Task, edits: dict[str, Any], assignments: list[Assignment]) -> None:
    if not edits:
        return
    store = context.store
    wanted: dict[str, Any] = {}
    for name, value in edits.items():
        if name == "deadline":
            wanted.update(deadline=value.deadline, deadline_text=value.deadline_text, recurrence=value.recurrence)
            if task.kind == "project":
                wanted["start"] = value.start
        elif name == "officials":
            wanted["officials"] = "、".join(_names(value))
        elif name in ("area", "topic"):
            wanted["category" if name == "area" else "topic"] = value or None
        else:
            wanted[name] = value
    changes = {name: [getattr(task, name), value] for name, value in wanted.items() if getattr(task, name) != value}
    if not changes:
        return
    for name, (_old, new) in changes.items():
        setattr(task, name, new)
    task.updated_at = store.now
    store.event("task.updated", "task", task.id, ref=task.ref, changes=changes, via="台账")
    context.result.updated += 1
    said = "、".join(FIELD_NAMES[name] for name in edits)
    moved = changes.get("deadline_text")
    context.result.changes.append(f"任务 {task.id}：修改{said}" + (
        f"（{moved[0] or '无'} → {moved[1] or '无'}）" if moved else ""))
    deadline = edits.get("deadline")
    if deadline is None:
        return
    current = list(store.session.exec(select(Milestone).where(Milestone.task_id == task.id)).all())
    _milestones(store, task, Item(kind=task.kind, ref=task.ref, text=task.text, deadline=task.deadline,
                                  start=task.start, milestones=deadline.milestones), current)
    for assignment in assignments:
        if assignment.status != AssignmentStatus.WITHDRAWN:
            # The deadline in force for each unit, an approved later extension standing (as on import).
            _keep_in_step(store, context.kept, task, context.unit_names.get(assignment.unit_id, ""), assignment,
                          assignment.role, assignment.position, deadline_moved="deadline" in changes)


# --- a task's units -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _UnitEdit:
    unit_id: int
    name: str
    role: str | None  # the role it is to have; None: taken off the task


def _unit_edits(context: _Context, row: LedgerRow, task: Task, assignments: list[Assignment]) -> list[_UnitEdit]:
    """The units written into or deleted from the task's rows since the export, resolved and checked."""
    if row.check is not None and "L" in row.check:
        shown_leads, shown_cos = list(row.check["L"]), list(row.check.get("C", []))
    else:  # without a record of the export, the units the database has are what the ledger showed
        live = [a for a in assignments if a.status != AssignmentStatus.WITHDRAWN]
        shown_leads = [context.unit_names[a.unit_id] for a in live if a.role == AssignmentRole.LEAD]
        shown_cos = [context.unit_names[a.unit_id] for a in live if a.role != AssignmentRole.LEAD]
    wanted = {**{name: AssignmentRole.CO for name in row.cos}, **{name: AssignmentRole.LEAD for name in row.leads}}
    shown = {**{name: AssignmentRole.CO for name in shown_cos}, **{name: AssignmentRole.LEAD for name in shown_leads}}
    edits: list[_UnitEdit] = []
    for name, role in wanted.items():
        if shown.get(name) != role:
            edits += [_UnitEdit(unit_id, unit, role) for unit_id, unit in _resolve(context, row, name)]
    for name in shown:
        if name not in wanted:
            edits += [_UnitEdit(unit_id, unit, None) for unit_id, unit in _resolve(context, row, name)]
    return edits


def _resolve(context: _Context, row: LedgerRow, name: str) -> list[tuple[int, str]]:
    """The units a name written in the ledger stands for (a group: its members), by id."""
    units = context.reader.read(name, row.where, None, [])
    if units.unknown or units.unresolved or not units.assignees:
        raise ServiceError(f"{row.where}的单位“{quoted(name)}”不在单位名录中，未导入；"
                           "请写名录中的单位名称或简称（taskbot units 可查看）")
    return [(context.unit_ids[assignee.unit], assignee.unit) for assignee in units.assignees]


_ROLE_NAMES = {AssignmentRole.LEAD: "牵头单位", AssignmentRole.CO: "配合单位"}


def _apply_units(context: _Context, task: Task, edits: list[_UnitEdit], assignments: list[Assignment]) -> None:
    """As the office does it in chat (tasks.work.review): a unit put on or taken off the task is the
    office's choice, which later imports of the document keep."""
    store, result = context.store, context.result
    by_unit = {assignment.unit_id: assignment for assignment in assignments}
    for edit in edits:
        assignment = by_unit.get(edit.unit_id)
        if edit.role is None:
            if assignment is None or assignment.status == AssignmentStatus.WITHDRAWN:
                continue
            previous = assignment.status
            assignment.status, assignment.withdrawn_from = AssignmentStatus.WITHDRAWN, previous
            assignment.office_choice, assignment.updated_at = OfficeChoice.REMOVED, store.now
            store.event("assignment.removed_by_office", "assignment", assignment.id, task_id=task.id, unit=edit.name,
                        previous_status=previous, via="台账")
            result.changes.append(f"任务 {task.id}：移出{edit.name}")
        elif assignment is not None and assignment.status != AssignmentStatus.WITHDRAWN:
            if assignment.role == edit.role:
                continue
            old_role = assignment.role
            assignment.role, assignment.updated_at = AssignmentRole(edit.role), store.now
            store.event("assignment.updated", "assignment", assignment.id, unit=edit.name,
                        changes={"role": [old_role, edit.role]}, via="台账")
            result.changes.append(f"任务 {task.id}：{edit.name}改为{_ROLE_NAMES[AssignmentRole(edit.role)]}")
        else:
            if assignment is None:
                assignment = Assignment(task_id=task.id, unit_id=edit.unit_id, role=AssignmentRole(edit.role),
                                        position=max((a.position for a in assignments), default=-1) + 1,
                                        due_on=task.deadline, created_at=store.now, updated_at=store.now)
                store.session.add(assignment)
                assignments.append(assignment)
                by_unit[edit.unit_id] = assignment
            else:
                assignment.status = assignment.withdrawn_from or AssignmentStatus.OPEN
                assignment.withdrawn_from, assignment.role = None, AssignmentRole(edit.role)
                assignment.due_on, assignment.updated_at = deadline_in_force(task.deadline, assignment.extended_to), \
                    store.now
            assignment.office_choice, assignment.next_check_at = OfficeChoice.ADDED, store.now
            store.session.flush()
            store.event("assignment.assigned_by_office", "assignment", assignment.id, task_id=task.id,
                        unit=edit.name, role=edit.role, via="台账")
            result.changes.append(f"任务 {task.id}：增加{_ROLE_NAMES[AssignmentRole(edit.role)]}{edit.name}")
        result.units_changed += 1


# --- new rows: new tasks --------------------------------------------------------------------------


def _new_items(context: _Context, rows: list[LedgerRow]) -> list[tuple[Item, int, str]]:
    """The rows without 编号 as new tasks (their numbered points as sub-items, as the import reads a
    task list), each with the position after the task above it and the row it came from."""
    year = context.plan.year
    refs: Counter[str] = Counter({task.ref: 1 for task in context.tasks.values()})
    area = topic = ""
    position = -1
    items: list[tuple[Item, int, str]] = []
    # A ledger imported twice, or a row copied without its 编号: the task is there already.
    same_text = {task.text: task.id for task in context.tasks.values()
                 if task.status == TaskStatus.ACTIVE and task.parent_id is None}
    for row in rows:
        if row.task_id is not None:
            task = context.tasks[row.task_id]
            area, topic, position = task.category or "", task.topic or "", task.position
            continue
        cells = row.cells
        if (existing := same_text.get(cells["text"])) is not None:
            context.result.ignored.append(f"{row.where}：新任务与任务 {existing} 的内容相同，视为已有，未重复新增")
            continue
        if cells["area"]:  # (an empty 工作领域 or 任务类别 goes on from the row above, as in the template)
            area, topic = cells["area"], ""
        topic = cells["topic"] or topic
        if not (row.leads or row.cos):
            raise ServiceError(f"{row.where}的新任务没有写牵头单位或配合单位，未导入")
        for name in (*row.leads, *row.cos):
            _resolve(context, row, name)
        owners = context.reader.read_lead_and_co("、".join(row.leads), "、".join(row.cos), row.where, None, [])
        reading = read_deadline(cells["deadline"], year)
        if cells["deadline"] and not reading.understood:
            raise ServiceError(f"{row.where}的新任务的完成时限“{quoted(cells['deadline'])}”无法识别，未导入；"
                               "请写成“9月底前”“2021年12月31日”“每季度末”这样的时限")
        text = cells["text"]
        ref = unique_ref(f"ledger:{compact(text)[:40]}", refs)
        parent = Item(kind="task", ref=ref, text=text, category=area or None, topic=topic or None,
                      number=cells["number"], units=owners.names, roles=dict(owners.roles),
                      officials=_names(cells["officials"]), units_as_written=owners.as_written,
                      deadline=reading.deadline, start=reading.start, deadline_text=reading.text,
                      recurrence=reading.recurrence or find_recurrence(text), milestones=list(reading.milestones))
        subitems = split_subitems(text)
        if not subitems:
            parent.milestones += find_milestones(text, year)
        items.append((parent, position, row.where))
        for number, subtext in subitems:
            items.append((Item(kind="task", ref=f"{ref}#{number}", parent=ref, text=subtext, category=parent.category,
                               topic=parent.topic, number=str(number), units=list(parent.units),
                               roles=dict(parent.roles), officials=list(parent.officials),
                               deadline=parent.deadline, start=parent.start, deadline_text=parent.deadline_text,
                               recurrence=find_recurrence(subtext) or reading.recurrence,
                               milestones=find_milestones(subtext, year)), position, row.where))
    return items


def _create_new(context: _Context, new_items: list[tuple[Item, int, str]]) -> None:
    if not new_items:
        return
    items = [item for item, _position, _where in new_items]
    tracked = _Plan(items, {item.ref: position for item, position, _where in new_items},
                    {item.parent for item in items if item.parent}, {t.ref: t.id for t in context.tasks.values()
                                                                     if t.id is not None})
    summary = ImportSummary(plan_id=context.plan.id or 0)
    _create_tasks(context.store, context.plan, tracked, items, context.unit_ids, summary)
    for item, _position, where in new_items:
        if item.parent is None:
            context.result.created += 1
            context.result.changes.append(f"新增任务 {tracked.ids[item.ref]}（{where}）：{quoted(item.text, 30)}")
    context.result.units_changed += summary.assignments_changed

