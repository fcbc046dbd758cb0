"""The ``taskbot`` command: set up the database, import the year's document, look at it.

    taskbot init
    taskbot import [PATH] [--year 2021] [--dry-run] [--json]
    taskbot tasks [--unit 区商务局] [--team 消费帮扶] [--overdue] [--due-before 2021-10-31]
    taskbot units
    taskbot deadline 10月底前 上半年 … --year 2021 [--json]     (or - to read lines from stdin)
    taskbot invite [UNIT] [--role member|office|leader|admin]
    taskbot digest --print   /   taskbot outbox [--status dead]
    taskbot run [--webhook URL --listen HOST --port N] [--standby]
                         (Telegram with $TASKBOT_TOKEN; without a token, the local sandbox)
    taskbot sandbox      (local Bot API server + the bot + ready-made personas, in the terminal)

Global options: --config FILE, --database-url URL, --now 2021-09-01 (the clock, for
trying a date without waiting for it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import NoReturn, TextIO

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, col, func, select
from tabulate import tabulate

from bot.app import Webhook, build_application, lost_consumer_lock, run_application
from bot.config import Settings, load_settings
from bot.consumer_lock import CHECK_SECONDS, ConsumerLock, consumer_lock
from bot.context import BotContext
from bot.failures import configure_logging, report, safe_url
from bot.render import notification
from bot.sandbox.console import run_console
from bot.sandbox.html_check import visible_text
from bot.sandbox.runtime import SandboxRuntime
from bot.sandbox.webhook import SECRET_PATTERN
from bot.worker import run_worker
from seed import MENTOUGOU_2021, seed_path
from tasks.backup import backup, restore
from tasks.clock import Clock, FixedClock, ShiftedClock, SystemClock, local_today, parse_moment
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine, normalise_url, transaction
from tasks.errors import ServiceError
from tasks.events import Actor, jsonable
from tasks.models import Outbox, Role
from tasks.plan.deadlines import read_deadline
from tasks.plan.directory import load_seed_directory
from tasks.plan.importer import import_file, prepare_database, preview_file
from tasks.plan.parsed import ParsedPlan
from tasks.plan.store import ImportSummary
from tasks.redaction import redact, register_secret
from tasks.work.lookup import (
    NotFoundError,
    find_team,
    find_unit,
    latest_plan,
    list_tasks,
    unit_and_members,
    unit_overview,
    unresolved_names,
)
from tasks.work.members import ROLE_NAMES, create_invite, parse_role

SANDBOX_DATABASE_URL = "sqlite:///taskbot-sandbox.db"
SANDBOX_START = "2021-09-01T09:00"
KIND_NAMES = {"workpoint": "工作要点", "task": "任务", "project": "项目", "team": "工作专班"}
OUTBOX_STATUS_NAMES = {"pending": "待发", "sent": "已发", "dead": "失败"}
UNIT_KIND_NAMES = {"office": "办公室", "department": "部门", "town": "镇", "street": "街道",
                   "frontline": "前方", "group": "单位组", "external": "外地单位", "leadership": "领导"}
TEXT_WIDTH = 36


class ChineseArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"参数错误：{message}\n请运行 taskbot --help 查看用法。\n")


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--config", type=Path, default=default, help="配置文件（默认 ./config.toml）")
    parser.add_argument("--database-url", default=default, help="数据库地址，覆盖配置文件")
    parser.add_argument("--now", default=default, help="把当前时间设为指定时刻，如 2021-09-01 或 2021-09-01T09:00")


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="taskbot", description="工作要点任务清单督办机器人")
    _global_options(parser, None)
    # The same options after the command name too: `taskbot tasks --now 2021-09-01`.
    after_command = ChineseArgumentParser(add_help=False)
    _global_options(after_command, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="命令",
                                     parser_class=ChineseArgumentParser)

    commands.add_parser("init", help="建表并载入单位名录", parents=[after_command])

    importing = commands.add_parser("import", help="导入工作要点文档（.txt/.md/.csv/.xlsx/.xls）",
                                    parents=[after_command])
    importing.add_argument("path", nargs="?", type=Path, help="文档路径（默认：内置的2021年门头沟区文档）")
    importing.add_argument("--year", type=int, help="计划年份（默认从文档标题读取）")
    importing.add_argument("--title", help="计划标题（默认从文档读取）")
    importing.add_argument("--dry-run", action="store_true", help="只显示将要导入的内容，不写数据库")
    importing.add_argument("--json", action="store_true", help="以 JSON 输出")

    listing = commands.add_parser("tasks", help="列出任务", parents=[after_command])
    listing.add_argument("--unit", help="只看某单位的任务（可用简称，如 区科信局）")
    listing.add_argument("--team", help="只看某工作专班牵头单位的任务（名称或序号）")
    listing.add_argument("--overdue", action="store_true", help="只看已逾期未完成的任务")
    listing.add_argument("--due-before", type=_iso_date, help="只看该日期（含）前到期未完成的任务")
    listing.add_argument("--year", type=int, help="计划年份（默认最近导入的计划）")

    commands.add_parser("units", help="单位名录、别名、单位组和未能识别的名称", parents=[after_command]).add_argument(
        "--year", type=int, help="计划年份（默认最近导入的计划）")

    inviting = commands.add_parser("invite", help="生成一次性邀请码（管理员）", parents=[after_command])
    inviting.add_argument("unit", nargs="?", help="单位名称（邀请责任单位成员时必填）")
    inviting.add_argument("--role", default="member", help="角色：member 成员 / office 办公室 / leader 领导 / admin")

    digest = commands.add_parser("digest", help="本周周报（发给分管领导和督办办公室的内容）", parents=[after_command])
    digest.add_argument("--print", action="store_true", dest="print_only", help="在终端显示，不发送")

    outbox = commands.add_parser("outbox", help="通知发送队列：待发、已发、失败", parents=[after_command])
    outbox.add_argument("--status", choices=["pending", "sent", "dead"], help="只看某种状态")
    outbox.add_argument("--limit", type=int, default=50, help="最多显示多少条（默认50）")

    running = commands.add_parser("run", help="启动机器人：有 TASKBOT_TOKEN 时连接 Telegram，否则启动本地沙盒",
                                  parents=[after_command])
    running.add_argument("--webhook", metavar="URL",
                         help="用 webhook 接收消息（Telegram 推送到此 HTTPS 地址），不用长轮询")
    running.add_argument("--listen", help="webhook 本地监听地址（默认 127.0.0.1，由反向代理转发）")
    running.add_argument("--port", type=int, help="webhook 本地监听端口（默认 8443）")
    running.add_argument("--base-url", help="Bot API 地址（默认 Telegram；自建 Bot API 服务器或本地沙盒如 "
                                            "http://127.0.0.1:8081/bot）")
    running.add_argument("--standby", action="store_true",
                         help="已有进程在接收消息时不退出，待命，等它停止后接管（热备）")
    backing_up = commands.add_parser("backup", help="备份数据库（运行中也可）", parents=[after_command])
    backing_up.add_argument("path", type=Path, help="备份文件")
    restoring = commands.add_parser("restore", help="用备份替换数据库内容（先停止机器人）", parents=[after_command])
    restoring.add_argument("path", type=Path, help="备份文件")
    restoring.add_argument("--yes", action="store_true", help="确认替换")

    worker = commands.add_parser("worker", help="只运行计划和发送（可多进程，不接收消息）", parents=[after_command])
    worker.add_argument("--base-url", help="Bot API 地址（默认 Telegram；本地沙盒如 http://127.0.0.1:8081/bot）")
    worker.add_argument("--until-idle", action="store_true", help="队列发完即退出（用于测试和补发）")
    commands.add_parser("sandbox", help="本地沙盒：模拟 Bot API 服务器、机器人和内置身份，在终端对话",
                        parents=[after_command])

    deadline = commands.add_parser("deadline", help="查看完成时限的识别结果", parents=[after_command])
    deadline.add_argument("phrases", nargs="+", help="时限表述；用 - 从标准输入逐行读取")
    deadline.add_argument("--year", type=int, help="计划年份（默认今年）")
    deadline.add_argument("--json", action="store_true", help="每行输出一个 JSON 对象")
    return parser


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD，收到“{text}”") from error


class Cli:
    def __init__(self, args: argparse.Namespace, settings: Settings, clock: Clock,
                 stdin: TextIO, stdout: TextIO, wall: Clock | None = None) -> None:
        self.args = args
        self.settings = settings
        self.clock = clock
        self.wall = wall  # the real time the sandbox's clock runs with (a test's own clock); None: the system's
        self.stdin = stdin
        self.out = stdout
        self.actor = Actor("admin", "cli")
        self.seed_directory = load_seed_directory(settings.unit_directory)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Made on first use, with the schema and the seed directory in place."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            prepare_database(self._engine, self.seed_directory, self.clock, self.actor)
        return self._engine

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)  # a standby's notice must reach a log at once

    # --- commands ---

    def init(self) -> int:
        engine = make_engine(self.settings.database_url)
        added = prepare_database(engine, self.seed_directory, self.clock, self.actor)
        self.print(f"数据库已就绪：{safe_url(self.settings.database_url)}")
        self.print(f"单位名录：新增 {added} 项（共 {len(self.seed_directory.kinds)} 个单位和单位组）")
        return 0

    def import_(self) -> int:
        path = self.args.path or seed_path(MENTOUGOU_2021)
        district = self.seed_directory.district
        if self.args.dry_run:
            with Session(self.engine) as session:
                parsed = preview_file(session, path, district=district, year=self.args.year, title=self.args.title)
            if self.args.json:
                self.print(json.dumps(parsed.as_dict(), ensure_ascii=False, indent=2))
            else:
                self._print_parsed(parsed)
            return 0
        parsed, summary = import_file(self.engine, path, self.clock, self.actor, district=district,
                                      year=self.args.year, title=self.args.title)
        if self.args.json:
            self.print(json.dumps({**parsed.as_dict(), "summary": asdict(summary)}, ensure_ascii=False, indent=2))
        else:
            self._print_summary(parsed, summary)
        return 0

    def tasks(self) -> int:
        today = local_today(self.clock, self.settings.timezone)
        with Session(self.engine) as session:
            plan = latest_plan(session, self.args.year)
            district = self.seed_directory.district
            unit = find_unit(session, self.args.unit, district) if self.args.unit else None
            team = find_team(session, plan, self.args.team) if self.args.team else None
            rows = list_tasks(session, plan, unit=unit, team=team,
                              overdue_on=today if self.args.overdue else None, due_before=self.args.due_before)
            # A group's list is its members' tasks: say so, so the count is read as theirs.
            group = len(unit_and_members(session, unit)) - 1 if unit is not None and unit.kind == "group" else 0
        table = []
        for row in rows:
            task = row.task
            late = (today - task.deadline).days if task.deadline and task.deadline < today and row.open_units else 0
            table.append([
                task.id, KIND_NAMES.get(task.kind, task.kind), _clip(task.text),
                _clip("、".join(row.units), 24),
                task.deadline.isoformat() if task.deadline else (task.deadline_text or "无固定时限"),
                f"逾期{late}天" if late else f"已办结 {row.done_units}/{row.done_units + row.open_units}",
            ])
        self.print(f"{plan.year}年《{plan.title}》 今天：{today.isoformat()}")
        if group:
            self.print(f"责任单位：{unit.name}（{group}个单位）")
        if not table:
            self.print("没有符合条件的任务。")
            return 0
        self.print(tabulate(table, headers=["编号", "类型", "任务", "责任单位", "完成时限", "状态"]))
        self.print(f"共 {len(table)} 项")
        return 0

    def units(self) -> int:
        with Session(self.engine) as session:
            overview = unit_overview(session)
            try:
                plan = latest_plan(session, self.args.year)
                unresolved = unresolved_names(session, plan)
            except NotFoundError:
                plan, unresolved = None, []
        units = [o for o in overview if o.unit.kind != "group"]
        self.print(tabulate(
            [[o.unit.name, UNIT_KIND_NAMES.get(o.unit.kind, o.unit.kind), _clip("、".join(o.aliases), 30),
              o.open_assignments, "待确认" if o.unit.needs_review else ""] for o in units],
            headers=["单位", "类型", "别名", "未办结任务", "备注"]))
        groups = [o for o in overview if o.unit.kind == "group"]
        if groups:
            self.print("\n单位组（导入时展开为每个成员单位）：")
            self.print(tabulate([[o.unit.name, len(o.members), _clip("、".join(o.members), 50)] for o in groups],
                                headers=["单位组", "成员数", "成员"]))
        if unresolved:
            self.print(f"\n《{plan.title}》中未能确定的单位（请办公室指定或合并）：")
            self.print(tabulate([[p.where, p.text, p.message] for p in unresolved],
                                headers=["位置", "原文", "说明"]))
        return 0

    def deadline(self) -> int:
        year = self.args.year or local_today(self.clock, self.settings.timezone).year
        phrases = [line.strip() for line in self.stdin if line.strip()] if self.args.phrases == ["-"] \
            else self.args.phrases
        readings = [read_deadline(phrase, year) for phrase in phrases]
        if self.args.json:
            for reading in readings:
                self.print(json.dumps({**reading.as_dict(), "understood": reading.understood},
                                      ensure_ascii=False))
        else:
            self.print(tabulate([[r.text, r.deadline or "", r.start or "", r.recurrence or "",
                                  r.note or ("" if r.understood else "无法识别")] for r in readings],
                                headers=["原文", "截止日期", "开始日期", "周期", "说明"]))
        return 0 if all(r.understood for r in readings) else 1

    def invite(self) -> int:
        role = parse_role(self.args.role)
        with transaction(self.engine) as session:
            unit = find_unit(session, self.args.unit, self.seed_directory.district) if self.args.unit else None
            invite = create_invite(session, self.clock, self.actor, role, unit, inviter_role=Role.ADMIN)
            code, expires = invite.code, invite.expires_at.astimezone(self.settings.timezone)
        target = f"{unit.name} " if unit else ""
        self.print(f"邀请码（{target}{ROLE_NAMES[role]}，一次有效，{expires:%Y-%m-%d %H:%M} 前使用）：")
        self.print(f"/start {code}")
        return 0

    def policy(self) -> tuple[Policy, WorkCalendar]:
        policy = Policy.from_config(self.settings.policy, self.settings.timezone)

        def warn(message: str) -> None:
            print(f"提醒：{message}", file=sys.stderr)

        return policy, WorkCalendar(policy.holidays, policy.workdays, warn=warn)

    def digest(self) -> int:
        policy, _calendar = self.policy()
        today = local_today(self.clock, self.settings.timezone)
        with Session(self.engine) as session:
            payload = weekly_digest(session, today, policy)
        for page in notification("digest", jsonable(payload)).pages:
            self.print(visible_text(page))
        if not self.args.print_only:
            self.print("\n（周报由运行中的机器人每周按计划发送；--print 只在终端显示。）")
        return 0

    def outbox(self) -> int:
        with Session(self.engine) as session:
            query = select(Outbox).order_by(col(Outbox.id).desc()).limit(self.args.limit)
            if self.args.status:
                query = query.where(Outbox.status == self.args.status)
            rows = session.exec(query).all()
            counts = dict(session.exec(select(Outbox.status, func.count()).group_by(col(Outbox.status))).all())
        self.print("，".join(f"{OUTBOX_STATUS_NAMES[k]} {counts.get(k, 0)} 条" for k in OUTBOX_STATUS_NAMES))
        tz = self.settings.timezone
        self.print(tabulate([[r.id, OUTBOX_STATUS_NAMES.get(r.status, r.status), r.kind, r.chat_id, r.attempts,
                              f"{(r.sent_at or r.next_attempt_at).astimezone(tz):%m-%d %H:%M}",
                              _clip(redact(r.last_error), 40)]  # a row stored before redaction, or restored
                             for r in rows], headers=["编号", "状态", "类型", "会话", "尝试", "时间", "最近错误"]))
        return 0

    def backup(self) -> int:
        path = backup(self.settings.database_url, self.args.path)
        self.print(f"已备份到 {path}")
        return 0

    def restore(self) -> int:
        if not self.args.yes:
            raise ServiceError("恢复会替换数据库中的全部内容。请先停止机器人，确认后加 --yes 再运行。")
        lock = consumer_lock(self.settings.database_url)  # held through the restore: no taskbot run starts meanwhile
        try:
            if not self._try_lock(lock, standby=False):
                raise ServiceError(f"机器人正在运行（{lock.holder()}），恢复会替换它正在使用的数据库。"
                                   "请先停止 taskbot run，再恢复。")
            restore(self.settings.database_url, self.args.path)
        finally:
            lock.release()
        self.print(f"已从 {self.args.path} 恢复")
        return 0

    def worker(self) -> int:
        token = self.settings.telegram_token
        if not token:
            raise ServiceError("worker 需要 TASKBOT_TOKEN（连接本地沙盒时也要填沙盒的令牌）")
        policy, calendar = self.policy()
        ctx = BotContext(self.engine, self.clock, self.settings.timezone, self.seed_directory.district,
                         policy=policy, calendar=calendar, in_flight=self.settings.in_flight)
        asyncio.run(run_worker(ctx, token, self.args.base_url, until_idle=self.args.until_idle,
                               ca_bundle=self.settings.telegram_ca_bundle or None))
        return 0

    def run(self) -> int:
        token = self.settings.telegram_token
        webhook = self.webhook()
        if not token:
            self.print("没有设置 TASKBOT_TOKEN（或配置文件 [telegram] token），启动本地沙盒，不连接 Telegram。")
            if webhook is not None:
                # The sandbox server can reach only this machine: it pushes to our listener directly.
                webhook = replace(webhook, url=f"http://127.0.0.1:{webhook.port}/{webhook.path or 'webhook'}")
                self.print(f"webhook 模式：沙盒服务器把消息推送到 {webhook.url}")
            return self.sandbox(webhook)
        policy, calendar = self.policy()
        ctx = BotContext(self.engine, self.clock, self.settings.timezone, self.seed_directory.district,
                         policy=policy, calendar=calendar, in_flight=self.settings.in_flight)
        lock = consumer_lock(self.settings.database_url)
        try:
            self.take_consumer_lock(lock)
            application = build_application(ctx, token, base_url=self.args.base_url, lock=lock,
                                            ca_bundle=self.settings.telegram_ca_bundle or None)
            run_application(application, webhook)
        finally:
            lock.release()
        if lost_consumer_lock(application):
            raise ServiceError("与数据库的连接断开，本进程失去了接收消息的锁；为免两个进程同时接收消息，"
                               "已停止。请重新启动（另一个待命的进程可能已经接管）。")
        return 0

    def take_consumer_lock(self, lock: ConsumerLock) -> None:
        """Only one process consumes the bot's updates (bot/consumer_lock.py); --standby waits its turn."""
        announced = False
        while not self._try_lock(lock, standby=self.args.standby):
            if not self.args.standby:
                raise ServiceError(f"已有一个 taskbot run 在接收这个机器人的消息（{lock.holder()}）。"
                                   "同一数据库只能有一个进程接收消息：要多进程发送提醒请用 taskbot worker，"
                                   "要热备请加 --standby。")
            if not announced:
                self.print(f"已有进程在接收消息（{lock.holder()}）；本进程待命，等它停止后接管。")
                announced = True
            time.sleep(CHECK_SECONDS)
        if announced:
            self.print("已接管：本进程开始接收消息。")

    @staticmethod
    def _try_lock(lock: ConsumerLock, *, standby: bool) -> bool:
        try:
            return lock.acquire()
        except psycopg.OperationalError:
            if standby:  # a standby outlives a database restart: it tries again
                return False
            raise  # said in one sentence by bot.failures, which knows a missing database from a stopped server

    def webhook(self) -> Webhook | None:
        url = self.args.webhook or self.settings.webhook_url
        if not url:
            return None
        secret = self.settings.webhook_secret
        if secret and not SECRET_PATTERN.fullmatch(secret):
            raise ServiceError("webhook 密钥只能由字母、数字、_ 和 - 组成，长度 1–256。")
        listen = self.args.listen or self.settings.webhook_listen
        port = self.args.port or self.settings.webhook_port
        webhook = Webhook(url, listen, port, secret) if secret else Webhook(url, listen, port)
        register_secret(webhook.secret)  # a fresh one too: whoever reads the log could post updates with it
        return webhook

    def sandbox(self, webhook: Webhook | None = None) -> int:
        url = self.settings.database_url if self.settings.database_configured else SANDBOX_DATABASE_URL
        engine = make_engine(url)
        # The bundled plan is for 2021: the sandbox starts on 1 September 2021 unless --now says otherwise.
        # Either way its clock runs at real speed from there (and the console's :wait and :at move it):
        # a clock stopped at --now would never reach the next reminder. A date alone means its
        # sending hour, so that `--now 2021-11-04` shows that day's reminders rather than quiet hours.
        start = self.args.now or SANDBOX_START
        if len(start) == len("2021-11-04"):
            start += "T09:00"
        clock = ShiftedClock(parse_moment(start, self.settings.timezone), self.wall)
        prepare_database(engine, self.seed_directory, clock, self.actor)
        _parsed, summary = import_file(engine, seed_path(MENTOUGOU_2021), clock, self.actor,
                                       district=self.seed_directory.district)
        self.print(f"数据库：{safe_url(url)}；内置文档已{'导入' if summary.changed else '就绪'}；"
                   f"沙盒时间：{clock.now().astimezone(self.settings.timezone):%Y-%m-%d %H:%M}")
        policy, calendar = self.policy()
        ctx = BotContext(engine, clock, self.settings.timezone, self.seed_directory.district, outbox_interval=0.1,
                         policy=policy, calendar=calendar, in_flight=self.settings.in_flight)
        runtime = SandboxRuntime(ctx, webhook=webhook)  # run_console starts it once the personas are bound
        try:
            run_console(runtime, self.stdin, self.out, interactive=self.stdin.isatty())
        finally:
            runtime.stop()
            engine.dispose()
        return 0

    # --- rendering ---

    def _print_parsed(self, parsed: ParsedPlan) -> None:
        self.print(f"{parsed.year}年《{parsed.title}》（试导入，未写入数据库）")
        counts = {kind: len(parsed.of_kind(kind)) for kind in KIND_NAMES}
        self.print("，".join(f"{KIND_NAMES[k]} {n} 项" for k, n in counts.items()))
        self.print(tabulate(
            [[KIND_NAMES[i.kind], i.number, _clip(i.text), _clip("、".join(i.units), 24),
              i.deadline or i.deadline_text or ""] for i in parsed.items],
            headers=["类型", "序号", "内容", "责任单位", "完成时限"]))
        self._print_problems(parsed)

    def _print_summary(self, parsed: ParsedPlan, summary: ImportSummary) -> None:
        self.print(f"已导入 {parsed.year}年《{parsed.title}》")
        counts = "，".join(f"{KIND_NAMES[k]} {len(parsed.of_kind(k))} 项" for k in KIND_NAMES)
        self.print(counts)
        if summary.changed:
            self.print(f"新增 {summary.created} 项，更新 {summary.updated} 项，撤销 {summary.withdrawn} 项，"
                       f"责任分工变动 {summary.assignments_changed} 处，工作专班变动 {summary.teams_changed} 处")
        else:
            self.print("与数据库中的内容一致，没有任何改动。")
        if summary.new_units:
            self.print(f"新建单位（待办公室确认）：{'、'.join(summary.new_units)}")
        self._print_kept(summary)
        self._print_problems(parsed)

    def _print_kept(self, summary: ImportSummary) -> None:
        """What the office decided stands whatever the document says; the summary says so."""
        standing = [f"已批准的延期 {summary.extensions_in_force} 项" if summary.extensions_in_force else "",
                    f"已审核办结 {summary.verified} 项" if summary.verified else "",
                    f"待审核的办结申请 {summary.awaiting_review} 项" if summary.awaiting_review else ""]
        if any(standing):
            self.print(f"保留办公室的决定：{'，'.join(s for s in standing if s)}。")
        for kept in summary.kept:
            self.print(f"  任务 {kept.task_id}（{kept.unit}）：{kept.note}")

    def _print_problems(self, parsed: ParsedPlan) -> None:
        if not parsed.problems:
            self.print("没有发现问题。")
            return
        self.print(f"\n发现 {len(parsed.problems)} 个问题（其余内容已照常处理）：")
        self.print(tabulate([[p.where, _clip(p.text, 24), p.message] for p in parsed.problems],
                            headers=["位置", "原文", "说明"]))


def _clip(text: str, width: int = TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
         clock: Clock | None = None) -> int:
    stdout = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    configure_logging()
    settings: Settings | None = None
    wall = clock  # a caller's clock stands for real time, which the sandbox's clock runs with
    try:
        settings = load_settings(args.config, args.database_url)
        for secret in (settings.telegram_token, settings.webhook_secret, _password(settings.database_url)):
            register_secret(secret)
        if clock is None:
            clock = FixedClock(parse_moment(args.now, settings.timezone)) if args.now else SystemClock()
        cli = Cli(args, settings, clock, stdin or sys.stdin, stdout, wall)
        handler = {"init": cli.init, "import": cli.import_, "tasks": cli.tasks, "units": cli.units,
                   "deadline": cli.deadline, "invite": cli.invite, "digest": cli.digest, "outbox": cli.outbox,
                   "run": cli.run, "sandbox": cli.sandbox, "worker": cli.worker, "backup": cli.backup,
                   "restore": cli.restore}[args.command]
        return handler()
    except Exception as error:  # every failure: one sentence on stderr, the traceback in the debug log
        if isinstance(error, BrokenPipeError) and stdout is sys.stdout:
            _silence_stdout()
        database_url = settings.database_url if settings else args.database_url
        return report(error, database_url, args.command, sys.stderr)


def _password(url: str) -> str | None:
    try:
        return make_url(normalise_url(url)).password
    except ArgumentError:
        return None


def _silence_stdout() -> None:
    """The reader of our output has gone (``| head``): what is still buffered for it goes nowhere,
    instead of failing again, with a second traceback, when Python flushes stdout at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
