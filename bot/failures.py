"""A failed ``taskbot`` command as the person at the terminal reads it: one Chinese sentence that
says what to do, and an exit code. The traceback goes to the log at debug level
(``TASKBOT_LOG_LEVEL=DEBUG``), never to the person.

The administrators who run taskbot read Chinese, work on a government network where Telegram is
often out of reach, and are not expected to read a Python traceback; every secret is redacted
(tasks.redaction) before anything is written, the log included.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TextIO

from tasks.errors import ServiceError
from tasks.redaction import redact

LOG_LEVEL_ENV = "TASKBOT_LOG_LEVEL"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEBUG_HINT = f"要看详细原因，请设置环境变量 {LOG_LEVEL_ENV}=DEBUG（或加 --log-level debug）后重新运行"
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command killed by SIGPIPE: 128 + 13
# Below this much free space a failed write is put down to a full disk, whatever the error said
# (SQLite reports one as "disk I/O error" when it cannot grow its shared-memory file).
NEARLY_FULL_BYTES = 1 << 20

log = logging.getLogger("taskbot")
_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def _is(error: BaseException, module: str, *names: str) -> bool:
    """Whether ``error`` is one of ``module``'s exception classes ``names``. A module this process
    never imported cannot have raised one: asking costs no import (a failed ``taskbot deadline``
    is not slowed down by loading python-telegram-bot and SQLAlchemy to say so)."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(error, tuple(getattr(loaded, name) for name in names))


class _StartupFailureToDebug(logging.Filter):
    """PTB logs a start that failed (no route to Telegram, a rejected token) at ERROR, traceback
    and all, before it raises the error to us; the command then says it in one sentence
    (``explain``), so the traceback is kept for the debug log only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("telegram") and record.getMessage().startswith("Network Retry Loop (Bootstrap"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is logged, not to the one there was when logging
    was set up: the tests run many commands in one process, each with its own captured stderr."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class RedactingFormatter(logging.Formatter):
    """Log lines with their secrets hidden: a log is read and kept by people who must not learn the
    bot's token or a database password from it. Without ``tracebacks`` an event is one line, its
    exception named at the end; with them (debug level) the traceback follows, redacted too."""

    def __init__(self, fmt: str, *, tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return redact(super().format(record))
        line = logging.makeLogRecord(record.__dict__)
        line.msg, line.args = record.getMessage(), None
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line.msg += f" ({type(error).__name__}: {error})"
        line.exc_info, line.exc_text, line.stack_info = None, None, None
        return redact(" ".join(super().format(line).split("\n")))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | None = None, stream: TextIO | None = None) -> None:
    """The root logger's one handler, to stderr, at ``level``, else $TASKBOT_LOG_LEVEL, else WARNING.

    A command calls it once, before anything logs; a second call (the tests run many commands in
    one process) keeps the handler and only sets the level.
    """
    root = logging.getLogger()
    chosen = (level or os.environ.get(LOG_LEVEL_ENV) or "WARNING").upper()
    root.setLevel(chosen if chosen in LOG_LEVELS else logging.WARNING)
    formatter = next((handler.formatter for handler in root.handlers
                      if isinstance(handler.formatter, RedactingFormatter)), None)
    if formatter is None:
        formatter = RedactingFormatter(LOG_FORMAT)
        handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
        handler.setFormatter(formatter)
        handler.addFilter(_StartupFailureToDebug())
        root.addHandler(handler)
    formatter.tracebacks = root.isEnabledFor(logging.DEBUG)


EXIT_INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C: 128 + 2


def explain(error: BaseException, database_url: str | None) -> tuple[str, int]:
    """What went wrong, in one Chinese sentence that says what to do, and the exit code."""
    if isinstance(error, KeyboardInterrupt):
        return "已按 Ctrl-C 中断，命令没有做完：需要时请重新运行。", EXIT_INTERRUPTED
    if isinstance(error, ServiceError) or _is(error, "bot.config", "ConfigError") \
            or _is(error, "tasks.plan.workplan", "DocumentError"):
        return str(error), 1
    if isinstance(error, BrokenPipeError):
        return "输出在中途被关闭（例如接了 | head），其余内容没有显示；要看全部内容请不要截断输出。", EXIT_BROKEN_PIPE
    if _is(error, "telegram.error", "InvalidToken"):
        return ("Telegram 拒绝了机器人令牌（401 未授权）：请检查 TASKBOT_TOKEN 或配置文件 [telegram] token "
                "是否为 BotFather 给出的完整令牌。"), 1
    if _is(error, "telegram.error", "NetworkError", "TimedOut"):
        return _unreachable_telegram(error), 1
    if _is(error, "telegram.error", "TelegramError"):
        return f"Telegram 拒绝了请求（{error}）：请检查机器人的设置后重试。", 1
    if _is(error, "tasks.db", "DatabaseUrlError"):  # SQLAlchemy cannot read the URL, or has no such dialect
        from bot.config import malformed_database_url

        return malformed_database_url(safe_url(database_url)), 1
    if _is(error, "sqlalchemy.exc", "SQLAlchemyError") or _is(error, "psycopg", "Error") \
            or _is(error, "sqlite3", "Error"):
        return _database_failure(error, database_url), 1
    if isinstance(error, OSError):
        return _file_failure(error), 1
    if isinstance(error, ValueError):  # a malformed --now
        return f"参数值无效：{error}", 2
    return f"内部错误（{type(error).__name__}），命令没有完成；{DEBUG_HINT}，并把日志交给维护人员。", 1


def _unreachable_telegram(error: Exception) -> str:
    text = str(error)
    if "DNS" in text or "Name or service not known" in text or "name resolution" in text:
        reason = "域名无法解析"
    elif "certificate" in text.lower() or "SSL" in text:
        reason = "证书无法验证"
    elif "Proxy" in text:
        reason = "无法连接代理服务器"
    elif _is(error, "telegram.error", "TimedOut") or "Timeout" in text:
        reason = "连接超时"
    else:
        reason = "网络不通"
    return (f"无法连接 Telegram 服务器（{reason}）：请检查本机网络；内网须经代理时设置环境变量 HTTPS_PROXY"
            "（http:// 或 socks5://），经 TLS 检查网关时用配置文件 [telegram] ca_bundle 或环境变量 SSL_CERT_FILE "
            "指定网关的根证书。")


def _database_failure(error: Exception, database_url: str | None) -> str:
    text = str(error)
    where = safe_url(database_url)
    if missing := _MISSING_DATABASE.search(text):
        return (f"PostgreSQL 数据库“{missing.group(1)}”不存在：请先创建（createdb {missing.group(1)}），"
                f"或改正 TASKBOT_DATABASE_URL（现为 {where}）。")
    if "password authentication failed" in text or "no password supplied" in text:
        return f"PostgreSQL 拒绝了用户名或密码：请改正 TASKBOT_DATABASE_URL（现为 {where}）中的用户和密码。"
    if ("connection failed" in text or "Connection refused" in text or "failed to resolve host" in text
            or "timeout expired" in text):
        return (f"无法连接 PostgreSQL 服务器（{where}）：请确认数据库服务器已启动并允许本机连接，"
                "或改正 TASKBOT_DATABASE_URL。")
    if "unable to open database file" in text:
        return f"无法打开 SQLite 数据库文件（{where}）：请确认它所在的目录存在且可写。"
    if "database or disk is full" in text or "No space left on device" in text or (
            "disk I/O error" in text and disk_is_full(_sqlite_folder(database_url))):
        return f"磁盘已满，数据库（{where}）写不进去，这次的改动没有保存：请腾出磁盘空间后重试。"
    return f"数据库操作失败（{type(error).__name__}），没有做任何改动；{DEBUG_HINT}。"


def _sqlite_folder(database_url: str | None) -> Path | None:
    if not database_url or not database_url.startswith("sqlite:///"):
        return None
    return Path(database_url.removeprefix("sqlite:///")).parent


def disk_is_full(folder: Path | None) -> bool:
    """Whether the disk ``folder`` is on has (almost) no space left."""
    if folder is None:
        return False
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:  # the folder is not there: not a full disk
        return False


_FILE_REASONS = {errno.ENOENT: "不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
                 errno.EISDIR: "是一个目录，不是文件"}


def _file_failure(error: OSError) -> str:
    name = error.filename or "文件"
    if error.errno == errno.ENOSPC:
        return f"磁盘已满，“{name}”没有写完：请腾出磁盘空间后重试。"
    reason = _FILE_REASONS.get(error.errno or 0, "无法读写")
    return f"无法使用“{name}”（{reason}）：请检查路径和权限后重试。"


def safe_url(url: str | None) -> str:
    """The database URL as it may be shown: its password hidden."""
    return redact(url) if url else "未设置"


def report(error: BaseException, database_url: str | None, command: str | None, stderr: TextIO) -> int:
    """Write the one sentence for ``error`` (its traceback to the log, at debug level); the exit code."""
    log.debug("taskbot %s failed", command or "", exc_info=error)
    sentence, code = explain(error, database_url)
    with contextlib.suppress(OSError):  # stderr closed too: the exit code is all that is left to say it
        print(f"错误：{redact(sentence)}", file=stderr, flush=True)
    return code
