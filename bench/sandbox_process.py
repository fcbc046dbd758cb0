"""The local Bot API server in a process of its own, as the real one runs on machines of its own.

In a thread of the bench's process it shares one interpreter lock with the sender, so a bench
would count the server's work as ours. Here it has its own process (its own core, where there is
one); the bench reads what was delivered and refused at the end.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Event
from types import TracebackType
from typing import Any

from bot.sandbox.server import SandboxServer


def serve_people(people: list[int]) -> SandboxServer:
    """A started server that knows each of ``people`` (user ids) as a person."""
    server = SandboxServer().start_in_thread()
    for user_id in people:
        server.person(user_id, f"m{user_id}")
    return server


def outcome_of(server: SandboxServer) -> tuple[int, list[tuple[str, int, str]]]:
    """(messages delivered, calls refused)."""
    return len(server.messages()), list(server.state.rejected)


def _serve(people: list[int], ready: Any, stop: Event, outcome: Any) -> None:
    server = serve_people(people)
    ready.put((server.token, server.base_url))
    stop.wait()
    outcome.put(outcome_of(server))
    server.stop()


class SandboxProcess:
    """``with SandboxProcess(user_ids) as server:`` gives ``server.token`` and ``server.base_url``;
    ``server.finish()`` stops it and returns (messages delivered, calls refused)."""

    def __init__(self, people: list[int]) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of the bench's state is inherited
        self._ready, self._outcome, self._stop = context.Queue(), context.Queue(), context.Event()
        self._process = context.Process(target=_serve, args=(people, self._ready, self._stop, self._outcome),
                                        daemon=True)
        self.token = self.base_url = ""

    def __enter__(self) -> SandboxProcess:
        self._process.start()
        self.token, self.base_url = self._ready.get(timeout=60)
        return self

    def finish(self) -> tuple[int, list[tuple[str, int, str]]]:
        self._stop.set()
        delivered, rejected = self._outcome.get(timeout=60)
        self._process.join(10)
        return delivered, rejected

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
                 ) -> None:
        if self._process.is_alive():
            self._process.kill()
