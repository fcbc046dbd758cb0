"""The planner-and-sender loop that `taskbot run` and `taskbot worker` share: one error policy."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from bot import worker


class FlakySender:
    """An outbox sender whose first pass fails, as one does when the database restarts."""

    passes = 0

    def __init__(self, _ctx: object, transport: object) -> None:
        FlakySender.passes = 0
        self.transport = transport

    async def deliver_due(self) -> int:
        FlakySender.passes += 1
        if FlakySender.passes == 1:
            raise ConnectionError("server closed the connection unexpectedly")
        return 0


def no_planner() -> SimpleNamespace:
    return SimpleNamespace(policy=None, calendar=None, outbox_interval=0.01)


def test_a_running_loop_logs_a_failed_pass_and_goes_on(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(worker, "OutboxSender", FlakySender)

    async def run_a_while() -> None:
        loop = asyncio.create_task(worker.run_planner_and_sender(no_planner(), [SimpleNamespace(channel="telegram")]))

        async def third_pass() -> None:
            while FlakySender.passes < 3:
                assert not loop.done(), "the loop ended at a failed pass"
                await asyncio.sleep(0.01)

        await asyncio.wait_for(third_pass(), timeout=10)
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop

    with caplog.at_level(logging.ERROR):
        asyncio.run(run_a_while())
    assert [record.getMessage() for record in caplog.records] == ["outbox pass failed (telegram)"]


def test_a_run_until_idle_stops_at_a_failed_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """`taskbot worker --until-idle` has no next pass to wait for: the command says the failure."""
    monkeypatch.setattr(worker, "OutboxSender", FlakySender)
    with pytest.raises(ConnectionError):
        asyncio.run(worker.run_planner_and_sender(no_planner(), [SimpleNamespace(channel="telegram")],
                                                  until_idle=True))
    assert FlakySender.passes == 1
