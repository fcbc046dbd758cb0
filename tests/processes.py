"""Real processes for the tests: `taskbot run` started as a deployment starts it, and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.sandbox.server import SandboxServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def taskbot_run(database_url: str, server: SandboxServer, *options: str) -> dict:
    """Popen/run arguments for `taskbot run` as a deployment starts it, against the local Bot API server."""
    return {"args": [sys.executable, "-m", "bot.cli", "--database-url", database_url, "--now", "2021-09-01T09:00",
                     "run", "--base-url", server.base_url, *options],
            "env": {**os.environ, "TASKBOT_TOKEN": server.token, "PYTHONPATH": os.getcwd()}}


# `taskbot run` once a line arrives on standard input: Python has started and imported the bot by then.
HELD_RUN = ("import sys, bot.app, bot.cli\n"
            "if sys.stdin.readline():\n"
            "    sys.exit(bot.cli.main(sys.argv[1:]))\n")


class RunProcess:
    """A `taskbot run` process; its output goes to files.

    ``held``: the process starts and imports, then waits for go() before the command runs, so
    a test that restarts the bot can have the next process ready before it kills the last."""

    def __init__(self, database_url: str, server: SandboxServer, folder: Path, name: str, *options: str,
                 held: bool = False) -> None:
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.err"
        arguments = taskbot_run(database_url, server, *options)
        if held:
            arguments["args"] = [sys.executable, "-c", HELD_RUN, *arguments["args"][3:]]  # after `-m bot.cli`
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(**arguments, stdout=out, stderr=err,
                                            stdin=subprocess.PIPE if held else None, text=True)

    def go(self) -> None:
        assert self.process.stdin is not None, "only a held process waits for its go"
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8") + self.err.read_text(encoding="utf-8")

    def wait_until(self, condition: Callable[[], object], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"taskbot run ended ({self.process.returncode}) waiting for {what}: "
                                     f"{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
