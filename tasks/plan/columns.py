"""Recognising table columns by their header names, never by position.

Documents of this family name the same column in many ways (责任部门 / 责任单位,
完成时限 / 时间节点, 开工竣工时间 / 建设期限). Each table kind lists the names
it accepts for each field; a header row is the first row that names enough of
them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.text import compact

TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "area": ("工作事项", "重点工作", "工作领域", "领域", "工作板块", "板块", "工作类别", "重点领域"),
    "topic": ("任务类别", "任务分类", "类别", "分类", "事项", "子项"),
    "text": ("任务内容", "工作内容", "具体任务", "工作任务", "主要任务", "任务事项", "具体措施",
             "工作措施", "任务要求", "目标任务", "重点任务", "任务", "内容"),
    "units": ("责任部门", "责任单位", "责任主体", "承办单位", "负责单位", "责任处室"),
    "lead": ("牵头单位", "牵头部门", "主责单位", "主责部门", "牵头"),
    "co": ("配合单位", "配合部门", "协办单位", "参与单位", "协同单位", "配合"),
    "deadline": ("完成时限", "时间节点", "完成时间", "时限", "时间要求", "完成期限", "进度安排",
                 "时间安排", "截止时间", "完成时限要求"),
    "note": ("备注",),
}

# The one name each task field goes by where a single name is written: the ledger template's header
# (tasks.plan.ledger) and what ``taskbot import --columns`` lists as accepted.
TASK_FIELD_LABELS: dict[str, str] = {
    "number": "序号", "area": "工作领域", "topic": "任务类别", "text": "任务内容", "units": "责任单位",
    "lead": "牵头单位", "co": "配合单位", "deadline": "完成时限", "note": "备注",
}

PROJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "name": ("项目名称", "项目"),
    "nature": ("建设性质", "项目性质"),
    "content": ("建设规模和建设内容", "建设内容", "建设规模", "项目内容", "主要建设内容", "建设规模及内容"),
    "total": ("项目总投资", "总投资", "计划总投资"),
    "funds": ("区级帮扶资金", "帮扶资金", "财政帮扶资金", "援助资金", "支援资金", "协作资金"),
    "use": ("帮扶资金主要用途", "资金用途", "资金主要用途"),
    "implementer": ("项目实施单位", "实施单位", "实施主体", "建设单位", "项目建设单位"),
    "manager": ("项目负责人", "负责人"),
    "period": ("开工竣工时间", "建设期限", "实施期限", "起止时间", "建设年限", "实施时间", "建设周期",
               "开竣工时间", "建设起止年限"),
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


def _match_field(cell: str, columns: dict[str, tuple[str, ...]], taken: set[str]) -> str | None:
    key = compact(cell)
    if not key:
        return None
    for field_name, names in columns.items():
        if field_name not in taken and key in names:
            return field_name
    best: tuple[int, str] | None = None
    for field_name, names in columns.items():
        if field_name in taken:
            continue
        for name in names:
            if len(name) >= 2 and name in key and (best is None or len(name) > best[0]):
                best = (len(name), field_name)
    return best[1] if best else None


def _map_columns(cells: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    # Exact names first, so 开工竣工时间 is the period and not a start column.
    for index, cell in enumerate(cells):
        key = compact(cell)
        for field_name, names in columns.items():
            if field_name not in mapping and key in names:
                mapping[field_name] = index
                break
    for index, cell in enumerate(cells):
        if index in mapping.values():
            continue
        field_name = _match_field(cell, columns, set(mapping))
        if field_name is not None:
            mapping[field_name] = index
    return mapping


def detect_header(cells: list[str]) -> Header | None:
    """The table kind and column positions if this row is a header row."""
    best: Header | None = None
    for kind, (columns, required) in TABLE_KINDS.items():
        mapping = _map_columns(cells, columns)
        if not required <= mapping.keys() or len(mapping) < 3:
            continue
        if kind == "task" and not ({"units", "lead"} & mapping.keys()):
            continue
        if best is None or len(mapping) > len(best.columns):
            best = Header(kind, mapping, tuple(compact(c) for c in cells))
    return best
