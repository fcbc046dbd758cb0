"""A local server (the Bot API server, a platform's double) on an event loop of its own, in a daemon
thread: for the terminal sandbox and the tests, which are not async themselves."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

START_SECONDS = 10.0


def start_on_own_loop(name: str, start: Callable[[], Awaitable[None]],
                      stop: Callable[[], Awaitable[None]]) -> threading.Thread:
    """Run ``start`` on a new loop in a thread, then the loop until it is stopped (``stop_own_loop``),
    then ``stop``; returns once ``start`` has finished."""
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(START_SECONDS):
        raise RuntimeError(f"{name} did not start")
    return thread


def stop_own_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, name: str) -> None:
    """Stop the loop a server runs on and wait for its thread: a server left running behind the
    caller's back is a leak, not a stop."""
    loop.call_soon_threadsafe(loop.stop)
    thread.join(START_SECONDS)
    if thread.is_alive():
        raise RuntimeError(f"{name} did not stop within {START_SECONDS:.0f} s")
