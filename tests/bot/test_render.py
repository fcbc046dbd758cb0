"""Replies stay valid Telegram HTML under the limit, however long or hostile the text."""

import re

import pytest

from bot.render import MESSAGE_LIMIT, Page
from bot.sandbox.html_check import visible_text
from bot.texts import esc


def check_pages(pages: list[str]) -> str:
    for page in pages:
        shown = visible_text(page)  # raises where Telegram would refuse to parse
        assert len(shown) <= MESSAGE_LIMIT
    return "".join(re.sub(r"\n（\d+/\d+）$", "", visible_text(p)) for p in pages)  # without page markers


@pytest.mark.parametrize("text", [
    "<b>&amp;</b> & < > " * 700,
    "无标点的长文本" * 1200,
    "第一行\n" * 2000,
    "&" * 5000,
])
def test_long_hostile_text_is_split_and_escaped(text: str) -> None:
    pages = Page().add("<b>标题</b>").text(text).pages()
    assert len(pages) > 1
    shown = check_pages(pages)
    assert text.replace("\n", "") in shown.replace("\n", "")


def test_long_table_is_split_by_rows_each_in_pre() -> None:
    rows = [[n, f"单位{n}", "2021-10-31", "<逾期&>"] for n in range(400)]
    pages = Page().add("<b>逾期</b>").table(rows, ["编号", "单位", "截止", "状态"]).pages()
    assert len(pages) > 1
    shown = check_pages(pages)
    assert all(f"单位{n}" in shown for n in range(400))
    assert all(page.count("<pre>") == page.count("</pre>") >= 1 for page in pages)
    assert all("编号" in visible_text(page) for page in pages)  # every page repeats the header


def test_short_answer_is_one_page_without_a_page_marker() -> None:
    assert Page().add("<b>你好</b>").text("a & b").pages() == ["<b>你好</b>\na &amp; b"]


def test_escape_keeps_quotes_readable() -> None:
    assert esc('他说"好"<b>') == '他说"好"&lt;b&gt;'


def _due_item(task_id: int, kind: str, **extra: object) -> dict:
    days = {"overdue": 12, "reminder": -3, "checkin": None}[kind]
    return {"key": f"a{task_id}:{kind}", "task_id": task_id, "text": f"任务<{task_id}>", "unit": "区商务局",
            "due_on": None if kind == "checkin" else "2021-10-31", "step": "2021W42" if kind == "checkin" else "d3",
            "days": days, "kind": kind, **extra}


def test_a_units_list_puts_overdue_first_and_opens_each_task_by_its_number() -> None:
    from bot.render import notification

    items = [_due_item(1, "checkin"), _due_item(2, "reminder"), _due_item(3, "overdue"),
             _due_item(4, "reminder", late=True), _due_item(3, "checkin")]
    reply = notification("duties_due", {"items": items})
    shown = check_pages(reply.pages)
    assert "本单位有 5 项任务需要办理" in shown
    order = [shown.index(title) for title in ("逾期未办结（1 项）", "即将到期（2 项）", "请报送本期进展（2 项）")]
    assert order == sorted(order)
    assert "任务<3>（截止 2021-10-31，已逾期 12 天）" in shown and "任务<2>（截止 2021-10-31，还有3天）" in shown
    assert "任务<4>（截止 2021-10-31，还有3天）（补发）" in shown and "任务<1>（本期 2021W42）" in shown
    # A short list is answered with one tap, as a single card: a row of buttons per task (task 3 once).
    rows = [[(b.text, b.callback_data) for b in row] for row in reply.buttons.inline_keyboard]
    # In the order of the lines: overdue (3), then the reminders (2, 4), then the check-in (1).
    assert rows == [[(f"{n} 报进展", f"rp:{n}"), ("办结", f"dn:{n}"), ("申请延期", f"ex:{n}")] for n in (3, 2, 4, 1)]


def test_a_units_longer_list_opens_each_task_by_its_number() -> None:
    from bot.render import ANSWER_ROWS, notification

    items = [_due_item(n, "reminder") for n in range(1, ANSWER_ROWS + 2)]
    reply = notification("duties_due", {"items": items})
    assert "点任务编号查看详情并办理" in check_pages(reply.pages)
    buttons = [(b.text, b.callback_data) for row in reply.buttons.inline_keyboard for b in row]
    assert buttons == [(str(n), f"card:{n}") for n in range(1, ANSWER_ROWS + 2)]


def test_a_units_long_list_is_capped_and_says_how_to_see_the_rest() -> None:
    from bot.render import CARD_BUTTONS, LIST_LIMIT, notification

    items = [_due_item(n, "overdue") for n in range(LIST_LIMIT + 25)]
    reply = notification("duties_due", {"items": items})
    shown = check_pages(reply.pages)
    assert shown.count("• ") == LIST_LIMIT and "另有 25 项未列出，发送“我的任务”查看全部" in shown
    assert sum(len(row) for row in reply.buttons.inline_keyboard) == CARD_BUTTONS and "/task 编号" in shown
    assert max(len(row) for row in reply.buttons.inline_keyboard) == 5  # a phone shows five numbers to a row


def test_a_reminder_of_a_passed_deadline_says_it_is_late_not_due_in_minus_days() -> None:
    # Rows the planner queued before it stopped reminding of passed deadlines may still be pending.
    from bot.render import notification

    late = _due_item(5, "reminder", late=True, days=1)
    shown = check_pages(notification("duties_due", {"items": [late, _due_item(6, "overdue")]}).pages)
    assert "还有-" not in shown and "任务<5>（截止 2021-10-31，已逾期 1 天）（补发）" in shown
    card = check_pages(notification("reminder", late).pages)
    assert "还有-" not in card and "已逾期1天" in card
