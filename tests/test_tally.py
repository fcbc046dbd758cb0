"""The duty tally always equals a count of the live assignments, whatever changes them and however."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from seed import MENTOUGOU_2021, seed_path
from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.models import Assignment, AssignmentStatus, Unit
from tasks.plan.importer import import_file
from tasks.tally import BULK_ROWS
from tests.dbstate import counted, tallied
from tests.factories import ADMIN


def test_random_changes_commits_and_rollbacks_keep_the_tally_exact(prepared_engine: Engine,
                                                                   clock: FixedClock) -> None:
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    with transaction(prepared_engine) as session:
        assert tallied(session) == counted(session) and sum(counted(session).values()) > 300
        ids = list(session.exec(select(Assignment.id)))
        unit_ids = list(session.exec(select(Unit.id)))
    rng = random.Random(7)
    statuses = list(AssignmentStatus)
    for round_ in range(60):
        try:
            with transaction(prepared_engine) as session:
                for _ in range(rng.randint(1, 8)):
                    assignment = session.get(Assignment, rng.choice(ids))
                    assert assignment is not None
                    change = rng.randrange(4)
                    if change == 0:
                        assignment.status = rng.choice(statuses)
                    elif change == 1:
                        assignment.due_on = rng.choice([None, date(2021, 6, 30) + timedelta(days=rng.randrange(200))])
                    elif change == 2:
                        assignment.unit_id = rng.choice(unit_ids)
                    else:
                        assignment.status, assignment.due_on = rng.choice(statuses), None
                    session.flush()
                if round_ % 5 == 0:
                    session.delete(session.get(Assignment, ids.pop()))
                if rng.random() < 0.3:
                    raise RuntimeError("rolled back")
        except (RuntimeError, IntegrityError):  # IntegrityError: a random unit already had that task
            pass
        with transaction(prepared_engine) as session:
            assert tallied(session) == counted(session), f"round {round_}"


def test_a_refused_transaction_leaves_the_tally_as_it_was(prepared_engine: Engine, clock: FixedClock) -> None:
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    with transaction(prepared_engine) as session:
        before = tallied(session)
    try:
        with transaction(prepared_engine) as session:
            session.execute(text("UPDATE assignment SET status = 'done'"))
            assert sum(n for (_, status, _), n in tallied(session).items() if status == "done") > 300
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    with transaction(prepared_engine) as session:
        assert tallied(session) == before


def bulk_csv(path: Path, rows: int) -> Path:
    # 各镇街 names 13 units: ``rows`` rows make 13 × rows assignments.
    lines = ["任务内容,责任单位,完成时限"] + [f"第{n}项工作,各镇街,{n % 12 + 1}月底前" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_bulk_import_recounts_the_tally_and_keeps_counting_after(prepared_engine: Engine, clock: FixedClock,
                                                                    tmp_path: Path) -> None:
    document = bulk_csv(tmp_path / "2021年任务清单.csv", 100)
    assert BULK_ROWS <= 100 * 13  # large enough to take the bulk path
    import_file(prepared_engine, document, clock, ADMIN, district="门头沟区")
    with transaction(prepared_engine) as session:
        assert sum(counted(session).values()) == 1300 and tallied(session) == counted(session)
    # The insert trigger is back: a small import afterwards is counted row by row.
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    with transaction(prepared_engine) as session:
        session.add(Assignment(task_id=session.exec(select(Assignment.task_id)).first(),
                               unit_id=session.exec(select(Unit.id).where(Unit.name == "区红十字会")).one(),
                               role="co", due_on=date(2021, 12, 31), created_at=clock.now(), updated_at=clock.now()))
    with transaction(prepared_engine) as session:
        assert tallied(session) == counted(session)
