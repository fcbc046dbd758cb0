"""Backing up and restoring the database: the SQLite online backup API, or pg_dump / pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tasks.db import normalise_url
from tasks.errors import ServiceError


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise ServiceError("内存数据库无法备份")
    return Path(parsed.database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian: apt-get install postgresql-client）")
    return found


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump / pg_restore's command line, and the environment to run them in.
    Any user on the machine can read another's command line (ps), so the password goes to the
    child's environment, which only its owner and root can read, and the URL loses it."""
    parsed = make_url(normalise_url(url)).set(drivername="postgresql")
    environment = dict(os.environ)
    password = parsed.password if parsed.password is not None else parsed.query.get("password")
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    # URL.set cannot take a field away (None there means "unchanged"), so the URL is built anew.
    without_password = URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port,
                                  parsed.database, parsed.query).difference_update_query(["password"])
    return without_password.render_as_string(hide_password=False), environment


def backup(url: str, destination: Path) -> Path:
    """A consistent copy, taken while the bot keeps running. It is written beside ``destination``
    and put in its place only once whole, so a failed backup never replaces the last good one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise ServiceError(f"数据库文件不存在：{path}")
    partial = destination.with_name(destination.name + ".partial")
    try:
        if path is not None:
            with sqlite3.connect(path) as source, sqlite3.connect(partial) as target:
                source.backup(target)  # the online backup API: a consistent snapshot, WAL included
        else:
            _pg_dump(url, partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination


def _pg_dump(url: str, file: Path) -> None:
    target, environment = _pg_target(url)
    result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={file}", target],
                            env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"pg_dump 失败：{result.stderr.strip()}")
    # pg_dump can report success for a file it could not finish writing (seen on a full disk: an
    # empty file, exit status 0); a backup is whole only if pg_restore can read its table of contents.
    listing = subprocess.run([_tool("pg_restore"), "--list", str(file)], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise ServiceError("备份没有写完整，不能用来恢复：请检查磁盘空间后重新备份。")


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with the backup's. Stop the bot and workers first."""
    if not source.is_file():
        raise ServiceError(f"备份文件不存在：{source}")
    path = _sqlite_path(url)
    if path is not None:
        with sqlite3.connect(source) as backup_copy, sqlite3.connect(path) as target:
            backup_copy.backup(target)
        return
    target, environment = _pg_target(url)
    result = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                             f"--dbname={target}", str(source)], env=environment, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise ServiceError(f"pg_restore 失败（数据库未改动）：{result.stderr.strip()}")
