"""The bot on a domestic platform's local double: DingTalk, WeCom or Feishu, two-way through the
platform's own SDK, as ``taskbot run`` serves it with the platform configured (bot/app.py
``serve_channels``), against a server on this machine that speaks the platform's protocol.

Used by ``taskbot run --channel dingtalk`` (the console plays the same personas as on Telegram) and
by the tests, which act as people through it: say, tap, send a file, read what the bot sent.
What the bot sent is read back as a person sees it (``Shown``): the words without the platform's
markdown, and the buttons with the data a tap sends back.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.channels import Channel
from bot.channels.renderers import button_from_text, button_text
from bot.channels.runtime import DomesticChannels, DomesticPlan, bind_robots
from bot.config import DomesticSettings
from bot.context import BotContext
from bot.render import Button
from bot.sandbox.runtime import settle
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Role
from tasks.work.lookup import unit_named
from tasks.work.members import create_invite

SANDBOX_ADMIN = Actor("沙盒", "cli")
TWO_WAY: tuple[Channel, ...] = ("dingtalk", "wecom", "feishu")
# An answer may be several messages: once as many as expected have come, this long without another
# means the answer is whole.
QUIET_SECONDS = 0.15


@dataclass(frozen=True)
class Shown:
    """One message the bot sent, as the person reads it."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, the data a tap sends back)

    def data_of(self, label: str) -> str:
        for text, data in self.buttons:
            if label in text:
                return data
        raise KeyError(f"no button {label!r} in {[text for text, _ in self.buttons]}")


_DTMD = re.compile(r"\[([^\]]*)\]\((dtmd://[^)\s]+)\)")
_MARKUP = re.compile(r"\*\*|__|(?<!\\)`|^#+ |^> ", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>~#+\-.!|(){}=])")
_REFERENCE = re.compile(r"&#(\d+);")


def plain(markdown: str) -> str:
    """Markdown as it reads on screen: the markers gone, escapes and character references resolved."""
    text = _MARKUP.sub("", markdown)
    text = _ESCAPED.sub(r"\1", text)
    return _REFERENCE.sub(lambda match: chr(int(match.group(1))), text).replace("&lt;", "<").replace(
        "&gt;", ">").replace("&amp;", "&")


def _dtmd_data(link: str) -> str | None:
    content = parse_qs(urlsplit(link).query).get("content", [""])[0]
    return button_from_text(content)


def shown_dingtalk(message: Any) -> Shown:
    param = message.msg_param
    text = str(param.get("text") or param.get("content") or "")
    buttons = [(label, data) for label, link in _DTMD.findall(text) if (data := _dtmd_data(link))]
    text = _DTMD.sub(lambda match: f"[{match.group(1)}]", text)
    for key, value in param.items():
        if re.fullmatch(r"(actionURL|buttonUrl)\d|singleURL", key):
            title_key = key.replace("actionURL", "actionTitle").replace("buttonUrl", "buttonTitle").replace(
                "singleURL", "singleTitle")
            if (data := _dtmd_data(str(value))) is not None:
                buttons.append((str(param.get(title_key, "")), data))
    return Shown(plain(text), buttons)


def shown_wecom(body: dict[str, Any]) -> Shown:
    if body.get("msgtype") == "markdown":
        return Shown(plain(body["markdown"]["content"]))
    card = body.get("template_card", {})
    words = [card.get("main_title", {}).get("title", ""), card.get("sub_title_text", "")]
    buttons = [(button.get("text", ""), button.get("key", "")) for button in card.get("button_list", [])]
    return Shown(plain("\n".join(word for word in words if word)), buttons)


def shown_feishu(message: dict[str, Any]) -> Shown:
    content = message["content"]
    if isinstance(content, str):
        content = json.loads(content)
    if message["msg_type"] == "text":
        return Shown(content.get("text", ""))
    card = content
    # The header is plain text, shown as written: "138****0000" there is no bold.
    header = card.get("header", {}).get("title", {}).get("content", "")
    words = []
    buttons = []
    for element in card.get("elements", []):
        if element.get("tag") == "markdown":
            words.append(element.get("content", ""))
        elif element.get("tag") == "div":
            words.append(element.get("text", {}).get("content", ""))
        for action in element.get("actions", []):
            buttons.append((action.get("text", {}).get("content", ""), str(action.get("value", {}).get("data", ""))))
    return Shown("\n".join([header, plain("\n".join(words))]) if words else header, buttons)


def merged(messages: list[Shown]) -> Shown:
    """Several messages read as one: a platform whose messages are shorter than Telegram's (or that
    sends buttons on a card of their own, as WeCom does) may carry one answer in several."""
    return Shown("\n".join(message.text for message in messages),
                 [button for message in messages for button in message.buttons])


class DomesticSandbox:
    """The bot serving one platform's app against that platform's double, in a thread of its own."""

    def __init__(self, ctx: BotContext, channel: Channel) -> None:
        if channel not in TWO_WAY:
            raise ValueError(f"{channel} has no two-way double")
        self.ctx = ctx
        self.channel = channel
        self.engine = ctx.engine
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{channel}-sandbox", daemon=True)
        self._thread.start()
        self.double: Any = None
        self._stopped: asyncio.Event | None = None
        self._serving: Any = None
        self.failure: BaseException | None = None
        self._run(self._start_double())
        settings = DomesticSettings(enabled=True, app_id=self._app_id, app_secret=self._app_secret)
        self.channels = DomesticChannels(ctx, [DomesticPlan(channel, settings, api_base=self._api_base)])

    # --- the double -------------------------------------------------------------------------

    async def _start_double(self) -> None:
        if self.channel == "dingtalk":
            from bot.sandbox.dingtalk_double import DingTalkDouble

            self.double = DingTalkDouble()
            await self.double.start_async()
            self._app_id, self._app_secret, self._api_base = (self.double.client_id, self.double.client_secret,
                                                              self.double.base_url)
        elif self.channel == "wecom":
            from bot.sandbox.wecom_double import WeComDouble, trust_double_certificate

            trust_double_certificate()
            self.double = WeComDouble()
            await self.double.start()
            self._app_id, self._app_secret, self._api_base = self.double.bot_id, self.double.secret, self.double.ws_url
        else:
            from bot.sandbox.feishu_double import FAST_CLIENT_CONFIG, FeishuDouble

            self.double = FeishuDouble(client_config=FAST_CLIENT_CONFIG)
            await self.double.start_async()
            self._app_id, self._app_secret, self._api_base = (self.double.app_id, self.double.app_secret,
                                                              self.double.base_url)

    def _run(self, work: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    # --- the bot ----------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> DomesticSandbox:
        from bot.app import serve_channels

        bind_robots(self.ctx, self.channels.plans)

        async def serve() -> None:
            self._stopped = asyncio.Event()
            try:
                await serve_channels(self.ctx, self.channels, stopped=self._stopped)
            except BaseException as error:  # said to the caller through self.failure
                self.failure = error

        self._serving = asyncio.run_coroutine_threadsafe(serve(), self._loop)
        deadline = time.monotonic() + timeout
        while not self._connected():
            if self.failure is not None or self._serving.done() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.channel} app did not connect: {self.failure!r}")
            time.sleep(0.02)
        return self

    def _connected(self) -> bool:
        double = self.double
        if self.channel == "dingtalk":
            return bool(double.connections)
        if self.channel == "wecom":
            return bool(double.connected and double.subscriptions)
        return bool(double.connected)

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._serving is not None:
            self._serving.result(60)
        stop = self.double.stop() if self.channel == "wecom" else self.double.stop_async()
        self._run(stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    # --- acting as people ---------------------------------------------------------------------

    def invite(self, role: Role, unit_name: str | None = None) -> str:
        with transaction(self.engine) as session:
            unit = unit_named(session, unit_name) if unit_name else None
            return create_invite(session, self.ctx.clock, SANDBOX_ADMIN, role, unit).code

    def person(self, user_ref: str, name: str) -> str:
        if self.channel in ("dingtalk", "feishu"):
            self.double.person(user_ref, name)
        return user_ref

    def group(self, group_id: str, title: str) -> str:
        if self.channel in ("dingtalk", "feishu"):
            self.double.group(group_id, title)
        return group_id

    def known(self, user_ref: str, group_id: str | None = None) -> None:
        """A person (and a group with the bot in it) the platform knows before they write: WeCom's
        double learns of people from what they write and refuses to send to anyone else, as WeCom
        refuses someone outside the robot's reach; the console's personas are in reach from the start."""
        if self.channel == "wecom":
            self.double.users.add(user_ref)
            if group_id is not None:
                self.double.groups.setdefault(group_id, set()).add(user_ref)

    def join(self, user_ref: str, name: str, role: Role, unit_name: str | None = None) -> str:
        """A person who binds with a fresh invite code, typed after 绑定 as they would."""
        self.person(user_ref, name)
        # With the name after the code: WeCom tells the bot a person's id, not their name.
        answer = self.say(user_ref, f"绑定 {self.invite(role, unit_name)} {name}")
        if "绑定成功" not in answer.text:
            raise RuntimeError(f"{name} could not bind: {answer.text}")
        return user_ref

    def messages(self, chat: str) -> list[Shown]:
        """Everything the bot sent to a person's chat (their id) or a group (its id), as read there."""
        if self.channel == "dingtalk":
            return [shown_dingtalk(push) for push in self.double.messages_to(chat)]
        if self.channel == "wecom":
            return [shown_wecom(body) for body in self.double.messages_to(chat)]
        return [shown_feishu(message) for message in self.double.messages_to(chat)]

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has delivered everything due, so that answers are not mixed with it."""
        settle(self.ctx, timeout)

    def wait_for(self, chat: str, after: int, count: int = 1, timeout: float = 10.0) -> list[Shown]:
        """The messages to ``chat`` after the first ``after``, once there are ``count`` and no more
        arrive for a moment (an answer may be several messages)."""
        deadline = time.monotonic() + timeout
        seen, quiet_since = -1, time.monotonic()
        while True:
            found = self.messages(chat)[after:]
            if len(found) != seen:
                seen, quiet_since = len(found), time.monotonic()
            if len(found) >= count and time.monotonic() - quiet_since > QUIET_SECONDS:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} messages to {chat} arrived")
            time.sleep(0.02)

    def _act(self, chat: str, act: Callable[[], Any], count: int) -> Shown:
        """Act, and the bot's answer read whole: a platform whose messages are shorter than
        Telegram's may carry one answer in several."""
        self.settle()
        before = len(self.messages(chat))
        act()
        return merged(self.wait_for(chat, before, count))

    def _call(self, work: Any) -> Any:
        """A double's way of acting as a person: called as it is, or run on the double's loop."""
        return self._run(work) if asyncio.iscoroutine(work) else work

    def write(self, user_ref: str, text: str, *, group: str | None = None) -> None:
        """Write as the person (in ``group``: @-ing the bot, the only words a bot in a group hears),
        without waiting for an answer."""
        double = self.double
        if self.channel == "dingtalk":
            double.person_says(user_ref, text, group=group, at_bot=group is not None)
        elif self.channel == "wecom":
            self._call(double.person_says(user_ref, text, chat=group, at_bot=group is not None))
        else:
            double.person_says(user_ref, text, chat=group, at_bot=group is not None)

    def press(self, user_ref: str, message: Shown, label: str, *, group: str | None = None) -> None:
        """Tap the button ``label`` on ``message`` as the platform carries a tap back to the bot,
        without waiting for an answer; KeyError when the message has no such button."""
        data = message.data_of(label)
        double = self.double
        if self.channel == "dingtalk":  # a link that makes the client send a text naming the button
            double.person_says(user_ref, button_text(Button(label, data)), group=group, at_bot=group is not None)
        elif self.channel == "wecom":
            self._call(double.person_taps(user_ref, data, f"task-{time.monotonic_ns()}", chat=group))
        else:
            double.person_taps(user_ref, {"data": data}, chat=group)

    def upload(self, user_ref: str, name: str, data: bytes, *, group: str | None = None,
               picture: bool = False) -> None:
        """Send a file (or, with ``picture``, a photo) as the person, without waiting for an answer."""
        double = self.double
        if self.channel == "dingtalk":
            if picture:
                double.person_sends_picture(user_ref, data, group=group, at_bot=group is not None)
            else:
                double.person_sends_file(user_ref, name, data, group=group, at_bot=group is not None)
        elif self.channel == "wecom":
            self._call(double.person_sends_file(user_ref, data, name, kind="image" if picture else "file",
                                                chat=group))
        else:
            double.person_sends_file(user_ref, data, name, kind="image" if picture else "file", chat=group)

    def say(self, user_ref: str, text: str, *, group: str | None = None, pages: int = 1) -> Shown:
        """Write as the person (in ``group``: @-ing the bot) and return the bot's (last) answer there."""
        return self._act(group or user_ref, lambda: self.write(user_ref, text, group=group), pages)

    def tap(self, user_ref: str, message: Shown, label: str, *, group: str | None = None) -> Shown:
        """Tap the button ``label`` on ``message`` as the platform carries a tap back to the bot."""
        message.data_of(label)  # no such button: said before anything is sent
        return self._act(group or user_ref, lambda: self.press(user_ref, message, label, group=group), 1)

    def send_file(self, user_ref: str, name: str, data: bytes, *, group: str | None = None) -> Shown:
        return self._act(group or user_ref, lambda: self.upload(user_ref, name, data, group=group), 1)
