"""argparse in Chinese: its headings, its ``-h`` line and its error sentences, for every command.

argparse writes these through ``gettext`` with no Chinese catalogue shipped. Installing one, or
swapping argparse's module-level ``_``, would change every parser in the process (pytest's own,
in the tests); so the parser here renames what it builds (headings, the help option) and
translates the English error sentence argparse hands to ``error``, one pattern per sentence.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

USAGE_PREFIX = "用法："
GROUP_TITLES = {"positional arguments": "位置参数", "options": "选项", "optional arguments": "选项"}
HELP_OPTION = "显示本帮助并退出"
# argparse names a failed type by its function: the ones used here, said as what was expected.
TYPE_NAMES = {"int": "整数", "float": "数字"}


def _quoted(value: str) -> str:
    """A value argparse wrote with repr ('abc'), as a Chinese sentence quotes it (“abc”)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f"“{value}”"


def _choices(text: str) -> str:
    return "、".join(part.strip().strip("'\"") for part in text.split(","))


# Each English sentence argparse can give ``error`` here, with the Chinese one said instead; the
# sentence about one argument wraps another sentence, which is translated in its turn.
Translation = Callable[[re.Match[str]], str]
SENTENCES: tuple[tuple[re.Pattern[str], Translation], ...] = (
    (re.compile(r"argument (?P<name>.+?): (?P<message>.+)", re.S),
     lambda m: f"参数 {m['name']}：{translate_error(m['message'])}"),
    (re.compile(r"the following arguments are required: (?P<names>.+)"),
     lambda m: f"缺少必需的参数：{m['names'].replace(', ', '、')}"),
    (re.compile(r"unrecognized arguments: (?P<names>.+)"), lambda m: f"不认识的参数：{m['names']}"),
    (re.compile(r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)"),
     lambda m: f"没有 {_quoted(m['value'])} 这一项，可选：{_choices(m['choices'])}"),
    (re.compile(r"invalid (?P<type>\w+) value: (?P<value>.+)"),
     lambda m: f"{_quoted(m['value'])}不是有效的{TYPE_NAMES.get(m['type'], '值')}"),
    (re.compile(r"expected one argument"), lambda _m: "后面需要写一个值"),
    (re.compile(r"expected at most one argument"), lambda _m: "后面最多写一个值"),
    (re.compile(r"expected at least one argument"), lambda _m: "后面至少需要写一个值"),
    (re.compile(r"expected (?P<count>\d+) arguments?"), lambda m: f"后面需要写 {m['count']} 个值"),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)"),
     lambda m: f"选项 {m['option']} 不明确，可能是：{m['matches'].replace(', ', '、')}"),
    (re.compile(r"not allowed with argument (?P<name>.+)"), lambda m: f"不能与参数 {m['name']} 同时使用"),
    (re.compile(r"one of the arguments (?P<names>.+) is required"), lambda m: f"参数 {m['names']} 中必须给出一个"),
    (re.compile(r"ignored explicit argument (?P<value>.+)"),
     lambda m: f"这个选项不带值，{_quoted(m['value'])}是多余的"),
    (re.compile(r"can't open '(?P<name>.+)': (?P<error>.+)"), lambda m: f"无法打开“{m['name']}”：{m['error']}"),
)


def translate_error(message: str) -> str:
    """argparse's English sentence in Chinese; a sentence not in the table (already Chinese, from
    our own argument types) is kept as it is."""
    for pattern, chinese in SENTENCES:
        match = pattern.fullmatch(message)
        if match:
            return chinese(match)
    return message


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


# A line may break before any Chinese character, but not before the punctuation that closes a phrase.
_PIECES = re.compile(r"[\u2e80-\ufe4f\uff00-\uffef][，。、；：）》”’！？]*|[^\s\u2e80-\ufe4f\uff00-\uffef]+|\s+")


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns, breaking between words and Chinese characters."""
    lines: list[str] = []
    line = ""
    for piece in _PIECES.findall(" ".join(text.split())):
        if line and not piece.isspace() and display_width(line + piece) > width:
            lines.append(line.rstrip())
            line = ""
        if line or not piece.isspace():
            line += piece
    return [*lines, line.rstrip()] if line.strip() else lines


class ChineseHelpFormatter(argparse.HelpFormatter):
    """argparse's layout measured in columns rather than characters, so that Chinese option names
    and help texts line up and wrap within the terminal."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup], prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, USAGE_PREFIX if prefix is None else prefix)

    def _format_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                      groups: Iterable[argparse._MutuallyExclusiveGroup], prefix: str | None) -> str:
        text = super()._format_usage(usage, actions, groups, prefix)
        # argparse indents the usage's later lines by the prefix's length in characters.
        shift = " " * (display_width(prefix or "") - len(prefix or ""))
        first, *rest = text.split("\n")
        return "\n".join([first, *(shift + line if line.strip() else line for line in rest)])

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            invocations = [self._format_action_invocation(action)]
            invocations += [self._format_action_invocation(sub) for sub in self._iter_indented_subactions(action)]
            self._action_max_length = max(self._action_max_length,
                                          max(map(display_width, invocations)) + self._current_indent)

    def _format_action(self, action: argparse.Action) -> str:
        help_position = min(self._action_max_length + 2, self._max_help_position)
        help_width = max(self._width - help_position, 11)
        action_width = help_position - self._current_indent - 2
        header = self._format_action_invocation(action)
        lines = wrap(self._expand_help(action), help_width) if action.help and action.help.strip() else []
        indent = " " * self._current_indent
        if lines and display_width(header) <= action_width:
            parts = [indent + header + " " * (action_width - display_width(header) + 2) + lines[0] + "\n"]
        else:
            parts = [indent + header + "\n"] + ([" " * help_position + lines[0] + "\n"] if lines else [])
        parts += [" " * help_position + line + "\n" for line in lines[1:]]
        parts += [self._format_action(sub) for sub in self._iter_indented_subactions(action)]
        return self._join_parts(parts)

    def format_help(self) -> str:
        text = super().format_help()
        for title in set(GROUP_TITLES.values()):
            text = text.replace(f"{title}:\n", f"{title}：\n")
        return text


class ChineseArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        super().__init__(*args, **kwargs)
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = HELP_OPTION

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        # argparse makes its two groups through here, titled in English; a parent's groups are
        # merged by title, so the Chinese title must be the one every parser gives its group.
        title = kwargs.get("title", args[0] if args else None)
        if title in GROUP_TITLES:
            kwargs["title"] = GROUP_TITLES[title]
            args = args[1:]
        return super().add_argument_group(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"参数错误：{translate_error(message)}\n请运行 {self.prog} --help 查看用法。\n")
