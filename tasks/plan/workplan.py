"""Reading a whole work-point document: title, work points, attachments.

The document is read as its author laid it out: a title, sections (一、…) of
numbered work points each followed by its 责任单位 line (or ending in
"（…按职责分工负责）"), a list of attachments, then the attachments themselves —
the work teams as numbered paragraphs, the task list and the project plan as
tables, recognised by their header names.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tasks.plan.deadlines import find_milestones, find_recurrence
from tasks.plan.document import Block, Paragraph, Table, read_blocks
from tasks.plan.parsed import Item, ParsedPlan, Problem
from tasks.plan.tables import SourceRow, read_table, team_item, unique_ref
from tasks.plan.unit_reading import UnitReader
from tasks.plan.units import UnitDirectory
from tasks.text import YEAR, compact


class DocumentError(ValueError):
    """The document cannot be imported at all (no year, nothing recognisable)."""


_TITLE = re.compile(r"(?:工作要点|工作计划|任务清单|实施方案|工作方案|重点任务)$")
_QUOTED_TITLE = re.compile(r"《(.+?)》")
_SECTION = re.compile(r"^[一二三四五六七八九十]+\s*[、.．]\s*(?P<title>.+)$")
_ARABIC_POINT = re.compile(r"^(?P<number>\d{1,3})\s*[.．、]\s*(?P<text>\S.*)$")
_CHINESE_POINT = re.compile(r"^[（(](?P<number>[一二三四五六七八九十]+)[）)]\s*(?P<text>\S.*)$")
_UNIT_LINE = re.compile(r"^(?:责任单位|责任部门|责任主体|牵头单位|牵头部门)\s*[:：]")
_EMBEDDED_UNITS = (
    # "…。（公安厅、财政厅、医保局按职责分工负责）" / "（区商务局牵头，区财政局配合）"
    # (The keyword is looked for ahead, not matched between two runs of the same characters: that
    # form tried every way to split a long bracket around each keyword in it, 20 s for 100 KB.)
    re.compile(r"[（(](?=[^（）()]*?(?:负责|牵头|配合))(?P<units>[^（）()]*)[）)]\s*[。.]?$"),
    # "…（责任单位：区商务局、区财政局）"
    re.compile(r"[（(](?P<units>(?:责任单位|责任部门|牵头单位|牵头部门)\s*[:：][^（）()]+)[）)]\s*[。.]?$"),
    # "…。责任单位：区商务局、区财政局。"
    re.compile(r"(?<=[。；;\s])(?P<units>(?:责任单位|责任部门|牵头单位)\s*[:：].+?)[。.]?$"),
)
_ATTACHMENT_LIST = re.compile(r"^附件\s*[:：]")
_ATTACHMENT_MARK = re.compile(r"^附件\s*(?P<number>\d+)\s*[:：]?\s*(?P<title>.*)$")
_TEAM = re.compile(r"^(?P<number>\d{1,2})\s*[.．、]\s*(?P<name>[^，,：:；;。]+?专班)[，,：:。]?\s*(?P<rest>.*)$")
_TEAM_LEAD = re.compile(
    r"牵头(?:部门|单位)\s*(?:[（(](?P<note>[^）)]*)[）)])?\s*[:：]\s*(?P<units>.+?)[；;。.]?$")


@dataclass
class _WorkPoint:
    item: Item
    units_text: str = ""
    units_line: int | None = None
    # Paragraphs the point runs on into, added to its text once it is complete (see _finish_points).
    more_text: list[str] = field(default_factory=list)


@dataclass
class _Reading:
    """State carried through the document."""

    year: int
    units: UnitReader
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    refs: Counter[str] = field(default_factory=Counter)
    points: list[_WorkPoint] = field(default_factory=list)


def find_title(paragraphs: list[Paragraph]) -> str | None:
    for paragraph in sorted(paragraphs, key=lambda p: (p.heading == 0, p.line)):
        text = compact(paragraph.text)
        if _TITLE.search(text) and "通知" not in text and len(text) <= 60:
            return text
    for paragraph in paragraphs:
        if match := _QUOTED_TITLE.search(paragraph.text):
            return compact(match.group(1))
    headings = [p for p in paragraphs if p.heading]
    return compact(headings[0].text) if headings else None


def _attachment_kind(title: str) -> str:
    if "专班" in title:
        return "team"
    if "项目" in title:
        return "project"
    if "任务" in title or "清单" in title:
        return "task"
    return "other"


def _where(line: int) -> str:
    return f"第{line}行"


def read_workplan(text: str, directory: UnitDirectory, *, year: int | None = None,
                  source: str = "") -> ParsedPlan:
    """A document given as converted text (.txt / .md)."""
    return read_document(read_blocks(text), directory, year=year, source=source)


def read_document(blocks: list[Block], directory: UnitDirectory, *, year: int | None = None,
                  source: str = "") -> ParsedPlan:
    """A document as its paragraphs and tables, from converted text or from a Word file."""
    paragraphs = [b for b in blocks if isinstance(b, Paragraph)]
    title = find_title(paragraphs)
    if year is None:
        match = YEAR.search(title or "") or next(
            (m for p in paragraphs if (m := YEAR.search(p.text))), None)
        if match is None:
            raise DocumentError("无法从文档中确定年份，请用 --year 指定")
        year = int(match.group(1))
    reading = _Reading(year=year, units=UnitReader(directory))
    point_pattern = _ARABIC_POINT if any(_ARABIC_POINT.match(p.text) for p in paragraphs) else _CHINESE_POINT

    mode, attachment_kind, awaiting_title = "body", "", False
    section: str | None = None
    for block in blocks:
        if isinstance(block, Table):
            rows = [SourceRow(_where(r.line), r.cells, r.line) for r in block.rows]
            result = read_table(rows, year, reading.units, reading.refs)
            reading.items += result.items
            reading.problems += result.problems
            continue
        content = block.text.strip()
        if mark := _ATTACHMENT_MARK.match(content):
            mode, awaiting_title = "attachment", not mark["title"]
            attachment_kind = _attachment_kind(mark["title"])
            continue
        if _ATTACHMENT_LIST.match(content):
            mode = "attachment-list"
            continue
        if mode == "attachment-list":
            continue
        if mode == "attachment":
            if awaiting_title:
                attachment_kind, awaiting_title = _attachment_kind(content), False
            elif attachment_kind == "team":
                _read_team_paragraph(block, reading)
            continue
        if (heading := _SECTION.match(content)) and (block.heading or len(content) < 60):
            section = heading["title"]
            continue
        if _UNIT_LINE.match(content):
            _attach_units(block, reading)
            continue
        if match := point_pattern.match(content):
            _start_point(block, match, section, reading)
            continue
        if reading.points and not reading.points[-1].units_text:
            # A work point that runs over several paragraphs.
            reading.points[-1].more_text.append(content)

    _finish_points(reading)
    plan = ParsedPlan(year=year, title=title or source, source=source, items=reading.items,
                      problems=reading.problems, new_units=reading.units.new_units)
    if not plan.items:
        raise DocumentError("文档中没有读到任何工作要点、任务或项目，请检查文件是否为工作要点文档")
    return plan


def _start_point(block: Paragraph, match: re.Match[str], section: str | None, reading: _Reading) -> None:
    text = match["text"].strip()
    units_text = ""
    for pattern in _EMBEDDED_UNITS:
        if embedded := pattern.search(text):
            units_text = embedded["units"]
            text = text[: embedded.start()].rstrip()
            break
    heading = re.split(r"[。！？]", text, maxsplit=1)[0]
    item = Item(kind="workpoint", ref="", text=text, category=section, number=match["number"],
                line=block.line)
    reading.points.append(_WorkPoint(item, units_text, block.line if units_text else None))
    item.ref = "wp:" + compact(heading)[:60]


def _attach_units(block: Paragraph, reading: _Reading) -> None:
    if not reading.points:
        reading.problems.append(Problem("unit.orphan", _where(block.line), block.text,
                                        "这一行责任单位前面没有工作要点，已忽略", block.line))
        return
    point = reading.points[-1]
    if point.units_text:
        reading.problems.append(Problem("unit.duplicate_line", _where(block.line), block.text,
                                        f"工作要点{point.item.number}已有责任单位，这一行已忽略", block.line))
        return
    point.units_text, point.units_line = block.text, block.line


def _finish_points(reading: _Reading) -> None:
    """Units, refs, dates and numbering checks once every point has all its text."""
    items: list[Item] = []
    expected = 1
    for point in reading.points:
        item = point.item
        # Joined once: adding each paragraph to the text as it came copied the whole point every
        # time, quadratic in a long one (4 MB of paragraphs after one point took 5 s).
        item.text = "".join([item.text, *point.more_text])
        item.ref = unique_ref(item.ref, reading.refs)
        where = _where(point.units_line or item.line or 0)
        if point.units_text:
            owners = reading.units.read(point.units_text, where, point.units_line, reading.problems)
            item.units, item.roles = owners.names, owners.roles
        else:
            reading.problems.append(Problem("workpoint.no_units", _where(item.line or 0), item.text[:60],
                                            f"工作要点{item.number}没有写责任单位，已导入但无人负责", item.line))
        if item.number.isdigit():
            number = int(item.number)
            if number != expected:
                reading.problems.append(Problem(
                    "workpoint.numbering", _where(item.line or 0), item.text[:60],
                    f"工作要点序号为{number}，按顺序应为{expected}（序号重复或跳号）；已按原序号导入", item.line))
            expected = number + 1
        item.recurrence = find_recurrence(item.text)
        item.milestones = find_milestones(item.text, reading.year)
        items.append(item)
    reading.items[:0] = items


def _read_team_paragraph(block: Paragraph, reading: _Reading) -> None:
    match = _TEAM.match(block.text.strip())
    if not match:
        return
    lead = _TEAM_LEAD.search(match["rest"])
    row = SourceRow(_where(block.line), [block.text], block.line)
    if lead is None:
        reading.problems.append(Problem("team.no_lead", row.where, block.text,
                                        f"{match['name']}没有写牵头部门", block.line))
    reading.items.append(team_item(match["name"], lead["units"] if lead else "", match["number"],
                                   (lead["note"] or "") if lead else "", row, reading.units, reading.refs,
                                   reading.problems))
