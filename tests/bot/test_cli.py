"""The taskbot command as an administrator uses it."""

import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from bot.cli import main
from tasks.db import make_engine
from tasks.models import Assignment, Plan, Task, Unit


def run(database_url: str, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--database-url", database_url, *args], stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_dry_run_json_prints_what_would_be_stored_and_stores_nothing(database_url: str) -> None:
    code, output = run(database_url, "import", "--dry-run", "--json")
    assert code == 0
    document = json.loads(output)
    assert document["plan"]["year"] == 2021 and document["plan"]["title"] == "2021年门头沟区支援合作工作要点"
    kinds = [item["kind"] for item in document["items"]]
    assert (kinds.count("workpoint"), kinds.count("team"), kinds.count("project")) == (19, 10, 16)
    first_project = next(i for i in document["items"] if i["kind"] == "project")
    assert {k: first_project[k] for k in ("ref", "parent", "category", "units", "lead", "deadline", "start",
                                          "deadline_text", "recurrence")} == {
        "ref": "project:内蒙古武川县:武川县乡村振兴加工车间援建项目", "parent": None, "category": "产业合作类",
        "units": ["区科技和信息化局"], "lead": "区科技和信息化局", "deadline": "2021-09-30", "start": "2021-06-01",
        "deadline_text": "2021年6月-2021年9月", "recurrence": None}
    child = next(i for i in document["items"] if i["ref"] == "list:组织领导/研究部署#1")
    assert child["parent"] == "list:组织领导/研究部署" and child["recurrence"] == "half-yearly"
    assert {p["where"] for p in document["problems"]} >= {"第29行", "第91行"}
    assert all(set(p) >= {"where", "text", "message"} for p in document["problems"])
    with Session(make_engine(database_url)) as session:
        assert session.exec(select(func.count()).select_from(Plan)).one() == 0


def test_import_then_ask_what_is_overdue(database_url: str) -> None:
    code, output = run(database_url, "import")
    assert code == 0 and "工作要点 19 项" in output and "“相关镇”没有指明具体单位" in output
    code, output = run(database_url, "--now", "2021-09-05", "tasks", "--overdue")
    assert code == 0
    assert "神农架林区高山玫瑰、奇异莓试种项目" in output and "逾期97天" in output
    assert "武川县脱贫家庭学生资助项目" in output and "逾期36天" in output
    assert "共 5 项" in output
    # On its deadline day a task is not yet overdue; the next day it is. (--now also after the command.)
    assert run(database_url, "tasks", "--overdue", "--now", "2021-05-31")[1].endswith("没有符合条件的任务。\n")
    code, output = run(database_url, "tasks", "--overdue", "--now", "2021-06-01")
    assert "逾期1天" in output and "共 1 项" in output


def test_tasks_of_a_unit_by_alias_and_of_a_team(database_url: str) -> None:
    run(database_url, "import")
    code, output = run(database_url, "--now", "2021-07-01", "tasks", "--unit", "区科信局")
    assert code == 0 and "武川县乡村振兴加工车间援建项目" in output
    assert "武川县消费扶贫展销服务中心运营项目" not in output  # 区商务局's project
    code, output = run(database_url, "--now", "2021-07-01", "tasks", "--team", "消费帮扶")
    assert code == 0 and "武川县消费扶贫展销服务中心运营项目" in output
    code, output = run(database_url, "tasks", "--due-before", "2021-06-30", "--now", "2021-06-01")
    assert "对国家考核、北京市扶贫协作和对口支援成效考核" in output and "共 2 项" in output


def test_unknown_unit_gets_a_chinese_message_and_exit_1(database_url: str, capsys: pytest.CaptureFixture) -> None:
    run(database_url, "import")
    code, _ = run(database_url, "tasks", "--unit", "区火星局")
    assert code == 1
    assert "未找到单位“区火星局”" in capsys.readouterr().err


def test_units_lists_the_directory_and_what_the_office_must_choose(database_url: str) -> None:
    run(database_url, "import")
    code, output = run(database_url, "units")
    assert code == 0
    assert "区科技和信息化局" in output and "区科信局" in output
    assert "各镇街" in output and "13" in output
    assert "领导小组相关成员单位" in output and "第29行" in output


def test_deadline_phrases_from_stdin_as_json_lines(database_url: str) -> None:
    code, output = run(database_url, "deadline", "-", "--year", "2021", "--json", stdin="10月底前\n按选派和培训计划完成\n每月5日前\n")
    assert code == 0
    lines = [json.loads(line) for line in output.splitlines()]
    assert [(r["text"], r["deadline"], r["recurrence"]) for r in lines] == [
        ("10月底前", "2021-10-31", None), ("按选派和培训计划完成", None, None), ("每月5日前", None, "monthly")]
    assert all(set(r) >= {"text", "deadline", "start", "recurrence", "note"} for r in lines)


def test_unreadable_deadline_phrase_exits_nonzero(database_url: str) -> None:
    code, output = run(database_url, "deadline", "尽快", "--year", "2021")
    assert code == 1 and "无法识别" in output


def test_deadline_phrases_relative_to_a_reference_day_and_in_chat(database_url: str) -> None:
    code, output = run(database_url, "deadline", "限期30天", "1月底", "--reference", "2021-12-10", "--json")
    assert code == 0
    # A document issued on 10 December 2021: its 1月底 is its plan year's.
    assert [json.loads(line)["deadline"] for line in output.splitlines()] == ["2022-01-09", "2021-01-31"]
    code, output = run(database_url, "deadline", "1月底", "下月底", "--reference", "2021-12-10", "--chat", "--json")
    assert code == 0
    # Written in chat on 10 December 2021: next January for both.
    assert [json.loads(line)["deadline"] for line in output.splitlines()] == ["2022-01-31", "2022-01-31"]
    code, output = run(database_url, "deadline", "下月底", "--year", "2021", "--json")
    assert code == 1 and json.loads(output)["understood"] is False


def test_missing_file_and_bad_arguments_are_explained_in_chinese(database_url: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    code, _ = run(database_url, "import", str(tmp_path / "nope.txt"))
    assert code == 1 and "找不到文件" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run(database_url, "tasks", "--due-before", "十月底")
    assert exit_info.value.code == 2 and "日期格式应为 YYYY-MM-DD" in capsys.readouterr().err
    code, _ = run(database_url, "--now", "昨天", "tasks")
    assert code == 2 and "参数值无效" in capsys.readouterr().err


def test_reimport_reports_no_change(database_url: str) -> None:
    run(database_url, "import")
    code, output = run(database_url, "import")
    assert code == 0 and "没有任何改动" in output
    with Session(make_engine(database_url)) as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == 77


def test_digest_print_shows_this_weeks_digest_and_writes_its_chart_and_ledger(database_url: str, tmp_path) -> None:
    from openpyxl import load_workbook

    run(database_url, "import")
    code, output = run(database_url, "--now", "2021-11-02T09:00", "digest", "--print", "--out", str(tmp_path))
    assert code == 0
    assert "📊 周报 2021-11-02\n2021年门头沟区支援合作工作要点" in output  # named after the plan, not a topic
    with Session(make_engine(database_url)) as session:  # fell due in the week before, and still open
        newly = session.exec(select(func.count()).select_from(Assignment).where(
            col(Assignment.status).in_(("open", "reported")), col(Assignment.due_on) >= date(2021, 10, 26),
            col(Assignment.due_on) < date(2021, 11, 2))).one()
    assert "最差的 5 个专班" in output and "逾期最久的事项" in output and f"逾期 +{newly}" in output
    assert "30天未报送进展：" in output
    chart, ledger = tmp_path / "周报-2021-11-02.png", tmp_path / "台账-2021-11-02.xlsx"
    assert f"已写入：{chart}" in output and f"已写入：{ledger}" in output
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "按单位统计" in load_workbook(ledger, read_only=True).sheetnames


def test_outbox_lists_pending_sent_and_dead(database_url: str) -> None:
    from datetime import UTC, datetime

    from tasks.clock import FixedClock
    from tasks.db import transaction
    from tasks.models import Member, Role
    from tasks.notifications import NotificationKind, Urge
    from tasks.outbox import enqueue, mark_dead

    run(database_url, "import")
    clock = FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC))
    with transaction(make_engine(database_url)) as session:
        member = Member(user_id=str(5), address=str(5), name="m", role=Role.OFFICE, created_at=clock.now())
        session.add(member)
        session.flush()
        payload = Urge(urger="督办办", unit="区商务局", tasks=[])
        enqueue(session, clock, member, NotificationKind.URGE, payload, "a")
        dead = enqueue(session, clock, member, NotificationKind.URGE, payload, "b")
        session.flush()
        mark_dead(session, clock, dead.id, "BadRequest: chat not found")
    code, output = run(database_url, "outbox")
    assert code == 0 and "待发 1 条，已发 0 条，失败 1 条" in output and "chat not found" in output
    code, output = run(database_url, "outbox", "--status", "dead")
    # Each row's kind as the office reads it; the stored code is for --json alone.
    assert "chat not found" in output and output.count("催办") == 1 and "urge" not in output


def test_backup_and_restore_round_trip(database_url: str, tmp_path: Path) -> None:
    from tests.dbstate import snapshot

    run(database_url, "import")
    engine = make_engine(database_url)
    saved = snapshot(engine)
    path = tmp_path / "taskbot.backup"
    assert run(database_url, "backup", str(path))[0] == 0 and path.stat().st_size > 0
    edited = tmp_path / "edited.txt"
    text = (Path(__file__).parents[2] / "seed" / "mentougou_2021.txt").read_text(encoding="utf-8")
    edited.write_text(text.replace("6月底前", "7月底前"), encoding="utf-8")
    run(database_url, "import", str(edited))
    assert snapshot(engine) != saved
    assert run(database_url, "restore", str(path))[0] == 1  # refuses without --yes
    assert run(database_url, "restore", str(path), "--yes")[0] == 0
    assert snapshot(engine) == saved
    engine.dispose()


def test_restore_is_refused_while_a_bot_consumes_updates(database_url: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    from bot.consumer_lock import consumer_lock
    from tests.dbstate import snapshot

    run(database_url, "import")
    path = tmp_path / "taskbot.backup"
    assert run(database_url, "backup", str(path))[0] == 0
    engine = make_engine(database_url)
    running_bot = consumer_lock(database_url)  # what a running `taskbot run` holds
    assert running_bot.acquire()
    try:
        run(database_url, "invite", "区商务局")  # a change since the backup, which a restore would undo
        before = snapshot(engine)
        capsys.readouterr()
        assert run(database_url, "restore", str(path), "--yes")[0] == 1
        assert "机器人正在运行" in capsys.readouterr().err
        assert snapshot(engine) == before
    finally:
        running_bot.release()
    assert run(database_url, "restore", str(path), "--yes")[0] == 0  # once the bot has stopped
    assert snapshot(engine) != before
    engine.dispose()


def test_outbox_never_shows_a_token_an_old_row_kept(database_url: str) -> None:
    """A row written before errors were redacted (or restored from such a backup) still names the
    token in last_error; the listing does not show it."""
    from datetime import UTC, datetime

    from tasks.db import transaction
    from tasks.models import Outbox

    token = "7012345678:AAHq3vB1nS0yZ-c8Lw_4kPmT9dXeR2fUoJg"
    run(database_url, "init")
    at = datetime(2021, 9, 1, 1, tzinfo=UTC)
    with transaction(make_engine(database_url)) as session:
        session.add(Outbox(address=str(5), kind="urge", payload={}, dedupe_key="old", status="dead", attempts=1,
                           last_error=f"{token} was rejected by the server",
                           next_attempt_at=at, created_at=at))
    code, output = run(database_url, "outbox", "--status", "dead")
    assert code == 0 and "was rejected" in output and token.split(":")[1][:10] not in output


def test_tasks_of_a_group_are_its_members_tasks(database_url: str) -> None:
    run(database_url, "import")
    code, output = run(database_url, "--now", "2021-11-02", "tasks", "--unit", "各镇街", "--overdue")
    assert code == 0 and "责任单位：各镇街（13个单位）" in output
    # Counted without the group: the tasks any town or street has overdue that day.
    with Session(make_engine(database_url)) as session:
        late = session.exec(select(func.count(func.distinct(Assignment.task_id))).join(Unit).where(
            col(Unit.kind).in_(("town", "street")), col(Assignment.status).in_(("open", "reported")),
            col(Assignment.due_on) < date(2021, 11, 2))).one()
    assert late > 0 and f"共 {late} 项" in output


PROBE = """
import sys
from bot.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("MODULES", *sorted(sys.modules))
"""


def modules_loaded_by(*args: str) -> tuple[str, set[str]]:
    """What ``taskbot ARGS`` printed, and every module it had imported by the end, in a process of its own."""
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKBOT_")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=environment,
                          check=True, timeout=60)
    output, _, modules = done.stdout.rpartition("MODULES ")
    return output, set(modules.split())


def loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in modules)


def test_help_loads_neither_telegram_nor_the_sandbox_nor_the_database_layer() -> None:
    output, modules = modules_loaded_by("--help")
    assert "deadline" in output and "worker" in output  # every command is listed
    assert not [p for p in ("telegram", "bot.sandbox", "sqlalchemy", "sqlmodel", "apscheduler") if loaded(modules, p)]


def test_deadline_loads_neither_telegram_nor_the_sandbox() -> None:
    output, modules = modules_loaded_by("deadline", "10月底前", "--year", "2021")
    assert "2021-10-31" in output
    assert not [p for p in ("telegram", "bot.sandbox", "sqlalchemy", "apscheduler") if loaded(modules, p)]


def test_a_mistake_in_the_config_is_said_before_the_command_loads_the_database_layer(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Asia/Beijing"\n', encoding="utf-8")
    _output, modules = modules_loaded_by("--config", str(config), "outbox")
    assert loaded(modules, "bot.config")
    assert not [p for p in ("telegram", "sqlmodel", "bot.cli.office", "bot.render") if loaded(modules, p)]


def test_every_command_has_a_function_that_runs_it() -> None:
    from bot.cli import COMMANDS, build_parser, command_function

    assert len({command.name for command in COMMANDS}) == len(COMMANDS)
    for command in COMMANDS:
        assert callable(command_function(command.name)), command.name
        build_parser().parse_args([command.name, *(["x"] if command.name in ("backup", "restore", "deadline", "template",
                                                                                      "export") else [])])


def test_the_example_config_is_valid_and_says_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import CA_BUNDLE_ENV, DATABASE_URL_ENV, TOKEN_ENV, WEBHOOK_SECRET_ENV, Settings, load_settings

    for variable in (CA_BUNDLE_ENV, DATABASE_URL_ENV, TOKEN_ENV, WEBHOOK_SECRET_ENV):
        monkeypatch.delenv(variable, raising=False)

    example = load_settings(Path(__file__).parents[2] / "config.example.toml")
    assert example.policy == Settings().policy and example.delivery == Settings().delivery
    assert example.telegram == Settings().telegram and example.timezone == Settings().timezone


def test_log_level_debug_shows_the_traceback_and_the_default_one_line(capsys: pytest.CaptureFixture,
                                                                      tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'taskbot.db'}"
    assert main(["--database-url", url, "tasks"], stdout=io.StringIO()) == 1
    quiet = capsys.readouterr().err
    assert "Traceback" not in quiet and len(quiet.splitlines()) == 1
    assert main(["--database-url", url, "--log-level", "debug", "tasks"], stdout=io.StringIO()) == 1
    loud = capsys.readouterr().err
    assert "Traceback" in loud and loud.splitlines()[-1] == quiet.strip()
    main(["--log-level", "warning", "deadline", "10月底前", "--year", "2021"], stdout=io.StringIO())  # as it was


def test_a_logged_failure_is_one_line_below_debug() -> None:
    import logging

    from bot.failures import LOG_FORMAT, RedactingFormatter

    try:
        raise ConnectionError("server closed the connection\nunexpectedly")
    except ConnectionError:
        import sys

        record = logging.LogRecord("bot.worker", logging.ERROR, __file__, 1, "outbox pass failed", None, sys.exc_info())
    line = RedactingFormatter(LOG_FORMAT, tracebacks=False).format(record)
    assert len(line.splitlines()) == 1 and line.endswith("outbox pass failed (ConnectionError: server closed the "
                                                         "connection unexpectedly)")
    assert line[:4].isdigit()  # it starts with its time
