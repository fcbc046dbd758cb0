"""Outcomes of sends that finish together are written together, and one bad one spoils none."""

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.context import BotContext
from bot.group_commit import GroupCommit
from tasks.models import SendMark


def marks(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return sorted(int(mark.address) for mark in session.exec(select(SendMark)).all())


UNWRITABLE = 99


def write_marks(session: Session, chat_ids: list[int]) -> None:
    """The outcomes here: a send mark per chat; chat 99's cannot be written."""
    for chat_id in chat_ids:
        session.add(SendMark(address=str(chat_id), at=0.0))
        if chat_id == UNWRITABLE:
            raise ValueError("cannot be written")


def test_outcomes_that_arrive_together_share_a_transaction(prepared_engine: Engine, clock) -> None:
    ctx = BotContext(prepared_engine, clock, ZoneInfo("Asia/Shanghai"), "门头沟区")
    transactions: list[int] = []

    async def counted(work) -> None:
        transactions.append(1)
        await ctx.run(work)

    async def play() -> None:
        commit = GroupCommit(counted, write_marks)
        await asyncio.gather(*(commit.write(n) for n in range(20)))

    asyncio.run(play())
    assert marks(prepared_engine) == list(range(20))  # every outcome written, and committed before write returned
    assert len(transactions) < 20


def test_an_outcome_that_cannot_be_written_does_not_undo_the_others(prepared_engine: Engine, clock) -> None:
    ctx = BotContext(prepared_engine, clock, ZoneInfo("Asia/Shanghai"), "门头沟区")

    async def play() -> list:
        commit = GroupCommit(ctx.run, write_marks)
        return await asyncio.gather(*(commit.write(n) for n in [0, 1, UNWRITABLE, 2, 3, 4]), return_exceptions=True)

    results = asyncio.run(play())
    assert [type(r).__name__ for r in results] == ["NoneType"] * 2 + ["ValueError"] + ["NoneType"] * 3
    assert marks(prepared_engine) == [0, 1, 2, 3, 4]  # the broken one's row is not there

