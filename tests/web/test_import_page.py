"""导入: upload a document, read its preview and problems, settle its units on the page, confirm."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from sqlmodel import Session, col, select

from tasks.clock import FixedClock
from tasks.models import Assignment, Event, ImportProblem, OfficeChoice, Plan, Role, Task, Unit, UnitAlias
from tasks.text import compact
from tests.desk import DESK, log_in, page_text, press, screenshot, wait_for_text
from tests.factories import COMMERCE, SEED_DOCUMENT
from tests.harness import BotHarness

TITLE = "2022年门头沟区营商环境重点工作任务"
# A document as an office writes it: each measure with its units and time limit in brackets. The first
# leaves some of its units to "相关成员单位"; the second names a body the directory does not know.
DOCUMENT = f"""{TITLE}

1. 优化企业开办流程，推行“一网通办”。（区财政局牵头，相关成员单位配合，2022年6月底前）
2. 开展招商引资专项行动。（区商务委负责，2022年9月底前）
3. 清理<script>alert(1)</script>标语 & “小广告”。（区民政局负责，2022年12月底前）
"""
FIRST = "wp:优化企业开办流程,推行“一网通办”"
SECOND = "wp:开展招商引资专项行动"


def write_document(folder: Path, text: str = DOCUMENT, name: str = "营商环境任务.txt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def upload(browser: WebDriver, bot: BotHarness, path: Path) -> None:
    browser.get(bot.ctx.desk_url + "import")
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    press(browser, "上传并预览")


def card(browser: WebDriver, words: str) -> WebElement:
    """The problem card that says ``words``."""
    return browser.find_element(By.XPATH, f"//*[contains(@class, 'problem')][contains(., '{words}')]")


def status_of(browser: WebDriver, path: str) -> int:
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done(r.status));", path)


def test_an_office_imports_a_document_after_settling_its_units_on_the_page(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    browser.get(desk_bot.ctx.desk_url + "import")
    assert "当前计划：2021年《2021年门头沟区支援合作工作要点》" in page_text(browser)
    screenshot(browser, "import-form")

    before = desk_bot.snapshot()
    upload(browser, desk_bot, write_document(tmp_path))
    wait_for_text(browser, "导入预览")
    text = page_text(browser)
    assert f"2022年《{TITLE}》" in text and "工作要点 3 项" in text and "待处理 2 项" in text
    assert "相关成员单位（待指定）" in text and "“区商务委”" in text
    assert "<script>alert(1)</script>标语 & “小广告”" in text  # shown as text, not run
    assert "2022-06-30" in text
    assert desk_bot.snapshot() == before  # a preview writes nothing
    screenshot(browser, "import-preview")

    # The vague phrase: real units, picked from the directory.
    vague = card(browser, "相关成员单位")
    vague.find_element(By.TAG_NAME, "summary").click()
    for name in ("区统计局", "区审计局"):
        vague.find_element(By.XPATH, f".//label[normalize-space()='{name}']/input").click()
    screenshot(browser, "import-picker")
    vague.find_element(By.XPATH, ".//button[normalize-space()='指定']").click()
    wait_for_text(browser, "已指定“相关成员单位”：区统计局、区审计局")
    text = page_text(browser)
    assert "待指定的责任单位" not in text and "待处理 1 项" in text
    assert "区统计局、区审计局（办公室指定，原文“相关成员单位”）" in text

    # The unknown name: an alias of a unit the directory has.
    name = card(browser, "区商务委")
    Select(name.find_element(By.NAME, "target")).select_by_visible_text(COMMERCE)
    name.find_element(By.XPATH, ".//button[normalize-space()='合并为别名']").click()
    wait_for_text(browser, "“区商务委”将作为区商务局的别名")
    text = page_text(browser)
    assert "名录中没有的单位" not in text and "单位问题已全部处理" in text
    assert f"{COMMERCE}（原文“区商务委”）" in text
    assert desk_bot.snapshot() == before  # decisions wait for the import too
    screenshot(browser, "import-resolved")

    preview_address = browser.current_url.split("?")[0]
    press(browser, "确认导入")
    wait_for_text(browser, f"已导入 2022年《{TITLE}》")
    text = page_text(browser)
    assert "新增 3 项" in text and "没有遗留问题" in text and "“区商务委”合并为区商务局的别名" in text
    assert browser.find_element(By.LINK_TEXT, "到台账查看").get_attribute("href").endswith("/ledger")
    screenshot(browser, "import-done")

    with Session(desk_bot.engine) as session:
        plan = session.exec(select(Plan).where(Plan.title == TITLE)).one()
        tasks = {t.ref: t for t in session.exec(select(Task).where(Task.plan_id == plan.id))}
        assert len(tasks) == 3 and plan.source == "营商环境任务.txt"

        def units(ref: str) -> list[tuple[str, str, OfficeChoice | None]]:
            return list(session.exec(select(Unit.name, Assignment.role, Assignment.office_choice)
                                     .join(Assignment, col(Assignment.unit_id) == Unit.id)
                                     .where(Assignment.task_id == tasks[ref].id)
                                     .order_by(col(Assignment.position))).all())

        assert units(FIRST) == [("区财政局", "lead", None), ("区统计局", "co", OfficeChoice.ADDED),
                                ("区审计局", "co", OfficeChoice.ADDED)]
        assert units(SECOND) == [(COMMERCE, "lead", None)]
        commerce = session.exec(select(Unit).where(Unit.name == COMMERCE)).one()
        assert session.get(UnitAlias, compact("区商务委")).unit_id == commerce.id
        assert session.exec(select(ImportProblem).where(ImportProblem.plan_id == plan.id)).all() == []
        actions = {e.action for e in session.exec(select(Event).where(Event.actor == "督办办老李"))}
        assert {"plan.created", "task.created", "unit.merged", "assignment.assigned_by_office",
                "plan.problems_resolved"} <= actions

    # The new plan's tasks are in the ledger, with the units the office chose.
    browser.get(desk_bot.ctx.desk_url + "ledger?q=" + "一网通办")
    ledger = page_text(browser)
    assert "优化企业开办流程" in ledger and "区统计局" in ledger and "区审计局" in ledger

    # Each imported task is linked to its own page.
    link = browser.find_element(By.LINK_TEXT, str(tasks[FIRST].id))
    assert link.get_attribute("href").endswith(f"/task/{tasks[FIRST].id}")
    # Done is done: the upload's address shows what was imported, with nothing left to confirm.
    browser.get(preview_address)
    assert "已导入" in page_text(browser) and not browser.find_elements(By.XPATH, "//button[.='确认导入']")


def test_a_new_name_kept_as_a_unit_and_a_decision_taken_back(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    upload(browser, desk_bot, write_document(tmp_path))
    wait_for_text(browser, "导入预览")
    press(browser, "作为新单位")
    wait_for_text(browser, "“区商务委”将作为新单位建立")
    assert "名录中没有的单位" not in page_text(browser)
    press(browser, "撤销")
    wait_for_text(browser, "已撤销对“区商务委”的处理")
    assert "名录中没有的单位（1）" in page_text(browser)
    press(browser, "作为新单位")
    wait_for_text(browser, "已处理 1 项")
    assert "还有 1 项单位问题未处理" in page_text(browser)  # the vague phrase, left to chat's /assign
    press(browser, "确认导入")
    wait_for_text(browser, "仍有 1 个问题留待处理")
    assert "新建单位：区商务委" in page_text(browser)
    with Session(desk_bot.engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == "区商务委")).one()
        assert not unit.needs_review  # the office confirmed it: not waiting for review
        confirmed = session.exec(select(Event).where(Event.action == "unit.confirmed")).one()
        assert (confirmed.entity_id, confirmed.actor) == (unit.id, "督办办老李")
        plan = session.exec(select(Plan).where(Plan.title == TITLE)).one()
        left = session.exec(select(ImportProblem.code, ImportProblem.text).where(ImportProblem.plan_id == plan.id))
        assert list(left) == [("unit.unresolved", "相关成员单位")]


def test_a_member_may_not_import_and_another_office_person_cannot_continue_an_upload(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    log_in(desk_bot, member, browser)
    browser.get(desk_bot.ctx.desk_url + "import")
    assert "不能使用这个页面" in page_text(browser)
    assert status_of(browser, "/import") == 403
    assert "导入" not in browser.find_element(By.TAG_NAME, "nav").text

    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    upload(browser, desk_bot, write_document(tmp_path))
    wait_for_text(browser, "导入预览")
    mine = browser.current_url
    browser.delete_all_cookies()
    other = desk_bot.join(312, "督办办小张", Role.OFFICE)
    log_in(desk_bot, other, browser)
    browser.get(mine)
    assert "这次上传已失效" in page_text(browser)
    assert status_of(browser, mine) == 404


def test_a_bad_file_is_refused_in_one_sentence_and_changes_nothing(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    before = desk_bot.snapshot()
    picture = tmp_path / "现场照片.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    empty = tmp_path / "空白.txt"
    empty.write_bytes(b"")
    no_year = write_document(tmp_path, "会议纪要\n\n大家发言踊跃。\n", "纪要.txt")
    pdf = tmp_path / "文件.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(500))
    expected = {picture: "无法导入“现场照片.png”", empty: "“空白.txt”是空文件",
                no_year: "请在“年份”一栏填写年份后重新上传", pdf: "“文件.pdf”是PDF 文件，无法直接导入"}
    for path, sentence in expected.items():
        upload(browser, desk_bot, path)
        wait_for_text(browser, sentence)
        refused = browser.find_elements(By.CSS_SELECTOR, ".refused")
        assert len(refused) == 1 and "Traceback" not in page_text(browser)
        assert browser.find_elements(By.CSS_SELECTOR, "input[type=file]")  # the form again, to try another
    screenshot(browser, "import-refused")
    assert desk_bot.snapshot() == before


def test_an_import_that_fails_changes_nothing_and_says_why(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    upload(browser, desk_bot, write_document(tmp_path))
    wait_for_text(browser, "导入预览")
    vague = card(browser, "相关成员单位")
    vague.find_element(By.TAG_NAME, "summary").click()
    vague.find_element(By.XPATH, ".//label[normalize-space()='区审计局']/input").click()
    vague.find_element(By.XPATH, ".//button[normalize-space()='指定']").click()
    wait_for_text(browser, "已指定")
    # Meanwhile, in chat, the chosen unit is merged into another: the decision no longer fits.
    assert "区统计局" in desk_bot.say(office, "/merge 区审计局 区统计局")["text"]
    before = desk_bot.snapshot()
    press(browser, "确认导入")
    wait_for_text(browser, "什么也没有导入")
    assert "单位“区审计局”已不在名录中" in page_text(browser)
    assert desk_bot.snapshot() == before
    with Session(desk_bot.engine) as session:
        assert session.exec(select(Plan).where(Plan.title == TITLE)).first() is None


def test_a_huge_file_is_refused_in_one_sentence(desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    huge = tmp_path / "全年台账.txt"
    with huge.open("wb") as out:
        out.truncate(31 << 20)
    before = desk_bot.snapshot()
    upload(browser, desk_bot, huge)
    wait_for_text(browser, "上传的内容超过 30 MB，什么也没有改动")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".refused")) == 1
    assert desk_bot.snapshot() == before


def test_the_same_vague_words_across_a_document_are_settled_at_once_on_a_reimport(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    """The year's document again (already imported): its sixteen "领导小组相关成员单位" get units in one go."""
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    # One of them was given a unit in chat after the first import: the page says so.
    first = desk_bot.task_id("wp:健全完善组织体系和工作机制")
    assert "区审计局" in desk_bot.say(office, f"/assign {first} 区审计局")["text"]
    copy = tmp_path / "门头沟区2021年支援合作工作要点.txt"
    copy.write_bytes(SEED_DOCUMENT.read_bytes())
    upload(browser, desk_bot, copy)
    wait_for_text(browser, "导入预览")
    assert "办公室已给该任务指定：区审计局" in card(browser, "健全完善组织体系和工作机制").text
    vague = card(browser, "领导小组相关成员单位")
    vague.find_element(By.TAG_NAME, "summary").click()
    vague.find_element(By.XPATH, ".//label[normalize-space()='区统计局']/input").click()
    everywhere = vague.find_element(By.XPATH, ".//label[contains(., '同样用于其他')]")
    assert "同样用于其他 15 处" in everywhere.text
    everywhere.find_element(By.TAG_NAME, "input").click()
    vague.find_element(By.XPATH, ".//button[normalize-space()='指定']").click()
    wait_for_text(browser, "已指定“领导小组相关成员单位”（共 16 处）：区统计局")
    assert "领导小组相关成员单位（待指定）" not in page_text(browser)  # settled in every place
    screenshot(browser, "import-reimport")
    press(browser, "确认导入")
    wait_for_text(browser, "已导入 2021年", timeout=60)  # the whole year's document, read and stored again
    assert "与数据库中的内容一致" in page_text(browser)  # the document itself brought no change
    with Session(desk_bot.engine) as session:
        added = session.exec(select(Task.ref).join(Assignment, col(Assignment.task_id) == Task.id)
                             .join(Unit, col(Unit.id) == Assignment.unit_id)
                             .where(Unit.name == "区统计局", Assignment.office_choice == OfficeChoice.ADDED)).all()
        assert len(added) == 16


def test_a_word_document_with_a_table_is_read_and_settled_the_same_way(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    document = Document()
    document.add_paragraph("2022年门头沟区营商环境重点任务清单")
    table = document.add_table(rows=3, cols=4)
    for row, cells in enumerate([["序号", "任务内容", "责任单位", "完成时限"],
                                 ["1", "优化企业开办流程，推行一网通办。", "区财政局牵头，各有关部门配合", "2022年6月底前"],
                                 ["2", "开展招商引资专项行动。", "区商务委", "2022年9月底前"]]):
        for column, value in enumerate(cells):
            table.cell(row, column).text = value
    path = tmp_path / "任务清单.docx"
    document.save(str(path))
    upload(browser, desk_bot, path)
    wait_for_text(browser, "导入预览")
    assert "表1第2行" in card(browser, "各有关部门").text  # said where Word shows it
    vague = card(browser, "各有关部门")
    vague.find_element(By.TAG_NAME, "summary").click()
    vague.find_element(By.XPATH, ".//label[normalize-space()='区审计局']/input").click()
    vague.find_element(By.XPATH, ".//button[normalize-space()='指定']").click()
    wait_for_text(browser, "已指定“各有关部门”：区审计局")
    Select(card(browser, "区商务委").find_element(By.NAME, "target")).select_by_visible_text(COMMERCE)
    press(browser, "合并为别名")
    wait_for_text(browser, "单位问题已全部处理")
    press(browser, "确认导入")
    wait_for_text(browser, "已导入 2022年")
    with Session(desk_bot.engine) as session:
        plan = session.exec(select(Plan).where(Plan.title == "2022年门头沟区营商环境重点任务清单")).one()
        rows = session.exec(select(Task.text, Unit.name).join(Assignment, col(Assignment.task_id) == Task.id)
                            .join(Unit, col(Unit.id) == Assignment.unit_id).where(Task.plan_id == plan.id)
                            .order_by(col(Task.position), col(Assignment.position))).all()
        assert [name for _text, name in rows] == ["区财政局", "区审计局", COMMERCE]


def test_units_chosen_for_every_place_keep_a_unit_the_first_place_names_already(
        desk_bot: BotHarness, browser: WebDriver, tmp_path: Path) -> None:
    """区财政局 leads the first measure and is picked with 区统计局 for "相关成员单位" everywhere: the
    second measure, which names nobody else, gets both."""
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    log_in(desk_bot, office, browser)
    document = f"""{TITLE}

1. 优化企业开办流程，推行“一网通办”。（区财政局牵头，相关成员单位配合，2022年6月底前）
2. 开展招商引资专项行动。（相关成员单位负责，2022年9月底前）
"""
    upload(browser, desk_bot, write_document(tmp_path, document))
    wait_for_text(browser, "导入预览")
    vague = card(browser, "优化企业开办流程")
    vague.find_element(By.TAG_NAME, "summary").click()
    for name in ("区财政局", "区统计局"):
        vague.find_element(By.XPATH, f".//label[normalize-space()='{name}']/input").click()
    vague.find_element(By.XPATH, ".//label[contains(., '同样用于其他')]/input").click()
    vague.find_element(By.XPATH, ".//button[normalize-space()='指定']").click()
    wait_for_text(browser, "（共 2 处）")
    press(browser, "确认导入")
    wait_for_text(browser, f"已导入 2022年《{TITLE}》")
    with Session(desk_bot.engine) as session:
        def units(ref: str) -> list[str]:
            return list(session.exec(select(Unit.name).join(Assignment, col(Assignment.unit_id) == Unit.id)
                                     .join(Task, col(Task.id) == Assignment.task_id)
                                     .where(Task.ref == ref).order_by(col(Assignment.position))).all())

        assert units(FIRST) == ["区财政局", "区统计局"]
        assert units(SECOND) == ["区财政局", "区统计局"]


def test_an_upload_never_imported_leaves_no_copy_once_the_desk_stops(
        database_url: str, browser: WebDriver, tmp_path: Path) -> None:
    """A government document uploaded and left on the preview is not kept on the disk after the desk stops."""
    bot = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)), desk=DESK)
    try:
        office = bot.join(311, "督办办老李", Role.OFFICE)
        log_in(bot, office, browser)
        # Runs on other databases and workers share the temporary directory, so the name is this run's alone.
        name = f"留在预览-{uuid.uuid4().hex}.txt"
        upload(browser, bot, write_document(tmp_path, name=name))
        wait_for_text(browser, "导入预览")
        copies = list(Path(tempfile.gettempdir()).glob(f"taskbot-import-*/{name}"))
        assert len(copies) == 1
    finally:
        bot.stop()
    assert not copies[0].exists() and not copies[0].parent.exists()
