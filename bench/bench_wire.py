"""The floor under delivery: what one Bot API call costs our side, with nothing of ours around it.

    .venv/bin/python bench/bench_wire.py [--messages 1500] [--in-flight 1 4 8 16 30]
                                         [--transport aiohttp httpx] [--buttons 0]
                                         [--call send_reply send_message] [--runs 3]

Sends one 督办提醒-sized message (50 lines) again and again through python-telegram-bot to the
local Bot API server in its own process, so many at a time, and prints milliseconds per
message. No database, no rendering: what the year simulation cannot go below per message.
``--transport`` compares PTB's networking over aiohttp (what the bot uses, bot/telegram_http.py)
with PTB's default, httpx. ``--buttons 24`` adds a keyboard like a unit's list of eight duties;
``--call`` compares the bot's own send (bot.sender.send_reply: buttons as plain values,
Telegram's answer left as JSON) with PTB's Bot.send_message (buttons and answer as PTB objects).
Each combination is measured --runs times: the best and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import add_runs_option, best_median, run
from sandbox_process import SandboxProcess
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Keyboard, Reply, duty_buttons
from bot.sender import send_reply
from bot.telegram_http import make_bot

PEOPLE = list(range(1000, 1100))
TEXT = "📋 <b>督办提醒</b>：本单位有 50 项任务需要办理\n" + "\n".join(
    f"• <b>{n}</b> 落实重点任务，推进协作地区相关工作。（截止 2021-10-31，还有3天）" for n in range(50))


def bot_over(transport: str, server: SandboxProcess) -> Bot:
    if transport == "httpx":
        return Bot(server.token, base_url=server.base_url)  # PTB's default networking
    return make_bot(server.token, server.base_url)


def keyboard(buttons: int) -> Keyboard | None:
    """``buttons`` of a unit's list, three to a task (报进展 · 办结 · 申请延期)."""
    rows = [duty_buttons(task_id, numbered=True) for task_id in range(100, 100 + (buttons + 2) // 3)]
    flat = [button for row in rows for button in row][:buttons]
    return Keyboard([flat[i:i + 3] for i in range(0, len(flat), 3)]) if flat else None


def ptb_keyboard(buttons: int) -> InlineKeyboardMarkup | None:
    """The same keyboard as PTB objects, as the bot built it before bot.render.Keyboard."""
    plain = keyboard(buttons)
    return None if plain is None else InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.callback_data) for b in row] for row in plain.inline_keyboard])


async def per_message(server: SandboxProcess, messages: int, in_flight: int, transport: str, buttons: int,
                      call: str) -> float:
    async with bot_over(transport, server) as bot:
        gate = asyncio.Semaphore(in_flight)

        async def one(n: int) -> None:
            chat = PEOPLE[n % len(PEOPLE)]
            async with gate:  # the keyboard is built per message, as the sender does
                if call == "send_message":
                    await bot.send_message(chat, TEXT, parse_mode="HTML", reply_markup=ptb_keyboard(buttons))
                else:
                    await send_reply(bot, str(chat), Reply([TEXT], keyboard(buttons)))

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(messages)))
        return (time.perf_counter() - started) / messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4, 8, 16, 30])
    parser.add_argument("--transport", nargs="+", choices=["aiohttp", "httpx"], default=["aiohttp", "httpx"])
    parser.add_argument("--buttons", type=int, default=0, help="inline buttons on each message")
    parser.add_argument("--call", nargs="+", choices=["send_reply", "send_message"], default=["send_reply"])
    add_runs_option(parser, 3, "times each combination is measured")
    args = parser.parse_args()
    with SandboxProcess(PEOPLE) as server:
        for call in args.call:
            for transport in args.transport:
                for in_flight in args.in_flight:
                    seconds = [asyncio.run(per_message(server, args.messages, in_flight, transport, args.buttons,
                                                       call)) for _ in range(args.runs)]
                    print(f"{call:<13}{transport:<8}{in_flight:3d} in flight, {args.buttons} buttons: per message "
                          f"{best_median(seconds, 'ms', 1000, 2)}; {1 / min(seconds):.0f} messages/s at best",
                          flush=True)
        delivered, rejected = server.finish()
    sent = args.messages * args.runs * len(args.call) * len(args.transport) * len(args.in_flight)
    print(f"sent {sent}, delivered {delivered}, refused {len(rejected)}")
    return 0 if delivered == sent and not rejected else 1


if __name__ == "__main__":
    run(main)
