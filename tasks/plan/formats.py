"""Which files an import reads, and what the office is told to do with the others.

    .txt .md          text converted from Word or PDF (tasks.plan.document)
    .docx             a Word document with its real tables (tasks.plan.word)
    .csv .tsv .xlsx .xlsm .xls   a task list kept as a spreadsheet (tasks.plan.spreadsheets)

Everything else is refused before it is opened, with one sentence saying how to convert it:
the old binary formats (.doc, WPS's .wps and .et) are read by no library we could trust with
a government's files, and a PDF or OFD page keeps its tables only as drawn lines, not cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from tasks.plan.spreadsheets import SPREADSHEET_SUFFIXES
from tasks.plan.workplan import DocumentError

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
WORD_SUFFIXES = (".docx",)

Kind = Literal["text", "word", "spreadsheet"]

_SAVE_AS_DOCX = "请在 Word 或 WPS 中打开，选择“文件 → 另存为”，保存类型选“Word 文档 (*.docx)”，再导入另存的文件"
_SAVE_AS_XLSX = "请在 Excel 或 WPS 中打开，选择“文件 → 另存为”，保存类型选“Excel 工作簿 (*.xlsx)”，再导入另存的文件"
_ASK_FOR_ORIGINAL = ("请向发文单位索取 Word（.docx）或 Excel（.xlsx）原件；或把正文复制粘贴到记事本，"
                     "另存为 .txt（UTF-8 编码）后导入，但复制出的文字不带表格结构，任务清单可能读不全")

# What each format is, in the words an office uses, and what to do with it.
_REFUSED = {
    ".doc": ("旧版 Word 文档（.doc）", _SAVE_AS_DOCX),
    ".dot": ("旧版 Word 模板（.dot）", _SAVE_AS_DOCX),
    ".wps": ("WPS 文字文档（.wps）", _SAVE_AS_DOCX),
    ".wpt": ("WPS 文字模板（.wpt）", _SAVE_AS_DOCX),
    ".docm": ("带宏的 Word 文档（.docm）", _SAVE_AS_DOCX),
    ".rtf": ("RTF 文档", _SAVE_AS_DOCX),
    ".odt": ("OpenDocument 文档（.odt）", _SAVE_AS_DOCX),
    ".et": ("WPS 表格文件（.et）", _SAVE_AS_XLSX),
    ".ods": ("OpenDocument 表格（.ods）", _SAVE_AS_XLSX),
    ".pdf": ("PDF 文件", _ASK_FOR_ORIGINAL),
    ".ofd": ("OFD 版式文件", _ASK_FOR_ORIGINAL),
}

# How a file's first bytes say what it really is, whatever its name.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, .xls, .et
ZIP_MAGIC = b"PK\x03\x04"  # .docx, .xlsx, .ofd
PDF_MAGIC = b"%PDF"


def input_kind(path: Path) -> Kind:
    """How the file is to be read, by its name; a DocumentError for a format that is not read."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in WORD_SUFFIXES:
        return "word"
    if suffix in SPREADSHEET_SUFFIXES:
        return "spreadsheet"
    if suffix in _REFUSED:
        what, advice = _REFUSED[suffix]
        raise DocumentError(f"“{path.name}”是{what}，无法直接导入：{advice}。")
    raise DocumentError(f"无法导入“{path.name}”：能导入的文件是 Word 文档（.docx）、转换好的文本（.txt、.md）"
                        "和表格（.csv、.xlsx、.xls）；请先另存为其中一种。")


def refuse_disguised_word(path: Path, head: bytes) -> None:
    """A .docx whose content is something else: offices rename a .doc or a PDF to .docx and expect
    it to open. Said as what the file really is, with the way to convert that."""
    if head.startswith(OLE_MAGIC):
        raise DocumentError(f"“{path.name}”的内容是旧版 Word 或 WPS 文档（.doc/.wps），只是改了扩展名："
                            f"{_SAVE_AS_DOCX}。")
    if head.startswith(PDF_MAGIC):
        raise DocumentError(f"“{path.name}”的内容是 PDF 文件，只是改了扩展名：{_ASK_FOR_ORIGINAL}。")
    if not head.startswith(ZIP_MAGIC):
        raise DocumentError(f"“{path.name}”不是有效的 Word 文档（文件可能已损坏或只下载了一部分）：{_SAVE_AS_DOCX}。")
