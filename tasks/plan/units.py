"""Reading 责任单位 lists: who is responsible, in which role.

A 责任单位 cell is a list of names separated by 、，; with a trailing 等, aliases
(区科信局 for 区科技和信息化局), groups (各镇街 is 13 units), vague phrases that name
nobody (领导小组相关成员单位), role markers (牵头 / 配合, 按职责分工负责) and, in other
districts' documents, shared heads and tails ("城关区发改委及工商联",
"城关区、堆龙德庆区有关部门"). The parser turns that into an ordered list of
assignees and says plainly what it could not resolve instead of inventing it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tasks.script import to_simplified
from tasks.text import compact, strip_markup

Role = Literal["lead", "co"]
LEAD: Role = "lead"
CO: Role = "co"


@dataclass
class UnitDirectory:
    """Canonical names, their aliases and the groups that stand for several units."""

    district: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    _lookup: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_toml(cls, path: Path) -> UnitDirectory:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        directory = cls(district=data.get("district", ""))
        for entry in data.get("unit", []):
            directory.add_unit(entry["name"], entry.get("kind", "department"), entry.get("aliases", []))
        for entry in data.get("group", []):
            directory.add_group(entry["name"], entry["members"], entry.get("aliases", []))
        return directory

    def add_unit(self, name: str, kind: str, aliases: list[str] | tuple[str, ...] = ()) -> None:
        self.kinds.setdefault(name, kind)
        known = self.aliases.setdefault(name, [])
        for alias in (name, *aliases):
            # Script-blind: a unit stored as a 繁體 document named it is found from its simplified twin.
            self._lookup.setdefault(to_simplified(compact(alias)), name)
            if alias != name and alias not in known:
                known.append(alias)

    def add_group(self, name: str, members: list[str], aliases: list[str] | tuple[str, ...] = ()) -> None:
        unknown = [m for m in members if m not in self.kinds]
        if unknown:
            raise ValueError(f"group {name} names units not in the directory: {'、'.join(unknown)}")
        self.groups[name] = list(members)
        self.add_unit(name, "group", aliases)

    def resolve(self, name: str) -> str | None:
        """The canonical unit or group a name stands for, or None."""
        key = to_simplified(compact(name))
        if key in self._lookup:
            return self._lookup[key]
        if self.district and key.startswith(self.district):
            # "门头沟区财政局" is "区财政局"; "门头沟区委组织部" is "区委组织部".
            return self._lookup.get("区" + key[len(self.district):])
        return None

    def is_group(self, name: str) -> bool:
        return name in self.groups


@dataclass(frozen=True)
class Assignee:
    unit: str
    role: Role
    known: bool = True
    via_group: str | None = None


@dataclass
class UnitList:
    assignees: list[Assignee] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    officials: list[str] = field(default_factory=list)  # named people (责任领导), never units
    # Every name as the document wrote it, in its order, vague ones included: what the office reads.
    as_written: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [a.unit for a in self.assignees]

    @property
    def lead(self) -> str | None:
        return next((a.unit for a in self.assignees if a.role == LEAD), None)

    @property
    def roles(self) -> dict[str, Role]:
        return {a.unit: a.role for a in self.assignees}


# --- tokenising ---------------------------------------------------------------

# A label inside a 责任单位 text says what the names after it are, up to the next label:
# "牵头单位：A、B；责任单位：C", "主办单位:A,协办单位:B", "责任领导：张三；牵头单位：区发改局".
_SEGMENT_LABEL = re.compile(
    r"(?:^|(?<=[;；。,，\s(（\[【]))(?!联系|报送|咨询)(?P<label>[\u4e00-\u9fff]{0,6}?"
    r"(?:单位|部门|辖区|领导|责任人|负责人|监理|主体|处室|科室|牵头|配合|协办|参与|(?:主体|监督|属地|管理|直接)责任))"
    r"\s*[:：]\s*")
_OFFICIAL_LABEL = re.compile(r"领导|责任人|负责人|监理")
_LEAD_WORDS = re.compile(r"牵头|主办|主责|主抓")
_CO_WORDS = re.compile(r"配合|协办|协同|参与|协助|协作|数据提供")
_CLAUSE_SEPARATORS = frozenset(";；。,，\n")
_NAME_SEPARATORS = frozenset("、/／ \t\n")
OPENING_BRACKETS, CLOSING_BRACKETS = "（(〔[【", "）)〕]】"
# "宣传处会办公室", "市财政局会同市审计局": 会(同) joins two bodies where the first ends like an office
# (never 委: "管委会办公室" is one name; nor 会计, 会展, 会商…: "县财政局会计核算中心" is one too).
_AND_SPLIT = re.compile(r"以及|及(?!时)|(?<=[局处科室办])会同(?=[\u4e00-\u9fff]{2})"
                        r"|(?<=[局处科室办])会(?![计展商议员所堂馆务谈签审同])(?=[\u4e00-\u9fff]{2})")
_TRAILING_ETC = re.compile(r"(?:等(?:相关|有关)?(?:[省市区县]直)?(?:单位|部门)?)+$")
# "市税务局等市有关单位": the 等 joins a named unit to a group the document names; the group stays.
_ETC_BEFORE_GROUP = re.compile(
    r"等(?=(?:各|省直|市直|区直|县直|全[省市区县]|[省市区县])[^等]*(?:单位|部门|政府|机构)$)")
_SHARED_DUTY = re.compile(r"[（(]?\s*(?:按(?:照)?职[责能](?:分工负责|分别负责|负责|分工落实)|分别负责)\s*[）)]?")
_LEAD_SUFFIX = re.compile(r"(?:分别)?(?:牵头组织实施|牵头组织|牵头负责|牵头|负责|主办|主责)$")
# "(除标注“分别牵头”外,列第一位为牵头或汇总单位,下同)": a note on how to read the list, no name's part.
_READING_NOTE = re.compile(r"[（(][^（）()]*(?:下同|列第一|列首位|排名第一|为牵头|汇总单位)[^（）()]*[）)]")
# "各区政府负责落实", "各镇组织实施": the ones who carry out what another leads.
# ("配合落实": the role words may come two together.)
_CO_SUFFIX = re.compile(r"(?:配合|协办|参与|协助|协同|负责落实|具体落实|抓好落实|组织落实|组织实施|参照落实|参照执行"
                        r"|落实)+$")
# An office's section: "局财务科", "规划科" (not 本科, 学科, a hospital's 康复科 or 老年病科).
SECTION_ENDING = (r"(?<=[\u4e00-\u9fff]{2})(?<![本专学理文工农医内外病复儿产眼牙骨皮妇神腔健痛肤诊验瘤喉鼻耳胸麻"
                  r"一二三四五六七八九十两几各\d])科")
# How a body's name ends; "A和B" is two names only when both end like this ("科技和信息化局" is one).
UNIT_ENDING = re.compile(
    r"(?:局|委|办|室|政府|镇|乡|街道|部门|单位|中心|公司|大队|支队|中队|站|所|院|会|处|部|厅|社|馆|团|行|署|"
    r"管委会|集团|指挥部|海关|办事处|组|专班|区|县|市|旗|园|学校|小学|中学|大学|市场|厂|社区|村|委员会|联|协|股|机构|"
    + SECTION_ENDING + ")"
    r"(?:[（(〔][^）)〕]{1,12}[）)〕])?$")
_INLINE_ROLE = re.compile(r"[（(]\s*(牵头|配合|协办|参与|主责)\s*[）)]")
# ▲ or ★ before a name marks the lead unit in many tables.
LEAD_MARKS = "▲△★☆*＊"
_LEAD_MARK = re.compile(f"^[{re.escape(LEAD_MARKS)}]+")
_PARENTHESES = re.compile(r"[（(][^）)]*[）)]")
# A place name at the start of a unit name: 城关区 in 城关区发改委, 区 in 区财政局.
_PLACE_PREFIX = re.compile(r"^(?P<place>.*?(?:自治区|自治州|自治县|特区|新区|林区|省|市|州|盟|旗|区|县))(?P<rest>.+)$")
_BARE_PLACE = re.compile(r"^.+(?:自治区|自治州|自治县|新区|林区|省|市|州|盟|旗|区|县|乡|镇|街道)$")
# What several places can share: "城关区、当雄县有关部门" (not "区直各部门" after "各街道").
_SHARED_TAIL = re.compile(r"^(?:有关|相关)?(?:部门|单位|人民政府|政府)$")
VAGUE = re.compile(r"(?:相关|有关|其他|其它|各类|各级)")
# "2所", "1300人", "71个": a count and what it counts, another column's figure ("所" ends 派出所 too).
_COUNTED = re.compile(r"^\d+(?:\.\d+)?\s*[万亿千百]?[所个家座人户套台辆处项次件名间]$")
# A name has a letter in it: "100", "55.6%" or "—" in a units cell is another column's value, never a unit.
_NAMES_SOMETHING = re.compile(r"[^\W\d_]")


@dataclass
class _Name:
    text: str
    role: Role | None
    after_and: bool = False  # joined to the previous name by 及, so it may share its place


def split_outside_brackets(text: str, separators: frozenset[str]) -> list[str]:
    """Split at any of ``separators`` except inside brackets: "各县〔市、区〕政府" and
    "县发改局(粮食局)" are one name each."""
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    for character in text:
        if character in OPENING_BRACKETS:
            depth += 1
        elif character in CLOSING_BRACKETS and depth:
            depth -= 1
        if character in separators and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(character)
    pieces.append("".join(current))
    return pieces


# "区发改局区统计局": two bodies printed with nothing between them, split where the second's place begins;
# "文化宣传股文化馆": a bureau's section (股), then a body of its own.
_RUN_TOGETHER = re.compile(r"(?<=[局委办])(?=[区市县][\u4e00-\u9fff]{1,10}[局委办]$)"
                           r"|(?<=[\u4e00-\u9fff]{2}股)(?![份金权票东本])(?=[\u4e00-\u9fff]{1,10}(?:馆|所|站|中心|院|队|局|办|股)$)")
_PARTY_COMMITTEE = re.compile(r"^[省市县区州]委$")


def _split_run_together(piece: str) -> list[str]:
    parts = _RUN_TOGETHER.split(piece)
    # "市委市直机关工委", "市委市政府督查办": a committee's name begins with its party committee.
    return [piece] if len(parts) > 1 and _PARTY_COMMITTEE.match(parts[0].strip()) else parts


_LEVEL_ONLY = re.compile(r"^(?:各|有关|相关)?[乡镇县市区]$")
# What follows such a level: another level, or the name they share ("镇人民政府"), not "区直各部门".
_SHARED_LEVEL_TAIL = re.compile(r"^[乡镇县市区](?:[（(][乡镇县市区、]{1,5}[）)])?(?:人民政府|政府|党委|党委政府)?"
                                r"(?:[（(][^（）()]{1,8}[）)])?$")


# A name a narrow cell wrapped and a flattening turned into two words: "县交通 运输局" (the second half
# is the end of a bureau's name that never stands alone: 交通运输局, 生态环境局), "县发展和 改革局" (the
# first half ends with its 和), "县委县政府 督查室" (an office of the place's leading organs). Two whole
# names a space separates stay two, abbreviations included ("县医保 财政局").
_NAME_TAILS = re.compile(r"^(?:运输局|改革局|改革委|保障局|信息化局|环境局|资源局|农村局|城乡建设局|监督管理局|健康局"
                         r"|草原局|社会保障局|和[\u4e00-\u9fff]{1,6}[局委办])$")
_TOP_ORGANS = re.compile(r"^[省市县区州旗](?:委(?:[省市县区州旗](?:人民)?政府)?|(?:人民)?政府)$")
_ORGANS_OFFICE = re.compile(r"^(?:督查室|督查办|督办室|办公室)$")


def continues_name(before: str, after: str) -> bool:
    """Whether ``after`` is the rest of the name ``before`` ends with, split by a wrap."""
    before, after = before.split("、")[-1].strip(), after.split("、")[0].strip()
    if len(before) < 2 or (UNIT_ENDING.search(before) and not _TOP_ORGANS.match(before)):
        return False
    return bool(_NAME_TAILS.match(after) or (before.endswith(("和", "与")) and UNIT_ENDING.search(after))
                or (_TOP_ORGANS.match(before) and _ORGANS_OFFICE.match(after)))


def _join_wrapped_names(clause: str) -> str:
    words = split_outside_brackets(clause, frozenset(" \t\n"))
    joined = [words[0]]
    for word in words[1:]:
        if continues_name(joined[-1], word):
            joined[-1] += word
        else:
            joined.append(word)
    return " ".join(joined)


def without_role_suffix(text: str) -> str:
    """A list of names without the part its bodies play written after it ("…团市委配合落实")."""
    stripped = text.strip()
    return _LEAD_SUFFIX.sub("", _CO_SUFFIX.sub("", stripped)) or stripped


def _join_shared_levels(pieces: list[str]) -> list[str]:
    """"各乡、镇人民政府", "各县、市、区": levels listed before the name they share are one group."""
    joined: list[str] = []
    for piece in pieces:
        if joined and _LEVEL_ONLY.match(joined[-1].split("、")[-1].strip()) \
                and joined[-1].strip().startswith(("各", "有关", "相关")) and _SHARED_LEVEL_TAIL.match(piece.strip()):
            joined[-1] = f"{joined[-1]}、{piece}"
        else:
            joined.append(piece)
    return joined


def _split_and(text: str) -> list[str]:
    """"A及B" / "A和B" are two names only when both end like one: "劳工及福利局",
    "科技和信息化局" and "和平区" are one."""
    parts = [p for part in _AND_SPLIT.split(text) for p in part.split("和")]
    if len(parts) > 1 and all(p.strip() and UNIT_ENDING.search(_TRAILING_ETC.sub("", p.strip())) for p in parts):
        return parts
    return [text]


def _label_role(label: str) -> Role | Literal["official"] | None:
    if _OFFICIAL_LABEL.search(label):
        return "official"
    if _LEAD_WORDS.search(label):
        return LEAD
    if _CO_WORDS.search(label):
        return CO
    return None


def _segments(text: str) -> list[tuple[Role | Literal["official"] | None, str]]:
    """The text cut at its labels, each piece with the role its label gives."""
    segments: list[tuple[Role | Literal["official"] | None, str]] = []
    role: Role | Literal["official"] | None = None
    position = 0
    for match in _SEGMENT_LABEL.finditer(text):
        segments.append((role, text[position:match.start()]))
        role, position = _label_role(match["label"]), match.end()
    segments.append((role, text[position:]))
    return [(r, t) for r, t in segments if t.strip(" ;；。,，\n")]


def _tokenise(text: str) -> tuple[list[_Name], bool, list[str]]:
    """Names in document order with any explicit role; whether duty is shared; named officials."""
    # Names are kept as the document writes them (全角括号 included); only its wide spaces are folded.
    text = strip_markup(text).replace("\u3000", " ").strip()
    if text[:1] in "[【" and text[-1:] in "]】":
        text = text[1:-1]
    # "…协办单位:B,C)": the close of a bracket the labels were written inside, not part of a name.
    while text[-1:] in ")）" and sum(text.count(c) for c in "(（") < sum(text.count(c) for c in ")）"):
        text = text[:-1].rstrip()
    text = _READING_NOTE.sub("", text)
    shared_duty = bool(_SHARED_DUTY.search(text))
    text = _SHARED_DUTY.sub("", text)
    names: list[_Name] = []
    officials: list[str] = []
    for segment_role, segment in _segments(text):
        for clause in split_outside_brackets(segment, _CLAUSE_SEPARATORS):
            clause = clause.strip()
            if not clause:
                continue
            if segment_role == "official":
                officials += [o.strip() for o in split_outside_brackets(clause, _NAME_SEPARATORS) if o.strip()]
                continue
            clause_role: Role | None = segment_role
            if clause_role is None and _LEAD_SUFFIX.search(clause) and not _INLINE_ROLE.search(clause):
                clause_role, clause = LEAD, _LEAD_SUFFIX.sub("", clause)
            elif clause_role is None and _CO_SUFFIX.search(clause) and not _INLINE_ROLE.search(clause):
                clause_role, clause = CO, _CO_SUFFIX.sub("", clause)
            pieces = [part for piece in split_outside_brackets(_join_wrapped_names(clause), _NAME_SEPARATORS)
                      for part in _split_run_together(piece)]
            for piece in _join_shared_levels(pieces):
                for etc_index, grouped in enumerate(_ETC_BEFORE_GROUP.split(piece)):
                    for part_index, part in enumerate(_split_and(grouped)):
                        part = _TRAILING_ETC.sub("", part.strip()).strip()
                        role = clause_role
                        if mark := _LEAD_MARK.match(part):
                            role, part = LEAD, part[mark.end():].strip()
                        # "局防控办主办、各工作组协办": each name with the part it plays after it.
                        if (suffix := _LEAD_SUFFIX.search(part)) and suffix.start() >= 2:
                            role, part = LEAD, part[:suffix.start()].strip()
                        elif (suffix := _CO_SUFFIX.search(part)) and suffix.start() >= 2:
                            role, part = CO, part[:suffix.start()].strip()
                        if m := _INLINE_ROLE.search(part):
                            role = LEAD if m.group(1) in ("牵头", "主责") else CO
                            part = _INLINE_ROLE.sub("", part).strip()
                        if _NAMES_SOMETHING.search(part) and not _COUNTED.match(part):
                            names.append(_Name(part, role, after_and=part_index > 0 and etc_index == 0))
    return names, shared_duty, officials


def _share_heads(names: list[_Name], directory: UnitDirectory) -> list[_Name]:
    """"城关区发改委及工商联": the name after 及 borrows the place of the one before."""
    result: list[_Name] = []
    for name in names:
        previous = result[-1] if result else None
        if (name.after_and and previous is not None and directory.resolve(name.text) is None
                and not _PLACE_PREFIX.match(name.text) and not VAGUE.search(name.text)
                and (head := _PLACE_PREFIX.match(previous.text)) and head["place"] != previous.text):
            result.append(_Name(head["place"] + name.text, name.role, after_and=True))
        else:
            result.append(name)
    return result


def _share_tails(names: list[_Name], directory: UnitDirectory) -> list[_Name]:
    """"城关区、当雄县有关部门": bare places before a place-plus-tail borrow the tail."""
    result = list(names)
    for index, name in enumerate(result):
        match = _PLACE_PREFIX.match(name.text)
        if not match or directory.resolve(name.text) is not None or not _SHARED_TAIL.match(match["rest"]):
            continue
        tail = match["rest"]
        start = index
        while start > 0:
            candidate = result[start - 1].text
            if directory.resolve(candidate) is not None or not _BARE_PLACE.match(candidate) or VAGUE.search(candidate):
                break
            start -= 1
        for position in range(start, index):
            result[position] = _Name(result[position].text + tail, result[position].role)
    return result


def guess_kind(name: str) -> str:
    """A kind for a unit the directory does not know, from how its name ends."""
    if name.endswith("街道") or name.endswith("街道办事处"):
        return "street"
    if re.search(r"(?:镇|乡)(?:人民政府)?$", name):
        return "town"
    if (place := _PLACE_PREFIX.match(name)) and place["place"] != "区":
        return "external"
    return "department"


def parse_units(text: str, directory: UnitDirectory) -> UnitList:
    """Read one 责任单位 text into ordered assignees; unresolved phrases are listed, not guessed."""
    names, shared_duty, officials = _tokenise(text)
    names = _share_tails(_share_heads(names, directory), directory)
    explicit_roles = any(n.role is not None for n in names)

    result = UnitList(officials=officials)
    written: set[str] = set()
    seen: dict[str, int] = {}

    def add(unit: str, role: Role, known: bool, via_group: str | None = None) -> None:
        if unit in seen:
            if role == LEAD and result.assignees[seen[unit]].role != LEAD:
                old = result.assignees[seen[unit]]
                result.assignees[seen[unit]] = Assignee(old.unit, LEAD, old.known, old.via_group)
            return
        seen[unit] = len(result.assignees)
        result.assignees.append(Assignee(unit, role, known, via_group))

    for position, name in enumerate(names):
        if name.text not in written:
            written.add(name.text)
            result.as_written.append(name.text)
        if explicit_roles and (name.role is not None or not shared_duty):
            # "A牵头，B、C按职责分工负责": A leads; the others share the work, as co-units.
            role: Role = name.role or CO
        elif shared_duty:
            role = CO if explicit_roles else LEAD
        else:
            role = LEAD if position == 0 else CO
        canonical = directory.resolve(name.text) or directory.resolve(_PARENTHESES.sub("", name.text))
        if canonical is not None and directory.is_group(canonical):
            # A group in the lead position means each member leads its own share.
            for member in directory.groups[canonical]:
                add(member, role, True, canonical)
        elif canonical is not None:
            add(canonical, role, True)
        elif VAGUE.search(name.text) and not _is_placed(name.text):
            result.unresolved.append(name.text)
        else:
            result.unknown.append(name.text)
            add(name.text, role, False)

    if result.assignees and not any(a.role == LEAD for a in result.assignees):
        # Every named unit was a co-unit or the lead phrase named nobody: the first named unit leads.
        first = result.assignees[0]
        result.assignees[0] = Assignee(first.unit, LEAD, first.known, first.via_group)
    return result


def _is_placed(name: str) -> bool:
    """"城关区有关部门" names a real body in a real place; "相关镇" does not."""
    match = _PLACE_PREFIX.match(name)
    return bool(match) and match["place"] != "区" and not VAGUE.search(match["place"])
