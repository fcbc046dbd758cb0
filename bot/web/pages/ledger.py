"""台账: every task × unit row of the latest plan, filtered, searched, sorted and paged by the database,
and the same rows as the XLSX ``taskbot export`` writes.

The filters are the page's query string, so a filtered page is a link (the overview's units and
teams link here). A unit's member sees their own unit's rows whatever the query string says.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy import func
from sqlmodel import Session, select

from bot.web.desk import Visit, page, whole_number
from tasks.errors import ServiceError
from tasks.models import STATUS_NAMES, AssignmentStatus, Event, Role, Unit, WorkTeam
from tasks.plan.ledger import ledger_workbook
from tasks.work.ledger_rows import (
    SEARCH_LIMIT,
    SORTS,
    STATUSES,
    Choice,
    LedgerPage,
    LedgerQuery,
    filter_choices,
    latest_plan_id,
    ledger_page,
)
from tasks.work.lookup import unit_and_members

PER_PAGE = 50
MAX_DAYS = 366
SORT_NAMES = {"number": "编号", "deadline": "完成时限", "unit": "单位", "status": "状态", "late": "逾期天数"}
ROLE_NAMES = {"lead": "牵头", "co": "配合"}
CHOICES = "ledger-choices"  # visit.desk.files: ((plan, latest event), the filters' choices)
NO_PLAN = "还没有导入任何工作要点，台账是空的：请先导入。"


def _number(text: str) -> int | None:
    return whole_number(text)


@dataclass(frozen=True)
class Asked:
    """The query string as read: what the form shows back and the links carry."""

    unit: int | None
    team: int | None
    category: str
    status: str
    overdue: bool
    within: int | None
    search: str
    sort: str
    descending: bool
    page: int

    @classmethod
    def read(cls, visit: Visit) -> Asked:
        unit = visit.me.unit_id if visit.me.role == Role.MEMBER else _number(visit.query("unit"))
        within = _number(visit.query("within"))
        sort = visit.query("sort")
        return cls(unit=unit, team=None if visit.me.role == Role.MEMBER else _number(visit.query("team")),
                   category=visit.query("category")[:200],
                   status=visit.query("status") if visit.query("status") in STATUSES else "",
                   overdue=visit.query("overdue") == "1",
                   within=min(within, MAX_DAYS) if within is not None else None,
                   search=visit.query("q")[:SEARCH_LIMIT], sort=sort if sort in SORTS else "number",
                   descending=visit.query("desc") == "1", page=_number(visit.query("page")) or 1)

    def params(self, **changed: object) -> dict[str, str]:
        values = {"unit": self.unit, "team": self.team, "category": self.category, "status": self.status,
                  "overdue": "1" if self.overdue else "", "within": self.within, "q": self.search,
                  "sort": "" if self.sort == "number" else self.sort, "desc": "1" if self.descending else "",
                  "page": self.page if self.page > 1 else ""}
        values.update(changed)
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    def link(self, **changed: object) -> str:
        query = urlencode(self.params(**changed))
        return f"/ledger?{query}" if query else "/ledger"

    def sort_link(self, sort: str) -> str:
        """The column's header: sorted by it, or the other way round when it already is."""
        descending = "1" if sort == self.sort and not self.descending else ""
        return self.link(sort="" if sort == "number" else sort, desc=descending, page="")

    def export_link(self) -> str:
        return "/ledger/export.xlsx" + (f"?{urlencode(self._export_params())}" if self._export_params() else "")

    def _export_params(self) -> dict[str, str]:
        return {key: value for key, value in self.params().items() if key in ("unit", "team", "status", "overdue")}


@dataclass(frozen=True)
class Shown:
    rows: LedgerPage
    units: list[Choice]
    groups: list[Choice]
    teams: list[Choice]
    categories: list[str]
    unit_name: str  # the unit filtered on (a member's own), for the heading


def _scope(session: Session, unit_id: int | None) -> tuple[tuple[int, ...] | None, str]:
    if unit_id is None:
        return None, ""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return (), ""
    return tuple(unit_and_members(session, unit)), unit.name


@page("GET", "/ledger", may="task")
async def ledger(visit: Visit) -> web.StreamResponse:
    asked = Asked.read(visit)
    today = visit.ctx.today()
    if visit.me.role == Role.MEMBER and asked.unit is None:
        raise ServiceError("您的账号没有所属单位，无法查看台账。")

    def work(session: Session) -> Shown | None:
        plan_id = latest_plan_id(session)
        if plan_id is None:
            return None
        unit_ids, unit_name = _scope(session, asked.unit)
        query = LedgerQuery(unit_ids=unit_ids, team_id=asked.team, category=asked.category, status=asked.status,
                            overdue=asked.overdue, due_within=asked.within, search=asked.search, sort=asked.sort,
                            descending=asked.descending)
        rows = ledger_page(session, plan_id, today, query, page=asked.page, per_page=PER_PAGE)
        if visit.me.role == Role.MEMBER:
            return Shown(rows, [], [], [], [], unit_name)
        # The choices change only with what the audit records (an import, a unit's merge): kept until
        # the next event, as reading a plan's categories costs more than a page of rows.
        key = (plan_id, session.exec(select(func.max(Event.id))).one())
        kept = visit.desk.files.get(CHOICES)
        if kept is None or kept[0] != key:
            kept = (key, filter_choices(session, plan_id))
            visit.desk.files[CHOICES] = kept
        return Shown(rows, *kept[1], unit_name)

    shown = await visit.run(work)
    if shown is None:
        raise ServiceError(NO_PLAN)
    return visit.render("ledger.html", asked=asked, shown=shown, today=today, sorts=SORT_NAMES,
                        status_names={s: STATUS_NAMES[AssignmentStatus(s)] for s in STATUSES},
                        role_names=ROLE_NAMES, member=visit.me.role == Role.MEMBER)


@page("GET", "/ledger/export.xlsx", may="export")
async def export(visit: Visit) -> web.StreamResponse:
    """The XLSX of ``taskbot export`` (and /export in chat), narrowed as the page was: unit, team, status."""
    asked = Asked.read(visit)
    today = visit.ctx.today()
    status = "overdue" if asked.overdue else asked.status or None

    def work(session: Session) -> tuple[bytes, str]:
        unit = session.get(Unit, asked.unit) if asked.unit is not None else None
        team = session.get(WorkTeam, asked.team) if asked.team is not None else None
        if (asked.unit is not None and unit is None) or (asked.team is not None and team is None):
            raise ServiceError("没有这个单位或工作专班，请回到台账重新筛选。")
        ledger_file = ledger_workbook(session, today, unit=unit.name if unit else None,
                                      team=team.number or team.name if team else None, status=status,
                                      district=visit.ctx.district, timezone=visit.ctx.timezone)
        return ledger_file.content, ledger_file.file_name

    content, name = await visit.run(work)
    disposition = f"attachment; filename=\"ledger-{today.isoformat()}.xlsx\"; filename*=UTF-8''{quote(name)}"
    return web.Response(body=content, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": disposition})
