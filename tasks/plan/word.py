"""A Word document (.docx) as its paragraphs and tables, in the order its author wrote them.

The body is walked element by element (paragraphs and tables interleaved), not as python-docx's
``paragraphs`` then ``tables``: an attachment's title must come before its table. Each paragraph
and table row gets the next ``line`` number, as if the document had been converted to text one
line each; ``locations`` turns those numbers into what the office can find in Word (第3段, 表2第5行).

Tables are read at the XML level, because python-docx's ``row.cells`` repeats a vertically merged
cell's text in every row it spans, where a converted text shows it once and leaves the rows below
empty, which is what the table reader understands. So:

- a cell spanning columns (``w:gridSpan``) keeps its text in its first column and leaves the others
  empty, so every column stays under its header (a section row spanning the table reads as one cell);
- a cell continuing a vertical merge (``w:vMerge`` without ``restart``) is empty;
- paragraphs and line breaks inside a cell are kept as "\\n" (units written one per line);
- a table inside a cell becomes lines of that cell's text, one per row, its cells separated by a space.

Word's automatic numbering (1. / （一） / 一、) is not in a paragraph's text: it is computed from
``numbering.xml`` here the way Word counts, since the reader finds work points and sections by
their numbers. A numbering format this module does not know is reported as a problem for that
paragraph, and the paragraph is read without its number.

No child process fences the reading (compare ``workbook_reader``): python-docx is Python on lxml,
whose parser it sets not to expand entities, and the zip module never inflates a part beyond the
size the archive declares for it; so the declared sizes, checked before anything is parsed, bound
what a hostile file can make the import hold.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tasks.plan.document import Block, Paragraph, Table, TableRow
from tasks.plan.formats import refuse_disguised_word
from tasks.plan.parsed import Problem
from tasks.plan.workplan import DocumentError
from tasks.text import without_nul

# Unpacked bytes of the XML parts lxml parses: a Word table of tens of thousands of task rows fits,
# and the tree lxml builds (several times the XML) and the seconds it takes stay within what the
# text and workbook limits allow.
MAX_XML_BYTES = 32 << 20
# Unpacked bytes of every part, pictures included (python-docx holds them all in memory).
MAX_PACKAGE_BYTES = 512 << 20
# Word itself allows 63 columns; a larger span or grid is a damaged or hostile file.
MAX_COLUMNS = 64

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
P, TBL, TR, TC, SDT, SDT_CONTENT, CUSTOM_XML = (f"{_W}{t}" for t in ("p", "tbl", "tr", "tc", "sdt", "sdtContent",
                                                                       "customXml"))
T, TAB, BR, CR, PTAB, NO_BREAK_HYPHEN = (f"{_W}{t}" for t in ("t", "tab", "br", "cr", "ptab", "noBreakHyphen"))
# Text that is not the paragraph's own: a text box's (drawn over the page, and written twice, once
# more as the fallback for old Word), deleted revisions, footnote marks, the properties of a run.
_SKIPPED = {f"{_W}txbxContent", f"{_MC}Fallback", f"{_W}del", f"{_W}moveFrom", f"{_W}rPr", f"{_W}pPr",
            f"{_W}footnoteReference", f"{_W}endnoteReference", f"{_W}commentReference"}
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_NAMES = {"title", "标题"}
# A number ending so is followed directly by the text ("一、总体要求"); others by a space ("1. 深入").
_CLOSED_NUMBER = tuple("、）)．：")


def _w(name: str) -> str:
    return f"{_W}{name}"


def _val(element: object | None) -> str | None:
    return None if element is None else element.get(_w("val"))  # type: ignore[attr-defined]


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


@dataclass
class WordDocument:
    blocks: list[Block]
    locations: dict[int, str]  # a block's or row's line -> 第N段 / 表N第M行
    problems: list[Problem] = field(default_factory=list)
    paragraphs: int = 0
    tables: int = 0


def read_docx(path: Path) -> WordDocument:
    """The document's blocks, or a DocumentError in one sentence for a file that is not one."""
    with path.open("rb") as file:
        refuse_disguised_word(path, file.read(8))
    _check_sizes(path)
    from docx import Document  # here: only an import of a Word file pays for loading python-docx and lxml

    try:
        document = Document(str(path))
    except Exception as error:  # python-docx and lxml raise many kinds; every one means the same to the office
        detail = str(error)[:120] or type(error).__name__
        raise DocumentError(f"无法打开 Word 文档“{path.name}”：文件已损坏或不是 .docx 格式（{detail}）；"
                            "请在 Word 或 WPS 中打开并另存为 .docx 后再导入。") from error
    return _Reader(document).read()


def _check_sizes(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DocumentError(f"“{path.name}”不是有效的 Word 文档（文件已损坏或只下载了一部分）；"
                            "请重新获取文件，或在 Word 或 WPS 中打开并另存为 .docx 后再导入。") from error
    xml = sum(p.file_size for p in parts if p.filename.endswith((".xml", ".rels")))
    total = sum(p.file_size for p in parts)
    if xml > MAX_XML_BYTES or total > MAX_PACKAGE_BYTES:
        raise DocumentError(f"Word 文档“{path.name}”解压后有 {max(xml, total) / 2**20:.0f} MB，超过一次导入的上限；"
                            "请确认文件无误，或把任务清单拆分成几个文件分别导入。")


# --- numbering -------------------------------------------------------------------------------

_CHINESE_DIGITS = "零一二三四五六七八九"
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _chinese(n: int) -> str | None:
    if not 0 < n < 100:
        return None
    tens, ones = divmod(n, 10)
    written = (("" if tens == 1 else _CHINESE_DIGITS[tens]) + "十") if tens else ""
    return written + (_CHINESE_DIGITS[ones] if ones else "")


MAX_LIST_NUMBER = 9999


def _letters(n: int) -> str:
    # Word's a…z, aa…zz, aaa…: the letter repeated.
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def format_number(n: int, fmt: str) -> str | None:
    """Number ``n`` written as Word's ``w:numFmt`` says; None for a format not known here, or for a
    number no document's list reaches (a file that starts a list at 30,000,000 is not read as one)."""
    if not 0 <= n <= MAX_LIST_NUMBER:
        return None
    if fmt in ("decimal", "decimalHalfWidth"):
        return str(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth" or fmt == "decimalFullWidth2":
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting",
               "ideographDigital", "chineseLegalSimplified"):
        return _chinese(n)
    if fmt == "ideographTraditional":
        return _HEAVENLY_STEMS[n - 1] if 0 < n <= len(_HEAVENLY_STEMS) else None
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        return _CIRCLED[n - 1] if 0 < n <= len(_CIRCLED) else None
    if fmt in ("lowerLetter", "upperLetter"):
        return _letters(n) if fmt == "lowerLetter" else _letters(n).upper()
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n) if fmt == "lowerRoman" else _roman(n).upper()
    if fmt in ("bullet", "none"):
        return ""
    return None


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."
    legal: bool = False  # w:isLgl: every level shown as decimal digits ("1.2", not "一.2")


def _level(element: object) -> _Level:
    find = element.find  # type: ignore[attr-defined]
    return _Level(start=_int(_val(find(_w("start"))), 1), fmt=_val(find(_w("numFmt"))) or "decimal",
                  text=_val(find(_w("lvlText"))) or "", legal=find(_w("isLgl")) is not None)


class _Numbering:
    """Word's list counters, advanced paragraph by paragraph in document order."""

    def __init__(self, element: object | None) -> None:
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.nums: dict[str, tuple[str, dict[int, _Level], dict[int, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.started: set[str] = set()
        if element is None:
            return
        for abstract in element.iterchildren(_w("abstractNum")):  # type: ignore[attr-defined]
            self.abstract[abstract.get(_w("abstractNumId"))] = {
                _int(lvl.get(_w("ilvl")), 0): _level(lvl) for lvl in abstract.iterchildren(_w("lvl"))}
        for num in element.iterchildren(_w("num")):  # type: ignore[attr-defined]
            levels: dict[int, _Level] = {}
            starts: dict[int, int] = {}
            for override in num.iterchildren(_w("lvlOverride")):
                ilvl = _int(override.get(_w("ilvl")), 0)
                if (start := override.find(_w("startOverride"))) is not None:
                    starts[ilvl] = _int(_val(start), 1)
                if (lvl := override.find(_w("lvl"))) is not None:
                    levels[ilvl] = _level(lvl)
            self.nums[num.get(_w("numId"))] = (_val(num.find(_w("abstractNumId"))) or "", levels, starts)

    def next(self, num_id: str, ilvl: int) -> tuple[str, str | None]:
        """The number Word shows for the next paragraph of list ``num_id`` at level ``ilvl``, and the
        format it could not write (None when it could)."""
        if num_id not in self.nums:
            return "", None
        abstract_id, overrides, starts = self.nums[num_id]
        levels = {**self.abstract.get(abstract_id, {}), **overrides}
        counters = self.counters.setdefault(abstract_id, {})
        if num_id not in self.started:
            # A list that restarts its numbering is a new w:num over the same abstract list.
            self.started.add(num_id)
            for level, start in starts.items():
                counters[level] = start - 1
        level = levels.get(ilvl, _Level())
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]  # a new item at this level starts its sub-list again
        failed: str | None = None

        def written(match: re.Match[str]) -> str:
            nonlocal failed
            n = int(match.group(1)) - 1
            shown = levels.get(n, _Level())
            value = counters.get(n, shown.start)
            fmt = "decimal" if level.legal and n != ilvl else shown.fmt
            text = format_number(value, fmt)
            if text is None:
                failed = fmt
                return ""
            return text

        number = re.sub(r"%([1-9])", written, level.text)
        return ("", failed) if failed else (number, None)


# --- the body --------------------------------------------------------------------------------


@dataclass
class _Style:
    name: str = ""
    based_on: str | None = None
    num: tuple[str | None, int | None] = (None, None)
    outline: int | None = None


class _Reader:
    def __init__(self, document: object) -> None:
        self.body = document.element.body  # type: ignore[attr-defined]
        part = document.part  # type: ignore[attr-defined]
        numbering = next((rel.target_part for rel in part.rels.values()
                          if rel.reltype.endswith("/numbering") and not rel.is_external), None)
        self.numbering = _Numbering(numbering.element if numbering is not None else None)
        styles = next((rel.target_part for rel in part.rels.values()
                       if rel.reltype.endswith("/styles") and not rel.is_external), None)
        self.styles = self._read_styles(styles.element if styles is not None else None)
        self.blocks: list[Block] = []
        self.locations: dict[int, str] = {}
        self.problems: list[Problem] = []
        self.line = 0
        self.paragraph_count = 0
        self.table_count = 0

    @staticmethod
    def _read_styles(element: object | None) -> dict[str, _Style]:
        styles: dict[str, _Style] = {}
        if element is None:
            return styles
        for style in element.iterchildren(_w("style")):  # type: ignore[attr-defined]
            ppr = style.find(_w("pPr"))
            num_pr = ppr.find(_w("numPr")) if ppr is not None else None
            outline = ppr.find(_w("outlineLvl")) if ppr is not None else None
            styles[style.get(_w("styleId")) or ""] = _Style(
                name=(_val(style.find(_w("name"))) or "").strip(),
                based_on=_val(style.find(_w("basedOn"))),
                num=_num_pr(num_pr),
                outline=_int(_val(outline), 9) if outline is not None else None)
        return styles

    def read(self) -> WordDocument:
        self._walk(self.body)
        return WordDocument(self.blocks, self.locations, self.problems, self.paragraph_count, self.table_count)

    def _walk(self, parent: object) -> None:
        for child in parent.iterchildren():  # type: ignore[attr-defined]
            if child.tag == P:
                self._paragraph(child)
            elif child.tag == TBL:
                self._table(child)
            elif (inner := _inside(child)) is not None:
                self._walk(inner)

    # paragraphs

    def _style_chain(self, style_id: str | None) -> Iterator[_Style]:
        seen: set[str] = set()
        while style_id and style_id not in seen and style_id in self.styles:
            seen.add(style_id)
            style = self.styles[style_id]
            yield style
            style_id = style.based_on

    def _paragraph_text(self, p: object, where: str) -> tuple[str, int]:
        """The paragraph as Word shows it, its automatic number first; and its heading level."""
        ppr = p.find(_w("pPr"))  # type: ignore[attr-defined]
        style_id = _val(ppr.find(_w("pStyle"))) if ppr is not None else None
        num_id, ilvl = _num_pr(ppr.find(_w("numPr")) if ppr is not None else None)
        heading = 0
        outline = _val(ppr.find(_w("outlineLvl"))) if ppr is not None else None
        for style in self._style_chain(style_id):
            if num_id is None:
                num_id = style.num[0]
            if ilvl is None:
                ilvl = style.num[1]
            if not heading and (match := _HEADING_NAME.match(style.name)):
                heading = int(match.group(1))
            elif not heading and style.name.lower() in _TITLE_NAMES:
                heading = 1
            if outline is None and style.outline is not None:
                outline = str(style.outline)
        if not heading and outline is not None and _int(outline, 9) < 9:
            heading = _int(outline, 9) + 1
        text = _text(p)
        if num_id and num_id != "0":
            number, failed = self.numbering.next(num_id, ilvl or 0)
            if failed:
                self.problems.append(Problem(
                    "word.numbering", where, text[:60],
                    f"这一段的自动编号（Word 编号格式 {failed}）未能读出，已按没有序号的文字读入；请核对序号"))
            elif number and text.strip():
                text = number + ("" if number.endswith(_CLOSED_NUMBER) else " ") + text
        return text, heading

    def _paragraph(self, p: object) -> None:
        self.paragraph_count += 1
        where = f"第{self.paragraph_count}段"
        text, heading = self._paragraph_text(p, where)
        # A line break inside a paragraph starts a new line, as it does in converted text
        # ("……。" then "责任单位：……" on the next line).
        for piece in text.split("\n"):
            piece = " ".join(piece.split())
            if piece:
                self.line += 1
                self.locations[self.line] = where
                self.blocks.append(Paragraph(self.line, piece, heading))

    # tables

    def _table(self, tbl: object) -> None:
        self.table_count += 1
        number = self.table_count
        grid = tbl.find(_w("tblGrid"))  # type: ignore[attr-defined]
        width = min(len(grid.findall(_w("gridCol"))) if grid is not None else 0, MAX_COLUMNS)
        table: Table | None = None
        for index, tr in enumerate(_rows(tbl), start=1):
            cells = self._row_cells(tr, width, f"表{number}第{index}行")
            self.line += 1
            self.locations[self.line] = f"表{number}第{index}行"
            if table is None:
                table = Table(self.line)
                self.blocks.append(table)
            table.rows.append(TableRow(self.line, cells))

    def _row_cells(self, tr: object, width: int, where: str) -> list[str]:
        trpr = tr.find(_w("trPr"))  # type: ignore[attr-defined]
        cells = [""] * min(_int(_val(trpr.find(_w("gridBefore"))) if trpr is not None else None, 0), MAX_COLUMNS)
        for tc in _cells(tr):
            tcpr = tc.find(_w("tcPr"))
            span = _int(_val(tcpr.find(_w("gridSpan"))) if tcpr is not None else None, 1)
            v_merge = tcpr.find(_w("vMerge")) if tcpr is not None else None
            h_merge = tcpr.find(_w("hMerge")) if tcpr is not None else None
            continued = (v_merge is not None and _val(v_merge) in (None, "continue")) or \
                (h_merge is not None and _val(h_merge) in (None, "continue"))
            cells.append("" if continued else self._cell_text(tc, where))
            cells += [""] * max(0, min(span, MAX_COLUMNS) - 1)
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        return cells[:MAX_COLUMNS]

    def _cell_text(self, tc: object, where: str) -> str:
        lines: list[str] = []
        for child in _cell_content(tc):
            if child.tag == P:
                text, _heading = self._paragraph_text(child, where)
                lines += [" ".join(piece.split()) for piece in text.split("\n")]
            else:  # a table inside the cell: a line per row
                lines += [" ".join(c for cell in _cells(tr) if (c := " ".join(self._cell_text(cell, where).split())))
                          for tr in _rows(child)]
        return "\n".join(line for line in lines if line)


def _num_pr(num_pr: object | None) -> tuple[str | None, int | None]:
    if num_pr is None:
        return None, None
    find = num_pr.find  # type: ignore[attr-defined]
    ilvl = _val(find(_w("ilvl")))
    return _val(find(_w("numId"))), _int(ilvl, 0) if ilvl is not None else None


def _unwrapped(parent: object, tag: str) -> Iterator[object]:
    """The children of ``parent`` with this tag, also those inside content controls and custom XML."""
    for child in parent.iterchildren():  # type: ignore[attr-defined]
        if child.tag == tag:
            yield child
        elif (inner := _inside(child)) is not None:
            yield from _unwrapped(inner, tag)


def _inside(element: object) -> object | None:
    """What a content control or custom XML element wraps; None for any other element."""
    tag = element.tag  # type: ignore[attr-defined]
    if tag == SDT:
        return element.find(SDT_CONTENT)  # type: ignore[attr-defined]
    return element if tag in (CUSTOM_XML, SDT_CONTENT) else None


def _rows(tbl: object) -> Iterator[object]:
    return _unwrapped(tbl, TR)


def _cells(tr: object) -> Iterator[object]:
    return _unwrapped(tr, TC)


def _cell_content(tc: object) -> Iterator[object]:
    for child in tc.iterchildren():  # type: ignore[attr-defined]
        if child.tag in (P, TBL):
            yield child
        elif (inner := _inside(child)) is not None:
            yield from _cell_content(inner)


def _text(element: object) -> str:
    """A paragraph's text in order: runs, hyperlinks, fields' results, tracked insertions; a line
    break as "\\n", a tab as a space; not deleted text, nor text boxes drawn over the page."""
    parts: list[str] = []

    def walk(node: object) -> None:
        for child in node.iterchildren():  # type: ignore[attr-defined]
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIPPED:
                continue
            if tag == T:
                parts.append(child.text or "")
            elif tag in (TAB, PTAB):
                parts.append(" ")
            elif tag == BR:
                # A page or column break inside a sentence joins its halves; a line break is a new line.
                parts.append("" if child.get(_w("type")) in ("page", "column") else "\n")
            elif tag == CR:
                parts.append("\n")
            elif tag == NO_BREAK_HYPHEN:
                parts.append("-")
            else:
                walk(child)

    walk(element)
    return without_nul("".join(parts)).replace("\u3000", " ")
