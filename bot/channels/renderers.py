"""The one reply view (``bot.render.Reply``) as DingTalk, WeCom and Feishu message bodies.

A reply's pages are a small Telegram-HTML subset (<b>, <i>, <code>, <pre> holding a tabulate table
or preformatted text, and the entities); ``parse`` reads it once into neutral pieces, and each
platform writes those pieces in its own markdown, escaping what a person or a document wrote so
that a task text with ``*``, ``#``, ``[`` or ``<script>`` shows as it was written.

Every platform counts its limit in UTF-8 bytes, not in characters as Telegram does, so the pages
are cut again for each platform: never inside a line's markup, a table row or a code fence, and
numbered afresh with the same "（n/m）" marker the Telegram pages carry.

Buttons: a bot a person chats with (``two_way``) gets them in the platform's own form, each
carrying the button's ``callback_data`` back to us unchanged; a one-way group robot cannot hear a
tap, so its copy drops them and says where to act instead.

Files (``Reply.files``) are not rendered here: the transports upload them and send them after
the text, as the Telegram sender does.

The limits used, and where they come from (the platforms' documents as quoted in public SDKs and
articles; the official pages could not be read from here):

- DingTalk markdown ``text``: at most 5000 characters and ``title`` at most 128 bytes (its
  message-type document, as quoted in many SDKs); an actionCard's markdown "within 1000
  characters" advised; forum answers quote 4096 and 2048 bytes for robots. So 4000 bytes for
  markdown, 2000 for an actionCard (under every one of those), 128 for the title. DingTalk
  markdown supports headings, quotes, bold, italic, links, images and lists, no tables and no
  reliable code blocks: a table is written as one line per row. A ``dtmd://dingtalkclient/sendMessage?content=`` link
  sends ``content`` as the reader's own message when tapped (DingTalk's message-link document; an
  actionCard button's ``actionURL`` may be one, per the enterprise-robot interaction document as
  quoted in eryajf/chatgpt-dingtalk#277, and NousResearch/hermes-agent#92254 reports it working on
  a real client through the Stream bot's sessionWebhook).
- WeCom markdown ``content``: 4096 bytes of UTF-8 (group robot document); its markdown has bold,
  links, inline code, quotes and ``<font color="info|comment|warning">``, no italic, no tables.
  ``template_card`` of ``button_interaction`` (smart-robot document 101032, 模板卡片类型): at most
  6 buttons, a button's ``key`` at most 1024 bytes and unique, ``task_id`` required, never
  repeated, at most 128 bytes of letters, digits and ``_-@``; title advised within 26 characters.
- Feishu: card message request bodies at most 30 KB (send-message document; error 230025 past
  it); card JSON 1.0 is used
  (every Feishu client that takes cards shows it; its button ``value`` comes back whole in the
  card action callback), with the ``markdown`` element. Its markdown document (mirrored in
  wxkingstar/doc-hub-mcp, feishu/…/消息卡片组件/内容组件/Markdown.md) says special characters are
  escaped as HTML character references (``&#42;``), not with backslashes, and that code blocks and
  lists need Feishu 7.6 or later (older clients show an upgrade placeholder): a table stays in a
  code block, monospace, accepting that.

DingTalk and WeCom document no escapes at all; they get CommonMark's backslash escapes, which
their markdown renderers are the likeliest to honour. Not checked on a real client from here.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote

from wcwidth import wcwidth

from bot.render import Button, Reply

# --- the HTML subset, read once -----------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A run of text as a reader sees it (entities decoded), and how it is set."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    pre: bool = False

    def same_style(self, other: Piece) -> bool:
        return (self.bold, self.italic, self.code, self.pre) == (other.bold, other.italic, other.code, other.pre)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?/?>")
_STYLE_OF_TAG = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "code": "code", "pre": "pre"}


def parse(page: str) -> list[Piece]:
    """A page's pieces. A tag outside the subset is dropped and its text kept; a ``<`` that opens no
    tag is text; an end tag without its start is ignored. Nothing here raises."""
    depth = {"bold": 0, "italic": 0, "code": 0, "pre": 0}
    pieces: list[Piece] = []

    def add(raw: str) -> None:
        if not raw:
            return
        piece = Piece(html.unescape(raw), depth["bold"] > 0, depth["italic"] > 0, depth["code"] > 0,
                      depth["pre"] > 0)
        if pieces and pieces[-1].same_style(piece):
            pieces[-1] = Piece(pieces[-1].text + piece.text, piece.bold, piece.italic, piece.code, piece.pre)
        else:
            pieces.append(piece)

    position = 0
    while position < len(page):
        start = page.find("<", position)
        if start < 0:
            add(page[position:])
            break
        add(page[position:start])
        match = _TAG.match(page, start)
        if match is None:
            add("<")
            position = start + 1
            continue
        style = _STYLE_OF_TAG.get(match.group(2).lower())
        if style is not None:
            depth[style] = max(depth[style] + (-1 if match.group(1) else 1), 0)
        position = match.end()
    return pieces


# --- lines and blocks: what every platform cuts between ------------------------------------------

Line = list[Piece]  # one line of running text
Block = Line | str  # a line, or a <pre> block's text


def _blocks(pieces: list[Piece]) -> list[Block]:
    """The page as lines of running text and preformatted blocks, in order."""
    blocks: list[Block] = []
    line: Line = []
    pre: list[str] = []
    for piece in pieces:
        if piece.pre:
            if line:
                blocks.append(line)
                line = []
            pre.append(piece.text)
            continue
        if pre:
            blocks.append("".join(pre))
            pre = []
            piece = Piece(piece.text.removeprefix("\n"), piece.bold, piece.italic, piece.code)  # the break after </pre>
            if not piece.text:
                continue
        parts = piece.text.split("\n")
        for n, part in enumerate(parts):
            if n:
                blocks.append(line)
                line = []
            if part:
                line.append(Piece(part, piece.bold, piece.italic, piece.code))
    if pre:
        blocks.append("".join(pre))
    if line:
        blocks.append(line)
    return blocks


def _page_blocks(reply: Reply) -> list[list[Block]]:
    """Each page's blocks, pages with nothing to read left out."""
    pages = [_blocks(parse(_without_marker(page))) for page in reply.pages]
    return [blocks for blocks in pages if any(block for block in blocks)]


def _plain(block: Block) -> str:
    return block if isinstance(block, str) else "".join(piece.text for piece in block)


_MARKER = re.compile(r"\n?<i>（\d+/\d+）</i>\s*$")


def _without_marker(page: str) -> str:
    """A Telegram page without its "（n/m）": the pages are numbered again once cut for a platform."""
    return _MARKER.sub("", page)


def table_cells(text: str) -> tuple[list[str], list[list[str]]] | None:
    """A tabulate table's header and rows, cut at the columns its dashed rule marks (tabulate pads
    by display width: a Chinese character takes two columns); None for other preformatted text."""
    lines = text.split("\n")
    if len(lines) < 2 or not re.fullmatch(r"-+(?: +-+)*", lines[1].strip()):
        return None
    starts = [match.start() for match in re.finditer(r"-+", lines[1])]

    def cells(line: str) -> list[str]:
        out = [""] * len(starts)
        column = 0
        for char in line:
            index = max((n for n, start in enumerate(starts) if start <= column), default=0)
            out[index] += char
            column += max(wcwidth(char), 0)
        return [cell.strip() for cell in out]

    return cells(lines[0]), [cells(line) for line in lines[2:] if line.strip()]


# --- escaping -----------------------------------------------------------------------------------

# Markdown's own characters, escaped with a backslash wherever they stand (CommonMark's escapes);
# ``&`` only where it would start an entity, so that "A&B" is not strewn with backslashes.
_ALWAYS = re.compile(r"([\\`*_\[\]<~]|&(?=#?\w+;))")
# What makes a line a heading, a quote, a list item or a rule only at its start.
_LINE_START = re.compile(r"^([#>+=|-]|\d+(?=[.)]))")


def escape_markdown(text: str, *, line_start: bool) -> str:
    text = _ALWAYS.sub(r"\\\1", text)
    if line_start:
        match = _LINE_START.match(text)
        if match:
            if match.group(1)[0].isdigit():  # "1." starts an ordered list: escape the dot
                end = match.end()
                text = text[:end] + "\\" + text[end:]
            else:
                text = "\\" + text
    return text


# Feishu's card markdown takes HTML character references for its special characters (its
# markdown document's escape table); a backslash is not among its escapes.
_FEISHU_ALWAYS = re.compile(r"[\\`*_\[\]<>~$]|&(?=#?\w+;)|:(?=[A-Za-z_]+:)")  # ":OK:" would be an emoji
_FEISHU_LINE_START = re.compile(r"^(?:[#+=|-]|\d+(?=[.)]))")


def escape_feishu(text: str, *, line_start: bool) -> str:
    text = _FEISHU_ALWAYS.sub(lambda match: f"&#{ord(match.group(0))};", text)
    if line_start and (match := _FEISHU_LINE_START.match(text)):
        if match.group(0)[0].isdigit():  # "1." starts an ordered list: escape the dot
            end = match.end()
            text = text[:end] + f"&#{ord(text[end])};" + text[end + 1:]
        else:
            text = f"&#{ord(text[0])};" + text[1:]
    return text


def _keep_indent(text: str) -> tuple[str, str]:
    """Leading spaces as non-breaking ones (markdown drops plain ones), and the rest."""
    stripped = text.lstrip(" ")
    return "\u00a0" * (len(text) - len(stripped)), stripped


# --- one platform's way of writing ----------------------------------------------------------------


@dataclass(frozen=True)
class _Writer:
    newline: str  # between two lines of one paragraph
    italic: bool  # the platform's markdown has italic
    code: bool  # and inline code
    fence: bool  # and fenced code blocks (else a table is written row by row)
    escape: Callable[..., str] = escape_markdown  # (text, *, line_start) -> what shows as text

    def line(self, line: Line, *, start: bool = True) -> str:
        """One line (or, ``start`` False, the rest of a line cut in two) in the platform's markdown."""
        out: list[str] = []
        for n, piece in enumerate(line):
            text = piece.text
            indent = ""
            if n == 0 and start:
                indent, text = _keep_indent(text)
            if piece.code and self.code and "`" not in text and text.strip():
                out.append(f"{indent}`{text}`")
                continue
            lead, core, trail = _split_spaces(text)
            core = self.escape(core, line_start=start and n == 0 and not lead)
            if core and piece.bold:
                core = f"**{core}**"
            elif core and piece.italic and self.italic:
                core = f"*{core}*"
            out.append(indent + lead + core + trail)
        return "".join(out)

    def pre(self, text: str, budget: int, size: Callable[[str], int]) -> list[str]:
        """A preformatted block as units to pack: fenced chunks, or one line per row."""
        if self.fence:
            return _fenced(text, budget, size)
        table = table_cells(text)
        if table is None:
            return [self.line([Piece(line)]) for line in text.split("\n")]
        header, rows = table
        head = self.line([Piece(" ｜ ".join(header), bold=True)])
        return [head] + [self.line([Piece("• " + " ｜ ".join(cell for cell in row))]) for row in rows]


def _split_spaces(text: str) -> tuple[str, str, str]:
    """Spaces at either end stay outside the emphasis markers (``** x**`` is not bold)."""
    core = text.strip(" ")
    if not core:
        return text, "", ""
    lead = text[: len(text) - len(text.lstrip(" "))]
    trail = text[len(text.rstrip(" ")):]
    return lead, core, trail


def _fenced(text: str, budget: int, size: Callable[[str], int]) -> list[str]:
    """A code block (or several, each within ``budget``), its fence longer than any run of
    backticks inside so that nothing in it can close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    blocks: list[str] = []
    chunk: list[str] = []
    for line in text.split("\n"):
        if chunk and size(f"{fence}\n" + "\n".join([*chunk, line]) + f"\n{fence}") > budget:
            blocks.append(f"{fence}\n" + "\n".join(chunk) + f"\n{fence}")
            chunk = []
        chunk.append(line)
    blocks.append(f"{fence}\n" + "\n".join(chunk) + f"\n{fence}")
    return blocks


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def _units(blocks: list[Block], writer: _Writer, budget: int, size: Callable[[str], int]) -> list[tuple[str, str]]:
    """Blocks as (glue, text) units no bigger than ``budget``: a line glued to the one before by a
    line break (an over-long line cut into several: two halves of bold glued together would make
    "****", which no markdown reads as two bold runs), a table set off by a blank line."""
    units: list[tuple[str, str]] = []
    glue_next = writer.newline
    for block in blocks:
        if isinstance(block, str):
            gap = writer.newline if writer.fence else "\n\n"
            for n, text in enumerate(writer.pre(block, budget, size)):
                units.append((gap if n == 0 else writer.newline, text))
            glue_next = gap
            continue
        for n, part in enumerate(_cut_line(block, writer, budget, size)):
            units.append((glue_next if n == 0 else writer.newline, part))
        glue_next = writer.newline
    return units


def _cut_line(line: Line, writer: _Writer, budget: int, size: Callable[[str], int], *,
              start: bool = True) -> list[str]:
    """A line within the budget, or cut into parts that are (each with its own markup; only the
    first is the line's start, where a leading "#" or "-" needs escaping)."""
    text = writer.line(line, start=start)
    if size(text) <= budget or sum(len(piece.text) for piece in line) <= 1:
        return [text]
    pieces = [Piece(chunk, p.bold, p.italic, p.code) for p in line for chunk in _halves(p.text)]
    middle = len(pieces) // 2
    return (_cut_line(pieces[:middle], writer, budget, size, start=start)
            + _cut_line(pieces[middle:], writer, budget, size, start=False))


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [part for part in (text[:middle], text[middle:]) if part]


def _pack(units: list[tuple[str, str]], budget: int, size: Callable[[str], int]) -> list[list[tuple[str, str]]]:
    """Units into as few messages as fit ``budget`` each, in order."""
    groups: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for unit in units:
        if current and size(_join([*current, unit])) > budget:
            groups.append(current)
            current = []
        current.append(unit)
    if current:
        groups.append(current)
    return groups


def _join(units: list[tuple[str, str]]) -> str:
    return "".join((glue if n else "") + text for n, (glue, text) in enumerate(units))


def _buttons(reply: Reply) -> list[list[Button]]:
    if reply.buttons is None:
        return []
    return [row for row in reply.buttons.inline_keyboard if row]


def first_line(reply: Reply) -> str:
    """The reply's first line as plain text: what a card's title or a notice's preview shows."""
    for blocks in _page_blocks(reply):
        for block in blocks:
            if _plain(block).strip():
                return " ".join(_plain(block).split())
    return ""


def _cut(text: str, limit: int, size: Callable[[str], int] = utf8_size) -> str:
    """``text`` within ``limit``, an ellipsis where it was cut."""
    if size(text) <= limit:
        return text
    while text and size(text + "…") > limit:
        text = text[:-1]
    return text + "…"


# The platforms whose one-way group robots @ a person by mobile number: DingTalk's custom robot
# (``at.atMobiles``) and WeCom's group robot (``mentioned_mobile_list``). Feishu's custom bot cannot.
MENTION_CHANNELS = frozenset({"dingtalk", "wecom"})
# The most people one robot message @s. A unit's contacts are a handful; a whole bureau mapped by
# department may be hundreds, whose @s would outgrow DingTalk's message and refuse the notice itself.
# Past this the first bound are @'d and the notice still goes.
MOST_MENTIONS = 50

ONE_WAY_HINT = "此群机器人只发通知，不能在这里点按钮办理：请在督办助手网页版或与督办助手的对话中办理。"
BUTTONS_HINT = "点下面的按钮办理"  # on a card that holds only buttons
DEFAULT_TITLE = "督办助手"  # a title where the reply's first line cannot be one
MARKER_ROOM = 64  # bytes kept free in every message for its "（n/m）"


# --- DingTalk -----------------------------------------------------------------------------------

DINGTALK_TEXT_BYTES = 4000
DINGTALK_CARD_TEXT_BYTES = 2000
DINGTALK_TITLE_BYTES = 128
DINGTALK_CARD_BUTTONS = 5  # more than this go as tappable links in the text: a card's buttons stack on a phone
_DINGTALK = _Writer(newline="  \n", italic=True, code=False, fence=False)
# A tap on a button sends this text as the person's own message; the bot reads the data back.
_BUTTON_TEXT = re.compile(r"【按钮】[^\n]*（([\x21-\x7e]+)）")
_PLAIN_DATA = re.compile(r"[\x21-\x7e]+")


def button_text(button: Button) -> str:
    """What a tap on a DingTalk button sends: its label for the reader, its data for the bot."""
    data = button.callback_data
    token = data if _PLAIN_DATA.fullmatch(data) and not data.startswith("~") and "）" not in data \
        else "~" + quote(data, safe="")
    # No spaces: the link's text is encoded as a query value, where a space may come back as "+".
    label = "".join(button.text.split()).replace("）", ")")
    return f"【按钮】{label}（{token}）"


def button_from_text(text: str) -> str | None:
    """The callback_data a text sent by a DingTalk button carries; None for any other text."""
    match = _BUTTON_TEXT.fullmatch(text.strip())
    if match is None:
        return None
    token = match.group(1)
    return unquote(token[1:]) if token.startswith("~") else token


def dingtalk_link(button: Button) -> str:
    """The link a tap follows: the host in lower case and the text encoded as a query value, as
    DingTalk's client takes it (a capitalised host is silently ignored)."""
    return "dtmd://dingtalkclient/sendMessage?content=" + quote_plus(button_text(button))


def dingtalk_messages(reply: Reply, *, two_way: bool, title: str, mentions: Sequence[str] = ()) -> list[dict]:
    """DingTalk robot bodies: markdown pages; with buttons for a bot a person chats with, the last
    one an actionCard whose buttons send their data back (or, many buttons, links in the text).

    ``mentions``: mobile numbers a one-way robot @s, on the last page only (one reminder for the
    people, however many pages). DingTalk @s the numbers of its ``at.atMobiles`` on a text or a
    markdown message, and shows the @ in a markdown text only where the text itself says
    "@13800000000" (its custom-robot document); an actionCard takes no @."""
    rows = _buttons(reply)
    buttons = [button for row in rows for button in row]
    card = two_way and 0 < len(buttons) <= DINGTALK_CARD_BUTTONS
    if mentions and card:
        raise ValueError("a DingTalk actionCard cannot @ anyone")
    title = _cut(" ".join((title or first_line(reply) or DEFAULT_TITLE).split()), DINGTALK_TITLE_BYTES)
    budget = DINGTALK_TEXT_BYTES - MARKER_ROOM
    tail = _dingtalk_tail(rows, two_way=two_way, card=card)
    mentions = list(mentions)[:MOST_MENTIONS]
    if mentions:
        tail.append(("\n\n", " ".join(f"@{mobile}" for mobile in mentions)))
    groups = _groups(_page_blocks(reply), _DINGTALK, budget, utf8_size, tail,
                     unit_budget=(DINGTALK_CARD_TEXT_BYTES - MARKER_ROOM) // 2)  # the last page may be a card
    if card:  # an actionCard's text has the smaller limit
        last = groups.pop() if groups else [("", escape_markdown(title, line_start=True))]
        groups += _pack(last, DINGTALK_CARD_TEXT_BYTES - MARKER_ROOM, utf8_size)
    texts = _numbered([_join(group) for group in groups], "\n\n*（{n}/{m}）*")
    messages: list[dict] = [{"msgtype": "markdown", "markdown": {"title": title, "text": text}} for text in texts]
    if card:
        horizontal = len(rows) == 1 and len(buttons) <= 3
        messages[-1] = {"msgtype": "actionCard", "actionCard": {
            "title": title, "text": texts[-1], "btnOrientation": "1" if horizontal else "0",
            "btns": [{"title": button.text, "actionURL": dingtalk_link(button)} for button in buttons]}}
    if mentions:
        messages[-1]["at"] = {"atMobiles": list(mentions), "isAtAll": False}
    return messages


def _groups(pages: list[list[Block]], writer: _Writer, budget: int, size: Callable[[str], int],
            tail: list[tuple[str, str]], unit_budget: int | None = None) -> list[list[tuple[str, str]]]:
    """Every page cut to the budget, page by page (a page never shares a message with the next);
    ``tail`` follows the last page, or stands alone when there is no page. No line or table row is
    bigger than ``unit_budget`` (half the budget unless told), so that messages are well filled."""
    groups: list[list[tuple[str, str]]] = []
    for n, blocks in enumerate(pages or [[]]):
        units = _units(blocks, writer, unit_budget or budget // 2, size)
        if n == len(pages or [[]]) - 1:
            units += tail
        groups += _pack(units, budget, size)
    return groups


def _dingtalk_tail(rows: list[list[Button]], *, two_way: bool, card: bool) -> list[tuple[str, str]]:
    """What follows the last page: the hint for a one-way robot, or the buttons as links."""
    if not rows or card:
        return []
    if not two_way:
        return [("\n\n", _DINGTALK.line([Piece(ONE_WAY_HINT, italic=True)]))]
    links = []
    for row in rows:
        links.append("　".join(f"[{escape_markdown(button.text, line_start=False)}]({dingtalk_link(button)})"
                              for button in row))
    return [("\n\n" if n == 0 else _DINGTALK.newline, line) for n, line in enumerate(links)]


def _numbered(texts: list[str], marker: str) -> list[str]:
    if len(texts) <= 1:
        return texts
    return [text + marker.format(n=n, m=len(texts)) for n, text in enumerate(texts, start=1)]


# --- WeCom --------------------------------------------------------------------------------------

WECOM_TEXT_BYTES = 4096
WECOM_CARD_BUTTONS = 6
WECOM_KEY_BYTES = 1024
WECOM_TITLE_CHARS = 26  # the card's main title, as its document advises
_WECOM = _Writer(newline="\n", italic=False, code=True, fence=False)


# What the text message that @s people says: WeCom shows the @ of each after it.
WECOM_MENTION_TEXT = "请留意以上通知。"


def wecom_messages(reply: Reply, *, two_way: bool, mentions: Sequence[str] = ()) -> list[dict]:
    """WeCom bodies: markdown pages, then for a bot a person chats with a button card (or several,
    six buttons each) whose keys are the buttons' data.

    ``mentions``: mobile numbers a one-way group robot @s. WeCom's group robot takes
    ``mentioned_mobile_list`` on a text message only; a markdown message @s by ``<@userid>``, and a
    webhook knows no one's WeCom userid. So the pages stay markdown (a text message has half
    markdown's room and no emphasis) and one short text message after the last page carries the
    @s: one more message in the robot's twenty a minute, sent only when someone is @'d."""
    buttons = [button for row in _buttons(reply) for button in row]
    tail = []
    if buttons and not two_way:
        hint = escape_markdown(ONE_WAY_HINT, line_start=False)
        tail = [("\n\n", f'<font color="comment">{hint}</font>')]
    groups = _groups(_page_blocks(reply), _WECOM, WECOM_TEXT_BYTES - MARKER_ROOM, utf8_size, tail)
    texts = _numbered([_join(group) for group in groups if group],
                      '\n<font color="comment">（{n}/{m}）</font>')
    messages: list[dict] = [{"msgtype": "markdown", "markdown": {"content": text}} for text in texts]
    if two_way and buttons:
        messages += _wecom_cards(first_line(reply), buttons)
    if mentions:
        messages.append({"msgtype": "text", "text": {"content": WECOM_MENTION_TEXT,
                                                     "mentioned_mobile_list": list(mentions)[:MOST_MENTIONS]}})
    return messages


def _wecom_cards(title: str, buttons: list[Button]) -> list[dict]:
    unique = list({button.callback_data: button for button in buttons
                   if 0 < utf8_size(button.callback_data) <= WECOM_KEY_BYTES}.values())
    chunks = [unique[n:n + WECOM_CARD_BUTTONS] for n in range(0, len(unique), WECOM_CARD_BUTTONS)]
    cards = []
    for n, chunk in enumerate(chunks, start=1):
        main_title = {"title": _cut(title or DEFAULT_TITLE, WECOM_TITLE_CHARS, len)}
        if len(chunks) > 1:
            main_title["desc"] = f"（{n}/{len(chunks)}）"
        cards.append({"msgtype": "template_card", "template_card": {
            "card_type": "button_interaction",
            "main_title": main_title,
            "sub_title_text": BUTTONS_HINT,
            "button_list": [{"text": button.text, "style": 1, "key": button.callback_data} for button in chunk],
            "task_id": f"taskbot-{uuid.uuid4().hex}",
        }})
    return cards


# --- Feishu -------------------------------------------------------------------------------------

FEISHU_BODY_BYTES = 30 * 1024
FEISHU_ROOM = 2048  # the request's other fields and a margin
FEISHU_CARD_ROOM = 4096  # the card's header and config around its markdown
FEISHU_TITLE_CHARS = 60
FEISHU_DEFAULT_TITLE = DEFAULT_TITLE
_FEISHU = _Writer(newline="\n", italic=True, code=False, fence=True, escape=escape_feishu)


def feishu_content(message: dict) -> str:
    """A card message's ``content`` as the send-message call takes it (a JSON string)."""
    return json.dumps(message["card"], ensure_ascii=False)


def _feishu_size(message: dict) -> int:
    """The bytes the card takes in the request body, its JSON string escaped once more in it."""
    return utf8_size(json.dumps(feishu_content(message), ensure_ascii=False))


def feishu_messages(reply: Reply, *, two_way: bool) -> list[dict]:
    """Feishu interactive cards (JSON 1.0): a header, the page as markdown, and for a bot a person
    chats with the buttons, each row an action module whose buttons carry ``{"data": …}``.

    No @ by mobile number: Feishu's custom bot @s a person only by open_id or user_id (``<at>`` in
    the content), which a webhook cannot look up from a number; see MENTION_CHANNELS."""
    rows = _buttons(reply)
    pages = _page_blocks(reply)
    header = FEISHU_DEFAULT_TITLE
    rest = [block for blocks in pages for block in blocks][1:]
    if pages and isinstance(pages[0][0], list) and any(_plain(block).strip() for block in rest):
        first = " ".join(_plain(pages[0][0]).split())
        if 0 < len(first) <= FEISHU_TITLE_CHARS:  # the header shows the first line, the body the rest
            header = first
            pages[0] = pages[0][1:]
    tail = []
    if rows and not two_way:
        tail = [("\n\n", _FEISHU.line([Piece(ONE_WAY_HINT, italic=True)]))]
    budget = FEISHU_BODY_BYTES - FEISHU_ROOM - FEISHU_CARD_ROOM
    bodies = [_join(group) for group in _groups(pages, _FEISHU, budget, _feishu_text_size, tail)]
    bodies = [body for body in bodies if body.strip()]
    cards = [_feishu_card(header, [{"tag": "markdown", "content": body}]) for body in bodies]
    actions = [_feishu_row(row) for row in rows] if two_way else []
    if actions:
        if cards and _feishu_size(_feishu_card(header, cards[-1]["card"]["elements"] + actions)) \
                <= FEISHU_BODY_BYTES - FEISHU_ROOM:
            cards[-1]["card"]["elements"] += actions
        else:
            cards.append(_feishu_card(header, [{"tag": "markdown", "content": BUTTONS_HINT}, *actions]))
    if len(cards) > 1:
        for n, card in enumerate(cards, start=1):
            card["card"]["header"]["title"]["content"] = f"{header}（{n}/{len(cards)}）"
    return cards


def _feishu_text_size(text: str) -> int:
    """The bytes markdown takes in the request body: a JSON string in the card, the card a JSON
    string in the body."""
    return utf8_size(json.dumps(json.dumps(text, ensure_ascii=False), ensure_ascii=False))


def _feishu_card(title: str, elements: list[dict]) -> dict:
    return {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title},
                   "template": "red" if title.startswith("🔴") else "blue"},
        "elements": elements}}


def _feishu_row(row: list[Button]) -> dict:
    return {"tag": "action", "layout": "flow", "actions": [
        {"tag": "button", "text": {"tag": "plain_text", "content": button.text}, "type": "default",
         "value": {"data": button.callback_data}} for button in row]}
