"""End-to-end harness: the sandbox runtime (real Application, local Bot API server) on a test database."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.app import DeskPlan, Webhook
from bot.channels.runtime import DomesticChannels
from bot.context import BotContext
from bot.sandbox.runtime import SandboxRuntime
from bot.sandbox.server import SandboxServer
from tasks.clock import Clock, FixedClock
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine
from tasks.models import Member, Role
from tasks.notifications import MemberUnreachable, NotificationKind
from tasks.outbox import enqueue
from tests.dbstate import snapshot
from tests.factories import seed_directory, seed_plan, task_id


class BotHarness(SandboxRuntime):
    def __init__(self, database_url: str, clock: FixedClock, policy: Policy | None = None,
                 webhook: Webhook | None = None, desk: DeskPlan | None = None,
                 channels: Callable[[BotContext], DomesticChannels] | None = None) -> None:
        engine = make_engine(database_url)
        seed_plan(engine, clock)
        ctx = BotContext(engine, clock, ZoneInfo("Asia/Shanghai"), seed_directory().district, outbox_interval=0.02,
                         paced=False, policy=policy, calendar=WorkCalendar() if policy else None, planner_interval=0.1)
        super().__init__(ctx, webhook=webhook, desk=desk, channels=channels(ctx) if channels else None)
        self.clock = clock
        self.start()

    def stop(self) -> None:
        super().stop()
        self.engine.dispose()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table: equal snapshots mean the database did not change."""
        return snapshot(self.engine)

    def task_id(self, ref: str) -> int:
        return task_id(self.engine, ref)


def queue_one_per_new_chat(session: Session, clock: Clock, server: SandboxServer, count: int, first_user_id: int,
                           key: str) -> None:
    """``count`` notifications, each to a new office member's own chat on the local server: a chat's
    count of messages there is its row's count of deliveries."""
    people = []
    for n in range(count):
        user_id = first_user_id + n
        server.person(user_id, f"人{n}")
        people.append(Member(user_id=str(user_id), address=str(user_id), name=f"m{n}", role=Role.OFFICE, created_at=clock.now()))
    session.add_all(people)
    session.flush()
    for n, member in enumerate(people):
        enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
                MemberUnreachable(member=f"第{n}条", unit="", role=Role.OFFICE), f"{key}:{n}")
