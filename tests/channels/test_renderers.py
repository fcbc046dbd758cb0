"""The reply view as DingTalk, WeCom and Feishu bodies: what a reader of each would see.

The replies are made by the real renderers (bot.render.notification from the real payload
models), with task texts full of markdown's own characters and HTML. A small strict markdown
reader stands for the platform: it takes every unescaped ``*``, ``_``, ``~``, ``[``, ``]`` or
backtick as markup and drops it, so a character the renderer forgot to escape goes missing.
"""

from __future__ import annotations

import html
import json
import re
import string
from datetime import date
from urllib.parse import unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.renderers import (
    FEISHU_DEFAULT_TITLE,
    MOST_MENTIONS,
    ONE_WAY_HINT,
    button_from_text,
    button_text,
    dingtalk_messages,
    feishu_content,
    feishu_messages,
    parse,
    wecom_messages,
)
from bot.render import Button, Keyboard, Page, Reply, notification
from bot.sandbox.html_check import visible_text
from tasks.events import jsonable
from tasks.notifications import (
    CompletionReported,
    CompletionVerified,
    Digest,
    DoneLine,
    DueItem,
    DutiesDue,
    DutyStep,
    ExtensionRequested,
    OverdueLine,
    SilentUnit,
    TallyLine,
    Urge,
    UrgedTask,
    stored_payload,
)

HOSTILE = "# 标题 *重点* _下划线_ [链接](http://x.cn) <script>alert(1)</script> `代码` ~~删~~ &amp; \\ 完"
LINES = "第一行\n- 列表项\n> 引用\n1. 有序\n#标签\n+ 加号\n=== 等号"

DINGTALK_MARKDOWN_BYTES = 4096  # the platforms' own limits, as the module's docstring cites them
DINGTALK_CARD_BYTES = 2048
WECOM_BYTES = 4096
FEISHU_BODY_BYTES = 30 * 1024


def step(task_id: int, text: str, **update) -> DutyStep:
    return DutyStep(key=f"k{task_id}", task_id=task_id, text=text, unit="区商务局", due_on=date(2021, 10, 31),
                    step="d3", days=-3, unit_id=4).model_copy(update=update)


def due_item(task_id: int, text: str, kind: str) -> DueItem:
    return DueItem(**step(task_id, text).model_dump(exclude={"milestone"}), kind=kind)


TALLY = TallyLine(name="区商务局", total=10, done=4, reported=1, overdue=2, rate=0.4, light="red")


def real(kind: str, payload) -> Reply:
    """A reply made the way the sender makes it: the payload stored as JSON, read back, rendered."""
    return notification(kind, jsonable(stored_payload(kind, payload)))


# One reply of each shape a person gets: a card with three buttons, two rows, many numbered
# buttons, no buttons, a long text that Telegram already cuts in pages.
REPLIES = {
    "reminder": real("reminder", step(12, HOSTILE)),
    "overdue": real("overdue", step(12, LINES, days=4)),
    "completion": real("completion_reported", CompletionReported(
        report_id=5, assignment_id=7, task_id=12, task_text=HOSTILE, unit="区商务局", text=LINES, author="王科长",
        files=2)),
    "extension": real("extension_requested", ExtensionRequested(
        extension_id=3, task_id=12, task_text=HOSTILE, unit="区商务局", old_date=date(2021, 10, 31),
        new_date=date(2021, 11, 30), reason=HOSTILE, author="王科长")),
    "urge": real("urge", Urge(urger="督办办", note=LINES, unit="区商务局", tasks=[
        UrgedTask(task_id=n, text=f"{HOSTILE} {n}", due_on=None) for n in range(1, 4)])),
    "duties_due": real("duties_due", DutiesDue(items=[
        due_item(n, f"任务{n} {HOSTILE}", "overdue" if n % 2 else "reminder") for n in range(1, 13)])),
    "digest": real("digest", Digest(
        week_of=date(2021, 11, 1), title="本年度工作要点", total=TALLY, teams=[TALLY], units=[TALLY],
        lights={"red": 1, "yellow": 2, "green": 3},
        overdue=[OverdueLine(task_id=13, unit="区商务局", text=HOSTILE, due_on=date(2021, 9, 30), days=31)],
        newly_done=[DoneLine(task_id=14, unit="区商务局", text="设立服务专窗")], newly_overdue=[],
        silent_units=[SilentUnit(unit="区_商务*局", open=3)], silent_days=14)),
    "verified": real("completion_verified", CompletionVerified(task_id=12, task_text=HOSTILE, reviewer="督办办")),
    "long": real("completion_reported", CompletionReported(
        report_id=6, assignment_id=7, task_id=12, task_text="长说明", unit="区商务局",
        text=("第一段很长的说明，含*星号*与_下划线_。" * 40 + "\n") * 12, author="王科长")),
}


# --- what a reader sees ---------------------------------------------------------------------------


def read_markdown(text: str) -> str:
    """The text a strict markdown reader shows: escapes honoured, markup and tags gone."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {"`"}:
                fence = None
            else:
                out.append(line)
            continue
        if re.fullmatch(r"`{3,}\s*", line):
            fence = line.strip()
            continue
        line = re.sub(r"^(#{1,6} |> ?|[-+*] |\d+[.)] |=+\s*$)", "", line.rstrip(" "))
        out.append(read_inline(line))
    return "\n".join(out)


def read_inline(text: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        rest = text[position:]
        if char == "\\" and len(rest) > 1 and rest[1] in string.punctuation:
            out.append(rest[1])
            position += 2
        elif char == "`":
            run = re.match(r"`+", rest).group(0)
            end = rest.find(run, len(run))
            if end < 0:
                out.append(run)
                position += len(run)
            else:
                out.append(rest[len(run):end])
                position += end + len(run)
        elif char in "*_~]":
            position += 1  # markup
        elif char == "[":
            link = re.match(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)", rest)
            if link:
                out.append(read_inline(link.group(1)))
                position += link.end()
            else:
                position += 1
        elif char == "<" and (tag := re.match(r"</?[a-zA-Z][^<>]*>", rest)):
            position += tag.end()
        elif char == "&" and (entity := re.match(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);", rest)):
            out.append(html.unescape(entity.group(0)))
            position += entity.end()
        else:
            out.append(char)
            position += 1
    return "".join(out)


def squeezed(text: str) -> str:
    """Text to compare: without page markers and without any white space."""
    return re.sub(r"\s", "", re.sub(r"（\d+/\d+）", "", text))


def telegram_sees(reply: Reply) -> str:
    return squeezed("".join(visible_text(page) for page in reply.pages))


def dingtalk_texts(messages: list[dict]) -> list[str]:
    return [m["markdown"]["text"] if m["msgtype"] == "markdown" else m["actionCard"]["text"] for m in messages]


def wecom_texts(messages: list[dict]) -> list[str]:
    return [m["markdown"]["content"] for m in messages if m["msgtype"] == "markdown"]


def feishu_texts(messages: list[dict]) -> list[str]:
    """Each card as read: the first one's header (it shows the reply's first line), then the markdown."""
    texts = []
    for n, message in enumerate(messages):
        card = message["card"]
        title = card["header"]["title"]["content"]
        head = title + "\n" if n == 0 and not title.startswith(FEISHU_DEFAULT_TITLE) else ""
        texts.append(head + "\n".join(e["content"] for e in card["elements"] if e["tag"] == "markdown"))
    return texts


def render(platform: str, reply: Reply, two_way: bool) -> tuple[list[dict], list[str]]:
    if platform == "dingtalk":
        messages = dingtalk_messages(reply, two_way=two_way, title="督办提醒")
        return messages, dingtalk_texts(messages)
    if platform == "wecom":
        messages = wecom_messages(reply, two_way=two_way)
        return messages, wecom_texts(messages)
    messages = feishu_messages(reply, two_way=two_way)
    return messages, feishu_texts(messages)


def recovered_buttons(platform: str, messages: list[dict]) -> list[str]:
    """The callback data a tap on each button shown would bring back to the bot."""
    if platform == "dingtalk":
        urls = [b["actionURL"] for m in messages if m["msgtype"] == "actionCard" for b in m["actionCard"]["btns"]]
        urls += [url for text in dingtalk_texts(messages) for url in re.findall(r"\]\((dtmd://[^)]+)\)", text)]
        prefix = "dtmd://dingtalkclient/sendMessage?content="
        # A link's text is URL-encoded whole: a raw "（" or ")" would end a markdown link early.
        assert all(re.fullmatch(r"dtmd://dingtalkclient/sendMessage\?content=[A-Za-z0-9%._~-]+", url) for url in urls)
        return [button_from_text(unquote_plus(url.removeprefix(prefix))) for url in urls]
    if platform == "wecom":
        return [b["key"] for m in messages if m["msgtype"] == "template_card"
                for b in m["template_card"]["button_list"]]
    return [button["value"]["data"] for m in messages for element in m["card"]["elements"]
            if element["tag"] == "action" for button in element["actions"]]


def within_limits(platform: str, messages: list[dict]) -> bool:
    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    if platform == "dingtalk":
        return all(size(m["markdown"]["text"]) <= DINGTALK_MARKDOWN_BYTES and size(m["markdown"]["title"]) <= 128
                   if m["msgtype"] == "markdown" else size(m["actionCard"]["text"]) <= DINGTALK_CARD_BYTES
                   for m in messages)
    if platform == "wecom":
        return all(size(m["markdown"]["content"]) <= WECOM_BYTES for m in messages if m["msgtype"] == "markdown")
    body = {"receive_id": "oc_0123456789abcdef0123456789abcdef", "msg_type": "interactive"}
    return all(size(json.dumps({**body, "content": feishu_content(m)}, ensure_ascii=False)) <= FEISHU_BODY_BYTES
               for m in messages)


PLATFORMS = ["dingtalk", "wecom", "feishu"]
RAW_TAG = re.compile(r"(?<!\\)<(?!/?font\b)/?[a-zA-Z]")  # a tag the platform would take as HTML


# --- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(REPLIES))
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("two_way", [True, False])
def test_a_reader_sees_what_telegram_shows(platform: str, name: str, two_way: bool) -> None:
    reply = REPLIES[name]
    messages, texts = render(platform, reply, two_way)
    seen = squeezed("".join(read_markdown(text) for text in texts))
    assert seen.startswith(telegram_sees(reply))  # every word, in order; only a hint or links may follow
    assert not any(RAW_TAG.search(text) for text in texts)
    assert within_limits(platform, messages)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hostile_task_text_shows_as_written(platform: str) -> None:
    _messages, texts = render(platform, REPLIES["reminder"], True)
    assert HOSTILE in " ".join(read_markdown(text) for text in texts)
    _messages, texts = render(platform, REPLIES["completion"], True)  # a person's explanation keeps its lines
    assert LINES in "\n".join(read_markdown(text) for text in texts)


@pytest.mark.parametrize("name", ["reminder", "completion", "urge", "duties_due", "digest"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_bot_people_chat_with_gets_every_button_back_exactly(platform: str, name: str) -> None:
    reply = REPLIES[name]
    wanted = [button.callback_data for row in reply.buttons.inline_keyboard for button in row]
    messages, texts = render(platform, reply, True)
    assert sorted(recovered_buttons(platform, messages)) == sorted(wanted)
    assert not any(ONE_WAY_HINT in read_markdown(text) for text in texts)


@pytest.mark.parametrize("name", ["reminder", "completion", "duties_due", "digest"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_one_way_robot_gets_no_buttons_and_says_where_to_act(platform: str, name: str) -> None:
    messages, texts = render(platform, REPLIES[name], False)
    assert recovered_buttons(platform, messages) == []
    assert "dtmd://" not in json.dumps(messages)
    assert sum(ONE_WAY_HINT in read_markdown(text) for text in texts) == 1


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_reply_without_buttons_gets_no_hint(platform: str) -> None:
    _messages, texts = render(platform, REPLIES["verified"], False)
    assert not any(ONE_WAY_HINT in read_markdown(text) for text in texts)


def test_dingtalk_puts_a_few_buttons_on_an_action_card_and_many_as_links() -> None:
    few = dingtalk_messages(REPLIES["reminder"], two_way=True, title="督办提醒")
    assert few[-1]["msgtype"] == "actionCard"
    assert [b["title"] for b in few[-1]["actionCard"]["btns"]] == ["报进展", "办结", "申请延期"]
    many = dingtalk_messages(REPLIES["duties_due"], two_way=True, title="督办提醒")
    assert all(m["msgtype"] == "markdown" for m in many)
    assert "[12](dtmd://" in many[-1]["markdown"]["text"]  # the numbered buttons, tappable in the text


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_long_reply_is_cut_within_the_limit_and_numbered(platform: str) -> None:
    reply = REPLIES["long"]
    assert len(reply.pages) > 1
    messages, texts = render(platform, reply, True)
    assert within_limits(platform, messages)
    count = len(messages) if platform == "feishu" else len(texts)
    assert count > 1
    markers = [re.findall(r"（(\d+)/(\d+)）", json.dumps(m, ensure_ascii=False)) for m in messages][:count]
    assert [marker[-1] for marker in markers] == [(str(n), str(count)) for n in range(1, count + 1)]
    seen = squeezed("".join(read_markdown(text) for text in texts))
    assert seen.startswith(telegram_sees(reply))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_table_keeps_every_row_and_cell(platform: str) -> None:
    rows = [[n, f"单位_{n}", "2021-10-31", "<逾期&*>"] for n in range(300)]
    reply = Page().add("<b>逾期清单</b>").table(rows, ["编号", "单位", "截止", "状态"]).reply()
    messages, texts = render(platform, reply, True)
    assert within_limits(platform, messages)
    seen = "\n".join(read_markdown(text) for text in texts)
    for n in range(300):
        assert re.search(rf"\b{n}\b.*单位_{n}\s*｜?\s*2021-10-31\s*｜?\s*<逾期&\*>", seen)
    if platform == "feishu":  # a code block: the table stays aligned
        assert all(text.count("```") % 2 == 0 for text in texts)
        assert re.search(r"\n0 {2,}单位_0 {2,}2021-10-31", seen)
    assert not any(RAW_TAG.search(text) for text in texts)


@pytest.mark.parametrize("line", ["*长*" * 5000, "<b>" + "粗" * 9000 + "</b>"])
def test_a_huge_line_without_breaks_is_cut_within_every_limit(line: str) -> None:
    reply = Page().add("<b>说明</b>").add(line).reply()  # our own line: Page does not cut it
    for platform in PLATFORMS:
        messages, texts = render(platform, reply, False)
        assert within_limits(platform, messages)
        assert squeezed("".join(read_markdown(text) for text in texts)) == squeezed("说明" + visible_text(line))
        assert not any("****" in text for text in texts)  # cut bold stays two bold runs, not one garbled


def test_wecom_cards_hold_six_buttons_each_with_unique_keys() -> None:
    buttons = [Button(str(n), f"card:{n}") for n in range(1, 15)]
    reply = Reply(["<b>任务</b>"], Keyboard([buttons[:5], buttons[5:10], buttons[10:]]))
    cards = [m["template_card"] for m in wecom_messages(reply, two_way=True) if m["msgtype"] == "template_card"]
    assert len(cards) == 3
    assert all(card["card_type"] == "button_interaction" and 1 <= len(card["button_list"]) <= 6 for card in cards)
    keys = [b["key"] for card in cards for b in card["button_list"]]
    assert keys == [b.callback_data for b in buttons]
    assert len({card["task_id"] for card in cards}) == 3
    assert all(re.fullmatch(r"[0-9A-Za-z_\-@]{1,128}", card["task_id"]) for card in cards)


def test_feishu_header_is_the_first_line_and_red_for_what_is_overdue() -> None:
    card = feishu_messages(REPLIES["overdue"], two_way=True)[0]["card"]
    assert card["header"]["title"]["content"].startswith("🔴 逾期未办结")
    assert card["header"]["template"] == "red"
    assert "逾期未办结" not in card["elements"][0]["content"]  # said once, in the header


@pytest.mark.parametrize("data", ["rp:12", "ls:o:u4:i2", "数据 含空格", "a）b", "~tilde", "x" * 64])
def test_a_dingtalk_button_text_gives_its_data_back(data: str) -> None:
    text = button_text(Button("报进展（3）", data))
    assert button_from_text(text) == data
    assert button_from_text(f"  {text}\n") == data  # as DingTalk may pass it, with the mention's spaces


@pytest.mark.parametrize("text", ["rp:12", "按钮 rp:12", "", "【按钮】报进展", "【按钮】报进展（rp:12）还有", "你好"])
def test_other_texts_are_not_taken_for_buttons(text: str) -> None:
    assert button_from_text(text) is None


def test_the_parser_keeps_text_of_unknown_tags_and_bad_markup() -> None:
    pieces = parse("<u>下划线</u> <a href='http://x'>链接</a> a < b &amp; <b>粗</i> 尾</b></b> <tg-spoiler>密</tg-spoiler>")
    assert "".join(piece.text for piece in pieces) == "下划线 链接 a < b & 粗 尾 密"
    assert [piece.text for piece in pieces if piece.bold] == ["粗 尾"]


@given(st.lists(st.sampled_from([*"<>/&;abiprecod *_#[]`\n中文", "<b>", "</b>", "<pre>", "</pre>", "&amp;"]))
       .map("".join))
def test_the_parser_and_renderers_never_raise(page: str) -> None:
    parse(page)
    reply = Reply([page], Keyboard([[Button("好", "ok")]]))
    dingtalk_messages(reply, two_way=True, title="t")
    wecom_messages(reply, two_way=False)
    feishu_messages(reply, two_way=True)


def test_feishu_escapes_with_character_references_as_its_card_markdown_asks() -> None:
    content = feishu_messages(REPLIES["reminder"], two_way=True)[0]["card"]["elements"][0]["content"]
    assert "&#35; 标题 &#42;重点&#42; &#95;下划线&#95; &#91;链接&#93;(http://x.cn) &#60;script&#62;" in content
    assert "\\" not in content.replace("&#92;", "")  # its markdown has no backslash escapes


def test_dingtalk_and_wecom_escape_with_backslashes() -> None:
    for text in dingtalk_texts(dingtalk_messages(REPLIES["reminder"], two_way=True, title="t")) + \
            wecom_texts(wecom_messages(REPLIES["reminder"], two_way=True)):
        assert "\\# 标题 \\*重点\\* \\_下划线\\_ \\[链接\\](http://x.cn) \\<script>" in text


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_one_line_answer_is_one_message_and_a_files_only_reply_is_none(platform: str) -> None:
    messages, texts = render(platform, Reply(["已保存：<b>12</b> &lt;草稿&gt;"]), True)
    assert len(messages) == 1
    assert "已保存：12 <草稿>" in read_markdown(texts[0])
    assert render(platform, Reply([]), True)[0] == []  # the files are the transport's to send


# --- a one-way robot's @ by mobile number -----------------------------------------------------------

MOBILES = ["13800000001", "13800000002"]


def test_a_dingtalk_robot_ats_on_its_last_page_in_the_text_and_the_at_field():
    messages = dingtalk_messages(REPLIES["long"], two_way=False, title="办结申请", mentions=MOBILES)
    assert len(messages) > 1 and {m["msgtype"] for m in messages} == {"markdown"}
    *earlier, last = messages
    assert last["at"] == {"atMobiles": MOBILES, "isAtAll": False}
    assert all(f"@{mobile}" in last["markdown"]["text"] for mobile in MOBILES)
    assert not any("at" in m or "@138" in m["markdown"]["text"] for m in earlier)
    assert all(len(m["markdown"]["text"].encode()) <= DINGTALK_MARKDOWN_BYTES for m in messages)
    assert "at" not in dingtalk_messages(REPLIES["long"], two_way=False, title="办结申请")[-1]


def test_a_robot_ats_at_most_a_capped_number_of_people_and_its_notice_still_fits():
    """A bureau mapped by department may bind hundreds: the notice must still go, within the platform's size."""
    many = [f"139{n:08d}" for n in range(800)]
    for messages in (dingtalk_messages(REPLIES["long"], two_way=False, title="提醒", mentions=many),
                     wecom_messages(REPLIES["long"], two_way=False, mentions=many)):
        last = messages[-1]
        mentioned = last.get("at", {}).get("atMobiles") or last.get("text", {}).get("mentioned_mobile_list")
        assert mentioned == many[:MOST_MENTIONS]
        for message in messages:
            assert len(json.dumps(message, ensure_ascii=False).encode()) <= 20000
            text = (message.get("markdown") or {}).get("text") or ""
            assert len(text.encode()) <= DINGTALK_MARKDOWN_BYTES


def test_a_wecom_robot_ats_in_one_text_message_after_the_markdown():
    plain_ones = wecom_messages(REPLIES["reminder"], two_way=False)
    messages = wecom_messages(REPLIES["reminder"], two_way=False, mentions=MOBILES)
    assert messages[:-1] == plain_ones
    assert messages[-1]["msgtype"] == "text" and messages[-1]["text"]["mentioned_mobile_list"] == MOBILES
    assert messages[-1]["text"]["content"]
