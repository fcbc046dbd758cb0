"""A terminal where you type as a persona and see what the bot sends, over the local Bot API server.

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
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.sandbox.runtime import SandboxRuntime
from bot.sandbox.server import Person
from tasks.models import Role
from tasks.work.members import ROLE_NAMES

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


class Console:
    def __init__(self, runtime: SandboxRuntime, output: TextIO, files: Path | None = None) -> None:
        self.runtime = runtime
        self.out = output
        self.files = files  # where the pictures and files the bot sends are saved, to be opened
        self.people: list[tuple[Persona, Person]] = []
        self.shown: list[dict[str, Any]] = []  # every bot message printed, numbered from 1
        self.seen: dict[int, int] = {}
        self.current = 0

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def bind_personas(self) -> None:
        """Give each persona a chat on the server and bind it with an invite code on first use
        (later runs find them bound already). Done before the bot starts: the planner's first
        pass must find the personas bound and their chats there, or the clock's first messages
        go to nobody or are dead-lettered as "chat not found"."""
        for persona in PERSONAS:
            if persona.group is None:
                person, _new = self.runtime.bind(persona.user_id, persona.name, persona.role, persona.unit)
            else:
                person = self.runtime.bind_group(persona.group, UNIT_GROUP_TITLE, persona.unit or "", persona.user_id)
            self.people.append((persona, person))
            self.seen[persona.chat] = len(self.runtime.server.messages(persona.chat))

    @property
    def clock_text(self) -> str:
        return f"{self.runtime.ctx.clock.now().astimezone(self.runtime.ctx.timezone):%Y-%m-%d %H:%M}"

    def catch_up(self) -> None:
        """Plan what is due now, wait until it has been sent, and show it."""
        try:
            self.runtime.plan()
        except Exception as error:  # the scheduler's next tick tries again; the session goes on
            log.exception("sandbox planner pass failed")
            self.print(f"本次提醒检查没有完成（{type(error).__name__}），机器人会在下一分钟自动重试。")
        try:
            self.runtime.settle(SETTLE_SECONDS)
        except TimeoutError as error:
            self.print(f"还有通知没有发出（{error}），可以稍后再看。")
        self.show_new(wait=False)

    def jump(self, args: str, *, to: bool) -> None:
        clock, zone = self.runtime.ctx.clock, self.runtime.ctx.timezone
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
        for number, (persona, _person) in enumerate(self.people, start=1):
            unit = f"，{persona.unit}" if persona.unit else ""
            where = f"，在{UNIT_GROUP_TITLE}里发言" if persona.group is not None else ""
            mark = "→" if number - 1 == self.current else " "
            self.print(f"{mark} {number}. {persona.name}（{ROLE_NAMES[persona.role]}{unit}{where}）")

    @property
    def prompt(self) -> str:
        return f"[{self.people[self.current][0].name}]> "

    def handle(self, line: str) -> bool:
        """Carry out one line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        persona, person = self.people[self.current]
        server = self.runtime.server
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":help":
            self.print(HELP)
            return True
        if line.startswith(":privacy"):
            self._privacy(line.removeprefix(":privacy").strip())
            return True
        if line == ":time":
            now = self.runtime.ctx.clock.now().astimezone(self.runtime.ctx.timezone)
            self.print(f"沙盒时间：{now:%Y-%m-%d %H:%M:%S}")
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
        chat = persona.group
        if line.startswith(":tap "):
            self._tap(persona, person, line[5:].strip())
        elif line.startswith(":reply "):
            if not self._reply(persona, person, line[7:].strip()):
                return True
        elif line.startswith(":photo"):
            if server.send_photo(person, b"\xff\xd8sandbox-photo", caption=line[6:].strip(), chat_id=chat) is None:
                self.print(WITHHELD)
                return True
        elif line.startswith(":file "):
            name, _, caption = line[6:].strip().partition(" ")
            if server.send_document(person, b"%PDF-1.4 sandbox", name, "application/octet-stream", caption=caption,
                                    chat_id=chat) is None:
                self.print(WITHHELD)
                return True
        elif line.startswith(":"):
            self.print("不认识的指令，输入 :help 查看。")
            return True
        elif server.send_text(person, line, chat_id=chat) is None:
            self.print(WITHHELD)
            return True
        self.show_new()
        return True

    def _privacy(self, setting: str) -> None:
        if setting not in ("on", "off"):
            state = "开启" if self.runtime.server.state.privacy else "关闭"
            self.print(f"隐私模式现在{state}。用法：:privacy off（关闭）或 :privacy on（开启）。")
            return
        self.runtime.server.set_privacy(setting == "on")
        if setting == "on":
            self.print("隐私模式已开启（Telegram 的默认）：群里机器人只收到命令、对它消息的回复和按钮。")
        else:
            self.print("隐私模式已关闭：机器人收到群里所有的话（真实的 Telegram 上还要把机器人移出群再重新拉入）。")

    def _reply(self, persona: Persona, person: Person, args: str) -> bool:
        """Send a reply to a shown message; False when nothing reached the bot."""
        number, _, text = args.partition(" ")
        if not number.isdigit() or not 1 <= int(number) <= len(self.shown) or not text.strip():
            self.print("用法：:reply 消息编号 文字，如 :reply 3 60% 已完成方案初稿")
            return False
        message = self.shown[int(number) - 1]
        if message["chat"]["id"] != persona.chat:
            self.print("这条消息不在当前身份的会话里，先用 :as 切换身份。")
            return False
        if self.runtime.server.send_text(person, text.strip(), chat_id=persona.group, reply_to=message) is None:
            self.print(WITHHELD)
            return False
        return True

    def _switch(self, target: str) -> None:
        for number, (persona, _person) in enumerate(self.people, start=1):
            if target in (str(number), persona.role.value, ROLE_NAMES[persona.role]) or target in persona.name:
                self.current = number - 1
                self.print(f"现在以“{persona.name}”的身份发言。")
                return
        self.print(f"没有这个身份：{target}。输入 :who 查看。")

    def _tap(self, persona: Persona, person: Person, args: str) -> None:
        number, _, label = args.partition(" ")
        if not number.isdigit() or not 1 <= int(number) <= len(self.shown):
            self.print("用法：:tap 消息编号 按钮文字，如 :tap 3 办结")
            return
        message = self.shown[int(number) - 1]
        if message["chat"]["id"] != persona.chat:
            self.print("这条消息不是发给当前身份的，先用 :as 切换身份。")
            return
        try:
            self.runtime.server.tap(person, message, label.strip())
        except LookupError:
            self.print(f"消息 {number} 上没有“{label.strip()}”按钮。")

    def show_new(self, *, wait: bool = True) -> None:
        """Print what the bot sent to any persona once it has been quiet for a moment (at once
        without ``wait``: the caller has already waited for the outbox to be delivered).

        Messages of one step are printed in persona order, so that their numbers (for :tap) do not
        depend on which of two simultaneous deliveries happened to arrive first."""
        deadline = time.monotonic() + (MAX_WAIT_SECONDS if wait else 0)
        last_change, counts = time.monotonic(), dict(self.seen)
        while time.monotonic() < deadline:
            now_counts = {persona.chat: len(self.runtime.server.messages(persona.chat)) for persona, _ in self.people}
            if now_counts != counts:
                counts, last_change = now_counts, time.monotonic()
            elif counts != self.seen and time.monotonic() - last_change > QUIET_SECONDS:
                break
            time.sleep(0.05)
        for persona, _person in self.people:
            messages = self.runtime.server.messages(persona.chat)
            for message in messages[self.seen[persona.chat]:]:
                self._print_message(persona, message)
            self.seen[persona.chat] = len(messages)

    def _save_file(self, message: dict[str, Any]) -> str | None:
        """A picture or a file the bot sent, saved where a person can open it; what to print about it."""
        media = message.get("document") or (message.get("photo") or [None])[-1]
        if media is None:
            return None
        data, name, _mime = self.runtime.server.state.files[media["file_id"]]
        kind = "图片" if "photo" in message else "文件"
        if self.files is None:
            return f"（{kind}：{name}，{len(data) // 1024 + 1} KB）"
        self.files.mkdir(parents=True, exist_ok=True)
        path = self.files / Path(name).name
        path.write_bytes(data)
        return f"（{kind}：{name}，已保存到 {path}）"

    def _print_message(self, persona: Persona, message: dict[str, Any]) -> None:
        self.shown.append(message)
        self.print(f"\n[{len(self.shown)}] 督办助手 → {persona.name}")
        saved = self._save_file(message)
        self.print(message.get("text") or message.get("caption") or saved or "（文件）")
        if saved and (message.get("text") or message.get("caption")):
            self.print(saved)
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        labels = [button["text"] for row in rows for button in row]
        if labels:
            self.print("   按钮：" + " | ".join(labels))


def run_console(runtime: SandboxRuntime, input_stream: TextIO, output: TextIO, *, interactive: bool,
                files: Path | None = None) -> None:
    """Start the sandbox's bot (``runtime`` not yet started) and talk to it until the input ends;
    the pictures and files the bot sends are saved in ``files``."""
    console = Console(runtime, output, files)
    released = runtime.release_leases()
    console.bind_personas()
    runtime.start()
    console.print("本地沙盒已启动：机器人连接的是本机的 Bot API 模拟服务器，不连接 Telegram。")
    if runtime.ctx.desk_url:
        console.print(f"网页版：{runtime.ctx.desk_url}（在浏览器中打开 {runtime.ctx.desk_url}sandbox 扮演内置身份；"
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
