"""The ``taskbot`` command: set up the database, import the year's document, look at it, run the bot.

    taskbot init
    taskbot import [PATH] [--year 2021] [--dry-run] [--json] [--columns 任务=B,责任单位=D] [--header-row N]
    taskbot template 任务清单.xlsx [--year 2022]
    taskbot export [--unit 区商务局] [--team 消费帮扶] [--status 逾期] 台账.xlsx
    taskbot tasks [--unit 区商务局] [--team 消费帮扶] [--overdue] [--due-before 2021-10-31]
    taskbot units
    taskbot deadline 10月底前 上半年 … --year 2021 [--reference 2021-08-31] [--chat] [--json]   (or - for stdin)
    taskbot invite [UNIT] [--role member|office|leader|admin]
    taskbot digest --print   /   taskbot outbox [--status dead]
    taskbot backup PATH   /   taskbot restore PATH --yes
    taskbot run [--webhook URL --listen HOST --port N] [--standby] [--channel dingtalk|wecom|feishu]
                         (Telegram with $TASKBOT_TOKEN; without a token, the local sandbox, on
                         Telegram's local Bot API server or on the --channel platform's local double)
    taskbot worker [--until-idle]
    taskbot sandbox      (local Bot API server + the bot + ready-made personas, in the terminal)

Global options: --config FILE, --database-url URL, --now 2021-09-01 (the clock, for trying a date
without waiting for it), --log-level LEVEL (or $TASKBOT_LOG_LEVEL).

Each command is declared once in ``COMMANDS``: its name, help, arguments and the function that
runs it, named as ``module:function`` and imported only when that command runs. So ``taskbot
--help`` and ``taskbot deadline`` never load the database layer, python-telegram-bot or the
sandbox, and start in a fraction of the time (bench/bench_startup.py).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.chinese_argparse import ChineseArgumentParser
from bot.cli.invocation import Invocation
from bot.failures import LOG_LEVELS, configure_logging, report

if TYPE_CHECKING:
    from tasks.clock import Clock


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD，收到“{text}”") from error


# The platforms the sandbox can run on (bot/sandbox: the local Bot API server, or a platform's double).
CHANNELS = ("telegram", "dingtalk", "wecom", "feishu")
# The outbox's states as the office names them; the stored codes are accepted too.
OUTBOX_STATUSES = {"待发": "pending", "已发": "sent", "失败": "dead"}


def _outbox_status(text: str) -> str:
    status = OUTBOX_STATUSES.get(text.strip(), text.strip().lower())
    if status not in OUTBOX_STATUSES.values():
        raise argparse.ArgumentTypeError(f"没有“{text}”这种状态，可选：待发、已发、失败")
    return status


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    pass


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, metavar="文档", help="文档路径（默认：内置的2021年门头沟区文档）")
    parser.add_argument("--year", type=int, metavar="年份", help="计划年份（默认从文档标题读取）")
    parser.add_argument("--title", metavar="标题", help="计划标题（默认从文档读取）")
    parser.add_argument("--dry-run", action="store_true", help="只显示将要导入的内容，不写数据库")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出")
    parser.add_argument("--columns", metavar="列名=列,…",
                        help="表头无法自动识别时指明各列，如 任务=B,责任单位=D,完成时限=E（列字母或表头中写的列名）")
    parser.add_argument("--header-row", type=int, metavar="N",
                        help="与 --columns 一起用：表头在第 N 行（0 表示没有表头）；默认为写有这些列名的行，"
                             "只用列字母时为第一个至少两格有字的行")
    parser.add_argument("--progress", action="store_true", help="显示导入的各个阶段（在终端上默认显示）")


def _template_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="文件", help="模板文件（.xlsx）")
    parser.add_argument("--year", type=int, metavar="年份", help="计划年份，写入标题行（导入时据此确定年份）")
    parser.add_argument("--force", action="store_true", help="文件已存在时覆盖")


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="台账文件（.xlsx）")
    parser.add_argument("--unit", help="只导出某单位的分工（可用简称；单位组如 各镇街 即其成员单位）")
    parser.add_argument("--team", help="只导出某工作专班牵头单位的分工（名称或序号）")
    parser.add_argument("--status", help="只导出某种状态的分工：未办结、待审核、已办结、逾期")
    parser.add_argument("--year", type=int, help="计划年份（默认最近导入的计划）")
    parser.add_argument("--force", action="store_true", help="文件已存在时覆盖")


def _tasks_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", metavar="单位", help="只看某单位的任务（可用简称，如 区科信局）")
    parser.add_argument("--team", metavar="专班", help="只看某工作专班牵头单位的任务（名称或序号）")
    parser.add_argument("--overdue", action="store_true", help="只看已逾期未完成的任务")
    parser.add_argument("--due-before", type=_iso_date, metavar="YYYY-MM-DD", help="只看该日期（含）前到期未完成的任务")
    parser.add_argument("--year", type=int, metavar="年份", help="计划年份（默认最近导入的计划）")


def _units_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--year", type=int, metavar="年份", help="计划年份（默认最近导入的计划）")


def _invite_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("unit", nargs="?", metavar="单位", help="单位名称（邀请责任单位成员时必填）")
    parser.add_argument("--role", default="member", metavar="角色",
                        help="成员、办公室、领导或管理员（也可写 member、office、leader、admin；默认成员）")


def _digest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print", action="store_true", dest="print_only", help="在终端显示，不发送")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="目录",
                        help="周报的图表（PNG）和台账（XLSX）写入的目录（默认：当前目录）")


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", type=_outbox_status, metavar="状态",
                        help="只看某种状态：待发、已发或失败（也可写 pending、sent、dead）")
    parser.add_argument("--limit", type=int, default=50, metavar="条数", help="最多显示多少条（默认50）")


def _base_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", metavar="地址",
                        help="Bot API 地址（默认 Telegram；自建 Bot API 服务器或本地沙盒如 http://127.0.0.1:8081/bot）")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--webhook", metavar="URL",
                        help="用 webhook 接收消息（Telegram 推送到此 HTTPS 地址），不用长轮询")
    parser.add_argument("--listen", metavar="地址", help="webhook 本地监听地址（默认 127.0.0.1，由反向代理转发）")
    parser.add_argument("--port", type=int, metavar="端口", help="webhook 本地监听端口（默认 8443）")
    _base_url_argument(parser)
    parser.add_argument("--standby", action="store_true",
                        help="已有进程在接收消息时不退出，待命，等它停止后接管（热备）")
    parser.add_argument("--web-port", type=int, metavar="端口",
                        help="网页版的本地端口（默认取配置文件 [web] port；0：任选空闲端口）")
    parser.add_argument("--no-web", action="store_true", help="不启动网页版")
    _channel_argument(parser)


def _channel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", choices=CHANNELS, default="telegram", metavar="平台",
                        help="本地沙盒在哪个平台上运行：telegram（默认）、dingtalk（钉钉）、wecom（企业微信）或 "
                             "feishu（飞书）；国内平台用本机的模拟服务器，经官方 SDK 连接，内置身份相同")


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    _base_url_argument(parser)
    parser.add_argument("--until-idle", action="store_true", help="队列发完即退出（用于测试和补发）")


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="文件", help="备份文件")


def _restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="文件", help="备份文件")
    parser.add_argument("--yes", action="store_true", help="确认替换")


def _deadline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("phrases", nargs="+", metavar="时限", help="时限表述；用 - 从标准输入逐行读取")
    parser.add_argument("--year", type=int, metavar="年份", help="计划年份（默认参照日期所在年份，否则今年）")
    parser.add_argument("--reference", type=_iso_date, metavar="YYYY-MM-DD",
                        help="参照日期：发文日期或申请当天；“限期30天”“下月底”等相对时限从这一天算起（不给则不识别）")
    parser.add_argument("--chat", action="store_true",
                        help="按聊天中的申请理解：不写年份的日期取参照日期当天或之后最近的一个（参照日期默认今天）")
    parser.add_argument("--json", action="store_true", help="每行输出一个 JSON 对象")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: str  # "module:function" in bot.cli, imported when this command runs
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    # Read (and so checked) before the command's own modules load: a mistake in config.toml is
    # said at once, without waiting for the database layer or Telegram's library to import.
    reads_settings: bool = True


COMMANDS = (
    Command("init", "建表并载入单位名录", "plan:init"),
    Command("import", "导入工作要点文档（.docx/.txt/.md/.csv/.xlsx/.xls）", "plan:import_plan", _import_arguments),
    Command("template", "生成任务清单（台账）Excel 模板，填好后可直接导入", "plan:template", _template_arguments,
            reads_settings=False),
    Command("export", "导出台账（Excel）：任务、各责任单位的办理情况和按单位统计，可改后重新导入", "plan:export",
            _export_arguments),
    Command("tasks", "列出任务", "plan:tasks", _tasks_arguments),
    Command("units", "单位名录、别名、单位组和未能识别的名称", "plan:units", _units_arguments),
    Command("invite", "生成一次性邀请码（管理员）", "office:invite", _invite_arguments),
    Command("digest", "本周周报（发给分管领导和督办办公室的内容）", "office:digest", _digest_arguments),
    Command("outbox", "通知发送队列：待发、已发、失败", "office:outbox", _outbox_arguments),
    Command("run", "启动机器人：有 TASKBOT_TOKEN 时连接 Telegram，否则启动本地沙盒", "serve:run", _run_arguments),
    Command("backup", "备份数据库（运行中也可）", "backups:backup", _backup_arguments),
    Command("restore", "用备份替换数据库内容（先停止机器人）", "backups:restore", _restore_arguments),
    Command("worker", "只运行计划和发送（可多进程，不接收消息）", "serve:worker", _worker_arguments),
    Command("sandbox", "本地沙盒：模拟 Bot API 服务器、机器人和内置身份，在终端对话", "serve:sandbox",
            _channel_argument),
    # Reads the settings only when no --year is given: with one it starts without pydantic.
    Command("deadline", "查看完成时限的识别结果", "deadline:deadline", _deadline_arguments, reads_settings=False),
)


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--config", type=Path, default=default, metavar="文件", help="配置文件（默认 ./config.toml）")
    parser.add_argument("--database-url", default=default, metavar="地址", help="数据库地址，覆盖配置文件")
    parser.add_argument("--now", default=default, metavar="时刻",
                        help="把当前时间设为指定时刻，如 2021-09-01 或 2021-09-01T09:00")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=default, metavar="级别",
                        help="日志级别：DEBUG、INFO、WARNING、ERROR 或 CRITICAL（默认 WARNING，或环境变量 "
                             "TASKBOT_LOG_LEVEL）；DEBUG 时错误附带完整的调用栈")


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="taskbot", description="工作要点任务清单督办机器人")
    _global_options(parser, None)
    # The same options after the command name too: `taskbot tasks --now 2021-09-01`.
    after_command = ChineseArgumentParser(add_help=False)
    _global_options(after_command, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="命令",
                                     parser_class=ChineseArgumentParser)
    for command in COMMANDS:
        command.arguments(commands.add_parser(command.name, help=command.help, parents=[after_command]))
    return parser


def command_function(name: str) -> Callable[[Invocation], int]:
    """The function that runs the command ``name``, imported now."""
    module, _, function = next(command.run for command in COMMANDS if command.name == name).partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
         clock: Clock | None = None) -> int:
    stdout = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    invocation = Invocation(args, stdin or sys.stdin, stdout, clock)
    try:
        if next(command for command in COMMANDS if command.name == args.command).reads_settings:
            _ = invocation.settings  # read now, for its checks; the command finds them loaded
        return command_function(args.command)(invocation)
    except (Exception, KeyboardInterrupt) as error:  # one sentence on stderr, the traceback in the debug log
        if isinstance(error, BrokenPipeError) and stdout is sys.stdout:
            _silence_stdout()
        return report(error, invocation.database_url, args.command, sys.stderr)


def _silence_stdout() -> None:
    """The reader of our output has gone (``| head``): what is still buffered for it goes nowhere,
    instead of failing again, with a second traceback, when Python flushes stdout at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
