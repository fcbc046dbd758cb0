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
import sys
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from bot.config import ConfigError
from tasks.errors import ServiceError
from tasks.plan.workplan import DocumentError
from tasks.redaction import redact

LOG_LEVEL_ENV = "TASKBOT_LOG_LEVEL"
DEBUG_HINT = f"要看详细原因，请设置环境变量 {LOG_LEVEL_ENV}=DEBUG 后重新运行"
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command killed by SIGPIPE: 128 + 13

log = logging.getLogger("taskbot")
_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')


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
    """Log lines, tracebacks included, with their secrets hidden: a log is read and kept by people
    who must not learn the bot's token or a database password from it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(stream: TextIO | None = None) -> None:
    """One handler on the root logger, to stderr, at $TASKBOT_LOG_LEVEL (default WARNING).

    Called by every command; a second call (the tests run many commands in one process) changes
    nothing.
    """
    root = logging.getLogger()
    if any(isinstance(handler.formatter, RedactingFormatter) for handler in root.handlers):
        return
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_StartupFailureToDebug())
    root.addHandler(handler)
    level = os.environ.get(LOG_LEVEL_ENV, "WARNING").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else logging.WARNING)


def explain(error: Exception, database_url: str | None) -> tuple[str, int]:
    """What went wrong, in one Chinese sentence that says what to do, and the exit code."""
    if isinstance(error, (ConfigError, DocumentError, ServiceError)):
        return str(error), 1
    if isinstance(error, BrokenPipeError):
        return "输出在中途被关闭（例如接了 | head），其余内容没有显示；要看全部内容请不要截断输出。", EXIT_BROKEN_PIPE
    if isinstance(error, InvalidToken):
        return ("Telegram 拒绝了机器人令牌（401 未授权）：请检查 TASKBOT_TOKEN 或配置文件 [telegram] token "
                "是否为 BotFather 给出的完整令牌。"), 1
    if isinstance(error, (NetworkError, TimedOut)):
        return _unreachable_telegram(error), 1
    if isinstance(error, TelegramError):
        return f"Telegram 拒绝了请求（{error.message}）：请检查机器人的设置后重试。", 1
    if isinstance(error, (SQLAlchemyError, _psycopg_error())):
        return _database_failure(error, database_url), 1
    if isinstance(error, OSError):
        return _file_failure(error), 1
    if isinstance(error, ValueError):  # a malformed --now
        return f"参数值无效：{error}", 2
    return f"内部错误（{type(error).__name__}），命令没有完成；{DEBUG_HINT}，并把日志交给维护人员。", 1


def _psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def _unreachable_telegram(error: TelegramError) -> str:
    text = str(error)
    if "DNS" in text or "Name or service not known" in text:
        reason = "域名无法解析"
    elif "certificate" in text.lower() or "SSL" in text:
        reason = "证书无法验证"
    elif "Proxy" in text:
        reason = "无法连接代理服务器"
    elif isinstance(error, TimedOut) or "Timeout" in text:
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
    return f"数据库操作失败（{type(error).__name__}），没有做任何改动；{DEBUG_HINT}。"


_FILE_REASONS = {errno.ENOENT: "不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
                 errno.EISDIR: "是一个目录，不是文件", errno.ENOSPC: "磁盘已满"}


def _file_failure(error: OSError) -> str:
    name = error.filename or "文件"
    reason = _FILE_REASONS.get(error.errno or 0, "无法读写")
    return f"无法使用“{name}”（{reason}）：请检查路径和权限后重试。"


def safe_url(url: str | None) -> str:
    """The database URL as it may be shown: its password hidden."""
    if not url:
        return "未设置"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact(url)


def report(error: Exception, database_url: str | None, command: str | None, stderr: TextIO) -> int:
    """Write the one sentence for ``error`` (its traceback to the log, at debug level); the exit code."""
    log.debug("taskbot %s failed", command or "", exc_info=error)
    sentence, code = explain(error, database_url)
    with contextlib.suppress(OSError):  # stderr closed too: the exit code is all that is left to say it
        print(f"错误：{redact(sentence)}", file=stderr, flush=True)
    return code
