"""The stages of a long import, shown on the terminal while it runs (``taskbot import``).

On stderr, so that the import's own output (``--json`` above all) stays clean; only when stderr is
a terminal, or ``--progress`` asks, so that tests, pipes and logs get nothing.
"""

from __future__ import annotations

from typing import TextIO

from tasks.plan.importer import Stage

CLEAR_LINE = "\r\x1b[K"  # back to the line's start, and erase it


class TerminalProgress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # A terminal sees "写入数据库…" while it lasts, then the same line with its counts.
        self.live = stream.isatty()

    def __call__(self, stage: Stage) -> None:
        if not stage.done:
            if self.live:
                print(f"{stage.name}…", end="", file=self.stream, flush=True)
            return
        counts = "，".join(f"{name} {count}" for name, count in stage.counts) or "完成"
        start = CLEAR_LINE if self.live else ""
        print(f"{start}{stage.name}：{counts}", file=self.stream, flush=True)


def import_progress(stream: TextIO, asked: bool) -> TerminalProgress | None:
    """The progress display for an import, or None when nobody would see it."""
    return TerminalProgress(stream) if asked or stream.isatty() else None
