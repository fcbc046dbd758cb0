"""``taskbot invite``, ``digest``, ``outbox``: what the office hands out, reads and sends."""

from __future__ import annotations

from sqlmodel import Session
from tabulate import tabulate

from bot.cli.invocation import Invocation, clip
from bot.render import notification
from tasks.clock import local_today
from tasks.clock.digest import digest_files, weekly_digest
from tasks.db import transaction
from tasks.events import jsonable
from tasks.models import Role
from tasks.notifications import KIND_NAMES, NotificationKind, parse_payload
from tasks.redaction import redact
from tasks.work.lookup import find_unit, notification_counts, recent_notifications
from tasks.work.members import ROLE_NAMES, create_invite, parse_role

OUTBOX_STATUS_NAMES = {"pending": "待发", "sent": "已发", "dead": "失败"}


def invite(cli: Invocation) -> int:
    role = parse_role(cli.args.role)
    with transaction(cli.engine) as session:
        unit = find_unit(session, cli.args.unit, cli.seed_directory.district) if cli.args.unit else None
        created = create_invite(session, cli.clock, cli.actor, role, unit, inviter_role=Role.ADMIN)
        code, expires = created.code, created.expires_at.astimezone(cli.settings.timezone)
    target = f"{unit.name} " if unit else ""
    cli.print(f"邀请码（{target}{ROLE_NAMES[role]}，一次有效，{expires:%Y-%m-%d %H:%M} 前使用）：")
    cli.print(f"/start {code}")
    return 0


def digest(cli: Invocation) -> int:
    from bot.sandbox.html_check import visible_text  # the page as a reader sees it; the other commands need no sandbox

    policy, _calendar = cli.policy()
    today = local_today(cli.clock, cli.settings.timezone)
    with Session(cli.engine) as session:
        payload = jsonable(weekly_digest(session, today, policy))
        files = digest_files(session, parse_payload(NotificationKind.DIGEST, payload),
                             district=cli.seed_directory.district, timezone=cli.settings.timezone)
    for page in notification(NotificationKind.DIGEST, payload).pages:
        cli.print(visible_text(page))
    # The chart and the ledger that go with the digest in chat, as files beside the text.
    folder = cli.args.out
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in ((files.chart_name, files.chart), (files.ledger.file_name, files.ledger.content)):
        (folder / name).write_bytes(content)
        cli.print(f"已写入：{folder / name}")
    if not cli.args.print_only:
        cli.print("\n（周报由运行中的机器人每周按计划发送；--print 只在终端显示。）")
    return 0


def outbox(cli: Invocation) -> int:
    with Session(cli.engine) as session:
        rows = recent_notifications(session, cli.args.status, cli.args.limit)
        counts = notification_counts(session)
    cli.print("，".join(f"{OUTBOX_STATUS_NAMES[k]} {counts.get(k, 0)} 条" for k in OUTBOX_STATUS_NAMES))
    tz = cli.settings.timezone
    cli.print(tabulate([[r.id, OUTBOX_STATUS_NAMES.get(r.status, r.status), _kind_name(r.kind), r.address, r.attempts,
                         f"{(r.sent_at or r.next_attempt_at).astimezone(tz):%m-%d %H:%M}",
                         clip(redact(r.last_error), 40)]  # a row stored before redaction, or restored
                        for r in rows], headers=["编号", "状态", "类型", "会话", "尝试", "时间", "最近错误"]))
    return 0


def _kind_name(kind: str) -> str:
    """A row's kind as the office reads it; a kind this version does not know, as stored."""
    try:
        return KIND_NAMES[NotificationKind(kind)]
    except ValueError:
        return kind
