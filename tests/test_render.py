"""Replies stay valid Telegram HTML under the limit, however long or hostile the text."""

import re

import pytest

from bot.render import MESSAGE_LIMIT, Page, esc
from bot.sandbox.html_check import visible_text


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
