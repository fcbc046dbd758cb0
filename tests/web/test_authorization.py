"""Every route of the desk × every kind of visitor: only what the chat's own table allows gets through,
and a refused request changes nothing in the database.

The routes are read from the desk's registry, so a page added later is checked without touching this
file (a path parameter this file has no example for fails the test, by name).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.commands import may
from bot.web.auth import cookie_value
from bot.web.desk import ROUTES, Route, make_app  # noqa: F401  (make_app's import registers every page)
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Event, Member, Report, ReportKind, Role, Unit
from tasks.work.members import unbind
from tests.desk import call, session_for
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

FARMING = "区农业农村局"
PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass
class Visitor:
    label: str
    role: Role | None  # None: no valid session
    cookie: str | None
    csrf: str = ""
    unit: str | None = None


def quiet_snapshot(bot: BotHarness) -> dict[str, list[tuple]]:
    """The database once the bot has sent what an earlier, allowed action queued: its sender
    changes the outbox on its own, and must not be taken for a refused request's change."""
    bot.settle()
    return bot.snapshot()


def examples(bot: BotHarness) -> dict[str, str]:
    """A value for every path parameter a route may have: things of 区商务局's, which the member of
    区农业农村局 must not reach."""
    bystander = bot.join(219, "商务局小周", Role.MEMBER, COMMERCE)  # the one the office may unbind
    code = bot.invite(Role.MEMBER, COMMERCE)
    with transaction(bot.engine) as session:
        commerce = session.exec(select(Unit).where(Unit.name == COMMERCE)).one()
        bystander_id = session.exec(select(Member.id).where(Member.user_id == bystander.id)).one()
    return {"task_id": str(bot.task_id(EXHIBITION)), "unit_id": str(commerce.id), "token": "no-such-link",
            "code": code, "member_id": str(bystander_id), "n": "1", "file_id": "no-such-file",
            "report_id": "1", "index": "0"}


def concrete(route: Route, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"no example for {{{name}}} in {route.path}: add one to examples()"
        return values[name]

    return PARAMETER.sub(value, route.path)


def unit_scoped(route: Route) -> bool:
    """Routes about one task: a unit's member may reach those of its own unit's tasks only."""
    return "{task_id}" in route.path


@pytest.fixture
def visitors(desk_bot: BotHarness) -> list[Visitor]:
    desk_bot.join(311, "督办办老李", Role.OFFICE)
    desk_bot.join(411, "刘副区长", Role.LEADER)
    desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    desk_bot.join(212, "农业局小刘", Role.MEMBER, FARMING)
    found = []
    for label, user_id, role, unit in (("office", 311, Role.OFFICE, None), ("leader", 411, Role.LEADER, None),
                                       ("member of this unit", 211, Role.MEMBER, COMMERCE),
                                       ("member of another unit", 212, Role.MEMBER, FARMING)):
        cookie, csrf = session_for(desk_bot, user_id)
        found.append(Visitor(label, role, cookie, csrf, unit))
    office_cookie = found[0].cookie
    assert office_cookie is not None
    secret, _, signature = office_cookie.rpartition(".")
    found.append(Visitor("no session", None, None))
    found.append(Visitor("forged cookie", None, f"{secret}.{signature[::-1]}"))
    found.append(Visitor("made-up session", None, cookie_value(b"not the desk's key", secret)))
    return found


def allowed(route: Route, visitor: Visitor) -> bool:
    if route.public:
        return True
    if visitor.role is None:
        return False
    if route.may is not None and not may(visitor.role, route.may):
        return False
    return not (unit_scoped(route) and visitor.role == Role.MEMBER and visitor.unit != COMMERCE)


def test_every_route_lets_through_only_whom_the_table_allows(desk_bot: BotHarness, visitors: list[Visitor]) -> None:
    values = examples(desk_bot)
    base = desk_bot.ctx.desk_url.rstrip("/")
    checked = 0
    for route in sorted(ROUTES, key=lambda r: (r.path, r.method)):
        if route.path == "/logout":
            continue  # ends the session it is called with: its own test is in test_login.py
        url = base + concrete(route, values)
        for visitor in visitors:
            before = quiet_snapshot(desk_bot)
            answer = call(url, route.method, visitor.cookie, {"csrf": visitor.csrf} if visitor.csrf else {})
            if allowed(route, visitor):
                assert answer.status not in (401, 403), (route.method, route.path, visitor.label, answer.body[:300])
            else:
                assert answer.status in (401, 403), (route.method, route.path, visitor.label, answer.status)
                assert quiet_snapshot(desk_bot) == before, (route.method, route.path, visitor.label)
                assert "Traceback" not in answer.body
            checked += 1
    assert checked >= 7 * 3


def test_a_form_without_its_csrf_token_changes_nothing(desk_bot: BotHarness, visitors: list[Visitor]) -> None:
    values = examples(desk_bot)
    base = desk_bot.ctx.desk_url.rstrip("/")
    posts = [route for route in ROUTES if route.method == "POST" and not route.public]
    assert posts
    for route in posts:
        # Someone the table lets through, so that only the missing token can stop them.
        visitor = next(v for v in visitors if allowed(route, v))
        before = quiet_snapshot(desk_bot)
        for form in ({}, {"csrf": "wrong" + visitor.csrf}):
            answer = call(base + concrete(route, values), "POST", visitor.cookie, form)
            assert answer.status == 403 and "安全校验码" in answer.body, (route.path, form)
        assert quiet_snapshot(desk_bot) == before, route.path


def test_an_expired_session_and_an_unbound_person_are_shown_out(desk_bot: BotHarness, visitors: list[Visitor]) -> None:
    base = desk_bot.ctx.desk_url.rstrip("/")
    office, member = visitors[0], visitors[2]
    assert call(base + "/ledger", "GET", member.cookie).status == 200
    with transaction(desk_bot.engine) as session:  # the office unbinds the member, as /unbind does
        person = session.exec(select(Member).where(Member.user_id == 211)).one()
        unbind(session, desk_bot.clock, Actor("督办办老李", "chat"), Role.OFFICE, person.id)
    assert call(base + "/ledger", "GET", member.cookie).status == 401

    assert call(base + "/ledger", "GET", office.cookie).status == 200
    desk_bot.clock.advance(timedelta(hours=12, minutes=1))
    answer = call(base + "/ledger", "GET", office.cookie)
    assert answer.status == 401 and "/web" in answer.body


ODD_VALUES = ("²", "9" * 30, "-1", "１２", "0x1f")


def test_odd_numbers_in_addresses_and_forms_get_a_sentence_not_a_failure(desk_bot: BotHarness,
                                                                        visitors: list[Visitor]) -> None:
    """Superscripts, full-width digits and numbers no id column holds: refused or not found, said in a
    sentence; never the desk's own failure page (500)."""
    values = examples(desk_bot)
    base = desk_bot.ctx.desk_url.rstrip("/")
    office, member = visitors[0], visitors[2]
    for route in ROUTES:
        visitor = member if route.may in ("report", "done") else office
        for odd in ODD_VALUES:
            quoted = urllib.parse.quote(odd)
            path = concrete(route, {name: quoted for name in values}) if PARAMETER.search(route.path) else route.path
            form = {"csrf": visitor.csrf, **{name: odd for name in ("id", "unit", "percent", "report", "extension",
                                                                      "page", "message", "row", "col", "reply_to")}}
            for query in ("", "?" + urllib.parse.urlencode({name: odd for name in ("page", "unit", "team", "within",
                                                                                   "sent", "dead", "pending")})):
                answer = call(base + path + query, route.method, visitor.cookie, form)
                assert answer.status != 500 and "出错了" not in answer.body, (route.method, path + query)


def test_the_desk_s_status_line_says_only_what_the_desk_signed(desk_bot: BotHarness, visitors: list[Visitor]) -> None:
    """A link made elsewhere cannot put words on the desk's pages; the desk's own line after an action shows."""
    base = desk_bot.ctx.desk_url.rstrip("/")
    office = visitors[0]
    planted = "您的账号存在风险，请立即拨打电话核验"
    for cookie in (None, office.cookie):
        answer = call(base + "/?" + urllib.parse.urlencode({"notice": planted, "n": "0" * 24}), "GET", cookie)
        assert planted not in answer.body
    unit = examples(desk_bot)["unit_id"]
    made = call(base + "/people/invite", "POST", office.cookie, {"csrf": office.csrf, "unit": unit, "role": "member"})
    code = made.headers["Location"].rsplit("/", 1)[1]
    revoked = call(base + "/people/revoke", "POST", office.cookie, {"csrf": office.csrf, "code": code})
    shown = call(base + revoked.headers["Location"], "GET", office.cookie)
    assert f"邀请码 {code} 已撤销" in shown.body


def test_every_answer_tells_the_browser_to_run_only_the_desk_s_own_files(desk_bot: BotHarness) -> None:
    answer = call(desk_bot.ctx.desk_url, "GET", None)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Referrer-Policy"] == "same-origin" and answer.headers["X-Frame-Options"] == "DENY"


def test_the_audit_names_the_door_an_action_came_through(desk_bot: BotHarness, visitors: list[Visitor]) -> None:
    """The same service records the same event; the audit says whether it was the chat or the desk."""
    base = desk_bot.ctx.desk_url.rstrip("/")
    office, member = visitors[0], visitors[2]
    task = desk_bot.task_id(EXHIBITION)
    reported = call(f"{base}/task/{task}/report", "POST", member.cookie, {"csrf": member.csrf, "text": "复核材料已整理"})
    assert reported.status == 303
    desk_bot.say(desk_bot.server.person(211, "商务局小王"), f"/done {task} 展销中心已开业")
    with transaction(desk_bot.engine) as session:
        report = session.exec(select(Report).where(Report.kind == ReportKind.COMPLETION)).one()
    answer = call(f"{base}/task/{task}/verify", "POST", office.cookie, {"csrf": office.csrf, "report": str(report.id)})
    assert answer.status == 303
    with transaction(desk_bot.engine) as session:
        events = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [e.source for e in events if e.action == "report.created"] == ["web"]  # progress, on the page
    assert [e.source for e in events if e.action == "assignment.completion_reported"] == ["chat"]
    assert [e.source for e in events if e.action == "assignment.verified"] == ["web"]
