"""Turning table rows into items: the task list, the project plan, the work teams.

Rows come from a converted document, a CSV file or a spreadsheet; all three are
read the same way. Real tables carry merged cells left empty (the 工作事项 is
written once for several rows), rows continued on the next page, repeated
headers, subtotal and group rows ("内蒙古武川县(10个)", "1.产业合作类(4个)").
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from tasks.plan.annotations import (
    TIME_WORDS,
    doers_of,
    is_annotation,
    looks_like_unit_list,
    starts_with_action,
    units_in_prose,
)
from tasks.plan.columns import Header, detect_header
from tasks.plan.deadlines import deadline_in_text, find_milestones, find_recurrence, read_deadline, read_period
from tasks.plan.parsed import Item, Problem, ProjectDetail
from tasks.plan.subitems import BULLETED, split_subitems
from tasks.plan.unit_reading import UnitReader
from tasks.plan.units import continues_name
from tasks.text import WHITE_SPACE, YEAR_HEADING, compact, fold_width

HEADER_SEARCH_ROWS = 6
_SUBTOTAL = re.compile(r"^(?:合计|小计|总计|共计)")
_GROUP_WITH_COUNT = re.compile(r"^(?P<label>.+?)\s*[（(]\s*(?P<count>\d+)\s*个\s*[）)]$")
_SECTION_ROW = re.compile(r"^[一二三四五六七八九十]+\s*[、.．]\s*")
# "(一)刘忻市长牵头重点工作" across the table: a group's name, short, no sentence and no figure (not
# "（二）推进物业管理提质增效，开展星级物业评定" or "（二）新建保障性住房500套", tasks whose other cells
# are merged above).
_GROUP_ROW = re.compile(r"^[（(][一二三四五六七八九十]+[）)]\s*[^，,。；;\d]{2,16}$")
_NUMBERED_LABEL = re.compile(r"^\d+\s*[.．、]\s*")


@dataclass
class SourceRow:
    where: str
    cells: list[str]
    line: int | None = None
    # Its empty cells are merged with the row above (a converter had dropped them): a row of its own.
    merged_above: bool = False
    # Of a table rebuilt from one cell a line: a cell it lacks is one merged down from the row above.
    cells_fitted: bool = False


@dataclass
class TableResult:
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _cell(row: SourceRow, header: Header, name: str) -> str:
    index = header.columns.get(name)
    if index is None or index >= len(row.cells):
        return ""
    return WHITE_SPACE.sub(" ", row.cells[index]).strip()


_UNIT_FIELDS = ("units", "lead", "co")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _row_values(row: SourceRow, header: Header) -> dict[str, str]:
    """The row's cells under the header's names. A converter that drops a row's empty cells (or a
    two-level header whose second row the rows follow) shifts the later cells away from their
    names: a units cell holding "100" or "55.6%" then means the units are elsewhere in the row, in
    the cell nearest to where the header put them that reads as a list of units."""
    values = {name: _cell(row, header, name) for name in header.columns}
    for name in _UNIT_FIELDS:
        value = values.get(name, "")
        if not value or _HAN.search(value):
            continue  # (a name without a body's ending, 妇联 or 各村, is still a name)
        taken = set(header.columns.values())
        expected = header.columns[name]
        candidates = [index for index, cell in enumerate(row.cells)
                      if index != expected and (index not in taken or index > expected) and cell.strip()
                      and looks_like_unit_list(cell)]
        if candidates:
            nearest = min(candidates, key=lambda index: (abs(index - expected), -index))
            values[name] = WHITE_SPACE.sub(" ", row.cells[nearest]).strip()
    return values


def unique_ref(base: str, used: Counter[str]) -> str:
    """A second row with the same identity gets ~2, ~3: refs stay stable and distinct."""
    used[base] += 1
    return base if used[base] == 1 else f"{base}~{used[base]}"


_RowReader = Callable[[Header, list[SourceRow], int, UnitReader, Counter[str]], "TableResult"]


def _problem(row: SourceRow, code: str, text: str, message: str) -> Problem:
    return Problem(code, row.where, text, message, row.line)


def read_table(rows: list[SourceRow], plan_year: int, units: UnitReader,
               used_refs: Counter[str], header: Header | None = None, *,
               issued: date | None = None) -> TableResult:
    """Find the header, then read the rows below it as that kind of table. A header given (the
    columns the office named: ``taskbot import --columns``) is not looked for: ``rows`` are its body.
    ``issued`` is the document's date, which relative time limits (限期15天) count from."""
    readers: dict[str, _RowReader] = {"task": functools.partial(_read_task_rows, issued=issued),
                                      "project": _read_project_rows, "team": _read_team_rows}
    if header is not None:
        return readers[header.kind](header, rows, plan_year, units, used_refs)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = detect_header(row.cells)
        if header is None:
            continue
        body = [r for r in rows[index + 1:] if not header.repeats(r.cells)]
        if body and _is_second_header_row(body[0], header):
            body = body[1:]
        return readers[header.kind](header, _restore_merged_cells(header, body), plan_year, units, used_refs)
    first = rows[0] if rows else SourceRow("?", [])
    return TableResult(problems=[_problem(first, "table.no_header", " | ".join(first.cells)[:200],
                                          "无法识别该表格的表头（需要如“任务内容”“责任单位”“项目名称”等列名），整张表未导入")])


_FIGURE = re.compile(r"^[\d.．、]+$")


@functools.lru_cache(maxsize=4096)
def _shape(cell: str) -> str:
    """What a cell holds, coarsely: enough to tell which column a cell of a shifted row came from."""
    text = compact(cell)
    if not text:
        return "empty"
    if len(text) <= 16 and (TIME_WORDS.search(text) or read_deadline(text, 2000, dotted_dates=False).deadline):
        return "time"
    if _FIGURE.match(text):
        return "figure"
    if (looks_like_unit_list(cell) and not starts_with_action(text)) or is_annotation(cell):
        # "区城管局 区水投", "办公室牵头,各科室配合" (but "新建公办幼儿园5所" is a task)
        return "units"
    return "short" if len(text) <= 6 else "long"


def _restore_merged_cells(header: Header, rows: list[SourceRow]) -> list[SourceRow]:
    """Rows whose merged cells a converter dropped instead of leaving empty: "新增绿化面积387亩 | 已完成
    新增造林387亩 | 已完成 | | |" under "序号 | 项目名称 | 项目内容 | 当前进展情况 | 进度评价 | 主办单位"
    lost its 序号, 项目名称 and 主办单位 to the row above. Its cells are put back where the last full
    row has cells of the same shape (a figure, a time, units, a short word, a long text), so the
    empty ones inherit as merged cells do; a row that fits best where it is stays as it is."""
    width = len(header.cells)
    # A full row fills every column; until one is seen, a row that fills every column up to the last one
    # saying what, who or when will do (a 备注 or a progress column after it is often left off).
    full = max(column for name, column in header.columns.items() if name.split(":")[0] not in _OFTEN_EMPTY) + 1
    template: list[str] | None = None
    restored: list[SourceRow] = []
    numbered_at: tuple[int, int] | None = None  # the column of the last row's numbered cell, and its number
    for row in rows:
        own = [cell for cell in row.cells if cell.strip()]
        if len(own) >= width or (template is None and len(own) >= full and own == row.cells[:len(own)]):
            template = row.cells
        elif len(own) == 1 and numbered_at is not None and _cell_number(own[0]) == numbered_at[1] + 1 \
                and _reads_as_task(own[0]):
            # "8.持续深化…" alone under "…| 7.积极推进… | 市财政局牵头…": the next numbered cell of that
            # column, every other cell merged with the row above (not a heading across the table).
            cells = [""] * width
            cells[numbered_at[0]] = own[0]
            row = SourceRow(row.where, cells, row.line, merged_above=True)
        elif template is not None and len(own) >= 2 and own == row.cells[:len(own)]:
            # (One cell alone is a heading across the table, "2022年任务", or text run on from above.)
            # A row that starts with its 序号 keeps it and its task where they are: what it lost is after them.
            fixed = 2 if _shape(own[0]) == "figure" else 0
            columns = _placement([_shape(cell) for cell in own], [_shape(cell) for cell in template[:width]], fixed)
            if columns is not None:
                cells = [""] * width
                for cell, column in zip(own, columns, strict=True):
                    cells[column] = cell
                row = SourceRow(row.where, cells, row.line, merged_above=True)
        numbered_at = next(((column, number) for column, cell in enumerate(row.cells[:width])
                            if (number := _cell_number(cell)) is not None), None)
        restored.append(row)
    return restored


_CELL_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[、.．](?!\d)")


def _reads_as_task(cell: str) -> bool:
    """A sentence, not a heading across the table ("2.社会民生")."""
    return len(compact(cell)) > 15 or cell.rstrip().endswith(("。", "；", ";"))


def _cell_number(cell: str) -> int | None:
    """The list number a cell's text begins with ("8.持续深化…", "12、…"), if any."""
    return int(match[1]) if (match := _CELL_NUMBER.match(cell)) else None


_OFTEN_EMPTY = frozenset({"note", "progress"})


def _placement(own: list[str], template: list[str], fixed: int = 0) -> list[int] | None:
    """The columns, in order, where cells of these shapes agree best with the full row's: the most
    agreements, then the fewest runs of dropped cells (cells are dropped together, as one merged
    block), then the dropped ones first (merged leading cells are the most common loss) or, after a
    ``fixed`` start that stays where it is, last (an empty 配合单位 more often than a 牵头单位). None
    when they agree no better where they stand."""
    if fixed:
        if len(own) <= fixed:
            return None
        rest = _free_placement(own[fixed:], template[fixed:], leftmost=True)
        return None if rest is None else [*range(fixed), *(fixed + column for column in rest)]
    return _free_placement(own, template, leftmost=False)


def _free_placement(own: list[str], template: list[str], *, leftmost: bool) -> list[int] | None:
    count, width = len(own), len(template)
    worst = (-1, 0)
    # best[i][j][placed]: (agreements, -runs) of own[i:] placed within template[j:], where placed says
    # whether column j-1 holds a cell (so that skipping column j begins a run).
    best = [[[(0, 0) if i == count else worst for _ in range(2)] for _ in range(width + 1)] for i in range(count + 1)]
    for i in range(count - 1, -1, -1):
        for j in range(width - 1, -1, -1):
            for placed in (0, 1):
                here = best[i + 1][j + 1][1]
                here = (here[0] + (own[i] == template[j]), here[1]) if here != worst else worst
                skip = best[i][j + 1][0]
                skip = (skip[0], skip[1] - placed) if skip != worst else worst
                best[i][j][placed] = max(here, skip)
    where_they_stand = sum(shape == template[i] for i, shape in enumerate(own))
    if best[0][0][1][0] <= where_they_stand:
        return None
    columns: list[int] = []
    j, placed = 0, 1
    for i in range(count):
        while True:
            here = best[i + 1][j + 1][1]
            can_place = here != worst and (here[0] + (own[i] == template[j]), here[1]) == best[i][j][placed]
            skip = best[i][j + 1][0]
            can_skip = skip != worst and (skip[0], skip[1] - placed) == best[i][j][placed]
            if can_place and (leftmost or not can_skip):
                break
            j, placed = j + 1, 0
        columns.append(j)
        j, placed = j + 1, 1
    return columns


# The words a two-level header's second row splits its columns into: 投资 | 形象进度 | 完成投资 | %.
_SUBHEADER_CELL = re.compile(r"^(?:[（(]?[%％][）)]?|.{0,10}(?:投资|进度|情况|时间|金额|数量|比例|万元|名称|内容|单位"
                             r"|完成|计划|实际|目标|指标|措施))$")


def _is_second_header_row(row: SourceRow, header: Header) -> bool:
    """The row under a two-level header ("2022年工作计划" over "投资 | 工程主要形象进度"): no 序号 or
    other figures, and at least two of its cells name a column's part."""
    filled = [compact(cell) for cell in row.cells if cell.strip()]
    if any(len(cell) > 12 or (re.search(r"\d", cell) and not re.search(r"\d+-\d+月", cell))
           or _shape(cell) in ("units", "time") or _SECTION_ROW.match(cell + "、") for cell in filled):
        return False  # a row of the body: "一 | 扩大有效投资 | 区发改局 | 年底前完成"
    return sum(bool(_SUBHEADER_CELL.match(cell)) for cell in filled) >= 2


# --- 任务清单 -------------------------------------------------------------------


@dataclass
class _TaskRow:
    row: SourceRow
    area: str
    topic: str
    text: str
    units_text: str
    lead_text: str
    co_text: str
    deadline_text: str
    number: str
    officials_text: str = ""
    year: int | None = None  # set under a "2021年任务" row; otherwise the plan's
    more_text: list[str] = field(default_factory=list)  # rows it continues into, joined once read
    # Units of the rows under a task cell merged down over them (a Word table), joined once read.
    more_units: list[tuple[str, str, str]] = field(default_factory=list)
    # What its 责任单位, 牵头单位, 配合单位, 完成时限 and 责任领导 cells hold, its own or merged down from
    # the rows above (set for a row under merged cells): the rows below take these.
    cells: tuple[str, str, str, str, str] | None = None


def _numbers_go_on(above: str, number: str) -> bool:
    """Whether a row's 序号 is the next after the row above's (not a figure shifted into its column)."""
    return above.isdigit() and number.isdigit() and int(number) == int(above) + 1


def _take_merged_cells(task_row: _TaskRow, above: _TaskRow, header: Header, year: int) -> None:
    """The cells a row lacks, merged down from the rows above: the units, unless its own words name
    who does it ("县住建局负责开展…", "…，由县文旅局负责组织"); the 责任领导; the 完成时限, unless its words
    set a sooner limit."""
    units, lead, co, deadline, officials = above.cells or (
        above.units_text, above.lead_text, above.co_text, above.deadline_text, above.officials_text)
    own_units = task_row.units_text or task_row.lead_text or task_row.co_text
    if own_units:
        units, lead, co = task_row.units_text, task_row.lead_text, task_row.co_text
    elif said := doers_of(task_row.text) or units_in_prose(task_row.text):
        task_row.units_text = said
    else:
        task_row.units_text, task_row.lead_text, task_row.co_text = units, lead, co
    if task_row.officials_text:
        officials = task_row.officials_text
    else:
        task_row.officials_text = officials
    if task_row.deadline_text or "deadline" not in header.columns:
        deadline = task_row.deadline_text
    else:
        own = deadline_in_text(task_row.text, year)
        merged = read_deadline(deadline, year).deadline if deadline else None
        if own is None or own.deadline is None or merged is None or own.deadline >= merged:
            task_row.deadline_text = deadline
    # What its cells hold, its own or merged down: the rows below take these, whatever its words said.
    task_row.cells = (units, lead, co, deadline, officials)


_LISTED_NUMBER = re.compile(r"(?:^|(?<=[\s。；;]))(\d{1,2})\s*[.．、](?!\d)")


def _goes_on_listing(above: _TaskRow, text: str) -> bool:
    """Whether ``text`` begins with the next number of the list the row above's words end with."""
    first = _LISTED_NUMBER.match(text.strip())
    numbers = _LISTED_NUMBER.findall(" ".join([above.text, *above.more_text]))
    return bool(first and numbers) and int(first[1]) == int(numbers[-1]) + 1


def _collect_task_rows(header: Header, rows: list[SourceRow], plan_year: int) -> tuple[list[_TaskRow], list[Problem]]:
    collected: list[_TaskRow] = []
    problems: list[Problem] = []
    area = topic = ""
    year: int | None = None  # a multi-year plan's year for the rows below its heading
    width = max(header.columns.values()) + 1
    for row in rows:
        values = _row_values(row, header)
        if not any(values.values()):
            continue
        if any(_SUBTOTAL.match(v) for v in values.values() if v):
            continue
        text = values.get("text", "")
        if len(BULLETED.findall(text)) == 1:
            text = BULLETED.sub("", text).strip()  # "△各级财政安排…": one bullet item, the cell's whole task
        if detail := values.get("detail", ""):
            text = f"{text}{'' if not text or text[-1] in '。；;：:' else '：'}{detail}"
        owners = values.get("units", "") or values.get("lead", "") or values.get("co", "")
        deadline_text = values.get("deadline", "")
        filled = [c.strip() for c in row.cells if c.strip()]
        # A row with one cell only, wherever the converter put it ("2022年任务", "一、生态保护").
        heading = filled[0] if len(filled) == 1 else next((v for v in (values.get("area"), text) if v), "")
        if (stage := YEAR_HEADING.match(compact(heading))) and not (owners or deadline_text):
            # "2021年任务" across a multi-year plan's table: the rows below are that year's.
            year, area, topic = int(stage["year"]), stage.string, ""
            continue
        if values.get("area") and not (values.get("topic") or text or owners or deadline_text):
            area, topic = values["area"], ""  # a section row spanning the table
            continue
        if heading and _SECTION_ROW.match(heading) and (len(filled) == 1 or not (
                owners or deadline_text or values.get("number"))):
            area, topic = _SECTION_ROW.sub("", heading), ""  # "一、主要预期目标" across the table
            continue
        if len(filled) == 1 and _GROUP_ROW.match(compact(heading)):
            area, topic = heading, ""
            continue
        # A figure of its own (分值, 金额) is never the wrapped end of the row above.
        own_figure = any(values.get(name) for name in ("score", "money"))
        # (Nor is a row of a table rebuilt cell by cell whose 序号 goes on from the row above's, "3 |
        # 开展好“三下乡”活动。" under merged cells, unless its words go on with the list the row above's
        # began: "…3. 资金用于…" then "4. 会同协作地区…".)
        under_merged = bool(row.cells_fitted and collected and _numbers_go_on(collected[-1].number,
                                                                              values.get("number", "")))
        if text and not values.get("topic") and not owners and not deadline_text and collected \
                and not values.get("area") and not row.merged_above and not own_figure \
                and (not under_merged or _goes_on_listing(collected[-1], text)):
            # The row continues the previous one across a page break.
            collected[-1].more_text.append(text)
            continue
        if len([c for c in row.cells if c.strip()]) and len(row.cells) < width:
            problems.append(_problem(row, "table.short_row", "\t".join(row.cells)[:200],
                                     f"该行只有{len(row.cells)}列，表头有{width}列（表格可能被截断），已按现有内容导入"))
        if not text and owners and collected and not values.get("area") and not values.get("topic"):
            # The task's cell is merged down over several rows, one unit (or a few) each: a merged
            # cell reads as empty below its first row, so the row's units belong to the task above.
            merged_into = collected[-1]
            merged_into.more_units.append((values.get("units", ""), values.get("lead", ""), values.get("co", "")))
            if deadline_text and deadline_text != merged_into.deadline_text:
                if merged_into.deadline_text:
                    problems.append(_problem(row, "task.merged_deadline", deadline_text,
                                             f"与上方合并单元格的任务完成时限“{merged_into.deadline_text}”不同，"
                                             "按上方的时限导入；请办公室核对"))
                else:
                    merged_into.deadline_text = deadline_text
            continue
        if not text and values.get("area") and owners and "text" in header.columns \
                and re.fullmatch(r"\d{0,3}", values.get("number", "")) and not _SECTION_ROW.match(values["area"]):
            # "2 | 扎实做好疫苗接种信息公开 | 疾控处 | 长期推进" under 工作任务 | 细化分工: a task written
            # across both columns, with nothing to divide it into (and under no area of the rows above).
            text, area, topic = values["area"], "", ""
        elif values.get("area"):
            area, topic = values["area"], ""
        topic = values.get("topic") or topic
        if not text:
            problems.append(_problem(row, "task.no_text", "\t".join(row.cells)[:200], "该行没有任务内容，未导入"))
            continue
        task_row = _TaskRow(row, area, topic, text, values.get("units", ""), values.get("lead", ""),
                            values.get("co", ""), deadline_text, values.get("number", ""),
                            officials_text=values.get("officials", ""), year=year)
        if not owners and collected and (row.merged_above or (
                not task_row.number and (own_figure or "number" in header.columns))):
            # A second row under one 序号, a row with a figure of its own but no 责任单位, or one whose
            # dropped cells were put back: that cell is merged with the row above.
            above = collected[-1]
            task_row.units_text, task_row.lead_text, task_row.co_text = (above.units_text, above.lead_text,
                                                                         above.co_text)
        elif under_merged:
            # "3 | 开展好“三下乡”活动。" under "2 | … | 12月底前 | 夏俊贵 | 文化宣传股": the cells it lacks are
            # merged down from the row above, unless its own words say them ("县住建局负责…", "9月底前完成").
            _take_merged_cells(task_row, collected[-1], header, task_row.year or plan_year)
        elif row.merged_above and collected and "lead" in header.columns and not task_row.lead_text:
            # Its 牵头单位 cell is merged over the rows below it; their own units work with it.
            task_row.lead_text = collected[-1].lead_text
        collected.append(task_row)
    for task_row in collected:
        # Joined once: adding each row to the text as it came copied the whole text every time,
        # quadratic in a long run of continued rows (4 MB of them took 17 s).
        task_row.text = " ".join([task_row.text, *task_row.more_text])
        if task_row.more_units:
            units_pieces, lead_pieces, co_pieces = zip(*task_row.more_units, strict=True)
            task_row.units_text = "、".join(filter(None, [task_row.units_text, *units_pieces]))
            task_row.lead_text = "、".join(filter(None, [task_row.lead_text, *lead_pieces]))
            task_row.co_text = "、".join(filter(None, [task_row.co_text, *co_pieces]))
    return collected, problems


def _officials(text: str) -> list[str]:
    names = [name.strip() for name in re.split(r"[、，,；;\n]", text) if name.strip()]
    # "钱七 孙八" is two people; "钱 宇" is one, padded as tables pad two-character names.
    return [part for name in names
            for part in (name.split() if all(len(p) >= 2 for p in name.split()) else [name])]


def _read_task_rows(header: Header, rows: list[SourceRow], plan_year: int, units: UnitReader,
                    used_refs: Counter[str], *, issued: date | None = None) -> TableResult:
    collected, problems = _collect_task_rows(header, rows, plan_year)
    result = TableResult(problems=problems)
    # A task list repeats a few 完成时限 phrases (年底前, 长期坚持) down thousands of rows.
    deadline_of = functools.cache(read_deadline)
    for task_row in collected:
        row = task_row.row
        ref = unique_ref("list:" + "/".join(p for p in (task_row.area, task_row.topic) if p)
                          if (task_row.area or task_row.topic) else f"list:{task_row.text[:40]}", used_refs)
        if task_row.units_text and not (task_row.lead_text or task_row.co_text):
            owners = units.read(task_row.units_text, row.where, row.line, result.problems)
        elif task_row.lead_text or task_row.co_text:
            # 责任单位 beside a 配合单位 column leads; beside a 牵头单位 column it works with it.
            lead_text = task_row.lead_text or task_row.units_text
            co_text = "、".join(filter(None, [task_row.units_text if task_row.lead_text else "", task_row.co_text]))
            # A lead's name the flattening split into the next column: "县委县政府 | 督查室".
            if continues_name(lead_text, co_text):
                lead_text, co_text = lead_text + co_text.split("、")[0].strip(), "、".join(co_text.split("、")[1:])
            columns = header.columns
            lead_column = columns.get("lead" if task_row.lead_text else "units", 0)
            lead_first = lead_column <= min((columns[f] for f in ("units", "co") if f in columns
                                             and columns[f] != lead_column), default=lead_column)
            owners = units.read_lead_and_co(lead_text, co_text, row.where, row.line, result.problems,
                                            lead_first=lead_first)
        else:
            owners = units.empty()
            result.problems.append(_problem(row, "task.no_units", task_row.text[:80],
                                            "该任务没有写责任单位，已导入但无人负责，请办公室指定"))
        row_year = task_row.year or plan_year
        reading = deadline_of(task_row.deadline_text, row_year, reference=issued)
        if not task_row.deadline_text and owners.names and not find_recurrence(task_row.text) \
                and (said := deadline_in_text(task_row.text, row_year)):
            # No 完成时限 cell, but the task's words set one ("年底前完成…").
            reading = said
            result.problems.append(_problem(row, "deadline.from_text", said.text,
                                            f"完成时限“{said.text}”是从任务内容读出的，请核对"))
        elif not reading.understood:
            result.problems.append(_problem(row, "deadline.unreadable", task_row.deadline_text,
                                            f"{reading.note}；该任务暂无截止日期"))
        parent = Item(
            kind="task", ref=ref, text=task_row.text, category=task_row.area or None,
            topic=task_row.topic or None, number=task_row.number, units=owners.names, roles=owners.roles,
            officials=owners.officials + _officials(task_row.officials_text), units_as_written=owners.as_written,
            deadline=reading.deadline, start=reading.start, deadline_text=reading.text,
            recurrence=reading.recurrence or find_recurrence(task_row.text),
            milestones=list(reading.milestones), line=row.line,
        )
        result.items.append(parent)
        subitems = split_subitems(task_row.text)
        if not subitems and reading.text == task_row.deadline_text:
            parent.milestones += find_milestones(task_row.text, row_year)
        for number, subtext in subitems:
            result.items.append(Item(
                kind="task", ref=f"{ref}#{number}", parent=ref, text=subtext, category=parent.category,
                topic=parent.topic, number=str(number), units=list(parent.units), roles=dict(parent.roles),
                units_as_written=list(parent.units_as_written), officials=list(parent.officials),
                deadline=parent.deadline, start=parent.start, deadline_text=parent.deadline_text,
                recurrence=find_recurrence(subtext) or reading.recurrence,
                milestones=find_milestones(subtext, row_year), line=row.line,
            ))
    return result


# --- 项目计划表 -------------------------------------------------------------------


def _money(text: str) -> Decimal | None:
    cleaned = fold_width(text).replace(",", "").replace("万元", "").strip()
    if not cleaned:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


@dataclass
class _Group:
    label: str
    expected: int | None
    row: SourceRow
    found: int = 0


def _check_count(group: _Group | None, what: str, problems: list[Problem]) -> None:
    if group is not None and group.expected is not None and group.expected != group.found:
        problems.append(_problem(group.row, "project.count_mismatch", group.label,
                                 f"{what}“{group.label}”标明{group.expected}个项目，实际读到{group.found}个（表格可能不完整）"))


def _read_project_rows(header: Header, rows: list[SourceRow], plan_year: int, units: UnitReader,
                       used_refs: Counter[str]) -> TableResult:
    result = TableResult()
    region: _Group | None = None
    category: _Group | None = None
    for row in rows:
        values = _row_values(row, header)
        if not any(values.values()) or any(_SUBTOTAL.match(v) for v in values.values() if v):
            continue
        name = values.get("name", "")
        if not name:
            label = next((c.strip() for c in row.cells if c.strip()), "")
            match = _GROUP_WITH_COUNT.match(compact(label))
            expected = int(match["count"]) if match else None
            clean = match["label"] if match else compact(label)
            if _NUMBERED_LABEL.match(clean):
                _check_count(category, "类别", result.problems)
                category = _Group(_NUMBERED_LABEL.sub("", clean), expected, row)
            else:
                _check_count(category, "类别", result.problems)
                _check_count(region, "地区", result.problems)
                region, category = _Group(clean, expected, row), None
            continue
        for group in (region, category):
            if group is not None:
                group.found += 1
        region_label = region.label if region else ""
        ref = unique_ref(f"project:{region_label}:{compact(name)}" if region_label else f"project:{compact(name)}",
                          used_refs)
        lead_text = values.get("lead", "")
        if lead_text:
            owners = units.read(lead_text, row.where, row.line, result.problems)
        else:
            owners = units.empty()
            result.problems.append(_problem(row, "project.no_lead", name, "该项目没有写牵头单位，已导入但无人负责"))
        start, deadline, period_text = _project_period(values, plan_year)
        if period_text and deadline is None:
            result.problems.append(_problem(row, "deadline.unreadable", period_text,
                                            "无法识别的开工竣工时间，已按原文保留；该项目暂无截止日期"))
        elif deadline is not None and _BARE_YEAR_PERIOD.fullmatch(compact(period_text)) \
                and (said := deadline_in_text(values.get("content", ""), deadline.year)) is not None \
                and said.deadline is not None and said.deadline.year == deadline.year and said.deadline < deadline:
            # 建设年限 "2022" is the whole year; the content says when within it ("2022年11月份前完成改造").
            deadline = said.deadline
            result.problems.append(_problem(row, "deadline.from_text", said.text,
                                            f"完成时限“{said.text}”是从建设内容读出的，请核对"))
        detail = ProjectDetail(
            region=region_label, nature=values.get("nature", ""), content=values.get("content", ""),
            total_investment=_money(values.get("total", "")), funds=_money(values.get("funds", "")),
            implementing_unit=values.get("implementer", ""), manager=values.get("manager", ""),
            period_text=period_text, benefit=values.get("benefit", ""),
        )
        result.items.append(Item(
            kind="project", ref=ref, text=name, category=category.label if category else None,
            topic=region_label or None, number=values.get("number", ""), units=owners.names,
            roles=owners.roles, deadline=deadline, start=start, deadline_text=period_text,
            project=detail, line=row.line, units_as_written=owners.as_written, officials=owners.officials,
        ))
    _check_count(category, "类别", result.problems)
    _check_count(region, "地区", result.problems)
    return result


_BARE_YEAR_PERIOD = re.compile(r"(?:19|20)\d{2}年?(?:度)?")
_BARE_YEAR = re.compile(r"((?:19|20)\d{2})(?!\s*[年\d.．/-]\s*\d)(?!\s*年)")


def _project_period(values: dict[str, str], plan_year: int) -> tuple[object, object, str]:
    """Start and completion of a project from one period column or two date columns."""
    if period_text := values.get("period", ""):
        # In a 建设年限 column a bare "2022" or "2022-2023" is a year (elsewhere it could be anything).
        period = read_period(_BARE_YEAR.sub(r"\1年", period_text), plan_year)
        return (period.start, period.end, period_text) if period else (None, None, period_text)
    start_text, end_text = values.get("start", ""), values.get("end", "")
    start_period = read_period(start_text, plan_year) if start_text else None
    end_period = read_period(end_text, plan_year) if end_text else None
    text = "-".join(t for t in (start_text, end_text) if t)
    return (start_period.start if start_period else None, end_period.end if end_period else None, text)


# --- 工作专班 -------------------------------------------------------------------


def _read_team_rows(header: Header, rows: list[SourceRow], plan_year: int, units: UnitReader,
                    used_refs: Counter[str]) -> TableResult:
    result = TableResult()
    for row in rows:
        values = {name: _cell(row, header, name) for name in header.columns}
        if not values.get("name"):
            continue
        result.items.append(team_item(values["name"], values.get("lead", ""), values.get("number", ""),
                                      values.get("duty", ""), row, units, used_refs, result.problems))
    return result


def team_item(name: str, lead_text: str, number: str, duty: str, row: SourceRow, units: UnitReader,
              used_refs: Counter[str], problems: list[Problem]) -> Item:
    owners = units.read_all_lead(lead_text, row.where, row.line, problems)
    return Item(kind="team", ref=unique_ref(f"team:{compact(name)}", used_refs), text=name, number=number,
                units=owners.names, roles=owners.roles, category=duty or None, line=row.line,
                units_as_written=owners.as_written)
