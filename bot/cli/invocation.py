"""One run of a ``taskbot`` command: its arguments, where to write, and, made on first use, the
settings, the clock, the database, the unit directory and the office's policy. A command that needs
none of them (``taskbot deadline --year 2021``) loads none of their modules, not even the config's."""

from __future__ import annotations

import argparse
import sys
from functools import cached_property
from typing import TYPE_CHECKING, TextIO
from urllib.parse import unquote, urlsplit

from tasks.clock import Clock, FixedClock, SystemClock, parse_moment
from tasks.redaction import register_secret

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import Settings
    from tasks.clock.policy import Policy
    from tasks.clock.workdays import WorkCalendar
    from tasks.events import Actor
    from tasks.plan.units import UnitDirectory

TEXT_WIDTH = 36


class Invocation:
    def __init__(self, args: argparse.Namespace, stdin: TextIO, stdout: TextIO, clock: Clock | None = None) -> None:
        self.args = args
        # A caller's clock stands for real time: the sandbox's own clock runs with it. None: the system's.
        self.wall = clock
        self.stdin = stdin
        self.out = stdout

    @cached_property
    def settings(self) -> Settings:
        from bot.config import load_settings

        settings = load_settings(self.args.config, self.args.database_url)
        for secret in (settings.telegram.token, settings.telegram.webhook_secret, database_password(settings)):
            register_secret(secret)
        return settings

    @cached_property
    def clock(self) -> Clock:
        if self.wall is not None:
            return self.wall
        return FixedClock(parse_moment(self.args.now, self.settings.timezone)) if self.args.now else SystemClock()

    @property
    def database_url(self) -> str | None:
        """The database this run uses, as far as it is known (for a failure to name)."""
        return self.settings.database_url if "settings" in self.__dict__ else self.args.database_url

    @cached_property
    def actor(self) -> Actor:
        from tasks.events import Actor

        return Actor("admin", "cli")

    @cached_property
    def seed_directory(self) -> UnitDirectory:
        from tasks.plan.directory import load_seed_directory

        return load_seed_directory(self.settings.directory.path)

    @cached_property
    def engine(self) -> Engine:
        """Made on first use, with the schema and the seed directory in place."""
        from tasks.db import make_engine
        from tasks.plan.importer import prepare_database

        engine = make_engine(self.settings.database_url)
        prepare_database(engine, self.seed_directory, self.clock, self.actor)
        return engine

    def policy(self) -> tuple[Policy, WorkCalendar]:
        from tasks.clock.workdays import WorkCalendar

        policy = self.settings.office_policy()

        def warn(message: str) -> None:
            print(f"提醒：{message}", file=sys.stderr)

        return policy, WorkCalendar(policy.holidays, policy.workdays, warn=warn)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)  # a standby's notice must reach a log at once


def database_password(settings: Settings) -> str | None:
    """The database URL's password, to be hidden wherever it might be written."""
    try:
        password = urlsplit(settings.database_url).password
    except ValueError:  # a malformed URL: said when the database is opened
        return None
    return unquote(password) if password else None


def clip(text: str, width: int = TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
