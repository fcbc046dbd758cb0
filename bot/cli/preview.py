"""``taskbot import --dry-run``: what the import would store, for the office to read before it does.

The plan's title and year; each item under its part and its section (工作领域 / 类别), with its
number, its first words, its units (牵头 marked) and its deadline as a date and as written; then
the problems where they are, the counts, and the units the import would create. Lines fit an
80-column terminal, Chinese characters and punctuation counted as two columns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from tasks.plan.deadlines import RECURRENCE_NAMES
from tasks.plan.parsed import Item, ParsedPlan
from tasks.plan.units import VAGUE
from tasks.script import to_simplified

WIDTH = 80
PART_NAMES = {"workpoint": "工作要点", "task": "任务清单", "project": "项目计划", "team": "工作专班"}
COUNT_NAMES = {"workpoint": "工作要点", "task": "任务", "project": "项目", "team": "工作专班"}
_ITEM_INDENT = "  "
_DETAIL_INDENT = "     "


def width_of(ch: str) -> int:
    """Columns a character takes: two for Chinese, and for the punctuation a Chinese terminal draws
    as wide though others draw it narrow (“ ” — ━), so that a line fits either way."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def columns(text: str) -> int:
    return sum(width_of(ch) for ch in text)


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` columns, "…" where it was cut."""
    text = " ".join(text.split())
    if columns(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = width_of(ch)
        if used + w > width - width_of("…"):
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


_NO_LINE_START = frozenset("）)】」』”’，,。、；;：:！!？?…")


def wrap(text: str, first: str, rest: str, width: int = WIDTH) -> Iterator[str]:
    """``text`` after the prefix ``first``, continued on lines starting with ``rest``."""
    text = " ".join(text.split())
    line, used = first, columns(first)
    for ch in text:
        w = width_of(ch)
        if used + w > width and line.strip():
            carried = ""
            if ch in _NO_LINE_START and len(line) > len(rest) + 1:
                # A closing bracket or a comma never starts a line: the character before it goes along.
                line, carried = line[:-1], line[-1]
            yield line.rstrip()
            line, used = rest + carried, columns(rest) + columns(carried)
        line += ch
        used += w
    yield line.rstrip()


def units_text(item: Item) -> str:
    # Names that name nobody ("各有关部门") are shown too, marked for the office to decide.
    pending = "、".join(f"{n}（待指定）" for n in item.units_as_written
                       if n not in item.units and VAGUE.search(to_simplified(n)))
    if not item.units:
        return pending or "（未写，导入后无人负责）"
    leads = [u for u in item.units if item.roles.get(u) == "lead"]
    if len(item.units) == 1:
        named = item.units[0]
    elif len(leads) == len(item.units):
        named = "、".join(item.units) + "（均为牵头）"
    else:
        named = "、".join(f"{u}（牵头）" if u in leads else u for u in item.units)
    return "、".join(p for p in (named, pending) if p)


def deadline_text(item: Item) -> str:
    written = item.deadline_text.strip()
    if item.deadline is None:
        if item.recurrence:
            when = RECURRENCE_NAMES.get(item.recurrence, item.recurrence)
        elif item.start:
            when = f"{item.start.isoformat()} 开始"
        else:
            when = "无固定日期"
        return f"{when}（{written}）" if written else "未写"
    when = f"{item.start.isoformat()} 至 {item.deadline.isoformat()}" if item.start else item.deadline.isoformat()
    same = written in (item.deadline.isoformat(), "")
    return when if same else f"{when}（{written}）"


def _group(item: Item) -> str:
    if item.kind == "team":
        return ""
    return " / ".join(p for p in (item.category, item.topic) if p)


def _item_lines(item: Item, parent: Item | None, width: int) -> Iterator[str]:
    indent = _ITEM_INDENT + ("    " if parent else "")
    number = item.number or "·"
    label = f"{indent}{number} "
    yield label + clip(item.text, width - columns(label))
    detail = _DETAIL_INDENT + ("    " if parent else "")
    if parent is None or (item.units, item.roles) != (parent.units, parent.roles):
        yield from wrap(units_text(item), f"{detail}{'牵头部门' if item.kind == 'team' else '责任单位'}：",
                        detail + "          ", width)
    if item.officials:
        yield from wrap("、".join(item.officials), f"{detail}责任领导：", detail + "          ", width)
    # A work point rarely has a time limit: the line is left out only when it has none at all.
    undated_point = item.kind == "workpoint" and item.deadline is None and not item.deadline_text.strip()
    if item.kind != "team" and not undated_point and (parent is None or (item.deadline, item.deadline_text) != (
            parent.deadline, parent.deadline_text)):
        yield from wrap(deadline_text(item), f"{detail}完成时限：", detail + "          ", width)


def render_preview(parsed: ParsedPlan, width: int = WIDTH) -> list[str]:
    lines = [clip(f"试导入（未写入数据库）：{parsed.year}年《{parsed.title}》", width)]
    if parsed.source:
        lines.append(clip(f"文件：{parsed.source}", width))
    by_ref = {item.ref: item for item in parsed.items}
    part = group = None
    for item in parsed.items:
        if item.kind != part:
            part, group = item.kind, None
            lines += ["", f"━━ {PART_NAMES.get(item.kind, item.kind)} ━━"]
        if (current := _group(item)) != group:
            group = current
            if current:
                lines.append(clip(f"〔{current}〕", width))
        lines += _item_lines(item, by_ref.get(item.parent) if item.parent else None, width)
    lines.append("")
    if parsed.problems:
        lines.append(f"问题（{len(parsed.problems)} 个；其余内容照常导入）：")
        for problem in parsed.problems:
            where = problem.where or "全文"
            lines += wrap(problem.message, f"  {where}  ", "    ", width)
            if problem.text.strip():
                lines.append("    " + clip(f"原文：{problem.text}", width - 4))
    else:
        lines.append("没有发现问题。")
    counts = "，".join(f"{name} {n} 项" for kind, name in COUNT_NAMES.items() if (n := len(parsed.of_kind(kind))))
    lines.append(f"合计：{counts or '没有内容'}；问题 {len(parsed.problems)} 个")
    if parsed.new_units:
        lines += wrap("、".join(parsed.new_units), "将新建的单位（待办公室确认）：", "    ", width)
    lines.append("核对无误后，去掉 --dry-run 再运行一次即正式导入。")
    return lines
