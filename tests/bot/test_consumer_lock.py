"""Exactly one `taskbot run` consumes the bot's updates per database: a second one is refused
and says who holds the lock, a standby takes over when the first dies, and a run that loses the
lock stops consuming."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg

from bot.consumer_lock import APPLICATION_NAME, ChannelLocks, consumer_lock
from bot.sandbox.server import Person, SandboxServer
from tests.processes import RunProcess, taskbot_run

NOT_BOUND = "还没有绑定身份"


def answer(server: SandboxServer, person: Person, text: str) -> str:
    before = len(server.messages(person.id))
    server.send_text(person, text)
    return server.wait_for(person.id, after=before, timeout=60)[0]["text"]


def test_two_locks_on_one_database_exclude_each_other(database_url: str) -> None:
    first, second = consumer_lock(database_url), consumer_lock(database_url)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.held() and not second.held()
        assert second.holder() != "另一个进程"  # the refused one can name the holder
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def test_each_platform_has_one_consumer_and_a_process_takes_all_its_platforms_or_none(database_url: str) -> None:
    """One process serves Telegram and DingTalk; another may serve WeCom, but not DingTalk, and one
    asking for WeCom and DingTalk together takes neither."""
    serving = ChannelLocks(database_url, ["telegram", "dingtalk"])
    wecom = ChannelLocks(database_url, ["wecom"])
    both = ChannelLocks(database_url, ["wecom", "dingtalk"])
    later_wecom = ChannelLocks(database_url, ["wecom"])
    dingtalk = ChannelLocks(database_url, ["dingtalk"])
    try:
        assert serving.acquire()
        assert not dingtalk.acquire()
        assert not consumer_lock(database_url).acquire()  # Telegram's own lock, as an earlier version takes it
        assert not both.acquire()
        assert both.holder() != "另一个进程"  # it names who holds DingTalk's
        assert later_wecom.acquire()  # the refused pair let WeCom's go again
        assert not wecom.acquire()
        serving.release()
        assert dingtalk.acquire()
    finally:
        for locks in (serving, wecom, both, later_wecom, dingtalk):
            locks.release()


def test_a_second_run_is_refused_and_a_standby_takes_over_when_the_first_dies(
        database_url: str, server: SandboxServer, tmp_path: Path) -> None:
    first = RunProcess(database_url, server, tmp_path, "first")
    standby = None
    try:
        first.wait_until(lambda: server.state.commands, "the first bot to start")  # it sets its menu once up
        stranger = server.person(601, "路人")
        assert NOT_BOUND in answer(server, stranger, "你好")

        second = subprocess.run(**taskbot_run(database_url, server), capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert "已有一个 taskbot run 在接收这个机器人的消息" in second.stderr
        if database_url.startswith("sqlite"):
            assert f"进程 {first.process.pid}" in second.stderr
        else:
            assert "PostgreSQL 连接" in second.stderr

        standby = RunProcess(database_url, server, tmp_path, "standby", "--standby")
        standby.wait_until(lambda: "本进程待命" in standby.output(), "the standby's notice")
        first.process.kill()  # a crash: no clean shutdown releases anything
        first.process.wait(30)
        assert NOT_BOUND in answer(server, stranger, "还有人吗")  # answered by the standby
        assert "已接管" in standby.output()
        assert standby.process.poll() is None
    finally:
        first.stop()
        if standby is not None:
            standby.stop()


def test_a_run_that_loses_its_lock_stops_consuming(postgres_database: str, server: SandboxServer,
                                                     tmp_path: Path) -> None:
    run = RunProcess(postgres_database, server, tmp_path, "run")
    try:
        run.wait_until(lambda: server.state.commands, "the bot to start")
        with psycopg.connect(postgres_database, autocommit=True) as admin:  # as if the connection had dropped
            ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE application_name = %s AND datname = current_database()",
                                  (APPLICATION_NAME,)).fetchall()
        assert ended == [(True,)]
        assert run.process.wait(60) == 1
        assert "失去了接收消息的锁" in run.output()
    finally:
        run.stop()
