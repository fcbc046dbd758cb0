"""Tables that a conversion flattened to one cell per line.

Copied from a web page or a PDF, a task table often loses its rows: each cell comes on
a line of its own, sometimes with a line holding only ``|`` between cells, and

- cells merged down several rows (分块, 序号, 牵头领导) appear once and are then missing;
- a cell holding several units or a long text runs over several lines;
- one 序号 can hold two rows (开工建设县老年养护楼 / 开工建设老年大学).

So the rows cannot be counted off. They are rebuilt by fitting the cells, in order, to
the header's columns: every cell goes to the column its content suits best (a number to
序号, "12月底前" to 完成时限, "区住建局" to 责任单位, a sentence to the task), columns are
filled left to right within a row, and a new row starts where the cells turn back to an
earlier column. The best fit over the whole table is found by dynamic programming, so one
odd cell cannot throw off the rows after it.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import combinations, pairwise
from math import comb

from tasks.plan.annotations import TIME_WORDS, looks_like_unit_list, starts_with_action
from tasks.plan.columns import Header, detect_header, names_a_column
from tasks.plan.deadlines import read_deadline
from tasks.plan.units import UNIT_ENDING, without_role_suffix
from tasks.text import compact, strip_markup

MAX_HEADER_CELLS = 12
# The ways one spaced line is tried as a header before it is taken for a line of text.
_MAX_HEADER_ATTEMPTS = 24
MAX_HEADER_CELL_LENGTH = 16
# A line that ends such a table: the next attachment, a signature date.
_TABLE_END = re.compile(r"^(?:附件\s*\d*\s*[:：]?\s*$|附件\s*\d+|(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$)")
# How a flattened table's cells are told apart: a line each, "|" between them, or spaces on a row's line.
LINES, BARS, SPACES = "lines", "bars", "spaces"
# "| cell" on each line but a row's first, a line holding only "|" after each row.
LEADING_BARS = "leading bars"
_SEPARATORS_ONLY = re.compile(r"^\|+$")
_NUMBERED = re.compile(r"^\d{1,3}\s*[、.．](?!\d)\S")
_LIST_NUMBER = re.compile(r"^(?:[(（][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．]"
                          r"|\d{1,3}[、.．](?!\d))")
_TITLE_LIKE = re.compile(r"^(?:19|20)\d{2}年|(?:表|清单|方案|计划|要点)$")
# A figure with or without its measure: 9.8%, 3幢, 6%以上, 18.4, 1500 (a 序号 is shorter and has no decimals).
_MEASURE = re.compile(r"^\d+(?:\.\d+)?\s*(?:[%％]|[\u4e00-\u9fff]{1,3}(?:以上|以内|左右)?$|$)")
_NUMBER = re.compile(r"^(?:\d{1,3}(?:[.．、]|-\d{1,3})?|[一二三四五六七八九十]{1,3}[、.．]?)$")
# How the name of a column we do not know ends: 评分部门, 考核单位, 联系人, 分值.
_NAMES_SOME_COLUMN = re.compile(
    r"^[\u4e00-\u9fff]{0,6}(?:部门|单位|时间|情况|内容|指标|目标|备注|分值|名称|领导|人|方式|依据)$")
_PERSON = re.compile(r"^[\u4e00-\u9fff]{1,2}\s?[\u4e00-\u9fff]{1,2}$")
# What a table writes in a cell that has nothing to say.
_NOTHING_WRITTEN = frozenset({"", "/", "／", "—", "——", "无", "空"})
_HAN_ONLY = re.compile(r"^[\u4e00-\u9fff、，,；;]+$")

# What each kind of column accepts, as scores for a cell: higher is a better fit.
_IMPOSSIBLE = -100.0
# A new row that does not start at its number: allowed, but only when the cells ask for it.
_RESTART = -3.0
# Beyond this many ways to place a short row's cells, they are left where they stand.
_MAX_PLACEMENTS = 500
_SKIPPED_NUMBER = -3.0
# A second line in the same cell: cheap for a list of units, dearer for a task's text, which more
# often is the next cell (an area name above the task) than a wrapped line.
_CONTINUATION = {False: 0.5, True: 2.0}


@dataclass(frozen=True)
class _Cell:
    text: str
    line: int  # 0-based index of its first line


@dataclass
class FlatTable:
    first_line: int  # 0-based, the header's first line
    end_line: int  # 0-based, one past the table's last line
    rows: list[tuple[int, list[str]]]  # (0-based line, cells) — the header row first
    before: str = ""  # words on the header's line before it, when a document runs into its table
    # Every row was closed by a separator: a row is never the wrapped end of the one above, and its
    # missing cells are merged with the row above.
    closed_rows: bool = False
    # Rebuilt cell by cell from one cell a line: a cell merged down from the row above is not written
    # again, so a row without it is one the merged cell spans (not a row left empty there)...
    cells_fitted: bool = False
    # ...except the rows (by their first line) that write an empty cell as such ("—", "/", "无").
    rows_with_blanks: frozenset[int] = frozenset()


def _cell_text(line: str) -> str:
    return strip_markup(line).strip().strip("|").strip()


def _is_header_cell(text: str) -> bool:
    key = compact(text)
    # (Not "(一)刘忻市长牵头重点工作", a numbered group row under the header, whatever its last words.)
    return 0 < len(key) <= MAX_HEADER_CELL_LENGTH and not re.search(r"[。，,；;：:、]|^\d+$", key) \
        and not _LIST_NUMBER.match(key)


def _spaced_header(lines: list[str], start: int) -> tuple[Header, list[str], int, str, str, str] | None:
    """A header on one line with single spaces between its names ("序号 目标任务 责任单位 上半年推进情况"):
    the whole line, its end (a document run into one line before its table), or its middle (the
    table's first row run on after it). The header, its cells, the next line's index, the mode, the
    words before the header on its line and those after it."""
    raw = lines[start].strip()
    if "|" in raw or "\t" in raw:
        return None
    spans = [m.span() for m in re.finditer(r"\S+", raw)]
    words = [raw[a:b] for a, b in spans]
    # A header begins and ends on a name we know, names each column once, and is tried a bounded
    # number of ways: a line of nothing but such words must not cost more than a few lines.
    named = [names_a_column(w) for w in words]
    header_like = [named[i] or (_is_header_cell(w) and not _is_body_cell(w)) for i, w in enumerate(words)]
    attempts = 0
    run_end = len(words)
    while run_end > 0 and attempts < _MAX_HEADER_ATTEMPTS:
        run_start = run_end
        while run_start > 0 and header_like[run_start - 1] and run_end - run_start < MAX_HEADER_CELLS:
            run_start -= 1
        ends_line = run_end == len(words)
        for first in range(run_start, run_end - (1 if ends_line else 2)):
            if not named[first]:
                continue
            for last in range(run_end, first + (1 if ends_line else 2), -1):
                cells = words[first:last]
                if not named[last - 1] or len({compact(c) for c in cells}) < len(cells):
                    continue
                attempts += 1
                header = _detect(tuple(cells))
                known = header.columns.values() if header is not None else ()
                if header is not None and header.kind == "task" and 0 in known and len(cells) - 1 in known:
                    return (header, cells, start + 1, SPACES, raw[:spans[first][0]].rstrip(),
                            raw[spans[last - 1][1]:].strip())
                if ends_line or attempts >= _MAX_HEADER_ATTEMPTS:
                    break  # a header that ends the line ends it: no shorter one is tried
            if attempts >= _MAX_HEADER_ATTEMPTS:
                break
        run_end = run_start - 1 if run_start == run_end else run_start
        while run_end > 0 and not header_like[run_end - 1]:
            run_end -= 1
    return None


@functools.lru_cache(maxsize=1024)  # a page-repeated header is looked at again at every page
def _detect(cells: tuple[str, ...]) -> Header | None:
    return detect_header(list(cells))


def _is_body_cell(text: str) -> bool:
    """A short cell that cannot name a column: a section's numeral ("一"), one body's name with its
    level ("区住建局"; "所在乡镇", "牵头科室" and "县（市、区）" name columns)."""
    key = compact(text)
    return bool(re.fullmatch(r"[一二三四五六七八九十]+", key)) or (
        bool(re.match(r"[省市县区州旗]", key)) and len(key) >= 3 and not re.search(r"[(（]", key)
        and looks_like_unit_list(text) and not names_a_column(key) and not _NAMES_SOME_COLUMN.search(key))


def _may_start_header(raw: str) -> bool:
    """A line a header can start on: a column name of its own, or a spaced line with two column names
    side by side."""
    text = _cell_text(raw)
    if _is_header_cell(text) and names_a_column(text):
        return True
    if " " not in raw:
        return False
    words = raw.split()
    return any(names_a_column(a) and names_a_column(b) for a, b in pairwise(words))


def _header_at(lines: list[str], start: int) -> tuple[Header, list[str], int, str, str, str] | None:
    """A header written one cell per line from ``start`` (or on one line, spaced): the header, its
    cells, the index after its last line, how the body's cells are separated, and any words before
    the header on its first line."""
    if spaced := _spaced_header(lines, start):
        return spaced
    cells: list[str] = []
    ends: list[int] = []
    separated = leading_bars = False
    index = start
    while index < len(lines) and len(cells) < MAX_HEADER_CELLS:
        raw = lines[index].strip()
        if not raw:
            index += 1
            continue
        if _SEPARATORS_ONLY.match(raw):
            separated = True
            index += 1
            continue
        text = _cell_text(raw)
        if not _is_header_cell(text) or _is_body_cell(text):
            break
        separated = separated or raw.endswith("|")
        leading_bars = leading_bars or (raw.startswith("|") and not raw.endswith("|"))
        cells.append(text)
        ends.append(index + 1)
        index += 1
    if cells and _TITLE_LIKE.match(compact(cells[0])):
        return None  # "2021年工作任务" above the header is the table's title, not its first column
    # The longest run that reads as a header and ends on a name we know (a body cell right after
    # a header, such as a short area name, is not part of it).
    for count in range(len(cells), 1, -1):
        header = _detect(tuple(cells[:count]))
        known = header.columns.values() if header is not None else ()
        if header is not None and header.kind in ("task", "project") and 0 in known and count - 1 in known:
            # Columns we do not read after the last one we do ("责任部门 | 评分部门"): still the header's.
            while count < len(cells) and _NAMES_SOME_COLUMN.search(compact(cells[count])):
                count += 1
            mode = LEADING_BARS if leading_bars else BARS if separated else LINES
            return header, cells[:count], ends[count - 1], mode, "", ""
    return None


def _ends_table(lines: list[str], index: int) -> bool:
    raw = lines[index].strip()
    return bool(_TABLE_END.match(_cell_text(raw)) or (_may_start_header(raw) and _header_at(lines, index) is not None))


def _rows_led_by_bars(lines: list[str], start: int,
                      fields: list[str | None]) -> tuple[list[tuple[int, list[str]]], int]:
    """Rows written "first cell" then "| cell" a line each, closed by a line holding only "|". A cell
    printed one or two characters a line ("市\n监\n察\n局", a narrow merged cell) is joined back; a
    row with fewer cells than the header lost its merged ones, and its cells go where they fit."""
    rows: list[tuple[int, list[str]]] = []
    cells: list[str] = []
    first_line = index = start
    while index < len(lines):
        raw = lines[index].strip()
        if raw and _ends_table(lines, index):
            break
        if _SEPARATORS_ONLY.match(raw):
            following = _next_line(lines, index)
            if cells and following.startswith("|") and not _SEPARATORS_ONLY.match(following):
                cells.append("")  # "|" then "| cell": an empty cell, not the row's end
            else:
                if cells:
                    rows.append((first_line, _placed(cells, fields)))
                cells = []
        elif raw.startswith("|"):
            cells.append(_cell_text(raw))
        elif raw:
            if not cells:
                # A row's first cell is followed by its "| cell"s, or is a narrow cell printed a few
                # characters a line; anything else is the text after the table.
                following = _next_line(lines, index)
                if not following.startswith("|") and not (len(compact(raw)) <= 6 and len(compact(following)) <= 6):
                    break
                first_line = index
                cells.append("")
            cells[-1] += _cell_text(raw)
        index += 1
    if cells:
        rows.append((first_line, _placed(cells, fields)))
    return rows, index


def _next_line(lines: list[str], index: int) -> str:
    """The next line with anything on it, stripped ("" at the end)."""
    return next((line.strip() for line in lines[index + 1:index + 50] if line.strip()), "")


def _placed(cells: list[str], fields: list[str | None]) -> list[str]:
    """A row's cells under the columns they fit best, in order (all of them when none is missing)."""
    width = len(fields)
    if len(cells) >= width or comb(width, len(cells)) > _MAX_PLACEMENTS:
        return cells + [""] * (width - len(cells))
    kinds = [(_kind_of(c), min(len(compact(c)), 61)) for c in cells]
    best = max(combinations(range(width), len(cells)),
               key=lambda columns: sum(_score(kind, length, fields[column])
                                       for (kind, length), column in zip(kinds, columns, strict=True)))
    placed = [""] * width
    for cell, column in zip(cells, best, strict=True):
        placed[column] = cell
    return placed


def _tokens(lines: list[str], start: int, mode: str) -> tuple[list[_Cell], int]:
    """The body's cells from ``start`` up to where the table ends, and that end."""
    cells: list[_Cell] = []
    index = start
    pending: list[str] = []
    pending_line = start
    last_separator = start
    while index < len(lines):
        raw = lines[index].strip()
        if not raw:
            index += 1
            continue
        text = _cell_text(raw)
        if _ends_table(lines, index):
            break
        if mode == SPACES:
            cells += [_Cell(piece, index) for piece in text.split()]
            last_separator = index + 1
        elif mode == BARS:
            if _SEPARATORS_ONLY.match(raw):
                bars = raw.count("|")
                cells.append(_Cell("".join(pending), pending_line))
                cells += [_Cell("", index)] * (bars - 1)
                pending, last_separator = [], index + 1
            elif raw.endswith("|"):
                if not pending:
                    pending_line = index
                pending.append(text)
                cells.append(_Cell("".join(pending), pending_line))
                pending, last_separator = [], index + 1
            else:
                if not pending:
                    pending_line = index
                pending.append(text)
        else:
            cells.append(_Cell(text, index))
            last_separator = index + 1
        index += 1
    if mode == BARS:
        # (Right after the last separator, empty lines between them aside.)
        if pending and index == len(lines) and len(pending) == 1 \
                and not any(lines[between].strip() for between in range(last_separator, pending_line)) \
                and not re.search(r"[:：]", pending[0]) and _unit_like(pending[0]):
            # The document ends on the last row's units, their closing bar left off.
            cells.append(_Cell(pending[0], pending_line))
            return cells, index
        # Words after the last separator are not a cell of this table: the text goes on below it.
        return cells, last_separator
    return cells, index


@functools.lru_cache(maxsize=65536)  # a table repeats its cells: 12月底前, 是, 已完成, unit names
def _kind_of(text: str) -> str:
    key = compact(text)
    if key in _NOTHING_WRITTEN:
        return "empty"
    if _NUMBER.match(key):
        return "number"
    if _deadline_like(key) and not _unit_like(text):
        return "deadline"
    if _unit_like(text) and not starts_with_action(key):
        return "units"
    if _NUMBERED.match(key):
        return "numbered"
    if _MEASURE.match(key):
        return "measure"  # 9.8%, 3幢, 6%以上, 80%(进度滞后): a target or a result, not a task
    if _person_like(text, key):
        return "person"
    return "text"


def _person_like(text: str, key: str) -> bool:
    """"钱 宇", "杜新国、丁玲": people's names, padded with a space as tables do for two-character ones."""
    if not _HAN_ONLY.match(key) or len(key) > 12 or UNIT_ENDING.search(key):
        return False
    names = [p for p in re.split(r"[、，,；;]", text) if p.strip()]
    if len(names) == 1 and " " in text.strip() and all(2 <= len(n) <= 3 for n in text.split()):
        names = text.split()  # "钱七 孙八": two people, a space between them
    return all(_PERSON.match(n.strip()) and len(compact(n)) <= 3 for n in names)


def _deadline_like(key: str) -> bool:
    """Short and about time ("12月底前", "9月投入使用", "长期坚持"), or read whole as a deadline."""
    if len(key) <= 12 and TIME_WORDS.search(key):
        return True
    if len(key) > 20 or re.search(r"[。，,；;]", key):
        return False
    reading = read_deadline(key, 2000, dotted_dates=False)
    return reading.understood and bool(reading.deadline or reading.recurrence or reading.note)


def _unit_like(text: str) -> bool:
    # "市发改委、市科技局、团市委配合落实": a list that closes with the part its bodies play is still one
    # (a list: "省级惠企政策在各镇街道落实" is a task).
    listed = without_role_suffix(text) if re.search(r"[、，,；;]|(?:牵头|负责|配合|协办|主办)$", text) else text
    return len(compact(text)) <= 120 and looks_like_unit_list(listed)


# A project table's columns, scored as the task table's column of the same sort.
_AS_TASK_FIELD = {"name": "text", "implementer": "lead", "period": "deadline", "start": "deadline",
                  "end": "deadline", "content": "progress", "benefit": "progress", "use": "progress",
                  "nature": "area", "manager": "officials", "total": "money", "funds": "money"}
_UNIT_FIELDS = frozenset({"units", "lead", "co"})
_MEASURE_COLUMNS = frozenset({"单位", "计量单位", "计量"})
# A target's measure: 万元/人, 亿斤, %, "-" for none.
_MEASURE_WORD = re.compile(r"^(?:[%％‰-]|[万亿千百]?(?:平方|立方)?(?:公里|千米|米|亩|斤|吨|头|只|个|户|家|所|座"
                           r"|元|次|项|件|套|台|辆|床|张|册|人|千瓦|度|倍|分|天)(?:/[\u4e00-\u9fff]{1,2})?)$")
_TEXT_FIELDS = frozenset({"text", "detail"})
_LOOSE_FIELDS = frozenset({"progress", "target", "note"})
_AREA_FIELDS = frozenset({"area", "topic"})


@functools.lru_cache(maxsize=4096)
def _score(kind: str, length: int, field: str | None) -> float:
    """How well a cell of this kind fits a column of this field (None: a column we do not read)."""
    if kind == "empty":
        return 0.0
    if field == "measure":
        return 3.0 if kind == "measure_word" else -2.0
    if field == "other_units":
        return {"units": 4.0, "measure_word": -2.0}.get(kind, -3.0)
    if kind == "measure_word":
        kind = "measure"
    if field in ("money", "score"):  # 300, 1360, 2.5亿元; an assessment's 3 points
        return 2.0 if kind in ("number", "measure") or (kind == "text" and length <= 8) else -2.0
    if field == "number":
        return 5.0 if kind == "number" else _IMPOSSIBLE
    if kind == "number":
        # A figure is a target's or a result's value ("186", "18.4"); elsewhere a row's lost 序号.
        return 1.5 if field in _LOOSE_FIELDS else -5.0
    if kind == "numbered":
        # "1、地区生产总值增长率": the task of a row that starts here.
        return 4.0 if field in _TEXT_FIELDS else -3.0
    if field in _TEXT_FIELDS:
        return {"text": 3.0 + min(length, 60) / 60, "deadline": -2.0, "units": -3.0, "person": -3.0,
                "measure": -1.0}[kind]
    if field in _UNIT_FIELDS:
        return {"units": 4.0, "person": -2.0, "deadline": -4.0, "text": -4.0, "measure": -4.0}[kind]
    if field == "deadline":
        return {"deadline": 4.0, "units": -4.0, "person": -4.0, "text": -3.0, "measure": -3.0}[kind]
    if field == "officials":
        return {"person": 4.0, "units": -3.0, "deadline": -3.0, "text": -3.0, "measure": -3.0}[kind]
    if field in _AREA_FIELDS:
        if kind == "text" and length <= 15:
            return 2.5
        return -2.0
    # Progress, targets, notes and unknown columns take whatever is written there, but weakly; a
    # progress column's report runs long.
    if kind == "text":
        return 1.0 if length <= 15 else 2.0 if field == "progress" else 0.5
    return {"deadline": 0.0, "units": -1.0, "person": -1.0, "measure": 1.5}[kind]


# Columns whose cell can run over several lines (or list several units on several lines).
_MULTI_LINE = _UNIT_FIELDS | _TEXT_FIELDS | _LOOSE_FIELDS | {None}


def _fit(cells: list[_Cell], fields: list[str | None], number_column: int | None) -> list[tuple[int, bool]]:
    """For each cell its column, and whether it starts a new row: the best-scoring fit."""
    width = len(fields)
    kinds = _kinds(cells, number_column, "measure" in fields)
    lengths = [min(len(compact(c.text)), 61) for c in cells]  # what a score needs of a cell's words
    minus_infinity = float("-inf")
    # best[i][c]: the best score of cells[:i+1] with cell i in column c; back-pointers beside it.
    best = [[minus_infinity] * width for _ in cells]
    back: list[list[tuple[int, bool]]] = [[(-1, True)] * width for _ in cells]
    for column in range(width):
        best[0][column] = _score(kinds[0], lengths[0], fields[column]) + _restart_cost(
            column, number_column, fields[column], kinds[0])
    for i in range(1, len(cells)):
        previous_row = best[i - 1]
        # The best previous column before each column (moving right), and after it (starting a row):
        # running maxima, so that each cell costs the table's width, not its square.
        # A row begun left of its 序号 (a merged area cell) that passes it by is unlikely: moving from
        # those columns to one right of the 序号 costs more.
        before_max: list[tuple[float, int]] = []
        left_of_number = running = (minus_infinity, -1)
        for column in range(width):
            skipping = number_column is not None and column > number_column
            before_max.append(max(running, (left_of_number[0] + _SKIPPED_NUMBER, left_of_number[1]) if skipping
                                  else left_of_number))
            if number_column is not None and column < number_column:
                if previous_row[column] > left_of_number[0]:
                    left_of_number = (previous_row[column], column)
            elif previous_row[column] > running[0]:
                running = (previous_row[column], column)
        after_max: list[tuple[float, int]] = [(minus_infinity, -1)] * width
        running = (minus_infinity, -1)
        for column in range(width - 1, -1, -1):
            after_max[column] = running
            if previous_row[column] > running[0]:
                running = (previous_row[column], column)
        for column in range(width):
            fit = _score(kinds[i], lengths[i], fields[column])
            if fit <= _IMPOSSIBLE:
                continue
            restart_cost = _restart_cost(column, number_column, fields[column], kinds[i])
            options = [(before_max[column][0], before_max[column][1], False),
                       (after_max[column][0] + restart_cost, after_max[column][1], True)]
            if fields[column] in _MULTI_LINE:
                continuation = _CONTINUATION[fields[column] in _TEXT_FIELDS]
                options.append((previous_row[column] - continuation, column, False))
            else:
                options.append((previous_row[column] + restart_cost, column, True))
            value, came_from, restarted = max(options, key=lambda option: option[0])
            if value == minus_infinity:
                continue
            best[i][column] = value + fit
            back[i][column] = (came_from, restarted)
    column = max(range(width), key=lambda c: best[-1][c])
    path: list[tuple[int, bool]] = []
    for i in range(len(cells) - 1, -1, -1):
        came_from, restarted = back[i][column]
        path.append((column, restarted or i == 0))
        column = came_from
    path.reverse()
    return path


def _kinds(cells: list[_Cell], number_column: int | None, has_measures: bool) -> list[str]:
    """Each cell's kind. Under a 序号 column a bare number is a row's number only where it goes on
    from the one before ("0" between 5 and 6 is a target's value, and so is "42" between 9 and 10);
    beside a 单位 column a short word may be a measure."""
    kinds = [_kind_of(c.text) for c in cells]
    if has_measures:
        kinds = ["measure_word" if kind in ("text", "measure", "person") and _MEASURE_WORD.match(compact(c.text))
                 else kind for kind, c in zip(kinds, cells, strict=True)]
    if number_column is None:
        return kinds
    numbers = [(i, int(m[1])) for i, c in enumerate(cells)
               if kinds[i] == "number" and (m := re.match(r"^(\d{1,3})[.．、]?$", compact(c.text)))]
    # A 序号 need not start at 1 or go up by one (an excerpt, a numbering carried over), but it never
    # goes back, except to start again at 1; a number above the next one's is a figure between them.
    last = 0
    for position, (i, value) in enumerate(numbers):
        following = numbers[position + 1][1] if position + 1 < len(numbers) else None
        restart = value == 1 and following in (None, 2)
        skipped_over = value > last + 1 and (following == last + 1 or (following is None and last > 0))
        if restart or (value > last and not skipped_over):
            last = value
        else:
            kinds[i] = "measure"
    return kinds


def _restart_cost(column: int, number_column: int | None, field: str | None, kind: str) -> float:
    """A row that starts at its 序号, or at a numbered task, costs nothing; at a merged area cell
    before them, little."""
    if (number_column is not None and column == number_column) or (kind == "numbered" and field in _TEXT_FIELDS):
        return 0.0
    if number_column is not None and column < number_column:
        return -1.0
    if number_column is None and column == 0:
        return -2.0
    return _RESTART


def _unread_column(name: str) -> str | None:
    """How a column we do not read is scored, from its name: "单位" beside a target is the target's
    measure (%, 万亩); "评分部门", "考核单位" hold bodies that are not the task's own, and "所在乡镇",
    "建设地点" the places where it is done."""
    key = compact(name)
    if key in _MEASURE_COLUMNS:
        return "measure"
    if re.search(r"(?:部门|单位|乡镇|镇街|街道|地点|所在地)$", key):
        return "other_units"
    return None


def _rejoin_wrapped_names(parts: list[str]) -> list[str]:
    """A narrow column wraps a long name: "市生态" over "环境局" is 市生态环境局."""
    names: list[str] = []
    for part in parts:
        if names and not _unit_like(names[-1]) and _unit_like(names[-1] + part):
            names[-1] += part
        else:
            names.append(part)
    return names


def _join(field: str | None, parts: list[str]) -> str:
    parts = [p for p in parts if p]
    if field in _UNIT_FIELDS | {"other_units"}:
        return "、".join(_rejoin_wrapped_names(parts))
    return "".join(parts) if field in _TEXT_FIELDS | _AREA_FIELDS else " ".join(parts)


def find_flat_tables(lines: list[str], taken: list[bool]) -> list[FlatTable]:
    """Every table written one cell per line, with its rows rebuilt. ``taken`` marks lines
    already read as table rows of another form (tab or ``|`` rows)."""
    tables: list[FlatTable] = []
    index = 0
    while index < len(lines):
        raw = lines[index].strip()
        if not raw or taken[index] or not _may_start_header(raw):
            index += 1
            continue
        found = _header_at(lines, index)
        if found is None:
            index += 1
            continue
        header, header_cells, body_start, mode, before, after = found
        fields_by_column: dict[int, str] = {column: field for field, column in header.columns.items()}
        # A second target or progress column ("target:2") is scored as the first is.
        fields = [_AS_TASK_FIELD.get(name, name) if (name := fields_by_column.get(column, "").split(":")[0])
                  else _unread_column(header_cells[column]) for column in range(len(header_cells))]
        if mode == LEADING_BARS:
            rows, end = _rows_led_by_bars(lines, body_start, fields)
            if rows:
                tables.append(FlatTable(index, end, [(index, header_cells), *rows], before, closed_rows=True))
                index = end
            else:
                index += 1
            continue
        cells, end = _tokens(lines, body_start, mode)
        cells = [_Cell(word, index) for word in after.split()] + cells  # the first row, run on after the header
        if not any(c.text for c in cells):
            index += 1
            continue
        rows = (_rows_between_bars(cells, len(fields)) if mode == BARS else None) or _rows(
            cells, fields, header.columns.get("number"))
        starts = [line for line, _ in rows]
        blanks = frozenset(starts[position - 1] for c in cells if c.text.strip() and compact(c.text) in _NOTHING_WRITTEN
                           and (position := bisect_right(starts, c.line)) > 0)
        tables.append(FlatTable(index, end, [(index, header_cells), *rows], before, cells_fitted=True,
                                rows_with_blanks=blanks))
        index = end
    return tables


def _rows_between_bars(cells: list[_Cell], width: int) -> list[tuple[int, list[str]]] | None:
    """Cells written "text |" a line each, a line holding only "|" after each row: when every run
    between those lines is as wide as the header, the runs are the rows and need no fitting."""
    rows: list[tuple[int, list[str]]] = []
    run: list[_Cell] = []
    for cell in [*cells, _Cell("", -1)]:
        if cell.text:
            run.append(cell)
            continue
        if run:
            if len(run) != width:
                return None
            rows.append((run[0].line, [c.text for c in run]))
            run = []
    return rows


def _rows(cells: list[_Cell], fields: list[str | None], number_column: int | None) -> list[tuple[int, list[str]]]:
    # An empty cell says nothing about where it belongs: converters pad rows with them. A bare number
    # in a table whose header has no 序号 is that missing column's.
    takes_figures = number_column is not None or bool({"money", "score"} & set(fields))
    cells = [c for c in cells if compact(c.text) not in _NOTHING_WRITTEN
             and (takes_figures or not _NUMBER.match(compact(c.text)))]
    if not cells:
        return []
    path = _fit(cells, fields, number_column)
    rows: list[tuple[int, list[list[str]]]] = []
    for cell, (column, starts_row) in zip(cells, path, strict=True):
        if starts_row or not rows:
            rows.append((cell.line, [[] for _ in fields]))
        rows[-1][1][column].append(cell.text)
    return [(line, [_join(fields[c], parts) for c, parts in enumerate(columns)]) for line, columns in rows]
