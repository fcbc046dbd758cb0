"""Every way a `taskbot` command fails ends in one Chinese sentence on stderr that says what to do,
a non-zero exit code, and no traceback (that goes to the log, at debug level only). Each test runs
the installed `taskbot` command in a process of its own, as an administrator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.server import SandboxServer
from tests.databases import POSTGRES_URL

TASKBOT = str(Path(sys.executable).with_name("taskbot"))
# Shaped as BotFather issues them: a leak cannot hide behind an odd shape.
TOKEN = "7012345678:AAHq3vB1nS0yZ-c8Lw_4kPmT9dXeR2fUoJg"


def taskbot(*args: str, env: dict[str, str] | None = None, stdout: int | None = subprocess.PIPE,
            cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TASKBOT_") and key.lower() not in ("https_proxy", "http_proxy", "all_proxy")}
    return subprocess.run([TASKBOT, *args], env={**environment, **(env or {})}, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=cwd, timeout=timeout, check=False)


def assert_one_chinese_sentence(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exactly one line on stderr, in Chinese, naming ``needles``, and a failing exit code."""
    err = done.stderr
    assert done.returncode != 0, err
    assert "Traceback" not in err and "Unclosed" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("错误：") and "请" in lines[0], err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    server = SandboxServer(TOKEN).start_in_thread()
    yield server
    server.stop()


def test_run_with_no_route_to_telegram(database_url: str) -> None:
    """A government network: the token is set, Telegram cannot be reached."""
    done = taskbot("--database-url", database_url, "run", "--base-url", f"http://127.0.0.1:{closed_port()}/bot",
                   env={"TASKBOT_TOKEN": TOKEN})
    assert_one_chinese_sentence(done, "无法连接 Telegram", "HTTPS_PROXY")


def test_run_when_the_name_of_telegram_s_server_does_not_resolve(database_url: str) -> None:
    """DNS is down or the intranet resolves no outside name (.invalid never resolves)."""
    done = taskbot("--database-url", database_url, "run", "--base-url", "http://api.telegram.invalid/bot",
                   env={"TASKBOT_TOKEN": TOKEN})
    assert_one_chinese_sentence(done, "无法连接 Telegram", "域名无法解析")


def test_run_with_a_rejected_token_does_not_print_it(database_url: str, server: SandboxServer) -> None:
    wrong = "7012345678:AAHwrongwrongwrongwrongwrongwrong12"
    done = taskbot("--database-url", database_url, "run", "--base-url", server.base_url,
                   env={"TASKBOT_TOKEN": wrong})
    assert_one_chinese_sentence(done, "令牌", "TASKBOT_TOKEN")
    assert wrong.split(":")[1] not in done.stderr + done.stdout
    # The debug log has the traceback, and still not the token.
    debug = taskbot("--database-url", database_url, "run", "--base-url", server.base_url,
                    env={"TASKBOT_TOKEN": wrong, "TASKBOT_LOG_LEVEL": "DEBUG"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert wrong.split(":")[1] not in debug.stderr + debug.stdout


def test_a_worker_with_no_platform_to_send_on_names_both_ways(tmp_path: Path) -> None:
    """No Telegram token and no domestic platform in the file: nothing for a worker to deliver."""
    done = taskbot("--database-url", f"sqlite:///{tmp_path / 'taskbot.db'}", "worker", "--until-idle", cwd=tmp_path)
    assert_one_chinese_sentence(done, "TASKBOT_TOKEN", "[channels.dingtalk]")


def test_a_postgresql_database_that_does_not_exist() -> None:
    base, _, _ = POSTGRES_URL.rpartition("/")
    done = taskbot("--database-url", f"{base}/taskbot_no_such_database", "tasks")
    assert_one_chinese_sentence(done, "taskbot_no_such_database", "不存在", "createdb")


@pytest.mark.parametrize("url", ["taskbot.db", "mysql://root@localhost/taskbot",
                                 "postgresql://taskbot:s3cret-pw@127.0.0.1:port/taskbot"])
def test_a_database_url_that_is_not_one(url: str, tmp_path: Path) -> None:
    """A file name where a URL belongs, a database taskbot does not drive, a port that is no number."""
    done = taskbot("--database-url", url, "tasks", cwd=tmp_path)
    line = assert_one_chinese_sentence(done, "无法识别", "sqlite:///", "--database-url")
    assert "s3cret-pw" not in line


def test_a_postgresql_server_that_does_not_answer() -> None:
    done = taskbot("--database-url", f"postgresql://taskbot:s3cret-pw@127.0.0.1:{closed_port()}/taskbot", "tasks")
    line = assert_one_chinese_sentence(done, "无法连接 PostgreSQL", "TASKBOT_DATABASE_URL")
    assert "s3cret-pw" not in line


def test_a_sqlite_file_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    done = taskbot("--database-url", f"sqlite:///{tmp_path / 'missing' / 'taskbot.db'}", "tasks")
    assert_one_chinese_sentence(done, "SQLite", "目录")


def test_output_closed_by_its_reader(database_url: str) -> None:
    """`taskbot tasks | head -1`: the reader goes away; here it has gone before the first line, so
    the failure does not depend on timing."""
    assert taskbot("--database-url", database_url, "import").returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = taskbot("--database-url", database_url, "tasks", stdout=write_end)
    finally:
        os.close(write_end)
    assert_one_chinese_sentence(done, "head")


@pytest.mark.parametrize(("config", "needle"), [
    (b"database_url = [\n", "格式错误"),
    (b"\xff\xfe\x00t\x00i\x00m\x00e", "UTF-8"),
    (b'timezone = "Asia/Beijing"\n', "时区"),
    (b'[telegram]\nport = "8443a"\n', "port"),
    (b'[directory]\nfile = "no-such-units.toml"\n', "no-such-units.toml"),
    (b'[telegram]\nca_bundle = "gateway-root.pem"\n', "ca_bundle"),
    (b"[policy]\nremind_dayz = [3, 1]\n", "[policy] remind_dayz 不认识"),
    (b'[policy]\nsend_at = "22:00"\n', "send_at 必须早于 quiet_start"),
    (b"[delivery]\nin_flight = 0\n", "[delivery] in_flight"),
    (b'[telegram]\nwebhook_secret = "has spaces"\n', "webhook_secret"),
])
def test_a_bad_config_file(tmp_path: Path, config: bytes, needle: str) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(config)
    done = taskbot("--config", str(path), "--database-url", f"sqlite:///{tmp_path / 'taskbot.db'}", "tasks",
                   cwd=tmp_path)
    assert_one_chinese_sentence(done, needle)


def test_a_config_path_that_is_not_a_readable_file(tmp_path: Path) -> None:
    done = taskbot("--config", str(tmp_path), "tasks", cwd=tmp_path)
    assert_one_chinese_sentence(done, str(tmp_path))


def test_an_xlsx_named_xls_imports_and_a_file_that_is_no_workbook_is_refused(database_url: str,
                                                                             tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["2021年测试任务清单"])
    workbook.active.append(["任务内容", "责任部门", "完成时限"])
    workbook.active.append(["落实第一项", "区商务局", "10月底前"])
    workbook.save(tmp_path / "任务清单.xls")  # .xlsx content under an .xls name, as offices send it
    done = taskbot("--database-url", database_url, "import", str(tmp_path / "任务清单.xls"))
    assert done.returncode == 0 and "任务 1 项" in done.stdout, done.stderr
    (tmp_path / "纪要.xls").write_text("会议纪要\n", encoding="utf-8")
    done = taskbot("--database-url", database_url, "import", str(tmp_path / "纪要.xls"))
    assert_one_chinese_sentence(done, "不是 Excel 工作簿", ".xlsx")


def test_restore_into_a_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    base, _, _ = POSTGRES_URL.rpartition("/")
    backup = tmp_path / "taskbot.backup"
    backup.write_bytes(b"PGDMP")
    done = taskbot("--database-url", f"{base}/taskbot_no_such_database", "restore", str(backup), "--yes")
    assert_one_chinese_sentence(done, "taskbot_no_such_database", "createdb")


def on_a_full_disk(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``command`` with ``folder`` a filesystem of its own that is full: a small tmpfs, mounted in a
    private mount namespace (``unshare``: no privilege needed, nothing mounted for anyone else) and
    filled up before the command runs."""
    script = ('mount -t tmpfs -o size=256k tmpfs "$0" && (dd if=/dev/zero of="$0/filler" bs=4k 2>/dev/null; true) '
              '&& exec "$@"')
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKBOT_")}
    return subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script, str(folder), *command],
                          env=environment, capture_output=True, text=True, timeout=120, check=False)


def test_a_full_disk_under_the_sqlite_file(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    done = on_a_full_disk(full, TASKBOT, "--database-url", f"sqlite:///{full / 'taskbot.db'}", "init")
    assert_one_chinese_sentence(done, "磁盘已满", "taskbot.db")


def test_a_backup_onto_a_full_disk_leaves_no_half_backup(database_url: str, tmp_path: Path) -> None:
    assert taskbot("--database-url", database_url, "init").returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    done = on_a_full_disk(full, "sh", "-c", f'{TASKBOT} --database-url "$0" backup "$1"; code=$?; ls "$1" 2>&1; '
                          'exit $code', database_url, str(full / "taskbot.backup"))
    # The listing after the command says whether a file was left behind; stderr is the command's alone.
    assert_one_chinese_sentence(done, "磁盘已满", "备份没有写完")
    assert "No such file" in done.stdout, done.stdout


def test_output_piped_into_head(database_url: str) -> None:
    """`taskbot outbox | head -1`: the reader takes a line and goes; the rest of a long listing
    meets a closed pipe."""
    from datetime import UTC, datetime

    from tasks.db import make_engine, transaction
    from tasks.models import Outbox

    assert taskbot("--database-url", database_url, "init").returncode == 0
    at = datetime(2021, 9, 1, 1, tzinfo=UTC)
    engine = make_engine(database_url)
    with transaction(engine) as session:
        session.add_all(Outbox(address=str(n), kind="urge", payload={}, dedupe_key=f"pipe-{n}", status="pending",
                               attempts=0, next_attempt_at=at, created_at=at) for n in range(3000))
    engine.dispose()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKBOT_")}
    done = subprocess.run(["bash", "-c", 'set -o pipefail; "$0" --database-url "$1" outbox --limit 3000 | head -1',
                           TASKBOT, database_url], env=environment, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.stdout.startswith("待发 3000 条"), done.stdout
    assert_one_chinese_sentence(done, "head")


def test_stopped_with_ctrl_c(tmp_path: Path) -> None:
    """Ctrl-C while a command waits (here for phrases on stdin): a sentence, not a KeyboardInterrupt traceback."""
    import platform
    import signal
    import time

    read = {"x86_64": "0", "aarch64": "63"}[platform.machine()]  # the read system call's number

    environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKBOT_")}
    # As from a terminal: a test run started in the background (``… &``) ignores SIGINT, and its
    # children would inherit that and never see the Ctrl-C.
    process = subprocess.Popen([TASKBOT, "deadline", "-", "--year", "2021"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=tmp_path,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        syscall = Path(f"/proc/{process.pid}/syscall")
        deadline = time.monotonic() + 60
        while not syscall.read_text().startswith(f"{read} 0x0 "):  # read(0, …): it is waiting for stdin
            assert time.monotonic() < deadline, "taskbot never read its stdin"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        # stdin stays open until it exits: closing it now (as communicate() does) can let a busy
        # machine's read see the end of input before the signal, and the command finish normally.
        process.wait(timeout=60)
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        process.kill()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert_one_chinese_sentence(done, "Ctrl-C")
    assert done.returncode == 130


def test_run_when_the_web_desk_s_port_is_taken(database_url: str, server: SandboxServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = taskbot("--database-url", database_url, "run", "--base-url", server.base_url, "--web-port", str(port),
                       env={"TASKBOT_TOKEN": server.token})
    assert_one_chinese_sentence(done, "网页版", str(port), "--no-web")
