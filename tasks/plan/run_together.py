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


def run_together_rows(paragraphs: list[Paragraph]) -> list[SourceRow] | None:
    """The rows of such a table under a header of our own, or None when the text holds none. The
    text may have been joined into long paragraphs, so rows are found by their numbers: each next
    one directly after the times and units that end the row before it."""
    text = "".join(p.text.strip() for p in paragraphs)
    starts: list[int] = []  # where each paragraph's words begin in ``text``
    offset = 0
    for paragraph in paragraphs:
        starts.append(offset)
        offset += len(paragraph.text.strip())

    def line_at(position: int) -> int:
        return paragraphs[bisect_right(starts, position) - 1].line

    # Every number may begin a chain of rows; a chain waits for its next number, which must come
    # after a row's ending, within a row's length. One pass, so a long text without rows costs
    # no more than reading it.
    waiting: dict[int, list[list[re.Match[str]]]] = {}  # the next number → the chains expecting it
    best: list[re.Match[str]] = []
    for candidate in _ROW_NUMBER.finditer(text):
        number = int(candidate["number"])
        grown = None
        still_waiting = []
        for chain in sorted(waiting.pop(number, []), key=len, reverse=True):  # the longest goes on first
            if candidate.start() - chain[-1].end() > _LONGEST_ROW:
                best = max(best, chain, key=len)  # too far back to go on
            elif grown is None and _cells(0, "", text[chain[-1].end():candidate.start()]) is not None:
                grown = [*chain, candidate]
            else:
                still_waiting.append(chain)  # "按60米宽": a figure inside the row, not the next row
        if still_waiting:
            waiting[number] = still_waiting
        waiting.setdefault(number + 1, []).append(grown or [candidate])
    best = max([best, *(chain for chains in waiting.values() for chain in chains)], key=len)
    rows: list[SourceRow] = []
    for index, number in enumerate(best):
        stop = best[index + 1].start() if index + 1 < len(best) else len(text)
        row = _cells(line_at(number.start()), number["number"], text[number.end():stop])
        if row is not None:
            rows.append(row)
    if len(rows) < MIN_ROWS:
        return None
    return [SourceRow("表头", HEADER, None), *rows]


def _cells(line: int, number: str, words: str) -> SourceRow | None:
    ending = _ENDING.search(words)
    if ending is None:
        return None
    official, owners = _official_first(ending["owners"].strip("、，, "))
    # The last name at least must end like a body's ("萍钢、市环保局": a short name may come first).
    if not looks_like_unit_list(re.split(r"[、，,]", owners)[-1]):
        return None
    times = _ONE_TIME.findall(ending["times"])
    deadline = f"{times[0]}至{times[1]}" if len(times) == 2 else times[0]
    return SourceRow(f"第{line}行", [number, words[:ending.start()], deadline, official, owners], line)


def _official_first(owners: str) -> tuple[str, str]:
    """"张学民市建设局": the official and the units, when a person's name runs into a body's name."""
    for length in (3, 2):
        name, rest = owners[:length], owners[length:]
        if (name[:1] in _SURNAMES and not _BODY_CHARACTERS.search(name) and len(rest) >= 2
                and looks_like_unit_list(rest)):
            return name, rest
    return "", owners
