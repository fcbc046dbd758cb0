"""沙盒: try the bot in a browser, as one of the local sandbox's personas.

Only when the desk runs beside the local sandbox (``taskbot run`` without a token): each persona's chat
on the local Bot API server is a page — what was said in it both ways, the bot's buttons as forms, the
pictures and files it sent — and a text box and a photo upload speak as the persona. The terminal
sandbox goes on working beside it: both act on the same server.

The pages are public (a local try-out, no one is logged in), so the frame checks no CSRF token here:
these handlers do, with a double-submit token — a random HttpOnly, SameSite=Strict cookie that every
form repeats in a hidden field.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from aiohttp import web
from markupsafe import Markup, escape

from bot.web.desk import CSRF_FIELD, STALE_FORM, RefusedError, SandboxDesk, Visit, page, whole_number
from tasks.work.members import ROLE_NAMES

CSRF_COOKIE = "taskbot_sandbox_csrf"
NO_SANDBOX = "沙盒页面只在本地沙盒运行时提供：不设置 TASKBOT_TOKEN 运行 taskbot run 即可试用。"
NO_PERSONA = "没有这个身份：请从沙盒页面的身份列表中选择。"
ANSWER_WAIT_SECONDS = 3.0  # the longest a send waits for the bot's answer before showing the chat again
QUIET_SECONDS = 0.3  # once the bot has answered, how long nothing more must come before the page is shown
SHOWN_MESSAGES = 60  # the latest messages of a chat shown; the bot's menus stay near the bottom
WITHHELD = ("机器人没有收到这句话（Telegram 的隐私模式：群里机器人只收到命令、对它消息的回复）。"
            "请用命令，如 /mytasks，或点机器人消息下的“回复”。")
PHOTO_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
URL = re.compile(r"https?://[^\s<>\"'，。；）]+")


# --- the sandbox, its personas and their chats ----------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One persona as the page shows it: its number (from 1), the persona, and where it speaks."""

    number: int
    persona: Any  # bot.sandbox.console.Persona
    chat_title: str

    @property
    def name(self) -> str:
        return str(self.persona.name)

    @property
    def role(self) -> str:
        return ROLE_NAMES.get(self.persona.role, str(self.persona.role))

    @property
    def unit(self) -> str:
        return str(self.persona.unit or "")

    @property
    def chat(self) -> int:
        return int(self.persona.chat)

    @property
    def in_group(self) -> bool:
        return self.persona.group is not None


def _sandbox(visit: Visit) -> SandboxDesk:
    if visit.desk.sandbox is None:
        raise RefusedError(404, NO_SANDBOX)
    return visit.desk.sandbox


def _seats(sandbox: SandboxDesk) -> list[Seat]:
    chats = sandbox.server.state.chats
    seats = []
    for number, persona in enumerate(sandbox.personas, start=1):
        title = (chats.get(persona.group) or {}).get("title", "单位工作群") if persona.group is not None else "私聊"
        seats.append(Seat(number, persona, title))
    return seats


def _seat(visit: Visit) -> tuple[SandboxDesk, Seat]:
    sandbox = _sandbox(visit)
    seats = _seats(sandbox)
    number = visit.request.match_info["n"]
    if not 1 <= (whole_number(number) or 0) <= len(seats):
        raise RefusedError(404, NO_PERSONA)
    return sandbox, seats[int(number) - 1]


def _person(sandbox: SandboxDesk, seat: Seat) -> Any:
    """The persona as the server's person (the console bound it before the bot started). In the unit's
    group it is the same person as in private, under their own name, as bind_group gives it."""
    server = sandbox.server
    own_chat = server.state.chats.get(seat.persona.user_id) or {}
    return server.person(seat.persona.user_id, own_chat.get("first_name", seat.name))


def _chat_messages(server: Any, chat: int) -> list[dict[str, Any]]:
    """Everything said in the chat, both ways, oldest first. ``server.messages`` has only the bot's;
    the server keeps the people's beside them (as a group's members see them). Copied at once: the
    server's threads add to it meanwhile."""
    stored = dict(server.state.messages.get(chat) or {})
    return [stored[number] for number in sorted(stored)]


def _fingerprint(server: Any, chat: int) -> tuple[Any, ...]:
    """What the viewer would see change: a new message, or the bot editing one (a menu after a tap)."""
    return (tuple((m["message_id"], m.get("edit_date"), m.get("html") or m.get("text")) for m in
                  _chat_messages(server, chat)), len(server.state.callback_answers))


async def _await_answer(server: Any, chat: int, before: tuple[Any, ...]) -> None:
    """Until the bot has answered and then been quiet a moment, or the wait's ceiling."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    last, quiet_since = before, None
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = _fingerprint(server, chat)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif quiet_since is not None and time.monotonic() - quiet_since >= QUIET_SECONDS:
            return


# --- Telegram's HTML, shown safely ----------------------------------------------------------------


# Telegram's tags, each as this page writes it; any other tag is dropped (its words kept, as text).
TELEGRAM_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
                 "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote", "a": "a"}


class _TelegramHtml(HTMLParser):
    """Telegram's few tags kept (no attribute but a link's http(s) address), everything else as text;
    web addresses in plain text become links, as a chat app shows them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = TELEGRAM_TAGS.get(tag)
        if kept is None:
            return
        if kept == "a":
            href = dict(attrs).get("href") or ""
            if not re.match(r"https?://", href):
                return
            self.out.append(f'<a href="{escape(href)}" rel="noopener noreferrer">')
        else:
            self.out.append(f"<{kept}>")
        self.open.append(kept)

    def handle_endtag(self, tag: str) -> None:
        kept = TELEGRAM_TAGS.get(tag)
        if kept is not None and kept in self.open:
            while self.open:
                closing = self.open.pop()
                self.out.append(f"</{closing}>")
                if closing == kept:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(data)) if "a" in self.open else _linked(data))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def _linked(text: str) -> str:
    """Plain text escaped, its web addresses made links (the login link the bot sends for 网页)."""
    pieces, position = [], 0
    for match in URL.finditer(text):
        pieces.append(str(escape(text[position:match.start()])))
        url = escape(match.group(0))
        pieces.append(f'<a href="{url}" rel="noopener noreferrer">{url}</a>')
        position = match.end()
    pieces.append(str(escape(text[position:])))
    return "".join(pieces)


def telegram_html(message: dict[str, Any]) -> Markup:
    """A message's words as the chat shows them: the bot's HTML through the filter above, anything
    else (a person's words, a caption) as plain text. Line breaks are kept by the stylesheet."""
    if message.get("html"):
        parser = _TelegramHtml()
        parser.feed(str(message["html"]))
        return Markup(parser.result())  # built only from escaped text and the tags named in TELEGRAM_TAGS
    return Markup(_linked(str(message.get("text") or message.get("caption") or "")))


@dataclass(frozen=True)
class Shown:
    """One message of the chat, ready for the template."""

    id: int
    from_bot: bool
    sender: str
    words: Markup
    photo: str  # the file's id, or ""
    document: dict[str, Any] | None
    buttons: list[list[dict[str, Any]]]  # rows of {"row", "col", "text", "url"}
    edited: bool


def _shown(message: dict[str, Any]) -> Shown:
    sender = message.get("from") or {}
    photo = (message.get("photo") or [{}])[-1].get("file_id", "")
    rows = []
    for r, row in enumerate((message.get("reply_markup") or {}).get("inline_keyboard", [])):
        rows.append([{"row": r, "col": c, "text": button.get("text", ""),
                      "url": button.get("url", "") if re.match(r"https?://", button.get("url") or "") else ""}
                     for c, button in enumerate(row)])
    return Shown(int(message["message_id"]), bool(sender.get("is_bot")), str(sender.get("first_name", "")),
                 telegram_html(message), photo, message.get("document"), rows, bool(message.get("edit_date")))


# --- the double-submit CSRF token -----------------------------------------------------------------


def _token(visit: Visit) -> tuple[str, bool]:
    """The visitor's token, and whether it is new (to be set as the cookie)."""
    token = visit.request.cookies.get(CSRF_COOKIE, "")
    if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", token):
        return token, False
    return secrets.token_urlsafe(32), True


def _with_token(response: web.Response, token: str, new: bool) -> web.Response:
    if new:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/sandbox")
    return response


def _check_token(visit: Visit) -> None:
    cookie = visit.request.cookies.get(CSRF_COOKIE, "")
    sent = visit.form(CSRF_FIELD)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise RefusedError(403, STALE_FORM)


# --- the pages ------------------------------------------------------------------------------------


def _clock_text(visit: Visit) -> str:
    return f"{visit.ctx.clock.now().astimezone(visit.ctx.timezone):%Y-%m-%d %H:%M}"


@page("GET", "/sandbox", public=True)
async def personas(visit: Visit) -> web.StreamResponse:
    sandbox = _sandbox(visit)
    token, new = _token(visit)
    return _with_token(visit.render("sandbox.html", seats=_seats(sandbox), clock=_clock_text(visit)), token, new)


@page("GET", "/sandbox/{n}", public=True)
async def chat(visit: Visit) -> web.StreamResponse:
    sandbox, seat = _seat(visit)
    token, new = _token(visit)
    messages = _chat_messages(sandbox.server, seat.chat)
    shown = [_shown(message) for message in messages[-SHOWN_MESSAGES:]]
    reply_to = visit.query("reply")
    replying = next((m for m in shown if str(m.id) == reply_to and m.from_bot), None) if seat.in_group else None
    return _with_token(visit.render("sandbox_chat.html", seat=seat, seats=_seats(sandbox), messages=shown,
                                    earlier=max(0, len(messages) - SHOWN_MESSAGES), clock=_clock_text(visit),
                                    csrf=token, replying=replying,
                                    version=_version(_fingerprint(sandbox.server, seat.chat))),
                       token, new)


def _version(fingerprint: tuple[Any, ...]) -> str:
    return f"{hash(fingerprint) & 0xFFFFFFFF:08x}"


@page("GET", "/sandbox/{n}/version", public=True)
async def chat_version(visit: Visit) -> web.StreamResponse:
    """What the chat page's script compares, to show a notification that came meanwhile."""
    sandbox, seat = _seat(visit)
    return web.Response(text=_version(_fingerprint(sandbox.server, seat.chat)), content_type="text/plain",
                        headers={"Cache-Control": "no-store"})


@page("POST", "/sandbox/{n}/say", public=True)
async def say(visit: Visit) -> web.StreamResponse:
    sandbox, seat = _seat(visit)  # no sandbox: 404 before anything else
    _check_token(visit)
    text = visit.form("text")
    if not text:
        return _back(visit, seat, "请输入要发送的文字。")
    server = sandbox.server
    reply_to = None
    reply_number = whole_number(visit.form("reply_to"))
    if seat.in_group and reply_number is not None:
        reply_to = (server.state.messages.get(seat.chat) or {}).get(reply_number)
    before = _fingerprint(server, seat.chat)
    sent = server.send_text(_person(sandbox, seat), text, chat_id=seat.persona.group, reply_to=reply_to)
    return await _shown_after(visit, seat, before, sent is not None)


@page("POST", "/sandbox/{n}/photo", public=True)
async def photo(visit: Visit) -> web.StreamResponse:
    sandbox, seat = _seat(visit)  # no sandbox: 404 before anything else
    _check_token(visit)
    upload = visit.form_data.get("photo")
    data = upload.file.read() if isinstance(upload, web.FileField) else b""
    if not data:
        return _back(visit, seat, "请先选择一张照片。")
    server = sandbox.server
    before = _fingerprint(server, seat.chat)
    sent = server.send_photo(_person(sandbox, seat), data, caption=visit.form("caption"), chat_id=seat.persona.group)
    return await _shown_after(visit, seat, before, sent is not None)


@page("POST", "/sandbox/{n}/tap", public=True)
async def tap(visit: Visit) -> web.StreamResponse:
    """A button of the bot's message, named by its place on the keyboard (never by data the form
    sends: only what the bot put on the message can be tapped)."""
    sandbox, seat = _seat(visit)  # no sandbox: 404 before anything else
    _check_token(visit)
    server = sandbox.server
    message_id, row, col = (visit.form(name) for name in ("message", "row", "col"))
    message_number, row_number, col_number = whole_number(message_id), whole_number(row), whole_number(col)
    message = ((server.state.messages.get(seat.chat) or {}).get(message_number)
               if message_number is not None else None)
    keyboard = (message or {}).get("reply_markup") or {}
    rows = keyboard.get("inline_keyboard", [])
    button = (rows[row_number][col_number] if row_number is not None and col_number is not None
              and row_number < len(rows) and col_number < len(rows[row_number]) else None)
    if message is None or button is None or not button.get("callback_data"):
        return _back(visit, seat, "这个按钮已经不在了（消息已更新），请看最新的消息。")
    before = _fingerprint(server, seat.chat)
    answers = len(server.state.callback_answers)
    server.tap_data(_person(sandbox, seat), message, str(button["callback_data"]))
    await _await_answer(server, seat.chat, before)
    # A tap may be answered with a short note (Telegram shows it over the chat for a moment).
    notes = [str(answer.get("text")) for answer in server.state.callback_answers[answers:] if answer.get("text")]
    return _back(visit, seat, "；".join(notes))


async def _shown_after(visit: Visit, seat: Seat, before: tuple[Any, ...], reached: bool) -> web.StreamResponse:
    if not reached:
        return _back(visit, seat, WITHHELD)
    await _await_answer(_sandbox(visit).server, seat.chat, before)
    return _back(visit, seat)


def _back(visit: Visit, seat: Seat, notice: str = "") -> web.StreamResponse:
    """See the chat again (303), at its latest message, with a line saying what happened."""
    return visit.back_to(f"/sandbox/{seat.number}", notice, anchor="latest")


@page("GET", "/sandbox/file/{file_id}", public=True)
async def file(visit: Visit) -> web.StreamResponse:
    """A picture or file sent in a sandbox chat. Only pictures are shown in the page; anything else is
    downloaded, never rendered as a page of ours."""
    sandbox = _sandbox(visit)
    stored = sandbox.server.state.files.get(visit.request.match_info["file_id"])
    if stored is None:
        raise RefusedError(404, "没有这个文件。")
    data, name, mime = stored
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if mime in PHOTO_TYPES:
        return web.Response(body=data, content_type=mime, headers=headers)
    quoted = re.sub(r'[^\w.\-]', "_", name, flags=re.ASCII) or "file"
    headers["Content-Disposition"] = f"attachment; filename=\"{quoted}\"; filename*=UTF-8''{quote(name, safe='')}"
    return web.Response(body=data, content_type="application/octet-stream", headers=headers)


