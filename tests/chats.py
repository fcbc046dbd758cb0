"""People in chat, whichever platform: one way for a test to write, tap, send a file and read the
bot's messages, over Telegram (tests/harness.py: the real Application and the local Bot API server)
or a domestic platform (bot/sandbox/domestic.py: the platform's SDK and its local double).

A workflow test takes the ``chat`` fixture (tests/conftest.py), which runs it once per platform.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.context import BotContext
from bot.sandbox.dingtalk_double import DingTalkDouble
from bot.sandbox.domestic import DomesticSandbox, Shown, merged
from bot.sandbox.robot_double import Robot, RobotDouble
from tasks.clock import FixedClock
from tasks.db import make_engine
from tasks.models import Role
from tests.dbstate import snapshot
from tests.factories import COMMERCE, seed_directory, seed_plan, task_id
from tests.harness import BotHarness

CHANNELS = ("telegram", "dingtalk", "wecom", "feishu")
COMMANDS = ["mytasks", "task", "report", "done", "extend", "overdue", "due", "unit", "stats", "export", "verify",
            "sendback", "approve", "refuse", "urge", "invite", "departments", "mobile"]
# The authorization matrix as the product defines it (GUIDE: who does what in the chat).
ALLOWED = {
    "member": {"mytasks", "task", "report", "done", "extend", "mobile"},
    "office": {"task", "overdue", "due", "unit", "stats", "export", "verify", "sendback", "approve", "refuse", "urge",
               "invite", "departments", "mobile"},
    "leader": {"task", "overdue", "due", "unit", "stats", "export", "mobile"},
    "admin": {"task", "overdue", "due", "unit", "stats", "export", "verify", "sendback", "approve", "refuse", "urge",
              "invite", "departments", "mobile"},
    "unbound": set(),
}


@dataclass(frozen=True)
class Said:
    """A message from the bot as the person reads it: its words, and its buttons' labels."""

    text: str
    buttons: list[str] = field(default_factory=list)
    raw: Any = None  # the platform's own message (for tapping it)


class Chat(Protocol):
    channel: str

    def join(self, number: int, name: str, role: Role, unit: str | None = None) -> str: ...

    def stranger(self, number: int, name: str) -> str:
        """Someone who can write to the bot but was never bound."""
        ...

    def say(self, who: str, text: str, *, pages: int = 1) -> Said: ...

    def tap(self, who: str, message: Said, label: str) -> Said: ...

    def send_file(self, who: str, name: str, data: bytes) -> Said: ...

    def count(self, who: str) -> int: ...

    def next_message(self, who: str, after: int) -> Said: ...

    def settle(self) -> None: ...

    def snapshot(self) -> dict[str, list[tuple]]: ...

    def task_id(self, ref: str) -> int: ...

    def stop(self) -> None: ...


def start_of_term() -> FixedClock:
    """09:00 Beijing on 2021-09-01, the workflow tests' moment."""
    return FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC))


class TelegramChat:
    channel = "telegram"

    def __init__(self, database_url: str) -> None:
        self.bot = BotHarness(database_url, start_of_term())
        self.people: dict[str, Any] = {}

    def join(self, number: int, name: str, role: Role, unit: str | None = None) -> str:
        person = self.bot.join(number, name, role, unit)
        self.people[str(number)] = person
        return str(number)

    def stranger(self, number: int, name: str) -> str:
        self.people[str(number)] = self.bot.server.person(number, name)
        return str(number)

    @staticmethod
    def _said(message: dict[str, Any]) -> Said:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return Said(message.get("text") or message.get("caption") or "", [b["text"] for row in rows for b in row],
                    message)

    def say(self, who: str, text: str, *, pages: int = 1) -> Said:
        return self._said(self.bot.say(self.people[who], text, pages=pages))

    def tap(self, who: str, message: Said, label: str) -> Said:
        return self._said(self.bot.tap(self.people[who], message.raw, label))

    def send_file(self, who: str, name: str, data: bytes) -> Said:
        person = self.people[who]
        self.bot.settle()
        before = len(self.bot.server.messages(person.id))
        if name.endswith(".jpg"):
            self.bot.server.send_photo(person, data)
        else:
            self.bot.server.send_document(person, data, name, "application/octet-stream")
        return self.next_message(who, before)

    def count(self, who: str) -> int:
        return len(self.bot.server.messages(self.people[who].id))

    def next_message(self, who: str, after: int) -> Said:
        return self._said(self.bot.next_message(self.people[who].id, after))

    def settle(self) -> None:
        self.bot.settle()

    def snapshot(self) -> dict[str, list[tuple]]:
        return self.bot.snapshot()

    def task_id(self, ref: str) -> int:
        return self.bot.task_id(ref)

    def stop(self) -> None:
        self.bot.stop()
        # The bot never made a call the Bot API refused: every reply was valid HTML within the limits.
        assert self.bot.server.state.rejected == []


class DomesticChat:
    """A domestic platform's app, on the same seed plan and moment as the Telegram harness."""

    def __init__(self, database_url: str, channel: str) -> None:
        self.channel = channel
        self.engine = make_engine(database_url)
        clock = start_of_term()
        seed_plan(self.engine, clock)
        ctx = BotContext(self.engine, clock, ZoneInfo("Asia/Shanghai"), seed_directory().district,
                         outbox_interval=0.02, paced=False)
        self.sandbox = DomesticSandbox(ctx, channel).start()  # type: ignore[arg-type]

    @staticmethod
    def _said(shown: Shown) -> Said:
        return Said(shown.text, [label for label, _data in shown.buttons], shown)

    def join(self, number: int, name: str, role: Role, unit: str | None = None) -> str:
        return self.sandbox.join(f"u{number}", name, role, unit)

    def stranger(self, number: int, name: str) -> str:
        return self.sandbox.person(f"u{number}", name)

    def say(self, who: str, text: str, *, pages: int = 1) -> Said:
        return self._said(self.sandbox.say(who, text, pages=pages))

    def tap(self, who: str, message: Said, label: str) -> Said:
        return self._said(self.sandbox.tap(who, message.raw, label))

    def send_file(self, who: str, name: str, data: bytes) -> Said:
        return self._said(self.sandbox.send_file(who, name, data))

    def count(self, who: str) -> int:
        return len(self.sandbox.messages(who))

    def next_message(self, who: str, after: int) -> Said:
        return self._said(merged(self.sandbox.wait_for(who, after)))

    def settle(self) -> None:
        self.sandbox.settle()

    def snapshot(self) -> dict[str, list[tuple]]:
        return snapshot(self.engine)

    def task_id(self, ref: str) -> int:
        return task_id(self.engine, ref)

    def stop(self) -> None:
        self.sandbox.stop()
        self.engine.dispose()


def open_chat(database_url: str, channel: str) -> Chat:
    return TelegramChat(database_url) if channel == "telegram" else DomesticChat(database_url, channel)


@dataclass
class ProcessConfig:
    """What a taskbot process started by a test reads: its configuration file and its environment."""

    path: Path
    env: dict[str, str]
    robot: Robot  # 区商务局's DingTalk group robot


def dingtalk_office(tmp_path: Path, dingtalk: DingTalkDouble, robots: RobotDouble, robot_secret: str, *,
                    more_toml: str = "", more_env: dict[str, str] | None = None) -> ProcessConfig:
    """An office on DingTalk, as its configuration file and environment describe it to `taskbot run`
    or `taskbot worker`: the app against ``dingtalk``, and 区商务局's group robot, signed with
    ``robot_secret``, against ``robots``; ``more_toml`` and ``more_env`` add other platforms."""
    robot = robots.add_robot("dingtalk", secret=robot_secret)
    path = tmp_path / "config.toml"
    path.write_text(f"""
[web]
enabled = false

[channels.dingtalk]
enabled = true
api_base = "{dingtalk.base_url}"

[[channels.dingtalk.robots]]
name = "区商务局工作群"
unit = "{COMMERCE}"
webhook_env = "TASKBOT_DINGTALK_ROBOT_SHANGWU"
secret_env = "TASKBOT_DINGTALK_ROBOT_SHANGWU_SECRET"
{more_toml}""", encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKBOT_")},
           "PYTHONPATH": os.getcwd(), "TASKBOT_CONFIG": str(path),
           "TASKBOT_DINGTALK_CLIENT_ID": dingtalk.client_id, "TASKBOT_DINGTALK_CLIENT_SECRET": dingtalk.client_secret,
           "TASKBOT_DINGTALK_ROBOT_SHANGWU": robots.url_for("dingtalk", robot.token),
           "TASKBOT_DINGTALK_ROBOT_SHANGWU_SECRET": robot_secret, **(more_env or {})}
    return ProcessConfig(path, env, robot)
