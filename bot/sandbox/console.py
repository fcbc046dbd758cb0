"""A terminal where you type as a persona and see what the bot sends, over the local Bot API server
(Telegram) or, with ``taskbot run --channel dingtalk|wecom|feishu``, over that platform's local double.

    [商务局·王科长]> 我的任务
    :as 3            switch persona (number or part of the name)
    :tap 5 办结      tap a button on message 5
    :reply 5 文字    reply to message 5 (in a group, what the bot hears besides commands)
    :photo #12 现场照片     send a photo (with a caption)
    :file 合同.pdf #12 合同  send a file
    :wait 2h         move the sandbox clock on (30m, 2h, 3d), then see what falls due
    :at 2021-11-04 09:00     set the sandbox clock to that moment (forward only)
    :privacy off     BotFather's /setprivacy: off, the bot hears a group's plain words too
    :time  :who  :help  :quit

One persona speaks in a unit's group chat: while privacy mode is on (Telegram's default) the
local server keeps its plain words from the bot, as Telegram does, and the console says so.
Messages the bot sends to any persona are shown as they arrive, numbered for :tap.
The sandbox clock runs at real speed from its start (--now) and from every jump.
A script on stdin ends only once the notifications it made due have been sent and shown.

The commands, personas and clock are the same on every platform; what differs (how a persona
writes, taps and sends a file, how the bot's messages are read) is a ``Platform``. On a domestic
platform the group persona's every line @s the bot (a bot there hears nothing else in a group),
and :privacy and :reply, Telegram's own, are said to be so.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.channels import GROUP, PERSON
from bot.sandbox.runtime import SANDBOX_ADMIN, SandboxRuntime
from bot.sandbox.server import Person
from bot.scheduler import plan_once
from tasks import outbox
from tasks.db import transaction
from tasks.models import Role
from tasks.work.lookup import unit_named
from tasks.work.members import ROLE_NAMES, create_invite, find_member, has_member_row, redeem_invite

if TYPE_CHECKING:
    from bot.context import BotContext
    from bot.sandbox.domestic import DomesticSandbox, Shown

log = logging.getLogger(__name__)
QUIET_SECONDS = 0.4
MAX_WAIT_SECONDS = 5.0
SETTLE_SECONDS = 60.0  # the longest a jump or the end of a script waits for what fell due to go out
WAIT_UNITS = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "分钟": timedelta(minutes=1),
              "h": timedelta(hours=1), "小时": timedelta(hours=1), "d": timedelta(days=1), "天": timedelta(days=1)}


@dataclass(frozen=True)
class Persona:
    user_id: int
    name: str
    role: Role
    unit: str | None = None
    group: int | None = None  # the unit's group chat this persona speaks in; None: a private chat

    @property
    def chat(self) -> int:
        return self.group if self.group is not None else self.user_id


UNIT_GROUP, UNIT_GROUP_TITLE = -1001002, "区农业农村局工作群"
PERSONAS = (
    Persona(1001, "商务局·王科长", Role.MEMBER, "区商务局"),
    Persona(1002, "农业农村局·李科长", Role.MEMBER, "区农业农村局"),
    Persona(1003, "督办办·赵主任", Role.OFFICE),
    Persona(1004, "刘副区长", Role.LEADER),
    # The same person as the second, in the unit's group: what works in a group is not what works in private.
    Persona(1002, "农业农村局工作群·李科长", Role.MEMBER, "区农业农村局", UNIT_GROUP),
)
HELP = """  直接输入文字                 以当前身份发给机器人
  :as 3                        切换身份（编号或名称的一部分；:who 列出全部）
  :tap 5 办结                  点第 5 条消息上的“办结”按钮
  :reply 5 文字                回复第 5 条消息（在群里，机器人除命令外只收到对它消息的回复）
  :photo #12 现场照片          发送照片，说明写任务编号
  :file 合同.pdf #12 合同      发送文件，说明写任务编号
  :privacy off                 关闭隐私模式（BotFather 的 /setprivacy），机器人也收到群里的文字；:privacy on 恢复
  :wait 2h                     沙盒时钟前进（30m 分钟、2h 小时、3d 天），随即发出到期的提醒
  :at 2021-11-04 09:00         沙盒时钟跳到该时刻（只能向后）
  :time                        显示沙盒时间
  :who                         列出内置身份
  :help                        显示本帮助
  :quit                        退出"""
WITHHELD = ("（Telegram 的隐私模式：机器人收不到群里的这句话。群里请用命令，如 /mytasks，或用 :reply 回复机器人的消息；"
            ":privacy off 关闭隐私模式。）")


TELEGRAM_ONLY = "{command} 是 Telegram 的功能，{platform}上没有：{why}"
TELEGRAM_ONLY_WHY = {":privacy": "这里机器人在群里只收到 @ 它的话，控制台已替群里的身份 @ 机器人。",
                     ":reply": "直接输入文字即可，群里的身份说的每句话都会 @ 机器人。"}
PLATFORM_NAMES = {"telegram": "Telegram", "dingtalk": "钉钉", "wecom": "企业微信", "feishu": "飞书"}
PHOTO, DOCUMENT = b"\xff\xd8sandbox-photo", b"%PDF-1.4 sandbox"
NO_CAPTION = ("（{platform}的文件消息不带说明文字，说明没有发出：要说明是哪项任务，先点任务卡片上的“报进展”或“办结”，"
              "再发文件。）")
# The same commands without Telegram's own (a domestic platform has no privacy mode, and a bot there
# hears a group's words when @-ed), and files without captions, which those platforms do not carry.
DOMESTIC_LINES = {":photo": "  :photo                       发送照片（先点任务卡片上的“报进展”或“办结”，再发）",
                  ":file": "  :file 合同.pdf               发送文件（同上）"}
DOMESTIC_HELP = "\n".join(DOMESTIC_LINES.get(line.split()[0], line) for line in HELP.splitlines()
                          if line.split()[0] not in TELEGRAM_ONLY_WHY)


class Platform:
    """Where the console's personas speak: how a persona writes, taps and sends a file, and how the
    bot's messages to them are read. The console's commands, personas and clock are the same on all."""

    channel = "telegram"
    captions = True  # whether a file carries words with it (the task it is for)
    ctx: BotContext
    started: str  # the line said once the bot runs: which platform, and that it is this machine's double

    def bind(self, persona: Persona) -> None:
        """The persona's chat, bound (once, as an invite code binds it) before the bot starts."""
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def settle(self, timeout: float) -> None:
        raise NotImplementedError

    def messages(self, persona: Persona) -> list[Any]:
        """What the bot has sent to the persona's chat, oldest first."""
        raise NotImplementedError

    def render(self, message: Any, files: Path | None) -> tuple[str, list[str]]:
        """A message's words (with what was done with a file it carried) and its buttons' labels."""
        raise NotImplementedError

    def say(self, persona: Persona, text: str) -> str | None:
        """Send the persona's words; what to tell the person at the terminal when the bot never hears them."""
        raise NotImplementedError

    def send_file(self, persona: Persona, name: str, caption: str, *, photo: bool) -> str | None:
        raise NotImplementedError

    def tap(self, persona: Persona, message: Any, label: str) -> None:
        """Tap a button; LookupError when the message has none so labelled."""
        raise NotImplementedError

    def release_leases(self) -> int:
        """Free the claims an earlier run left on its notifications: this run's double is the only
        one the bot sends to, so every claim found before it starts is stale."""
        with transaction(self.ctx.engine) as session:
            return outbox.release_leases(session)

    def plan(self) -> None:
        """One planner pass now, as the scheduler's next tick would make it (after a jump of the clock)."""
        ctx = self.ctx
        if ctx.policy is not None and ctx.calendar is not None:
            plan_once(ctx, ctx.policy, ctx.calendar)


class TelegramPlatform(Platform):
    """The local Bot API server: private chats, and a group whose plain words privacy mode keeps from the bot."""

    started = "本地沙盒已启动：机器人连接的是本机的 Bot API 模拟服务器，不连接 Telegram。"

    def __init__(self, runtime: SandboxRuntime) -> None:
        self.runtime = runtime
        self.ctx = runtime.ctx
        self.server = runtime.server
        self.people: dict[int, Person] = {}

    def bind(self, persona: Persona) -> None:
        if persona.group is None:
            person, _new = self.runtime.bind(persona.user_id, persona.name, persona.role, persona.unit)
        else:
            person = self.runtime.bind_group(persona.group, UNIT_GROUP_TITLE, persona.unit or "", persona.user_id)
        self.people[persona.chat] = person

    def start(self) -> None:
        self.runtime.start()

    def stop(self) -> None:
        self.runtime.stop()

    def settle(self, timeout: float) -> None:
        self.runtime.settle(timeout)

    def messages(self, persona: Persona) -> list[Any]:
        return self.server.messages(persona.chat)

    def render(self, message: dict[str, Any], files: Path | None) -> tuple[str, list[str]]:
        saved = self._save_file(message, files)
        words = message.get("text") or message.get("caption")
        text = (words + "\n" + saved if saved else words) if words else saved or "（文件）"
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return text, [button["text"] for row in rows for button in row]

    def _save_file(self, message: dict[str, Any], files: Path | None) -> str | None:
        """A picture or a file the bot sent, saved where a person can open it; what to print about it."""
        media = message.get("document") or (message.get("photo") or [None])[-1]
        if media is None:
            return None
        data, name, _mime = self.server.state.files[media["file_id"]]
        kind = "图片" if "photo" in message else "文件"
        if files is None:
            return f"（{kind}：{name}，{len(data) // 1024 + 1} KB）"
        files.mkdir(parents=True, exist_ok=True)
        path = files / Path(name).name
        path.write_bytes(data)
        return f"（{kind}：{name}，已保存到 {path}）"

    def say(self, persona: Persona, text: str) -> str | None:
        sent = self.server.send_text(self.people[persona.chat], text, chat_id=persona.group)
        return WITHHELD if sent is None else None

    def send_file(self, persona: Persona, name: str, caption: str, *, photo: bool) -> str | None:
        person = self.people[persona.chat]
        if photo:
            sent = self.server.send_photo(person, PHOTO, caption=caption, chat_id=persona.group)
        else:
            sent = self.server.send_document(person, DOCUMENT, name, "application/octet-stream", caption=caption,
                                             chat_id=persona.group)
        return WITHHELD if sent is None else None

    def tap(self, persona: Persona, message: dict[str, Any], label: str) -> None:
        self.server.tap(self.people[persona.chat], message, label)

    def reply(self, persona: Persona, message: dict[str, Any], text: str) -> str | None:
        sent = self.server.send_text(self.people[persona.chat], text, chat_id=persona.group, reply_to=message)
        return WITHHELD if sent is None else None

    def privacy(self, setting: str) -> str:
        if setting not in ("on", "off"):
            state = "开启" if self.server.state.privacy else "关闭"
            return f"隐私模式现在{state}。用法：:privacy off（关闭）或 :privacy on（开启）。"
        self.server.set_privacy(setting == "on")
        if setting == "on":
            return "隐私模式已开启（Telegram 的默认）：群里机器人只收到命令、对它消息的回复和按钮。"
        return "隐私模式已关闭：机器人收到群里所有的话（真实的 Telegram 上还要把机器人移出群再重新拉入）。"


class DomesticPlatform(Platform):
    """A domestic platform's local double, the bot served against it through the platform's own SDK.
    A bot in a group hears only the words that @ it: the group persona's every line @s the bot."""

    captions = False

    def __init__(self, sandbox: DomesticSandbox) -> None:
        self.sandbox = sandbox
        self.ctx = sandbox.ctx
        self.channel = sandbox.channel
        self.started = f"沙盒：{PLATFORM_NAMES[self.channel]}（本机模拟服务器，经官方 SDK 连接），不连接真实平台。"

    @staticmethod
    def user_ref(persona: Persona) -> str:
        return f"u{persona.user_id}"

    @staticmethod
    def group_ref(persona: Persona) -> str | None:
        return None if persona.group is None else f"g{abs(persona.group)}"

    def _chat(self, persona: Persona) -> str:
        return self.group_ref(persona) or self.user_ref(persona)

    def bind(self, persona: Persona) -> None:
        user_ref, group = self.user_ref(persona), self.group_ref(persona)
        self.sandbox.person(user_ref, persona.name)
        if group is not None:
            self.sandbox.group(group, UNIT_GROUP_TITLE)
        self.sandbox.known(user_ref, group)
        with transaction(self.ctx.engine) as session:
            if group is None:
                if has_member_row(session, self.channel, user_ref):
                    return
            elif find_member(session, self.channel, "", GROUP + group, is_group=True) is not None:
                return
            unit = unit_named(session, persona.unit) if persona.unit else None
            code = create_invite(session, self.ctx.clock, SANDBOX_ADMIN, persona.role, unit).code
            redeem_invite(session, self.ctx.clock, code, channel=self.channel, user_id=user_ref,
                          address=GROUP + group if group else PERSON + user_ref,
                          name=UNIT_GROUP_TITLE if group else persona.name, is_group=group is not None)

    def start(self) -> None:
        self.sandbox.start()

    def stop(self) -> None:
        self.sandbox.stop()

    def settle(self, timeout: float) -> None:
        self.sandbox.settle(timeout)

    def messages(self, persona: Persona) -> list[Any]:
        return self.sandbox.messages(self._chat(persona))

    def render(self, message: Shown, files: Path | None) -> tuple[str, list[str]]:
        # Markdown's line breaks (two spaces before the end of a line) are not for the reader.
        text = "\n".join(line.rstrip() for line in message.text.splitlines())
        return text or "（文件）", [label for label, _data in message.buttons]

    def say(self, persona: Persona, text: str) -> str | None:
        self.sandbox.write(self.user_ref(persona), text, group=self.group_ref(persona))
        return None

    def send_file(self, persona: Persona, name: str, caption: str, *, photo: bool) -> str | None:
        self.sandbox.upload(self.user_ref(persona), "现场照片.jpg" if photo else name, PHOTO if photo else DOCUMENT,
                            group=self.group_ref(persona), picture=photo)
        return None

    def tap(self, persona: Persona, message: Shown, label: str) -> None:
        self.sandbox.press(self.user_ref(persona), message, label, group=self.group_ref(persona))


class Console:
    def __init__(self, platform: Platform, output: TextIO, files: Path | None = None) -> None:
        self.platform = platform
        self.ctx = platform.ctx
        self.out = output
        self.files = files  # where the pictures and files the bot sends are saved, to be opened
        self.people: list[Persona] = []
        self.shown: list[tuple[Persona, Any]] = []  # every bot message printed (numbered from 1), and to whom
        self.seen: dict[int, int] = {}
        self.current = 0

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def bind_personas(self) -> None:
        """Give each persona a chat on the double and bind it with an invite code on first use
        (later runs find them bound already). Done before the bot starts: the planner's first
        pass must find the personas bound and their chats there, or the clock's first messages
        go to nobody or are dead-lettered as "chat not found"."""
        for persona in PERSONAS:
            self.platform.bind(persona)
            self.people.append(persona)
            self.seen[persona.chat] = len(self.platform.messages(persona))

    @property
    def clock_text(self) -> str:
        return f"{self.ctx.clock.now().astimezone(self.ctx.timezone):%Y-%m-%d %H:%M}"

    def catch_up(self) -> None:
        """Plan what is due now, wait until it has been sent, and show it."""
        try:
            self.platform.plan()
        except Exception as error:  # the scheduler's next tick tries again; the session goes on
            log.exception("sandbox planner pass failed")
            self.print(f"本次提醒检查没有完成（{type(error).__name__}），机器人会在下一分钟自动重试。")
        try:
            self.platform.settle(SETTLE_SECONDS)
        except TimeoutError as error:
            self.print(f"还有通知没有发出（{error}），可以稍后再看。")
        self.show_new(wait=False)

    def jump(self, args: str, *, to: bool) -> None:
        clock, zone = self.ctx.clock, self.ctx.timezone
        now = clock.now()
        if to:
            try:
                moment = datetime.fromisoformat(args.strip())
            except ValueError:
                self.print("用法：:at 2021-11-04 09:00（日期和时间），沙盒时间没有改变。")
                return
            if len(args.strip()) <= 10:  # a date alone: its sending hour, as --now
                moment = moment.replace(hour=9)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        else:
            match = re.fullmatch(r"(\d{1,4})\s*(m|min|分钟|h|小时|d|天)", args.strip())
            if not match:
                self.print("用法：:wait 2h（或 30m、3d），沙盒时间没有改变。")
                return
            moment = now + int(match[1]) * WAIT_UNITS[match[2]]
        if moment < now:
            self.print(f"沙盒时间只能向后调（现在是 {self.clock_text}），没有改变。")
            return
        clock.set(moment)  # type: ignore[attr-defined]  # the sandbox's clock (ShiftedClock) can jump
        self.print(f"沙盒时间：{self.clock_text}")
        self.catch_up()

    def who(self) -> None:
        for number, persona in enumerate(self.people, start=1):
            unit = f"，{persona.unit}" if persona.unit else ""
            where = f"，在{UNIT_GROUP_TITLE}里发言" if persona.group is not None else ""
            mark = "→" if number - 1 == self.current else " "
            self.print(f"{mark} {number}. {persona.name}（{ROLE_NAMES[persona.role]}{unit}{where}）")

    @property
    def prompt(self) -> str:
        return f"[{self.people[self.current].name}]> "

    def handle(self, line: str) -> bool:
        """Carry out one line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        persona = self.people[self.current]
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":help":
            self.print(HELP if isinstance(self.platform, TelegramPlatform) else DOMESTIC_HELP)
            return True
        if line.startswith((":privacy", ":reply")) and not isinstance(self.platform, TelegramPlatform):
            command = line.split()[0]
            if command in TELEGRAM_ONLY_WHY:
                self.print(TELEGRAM_ONLY.format(command=command, platform=PLATFORM_NAMES[self.platform.channel],
                                                why=TELEGRAM_ONLY_WHY[command]))
                return True
        if line.startswith(":privacy") and isinstance(self.platform, TelegramPlatform):
            self.print(self.platform.privacy(line.removeprefix(":privacy").strip()))
            return True
        if line == ":time":
            self.print(f"沙盒时间：{self.ctx.clock.now().astimezone(self.ctx.timezone):%Y-%m-%d %H:%M:%S}")
            return True
        if line.startswith((":wait ", ":at ")):
            command, _, args = line.partition(" ")
            self.jump(args, to=command == ":at")
            return True
        if line == ":who":
            self.who()
            return True
        if line.startswith(":as "):
            self._switch(line[4:].strip())
            return True
        if line.startswith(":tap "):
            if not self._tap(persona, line[5:].strip()):
                return True
        elif line.startswith(":reply ") and isinstance(self.platform, TelegramPlatform):
            if not self._reply(self.platform, persona, line[7:].strip()):
                return True
        elif line.startswith((":photo", ":file ")):
            photo = line.startswith(":photo")
            name, _, caption = ("", "", line[6:].strip()) if photo else line[6:].strip().partition(" ")
            if not self._sent(self.platform.send_file(persona, name, caption.strip(), photo=photo)):
                return True
            if caption.strip() and not self.platform.captions:
                # Sent all the same: the bot may have asked for it (报进展, 办结) and take it as the answer.
                self.print(NO_CAPTION.format(platform=PLATFORM_NAMES[self.platform.channel]))
        elif line.startswith(":"):
            self.print("不认识的指令，输入 :help 查看。")
            return True
        elif not self._sent(self.platform.say(persona, line)):
            return True
        self.show_new()
        return True

    def _sent(self, withheld: str | None) -> bool:
        """Whether what was sent reached the bot; if not, why not is said."""
        if withheld is not None:
            self.print(withheld)
        return withheld is None

    def _shown(self, persona: Persona, number: str, usage: str, elsewhere: str) -> Any:
        """Shown message ``number`` when it is in the persona's chat; None (and why said) if not."""
        if not number.isdigit() or not 1 <= int(number) <= len(self.shown):
            self.print(usage)
            return None
        owner, message = self.shown[int(number) - 1]
        if owner.chat != persona.chat:
            self.print(elsewhere)
            return None
        return message

    def _reply(self, platform: TelegramPlatform, persona: Persona, args: str) -> bool:
        """Send a reply to a shown message; False when nothing reached the bot."""
        number, _, text = args.partition(" ")
        usage = "用法：:reply 消息编号 文字，如 :reply 3 60% 已完成方案初稿"
        message = self._shown(persona, number, usage, "这条消息不在当前身份的会话里，先用 :as 切换身份。")
        if message is None:
            return False
        if not text.strip():
            self.print(usage)
            return False
        return self._sent(platform.reply(persona, message, text.strip()))

    def _switch(self, target: str) -> None:
        for number, persona in enumerate(self.people, start=1):
            if target in (str(number), persona.role.value, ROLE_NAMES[persona.role]) or target in persona.name:
                self.current = number - 1
                self.print(f"现在以“{persona.name}”的身份发言。")
                return
        self.print(f"没有这个身份：{target}。输入 :who 查看。")

    def _tap(self, persona: Persona, args: str) -> bool:
        """Tap a button on a shown message; False when nothing was tapped."""
        number, _, label = args.partition(" ")
        message = self._shown(persona, number, "用法：:tap 消息编号 按钮文字，如 :tap 3 办结",
                              "这条消息不是发给当前身份的，先用 :as 切换身份。")
        if message is None:
            return False
        try:
            self.platform.tap(persona, message, label.strip())
        except LookupError:
            self.print(f"消息 {number} 上没有“{label.strip()}”按钮。")
            return False
        return True

    def show_new(self, *, wait: bool = True) -> None:
        """Print what the bot sent to any persona once it has been quiet for a moment (at once
        without ``wait``: the caller has already waited for the outbox to be delivered).

        Messages of one step are printed in persona order, so that their numbers (for :tap) do not
        depend on which of two simultaneous deliveries happened to arrive first."""
        if wait and self._wait_quiet() != self.seen:
            # The bot answered. A notification the action queued (the office told of a unit's report)
            # was committed before the answer went, and goes out through the outbox, on a loaded
            # machine after the quiet moment: it is waited for, so that it is shown in this step and
            # numbered the same on every run.
            answered = self._counts()
            with contextlib.suppress(TimeoutError):  # still sent: shown when it comes
                self.platform.settle(MAX_WAIT_SECONDS)
            if self._counts() != answered:
                self._wait_quiet()
        for persona in self.people:
            messages = self.platform.messages(persona)
            for message in messages[self.seen[persona.chat]:]:
                self._print_message(persona, message)
            self.seen[persona.chat] = len(messages)

    def _counts(self) -> dict[str, int]:
        return {persona.chat: len(self.platform.messages(persona)) for persona in self.people}

    def _wait_quiet(self) -> dict[str, int]:
        """How many messages each persona has once something new came and then nothing for a moment
        (or after the longest wait, when nothing came)."""
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        last_change, counts = time.monotonic(), self._counts()
        while time.monotonic() < deadline:
            now_counts = self._counts()
            if now_counts != counts:
                counts, last_change = now_counts, time.monotonic()
            elif counts != self.seen and time.monotonic() - last_change > QUIET_SECONDS:
                break
            time.sleep(0.05)
        return counts

    def _print_message(self, persona: Persona, message: Any) -> None:
        self.shown.append((persona, message))
        self.print(f"\n[{len(self.shown)}] 督办助手 → {persona.name}")
        text, labels = self.platform.render(message, self.files)
        self.print(text)
        if labels:
            self.print("   按钮：" + " | ".join(labels))


def run_console(platform: Platform, input_stream: TextIO, output: TextIO, *, interactive: bool,
                files: Path | None = None) -> None:
    """Start the sandbox's bot (``platform`` not yet started) and talk to it until the input ends;
    the pictures and files the bot sends are saved in ``files``."""
    console = Console(platform, output, files)
    released = platform.release_leases()
    console.bind_personas()
    platform.start()
    console.print(platform.started)
    if platform.ctx.desk_url:
        console.print(f"网页版：{platform.ctx.desk_url}（在浏览器中打开 {platform.ctx.desk_url}sandbox 扮演内置身份；"
                      "发送“网页”得到登录链接）")
    if released:
        console.print(f"上次运行留下的 {released} 条通知发送占用已释放，将照常发送。")
    console.print("内置身份：")
    console.who()
    console.print(f"沙盒时间：{console.clock_text}（按真实速度走；:wait 2h、:at 2021-11-04 09:00 调整）")
    console.print("输入 :help 查看指令，直接输入文字即以当前身份发给机器人。")
    console.catch_up()
    while True:
        if interactive:
            try:
                line = input(console.prompt)
            except EOFError:
                break
        else:
            line = input_stream.readline()
            if not line:
                break
            console.print(console.prompt + line.rstrip("\n"))
        if not console.handle(line):
            break
    # What the session made due (and what fell due while it ran) goes out before the sandbox stops.
    console.catch_up()
