"""``taskbot backup`` and ``restore``: a copy of the database, and the database put back from one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.cli.invocation import Invocation
from bot.consumer_lock import consumer_lock
from bot.failures import disk_is_full
from tasks.backup import backup as take_backup
from tasks.backup import restore as put_back
from tasks.errors import ServiceError


def backup(cli: Invocation) -> int:
    destination: Path = cli.args.path
    try:
        path = take_backup(cli.settings.database_url, destination)
    except (OSError, sqlite3.Error, ServiceError) as error:
        if not disk_is_full(destination.parent):
            raise
        raise ServiceError(f"磁盘已满，备份没有写完：{destination.parent} 所在的磁盘没有剩余空间，"
                           "请腾出空间或换一个位置后重试。") from error
    cli.print(f"已备份到 {path}")
    return 0


def restore(cli: Invocation) -> int:
    if not cli.args.yes:
        raise ServiceError("恢复会替换数据库中的全部内容。请先停止机器人，确认后加 --yes 再运行。")
    lock = consumer_lock(cli.settings.database_url)  # held through the restore: no taskbot run starts meanwhile
    try:
        if not lock.acquire():
            raise ServiceError(f"机器人正在运行（{lock.holder()}），恢复会替换它正在使用的数据库。"
                               "请先停止 taskbot run，再恢复。")
        put_back(cli.settings.database_url, cli.args.path)
    finally:
        lock.release()
    cli.print(f"已从 {cli.args.path} 恢复")
    return 0

