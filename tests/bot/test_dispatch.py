"""The dispatcher under Telegram's limits, after downtime, and through timeouts."""

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.context import BotContext
from bot.flood import FloodLimits, SharedFlood, round_robin
from bot.sandbox.server import Fault, SandboxServer
from bot.sender import OutboxSender, TelegramTransport
from seed import MENTOUGOU_2021, seed_path
from tasks import outbox
from tasks.clock import Clock, FixedClock, ShiftedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import transaction
from tasks.models import Member, Outbox, Role
from tasks.notifications import MemberUnreachable, NotificationKind
from tasks.outbox import enqueue
from tasks.plan.importer import import_file
from tests.factories import ADMIN, bind

SH = ZoneInfo("Asia/Shanghai")


def queue_rounds(engine: Engine, clock: Clock, server: SandboxServer, chats: list[int],
                 rounds: int = 3) -> list[Member]:
    """An office member per chat (a group where the id is negative), each queued ``rounds`` notifications
    that say their round (第0轮, 第1轮 …), round after round."""
    with transaction(engine) as session:
        members = []
        for chat in chats:
            server.group(chat, f"群{chat}") if chat < 0 else server.person(chat, f"人{chat}")
            members.append(Member(user_id=None if chat < 0 else str(chat), address=str(chat), name=f"m{chat}",
                                  role=Role.OFFICE, created_at=clock.now()))
        session.add_all(members)
        session.flush()
        for round_ in range(rounds):
            for member in members:
                enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
                        MemberUnreachable(member=f"第{round_}轮", unit="", role=Role.OFFICE), f"round:{round_}")
        return members


def rounds_received(server: SandboxServer, chat_id: int) -> list[str]:
    """The rounds (第N轮) a chat received, in the order they arrived."""
    return [re.search(r"第(\d)轮", m["text"]).group(1) for m in server.messages(chat_id)]


def assert_every_row_sent(engine: Engine) -> None:
    with transaction(engine) as session:
        assert {r.status for r in session.exec(select(Outbox)).all()} == {"sent"}


def test_round_robin_interleaves_chats() -> None:
    assert round_robin([1, 1, 1, 2, 2, 3]) == [0, 3, 5, 1, 4, 2]


def test_the_shared_budget_computes_the_waits(prepared_engine: Engine, clock: FixedClock) -> None:
    now = [1000.0]
    flood = SharedFlood(BotContext(prepared_engine, clock, SH, "门头沟区").run, wall=lambda: now[0])

    async def play() -> None:
        for chat in range(30):
            await flood.acquire(str(chat))
        waited = await flood.take(["99"])
        assert isinstance(waited, float) and waited > 0.99  # the 31st message in the same second waits
        now[0] += 1.0
        assert (await flood.take(["0", "99"]))[0] == 0  # a new second: the first chat goes
        assert (await flood.take(["0", "5"]))[0] == 1  # chat 0 has had its message this second: chat 5 goes instead
        waited = await flood.take(["0"])
        assert isinstance(waited, float) and waited > 0.99  # the same chat again within a second
        for _ in range(20):
            await flood.record("-5")  # replies to a group count too
            now[0] += 0.05
        waited = await flood.take(["-5"])
        assert isinstance(waited, float) and 58 < waited < 60  # a group's twenty a minute are used up

    asyncio.run(play())


def test_two_senders_share_one_budget_under_the_limits_the_server_enforces(
        prepared_engine: Engine, clock: FixedClock) -> None:
    server = SandboxServer(flood_limits=FloodLimits()).start_in_thread()
    try:
        chats = [-(1000 + n) if n < 2 else 5000 + n for n in range(40)]  # two groups, the rest people
        queue_rounds(prepared_engine, clock, server, chats)

        async def one_sender() -> None:
            # Each sender has its own context: what they share is the database, as two processes would.
            async with Bot(server.token, base_url=server.base_url) as bot:
                sender = OutboxSender(BotContext(prepared_engine, clock, SH, "门头沟区"), TelegramTransport(bot))
                while await sender.deliver_due(limit=20):
                    pass

        async def run() -> float:
            started = time.monotonic()
            await asyncio.gather(one_sender(), one_sender())
            return time.monotonic() - started

        elapsed = asyncio.run(run())
        assert server.state.rejected == []  # not one 429
        assert len(server.messages()) == 120
        assert_every_row_sent(prepared_engine)
        assert elapsed >= 2.0  # three messages to each chat need at least two one-second gaps
    finally:
        server.stop()


def test_two_senders_deliver_each_notification_once_when_a_chat_makes_rows_wait_past_the_lease(
        prepared_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    # A chat takes one message a second: its five notifications need four seconds, twice the
    # (shortened) lease, so the rows a sender claims wait inside its pass longer than a lease.
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=2))
    running = ShiftedClock(clock.now())  # leases run out in real time, as in production
    server = SandboxServer(flood_limits=FloodLimits()).start_in_thread()
    try:
        members = queue_rounds(prepared_engine, running, server, [7200 + n for n in range(3)], rounds=5)

        def pending(session: Session) -> int:
            return len(session.exec(select(Outbox.id).where(Outbox.status == "pending")).all())

        async def one_sender() -> None:
            async with Bot(server.token, base_url=server.base_url) as bot:
                ctx = BotContext(prepared_engine, running, SH, "门头沟区")
                sender = OutboxSender(ctx, TelegramTransport(bot))
                deadline = time.monotonic() + 30
                while await ctx.run(pending) and time.monotonic() < deadline:
                    if not await sender.deliver_due(limit=100):
                        await asyncio.sleep(0.05)

        async def run() -> None:
            await asyncio.gather(one_sender(), one_sender())

        asyncio.run(run())
        for member in members:
            assert rounds_received(server, int(member.address)) == ["0", "1", "2", "3", "4"]  # each notification received once, in order
        assert server.state.rejected == []
        assert_every_row_sent(prepared_engine)
    finally:
        server.stop()


def test_a_sender_whose_lease_ran_out_leaves_its_waiting_rows_to_the_sender_that_claimed_them(
        prepared_engine: Engine, clock: FixedClock) -> None:
    # The clock jumps past the lease while a chat's rows wait their turn (the sandbox's :wait, a
    # paused process): another sender claims them, and the first must not send them as well.
    server = SandboxServer(flood_limits=FloodLimits()).start_in_thread()
    try:
        queue_rounds(prepared_engine, clock, server, [7300])

        def sent(session: Session) -> int:
            return len(session.exec(select(Outbox.id).where(Outbox.status == "sent")).all())

        async def run() -> int:
            async with Bot(server.token, base_url=server.base_url) as bot:
                first = OutboxSender(BotContext(prepared_engine, clock, SH, "门头沟区"), TelegramTransport(bot))
                second = OutboxSender(BotContext(prepared_engine, clock, SH, "门头沟区"), TelegramTransport(bot))
                passing = asyncio.create_task(first.deliver_due())
                while not await first.ctx.run(sent):  # the first notification is out and recorded
                    await asyncio.sleep(0.01)
                clock.advance(outbox.LEASE + timedelta(seconds=1))
                claimed = await second.deliver_due()
                await passing
                return claimed

        assert asyncio.run(run()) == 2  # the two still waiting in the first sender's pass
        assert rounds_received(server, 7300) == ["0", "1", "2"]  # each once, in order
        assert_every_row_sent(prepared_engine)
    finally:
        server.stop()


def test_after_downtime_passed_reminders_are_folded_and_nothing_is_sent_twice(prepared_engine: Engine) -> None:
    clock = FixedClock(datetime(2021, 10, 8, 1, tzinfo=UTC))  # 09:00 Beijing, the first working day after the holiday
    import_file(prepared_engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district="门头沟区")
    bind(prepared_engine, clock, 901, Role.MEMBER, "区商务局")
    policy, calendar = Policy(timezone=SH), WorkCalendar()
    run = BotContext(prepared_engine, clock, SH, "门头沟区").in_transaction
    planner.run_tick(run, clock, policy, calendar)
    # The bot is down from 8 October to the morning of 26 October: the d10 (10/15) and d5 (10/22) reminders
    # of the 10/31 tasks fall in the gap.
    clock.moment = datetime(2021, 10, 26, 1, 30, tzinfo=UTC)
    planner.run_tick(run, clock, policy, calendar)
    planner.run_tick(run, clock, policy, calendar)  # a second tick at the same moment adds nothing
    with transaction(prepared_engine) as session:
        rows = session.exec(select(Outbox).where(col(Outbox.created_at) >= clock.now())).all()
    # One message for the unit: the folded reminders, or, as its projects' 开工 milestones are overdue
    # too, the unit's list with them in it.
    messages = [r for r in rows if r.kind in ("reminders_folded", "duties_due")]
    reminders = [item for row in messages for item in row.payload["items"]
                 if item.get("kind", "reminder") == "reminder" and not item.get("milestone")]
    assert len(messages) == 1 and len(reminders) >= 10
    assert {item["step"] for item in reminders} == {"d5"}  # the latest passed reminder only
    assert not [r for r in rows if r.kind == "reminder"]


def test_timeouts_are_retried_and_nothing_is_lost(prepared_engine: Engine, clock: FixedClock) -> None:
    server = SandboxServer().start_in_thread()
    try:
        server.person(77, "人")
        with transaction(prepared_engine) as session:
            member = Member(user_id=str(77), address=str(77), name="m", role=Role.OFFICE, created_at=clock.now())
            session.add(member)
            session.flush()
            enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
                    MemberUnreachable(member="超时测试", unit="", role=Role.OFFICE), "timeout")
        server.inject(Fault("sendMessage", "timeout", delay=1.5))
        ctx = BotContext(prepared_engine, clock, SH, "门头沟区", paced=False)

        async def run() -> None:
            bot = Bot(server.token, base_url=server.base_url, request=HTTPXRequest(read_timeout=0.3))
            async with bot:
                sender = OutboxSender(ctx, TelegramTransport(bot))
                await sender.deliver_due()
                clock.advance(timedelta(seconds=5))
                await asyncio.sleep(1.5)  # the server finishes the slow request meanwhile
                await sender.deliver_due()

        asyncio.run(run())
        with transaction(prepared_engine) as session:
            row = session.exec(select(Outbox)).one()
        assert row.status == "sent" and row.attempts == 2 and "TimedOut" in row.last_error
        texts = [m["text"] for m in server.messages(77)]
        # Telegram may deliver a request the client gave up on: at most one duplicate, never a loss.
        assert 1 <= len(texts) <= 2 and all("超时测试" in t for t in texts)
    finally:
        server.stop()


def test_a_sender_keeps_several_chats_on_the_wire_and_each_chat_in_order(prepared_engine: Engine,
                                                                          clock: FixedClock) -> None:
    # Waiting for each answer before the next send caps a sender at one message per round trip.
    server = SandboxServer(flood_limits=FloodLimits(), round_trip=0.3).start_in_thread()
    try:
        members = queue_rounds(prepared_engine, clock, server, [6000 + n for n in range(12)])

        async def run() -> None:
            async with Bot(server.token, base_url=server.base_url) as bot:
                sender = OutboxSender(BotContext(prepared_engine, clock, SH, "门头沟区"), TelegramTransport(bot))
                while await sender.deliver_due(limit=100):
                    pass

        asyncio.run(run())
        assert server.state.rejected == [] and len(server.messages()) == 36
        assert server.state.most_sending > 1  # several chats' messages on the wire at once
        assert server.state.overlapped == []  # never two to one chat
        for member in members:
            assert rounds_received(server, int(member.address)) == ["0", "1", "2"]  # each chat's messages in the order they were queued
        assert_every_row_sent(prepared_engine)
    finally:
        server.stop()


SENT_BEFORE = 5000


def office_member(session: Session, clock: FixedClock, chat_id: int) -> Member:
    member = Member(user_id=str(chat_id), address=str(chat_id), name="督办办公室", role=Role.OFFICE, created_at=clock.now())
    session.add(member)
    session.flush()
    return member


def test_a_claim_reads_the_index_of_pending_rows_in_order_and_takes_the_earliest(prepared_engine: Engine,
                                                                                 clock: FixedClock) -> None:
    """The sender polls every half second: a claim must cost what is pending, not what was ever sent,
    also where no vacuum has yet cleared the delivered rows' old versions (PostgreSQL)."""
    with prepared_engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE outbox")  # statistics from when the outbox was empty
        connection.commit()
    with transaction(prepared_engine) as session:
        office = office_member(session, clock, 701)
        rows = []
        for n in range(SENT_BEFORE + 20):  # a few weeks of a district's notifications, the last 20 not sent yet
            clock.advance(timedelta(seconds=1))
            rows.append(outbox.outbox_row(clock, office, NotificationKind.MEMBER_UNREACHABLE,
                                          MemberUnreachable(member=f"m{n}", unit="", role=Role.OFFICE), f"old:{n}"))
        outbox.enqueue_rows(session, rows)
    for _ in range(SENT_BEFORE // 500):  # delivered as the sender does: claimed, then marked sent
        with transaction(prepared_engine) as session:
            outbox.mark_sent(session, clock, [row.id for row in outbox.claim_due(session, clock, 500)])
    with transaction(prepared_engine) as session:
        waiting = list(session.exec(select(Outbox.id).where(Outbox.status == "pending").order_by(col(Outbox.id))))
        compiled = outbox.claimable(session, clock.now(), 500).compile(dialect=prepared_engine.dialect)
        values = compiled.construct_params()
        if prepared_engine.dialect.name == "postgresql":
            explain = session.connection().exec_driver_sql("EXPLAIN " + str(compiled), values)
        else:
            explain = session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled), tuple(values[name] for name in compiled.positiontup or []))
        plan = "\n".join(str(line) for line in explain.all())
    assert len(waiting) == 20
    # Read in order through the index of pending rows: a LIMIT stops early, nothing is sorted, and
    # on PostgreSQL each dead entry met is marked so that the next claim skips it.
    if prepared_engine.dialect.name == "postgresql":
        assert "Index Scan using ix_outbox_pending" in plan and "Sort" not in plan, plan
    else:
        assert "ix_outbox_pending" in plan and "TEMP B-TREE" not in plan, plan
    clock.advance(outbox.LEASE)  # the claims above hold nothing now
    with transaction(prepared_engine) as session:
        assert [row.id for row in outbox.claim_due(session, clock, 15)] == waiting[:15]


def test_queueing_rows_again_writes_only_the_new_ones_and_counts_them(prepared_engine: Engine,
                                                                      clock: FixedClock) -> None:
    with transaction(prepared_engine) as session:
        office = office_member(session, clock, 702)

        def rows(*occasions: str) -> list[dict[str, object]]:
            return [outbox.outbox_row(clock, office, NotificationKind.MEMBER_UNREACHABLE,
                                      MemberUnreachable(member=occasion, unit="区商务局", role=Role.OFFICE), occasion) for occasion in occasions]

        assert outbox.enqueue_rows(session, rows("甲", "乙")) == 2
        assert outbox.enqueue_rows(session, rows("乙", "丙", "甲")) == 1  # a replayed batch adds only 丙
    with transaction(prepared_engine) as session:
        queued = session.exec(select(Outbox).order_by(col(Outbox.id))).all()
    assert [row.payload["member"] for row in queued] == ["甲", "乙", "丙"]
    assert [row.dedupe_key for row in queued] == ["甲:702", "乙:702", "丙:702"]


def test_a_stopped_sender_gives_back_what_it_claimed_and_never_sent(prepared_engine: Engine,
                                                                   clock: FixedClock) -> None:
    # One chat, three notifications: one on the wire (a second's round trip), two waiting their turn.
    server = SandboxServer(round_trip=1.0).start_in_thread()
    try:
        queue_rounds(prepared_engine, clock, server, [7100])

        async def run() -> int:
            async with Bot(server.token, base_url=server.base_url) as bot:
                ctx = BotContext(prepared_engine, clock, SH, "门头沟区", paced=False)
                passing = asyncio.create_task(OutboxSender(ctx, TelegramTransport(bot)).deliver_due())
                while not server.messages(7100):
                    await asyncio.sleep(0.01)
                passing.cancel()  # the bot stops while the first is on the wire
                await asyncio.gather(passing, return_exceptions=True)
                # The next run, at the same moment: what was never sent is free to go at once.
                return await OutboxSender(ctx, TelegramTransport(bot)).deliver_due()

        assert asyncio.run(run()) == 2
        assert rounds_received(server, 7100) == ["0", "1", "2"]  # each once, in order
        assert_every_row_sent(prepared_engine)
    finally:
        server.stop()


def test_a_renewed_lease_holds_a_row_until_its_holder_stops_renewing(prepared_engine: Engine,
                                                                    clock: FixedClock) -> None:
    """What a kill -9 leaves: rows whose holder renews no more are free one lease after its last
    renewal, for the next sender to claim and send once; the dead sender's claim is void."""
    with transaction(prepared_engine) as session:
        office = office_member(session, clock, 703)
        enqueue(session, clock, office, NotificationKind.MEMBER_UNREACHABLE,
                MemberUnreachable(member="续租", unit="", role=Role.OFFICE), "renew")
    with transaction(prepared_engine) as session:
        [first] = outbox.claim_due(session, clock)
    clock.advance(outbox.LEASE / 2)
    with transaction(prepared_engine) as session:
        assert outbox.renew_leases(session, clock, {first.id: first.attempts})[0] == {first.id}
    clock.advance(outbox.LEASE * 3 / 4)  # past the first lease, within the renewed one
    with transaction(prepared_engine) as session:
        assert outbox.claim_due(session, clock) == []
    clock.advance(outbox.LEASE / 2)  # the holder was killed: nothing renewed it
    with transaction(prepared_engine) as session:
        [again] = outbox.claim_due(session, clock)
    assert again.id == first.id
    with transaction(prepared_engine) as session:
        # The first claim can neither be renewed nor give the row back: it is the second sender's.
        assert outbox.renew_leases(session, clock, {first.id: first.attempts})[0] == set()
        assert outbox.release_leases(session, {first.id: first.attempts}) == 0
    clock.advance(outbox.LEASE / 2)
    with transaction(prepared_engine) as session:
        assert outbox.claim_due(session, clock) == []  # still held by the second sender's lease
