"""Recognising table columns by their header names, never by position.

Documents of this family name the same column in many ways (责任部门 / 责任单位,
完成时限 / 时间节点, 开工竣工时间 / 建设期限). Each table kind lists the names
it accepts for each field; a header row is the first row that names enough of
them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.text import compact

TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "area": ("工作事项", "重点工作", "工作领域", "领域", "工作板块", "板块", "工作类别", "重点领域", "分块", "项目",
             "类别", "指标类别", "工作要点"),
    "topic": ("任务类别", "任务分类", "分类", "事项", "子项"),
    "text": ("任务内容", "工作内容", "具体任务", "工作任务", "主要任务", "任务事项", "具体措施",
             "工作措施", "任务要求", "目标任务", "重点任务", "任务", "内容", "民生实事", "建设任务",
             "主要工作", "重点工作任务", "工作目标", "预期目标", "目标", "问题描述", "存在问题", "问题",
             "问题清单", "指标名称", "主要指标", "整改任务", "实事项目", "具体要求", "工作要求", "任务名称",
             "事项名称", "工作名称", "细化分工", "具体分工", "细化任务", "具体举措", "主要措施", "工作举措", "推进措施",
             "落实措施", "主要举措", "具体工作", "目标要求",
             "事项"),  # (事项 is the 分类's item when 分类 groups the rows)
    "units": ("责任部门", "责任单位", "责任主体", "承办单位", "负责单位", "责任处室", "责任清单", "主体责任单位",
              "实施单位", "责任科室", "责任股室", "责任处(科)室", "责任单位及责任人", "责任单位和责任人",
              "责任单位(责任人)", "责任单位及责任领导", "监考单位", "负责部门", "负责科室", "负责处室", "负责股室"),
    # What a named item is to achieve ("事项名称 | 项目内容"): read after its name.
    "detail": ("项目内容", "主要内容", "建设内容", "实施内容", "具体内容"),
    "lead": ("牵头单位", "牵头部门", "主责单位", "主责部门", "牵头", "牵头责任单位", "主办单位", "主要责任单位"),
    "co": ("配合单位", "配合部门", "协办单位", "参与单位", "协同单位", "配合", "协同部门", "数据提供单位"),
    "deadline": ("完成时限", "时间节点", "完成时间", "时限", "时间要求", "完成期限", "进度安排",
                 "时间安排", "截止时间", "完成时限要求", "计划完成时间", "时限清单", "整改时限", "办结时限",
                 "时间进度", "时限要求"),
    # Named people, progress and targets: kept apart so that none of them is read as a unit.
    "officials": ("责任领导", "牵头领导", "分管领导", "包保领导", "联系领导", "督办领导", "责任人", "分管区领导",
                  "分管市领导", "分管县领导", "区政府分管领导", "市政府分管领导", "县政府分管领导", "牵头市领导",
                  "牵头区领导", "牵头县领导"),
    "progress": ("目前完成情况", "完成情况", "进展情况", "是否达到序时进度", "进度评价", "当前进度", "工作进展",
                 "推进情况", "上半年推进情况", "进度情况", "落实情况", "进展", "完成进度"),
    "target": ("工作指标", "标准", "目标值", "指标", "工作标准", "年度目标", "预期指标"),
    "note": ("备注",),
    "score": ("分值", "权重", "分数", "考核分值", "赋分"),  # an assessment's points: kept apart, never read
}

# The one name each task field goes by where a single name is written: the ledger template's header
# (tasks.plan.ledger) and what ``taskbot import --columns`` lists as accepted.
TASK_FIELD_LABELS: dict[str, str] = {
    "number": "序号", "area": "工作领域", "topic": "任务类别", "text": "任务内容", "units": "责任单位",
    "lead": "牵头单位", "co": "配合单位", "deadline": "完成时限", "officials": "责任领导", "progress": "进展情况",
    "target": "工作指标", "note": "备注", "score": "分值", "detail": "项目内容",
}

PROJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "name": ("项目名称", "项目"),
    "nature": ("建设性质", "项目性质"),
    "content": ("建设规模和建设内容", "建设内容", "建设规模", "项目内容", "主要建设内容", "建设规模及内容"),
    "total": ("项目总投资", "总投资", "计划总投资"),
    "funds": ("区级帮扶资金", "帮扶资金", "财政帮扶资金", "援助资金", "支援资金", "协作资金"),
    "use": ("帮扶资金主要用途", "资金用途", "资金主要用途"),
    "implementer": ("项目实施单位", "实施单位", "实施主体", "建设单位", "项目建设单位", "业主单位", "项目业主单位",
                    "项目业主"),
    "manager": ("项目负责人", "负责人"),
    "period": ("开工竣工时间", "建设期限", "实施期限", "起止时间", "建设年限", "实施时间", "建设周期",
               "开竣工时间", "建设起止年限", "建设时间", "建设起止时间", "实施年限"),
    "start": ("开工时间", "计划开工时间"),
    "end": ("竣工时间", "完工时间", "计划竣工时间", "计划完工时间"),
    "benefit": ("项目效益", "预期效益", "绩效目标"),
    "lead": ("项目牵头单位", "牵头单位", "区级牵头单位", "牵头部门", "责任单位", "主管部门"),
}

TEAM_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "name": ("专班名称", "工作专班", "专班"),
    "lead": ("牵头部门", "牵头单位"),
    "duty": ("职责", "工作职责", "主要职责"),
    "members": ("成员单位", "组成单位"),
}

# Which fields make a header row count as that kind of table.
TABLE_KINDS: dict[str, tuple[dict[str, tuple[str, ...]], frozenset[str]]] = {
    "project": (PROJECT_COLUMNS, frozenset({"name"})),
    "team": (TEAM_COLUMNS, frozenset({"name", "lead"})),
    "task": (TASK_COLUMNS, frozenset({"text"})),
}


@dataclass(frozen=True)
class Header:
    kind: str
    columns: dict[str, int]  # field -> column index
    cells: tuple[str, ...]  # the header as written, to spot it when a page repeats it

    def repeats(self, cells: list[str]) -> bool:
        # Cell by cell, so that an ordinary row is told apart by its first cell.
        n = len(self.cells)
        return len(cells) >= n and all(compact(c) == h for c, h in zip(cells[:n], self.cells, strict=True))


# "帮扶资金（万元）", "新增数量(个)": the measure's unit in brackets after the column's name.
_UNIT_SUFFIX = re.compile(r"[（(][^（）()]{1,6}[）)]$")
_YEAR_PREFIX = re.compile(r"^(?:19|20)\d{2}年(?:度)?")


def header_key(cell: str) -> str:
    """A header cell as compared: "2022年预期目标" is a 预期目标 column."""
    return _UNIT_SUFFIX.sub("", _YEAR_PREFIX.sub("", compact(cell)))


def _match_field(cell: str, kind: str, taken: set[str]) -> str | None:
    key = header_key(cell)
    if not key or len(key) > 16:
        return None
    return _match_key(key, kind, frozenset(taken))


@functools.lru_cache(maxsize=16384)  # a spaced line of column words is tried many ways
def _match_key(key: str, kind: str, taken: frozenset[str]) -> str | None:
    columns = TABLE_KINDS[kind][0]
    for field_name, names in columns.items():
        if field_name not in taken and key in names:
            return field_name
    # A compound names its kind last: 重点工作目标任务 is a 目标任务, 牵头领导 is not a 牵头 column, and
    # "重点工作任务分解表" (a table's title) is no column at all.
    best: tuple[int, str] | None = None
    for field_name, names in columns.items():
        if field_name in taken:
            continue
        for name in names:
            if len(name) >= 2 and key.endswith(name) and (best is None or len(name) > best[0]):
                best = (len(name), field_name)
    return best[1] if best else None


# Fields that may come in more than one column, none of them read as a task's words or units.
_KEPT_FIELDS = frozenset({"progress", "target", "note", "officials", "score"})


def _map_columns(cells: list[str], kind: str) -> dict[str, int]:
    columns = TABLE_KINDS[kind][0]
    mapping: dict[str, int] = {}
    # Exact names first, so 开工竣工时间 is the period and not a start column.
    for index, cell in enumerate(cells):
        key = header_key(cell)
        for field_name, names in columns.items():
            if field_name not in mapping and key in names:
                mapping[field_name] = index
                break
    for index, cell in enumerate(cells):
        if index in mapping.values():
            continue
        field_name = _match_field(cell, kind, set(mapping))
        if field_name is not None:
            mapping[field_name] = index
        elif (again := _match_field(cell, kind, set())) in _KEPT_FIELDS:
            # A second progress or target column ("目前完成情况 | 是否达到序时进度"): kept apart too,
            # so the cells after it stay under their own names.
            mapping[f"{again}:{index}"] = index
    return mapping


# Names of the figure a task is to reach, which a task column's name may also be.
TARGET_NAMES = frozenset({"目标任务", "目标", "工作目标", "预期目标", "年度目标"})


def _second_text_column(cells: list[str], columns: dict[str, tuple[str, ...]], mapping: dict[str, int]) -> None:
    """Two columns that both name the task ("工作任务 | 具体要求"): the first groups the rows, the last
    is each row's own task; a third between them ("工作要求 | 工作任务 | 具体要求") groups within the first."""
    if "text" not in mapping:
        return
    others = {column for name, column in mapping.items() if name != "area"}
    named = next((index for index, cell in enumerate(cells)
                  if header_key(cell).endswith("项目名称") and index not in others), None)
    # (Only where no other column names the task: beside 具体措施, 目标任务 is the group and 措施 the task.)
    other_text = any(header_key(cell) in columns["text"] and header_key(cell) not in TARGET_NAMES
                     for index, cell in enumerate(cells) if index != mapping["text"])
    if named is not None and header_key(cells[mapping["text"]]) in TARGET_NAMES and "target" not in mapping \
            and not other_text:
        # "民生实事项目名称 | 责任单位 | 目标任务": the project is the task, its 目标任务 the figure to reach.
        mapping.pop("area", None)
        mapping["target"], mapping["text"] = mapping["text"], named
        return
    if "area" in mapping:
        return
    later = [index for index, cell in enumerate(cells)
             if index > mapping["text"] and index not in mapping.values() and header_key(cell) in columns["text"]]
    # (A later 工作目标 or 目标任务 beside the task is the figure it is to reach.)
    targets = [index for index in later if header_key(cells[index]) in TARGET_NAMES]
    if targets and "target" not in mapping:
        mapping["target"] = targets[0]
    later = [index for index in later if index not in targets]
    if later:
        mapping["area"], mapping["text"] = mapping["text"], later[-1]
        if len(later) > 1 and "topic" not in mapping:
            mapping["topic"] = later[0]



def detect_header(cells: list[str]) -> Header | None:
    """The table kind and column positions if this row is a header row."""
    best: Header | None = None
    for kind, (columns, required) in TABLE_KINDS.items():
        mapping = _map_columns(cells, kind)
        if kind == "task":
            _second_text_column(cells, columns, mapping)
            if "text" not in mapping and "detail" in mapping:
                mapping["text"] = mapping.pop("detail")  # "项目 | 主要内容 | 责任单位": the content is the task
            if "text" not in mapping and "area" in mapping:
                mapping["text"] = mapping.pop("area")  # "序号 | 重点工作 | 责任单位": the only task column
            elif {"score", "area", "text"} <= mapping.keys() and "目标" in header_key(cells[mapping["text"]]) \
                    and "target" not in mapping:
                # "项目 | 分值 | 目标任务 | 监考单位": in a scored table the item is the indicator and its
                # 目标任务 the figure to reach.
                mapping["target"], mapping["text"] = mapping["text"], mapping.pop("area")
        if not required <= mapping.keys() or len(mapping) < 3:
            continue
        if kind == "task" and not ({"units", "lead"} & mapping.keys()):
            continue
        if best is None or len(mapping) > len(best.columns):
            best = Header(kind, mapping, tuple(compact(c) for c in cells))
    return best


_ALL_NAMES = frozenset(name for columns in (TASK_COLUMNS, PROJECT_COLUMNS, TEAM_COLUMNS)
                       for names in columns.values() for name in names)
_LONGEST_NAME = max(len(name) for name in _ALL_NAMES)


def names_a_column(cell: str) -> bool:
    """Whether a cell is (or ends with) a column name we know: the cheap test a line must pass before
    anything looks for a header starting there."""
    key = header_key(cell)
    return any(key[-length:] in _ALL_NAMES for length in range(2, min(len(key), _LONGEST_NAME) + 1))
