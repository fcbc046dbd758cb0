"""Real processes for the tests: `taskbot run` started as a deployment starts it, and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


# A taskbot command run once a line arrives on standard input: Python has started and imported the bot by then.
HELD_COMMAND = ("import sys, bot.app, bot.cli\n"
                "if sys.stdin.readline():\n"
                "    sys.exit(bot.cli.main(sys.argv[1:]))\n")


def held_taskbot(arguments: list[str], **popen: Any) -> subprocess.Popen:
    """`taskbot ARGUMENTS` in a process started now, that runs the command once go() tells it to: a
    test that restarts a process can have the next one ready before it kills the last. Until then
    it touches nothing; it ends without running if the test closes its input first."""
    return subprocess.Popen([sys.executable, "-c", HELD_COMMAND, *arguments], stdin=subprocess.PIPE, text=True,
                            **popen)


def go(process: subprocess.Popen) -> None:
    assert process.stdin is not None, "only a held process waits for its go"
    process.stdin.write("go\n")
    process.stdin.flush()


class RunProcess:
    """A `taskbot run` process; its output goes to files. ``held``: it waits for go() (see held_taskbot)."""

    def __init__(self, database_url: str, server: SandboxServer, folder: Path, name: str, *options: str,
                 held: bool = False) -> None:
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.err"
        arguments = taskbot_run(database_url, server, *options)
        with self.out.open("w") as out, self.err.open("w") as err:
            if held:
                command = arguments["args"][3:]  # after `python -m bot.cli`
                self.process = held_taskbot(command, env=arguments["env"], stdout=out, stderr=err)
            else:
                self.process = subprocess.Popen(**arguments, stdout=out, stderr=err)

    def go(self) -> None:
        go(self.process)

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
