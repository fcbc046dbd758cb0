"""Real processes for the tests: `taskbot run` started as a deployment starts it, and a free port."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
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
                     "run", "--base-url", server.base_url, "--web-port", "0", *options],
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


# Forks a copy of itself, taskbot already imported, for each command line it reads as JSON
# ({"argv", "env", "stdout", "stderr"}), and answers with the copy's process id. Its copies are
# reaped as they end (SIGCHLD ignored), so it keeps no exit codes: for tests that only kill and
# restart. It has no threads and opens nothing before it forks, so a copy starts as a new process would.
FORK_SERVER = """
import json, os, signal, sys
import bot.app, bot.cli
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
            sys.stdin = open(os.devnull)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.environ.clear()
            os.environ.update(request["env"])
            code = bot.cli.main(request["argv"])
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 1)
    print(pid, flush=True)
"""


class ForkServer:
    """Starts `taskbot` commands as forks of one process that imported taskbot once: a test that
    kills and restarts the bot many times pays Python's start and imports once, not each time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", FORK_SERVER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})

    def start(self, argv: list[str], env: dict[str, str], out: Path, err: Path) -> Forked:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"argv": argv, "env": env, "stdout": str(out), "stderr": str(err)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return Forked(int(self.process.stdout.readline()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Forked:
    """A process the fork server started, seen as much of a Popen as the kill tests use. Not our
    child, so its end is seen through a pidfd; its exit code is not known (-1 once it ended)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -1
            os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.01)
        return -1

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended a moment ago
                signal.pidfd_send_signal(self._pidfd, number)


class RunProcess:
    """A `taskbot run` process; its output goes to files. ``forks``: forked by that fork server."""

    def __init__(self, database_url: str, server: SandboxServer, folder: Path, name: str, *options: str,
                 forks: ForkServer | None = None) -> None:
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.err"
        arguments = taskbot_run(database_url, server, *options)
        self.process: subprocess.Popen | Forked
        if forks is not None:
            self.process = forks.start(arguments["args"][3:], arguments["env"], self.out, self.err)
            return
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(**arguments, stdout=out, stderr=err)

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
