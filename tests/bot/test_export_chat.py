"""The ledger (台账) asked for in chat: /export sends the XLSX that taskbot export writes."""

import io

from openpyxl import load_workbook
from sqlmodel import col, select

from tasks.db import transaction
from tasks.models import Assignment, Role, Task, Unit
from tests.harness import BotHarness


def ledger_of(bot: BotHarness, message: dict):
    data, name, _mime = bot.server.state.files[message["document"]["file_id"]]
    return name, load_workbook(io.BytesIO(data), read_only=True)


def ledger_lines(bot: BotHarness, unit: str | None = None) -> int:
    """How many rows the ledger has: one per task and responsible unit (a sub-item is a task of its
    own), and one for a task with no unit of its own (one tracked through its sub-items)."""
    query = (select(Assignment.task_id, Unit.name).join(Unit, col(Unit.id) == Assignment.unit_id)
             .where(Assignment.status != "withdrawn"))
    with transaction(bot.engine) as session:
        lines = set(session.exec(query).all())
        tasks = set(session.exec(select(Task.id).where(Task.status == "active")).all())
    if unit is not None:
        return sum(1 for _task, name in lines if name == unit)
    return len(lines) + len(tasks - {task for task, _name in lines})


def test_the_office_gets_the_ledger_as_a_file_with_a_row_per_responsible_unit(bot: BotHarness) -> None:
    office = bot.join(601, "督办办小孙", Role.OFFICE)
    before = len(bot.server.messages(office.id))
    bot.server.send_text(office, "/export")
    text, document = bot.server.wait_for(office.id, after=before, count=2)
    assert "正在生成台账" in text["text"] and "每个责任单位一行" in document["caption"]
    name, workbook = ledger_of(bot, document)
    assert name == "台账-2021-09-01.xlsx"
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    header_at = next(n for n, row in enumerate(rows) if row and "牵头单位" in row)
    unit_rows = [row for row in rows[header_at + 1:] if any(cell not in (None, "") for cell in row)]
    assert len(unit_rows) == ledger_lines(bot)

    # Narrowed to one unit by the same words as the other questions.
    before = len(bot.server.messages(office.id))
    bot.server.send_text(office, "台账 区商务局")
    _text, document = bot.server.wait_for(office.id, after=before, count=2)
    _name, workbook = ledger_of(bot, document)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert sum(1 for row in rows if "区商务局" in row) == ledger_lines(bot, "区商务局")


def test_an_unknown_filter_is_one_sentence_and_no_file(bot: BotHarness) -> None:
    office = bot.join(602, "督办办小周", Role.OFFICE)
    before = len(bot.server.messages(office.id))
    answer = bot.say(office, "/export 不存在的单位")
    assert "不存在的单位" in answer["text"] and "document" not in answer
    bot.say(office, "/help")
    assert not any("document" in m for m in bot.server.messages(office.id)[before:])
