"""``taskbot init``, ``import``, ``template``, ``tasks``, ``units``: the database, the year's plan and its units."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from sqlmodel import Session
from tabulate import tabulate

from bot.cli.invocation import Invocation, clip
from bot.cli.preview import render_preview
from bot.cli.progress import import_progress
from bot.failures import safe_url
from seed import MENTOUGOU_2021, seed_path
from tasks.clock import local_today
from tasks.db import make_engine
from tasks.errors import ServiceError
from tasks.plan.chosen_columns import parse_columns
from tasks.plan.importer import Progress, Stage, import_file, prepare_database, preview_file
from tasks.plan.ledger import ledger_workbook, write_template
from tasks.plan.ledger_import import LedgerImport, import_ledger, is_ledger
from tasks.plan.parsed import ParsedPlan
from tasks.plan.store import ImportSummary
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

KIND_NAMES = {"workpoint": "工作要点", "task": "任务", "project": "项目", "team": "工作专班"}
UNIT_KIND_NAMES = {"office": "办公室", "department": "部门", "town": "镇", "street": "街道",
                   "frontline": "前方", "group": "单位组", "external": "外地单位", "leadership": "领导"}


def init(cli: Invocation) -> int:
    engine = make_engine(cli.settings.database_url)
    added = prepare_database(engine, cli.seed_directory, cli.clock, cli.actor)
    cli.print(f"数据库已就绪：{safe_url(cli.settings.database_url)}")
    cli.print(f"单位名录：新增 {added} 项（共 {len(cli.seed_directory.kinds)} 个单位和单位组）")
    return 0


def _no_progress(_stage: Stage) -> None:
    pass


def import_plan(cli: Invocation) -> int:
    args = cli.args
    path = args.path or seed_path(MENTOUGOU_2021)
    district = cli.seed_directory.district
    if is_ledger(path):
        return _import_ledger(cli, path)
    # Checked before the database is opened: a mistake in --columns is said at once.
    columns = parse_columns(args.columns, args.header_row) if args.columns else None
    if args.header_row is not None and columns is None:
        raise ServiceError("--header-row 只与 --columns 一起使用；没有 --columns 时表头按列名自动识别")
    progress: Progress = import_progress(sys.stderr, args.progress) or _no_progress
    if args.dry_run:
        with Session(cli.engine) as session:
            parsed = preview_file(session, path, district=district, year=args.year, title=args.title,
                                  columns=columns, progress=progress)
        if args.json:
            cli.print(json.dumps(parsed.as_dict(), ensure_ascii=False, indent=2))
        else:
            cli.print("\n".join(render_preview(parsed)))
        return 0
    parsed, summary = import_file(cli.engine, path, cli.clock, cli.actor, district=district,
                                  year=args.year, title=args.title, columns=columns, progress=progress)
    if args.json:
        cli.print(json.dumps({**parsed.as_dict(), "summary": asdict(summary)}, ensure_ascii=False, indent=2))
    else:
        _print_summary(cli, parsed, summary)
    return 0


def _import_ledger(cli: Invocation, path: Path) -> int:
    """A ledger taskbot export wrote: the office's edits to its plan, not a new document."""
    args = cli.args
    if args.columns or args.title:
        raise ServiceError("这是导出的台账，按台账自己的列导回原计划，不用 --columns 或 --title")
    result = import_ledger(cli.engine, path, cli.clock, cli.actor, district=cli.seed_directory.district,
                           year=args.year, dry_run=args.dry_run)
    if args.json:
        cli.print(json.dumps({**asdict(result), "dry_run": args.dry_run}, ensure_ascii=False, indent=2))
        return 0
    doing = "试导入台账（没有写入数据库），将要" if args.dry_run else "已导入台账"
    cli.print(f"{doing}：{result.year}年《{result.title}》，台账中 {result.tasks_in_file} 项任务")
    if result.changed:
        cli.print(f"新增 {result.created} 项，修改 {result.updated} 项，责任单位变动 {result.units_changed} 处：")
        for line in result.changes:
            cli.print(f"  {line}")
    else:
        cli.print("与数据库中的内容一致，没有任何改动。")
    if result.not_in_file:
        cli.print(f"不在台账中的 {result.not_in_file} 项任务保持不变"
                  "（台账是工作副本，不撤销任务；撤销请导入新的文档）。")
    _print_ledger_kept(cli, result)
    if result.ignored:
        cli.print(f"\n以下 {len(result.ignored)} 处未导入：")
        for line in result.ignored:
            cli.print(f"  {line}")
    return 0


def _print_ledger_kept(cli: Invocation, result: LedgerImport) -> None:
    _print_standing(cli, result.extensions_in_force, result.verified, result.awaiting_review)
    for line in result.kept:
        cli.print(f"  {line}")


def template(cli: Invocation) -> int:
    path = cli.args.path
    if path.suffix.lower() != ".xlsx":
        raise ServiceError(f"模板是 Excel 工作簿，文件名应以 .xlsx 结尾（收到“{path.name}”）")
    if path.exists() and not cli.args.force:
        raise ServiceError(f"文件已存在：{path}；要覆盖请加 --force")
    write_template(path, year=cli.args.year)
    cli.print(f"已写入任务清单模板：{path}")
    year = "" if cli.args.year else " --year 年份"
    cli.print(f"填好后先试导入核对：taskbot import {path.name}{year} --dry-run（“填写说明”页说明了各列的写法）")
    return 0


def export(cli: Invocation) -> int:
    args = cli.args
    path = args.path
    if path.suffix.lower() != ".xlsx":
        raise ServiceError(f"台账是 Excel 工作簿，文件名应以 .xlsx 结尾（收到“{path.name}”）")
    if path.exists() and not args.force:
        raise ServiceError(f"文件已存在：{path}；要覆盖请加 --force")
    today = local_today(cli.clock, cli.settings.timezone)
    with Session(cli.engine) as session:
        ledger = ledger_workbook(session, today, unit=args.unit, team=args.team, status=args.status, year=args.year,
                                 district=cli.seed_directory.district, timezone=cli.settings.timezone)
    # Written only once the whole workbook is built: a refused filter leaves no file behind.
    path.write_bytes(ledger.content)
    cli.print(f"已导出台账：{ledger.tasks} 项任务，{ledger.rows} 行（每个责任单位一行），写入 {path}")
    return 0


def tasks(cli: Invocation) -> int:
    args = cli.args
    today = local_today(cli.clock, cli.settings.timezone)
    with Session(cli.engine) as session:
        plan = latest_plan(session, args.year)
        district = cli.seed_directory.district
        unit = find_unit(session, args.unit, district) if args.unit else None
        team = find_team(session, plan, args.team) if args.team else None
        rows = list_tasks(session, plan, unit=unit, team=team,
                          overdue_on=today if args.overdue else None, due_before=args.due_before)
        # A group's list is its members' tasks: say so, so the count is read as theirs.
        group = len(unit_and_members(session, unit)) - 1 if unit is not None and unit.kind == "group" else 0
    table = []
    for row in rows:
        task = row.task
        late = (today - task.deadline).days if task.deadline and task.deadline < today and row.open_units else 0
        table.append([
            task.id, KIND_NAMES.get(task.kind, task.kind), clip(task.text),
            clip("、".join(row.units), 24),
            task.deadline.isoformat() if task.deadline else (task.deadline_text or "无固定时限"),
            f"逾期{late}天" if late else f"已办结 {row.done_units}/{row.done_units + row.open_units}",
        ])
    cli.print(f"{plan.year}年《{plan.title}》 今天：{today.isoformat()}")
    if group and unit is not None:
        cli.print(f"责任单位：{unit.name}（{group}个单位）")
    if not table:
        cli.print("没有符合条件的任务。")
        return 0
    cli.print(tabulate(table, headers=["编号", "类型", "任务", "责任单位", "完成时限", "状态"]))
    cli.print(f"共 {len(table)} 项")
    return 0


def units(cli: Invocation) -> int:
    with Session(cli.engine) as session:
        overview = unit_overview(session)
        try:
            plan = latest_plan(session, cli.args.year)
            unresolved = unresolved_names(session, plan)
        except NotFoundError:
            plan, unresolved = None, []
    listed = [o for o in overview if o.unit.kind != "group"]
    cli.print(tabulate(
        [[o.unit.name, UNIT_KIND_NAMES.get(o.unit.kind, o.unit.kind), clip("、".join(o.aliases), 30),
          o.open_assignments, "待确认" if o.unit.needs_review else ""] for o in listed],
        headers=["单位", "类型", "别名", "未办结任务", "备注"]))
    groups = [o for o in overview if o.unit.kind == "group"]
    if groups:
        cli.print("\n单位组（导入时展开为每个成员单位）：")
        cli.print(tabulate([[o.unit.name, len(o.members), clip("、".join(o.members), 50)] for o in groups],
                           headers=["单位组", "成员数", "成员"]))
    if unresolved and plan is not None:
        cli.print(f"\n《{plan.title}》中未能确定的单位（请办公室指定或合并）：")
        cli.print(tabulate([[p.where, p.text, p.message] for p in unresolved], headers=["位置", "原文", "说明"]))
    return 0


def _print_summary(cli: Invocation, parsed: ParsedPlan, summary: ImportSummary) -> None:
    cli.print(f"已导入 {parsed.year}年《{parsed.title}》")
    cli.print("，".join(f"{KIND_NAMES[k]} {len(parsed.of_kind(k))} 项" for k in KIND_NAMES))
    if summary.changed:
        cli.print(f"新增 {summary.created} 项，更新 {summary.updated} 项，撤销 {summary.withdrawn} 项，"
                  f"责任分工变动 {summary.assignments_changed} 处，工作专班变动 {summary.teams_changed} 处")
    else:
        cli.print("与数据库中的内容一致，没有任何改动。")
    if summary.new_units:
        cli.print(f"新建单位（待办公室确认）：{'、'.join(summary.new_units)}")
    _print_kept(cli, summary)
    _print_problems(cli, parsed)


def _print_standing(cli: Invocation, extensions: int, verified: int, awaiting_review: int) -> None:
    standing = [f"已批准的延期 {extensions} 项" if extensions else "", f"已审核办结 {verified} 项" if verified else "",
                f"待审核的办结申请 {awaiting_review} 项" if awaiting_review else ""]
    if any(standing):
        cli.print(f"保留办公室的决定：{'，'.join(s for s in standing if s)}。")


def _print_kept(cli: Invocation, summary: ImportSummary) -> None:
    """What the office decided stands whatever the document says; the summary says so."""
    _print_standing(cli, summary.extensions_in_force, summary.verified, summary.awaiting_review)
    for kept in summary.kept:
        cli.print(f"  任务 {kept.task_id}（{kept.unit}）：{kept.note}")


def _print_problems(cli: Invocation, parsed: ParsedPlan) -> None:
    if not parsed.problems:
        cli.print("没有发现问题。")
        return
    cli.print(f"\n发现 {len(parsed.problems)} 个问题（其余内容已照常处理）：")
    cli.print(tabulate([[p.where, clip(p.text, 24), p.message] for p in parsed.problems],
                       headers=["位置", "原文", "说明"]))
