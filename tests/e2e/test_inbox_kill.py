"""kill -9 of `taskbot run` at random points under a stream of 500 incoming updates: every update
is handled exactly once, by polling and by webhook, on both databases.

Each update is a progress report with its own text, so the reports stored say how often each
update was handled. A kill between a report's commit and its reply loses that reply (the report
stands, and a replay would file it twice), so the replies may fall short by at most one a kill.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from bot.sandbox.server import SandboxServer
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Inbox, InboxStatus, Report, Role, Task
from tests.factories import EXHIBITION, bind, seed_plan
from tests.processes import ForkServer, RunProcess, free_port

UPDATES = 500
PEOPLE = (701, 702, 703, 704)
KILLS = 8
RECORDED = "已记录任务"


def prepared(database_url: str) -> int:
    """The seed plan and four members of 区商务局; the task they report on."""
    engine = make_engine(database_url)
    clock = FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC))
    seed_plan(engine, clock)
    for user_id in PEOPLE:
        bind(engine, clock, user_id, Role.MEMBER, "区商务局")
    with transaction(engine) as session:
        task = session.exec(select(Task.id).where(Task.ref == EXHIBITION)).one()
    engine.dispose()
    assert task is not None
    return task


def handled(engine) -> int:
    """Updates whose report is stored: how far the bot has got."""
    with transaction(engine) as session:
        return session.exec(select(func.count()).select_from(Report)
                            .where(col(Report.text).like("第%条进展"))).one()


def settle(engine, run: RunProcess, quiet: float = 20.0) -> None:
    """Wait until every update is handled, or nothing more is for ``quiet`` seconds (what was
    lost stays lost)."""
    last, since = handled(engine), time.monotonic()
    while last < UPDATES and time.monotonic() - since < quiet:
        assert run.process.poll() is None, run.output()
        time.sleep(0.2)
        if (now := handled(engine)) != last:
            last, since = now, time.monotonic()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_killed_runs_handle_every_update_exactly_once(database_url: str, tmp_path: Path, mode: str) -> None:
    task = prepared(database_url)
    engine = make_engine(database_url)
    server = SandboxServer().start_in_thread()
    people = [server.person(user_id, f"王{user_id}") for user_id in PEOPLE]
    options: list[str] = []
    if mode == "webhook":
        port = free_port()
        options = ["--webhook", f"http://127.0.0.1:{port}/updates", "--port", str(port)]
    rng = random.Random(20211001)
    texts = [f"第{n}条进展" for n in range(UPDATES)]

    def stream() -> None:  # people write at their pace, whatever happens to the bot
        for n, text in enumerate(texts):
            server.send_text(people[n % len(people)], f"/report {task} 10% {text}")
            if n % 25 == 24:
                time.sleep(0.2)

    writer = threading.Thread(target=stream, daemon=True)
    # Each run a fork of one process that imported taskbot: a restart does not wait for Python to
    # start, and the test does not pay for the imports again at each of its kills.
    forks = ForkServer()
    starts = 0

    def start() -> RunProcess:
        nonlocal starts
        starts += 1
        return RunProcess(database_url, server, tmp_path, f"run{starts}", *options, forks=forks)

    run = start()
    kills = 0
    try:
        run.wait_until(lambda: server.state.commands, "the bot to start")  # it sets its menu once up
        writer.start()
        deadline = time.monotonic() + 600
        while kills < KILLS and handled(engine) < UPDATES:
            # Kill only once the restarted bot has got on (the update a kill interrupted is
            # handled first, and an update interrupted twice would be given up on purpose).
            before, since = handled(engine), time.monotonic()
            while handled(engine) == before and time.monotonic() - since < 30:
                assert run.process.poll() is None, run.output()
                time.sleep(0.05)
            if handled(engine) == before:
                break  # nothing left that the bot knows of: the assertions below say what was lost
            time.sleep(rng.uniform(0.0, 0.5))
            if handled(engine) >= UPDATES:
                break
            run.process.kill()  # SIGKILL: no clean shutdown
            run.process.wait(30)
            kills += 1
            run = start()
            assert time.monotonic() < deadline
        writer.join(120)
        settle(engine, run)
    finally:
        run.stop()
        forks.stop()
        server.stop()

    with transaction(engine) as session:
        reports = Counter(session.exec(select(Report.text).where(col(Report.text).like("第%条进展"))).all())
        statuses = Counter(session.exec(select(Inbox.status).where(Inbox.update_id <= UPDATES)).all())
    engine.dispose()
    replies = sum(RECORDED in (m.get("text") or "") for m in server.messages())
    lost = sum((Counter(texts) - reports).values())
    print(f"inbox kill ({mode}): {kills} kills, {UPDATES} updates, {lost} lost, {replies} replies")
    assert kills >= 5
    assert reports == Counter(texts)  # each update's change made exactly once
    assert statuses == {InboxStatus.HANDLED: UPDATES}
    assert UPDATES - kills <= replies <= UPDATES
