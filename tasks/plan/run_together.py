"""Table rows whose cells a conversion printed with nothing between them.

Some mirrored pages lose every separator of a task table, so that a row comes as one run of
words: "62鹅湖公园三期改造人工岛…已开工建设百姓大舞台2008年1月2008年12月张学民市建设局" is 序号,
项目, 建设内容, 进展, 开工时间, 完成时间, 责任领导 and 责任单位. Such a row can still be read from
its ends: it starts with its number, directly followed by its words, and ends with its times
and then who is responsible. Read only when nothing else in the document was, so that it never
takes apart a document of another shape.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from tasks.plan.annotations import looks_like_unit_list
from tasks.plan.document import Paragraph
from tasks.plan.tables import SourceRow

# The least number of rows, numbered one after another, that make such a table.
MIN_ROWS = 3
_ROW_NUMBER = re.compile(r"(?<!\d)(?P<number>\d{1,3})(?=[\u4e00-\u9fff“\"(（])")
_TIME = r"(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?(?:底|末)?)?"
# The row's end: one or two times (start and completion), then the official and the units.
_ENDING = re.compile(rf"(?P<times>(?:{_TIME}){{1,2}})(?P<owners>[^\d]+)$")
_ONE_TIME = re.compile(_TIME)
# The common surnames, to tell a 责任领导 run into the units ("张学民市建设局") from a body's name.
_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
                      "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
                      "贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_BODY_CHARACTERS = re.compile(r"[区县市省局委办镇乡街村会所院司队站中]")
HEADER = ["序号", "任务内容", "完成时限", "责任领导", "责任单位"]
# A row longer than this is no table row: the search for rows stops looking that far back.
_LONGEST_ROW = 2000
# The times, leader and units that end a row are no longer than this.
_LONGEST_ENDING = 200
# What a row's number follows when it is not at a paragraph's start: the end of the units before it.
_ENDS_ROW = re.compile(r"[局委办会司院所站队心厅处室组团部社钢区县镇乡街村]")
# Two characters that make a place's name, so that the first is no person's last: 新区, 城区.
_PLACE_WORDS = frozenset({"新区", "城区", "郊区", "园区", "景区", "山区", "矿区", "社区", "湾区", "港区", "林区",
                          "牧区", "老区", "片区", "辖区", "新市", "城市", "新县"})


def run_together_rows(paragraphs: list[Paragraph], plan_year: int) -> list[SourceRow] | None:
    """The rows of such a table under a header of our own, or None when the text holds none. The
    text may have been joined into long paragraphs, so rows are found by their numbers: each one at
    a paragraph's start or right after the units that end the row before it, each next one after a
    row's times and units. A row's times are the plan's (a list of people born in 1985 is no table
    of tasks)."""
    text = "".join(p.text.strip() for p in paragraphs)
    starts: list[int] = []  # where each paragraph's words begin in ``text``
    offset = 0
    for paragraph in paragraphs:
        starts.append(offset)
        offset += len(paragraph.text.strip())
    paragraph_starts = set(starts)

    def line_at(position: int) -> int:
        return paragraphs[bisect_right(starts, position) - 1].line

    def paragraph_end(position: int) -> int:
        index = bisect_right(starts, position)
        return starts[index] if index < len(starts) else len(text)

    # Every number may begin a chain of rows; a chain waits for its next number, which must come
    # after a row's ending, within a row's length.
    waiting: dict[int, list[list[re.Match[str]]]] = {}  # the next number → the chains expecting it
    best: list[re.Match[str]] = []
    for candidate in _ROW_NUMBER.finditer(text):
        if candidate.start() not in paragraph_starts and not _ENDS_ROW.search(text, max(0, candidate.start() - 1),
                                                                            candidate.start()):
            continue  # "按60米宽", "第57项": a figure inside the words, not a row's number
        number = int(candidate["number"])
        grown = None
        still_waiting = []
        for chain in sorted(waiting.pop(number, []), key=len, reverse=True):  # the longest goes on first
            if candidate.start() - chain[-1].end() > _LONGEST_ROW:
                best = max(best, chain, key=len)  # too far back to go on
            elif grown is None and _cells(0, "", text[max(chain[-1].end(), candidate.start() - _LONGEST_ENDING):
                                                      candidate.start()], plan_year) is not None:
                # (Only the row's end decides, so only its end is looked at.)
                grown = [*chain, candidate]
            else:
                still_waiting.append(chain)
        if still_waiting:
            waiting[number] = still_waiting
        waiting.setdefault(number + 1, []).append(grown or [candidate])
    best = max([best, *(chain for chains in waiting.values() for chain in chains)], key=len)
    rows: list[SourceRow] = []
    for index, number in enumerate(best):
        if index + 1 < len(best):
            stop = best[index + 1].start()
        else:
            # The last row ends with its paragraph, or with the names a list left open ("…管委会、")
            # carries on to the next line: what follows the table is not its last row's.
            stop = paragraph_end(number.start())
            while stop < len(text) and text[stop - 1] in "、，," and (following := text[stop:paragraph_end(stop)]) \
                    and not re.search(r"\d", following) and len(following) <= 40:
                stop += len(following)
        row = _cells(line_at(number.start()), number["number"], text[number.end():stop], plan_year)
        if row is not None:
            rows.append(row)
    if len(rows) < MIN_ROWS:
        return None
    return [SourceRow("表头", HEADER, None), *rows]


def _cells(line: int, number: str, words: str, plan_year: int) -> SourceRow | None:
    # The ending is at most a few dozen characters: looked for there only, however long the row.
    tail_start = max(0, len(words) - _LONGEST_ENDING)
    ending = _ENDING.search(words, tail_start)
    if ending is None:
        return None
    times = _ONE_TIME.findall(ending["times"])
    if not all(plan_year - 1 <= int(t[:4]) <= plan_year + 10 for t in times):
        return None
    official, owners = _official_first(ending["owners"].strip("、，,。.；; "))
    # The last name at least must end like a body's ("萍钢、市环保局": a short name may come first).
    if not looks_like_unit_list(re.split(r"[、，,]", owners)[-1]):
        return None
    deadline = f"{times[0]}至{times[1]}" if len(times) == 2 else times[0]
    return SourceRow(f"第{line}行", [number, words[:ending.start()], deadline, official, owners], line)


def _official_first(owners: str) -> tuple[str, str]:
    """"张学民市建设局": the official and the units, when a person's name runs into a body's name
    that starts with its level ("市建设局", "开发区"); "江北新区管委会" and "林业和草原局" are one name."""
    name, rest = owners[:3], owners[3:]
    if (name[:1] in _SURNAMES and not _BODY_CHARACTERS.search(name) and len(rest) >= 3
            and (re.match(r"[省市县区]", rest) or rest.startswith(("开发区", "高新区", "经开区")))
            and name[-1] + rest[0] not in _PLACE_WORDS and looks_like_unit_list(rest)):
        return name, rest
    return "", owners
