"""台账 on the web desk: the latest plan's task × unit rows, filtered, searched, sorted and paged in SQL.

The rows are the ones ``taskbot export`` writes for the same plan (tasks/plan/ledger.py): every live
assignment (not withdrawn) of the plan's tasks. One page is a few queries whatever the plan's size:
the count (from the tally when it can answer), the page's assignment ids by OFFSET and LIMIT from
the assignments' indexes, then those rows' tasks and units. Every ordering ends on the (task, unit)
pair, which is unique, so a page boundary between equal keys falls the same way on every page and no
row is shown twice or skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from tasks.models import (
    NO_DEADLINE,
    OPEN_STATUSES,
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    DutyTally,
    Plan,
    Task,
    TaskStatus,
    Unit,
    WorkTeam,
    WorkTeamLead,
)

SORTS = ("number", "deadline", "unit", "status", "late")  # 编号, 完成时限, 单位, 状态, 逾期天数
STATUSES = ("open", "reported", "done")
LIVE = (*OPEN_STATUSES, AssignmentStatus.DONE)  # what the ledger and the tally count: not withdrawn
SEARCH_LIMIT = 100  # characters of a search: longer is a paste, not a question


@dataclass(frozen=True)
class LedgerQuery:
    """What a ledger page asks for. ``unit_ids``: the units whose rows show (a group: its members;
    None: every unit); ``team_id``: only that work team's lead units."""

    unit_ids: tuple[int, ...] | None = None
    team_id: int | None = None
    category: str = ""
    status: str = ""  # one of STATUSES, or empty for all
    overdue: bool = False  # open or reported and past its deadline
    due_within: int | None = None  # open or reported, due from today to that many days on
    search: str = ""  # in the task's text
    sort: str = "number"
    descending: bool = False


@dataclass(frozen=True)
class LedgerRow:
    assignment_id: int
    task_id: int
    number: str  # the document's own 序号
    text: str
    category: str
    unit_id: int
    unit: str
    role: AssignmentRole
    status: AssignmentStatus
    due_on: date | None
    days_overdue: int  # 0 unless open or reported and past its deadline

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerRow]
    total: int  # rows matching, on every page
    page: int  # the page shown, 1-based, within 1..pages
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        """The position of the page's first row among all matching, 1-based (0: none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


def latest_plan_id(session: Session) -> int | None:
    """The plan the ledger shows: the latest imported, as ``taskbot export`` takes it (None: none yet)."""
    return session.exec(select(Plan.id).order_by(col(Plan.imported_at).desc(), col(Plan.id).desc()).limit(1)).first()


def _unit_filters(query: LedgerQuery, unit_column: Any) -> list[Any]:
    filters = []
    if query.unit_ids is not None:
        filters.append(unit_column.in_(query.unit_ids or (-1,)))
    if query.team_id is not None:
        filters.append(unit_column.in_(select(WorkTeamLead.unit_id).where(WorkTeamLead.team_id == query.team_id)))
    return filters


def _state_filters(query: LedgerQuery, status: Any, due_on: Any, today: date, *, dates: bool = True) -> list[Any]:
    """Status and deadline: the same words for the assignments and for the tally that counts them.
    ``dates=False``: the statuses only (the deadlines are bounded by the caller)."""
    filters = []
    if query.status in STATUSES:
        filters.append(status == AssignmentStatus(query.status))
    if query.overdue or query.due_within is not None:
        filters.append(status.in_(OPEN_STATUSES))
    if not dates:
        return filters
    if query.overdue:
        filters.append(due_on < today)
    if query.due_within is not None:
        filters.append(due_on >= today)
        filters.append(due_on <= today + timedelta(days=query.due_within))
    return filters


def _task_filters(query: LedgerQuery, plan_id: int | None) -> list[Any]:
    filters: list[Any] = [] if plan_id is None else [Task.plan_id == plan_id]
    if query.category:
        filters.append(or_(col(Task.category) == query.category, col(Task.topic) == query.category))
    if query.search:
        # A LIKE pattern with the user's own % and _ taken literally.
        escaped = query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        filters.append(col(Task.text).like(f"%{escaped}%", escape="\\"))
    return filters


def _ordering(query: LedgerQuery, today: date) -> list[Any]:
    late = case((col(Assignment.status).in_(OPEN_STATUSES) & (col(Assignment.due_on) < today), 0), else_=1)
    keys: dict[str, list[Any]] = {
        "number": [],
        "deadline": [col(Assignment.due_on).is_(None), col(Assignment.due_on)],
        "unit": [col(Unit.name)],
        "status": [col(Assignment.status)],
        "late": [late, col(Assignment.due_on).is_(None), col(Assignment.due_on)],
    }
    # Ending on the (task, unit) pair, which is unique: the order of the unique index on it, so that
    # the whole ledger by number is read in index order, with nothing to sort.
    chosen = [*keys.get(query.sort, keys["number"]), col(Assignment.task_id), col(Assignment.unit_id)]
    if query.sort == "late" and query.overdue:  # every row is late: by deadline, as the index has them
        chosen = chosen[1:]
    return [key.desc() for key in chosen] if query.descending else chosen


def _only_plan(session: Session, plan_id: int) -> bool:
    return session.exec(select(Plan.id).where(Plan.id != plan_id).limit(1)).first() is None


def ledger_page(session: Session, plan_id: int, today: date, query: LedgerQuery, *, page: int = 1,
                per_page: int = 50) -> LedgerPage:
    """One page of the plan's rows that ``query`` asks for; a page past the last shows the last."""
    # With one plan in the database, every assignment is the plan's: the task table is left out
    # unless a task's own words are asked about, and the tally counts what the indexes would.
    task_filters = _task_filters(query, None if _only_plan(session, plan_id) else plan_id)
    live = col(Assignment.status).in_(LIVE)
    filters = [live, *_unit_filters(query, col(Assignment.unit_id)),
               *_state_filters(query, col(Assignment.status), col(Assignment.due_on), today)]
    if task_filters:
        # The tasks first (their text is searched once each), then their assignments by the
        # (task, unit) index.
        filters.append(col(Assignment.task_id).in_(select(Task.id).where(*task_filters)))
        counted = select(func.count()).select_from(Assignment).where(*filters)
    else:
        counted = select(func.coalesce(func.sum(DutyTally.n), 0)).where(
            *_unit_filters(query, col(DutyTally.unit_id)),
            *_state_filters(query, col(DutyTally.status), col(DutyTally.due_on), today))
    total = int(session.exec(counted).one())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    # Two steps: the page's ids from the assignments' indexes alone, then their tasks and units.
    offset = (page - 1) * per_page
    if not task_filters and not query.descending and query.sort in ("deadline", "late"):
        ids = _ids_by_deadline(session, query, today, offset, per_page)
    else:
        ids_query = select(Assignment.id).where(*filters)
        if query.sort == "unit":
            ids_query = ids_query.join(Unit, col(Unit.id) == Assignment.unit_id)
        ids = list(session.exec(ids_query.order_by(*_ordering(query, today)).offset(offset).limit(per_page)).all())
    rows = {row[0]: row for row in session.exec(
        select(Assignment.id, Assignment.task_id, Task.number, Task.text, Task.category, Assignment.unit_id,
               Unit.name, Assignment.role, Assignment.status, Assignment.due_on)
        .join(Task, col(Task.id) == Assignment.task_id).join(Unit, col(Unit.id) == Assignment.unit_id)
        .where(col(Assignment.id).in_(ids or [-1]))).all()}
    found = []
    for assignment_id in ids:
        a_id, task_id, number, text, category, unit_id, unit, role, status, due_on = rows[assignment_id]
        late = (today - due_on).days if status in OPEN_STATUSES and due_on is not None and due_on < today else 0
        found.append(LedgerRow(a_id, task_id, number or "", text, category or "", unit_id, unit, role, status,
                               due_on, late))
    return LedgerPage(found, total, page, pages, per_page)


def _ids_by_deadline(session: Session, query: LedgerQuery, today: date, offset: int, limit: int) -> list[int]:
    """A page by deadline (by days overdue: the late rows by deadline, then the rest by deadline)."""
    if query.sort == "deadline" or query.overdue:
        return _window(session, query, today, offset, limit)
    late = replace(query, overdue=True)
    late_count = int(session.exec(select(func.coalesce(func.sum(DutyTally.n), 0)).where(
        *_unit_filters(late, col(DutyTally.unit_id)),
        *_state_filters(late, col(DutyTally.status), col(DutyTally.due_on), today))).one())
    ids = _window(session, late, today, offset, limit) if offset < late_count else []
    if len(ids) < limit:
        ids += _window(session, query, today, max(0, offset - late_count), limit - len(ids), not_late=True)
    return ids


def _window(session: Session, query: LedgerQuery, today: date, offset: int, limit: int, *,
            not_late: bool = False) -> list[int]:
    """The ids of rows ``offset`` to ``offset + limit`` by deadline (none last), found between the few
    deadlines that hold them, which the tally tells: the index on (status, due_on) then reads those
    days only, instead of sorting every row before them. ``not_late``: only the rows that are not
    open and past their deadline."""
    tally_filters = [*_unit_filters(query, col(DutyTally.unit_id)),
                     *_state_filters(query, col(DutyTally.status), col(DutyTally.due_on), today)]
    # The deadlines asked for are those of the days found: left to the window's two bounds, so that
    # the database bounds its index range by them and not by a wider one it may prefer.
    filters = [col(Assignment.status).in_(LIVE), *_unit_filters(query, col(Assignment.unit_id)),
               *_state_filters(query, col(Assignment.status), col(Assignment.due_on), today, dates=False)]
    if not_late:
        tally_filters.append(or_(DutyTally.status == AssignmentStatus.DONE, col(DutyTally.due_on) >= today))
        filters.append(or_(Assignment.status == AssignmentStatus.DONE, col(Assignment.due_on) >= today,
                           col(Assignment.due_on).is_(None)))  # an OR: no index range is taken from it
    per_day = session.exec(select(DutyTally.due_on, func.sum(DutyTally.n)).where(*tally_filters)
                           .group_by(col(DutyTally.due_on)).order_by(col(DutyTally.due_on))).all()
    running, skipped = 0, 0
    first: date | None = None
    last: date | None = None
    for day, count in per_day:
        count = int(count or 0)
        if count <= 0:
            continue
        if first is None and running + count <= offset:
            running += count
            continue
        if first is None:
            first, skipped = day, running
        last = day
        running += count
        if running >= offset + limit:
            break
    if first is None or last is None:
        return []
    if first == NO_DEADLINE:
        filters.append(col(Assignment.due_on).is_(None))
    elif last == NO_DEADLINE:  # from a day on, and those with no deadline after them
        filters.append(or_(col(Assignment.due_on) >= first, col(Assignment.due_on).is_(None)))
    else:
        filters.append(col(Assignment.due_on).between(first, last))
    ordering = (col(Assignment.due_on).is_(None), col(Assignment.due_on), col(Assignment.task_id),
                col(Assignment.unit_id))
    return list(session.exec(select(Assignment.id).where(*filters).order_by(*ordering)
                             .offset(offset - skipped).limit(limit)).all())


def filter_choices(session: Session, plan_id: int) -> tuple[list[Choice], list[Choice], list[Choice], list[str]]:
    """What the filters offer: units that hold duties, groups, the plan's work teams, its categories."""
    # The tally knows which units hold duties without reading the assignments.
    holding = select(DutyTally.unit_id).where(DutyTally.n > 0)
    units = [Choice(i, n) for i, n in session.exec(
        select(Unit.id, Unit.name).where(col(Unit.id).in_(holding), Unit.kind != "group")
        .order_by(col(Unit.name))).all()]
    groups = [Choice(i, n) for i, n in session.exec(
        select(Unit.id, Unit.name).where(Unit.kind == "group").order_by(col(Unit.name))).all()]
    teams = [Choice(i, n) for i, n in session.exec(
        select(WorkTeam.id, WorkTeam.name).where(WorkTeam.plan_id == plan_id, WorkTeam.status == TaskStatus.ACTIVE)
        .order_by(col(WorkTeam.id))).all()]
    categories = sorted(c for c in session.exec(
        select(Task.category).distinct().where(Task.plan_id == plan_id, col(Task.category).is_not(None))).all() if c)
    return units, groups, teams, categories
