"""``taskbot deadline``: how the importer reads 完成时限 phrases, without a database."""

from __future__ import annotations

import json

from tabulate import tabulate

from bot.cli.invocation import Invocation
from tasks.clock import local_today
from tasks.plan.deadlines import RECURRENCE_NAMES, read_deadline


def deadline(cli: Invocation) -> int:
    args = cli.args
    reference = args.reference
    if reference is None and args.chat:
        reference = local_today(cli.clock, cli.settings.timezone)
    year = args.year or (reference.year if reference else local_today(cli.clock, cli.settings.timezone).year)
    phrases = [line.strip() for line in cli.stdin if line.strip()] if args.phrases == ["-"] else args.phrases
    readings = [read_deadline(phrase, year, reference=reference, upcoming=args.chat) for phrase in phrases]
    if args.json:
        for reading in readings:
            cli.print(json.dumps({**reading.as_dict(), "understood": reading.understood}, ensure_ascii=False))
    else:
        cli.print(tabulate([[r.text, r.deadline or "", r.start or "", _cycle(r.recurrence),
                             r.note or ("" if r.understood else "无法识别")] for r in readings],
                           headers=["原文", "截止日期", "开始日期", "周期", "说明"]))
    return 0 if all(r.understood for r in readings) else 1


def _cycle(recurrence: str | None) -> str:
    """The cycle as a person says it; the code itself is for ``--json``."""
    return RECURRENCE_NAMES.get(recurrence, recurrence) if recurrence else ""
