"""A whole plan year on a moved clock: every message the bot sends, checked against the policy.

The planner and the outbox sender run as in the bot process (the sender delivers through the
local Bot API server). The expected schedule is computed independently, from the official
calendar (``chinese_calendar``) and the policy's numbers, in tests/e2e/year.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta

import chinese_calendar
import pytest
from sqlmodel import col, select
from telegram import Bot

from bot.context import BotContext
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender, TelegramTransport
from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine, transaction
from tasks.models import Outbox
from tasks.plan.units import UnitDirectory
from tests.databases import BACKENDS, empty_postgres
from tests.e2e.year import (
    END,
    PEOPLE,
    SCHEDULED_KINDS,
    SH,
    START,
    expected,
    live_assignments,
    nine,
    scripted_events,
    seed_with_people,
    sent_steps,
    workday,
)


@pytest.fixture(scope="module")
def year(postgres_or_sqlite_url: str):
    return simulate(postgres_or_sqlite_url)


# One simulation per database, run once for the tests that read it: under pytest-xdist each
# database's tests stay on one worker (--dist loadgroup), and the two simulations may run side by side.
@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.xdist_group(f"year-{name}"))
                                        for name in BACKENDS])
def postgres_or_sqlite_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('year') / 'year.db'}"
    return request.getfixturevalue("postgres_database")


def simulate(url: str):
    engine = make_engine(url)
    if not url.startswith("sqlite"):
        empty_postgres(url)
    clock = FixedClock(START)
    members = seed_with_people(engine, clock)
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    server = SandboxServer().start_in_thread()
    for who, user_id in PEOPLE.items():
        server.person(user_id, who)
    policy, calendar = Policy(timezone=SH), WorkCalendar()
    # Not paced: the server here does not enforce the flood limits (test_dispatch covers pacing).
    ctx = BotContext(engine, clock, SH, directory.district, policy=policy, calendar=calendar, paced=False)

    script = scripted_events(engine, clock, members)

    async def run() -> None:
        bot = Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)
        async with bot:
            sender = OutboxSender(ctx, TelegramTransport(bot))
            moment = START
            while moment <= END:
                clock.moment = moment
                if moment in script:
                    script[moment]()
                await asyncio.to_thread(planner.run_tick, ctx.in_transaction, clock, policy, calendar)
                while await sender.deliver_due():
                    pass
                moment += timedelta(hours=1)

    try:
        asyncio.run(run())
        with transaction(engine) as session:
            rows = list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())
            assignments = live_assignments(session)
        return rows, assignments, server.messages(), list(server.state.rejected)
    finally:
        server.stop()
        engine.dispose()


def test_every_message_follows_the_policy(year) -> None:
    rows, assignments, _messages, _rejected = year
    actual, wanted = sent_steps(rows), expected(assignments)
    assert actual == wanted, (sorted(set(actual) - set(wanted))[:10], sorted(set(wanted) - set(actual))[:10])


def test_nothing_is_sent_on_non_working_days_and_the_make_up_saturday_counts(year) -> None:
    rows, _assignments, _messages, _rejected = year
    days = {row.sent_at.astimezone(SH).date() for row in rows if row.kind in SCHEDULED_KINDS}
    assert not any(date(2021, 10, 1) <= day <= date(2021, 10, 7) for day in days)
    assert all(chinese_calendar.is_workday(day) for day in days)
    assert date(2021, 10, 9) in days  # 调休 Saturday: the rose project's d1 reminder
    assert all(9 <= row.sent_at.astimezone(SH).hour < 21 for row in rows if row.kind in SCHEDULED_KINDS)


def first_working_days() -> list[date]:
    """Each week's (Monday to Sunday) first official working day up to the end of the simulation,
    from chinese_calendar alone; a week that is all holiday (Spring Festival 2022) has none."""
    days: dict[date, date] = {}
    day = START.date() - timedelta(days=START.weekday())
    while nine(day) <= END:
        if workday(day):
            days.setdefault(day - timedelta(days=day.weekday()), day)
        day += timedelta(days=1)
    return sorted(day for day in days.values() if nine(day) >= START)


def test_digest_on_each_weeks_first_working_day_to_the_office_and_the_leader(year) -> None:
    rows, _assignments, _messages, _rejected = year
    digests = Counter((int(row.address), row.sent_at.astimezone(SH).date()) for row in rows if row.kind == "digest")
    days = first_working_days()
    assert {date(2021, 9, 22), date(2021, 10, 8)} <= set(days)  # the weeks of Mid-Autumn and National Day
    assert not {date(2021, 9, 20), date(2021, 10, 4)} & set(days)
    assert digests == Counter({(chat, day): 1 for chat in (PEOPLE["office"], PEOPLE["leader"]) for day in days})


def test_nothing_at_all_is_sent_in_the_national_day_holiday(year) -> None:
    rows, _assignments, _messages, _rejected = year
    assert [(row.kind, row.sent_at) for row in rows
            if date(2021, 10, 1) <= row.sent_at.astimezone(SH).date() <= date(2021, 10, 7)] == []


def test_every_row_was_delivered_once_and_nothing_refused(year) -> None:
    rows, _assignments, messages, rejected = year
    assert rejected == []
    assert {row.status for row in rows} == {"sent"}
    assert len({row.dedupe_key for row in rows}) == len(rows)
    assert len(messages) >= len(rows)  # a long list may take several pages
