"""Reading a whole document: title, year, work points and tasks, attachments.

The document is read as its author laid it out: a title, sections (一、…) of numbered
items (1. / （一） / 一是 / ●), each given its units and time limit by a label line under it
(责任单位：… 完成时限：…), by a bracket closing its sentence ("（…牵头，…按职责分工负责）",
see ``tasks.plan.annotations``), by a heading above it ("省监察厅牵头的工作") or, in a
problem list, by a line shared with its neighbours and a closing time limit; then the
attachments — the work teams as numbered paragraphs, task lists and project plans as
tables recognised by their header names (``tasks.plan.tables``), other attachments read
like the body. Multi-year plans set the year of the items under each "2021年任务".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise, takewhile

from tasks.plan.annotations import (
    LABEL_LINE,
    doers_of,
    looks_like_unit_list,
    names_bodies,
    read_annotation,
    split_annotated,
    split_inline_labels,
    split_label_runs,
    starts_with_action,
    units_in_prose,
)
from tasks.plan.deadlines import deadline_in_text, find_milestones, find_recurrence, read_deadline
from tasks.plan.document import TITLE_WORDS, Block, Paragraph, Table, read_blocks
from tasks.plan.parsed import Item, ParsedPlan, Problem
from tasks.plan.run_together import run_together_rows
from tasks.plan.tables import SourceRow, read_table, team_item, unique_ref
from tasks.plan.unit_reading import UnitReader
from tasks.plan.units import UnitDirectory
from tasks.text import YEAR, YEAR_HEADING, compact


class DocumentError(ValueError):
    """The document cannot be imported at all (no year, nothing recognisable)."""


_TITLE = re.compile(f"(?:{TITLE_WORDS}|民生实事|为民办实事|目标任务|工作任务)$")
_QUOTED_TITLE = re.compile(r"《(.+?)》")
_SECTION = re.compile(r"^(?P<number>[一二三四五六七八九十]+)\s*[、.．]\s*(?P<title>.+)$")
# 1. / 1、 / （一） / 一是 — the number a work point or a task sentence starts with.
# ("3.6月底前…" is item 3; "3.5%" is not a number.)
_POINT_NUMBER = re.compile(r"^(?:(\d{1,4})\s*(?:[、﹒]|[.．](?!\d)|[.．](?=\d{1,2}月|(?:19|20)\d{2}年))|"
                           r"[（(]\s*([一二三四五六七八九十\d]+)\s*[）)]|"
                           r"([一二三四五六七八九十]+)\s*是|([一二三四五六七八九十]+)\s*[、.．]|([●•◆■□▪])|([①-⑳]))\s*")
# A problem that begins with the village or community where it was found, then a comma.
_PLACE_AT_HEAD = re.compile(
    r"^(?P<place>[\u4e00-\u9fff]{1,6}(?:乡|镇|街道|街道办)[\u4e00-\u9fff]{1,8}(?:村|社区|居委会|街))[,，:：]")
# "（一）省监察厅牵头的工作": a heading that gives the items under it their lead unit.
_LEAD_HEADING = re.compile(r"^(?P<units>[^，。,；;（(]{2,40}?)(?:牵头|负责|主抓)的(?:工作|任务|事项)[：:。]?$")
_TASK_LABEL = re.compile(
    r"^(?:具体任务|工作任务|任务内容|主要任务|重点任务|整改任务|存在问题|问题描述|问题)\s*[:：]\s*(?P<text>\S.*)$")
_BULLETS = frozenset("●•◆■□▪")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_BULLET_STYLE = "bullet"  # the numbering style of a "- " list's items
# A number that starts an item in the middle of a paragraph, after a space (a document run into one
# line): "；（2）加强…" and "一、二季度" inside a sentence are not new items, nor "增长 3. 5%".
_MID_NUMBER = re.compile(r"(?<=\s)(?=\d{1,3}\s*[.．、﹒](?!\s*\d)|[（(][一二三四五六七八九十\d]+[）)]|"
                         r"[一二三四五六七八九十]+[、](?![一二三四五六七八九十]))")
# "①…；②…；③…" run on in a paragraph that opens with them: each circled number starts an item where a
# clause ends. (Inside a numbered item's sentence, "推进：①…；②…（区住建局牵头）", they are its stages.)
_MID_CIRCLED = re.compile(r"(?<=[\s；;。:：])(?=[②-⑳])")
# The time limit a problem list gives all its problems at the end: "三个工作日内完成整改任务",
# "务必于4月19日前整改完毕". Only a limit for 整改 is taken: "于12月20日前报送完成情况" is a report's date.
_CLOSING_DEADLINE = re.compile(
    r"(?P<phrase>[\d一二三四五六七八九十两]+\s*个?(?:工作日|自然日|日|天|周|星期|个月)(?:之)?内|"
    r"(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*(?:\d{1,2}\s*日|底|上旬|中旬|下旬)?\s*(?:之)?前)\s*"
    r"(?:将[^，。；,;]{0,8}?)?(?:完成|全部)?整改")
# The time limit a plan sets all its tasks before it lists them: "各项民生工程于11月底前全面完成",
# "2024年任务目标力争10月底前基本完成，12月底前高标准、高质量完成" (the whole of it, every stage). The
# subject is all the tasks, and 完成 ends its clause: "重点项目6月底前完成招标", "确保各项任务3月底前完成
# 分解细化" are one step of some work, not when the plan's tasks are due.
_LIMIT_STAGE = (r"(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*(?:\d{1,2}\s*日|底|末)?\s*(?:之)?前[^。；;，,]{0,12}?完成"
                r"(?=[，,。；;]|$)")
_PLAN_WIDE_DEADLINE = re.compile(
    r"(?:(?:各项|全部|所有)(?:目标)?(?:任务|民生工程|民生实事|实事项目|工程|项目)|(?:年度)?(?:任务目标|目标任务))\s*"
    rf"(?:均|都|全部)?\s*(?:力争|确保|务必|必须|要|须|在|于)*\s*(?P<phrase>{_LIMIT_STAGE}(?:[，,]{_LIMIT_STAGE})*)")
# The document's date: its signature line ("2022年8月31日") or the page's 发布日期.
_ISSUE_DATE = re.compile(r"^(?:(?:发布|成文|印发)(?:日期|时间)\s*[:：]\s*)?(?P<year>(?:19|20)\d{2})\s*[-年.]\s*"
                         r"(?P<month>\d{1,2})\s*[-月.]\s*(?P<day>\d{1,2})\s*日?(?:\s.*)?$")
_ATTACHMENT_LIST = re.compile(r"^附件\s*[:：]")
# An entry of the list of attachments after the body: "2.重点任务分解表", "2、项目清单（共15项）".
_LISTED_ATTACHMENT = re.compile(r"^\d{1,2}\s*[.．、]\s*[^。；;]{2,58}[。；;]?$")
_ATTACHMENT_MARK = re.compile(r"^附件\s*(?P<number>\d+)\s*[:：]?\s*(?P<title>.*)$")
_TEAM = re.compile(r"^(?P<number>\d{1,2})\s*[.．、]\s*(?P<name>[^，,：:；;。]+?专班)[，,：:。]?\s*(?P<rest>.*)$")
_TEAM_LEAD = re.compile(
    r"牵头(?:部门|单位)\s*(?:[（(](?P<note>[^）)]*)[）)])?\s*[:：]\s*(?P<units>.+?)[；;。.]?$")


@dataclass
class _WorkPoint:
    item: Item
    units_text: str = ""
    units_line: int | None = None
    deadline_text: str = ""
    labels: set[str] = field(default_factory=set)  # label lines already read (责任单位, 牵头领导 …)
    heading_only: bool = False  # its sentences below carry their own units: not a task itself
    style: str = ""  # how it is numbered: "1." / "(1)" / "(一)" / "一是" / "一、", "" if not
    year: int = 0  # the year its deadlines are in
    lead_heading: str = ""  # "省监察厅牵头": a heading naming who leads the items under it
    # "三义街社区（责任单位：三义街社区）" over "1、…" "2、…": the units of the items under it that name none.
    heading_units: str = ""
    remainder: bool = False  # words after an annotated sentence, a task only if units follow
    list_opener: _WorkPoint | None = None  # a list item's ("- ", "●", "①"): the point that opens its list
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
    stage_year: int | None = None  # set by a "2021年任务" heading in a multi-year plan
    issued: date | None = None  # the document's date: relative time limits count from it
    # "…三个工作日内完成整改": a problem list's one time limit for every problem, said after them.
    closing_deadline: str = ""
    closing_line: int | None = None
    opening_deadline: str = ""  # the limit a notice sets its problems before it lists them
    plan_deadline: str = ""  # the limit a plan sets all its tasks in its 总体要求, below each task's own
    circled_lists: set[int] = field(default_factory=set)  # lines of "①…" paragraphs that a "②…" one follows
    lead_ins: set[int] = field(default_factory=set)  # lines of paragraphs a bulleted list follows
    after_measures_label: bool = False  # the paragraph before was "整改建议：" or the like
    duties_in_prose: bool = False  # see read_document
    section_numbers: dict[str, str] = field(default_factory=dict)  # a section heading's title → its 一、二、


def find_issue_date(paragraphs: list[Paragraph]) -> date | None:
    """The first date that stands alone on its line (a signature) or after 发布日期."""
    for paragraph in paragraphs:
        if match := _ISSUE_DATE.match(paragraph.text.strip()):
            try:
                return date(int(match["year"]), int(match["month"]), int(match["day"]))
            except ValueError:
                continue
    return None


_NOTICE_TITLE = re.compile(r"(?:通报|通知|报告|情况|汇总表|进度表)$")


def find_title(paragraphs: list[Paragraph]) -> str | None:
    for paragraph in sorted(paragraphs, key=lambda p: (p.heading == 0, p.line)):
        text = compact(paragraph.text)
        if _TITLE.search(text) and "通知" not in text and len(text) <= 60:
            return text
    for paragraph in paragraphs:
        if match := _QUOTED_TITLE.search(paragraph.text):
            return compact(match.group(1))
    # "…为民办实事项目1-3月份进展情况的通报": a notice that names no document of tasks.
    for paragraph in paragraphs[:3]:
        if _NOTICE_TITLE.search(text := compact(paragraph.text)) and len(text) <= 80:
            return text
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
    issued = find_issue_date(paragraphs)
    if year is None:
        # The title's year, else the date it was signed; a year in its text ("2020年，全区经济…") may
        # look back, so it is the last resort.
        match = YEAR.search(title or "")
        if match is None and issued is not None:
            year = issued.year
        else:
            match = match or next((m for p in paragraphs if (m := YEAR.search(p.text))), None)
            if match is None:
                raise DocumentError("无法从文档中确定年份，请用 --year 指定")
            year = int(match.group(1))
    reading = _Reading(year=year, units=UnitReader(directory), issued=issued)
    # "①…" on a line of its own, then "②…": the first item of a circled list written one to a line.
    reading.circled_lists = {block.line for block, after in pairwise(blocks) if isinstance(block, Paragraph)
                             and isinstance(after, Paragraph) and block.text.lstrip().startswith("①")
                             and after.text.lstrip().startswith("②")}
    reading.lead_ins = _lead_ins(blocks)
    # A text of no numbered items whose sentences open with the body that leads each ("市公安局牵头，负责…"):
    # a list of duties written as prose (one such sentence in a report or a preamble is no list).
    reading.duties_in_prose = not any(_POINT_NUMBER.match(p.text.strip()) for p in paragraphs) and sum(
        1 for p in paragraphs for sentence in _sentences(p.text) if doers_of(sentence)) >= 2

    mode, attachment_kind, awaiting_title = "body", "", False
    section: str | None = None
    for block in blocks:
        if isinstance(block, Table):
            rows = [SourceRow(_where(r.line), r.cells, r.line, merged_above=block.closed_rows and n > 0,
                              cells_fitted=block.cells_fitted and r.line not in block.rows_with_blanks)
                    for n, r in enumerate(block.rows)]
            result = read_table(rows, year, reading.units, reading.refs, issued=reading.issued)
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
            if _LISTED_ATTACHMENT.match(content):
                continue
            # The list has ended ("附件：" then the attachment's own title on the next line, or the
            # signature before the attachments): this line may title what follows.
            mode, awaiting_title = "attachment", True
        if mode == "attachment":
            if awaiting_title:
                attachment_kind, awaiting_title = _attachment_kind(content), False
                continue
            if attachment_kind == "team":
                _read_team_paragraph(block, reading)
                continue
            # Other attachments (责任分解, 任务分工) are read like the body: their points carry units.
        if stage := YEAR_HEADING.match(compact(content)):
            # A multi-year plan: the deadlines below are in this year until the next such heading.
            reading.stage_year = int(stage["year"])
            continue
        if task := _TASK_LABEL.match(content):
            # "具体任务：推进项目建设" then its 责任单位 / 完成时限 lines: a task of a label/value block.
            last = reading.points[-1] if reading.points else None
            topic = None
            if last is not None and not last.units_text and not last.more_text and _heading_like(last):
                last.heading_only, topic = True, last.item.text.rstrip("。：:")
            _start_point(block, task["text"], "", section, topic, reading)
            continue
        if LABEL_LINE.match(content):
            _attach_label_line(block, content, reading)
            continue
        pieces = split_annotated(content)
        if len(pieces) == 1 and pieces[0][1] is None and (heading := _SECTION.match(content)) \
                and (block.heading or len(content) < 60):
            section = heading["title"]
            reading.section_numbers.setdefault(section, heading["number"])
            continue
        first = True
        for bracketed_words, bracket in pieces:
            # "…杂物; 整改责任单位:县市场监督管理局 整改时限:2021年8月13日前 1.…": labels inside a paragraph
            # close the words before them as a bracket does, and serve the items they follow.
            runs = split_label_runs(bracketed_words)
            for run_index, (words, labels) in enumerate(runs):
                annotation = labels
                if run_index == len(runs) - 1 and bracket is not None:
                    annotation = "；".join(a for a in (labels, bracket) if a)
                # A whole document on one line ("…落实。 一、主要工作目标 1、地区生产总值增长11%(市发改委)。 2、…")
                # has its numbered items inside one paragraph: each starts where its number does.
                parts = _MID_NUMBER.split(words)
                if words.lstrip().startswith("①") and _circled_item("①", block, reading, ""):
                    parts = [piece for part in parts for piece in _MID_CIRCLED.split(part)]
                for index, part in enumerate(parts):
                    part = part.strip()
                    last = index == len(parts) - 1
                    if not last and (heading := _SECTION.match(part)) and len(part) < 60 and not first:
                        section = heading["title"]
                        reading.section_numbers.setdefault(section, heading["number"])
                        continue
                    if part or last:
                        _read_words(block, part, annotation if last else None, section, reading, first=first)
                        first = False
                if labels is not None and reading.points:
                    _share_with_siblings(reading.points, labels, block.line)

    _finish_points(reading)
    if not reading.items and (rows := run_together_rows(paragraphs, year)):
        result = read_table(rows, year, reading.units, reading.refs, issued=reading.issued)
        reading.items += result.items
        reading.problems += [*result.problems, Problem(
            "table.run_together", rows[1].where, "\t".join(rows[1].cells)[:200],
            "表格各列之间没有分隔符，已按行首的序号、行末的时间和单位拆分，请逐行核对", rows[1].line)]
    if not reading.items and any(_REPORT_WORDS.search(p.text) for p in paragraphs[:4]):
        _read_prose_report(paragraphs, reading)
    plan = ParsedPlan(year=year, title=title or source, source=source, items=reading.items,
                      problems=reading.problems, new_units=reading.units.new_units)
    if not plan.items:
        raise DocumentError("文档中没有读到任何工作要点、任务或项目，请检查文件是否为工作要点文档")
    return plan


# "金河办事处：1.丰泽路…；2.郭庄…。雪松街道办事处：纱北路…。": a body, then what it is to put right.
_BODY_THEN_COLON = re.compile(r"(?:^|(?<=[。；;:：]))\s*(?P<body>[^。；;:：，,\s]{2,20})[:：]")
# A notice of what an inspection found or of who is to do what: only such a text is read as a report.
_REPORT_WORDS = re.compile(r"督查|检查|暗访|曝光|通报|整改|巡查|督办|交办|任务分工|重点任务|责任分工|分工"
                           r"|责任单位为")
# "区直各部门：现将《…》印发给你们": the bodies a notice is addressed to, not a problem's owner.
_ADDRESSES = re.compile(r"^\s*(?:现将|现就|为|根据|按照|经|请|《)")
# "请各责任单位…", "请相关单位…": words to every unit of the list (not "请各乡镇于6月底前完成…", a task).
_TO_THEM_ALL = re.compile(r"^\s*请(?:各|相关|有关|上述)(?:责任|牵头|整改)?(?:单位|部门)")
# "河东区90万平方米,其中公园绿地45万平方米;": a place and the figures it is to reach.
_PLACE_WITH_FIGURES = re.compile(r"^(?P<place>(?![全该本城各])[\u4e00-\u9fff]{1,8}(?:区|县|市|旗))(?=\d)")
# "市教育局要在11月底新建幼儿园9所": a sentence whose subject is the body that is to do it.
_SUBJECT = re.compile(r"^(?P<body>[\u4e00-\u9fff]{2,24}?(?:局|委|办|公司|政府|管委会|中心|集团))"
                      r"(?:要(?!求)|将|须|需|\d{1,2}月)")
_LISTED = re.compile(r"(?:^|(?<=[；;。]))\s*\d{1,2}\s*[.．、]\s*")


def _read_prose_report(paragraphs: list[Paragraph], reading: _Reading) -> None:
    """A notice written as a news report (督查通报, 曝光台), nothing numbered or labelled: each
    paragraph whose sentences make a body responsible ("该项整治由市住建局负责", "责任单位为市经信委")
    is a task, and so is each problem listed after a body's name and a colon. Read only when nothing
    else was, so it never adds to a document of another shape."""
    for block in paragraphs:
        content = block.text.strip()
        bodies = [m for m in _BODY_THEN_COLON.finditer(content) if names_bodies(m["body"])
                  and not LABEL_LINE.match(m["body"] + "：") and not _ADDRESSES.match(content[m.end():])]
        for index, match in enumerate(bodies):
            stop = bodies[index + 1].start() if index + 1 < len(bodies) else len(content)
            listed = [p.strip() for p in _LISTED.split(content[match.end():stop]) if p.strip()]
            for number, problem in enumerate(listed, start=1):
                _start_point(block, problem, str(number) if len(listed) > 1 else "", None, None, reading)
                reading.points[-1].units_text, reading.points[-1].units_line = match["body"], block.line
        if bodies:
            continue
        if units_in_prose(content):
            # "A:增长8%,责任单位为区发改委;B:比重16.5%,责任单位为区经信局;": a task up to each body it names.
            sentence, started = "", 0
            for piece in re.split(r"(?<=[;；。])", content):
                sentence += piece
                if units_in_prose(piece):
                    _start_point(block, sentence.strip(), "", None, None, reading)
                    sentence, started = "", started + 1
            if not started:
                _start_point(block, content, "", None, None, reading)
            elif sentence.strip():
                reading.points[-1].more_text.append(sentence)
        elif place := _PLACE_WITH_FIGURES.match(content):
            _start_said(block, content, place["place"], reading)
        else:
            for sentence in _sentences(content):
                # The subject may follow an opening clause: "根据目标任务要求,今年,市住建局要在8月底完成…".
                for clause in re.finditer(r"(?:^|(?<=[，,]))[^，,]+", sentence):
                    if subject := _SUBJECT.match(clause[0].strip()):
                        _start_said(block, sentence[clause.start():].strip(), subject["body"], reading)
                        break
    _finish_points(reading)
    if reading.items:
        first = paragraphs[0]
        reading.problems.append(Problem(
            "document.read_as_report", _where(first.line), first.text[:60],
            "文档中没有编号的任务或任务表格，已按督查通报的写法逐段读出任务和责任单位，请逐条核对", first.line))


# "整改建议：", "整改措施：" on a line of their own: what follows is what the units are to do.
_MEASURES_LABEL = re.compile(r"^\s*(?:整改(?:建议|措施|意见|要求)|处理(?:建议|意见))\s*[:：]\s*$")
# The headings of a document's parts, never a task's title: 存在的问题, 整改要求, 保障措施, 主要任务.
_GENERIC_SECTION = re.compile(
    r"^(?:(?:存在的?|主要|突出)?问题|(?:工作|整改|总体|具体)?要求|(?:保障|工作|整改|主要|具体)?措施|(?:工作|总体|主要)?目标"
    r"|(?:主要|重点|工作)?任务|指导思想|基本原则|(?:基本|工作|进展)?情况|(?:实施|工作)?步骤|(?:进度|时间)?安排"
    r"|组织(?:领导|保障)|(?:工作|组织)保障|(?:工作)?机制|整改(?:建议|意见)|意见建议|其他(?:事项)?)[:：。]?$")


def _lead_ins(blocks: list[Block]) -> set[int]:
    """Lines of the paragraphs a bulleted list follows whose bullets name their units ("确保土地如期到位："
    over "- …" "- …（发展局）"); not "并报送以下材料：" over the materials, nor "具体包括：" over an item's parts."""
    lead_ins: set[int] = set()
    for index, block in enumerate(blocks[:-1]):
        if not isinstance(block, Paragraph) or block.bullet:
            continue
        bullets = list(takewhile(lambda b: isinstance(b, Paragraph) and b.bullet, blocks[index + 1:]))
        if bullets and any(annotation for b in bullets for _, annotation in split_annotated(b.text)):
            lead_ins.add(block.line)
    return lead_ins


def _title_lone_points(reading: _Reading) -> None:
    """"四、中小学智慧教育基础环境建设" over one unnumbered paragraph that ends with its units: the
    heading is that task's title and number, not a group of tasks."""
    by_section: dict[str, list[_WorkPoint]] = {}
    for point in reading.points:
        if point.item.category in reading.section_numbers:
            by_section.setdefault(point.item.category, []).append(point)
    # Only in a list made of such headings, each over its one task: "二、养老服务" over one item among
    # categories of several is the category of that one, and "一、存在的问题" is no task's title.
    if len(by_section) < 2 or any(len(points) != 1 for points in by_section.values()):
        return
    for title, (point,) in by_section.items():
        if not point.item.number and not point.style and point.units_text \
                and not point.heading_only and not point.remainder and not _names_a_body(title) \
                and not re.search(r"[。！？；;]", title) and not _GENERIC_SECTION.match(title.strip()):
            point.item.text = f"{title.strip()} {point.item.text}"
            point.item.number, point.item.category = reading.section_numbers[title], None
            point.item.ref = "wp:" + compact(re.split(r"[。！？]", point.item.text, maxsplit=1)[0])[:60]


def _start_said(block: Paragraph, text: str, units: str, reading: _Reading) -> None:
    """A task of a news report whose body is said by its words, not by a label: reported so."""
    _start_point(block, text, "", None, None, reading)
    reading.points[-1].units_text, reading.points[-1].units_line = units, block.line
    reading.problems.append(Problem("unit.from_prose", _where(block.line), units,
                                    f"责任单位“{units}”是从正文读出的，请核对", block.line))


def _read_words(block: Paragraph, words: str, annotation: str | None, section: str | None,
                reading: _Reading, *, first: bool) -> None:
    """A paragraph's words up to the annotation that closes them (if any)."""
    after_measures_label, reading.after_measures_label = reading.after_measures_label, False
    if _MEASURES_LABEL.match(words):
        reading.after_measures_label = True
        return
    last = reading.points[-1] if reading.points else None
    # (A point's words end at the next section's heading: what follows is not its.)
    open_point = last if last is not None and not last.units_text and last.item.category == section else None
    if not words:
        if annotation is not None:
            if open_point is not None:
                _annotate(open_point, annotation, block.line)
            else:
                reading.problems.append(Problem("unit.orphan", _where(block.line), annotation,
                                                "这段责任单位前面没有任务，已忽略", block.line))
        return
    numbered = _POINT_NUMBER.match(words)
    if numbered and (circled := numbered.group(6)) and not _circled_item(circled, block, reading,
                                                                         _numbering_style(numbered)):
        numbered = None  # "①按可比价格计算。" under a list: a note, not an item
    # A bullet is an item of the list a numbered point opened ("4. 确保土地如期到位："), not words of its own.
    bulleted = block.bullet and first and numbered is None and last is not None and (
        last.style == _BULLET_STYLE or (_heading_like(last) and not last.units_text))
    if numbered is None and annotation is None and not bulleted and open_point is None and first \
            and block.line in reading.lead_ins and len(words) <= 40 and words.rstrip().endswith((":", "：")) \
            and not _CLOSING_DEADLINE.search(words) and not words.lstrip().startswith("请"):
        # "确保土地如期到位：" over "- 在未来十年…" "- 每年公布…（发展局）": the heading of the list below it,
        # whose closing parenthesis is every item's.
        _start_point(block, words, "", section, None, reading)
        return
    if numbered is None and annotation is None and not bulleted:
        if open_point is not None and open_point.lead_heading and not open_point.more_text:
            # The first item under "（一）省监察厅牵头的工作": a task of its own.
            _start_point(block, words, "", section, open_point.item.text, reading)
            return
        if open_point is not None and first and _TO_THEM_ALL.match(words):
            # "请各责任单位针对上述问题迅速整改…" after the list: words to every unit, no task's own, and
            # the limit they may set is every item's ("请各责任单位于5月20日前整改完毕").
            if closing := _CLOSING_DEADLINE.search(words):
                reading.closing_deadline, reading.closing_line = closing["phrase"].strip(), block.line
        elif open_point is not None:
            # A point that runs over several paragraphs, or the words after its last annotation.
            open_point.more_text.append(words)
        elif first and not _CLOSING_DEADLINE.search(words) and not (section and _GENERIC_SECTION.match(section)) \
                and (after_measures_label or reading.duties_in_prose) and any(doers_of(s) for s in _sentences(words)):
            # "整改建议：" over "县交通局负责督促指导，包保单位给予支持，施划…", or duties written as prose
            # ("市公安局牵头，负责…。市住建局牵头，负责…。"): each sentence that opens with its doers is a task,
            # the sentences after it its own. (Not "二、工作要求" over "县政府办负责跟踪督查…" after a list.)
            _read_doers_sentences(block, words, section, reading)
        elif not first and not _CLOSING_DEADLINE.search(words):
            # "…(市经委牵头)耕地保有量保持在…。" then "(市国土房管局牵头)" on the next line: the words after
            # an annotated sentence begin the next task, whose units the next paragraph brings; if none
            # comes, they were the annotated task's last words (see _settle_headings).
            _start_point(block, words, "", section, None, reading)
            reading.points[-1].remainder = True
        elif reading.points and section == reading.points[-1].item.category and \
                (closing := _CLOSING_DEADLINE.search(words)):
            # Only where the list ends: under a heading of its own (三、工作要求) it is advice, not a limit.
            reading.closing_deadline, reading.closing_line = closing["phrase"].strip(), block.line
        elif not reading.points and (opening := _CLOSING_DEADLINE.search(words)):
            # "…请立即进行整改，并于5月20日前将问题整改完成" before the list: every problem's limit.
            reading.opening_deadline = opening["phrase"].strip()
        elif not reading.points and (plan_wide := _PLAN_WIDE_DEADLINE.search(words)) \
                and _said_of_this_year(words, plan_wide.start(), reading.year):
            # "2024年任务目标力争10月底前基本完成，12月底前高标准完成" in the 总体要求 before the list.
            reading.plan_deadline = plan_wide["phrase"].strip()
        elif not reading.points and (period := _campaign_period(words, reading)):
            reading.plan_deadline = period
        return
    if numbered is None and open_point is not None and first and not bulleted and not _heading_like(open_point):
        # The closing words of a point begun in an earlier paragraph.
        open_point.more_text.append(words)
        _annotate(open_point, annotation or "", block.line)
        return
    if numbered is None and open_point is not None and _heading_like(open_point) and (
            len(reading.points) < 2 or reading.points[-2].style != open_point.style) and not (
            bulleted and open_point.style == _BULLET_STYLE):
        # "1.主要指标的责任部门。" over sentences that each carry their own units: a heading. (Not the
        # last item of a list, "4、占道停车", before the next group's "通会桥社区（责任单位：…）".)
        open_point.heading_only = True
    number = next((g for g in numbered.groups() if g), "") if numbered else ""
    if number in _BULLETS:
        number = ""
    elif len(number) == 1 and number in _CIRCLED:
        number = str(_CIRCLED.index(number) + 1)
    style = _BULLET_STYLE if bulleted else _numbering_style(numbered)
    text = words[numbered.end():].strip() if numbered else words
    topic = open_point.item.text.rstrip("。：:") if open_point is not None and open_point.heading_only else None
    marked = bulleted or bool(numbered and (numbered.group(5) or numbered.group(6)))  # "- …", "● …", "①…"
    opener = next((p for p in reversed(reading.points) if not p.remainder and p.style not in (_BULLET_STYLE, style)),
                  None) if marked else None
    _start_point(block, text, number, section, topic, reading)
    reading.points[-1].style, reading.points[-1].list_opener = style, opener
    if annotation is None and (lead := _LEAD_HEADING.match(text)):
        reading.points[-1].lead_heading = lead["units"] + "牵头"
    if annotation is not None:
        _annotate(reading.points[-1], annotation, block.line)
        if marked:
            # "确保土地如期到位：- …  - …  - …（发展局）", "重点推进：①…②…（区住建局牵头）": the list's one
            # closing parenthesis is every item's under it that has none.
            _share_with_siblings(reading.points, annotation, block.line)



def _sentences(words: str) -> list[str]:
    return [s for s in re.findall(r"[^。！？]+[。！？]?", words) if s.strip()]


# "此次专项行动时间为2016年12月1日至2017年2月28日": the campaign's period, whose end is every task's limit.
_CAMPAIGN_PERIOD = re.compile(r"(?:行动|整治|活动|攻坚)(?:时间|期限)(?:为|是|[:：])\s*"
                              r"(?P<phrase>[^。；;，,]{4,40}?(?:至|到|-|—|～|~)[^。；;，,]{2,20})(?=[。；;，,]|$)")


def _campaign_period(words: str, reading: _Reading) -> str:
    """The period of a campaign the document sets going, when it ends in the plan's year or later and
    after the document's date: not an inspection's days that a report looks back on."""
    period = _CAMPAIGN_PERIOD.search(words)
    if period is None or re.search(r"了|已", words[:period.start()]):
        return ""
    end = read_deadline(period["phrase"], reading.year).deadline
    if end is None or end.year < reading.year or (reading.issued is not None and end < reading.issued):
        return ""
    return period["phrase"].strip()


def _read_doers_sentences(block: Paragraph, words: str, section: str | None, reading: _Reading) -> None:
    started = False
    for sentence in _sentences(words):
        if doers := doers_of(sentence):
            _start_point(block, sentence.strip(), "", section, None, reading)
            reading.points[-1].units_text, reading.points[-1].units_line = doers, block.line
            reading.problems.append(Problem("unit.from_prose", _where(block.line), doers,
                                            f"责任单位“{doers}”是从正文读出的，请核对", block.line))
            started = True
        elif started:
            reading.points[-1].more_text.append(sentence)
        elif not reading.points and (period := _campaign_period(sentence, reading)):
            reading.plan_deadline = period


def _said_of_this_year(words: str, position: int, year: int | None) -> bool:
    """Whether the sentence at ``position`` is about the plan's own year: not "去年…", nor "2020年，各项
    民生实事均于11月底前完成" in a 2021 plan looking back."""
    start = max(words.rfind(mark, 0, position) for mark in "。！？；;") + 1
    sentence = words[start:position]
    if re.search(r"去年|上年|前年|以来", sentence):
        return False
    years = re.findall(r"((?:19|20)\d{2})\s*年", sentence)
    return not years or int(years[-1]) == year  # the year said last before it is the one it speaks of


def _circled_item(circled: str, block: Paragraph, reading: _Reading, style: str) -> bool:
    """A circled number numbers an item only in a list of them: ① with ② after it, in its paragraph or
    the next, ② and on after the circled item numbered one less."""
    last = reading.points[-1] if reading.points else None
    if circled == "①":
        # (Not under an item that has its units: "①按可比价格计算；②…" there are its notes.)
        return ("②" in block.text or block.line in reading.circled_lists) and (last is None or not last.units_text)
    return last is not None and last.style == style and last.item.number == str(_CIRCLED.index(circled))


def _numbering_style(numbered: re.Match[str] | None) -> str:
    if numbered is None:
        return ""
    group = next(index for index, g in enumerate(numbered.groups()) if g)
    return f"{group}:{numbered.group(group + 1).isdigit()}"


def _heading_like(point: _WorkPoint) -> bool:
    return not point.more_text and len(point.item.text) <= 30


def _start_point(block: Paragraph, text: str, number: str, section: str | None, topic: str | None,
                 reading: _Reading) -> None:
    text, labelled = split_inline_labels(text)
    heading = re.split(r"[。！？]", text, maxsplit=1)[0]
    item = Item(kind="workpoint", ref="", text=text, category=section, topic=topic, number=number,
                line=block.line)
    reading.points.append(_WorkPoint(item, year=reading.stage_year or reading.year))
    item.ref = "wp:" + compact(heading)[:60]
    if labelled:
        _annotate(reading.points[-1], labelled, block.line)


def _annotate(point: _WorkPoint, annotation: str, line: int) -> None:
    found = read_annotation(annotation)
    if found.units_text:
        point.units_text = "；".join(t for t in (point.units_text, found.units_text) if t)
        point.units_line = point.units_line or line
    if found.deadline_text:
        point.deadline_text = found.deadline_text


def _attach_label_line(block: Paragraph, content: str, reading: _Reading) -> None:
    if not reading.points:
        reading.problems.append(Problem("unit.orphan", _where(block.line), block.text,
                                        "这一行责任单位前面没有工作要点，已忽略", block.line))
        return
    point = reading.points[-1]
    label = compact(re.split(r"[:：]", content, maxsplit=1)[0])
    if label in point.labels:
        reading.problems.append(Problem("unit.duplicate_line", _where(block.line), block.text,
                                        f"工作要点{point.item.number}已有“{label}”，这一行已忽略", block.line))
        return
    point.labels.add(label)
    _annotate(point, content, block.line)
    _share_with_siblings(reading.points, content, block.line)


def _share_with_siblings(points: list[_WorkPoint], content: str, line: int) -> None:
    """"(1)…(2)…(3)… 问题整改责任单位：市科技馆 整改时限：3天": a label line after a run of numbered
    items that have none of their own is theirs as much as the last one's, when the items are one
    group: under a heading of another numbering ("1. 市科技馆"), in one paragraph with it, or after
    an item of theirs whose units came on a label line of its own. Otherwise an item without units
    stays without (and is reported so)."""
    last = points[-1]
    index = len(points) - 2
    while index >= 0 and not points[index].units_text and points[index].style == last.style \
            and not points[index].heading_only:
        index -= 1
    siblings = points[index + 1:-1]
    if not siblings:
        return
    parent = points[index] if index >= 0 else None
    under_heading = parent is not None and not parent.units_text and parent.style != last.style \
        and _heading_like(parent)
    one_paragraph = all(p.item.line == line for p in siblings)
    # "1.…\n责任单位：A\n2.…\n3.…\n责任单位：B": where each item's units follow it on a label line,
    # a label line after several items is theirs.
    after_labelled_sibling = parent is not None and parent.style == last.style and bool(parent.labels)
    if not (under_heading or one_paragraph or after_labelled_sibling):
        return
    for sibling in siblings:
        _annotate(sibling, content, line)
    if under_heading:
        _make_heading(points, index)


def _settle_headings(points: list[_WorkPoint]) -> None:
    """Before units are read: words after an annotation that no units followed go back to their task,
    and an item without units over a list that starts again at 1 ("（一）推进污染防治" over "1. …",
    "2. 市图书馆" over "(1)…") is that list's heading."""
    kept: list[_WorkPoint] = []
    for point in points:
        if point.remainder and not point.units_text and _TO_THEM_ALL.match(point.item.text):
            continue  # "…(环卫站)。请相关单位尽快抓好整改落实。": words to every unit, no task's own
        if point.remainder and not point.units_text and kept:
            kept[-1].more_text.append(point.item.text)
        else:
            kept.append(point)
    points[:] = kept
    for index, point in enumerate(points[:-1]):
        following = points[index + 1]
        if point.heading_only or point.lead_heading or not _heading_like(point):
            continue
        if not (following.style and following.style != point.style
                and (following.item.number == "1" or _numbering_goes_on(points, index))):
            continue
        if not point.units_text:
            _make_heading(points, index)
            if not following.units_text and _names_a_body(name := point.item.text.rstrip("：:。 ")):
                # "（三）闻喜县政府" over "1、…2、…": the items are that body's to do.
                point.heading_units, point.units_line = name, point.item.line
        elif not following.units_text:
            # A heading with units over a list whose items name none: the items are the tasks.
            _make_heading(points, index)
            point.heading_units, point.units_text = point.units_text, ""


def _numbering_goes_on(points: list[_WorkPoint], index: int) -> bool:
    """"（一）…1. 2. （二）… 3. 4.": the items after ``points[index]`` go on numbering from those before
    it, so it heads them as the one before it headed theirs."""
    following = points[index + 1]
    before = next((p for p in reversed(points[:index]) if p.style == following.style), None)
    return before is not None and before.item.number.isdigit() and following.item.number.isdigit() \
        and int(following.item.number) == int(before.item.number) + 1 and any(
            p.style == points[index].style and p.heading_only for p in points[:index])


# A body's name begins with its place ("闻喜县政府", "区商务局", "各乡镇"); a heading that begins with
# what is to be done ("加快建设法治政府", "深化一网通办") names work, whatever its last word.
_PLACED = re.compile(r"^(?:各|[\u4e00-\u9fff]{0,8}?(?:省|自治区|市|州|盟|县|区|旗|镇|乡|街道))")


# An office inside a body needs no place of its own: "综合办公室(党群工作部、监察室)", "招商合作局",
# "规划处" (not "新发展格局", "全国文化中心": what is built, not who builds it).
_OFFICE_ENDING = r"局|办公室|管委会|处|科|股"
_OFFICE = re.compile(rf"(?:{_OFFICE_ENDING})(?:[（(][^（）()]{{1,30}}[）)])?$")
# A section named for a body that answers for work: an office, or a government and its levels.
_SECTION_BODY = re.compile(rf"(?:{_OFFICE_ENDING}|政府|街道|办事处|乡|镇|委)$")
# What ends like a body but is none: "新发展格局", "服务发展大局", "奋力开创新局", "落到实处", "区域医疗中心".
_NOT_A_BODY_AT_ALL = re.compile(r"(?:格|布|大|全|结|当|变|新|开|残|时|战)局$|实处$|^区域")


def _names_a_body(text: str) -> bool:
    name = re.sub(r"[（(][^（）()]*[）)]$", "", text)
    if len(name) > 20 or starts_with_action(text) or _NOT_A_BODY_AT_ALL.search(name):
        return False
    return (names_bodies(name) and bool(_PLACED.match(text))) or (
        len(name) <= 12 and bool(_OFFICE.search(text)) and looks_like_unit_list(name))


def _make_heading(points: list[_WorkPoint], index: int) -> None:
    """``points[index]`` is no task but the heading of the items after it, up to the next item
    numbered the way it is: they take its words as their topic."""
    heading = points[index]
    heading.heading_only = True
    topic = heading.item.text.rstrip("。：:")
    for child in points[index + 1:]:
        if child.style == heading.style:
            break
        child.item.topic = child.item.topic or topic


def _finish_points(reading: _Reading) -> None:
    """Units, refs, dates and numbering checks once every point has all its text."""
    items: list[Item] = []
    expected = 1
    _settle_headings(reading.points)
    _title_lone_points(reading)
    carrier: _WorkPoint | None = None
    owner: _WorkPoint | None = None  # the heading whose units its items take when they name none
    for point in reading.points:
        item = point.item
        if point.lead_heading:
            carrier = point
            continue
        if carrier is not None and point.style == carrier.style and point.style:
            carrier = None  # the next heading of the same rank: its items are no longer under it
        if carrier is not None:
            point.units_text = "；".join(t for t in (carrier.lead_heading, point.units_text) if t)
            point.units_line = point.units_line or carrier.item.line
        if owner is not None and (point.style == owner.style or point.heading_units
                                  or point.item.category != owner.item.category):
            owner = None  # the next heading of its rank, or the next section
        if point.heading_units:
            owner = point
        elif owner is not None:
            if not point.units_text:
                point.units_text, point.units_line = owner.heading_units, owner.units_line
            point.deadline_text = point.deadline_text or owner.deadline_text
        if point.heading_only:
            continue
        # Joined once: adding each paragraph to the text as it came copied the whole point every
        # time, quadratic in a long one (4 MB of paragraphs after one point took 5 s).
        item.text = "".join([item.text, *point.more_text])
        item.ref = unique_ref(item.ref, reading.refs)
        where = _where(point.units_line or item.line or 0)
        if not point.units_text and (opener := point.list_opener) is not None and opener.units_text:
            # "1.推进城市更新行动（区住建局牵头），重点做好以下工作：" over "- 完成老旧小区改造30个；": the
            # list's items are the opener's to do.
            point.units_text, point.units_line = opener.units_text, opener.units_line
            point.deadline_text = point.deadline_text or opener.deadline_text
        if not point.units_text and item.category and _names_a_body(item.category) \
                and _SECTION_BODY.search(item.category):
            # "二、规划建设股" over "1.…": a section named for an office is its items' owner (not one named
            # for what is built: "七、市直公用事业综合服务中心").
            point.units_text, point.units_line = item.category, item.line
        if not point.units_text and (prose := (point.style and next(
                (doers for sentence in _sentences(item.text) if (doers := doers_of(sentence))), ""))
                or units_in_prose(item.text, subjects=bool(point.style))):
            point.units_text, point.units_line = prose, item.line
            reading.problems.append(Problem(
                "unit.from_prose", _where(item.line or 0), prose,
                f"责任单位“{prose}”是从正文读出的（如“由…负责”），请核对", item.line))
        elif not point.units_text and (place := _PLACE_AT_HEAD.match(item.text)):
            # "北安乐乡北安乐村,村北砖厂路东边垃圾未清理;": a notice that names each problem's village
            # ("逐村通报") makes the village answer for it.
            point.units_text, point.units_line = place["place"], item.line
            reading.problems.append(Problem(
                "unit.from_place", _where(item.line or 0), place["place"],
                f"责任单位“{place['place']}”是从问题开头的地名读出的，请核对", item.line))
        if point.units_text:
            owners = reading.units.read(point.units_text, where, point.units_line, reading.problems)
            item.units, item.roles, item.officials = owners.names, owners.roles, owners.officials
            item.units_as_written = owners.as_written
        else:
            reading.problems.append(Problem("workpoint.no_units", _where(item.line or 0), item.text[:60],
                                            f"工作要点{item.number}没有写责任单位，已导入但无人负责", item.line))
        if item.number.isdigit():
            number = int(item.number)
            if number not in (expected, 1):
                reading.problems.append(Problem(
                    "workpoint.numbering", _where(item.line or 0), item.text[:60],
                    f"工作要点序号为{number}，按顺序应为{expected}（序号重复或跳号）；已按原序号导入", item.line))
            expected = number + 1
        item.recurrence = find_recurrence(item.text)
        item.milestones = find_milestones(item.text, point.year)
        if not point.deadline_text and reading.closing_deadline and (item.line or 0) < (reading.closing_line or 0):
            point.deadline_text = reading.closing_deadline
        elif not point.deadline_text and reading.opening_deadline:
            point.deadline_text = reading.opening_deadline
        said = deadline_in_text(item.text, point.year) if not point.deadline_text and item.units \
            and not item.recurrence else None
        if said is None and not point.deadline_text and reading.plan_deadline and not item.recurrence:
            point.deadline_text = reading.plan_deadline  # the plan's, for a task that sets no limit of its own
        if point.deadline_text:
            deadline = read_deadline(point.deadline_text, point.year, reference=reading.issued)
            item.deadline_text, item.deadline, item.start = point.deadline_text, deadline.deadline, deadline.start
            item.recurrence = deadline.recurrence or item.recurrence
            item.milestones += deadline.milestones
            if not deadline.understood:
                reading.problems.append(Problem("deadline.unreadable", where, point.deadline_text,
                                                f"{deadline.note}；该任务暂无截止日期", point.units_line))
        elif said is not None:
            # "於2023年底前消除…（環境及生態局）": no time limit of its own but the one its sentence sets.
            item.deadline_text, item.deadline = said.text, said.deadline
            known = {milestone.due for milestone in item.milestones}
            item.milestones += [milestone for milestone in said.milestones if milestone.due not in known]
            reading.problems.append(Problem(
                "deadline.from_text", _where(item.line or 0), said.text,
                f"完成时限“{said.text}”是从任务正文读出的，请核对", item.line))
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
