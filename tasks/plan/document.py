"""The layout of a converted document: paragraphs and tables, with page breaks repaired.

Documents arrive as text converted from Word or PDF: headings marked with ``#``,
tables as tab-separated (or ``|``-separated) lines, a blank line wherever a page
broke, sometimes in the middle of a sentence or of a unit name (区科技 / 和信息化局).
This module knows nothing of work points; it only restores the paragraphs and
tables the author wrote.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tasks.plan.annotations import LABEL_LINE, looks_like_unit_list
from tasks.plan.box_tables import PAGE_NUMBER, find_box_tables
from tasks.plan.columns import names_a_column
from tasks.plan.units import UNIT_ENDING
from tasks.plan.vertical_tables import find_flat_tables
from tasks.text import YEAR_HEADING, compact, display_width, strip_markup, without_pinyin_glosses


@dataclass
class Paragraph:
    line: int
    text: str
    heading: int = 0  # markdown heading level, 0 for body text
    bullet: bool = False  # begun with a list mark ("- ", "* "): an item of a list, as a number begins one


@dataclass
class TableRow:
    line: int
    cells: list[str]


@dataclass
class Table:
    line: int
    rows: list[TableRow] = field(default_factory=list)
    # Each row was closed by a separator, so none is the run-on end of the one above it.
    closed_rows: bool = False
    # Rebuilt from one cell a line, where a merged cell is written on its first row only (save the
    # rows, by line, that write an empty cell as "—", "/" or "无").
    cells_fitted: bool = False
    rows_with_blanks: frozenset[int] = frozenset()


Block = Paragraph | Table

# A paragraph that ends in one of these is complete; anything else was cut by a page break.
_CLOSED_ENDINGS = tuple("。！？；;:：!?”’」』）)》")
# A paragraph that starts like this begins something new even after an unfinished one.
# An item's number: "1." "1、" "（一）" "(1)" "一、".
_ITEM_NUMBER = r"\d{1,3}\s*[.．、]|[（(]\s*[\d一二三四五六七八九十]+\s*[）)]|[一二三四五六七八九十]+、"
_NUMBERED_START = re.compile(rf"^(?:{_ITEM_NUMBER})")
_STRUCTURAL_START = re.compile(
    rf"^(?:{_ITEM_NUMBER}|"
    r"附件|责任单位|责任部门|牵头单位|牵头部门|配合单位|第[一二三四五六七八九十\d]+[章节条部分]|"
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$)"
)
# "联系人：张三" and any other short label with its colon start a line of their own.
_ANY_LABEL_START = re.compile(r"^[\u4e00-\u9fff]{2,8}[:：]")
# How the title of a task document ends: the words its kinds of document are called by.
TITLE_WORDS = ("工作要点|工作计划|任务清单|实施方案|工作方案|重点任务|责任分工|任务分解|责任分解|分解表|责任清单|"
               "整改清单|问题清单|分工方案|行动方案|行动计划")
# (A notice's own title, "…的通知", is whole without a full stop too.)
_TITLE_ENDING = re.compile(f"(?:{TITLE_WORDS}|通知|通报)$")
_SHORT_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+\s*[、.．]\S.{0,28}|"
                            r"第[一二三四五六七八九十]+[章节部分]\S.{0,28}|[（(][一二三四五六七八九十]+[）)]\S.{0,18})$")
# (Not <br>: a table's cell breaks its lines with it, and stays one cell.)
_BLOCK_TAGS = re.compile(r"</?(?:p|div|li|h[1-6]|section|article|blockquote)(?:\s[^>]*)?>", re.IGNORECASE)
_PIPE_SEPARATOR = re.compile(r"^\|?[\s:|-]+\|?$")
_BULLET = re.compile(r"^[-*+]\s+")


def _table_cells(raw: str) -> list[str] | None:
    if "\t" in raw:
        return [strip_markup(cell).strip() for cell in raw.split("\t")]
    stripped = raw.strip()
    if stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3:
        if _PIPE_SEPARATOR.match(stripped):
            return []
        return [strip_markup(cell).strip() for cell in stripped[1:-1].split("|")]
    if stripped.count("|") >= 2 and " | " in stripped:
        # "1 | 中小学校护眼灯光工程 | … | 县教育局 | |": a row written without its outer bars.
        return [strip_markup(cell).strip() for cell in stripped.removesuffix("|").split("|")]
    return None


def _opens_list(text: str, pieces: list[str]) -> bool:
    return (pieces[-1] if pieces else text).rstrip().endswith((":", "："))


def _join_wrapped_headers(lines: list[str], cell_rows: list[list[str] | None]) -> None:
    """A table's header wrapped over lines ("工作任务 | 具体要求" then "| 责任单位 |") has too few
    bars on each line to be read as a row: lines of nothing but column names, right above the
    table's first row, are its header row."""
    index = 0
    while index < len(lines):
        if cell_rows[index] is not None or not _names_columns_only(lines[index]):
            index += 1
            continue
        run = [index]
        # (An empty line may come between them, as a page converted with one after every line has it.)
        while (after := next((j for j in range(run[-1] + 1, len(lines)) if lines[j].strip()), None)) is not None \
                and cell_rows[after] is None and _names_columns_only(lines[after]):
            run.append(after)
        index = run[-1] + 1
        following = next((j for j in range(index, len(lines)) if lines[j].strip()), None)
        if following is None or not cell_rows[following]:
            continue
        before = next((j for j in range(run[0] - 1, -1, -1) if lines[j].strip()), None)
        header_above = cell_rows[before] if before is not None else None
        cells = [cell for line in run for cell in _bar_cells(lines[line])]
        if header_above is None:
            cell_rows[run[0]] = cells  # the table begins with them
        elif all(header_above) and all(names_a_column(cell) for cell in header_above):
            # "序号 | 工作任务 | 责任单位 |" then "| 完成时限 |": the header's last names. (Not under a
            # header with an empty cell: "牵头单位 | 配合单位" there is its second row, under 责任单位.)
            header_above.extend(cells)
            cell_rows[run[0]] = []
        else:
            continue
        for line in run[1:]:
            cell_rows[line] = []


def _bar_cells(raw: str) -> list[str]:
    return [cell for piece in raw.split("|") if (cell := strip_markup(piece).strip())]


def _names_columns_only(raw: str) -> bool:
    cells = _bar_cells(raw)
    return "|" in raw and bool(cells) and all(names_a_column(cell) for cell in cells)


def _table_follows(lines: list[str], cell_rows: list[list[str] | None], index: int) -> bool:
    """Whether the next non-blank line after ``index`` is a table row."""
    following = next((j for j in range(index + 1, len(lines)) if lines[j].strip()), None)
    return following is not None and cell_rows[following] is not None


# "水真路农贸市场 存在问题：…": a place's name, then the label of what is found there.
_NAME_THEN_LABEL = re.compile(r"^(?P<name>[^\s，。；,;:：]{2,20})\s+(?P<label>[\u4e00-\u9fff]{2,8})[:：]")
_PROBLEM_LABELS = frozenset({"存在问题", "问题", "主要问题", "发现问题", "问题描述"})
# "通会桥社区（责任单位：通会桥社区）": a group's name and its units, heading the items below it.
_NAME_THEN_BRACKET = re.compile(r"^(?P<name>[^，。；,;（(:：]{1,24}?)\s*[:：]?[（(](?P<inside>.+)")


def _starts_something(content: str) -> bool:
    """A numbered item, a label line (完成时限：…, 牵头领导：…), a year heading, a name with its
    units in a bracket: never the rest of the paragraph before it."""
    return bool(_STRUCTURAL_START.match(content) or LABEL_LINE.match(content) or _ANY_LABEL_START.match(content)
                or YEAR_HEADING.match(compact(content))
                or ((named := _NAME_THEN_LABEL.match(content))
                    and (looks_like_unit_list(named["name"]) or named["label"] in _PROBLEM_LABELS))
                or ((named := _NAME_THEN_BRACKET.match(content)) and LABEL_LINE.match(named["inside"])
                    and looks_like_unit_list(named["name"])))


def _more_names(content: str) -> bool:
    names = strip_markup(content).rstrip("。；;，,*")
    return bool(re.search(r"[、，,；;]", names)) and looks_like_unit_list(names)


def _is_open(paragraph: Paragraph, pieces: list[str]) -> bool:
    """Whether a page break cut ``paragraph``, whose text so far ends with its last piece. A short
    numbered heading ("二、重点任务") is whole without a full stop."""
    if paragraph.heading or (not pieces and (_SHORT_HEADING.match(paragraph.text)
                                             or _TITLE_ENDING.search(paragraph.text))):
        return False  # a heading or a title is whole without a full stop
    return not (pieces[-1] if pieces else paragraph.text).endswith(_CLOSED_ENDINGS)


def _join(paragraph: Paragraph, pieces: list[str]) -> None:
    if pieces:
        paragraph.text = "".join([paragraph.text, *pieces])
        pieces.clear()


# A PDF's text layer cuts every line of prose at its column's width, mid-sentence and mid-name
# ("…各开发区管委" / "会"), whatever the line ends with. Such a document shows it: most of its long
# lines are within a character of one width, and hardly any is wider.
_WRAPPED_SHARE = 0.4
_WIDER_SHARE = 0.05
_LONG_LINE = 24  # display columns; shorter lines are headings, signatures, a paragraph's last words
# So many lines of one width are no chance: a few rows of a table may share a width.
_FEWEST_CUT_LINES = 5


def _wrap_width(lines: list[str], cell_rows: list[list[str] | None]) -> int | None:
    """The width a hard-wrapped document's lines were cut at, or None when its lines were not cut."""
    # (Measured with its indent: a paragraph's first line, indented, is as wide as the others.)
    measured = ((line.rstrip(), display_width(line.rstrip())) for line, cells in zip(lines, cell_rows, strict=True)
                if cells is None)
    long_lines = [(line, columns) for line, columns in measured if columns >= _LONG_LINE]
    if len(long_lines) < _FEWEST_CUT_LINES:
        return None
    counts = Counter(columns for _, columns in long_lines)
    # A full line may be a character short of the width (a wide character that did not fit).
    width = max(counts, key=lambda w: (sum(counts[w - k] for k in range(3)), w))
    full = [line for line, columns in long_lines if width - 2 <= columns <= width]
    wider = sum(n for w, n in counts.items() if w > width + 1)
    # Lines that were cut end anywhere, most of them inside a sentence; lines of about one length that
    # each end their sentence are a list of short paragraphs, not a cut page.
    inside_sentences = sum(1 for line in full if not line.endswith(_CLOSED_ENDINGS))
    # (A page's heading or its 发布时间 line may be wider: a line or two.)
    return width if len(full) >= max(_FEWEST_CUT_LINES, _WRAPPED_SHARE * len(long_lines)) \
        and wider <= max(2, _WIDER_SHARE * len(long_lines)) and inside_sentences * 2 > len(full) else None


def _sentence_goes_on(before: str, content: str) -> bool:
    """Whether a line cut at the width leaves its sentence open, whatever the next line starts with:
    it ends with a comma ("…目标设置)，" over "责任单位为区经信局；"), or with a label's first word
    ("…，完成" over "时间：5月10日前")."""
    if before.endswith(("，", ",", "、")):
        return True
    return any(_LONGER_LABEL.match(before[-k:] + content) for k in range(1, 5) if len(before) > k)


# A label whose first word a cut line ended with: 完成 / 时间：, 责任 / 单位：.
_LONGER_LABEL = re.compile(r"^(?:完成时间|完成时限|责任单位|牵头单位|配合单位|责任部门|牵头部门|整改时限"
                           r"|时间节点)\s*[:：]")


def _bracket_depth(text: str) -> int:
    """How many more brackets ``text`` opens than it closes."""
    return sum(text.count(c) for c in "（(") - sum(text.count(c) for c in "）)")


def _closes_bracket(content: str) -> bool:
    """Whether a line closes a bracket it did not open: "单位：区发改局、区农业农村局）"."""
    closing = min((i for c in "）)" if (i := content.find(c)) >= 0), default=-1)
    opening = min((i for c in "（(" if (i := content.find(c)) >= 0), default=len(content))
    return 0 <= closing < opening


_NAME_PIECE_END = re.compile(r"[、，,；;:：\s]")
_NAME_PIECE_START = re.compile(r"[、，,；;（()）\s]")


def _completes_name(before: str, content: str) -> bool:
    """Whether a line begins with the rest of the name a line of names broke off: "…、市生" over
    "态环境局、市建设局…"."""
    last = _NAME_PIECE_END.split(before)[-1]
    first = _NAME_PIECE_START.split(content, maxsplit=1)[0].rstrip("。；;")
    if not (last and first) or not looks_like_unit_list(last + first):
        return False
    # "…各开发区管委" over "会": a name may look whole before its last character ("管委" / "管委会").
    ending = UNIT_ENDING.search(last + first)
    return not looks_like_unit_list(last) or (ending is not None and ending.start() < len(last) < ending.end())


# "⒈" and "⑴", one character each, are how a PDF's text layer (or an old Word file) gives "1." and
# "(1)": read as the numbers they are.
_NUMBER_GLYPHS = {**{0x2488 + n: f"{n + 1}." for n in range(20)}, **{0x2474 + n: f"({n + 1})" for n in range(20)}}


def read_blocks(text: str) -> list[Block]:
    """Paragraphs and tables in document order, page-broken paragraphs joined again."""
    blocks: list[Block] = []
    # The pieces page breaks cut from the last paragraph, joined once it is complete: adding each
    # to its text as it came copied the paragraph every time, quadratic in a long one (a 4 MB run
    # of unfinished lines took 5 s).
    pieces: list[str] = []
    # Trailing tabs are kept: they are the empty cells at the end of a table row.
    # A mirrored page's pinyin glosses ("責(zé)任") are dropped.
    # "1﹑" with the small form of 、 numbers an item as "1、" does. A page's HTML pasted whole
    # ("<p>一、…</p> <p>1.…</p>" on one line) has a paragraph in each of its block elements, each
    # said to be on the line it came from.
    lines: list[str] = []
    numbers: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for part in _BLOCK_TAGS.split(raw) if "<" in raw and "|" not in raw and "\t" not in raw else (raw,):
            lines.append(without_pinyin_glosses(part.replace("\u3000", " ").replace("\ufe51", "、")
                                                .translate(_NUMBER_GLYPHS).rstrip(" \r\n")))
            numbers.append(number)
    cell_rows = [_table_cells(raw) if raw.strip() else None for raw in lines]
    _join_wrapped_headers(lines, cell_rows)
    boxed = find_box_tables(lines)
    taken = [c is not None for c in cell_rows]
    for box in boxed:
        taken[box.first_line:box.end_line] = [True] * (box.end_line - box.first_line)
    flat_tables = {table.first_line: table for table in [*boxed, *find_flat_tables(lines, taken)]}
    wrap = _wrap_width(lines, cell_rows)
    last_prose_line: int | None = None  # the index of the paragraph line read last, for a wrapped document
    # The brackets the paragraph being read has left open, kept as its lines come (counting the whole
    # paragraph again at each line made a long run of unfinished lines quadratic).
    depth_of: tuple[Paragraph | None, int] = (None, 0)
    skip_until = 0
    for index, raw in enumerate(lines):
        number = numbers[index]
        if index < skip_until or not raw.strip():
            continue
        if (flat := flat_tables.get(index)) is not None:
            if blocks and isinstance(blocks[-1], Paragraph):
                _join(blocks[-1], pieces)
            if flat.before:
                blocks.append(Paragraph(number, strip_markup(flat.before)))
            blocks.append(Table(line=number, rows=[TableRow(numbers[line], cells) for line, cells in flat.rows],
                                closed_rows=flat.closed_rows, cells_fitted=flat.cells_fitted,
                                rows_with_blanks=frozenset(numbers[line] for line in flat.rows_with_blanks)))
            skip_until = flat.end_line
            continue
        cells = cell_rows[index]
        inside_table = bool(blocks) and isinstance(blocks[-1], Table) and _table_follows(lines, cell_rows, index)
        if cells is None and inside_table:
            # A merged row spanning the table ("某县（2个）") loses its tabs in conversion.
            cells = [strip_markup(raw).strip().strip("|").strip()]
        if cells is not None:
            if not cells:
                continue
            previous = blocks[-1] if blocks else None
            if not isinstance(previous, Table):
                if isinstance(previous, Paragraph):
                    _join(previous, pieces)
                previous = Table(line=number)
                blocks.append(previous)
            previous.rows.append(TableRow(number, cells))
            continue
        stripped = raw.strip()
        level = len(stripped) - len(stripped.lstrip("#"))
        unmarked = strip_markup(stripped.lstrip("#")).strip()
        content = _BULLET.sub("", unmarked)
        if not content or (content != unmarked and PAGE_NUMBER.match(content)):
            continue  # (nothing, or a PDF's page number, "- 3 -")
        previous = blocks[-1] if blocks else None
        # A bullet ("- ", "* ") under words that end in a colon ("确保土地如期到位：") is an item of the
        # list they open, and so is each bullet after it; other bullets (a page's "- 3 -", its links,
        # its 索引号, names under 责任单位：) are read as the lines they are.
        bullet = content != unmarked and isinstance(previous, Paragraph) and (
            previous.bullet or (_opens_list(previous.text, pieces) and not LABEL_LINE.match(previous.text)))
        # The line before was cut at the document's width: this one goes on with it. (Not where that
        # line ended its sentence, nor where this one is indented as a paragraph's first line is.)
        cut = wrap is not None and last_prose_line is not None \
            and display_width(lines[last_prose_line].rstrip()) >= wrap - 3 \
            and not lines[last_prose_line].rstrip().endswith(("。", "！", "？", "；", ";")) \
            and not raw.startswith(("  ", "\t"))
        if isinstance(previous, Paragraph):
            so_far = pieces[-1] if pieces else previous.text
            if depth_of[0] is not previous:
                depth_of = (previous, _bracket_depth("".join([previous.text, *pieces])))
            bracket_open = depth_of[1] > 0
            # "（责任领导：杜新国；牵头" over "单位：区发改局）": a bracket the line closes is the one left open;
            # and cut at the width inside a bracket, a line goes on with it whatever it starts with.
            # (Not a numbered line, which begins its own item: "2、)各街道3老城厢…" is page damage.)
            in_bracket = bracket_open and (cut or (_closes_bracket(content) and not _NUMBERED_START.match(content)))
            goes_on = (_is_open(previous, pieces) or cut) and (
                not _starts_something(content) or (cut and _sentence_goes_on(so_far, content))) and (
                not LABEL_LINE.match(previous.text) or _more_names(content) or cut
                or _completes_name(so_far, content))
            if level == 0 and not bullet and (in_bracket or goes_on):
                # (A label line runs on only into more names: "…、区科技" / "和信息化局、区工商联…"; a
                # signature under it, "中共某区委办公室", is not one of them.)
                pieces.append(content)
                depth_of = (previous, depth_of[1] + _bracket_depth(content))
                last_prose_line = index
                continue
            _join(previous, pieces)
        blocks.append(Paragraph(number, content, level, bullet=bullet))
        last_prose_line = index
    if blocks and isinstance(blocks[-1], Paragraph):
        _join(blocks[-1], pieces)
    return blocks
