"""One consumer of the bot's updates per database and chat platform: `taskbot run` holds the lock of
every platform it serves while it consumes their updates.

Telegram hands a bot's updates to one consumer. A second long-poller gets 409 Conflict and the
two take turns; a second webhook registration takes the updates from the first without a word.
Either way nobody learns that two processes run. So `taskbot run` takes the database's consumer
lock before it asks Telegram for anything: a second one against the same database says who holds
it and exits, or with --standby waits and takes over when the first stops or dies.

The domestic platforms hand their long connections' messages out the same way (DingTalk and Feishu
to one connection of several at random), so each has its lock too: one process may serve all of
them, or each its own, but never two processes one platform.

The lock goes with its holder's process, so a crash never leaves it taken:
- PostgreSQL: a session advisory lock on a connection of its own; the server releases it when
  the connection closes.
- SQLite: an exclusive flock on a file beside the database; the kernel releases it when the
  process exits.

A consumer checks every CHECK_SECONDS that it still holds the lock, and stops when it does not.
Within that window an old consumer and a standby that took over may both poll; Telegram then
gives each update to one of them, so nothing is handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

import psycopg
from sqlalchemy.engine import make_url

from tasks.db import libpq_url, normalise_url

log = logging.getLogger(__name__)

# Any constant will do, as long as every process of this bot uses it; not the flood budget's (bot/flood.py).
POSTGRES_KEY = 0x7A5B08
# How the lock's connection shows in pg_stat_activity, for an operator looking for the holder.
APPLICATION_NAME = "taskbot run (consumer lock)"
# How often a running consumer makes sure it still holds the lock, and a standby tries to take it.
CHECK_SECONDS = 5.0


class ConsumerLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""

    def held(self) -> bool:
        """Whether this process still holds it (a PostgreSQL connection can be lost)."""

    def holder(self) -> str:
        """Who holds it, for the message a refused process prints."""

    def release(self) -> None: ...


# Each platform's lock, as an offset to POSTGRES_KEY and a file name's part; Telegram's are the ones
# there were before the other platforms, so a process of an earlier version and one of this one exclude each other.
CHANNEL_LOCKS = {"telegram": (0, ""), "dingtalk": (1, ".dingtalk"), "wecom": (2, ".wecom"), "feishu": (3, ".feishu")}


def consumer_lock(database_url: str, channel: str = "telegram") -> ConsumerLock:
    url = make_url(normalise_url(database_url))
    offset, suffix = CHANNEL_LOCKS[channel]
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(libpq_url(database_url), POSTGRES_KEY + offset)
    return FileLock(Path(f"{url.database}{suffix}.consumer-lock"))


class ChannelLocks:
    """The locks of every platform one process serves, taken all together or not at all."""

    def __init__(self, database_url: str, channels: list[str]) -> None:
        self.locks = [consumer_lock(database_url, channel) for channel in channels]
        self._refused: ConsumerLock | None = None

    def acquire(self) -> bool:
        taken: list[ConsumerLock] = []
        for lock in self.locks:
            try:
                acquired = lock.acquire()
            except BaseException:
                for held in taken:
                    held.release()
                raise
            if not acquired:
                for held in taken:
                    held.release()
                self._refused = lock
                return False
            taken.append(lock)
        return True

    def held(self) -> bool:
        return all(lock.held() for lock in self.locks)

    def holder(self) -> str:
        return (self._refused or self.locks[0]).holder()

    def release(self) -> None:
        for lock in self.locks:
            lock.release()


class FileLock:
    """flock on ``path``; the file also names the holding process and host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        file = self.path.open("a+", encoding="utf-8")
        try:
            # flock locks belong to the open file: another open of the path, even in this process, is refused.
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()} {socket.gethostname()}\n")
        file.flush()
        self._file = file
        return True

    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            pid, host = self.path.read_text(encoding="utf-8").split()
            return f"主机 {host} 上的进程 {pid}"
        return "另一个进程"

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None


class AdvisoryLock:
    """pg_try_advisory_lock on a dedicated autocommit connection, outside the engine's pool:
    the lock lives exactly as long as that connection, and nothing else may reuse it."""

    def __init__(self, conninfo: str, key: int = POSTGRES_KEY) -> None:
        self.conninfo = conninfo
        self.key = key
        self._connection: psycopg.Connection | None = None

    def acquire(self) -> bool:
        connection = psycopg.connect(self.conninfo, autocommit=True, application_name=APPLICATION_NAME)
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            connection.close()
            raise
        if not (row and row[0]):
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:  # the server closed the connection, and the lock went with it
            self.release()
            return False
        return True

    def holder(self) -> str:
        # A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
        query = """SELECT a.pid, coalesce(host(a.client_addr), '本机') FROM pg_locks l
                   JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                     AND l.classid = %s AND l.objid = %s
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.conninfo, autocommit=True) as connection:
            row = connection.execute(query, (self.key >> 32, self.key & 0xFFFFFFFF)).fetchone()
            if row is not None:
                return f"PostgreSQL 连接 {row[0]}，来自 {row[1]}"
        return "另一个进程"

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()  # the session ends, and its advisory lock with it
            self._connection = None


async def watch(lock: ConsumerLock, on_lost: Callable[[], None], every: float = CHECK_SECONDS) -> None:
    """Call ``on_lost`` once, and return, when this process no longer holds ``lock``."""
    while True:
        await asyncio.sleep(every)
        if not await asyncio.to_thread(lock.held):
            log.error("lost the consumer lock: another process may take the updates now, so this one stops")
            on_lost()
            return
