"""The floor under delivery: what one Bot API call costs our side, with nothing of ours around it.

    .venv/bin/python bench/bench_wire.py [--messages 1500] [--in-flight 1 4 8 16 30]
                                         [--transport aiohttp httpx]

Sends one 督办提醒-sized message (50 lines) again and again through python-telegram-bot to the
local Bot API server in its own process, so many at a time, and prints milliseconds per
message. No database, no rendering: what the year simulation cannot go below per message.
``--transport`` compares PTB's networking over aiohttp (what the bot uses, bot/telegram_http.py)
with PTB's default, httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from telegram import Bot

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_process import SandboxProcess

from bot.telegram_http import make_bot

PEOPLE = list(range(1000, 1100))
TEXT = "📋 <b>督办提醒</b>：本单位有 50 项任务需要办理\n" + "\n".join(
    f"• <b>{n}</b> 落实重点任务，推进协作地区相关工作。（截止 2021-10-31，还有3天）" for n in range(50))


def bot_over(transport: str, server: SandboxProcess) -> Bot:
    if transport == "httpx":
        return Bot(server.token, base_url=server.base_url)  # PTB's default networking
    return make_bot(server.token, server.base_url)


async def per_message(server: SandboxProcess, messages: int, in_flight: int, transport: str) -> float:
    async with bot_over(transport, server) as bot:
        gate = asyncio.Semaphore(in_flight)

        async def one(n: int) -> None:
            async with gate:
                await bot.send_message(PEOPLE[n % len(PEOPLE)], TEXT, parse_mode="HTML")

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(messages)))
        return (time.perf_counter() - started) / messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4, 8, 16, 30])
    parser.add_argument("--transport", nargs="+", choices=["aiohttp", "httpx"], default=["aiohttp", "httpx"])
    args = parser.parse_args()
    with SandboxProcess(PEOPLE) as server:
        for transport in args.transport:
            for in_flight in args.in_flight:
                seconds = asyncio.run(per_message(server, args.messages, in_flight, transport))
                print(f"{transport:<8}{in_flight:3d} in flight: {seconds * 1000:.2f} ms per message "
                      f"({1 / seconds:.0f} messages/s)")
        delivered, rejected = server.finish()
    print(f"delivered {delivered}, refused {len(rejected)}")


if __name__ == "__main__":
    main()
