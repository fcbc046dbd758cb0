"""Where a document says who does a task and by when, outside a table.

Paragraph documents put it after the task's words, in one of a few forms:

    …增长7%以上。（区发改局牵头，各镇街按职责分工负责）
    …增长11%。[牵头单位:县发改局(粮食局);责任单位:各镇人民政府]
    …增长8%以上。(责任领导:杜新国;牵头单位:区发改局)
    …。责任单位：区商务局、区财政局；完成时限：9月底前。
    主办单位:县城投公司,协办单位:住建局、凤城镇。          (a line of its own)
    问题整改责任单位：区城管委  整改时限：15天             (a line of its own)

Several tasks can share one paragraph, each sentence closed by its own bracket
("…20%。(市经委牵头)万元工业增加值取水量降低20%。(市节水办、市经委牵头)").
This module finds those annotations and splits them into the 责任单位 text (read by
``tasks.plan.units``) and the 完成时限 phrase; it knows nothing of the rest of the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.plan.units import (
    CLOSING_BRACKETS,
    LEAD_MARKS,
    OPENING_BRACKETS,
    SECTION_ENDING,
    UNIT_ENDING,
    split_outside_brackets,
)
from tasks.text import fold_width

MAX_BRACKET = 400

# A label that introduces units, people or a time limit.
# (主体责任 / 监督责任: the body that must put a problem right, and the one that sees to it.)
# (联系单位 / 报送单位 are who to call or write to, never who does the task.)
_UNIT_LABEL = (r"(?:(?!联系|报送|咨询)[\u4e00-\u9fff]{0,6}?(?:单位|部门|主体|处室|科室|辖区)|"
               r"(?:主体|监督|属地|管理|直接)责任)")
_OFFICIAL_LABEL = r"[\u4e00-\u9fff]{0,4}?(?:领导|责任人|负责人)"
_DEADLINE_LABEL = (r"[\u4e00-\u9fff]{0,4}?(?:完成时限|完成时间|办结时限|整改时限|整改期限|时限要求|时间要求|"
                   r"时间节点|完成期限|时限|截止时间|计划完成时间)")
_ANY_LABEL = re.compile(rf"(?:{_UNIT_LABEL}|{_OFFICIAL_LABEL}|{_DEADLINE_LABEL}|牵头|配合|协办)\s*[:：]")
LABEL_LINE = re.compile(rf"^(?:{_UNIT_LABEL}|{_OFFICIAL_LABEL}|{_DEADLINE_LABEL})\s*[:：]")
_DEADLINE_SEGMENT = re.compile(
    rf"(?:^|(?<=[;；。,，\s]))(?:{_DEADLINE_LABEL})\s*[:：]\s*(?P<deadline>[^;；。]*)[;；。]?")
# The duty words that close a unit list: "A、B牵头，C配合", "（X负责）", "（X主办,Y协办）".
_ROLE_WORDS = re.compile(r"(?:负责|牵头|配合|主办|协办|参与|落实|按职责分工)")
_DUTY_ENDING = re.compile(r"(?:按职责分工|按职责|分别|共同)?(?:牵头|负责|具体|抓好)?"
                          r"(?:负责|牵头|配合|主办|协办|参与|落实|办理|组织实施|牵头组织)$")
# Words of a time limit, in an annotation or a table cell: "9月底前", "2021年12月底前完成", "长期坚持".
TIME_WORDS = re.compile(
    r"\d{1,2}\s*月|年底|年末|年内|季度|上半年|下半年|长期|持续|常态|全年|[上中下]旬|\d{4}\s*年|春节|元旦|国庆|"
    r"立行立改|即知即改|工作日|\d+\s*[天日]内|底前|月前|前完成")
_DONE_WORD = re.compile(r"(?:全面|全部)?完成$")
_EXPLAINS = re.compile(r"\d|简称|不含|含|包括|试行|暂行|详见|见附件|注|例如|如|等$|共")
# How the name of a body ends, strictly: what a bracket holding nothing but names must show.
_BODY_ENDING = re.compile(
    r"(?:局|委|办|室|厅|政府|街道|镇|乡|部门|单位|中心|公司|集团|管委会|办事处|指挥部|海关|院|站|所|社|联|队|组|"
    r"开发区|园区|新区|学校|小学|中学|幼儿园|[居村]委会|委员会|" + SECTION_ENDING
    + r"|(?<=[\u4e00-\u9fff]{2})(?<![全内外东西南北中局本干])部"
    # "(市政处)", "(人事处)", "(行政审批处)" name a body; "(共3处)", "(西北角处)", "(楼道连接处)" count or
    # say places.
    + r"|(?<=[\u4e00-\u9fff]{2})(?<![此该各多几共数个两一二三四五六七八九十百"
    + r"角口边旁侧段头门前后上下内外间点墙弯拐洼接叉汇交])处)"
    r"(?:[（(〔][^）)〕]{1,12}[）)〕])?$")
_NEXT_NUMBER = re.compile(r"\d{1,3}[.．、]|[一二三四五六七八九十]+[、是]")
_PIECE_SEPARATORS = frozenset("、,，;；/ \t\n")


@dataclass(frozen=True)
class Annotation:
    units_text: str
    deadline_text: str


def looks_like_unit_list(text: str, ending: re.Pattern[str] = UNIT_ENDING) -> bool:
    """Every piece ends like a body's name: 局, 委, 政府, 街道, 各部门 … (a ▲ before one marks the lead)."""
    pieces = [p.strip().lstrip(LEAD_MARKS) for p in split_outside_brackets(fold_width(text), _PIECE_SEPARATORS)]
    pieces = [p for p in pieces if p]
    if len(pieces) > 1:
        # A list may close like a sentence ("…，魏武国控集团。"); one name that does is a sentence.
        pieces[-1] = pieces[-1].rstrip("。.")
    return bool(pieces) and all(len(p) <= 30 and ending.search(p.rstrip("等")) for p in pieces)


# A task starts with what is to be done; a body's name never does ("新建社区卫生服务站" is a task).
_ACTION = re.compile(
    r"^(?:新建|新增|新改扩建|建成|建设|改造|改建|扩建|推进|推动|完成|开展|实施|启动|加快|提升|加强|深化|落实|组织|打造|创建|"
    r"培育|实现|确保|开工|修建|整治|提高|优化|健全|完善|建立|制定|做好|持续|全面|大力|积极|着力|力争|新[(（][改扩、]+[)）]建|"
    r"支持|引导|鼓励|促进|保障|规范|强化|巩固|拓展|扩大|增加|减少|降低|控制|实行|探索|争取|筹建|迁建|续建|整合)")


def starts_with_action(text: str) -> bool:
    return bool(_ACTION.match(text))


def names_bodies(text: str) -> bool:
    """Every piece is a body's name by the stricter ending (局, 委, 办事处, 街道 …, not 区 or 组)."""
    return looks_like_unit_list(text, _BODY_ENDING)


def is_annotation(contents: str) -> bool:
    """Whether a bracket's contents say who is responsible (rather than explain the text)."""
    text = contents.strip()
    if not text or len(text) > 300:
        return False
    if _ANY_LABEL.match(text):
        return True
    clauses = [c.strip() for c in split_outside_brackets(text, frozenset("，,；;")) if c.strip()]
    # "（区发改委牵头，2021年12月底前完成）": a duty clause, and perhaps a time limit beside it.
    if any(_DUTY_ENDING.search(c) and _DUTY_ENDING.sub("", c).strip() and looks_like_unit_list(
            _DUTY_ENDING.sub("", c)) for c in clauses) and all(
            _DUTY_ENDING.search(c) or TIME_WORDS.search(c) or looks_like_unit_list(c) for c in clauses):
        return True
    # A bare list of names: stricter, as a bracket more often explains ("（试行）", "（共3处）",
    # "（国家卫生城市）") than names bodies.
    return not _EXPLAINS.search(text) and looks_like_unit_list(text, _BODY_ENDING)


def _says_duty(contents: str) -> bool:
    return bool(_ANY_LABEL.match(contents.strip()) or _ROLE_WORDS.search(contents))


_PLACE_ENDING = re.compile(r"(?:镇|乡|街道|社区|村|区|县|市|旗)$")


def _closes_sentence(text: str, start: int, end: int, in_a_list: bool = False) -> bool:
    """A bare list of names in brackets is an annotation only where a sentence ends: after 。 or at
    the start, and before the end, 。 or the next sentence — "镇（街道）、村（社区）" is not one.
    In a run of clauses each closed by its names (``in_a_list``), a comma ends one as well:
    "…污水横流(市政处)，人行道上白色垃圾较多(环卫处)。"."""
    before = start - 1
    while before >= 0 and text[before].isspace():
        before -= 1
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    sentence_before = before < 0 or text[before] in "。！？；;.!?"
    next_character = text[after] if after < len(text) else ""
    sentence_after = not next_character or next_character in "。；;.（(" or bool(_NEXT_NUMBER.match(text, after))
    # "…增长11%(市发改委,各县市区政府)。": a full stop right after the bracket closes the sentence too.
    # (Not after a body's or a place's name, which the bracket then explains: "各乡镇（街道），",
    # "省交通运输厅（省公路局），"; nor a bracket of places, where the work is: "（城关镇、城东街道），".)
    names = [n.strip() for n in re.split(r"[、，,]", text[start + 1:end - 1]) if n.strip()]
    return (sentence_after and (sentence_before or next_character in ("。", "；", ";"))) or (
        in_a_list and next_character in "，," and not UNIT_ENDING.search(text[max(0, start - 12):start])
        and not all(_PLACE_ENDING.search(name) for name in names))


def _bracket_end(text: str, start: int) -> int | None:
    """Index just after the bracket opened at ``start``, nested brackets included."""
    depth = 0
    # An annotation is short: a bracket not closed within this many characters is a stray one.
    for index in range(start, min(len(text), start + MAX_BRACKET)):
        character = text[index]
        if character in OPENING_BRACKETS:
            depth += 1
        elif character in CLOSING_BRACKETS:
            depth -= 1
            if depth == 0:
                return index + 1
    return None


_LABEL_THEN_SEMICOLON = re.compile(rf"^\s*(?P<label>{_UNIT_LABEL})\s*[;；]")


def split_annotated(text: str) -> list[tuple[str, str | None]]:
    """The text cut after each annotation bracket: [(words, annotation contents), …], the words
    after the last annotation (if any) with ``None``."""
    pieces: list[tuple[str, str | None]] = []
    position = index = 0
    while index < len(text):
        if text[index] in OPENING_BRACKETS:
            end = _bracket_end(text, index)
            if end is None:
                index += 1  # a bracket never closed: read on past it
                continue
            # "（责任单位；住建局、畜牧局）": a semicolon typed for the label's colon.
            contents = _LABEL_THEN_SEMICOLON.sub(r"\g<label>：", text[index + 1:end - 1])
            if is_annotation(contents) and (_closes_sentence(text, index, end, in_a_list=bool(pieces))
                                            or _says_duty(contents)):
                after = end
                while after < len(text) and text[after] in "。.；;，, ":
                    after += 1
                annotation = contents.strip()
                # "（区发改委负责）（2021年12月底前）": a time in the next bracket belongs to it.
                if after < len(text) and text[after] in OPENING_BRACKETS and (time_end := _bracket_end(text, after)):
                    time = text[after + 1:time_end - 1].strip()
                    if TIME_WORDS.search(time) and len(time) <= 30 and not looks_like_unit_list(time):
                        annotation, after = f"{annotation}；{time}", time_end
                        while after < len(text) and text[after] in "。.；; ":
                            after += 1
                pieces.append((text[position:index].strip(), annotation))
                position = index = after
                continue
            index = end
            continue
        index += 1
    if rest := text[position:].strip():
        pieces.append((rest, None))
    return pieces


# A value ends at a space, or at the full stop before the next item's number ("…前。3、完成…").
_LABEL_PAIR = (rf"(?:{_UNIT_LABEL}|{_OFFICIAL_LABEL}|{_DEADLINE_LABEL})\s*[:：]\s*"
               r"\S+?(?=\s|$|(?<=[。；;])\d{1,3}\s*[、.．](?!\d))")
# Labels and their values written inside a paragraph, after a space or a sentence's end; a value ends
# at the first space ("整改责任单位:县市场监督管理局 整改时限:2021年8月13日前").
_LABEL_RUN = re.compile(rf"(?:^|(?<=[\s。；;]))(?:{_LABEL_PAIR})(?:\s+{_LABEL_PAIR})*")


def split_label_runs(text: str) -> list[tuple[str, str | None]]:
    """The text cut after each run of labels: [(words, labels), …], the words after the last run with
    ``None``."""
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for match in _LABEL_RUN.finditer(text):
        pieces.append((text[position:match.start()].strip(), match.group()))
        position = match.end()
    rest = text[position:].strip()
    if rest or not pieces:
        pieces.append((rest, None))
    return pieces


# After a sentence's end any label; after a comma only a label that can mean nothing else ("，重点单位：
# 学校、医院" lists places, not who answers for them).
_INLINE_LABELS = re.compile(rf"(?:^|(?<=[。；;\s]))(?={_UNIT_LABEL}\s*[:：]|{_OFFICIAL_LABEL}\s*[:：])|"
                            r"(?<=[，,])(?=(?:牵头|责任|主责|配合|协办)(?:单位|部门|辖区)\s*[:：])")
_SENTENCE_END = re.compile(r"[。！？!?]")


def split_inline_labels(text: str) -> tuple[str, str | None]:
    """"…工作。责任单位：区商务局；完成时限：9月底前" -> the words, and the labelled tail. The tail
    ends with the sentence that holds the labels: "…工程，牵头部门：市交通局。建设进度较慢的县区为
    舒城县。" keeps its last sentence with the words."""
    for match in _INLINE_LABELS.finditer(text):
        if match.start() == 0:
            continue
        words, tail = text[:match.start()].strip(), text[match.start():].strip()
        for end in _SENTENCE_END.finditer(tail):
            rest = tail[end.end():].strip()
            if rest and not _ANY_LABEL.match(rest):
                return words + rest, tail[:end.end()].strip()
        return words, tail
    return text, None


def read_annotation(text: str) -> Annotation:
    """The units and the time limit an annotation (or a label line) gives."""
    deadlines = [m["deadline"].strip() for m in _DEADLINE_SEGMENT.finditer(text)]
    units_text = _DEADLINE_SEGMENT.sub("；", text).strip(" ;；。,，")
    # An unlabelled time beside the units: "（区住建委牵头，区财政局配合；9月底前）".
    clauses = split_outside_brackets(units_text, frozenset("，,；;"))
    times = [c.strip() for c in clauses if TIME_WORDS.search(c) and not looks_like_unit_list(c)
             and not _DUTY_ENDING.search(c.strip())]
    if times:
        units_text = "；".join(c.strip() for c in clauses if c.strip() and c.strip() not in times)
        deadlines += [_DONE_WORD.sub("", t) for t in times]
    return Annotation(units_text, "；".join(d for d in deadlines if d))


# Problem lists often name the unit in the sentence itself: "整改措施：由县住建局负责修复",
# "权属单位为十堰农商银行火车站支行，责任单位为市银保监分局".
# "由X负责" says less than "责任单位为X", so what it names must end more strictly like a body.
_PROSE_UNITS = (
    (re.compile(r"由(?:包片单位|责任单位|牵头单位|属地)?(?P<units>[^，。；,;:：由]{2,40}?)(?:牵头)?负责"),
     _BODY_ENDING),
    (re.compile(r"(?:权属单位|责任单位|责任主体|责任部门)(?:为|是)(?P<units>[^，。；,;]{2,40})"), UNIT_ENDING),
)
# A plan's numbered measures may name who does them as their subject: "8月31日前，市城管局完成…，会同市
# 公安局完成牌证换发工作" — the body, named from its level, that opens a clause and does the work, and
# those it works with.
_SUBJECT_UNITS = (
    # (A body that acts: 局, 委, 办, 政府, 社 — not a 中心 or a 公司, which are as often the place of the
    # work; and what follows it is a verb, never 对, which makes it a place: "市场监管局对面".)
    # ("县商务局、县城管执法局负责，督促…": a list of them, the later ones perhaps without their level.)
    (re.compile(r"(?:^|(?<=[，,；;。:：]))\s*(?=[省市县区州盟旗镇乡各])(?P<units>(?:(?!由|会同|协调)[\u4e00-\u9fff]){2,24}?"
                r"(?:局|委|办|政府|管委会|社)(?:、(?:(?!由|会同|协调)[\u4e00-\u9fff]){2,24}?(?:局|委|办|政府|管委会|社))*)"
                r"(?=要(?!求)|将|须|需|负责|牵头|完成|会同|协调|组织|开展|做好|在\d|于\d)"), _BODY_ENDING),
    # Those it works with are named from their level, or as a group ("有关部门", "各区").
    (re.compile(r"(?:会同|协调)(?P<units>(?:[省市县区州各]|有关|相关)[^，。；,;:：对]{1,30}?)"
                r"(?=完成|对|开展|做好|进行|研究|制定|共同|落实|加强|抓好|[于在]\d|[，,；;。]|$)"), UNIT_ENDING),
)


_NOT_A_BODY = re.compile(r"自行|各自|本人|个人|产权")


# (Named from its level, or a company or a brigade: "公安消防支队", "开封供电公司"; never "由…" or "在…".)
_DOER = (r"(?:各[\u4e00-\u9fff]{1,6}?|(?=[省市县区州盟旗镇乡])[\u4e00-\u9fff]{2,24}?(?:局|委|办|政府|管委会|社)"
         r"|(?![由在对从将把被向经])[\u4e00-\u9fff]{2,16}?(?:支队|大队|公司|集团))")
# "县交通局负责督促指导，…", "市安全监管局牵头，负责…", "按照安委会要求，各县区负责…": a sentence that opens
# with the bodies that are to do it (after a clause saying on what grounds, if any).
# (Not "市卫健委负责人介绍…", "负责同志陪同": a body's head, not the body taking a duty.)
_DOERS_FIRST = re.compile(rf"^(?:(?:按照|根据|围绕)[^，,。；;]{{0,30}}[，,])?\s*(?P<units>{_DOER}(?:、{_DOER})*)"
                          r"(?=牵头|负责(?!人|同志))")


def doers_of(sentence: str) -> str:
    """The bodies a sentence opens with as those who are to do it, and those it names as helping
    ("…负责，包保单位给予支持"), or "" when it does not open so."""
    opening = _DOERS_FIRST.match(sentence.strip())
    if opening is None or not looks_like_unit_list(opening["units"]) or _NOT_A_BODY.search(opening["units"]):
        return ""
    names = opening["units"].split("、")
    helpers = [m["units"] for m in _HELPERS.finditer(sentence, opening.end())]
    for helper in [*units_in_prose(sentence, subjects=True).split("、"), *helpers]:
        if helper and helper not in names:
            names.append(helper)
    return "、".join(names)


# "…负责，包保单位配合、支持，…": those who help, a clause of their own after the doers' ("动员社会各界和用人
# 单位支持退役军人就业" is a task's words, not a clause naming helpers).
_HELPERS = re.compile(r"(?<=[，,；;])\s*(?P<units>(?:[省市县区州镇乡各]|有关|相关|包保|属地|成员|责任)"
                      r"[\u4e00-\u9fff]{0,10}?(?:单位|部门))(?:配合|协助|给予支持|支持)(?:、(?:配合|支持|协助))?(?=[，,；;。]|$)")


def units_in_prose(text: str, *, subjects: bool = False) -> str:
    """The bodies a task's own sentences make responsible, in order, or "" when they name none; with
    ``subjects``, the bodies its clauses open with as well (read for a plan's numbered measures only: a
    news report's sentences have many subjects, few of them responsible)."""
    found: list[tuple[int, str]] = []
    for pattern, ending in (*_PROSE_UNITS, *_SUBJECT_UNITS) if subjects else _PROSE_UNITS:
        for match in pattern.finditer(text):
            names = match["units"].strip()
            if looks_like_unit_list(names, ending) and not _NOT_A_BODY.search(names) \
                    and not starts_with_action(names):
                found.append((match.start(), names))
    ordered: list[str] = []
    for _, names in sorted(found):
        if names not in ordered:
            ordered.append(names)
    return "、".join(ordered)
