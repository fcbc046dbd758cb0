"""Telegram's HTML parse mode, checked the way the real server checks it.

Only a handful of tags are allowed, they must nest properly, and every ``&`` must start
one of the four named entities or a numeric one. What is left once tags are removed and
entities decoded is what counts against the 4096-character limit.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


class HtmlError(ValueError):
    pass


def visible_text(text: str) -> str:
    """The text a reader sees; raises HtmlError where Telegram would refuse to parse."""
    stack: list[str] = []
    visible: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if match is None:
                raise HtmlError(f"unsupported start tag at byte offset {position}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise HtmlError(f'unsupported start tag "{name}" at byte offset {position}')
            if closing:
                if not stack or stack[-1] != name:
                    raise HtmlError(f'unexpected end tag "{name}" at byte offset {position}')
                stack.pop()
            else:
                stack.append(name)
            position = match.end()
        elif char == "&":
            match = _ENTITY.match(text, position)
            if match is None:
                raise HtmlError(f"unsupported entity at byte offset {position}")
            visible.append(html.unescape(match.group(0)))
            position = match.end()
        elif char == ">":
            raise HtmlError(f"unescaped > at byte offset {position}")
        else:
            visible.append(char)
            position += 1
    if stack:
        raise HtmlError(f'can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(visible)
