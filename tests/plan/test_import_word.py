"""A Word (.docx) document imported with its real tables; the formats the office is told to convert;
no year, no guess."""

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from openpyxl import Workbook
from sqlmodel import Session, col, select

from bot.cli import main
from tasks.db import make_engine
from tasks.models import Assignment, Task, Unit
from tasks.plan.importer import DocumentError, parse_file
from tasks.plan.units import UnitDirectory
from tasks.plan.word import format_number


def add_list(document, fmt: str, text: str) -> str:
    """A numbering definition of one level (Word's automatic numbering); its numId."""
    numbering = document.part.numbering_part.element
    number = str(100 + len(numbering.xpath("w:num")))
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{number}"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        f'<w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{number}"><w:abstractNumId w:val="{number}"/></w:num>'))
    return number


def numbered(paragraph, num_id: str) -> None:
    paragraph._p.get_or_add_pPr().append(parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>'))


def write_work_points(path: Path, *, title: str = "2021年门头沟区支援合作工作要点", section_format: str = "chineseCounting") -> None:
    """Work points numbered by Word (一、 and 1.), then the task list as a real table: a section row
    spanning the table, a task cell merged down over three unit rows, two units on two lines of one cell."""
    document = Document()
    document.add_heading(title, level=1)
    sections, points = add_list(document, section_format, "%1、"), add_list(document, "decimal", "%1.")
    numbered(document.add_paragraph("总体要求"), sections)
    numbered(document.add_paragraph("深入学习贯彻习近平总书记关于东西部协作的重要讲话精神。"), points)
    document.add_paragraph("责任单位：区委办公室、区政府办公室")
    numbered(document.add_paragraph("加强组织领导"), sections)
    numbered(document.add_paragraph("召开领导小组会议，研究部署年度重点工作。（区商务局牵头，区财政局配合）"), points)
    document.add_paragraph("附件：任务清单")
    document.add_paragraph("附件1")
    document.add_paragraph("支援合作工作任务清单")
    table = document.add_table(rows=7, cols=4)
    for cell, name in zip(table.rows[0].cells, ["工作事项", "任务内容", "责任单位", "完成时限"], strict=True):
        cell.text = name
    table.cell(1, 0).merge(table.cell(1, 3)).text = "消费帮扶"
    table.cell(2, 1).text = "建立消费帮扶台账，按月通报进展。"
    table.cell(2, 1).merge(table.cell(4, 1))
    table.cell(2, 3).text = "9月底前"
    table.cell(2, 3).merge(table.cell(4, 3))
    for row, unit in zip((2, 3, 4), ("区商务局", "区财政局", "区国资委"), strict=True):
        table.cell(row, 2).text = unit
    table.cell(5, 0).merge(table.cell(5, 3)).text = "人才支援"
    table.cell(6, 1).text = "选派专业技术人才到协作地区服务。"
    units = table.cell(6, 2)
    units.text = "区委组织部"
    units.add_paragraph("区人力社保局")
    units.paragraphs[1].add_run().add_break()
    units.paragraphs[1].add_run("区火星局")
    table.cell(6, 3).text = "2021年12月31日"
    document.save(str(path))


def run(database_url: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--database-url", database_url, *args], stdout=out)
    return code, out.getvalue()


def test_a_word_document_with_merged_cells_imports_end_to_end(database_url: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "工作要点.docx"
    write_work_points(path)
    code, preview = run(database_url, "import", str(path), "--dry-run")
    assert code == 0
    assert preview.startswith("试导入（未写入数据库）：2021年《2021年门头沟区支援合作工作要点》\n")
    assert "━━ 工作要点 ━━\n〔总体要求〕\n  1 深入学习贯彻习近平总书记关于东西部协作的重要讲话精神。\n" \
           "     责任单位：区委办公室（牵头）、区政府办公室\n〔加强组织领导〕\n  2 召开领导小组会议" in preview
    assert "〔消费帮扶〕\n  · 建立消费帮扶台账，按月通报进展。\n     责任单位：区商务局（牵头）、区财政局、区国资委\n" \
           "     完成时限：2021-09-30（9月底前）\n〔人才支援〕\n" in preview
    assert "责任单位：区委组织部（牵头）、区人力社保局、区火星局\n     完成时限：2021-12-31（2021年12月31日）" in preview
    assert "  表1第7行  “区火星局”不在单位名录中" in preview
    assert "合计：工作要点 2 项，任务 2 项；问题 1 个\n将新建的单位（待办公室确认）：区火星局\n" in preview
    assert [line for line in preview.splitlines() if len(line.encode("gbk")) > 80] == []  # GBK: two bytes a Chinese character
    capsys.readouterr()

    code, output = run(database_url, "import", str(path), "--progress")
    assert code == 0 and "新增 4 项" in output and "表1第7行" in output
    assert capsys.readouterr().err.splitlines() == [
        "读取文件：段落 9，表格 1", "识别内容：工作要点 2，任务 2", "核对单位：单位 8，新单位 1，问题 1",
        "写入数据库：新增 4，更新 0，撤销 0"]
    with Session(make_engine(database_url)) as session:
        tasks = {t.text: t for t in session.exec(select(Task)).all()}
        ledger = tasks["建立消费帮扶台账，按月通报进展。"]
        assert (ledger.category, ledger.deadline, ledger.deadline_text) == ("消费帮扶", date(2021, 9, 30), "9月底前")
        assigned = session.exec(select(Unit.name, Assignment.role).join(Assignment, col(Assignment.unit_id) == Unit.id)
                                .where(Assignment.task_id == ledger.id).order_by(col(Assignment.position))).all()
        assert assigned == [("区商务局", "lead"), ("区财政局", "co"), ("区国资委", "co")]
        point = tasks["召开领导小组会议，研究部署年度重点工作。"]
        assert (point.kind, point.number, point.category) == ("workpoint", "2", "加强组织领导")
    code, output = run(database_url, "import", str(path))
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in output


def test_automatic_numbering_in_a_format_not_read_is_said(tmp_path: Path, directory: UnitDirectory) -> None:
    path = tmp_path / "工作要点.docx"
    write_work_points(path, section_format="hebrew1")
    plan = parse_file(path, directory)
    unread = [p for p in plan.problems if p.code == "word.numbering"]
    assert [(p.where, p.text) for p in unread] == [("第2段", "总体要求"), ("第5段", "加强组织领导")]
    assert unread[0].message == "这一段的自动编号（Word 编号格式 hebrew1）未能读出，已按没有序号的文字读入；请核对序号"


def test_numbers_written_as_word_writes_them() -> None:
    assert [format_number(n, "chineseCounting") for n in (1, 10, 11, 20, 21, 99)] == \
        ["一", "十", "十一", "二十", "二十一", "九十九"]
    assert (format_number(3, "ideographTraditional"), format_number(2, "decimalEnclosedCircle"),
            format_number(28, "lowerLetter"), format_number(14, "upperRoman")) == ("丙", "②", "bb", "XIV")
    assert format_number(1, "hebrew1") is None


def test_a_document_without_a_year_asks_for_one(database_url: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    word = tmp_path / "工作要点.docx"
    write_work_points(word, title="门头沟区支援合作工作要点")
    text = tmp_path / "工作要点.txt"
    text.write_text("门头沟区支援合作工作要点\n1. 做好对接工作。\n责任单位：区商务局\n", encoding="utf-8")
    workbook = Workbook()
    workbook.active.append(["任务内容", "责任单位", "完成时限"])
    workbook.active.append(["做好对接工作", "区商务局", "10月底前"])
    sheet = tmp_path / "任务清单.xlsx"
    workbook.save(sheet)
    for path in (word, text, sheet):
        code, _ = run(database_url, "import", str(path), "--dry-run")
        assert code == 1
        error = capsys.readouterr().err
        assert "确定年份" in error and "--year" in error, path
        code, output = run(database_url, "import", str(path), "--dry-run", "--year", "2024")
        assert code == 0 and "2024年" in output


@pytest.mark.parametrize(("name", "said"), [
    ("工作要点.doc", "是旧版 Word 文档（.doc），无法直接导入：请在 Word 或 WPS 中打开，选择“文件 → 另存为”，保存类型选“Word 文档 (*.docx)”"),
    ("工作要点.wps", "是WPS 文字文档（.wps），无法直接导入：请在 Word 或 WPS 中打开"),
    ("工作要点.pdf", "是PDF 文件，无法直接导入：请向发文单位索取 Word（.docx）或 Excel（.xlsx）原件"),
    ("工作要点.ofd", "是OFD 版式文件，无法直接导入：请向发文单位索取"),
    ("工作要点.pages", "能导入的文件是 Word 文档（.docx）、转换好的文本（.txt、.md）和表格（.csv、.xlsx、.xls）"),
])
def test_formats_not_read_are_refused_with_the_way_to_convert_them(tmp_path: Path, directory: UnitDirectory,
                                                                   name: str, said: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7 whatever")
    with pytest.raises(DocumentError) as refused:
        parse_file(path, directory, year=2021)
    assert said in str(refused.value)


def test_a_word_file_that_is_not_one_is_refused_in_one_sentence(tmp_path: Path, directory: UnitDirectory) -> None:
    renamed = tmp_path / "旧文档.docx"
    renamed.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    with pytest.raises(DocumentError, match=r"内容是旧版 Word 或 WPS 文档（\.doc/\.wps），只是改了扩展名：.*另存为"):
        parse_file(renamed, directory, year=2021)
    good = tmp_path / "good.docx"
    write_work_points(good)
    truncated = tmp_path / "下载一半.docx"
    truncated.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(DocumentError, match="不是有效的 Word 文档"):
        parse_file(truncated, directory, year=2021)
    workbook = tmp_path / "其实是表格.docx"
    Workbook().save(workbook)
    with pytest.raises(DocumentError, match=r"无法打开 Word 文档“其实是表格\.docx”：文件已损坏或不是 \.docx 格式"):
        parse_file(workbook, directory, year=2021)


def test_a_word_file_that_unpacks_too_large_is_refused_before_it_is_parsed(tmp_path: Path,
                                                                          directory: UnitDirectory) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * (65 << 20))
    with pytest.raises(DocumentError, match="解压后有 65 MB，超过一次导入的上限"):
        parse_file(path, directory, year=2021)
