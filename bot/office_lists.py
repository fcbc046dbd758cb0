"""The office's and leadership's lists, sized for a phone.

A phone shows about 35 columns of a chat message, and a table wider than that wraps into noise, so
nothing here is a table. A question about many duties opens on a one-screen summary — counts by
unit or work team, worst first, each a button — and its duties come a page at a time, each in two
short lines, every page a tap away; one answer is always one message, however many duties there are.

A button carries its whole question (ListQuery): a tap an hour later asks it again of what the
database holds then, and a page never repeats or skips a duty that has not changed since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlmodel import Session, col, select

from bot import texts
from bot.context import Request
from bot.phone import (
    DUE,
    GROUP_LEGEND,
    ITEMS,
    LEGEND,
    NAMES_PER_ROW,
    NUMBERS_PER_ROW,
    OPEN,
    OVERDUE,
    PHONE_COLUMNS,
    STATS,
    SUMMARY_ROWS,
    TEAMS,
    UNITS,
    ListQuery,
    button_name,
    button_rows,
    fit,
    phone_width,
)
from bot.render import LIGHTS, Button, Keyboard, Page, Reply, named_line, tally_line, unit_title
from bot.texts import esc
from tasks.clock import local_date
from tasks.errors import ServiceError, quoted
from tasks.models import MERGED_UNIT, AssignmentStatus, Task, TaskStatus, Unit, WorkTeam
from tasks.plan.directory import merged_into
from tasks.work.duties import Duty
from tasks.work.lookup import NotFoundError, find_team, find_unit, is_category, latest_plan
from tasks.work.progress import (
    DUE_SOON_DAYS,
    Scope,
    Tally,
    UnitDue,
    completion_stats,
    count_open_due,
    open_due_by_unit,
    open_duties,
    traffic_light,
    unit_scope,
)
from tasks.work.review import Waiting, waiting_for_review

PAGE_ITEMS = 10  # duties on one page: two lines each, with the page's head about one phone screen
STATS_TEAMS = 5  # the worst work teams on the first page of the statistics


# --- lines that fit a phone ----------------------------------------------------------------


def _short_date(day: date, today: date) -> str:
    return day.strftime("%m-%d") if day.year == today.year else day.isoformat()


def _state_of(duty: Duty, today: date, *, with_date: bool) -> str:
    due_on = duty.assignment.due_on
    if due_on is None:
        return "无固定时限"
    days = (due_on - today).days
    when = f"逾期{-days}天" if days < 0 else "今天到期" if days == 0 else f"剩{days}天"
    return f"{when} · 截止{_short_date(due_on, today)}" if with_date else when


def duty_lines(duty: Duty, today: date, *, with_unit: bool) -> str:
    """"🔴 41 区商务局 · 逾期12天" (or, in one unit's list, "🔴 41 逾期12天 · 截止08-31"), then the
    task's first words."""
    light = LIGHTS[traffic_light(duty.assignment, today)]
    state = _state_of(duty, today, with_date=not with_unit)
    number = str(duty.task.id)
    unit = ""
    if with_unit:
        room = PHONE_COLUMNS - phone_width(f"{light} {number}  · {state}")
        unit = fit(duty.unit.name, max(room, 6)) + " · "
    waiting = texts.WAITING_MARK if duty.assignment.status == AssignmentStatus.REPORTED else ""
    text = fit(duty.task.text, PHONE_COLUMNS - 3 - phone_width(waiting))
    return f"{light} <b>{number}</b> {esc(unit)}{esc(state)}\n　 {waiting}{esc(text)}"


def _unit_due_line(share: UnitDue, question: str, today: date) -> str:
    """"🔴 区商务局 41项 · 最长63天": the light is its earliest duty's, by the legend."""
    if question == OVERDUE and share.oldest is not None:
        rest = f" {share.count}项 · 最长{(today - share.oldest).days}天"
    elif share.oldest is not None:
        rest = f" {share.count}项 · 最早{_short_date(share.oldest, today)}"
    else:
        rest = f" {share.count}项"
    return named_line(LIGHTS[_light_by_date(share.oldest, today)], share.name, rest)


def _light_by_date(due_on: date | None, today: date) -> str:
    if due_on is not None and due_on < today:
        return "red"
    return "yellow" if due_on is not None and due_on <= today + timedelta(days=DUE_SOON_DAYS) else "green"


def _pages(count: int, per_page: int) -> int:
    return max((count + per_page - 1) // per_page, 1)


def _navigation(query: ListQuery, pages: int, back: ListQuery | None = None) -> list[Button]:
    row = _page_buttons(query.page, pages, lambda page: query.at(page).data)
    if back is not None:
        row.append(Button("↩ 汇总", back.data))
    return row


def _page_buttons(page: int, pages: int, data_of: Callable[[int], str]) -> list[Button]:
    """上一页 / 下一页 where there is one, each carrying the data that asks for that page."""
    row = []
    if page > 1:
        row.append(Button("◀ 上一页", data_of(page - 1)))
    if page < pages:
        row.append(Button("下一页 ▶", data_of(page + 1)))
    return row


def _keyboard(*rows: list[Button]) -> Keyboard | None:
    kept = [row for row in rows if row]
    return Keyboard(kept) if kept else None


# --- what a scope is -------------------------------------------------------------------------


def resolve_scope(req: Request, text: str) -> Scope:
    """A unit (or alias), a work team, or a 工作事项/category named after /overdue or /due."""
    text = text.strip()
    if not text:
        return Scope()
    try:
        return unit_scope(req.session, find_unit(req.session, text, req.ctx.district))
    except NotFoundError:
        pass
    try:
        return Scope(team=find_team(req.session, latest_plan(req.session), text))
    except NotFoundError:
        pass
    if is_category(req.session, text):
        return Scope(category=text)
    raise ServiceError(texts.nothing_named(quoted(text)))


def _scope_code(session: Session, scope: Scope) -> str:
    if scope.unit is not None:
        return f"u{scope.unit.id}"
    if scope.team is not None:
        return f"t{scope.team.id}"
    if scope.category:
        for code, column in (("c", Task.category), ("p", Task.topic)):
            task_id = session.exec(select(Task.id).where(col(column) == scope.category,
                                                         Task.status == TaskStatus.ACTIVE).limit(1)).first()
            if task_id is not None:
                return f"{code}{task_id}"
    return "a"


def _scope_of(session: Session, code: str) -> Scope:
    """The scope a button names; one that no longer exists is said so."""
    if code == "a":
        return Scope()
    kind, number = code[0], int(code[1:])
    if kind == "u" and (unit := session.get(Unit, number)) is not None:
        unit = merged_into(session, unit)  # merged since the button was sent: its duties are the other unit's now
        if unit.kind == MERGED_UNIT:
            raise ServiceError(texts.BUTTON_EXPIRED)
        return unit_scope(session, unit)
    if kind == "t" and (team := session.get(WorkTeam, number)) is not None:
        return Scope(team=team)
    if kind in "cp" and (task := session.get(Task, number)) is not None:
        name = task.category if kind == "c" else task.topic
        if name:
            return Scope(category=name)
    raise ServiceError(texts.BUTTON_EXPIRED)


def scope_title(scope: Scope) -> str:
    if scope.unit is not None:
        return f" · {unit_title(scope)}"
    if scope.team is not None:
        return f" · {scope.team.name}"
    return f" · {scope.category}" if scope.category else ""


def _single_unit(scope: Scope) -> bool:
    return scope.unit is not None and not scope.is_group


# --- the duty lists: overdue, due soon, a unit's open duties ------------------------------------


@dataclass(frozen=True)
class _Window:
    title: str
    before: date | None
    since: date | None


def _window(query: ListQuery, scope: Scope, today: date) -> _Window:
    where = scope_title(scope)
    if query.question == OVERDUE:
        return _Window(texts.overdue_title(where), today, None)
    if query.question == DUE:
        return _Window(texts.due_title(query.days, where), today + timedelta(days=query.days + 1), today)
    return _Window(texts.open_list_title(where), None, None)


def duty_answer(req: Request, query: ListQuery, scope: Scope | None = None) -> Reply:
    """A list of duties: by unit first where it spans several units, then a page of the duties."""
    scope = scope if scope is not None else _scope_of(req.session, query.scope)
    window = _window(query, scope, req.today)
    if query.view == ITEMS or _single_unit(scope):
        return _duty_page(req, replace(query, view=ITEMS), scope, window)
    return _unit_summary(req, query, scope, window)


def _unit_summary(req: Request, query: ListQuery, scope: Scope, window: _Window) -> Reply:
    shares = open_due_by_unit(req.session, before=window.before, since=window.since, scope=scope)
    total = sum(share.count for share in shares)
    page = Page().add(f"<b>{esc(window.title)}</b>")
    if not shares:
        return page.add(texts.NO_MATCHING_DUTIES).reply()
    pages = _pages(len(shares), SUMMARY_ROWS)
    number = min(query.page, pages)
    shown = shares[(number - 1) * SUMMARY_ROWS:number * SUMMARY_ROWS]
    page.add(texts.units_in_list(total, len(shares)))
    page.add(LEGEND)
    page.add(texts.by_unit_heading(number, pages))
    page.add("\n".join(_unit_due_line(share, query.question, req.today) for share in shown))
    page.add(texts.TAP_A_UNIT)
    units = [Button(button_name(share.name), replace(query, scope=f"u{share.unit_id}", view=ITEMS, page=1).data)
             for share in shown]
    everything = Button(texts.BUTTON_EVERY_ITEM, query.at(1, ITEMS).data)
    navigation = [*_navigation(query.at(number), pages), everything]
    return page.reply(_keyboard(*button_rows(units, NAMES_PER_ROW), navigation))


def _duty_page(req: Request, query: ListQuery, scope: Scope, window: _Window) -> Reply:
    total = count_open_due(req.session, before=window.before, since=window.since, scope=scope)
    pages = _pages(total, PAGE_ITEMS)
    number = min(query.page, pages)
    duties = open_duties(req.session, before=window.before, since=window.since, scope=scope, limit=PAGE_ITEMS,
                         offset=(number - 1) * PAGE_ITEMS)
    page = Page().add(f"<b>{esc(window.title)}</b>")
    if not duties:
        return page.add(texts.NO_MATCHING_DUTIES).reply()
    page.add(texts.items_heading(total, number, pages))
    page.add(LEGEND)
    with_unit = not _single_unit(scope)
    page.add("\n".join(duty_lines(duty, req.today, with_unit=with_unit) for duty in duties))
    page.add(texts.TAP_A_NUMBER)
    task_ids = dict.fromkeys(duty.task.id for duty in duties)  # a task of several units is listed once a unit
    numbers = [Button(str(task_id), f"card:{task_id}") for task_id in task_ids]
    back = None if _single_unit(scope) else query.at(1, UNITS)
    return page.reply(_keyboard(*button_rows(numbers, NUMBERS_PER_ROW), _navigation(query.at(number), pages, back)))


# --- completion statistics ------------------------------------------------------------------------


def stats_answer(req: Request, query: ListQuery) -> Reply:
    """The rate, the worst work teams and units, each a button; later pages list the rest."""
    units, teams, total = completion_stats(req.session, req.today)
    page = Page().add(f"<b>{texts.STATS_TITLE}</b>（截至 {req.today.isoformat()}）")
    page.add(texts.stats_total(total.total, total.done, total.rate, total.reported, total.overdue))
    page.add(f"{LEGEND}\n{GROUP_LEGEND}")
    listed, kind = (teams, "t") if query.view == TEAMS else (units, "u")
    pages = _pages(len(listed), SUMMARY_ROWS)
    number = min(query.page, pages)
    shown = listed[(number - 1) * SUMMARY_ROWS:number * SUMMARY_ROWS]
    buttons: list[Button] = []
    if query.view == UNITS and number == 1 and teams:
        page.add(texts.worst_teams_heading(min(STATS_TEAMS, len(teams)), len(teams)))
        page.add("\n".join(tally_line(team) for team in teams[:STATS_TEAMS]))
        buttons += [_open_button(team, "t") for team in teams[:STATS_TEAMS]]
    if shown:
        heading = texts.teams_heading if query.view == TEAMS else texts.units_heading
        page.add(heading(len(listed), number, pages))
        page.add("\n".join(tally_line(tally) for tally in shown))
        buttons += [_open_button(tally, kind) for tally in shown]
    page.add(texts.TAP_A_NAME)
    more = _navigation(query.at(number), pages)
    if teams and query.view == UNITS:
        more.append(Button(texts.BUTTON_ALL_TEAMS, ListQuery(STATS, view=TEAMS).data))
    elif query.view == TEAMS:
        more.append(Button(texts.BUTTON_ALL_UNITS, ListQuery(STATS).data))
    return page.reply(_keyboard(*button_rows(buttons, NAMES_PER_ROW), more))


def _open_button(tally: Tally, kind: str) -> Button:
    """A unit or a team in the statistics opens its open duties."""
    return Button(button_name(tally.name), ListQuery(OPEN, f"{kind}{tally.id}").data)


# --- what the office and leadership type -------------------------------------------------------------


def overdue(req: Request) -> Reply:
    scope = resolve_scope(req, req.args)
    return duty_answer(req, ListQuery(OVERDUE, _scope_code(req.session, scope)), scope)


MAX_DUE_DAYS = 366


def due(req: Request) -> Reply:
    days, rest = 7, req.args.strip()
    first = rest.split(maxsplit=1)
    if first and first[0].isdigit():
        days, rest = int(first[0]), (first[1] if len(first) > 1 else "")
    if not 1 <= days <= MAX_DUE_DAYS:
        raise ServiceError(texts.due_days_out_of_range(MAX_DUE_DAYS))
    scope = resolve_scope(req, rest)
    return duty_answer(req, ListQuery(DUE, _scope_code(req.session, scope), days=days), scope)


def unit_info(req: Request) -> Reply:
    if not req.args.strip():
        raise ServiceError(texts.UNIT_NEEDED)
    scope = unit_scope(req.session, find_unit(req.session, req.args, req.ctx.district))
    return duty_answer(req, ListQuery(OPEN, _scope_code(req.session, scope)), scope)


def stats(req: Request) -> Reply:
    return stats_answer(req, ListQuery(STATS))


def list_button(req: Request, query: ListQuery) -> Reply:
    """A tap on a list's button: the same question asked again, at the page it names."""
    if query.question == STATS and query.scope == "a":
        return stats_answer(req, query)
    return duty_answer(req, query)


# --- what waits for the office ------------------------------------------------------------------------


def pending(req: Request) -> Reply:
    return pending_page(req, 1)


def pending_page(req: Request, number: int) -> Reply:
    """待审核: completion reports and extension requests, oldest first, each a tap from its card."""
    first, total = waiting_for_review(req.session, limit=PAGE_ITEMS, offset=(max(number, 1) - 1) * PAGE_ITEMS)
    pages = _pages(total, PAGE_ITEMS)
    if not first and total:  # a page that emptied since the button was sent: the last one there is
        number = pages
        first, total = waiting_for_review(req.session, limit=PAGE_ITEMS, offset=(pages - 1) * PAGE_ITEMS)
    page = Page().add(f"<b>{texts.PENDING_TITLE}</b>")
    if not first:
        return page.add(texts.NOTHING_PENDING).reply()
    page.add(texts.pending_heading(total, number, pages))
    page.add("\n".join(_waiting_lines(item, req) for item in first))
    page.add(texts.TAP_TO_DECIDE)
    opens = [Button(f"{'📥' if item.kind == 'completion' else '⏳'}{item.task_id}",
                    f"{'rc' if item.kind == 'completion' else 'ec'}:{item.id}") for item in first]
    navigation = _page_buttons(number, pages, lambda page: f"pd:{page}")
    return page.reply(_keyboard(*button_rows(opens, NUMBERS_PER_ROW), navigation))


def _waiting_lines(item: Waiting, req: Request) -> str:
    """"📥 41 区商务局", then "　 办结·附1份 · 今天 · " and the task's first words (⏳ … 延至11-30 …)."""
    age = texts.days_ago((req.today - local_date(item.since, req.ctx.timezone)).days)
    if item.kind == "completion":
        mark, what = "📥", "办结" + (f"·附{item.files}份" if item.files else "")
    else:
        mark, what = "⏳", f"延至{_short_date(item.asked_for, req.today)}" if item.asked_for else "延期"
    head = f"{mark} {item.task_id} "
    unit = fit(item.unit, PHONE_COLUMNS - phone_width(head))
    facts = f"　 {what} · {age} · "
    return (f"{mark} <b>{item.task_id}</b> {esc(unit)}\n"
            f"{esc(facts)}{esc(fit(item.task_text, PHONE_COLUMNS - phone_width(facts)))}")
