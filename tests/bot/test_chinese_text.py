"""Chinese wherever a person looks (argparse's own texts included), codes only in --json; a
person's full-width punctuation kept as typed; no link previews on anything the bot sends."""

import io
import json
import re
import unicodedata

import pytest

from bot.cli import main
from tasks.models import Role
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

ENGLISH_ARGPARSE = ("usage:", "positional arguments", "options:", "show this help", "required", "invalid choice",
                    "unrecognized", "invalid int value", "expected one argument", "argument ")


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(list(args), stdout=io.StringIO())
    except SystemExit as stop:  # argparse's --help and its errors
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


@pytest.mark.parametrize("args", [["--help"], ["import", "--help"], ["outbox", "--help"], ["deadline", "--help"]])
def test_help_is_chinese_and_its_columns_line_up(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(*args, capsys=capsys)
    assert code == 0
    assert out.startswith("用法：taskbot") and "选项：" in out and "显示本帮助并退出" in out
    assert not [word for word in ENGLISH_ARGPARSE if word in out]
    # Every option's help starts in the same terminal column, Chinese option names or not.
    starts = {columns(m[1]) for m in re.finditer(r"^(  -\S.*?[ ]{2,})\S", out, re.M)}
    assert len(starts) == 1, out


@pytest.mark.parametrize(("args", "said"), [
    (["deadline"], "参数错误：缺少必需的参数：时限"),
    (["frob"], "参数错误：参数 命令：没有 “frob” 这一项，可选：init、import"),
    (["tasks", "--bogus"], "参数错误：不认识的参数：--bogus"),
    (["tasks", "--year", "abc"], "参数错误：参数 --year：“abc”不是有效的整数"),
    (["tasks", "--year"], "参数错误：参数 --year：后面需要写一个值"),
    (["tasks", "--log-level", "loud"], "参数错误：参数 --log-level：没有 “LOUD” 这一项"),
    (["outbox", "--status", "gone"], "参数错误：参数 --status：没有“gone”这种状态，可选：待发、已发、失败"),
])
def test_argument_errors_are_one_chinese_sentence(args: list[str], said: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(*args, capsys=capsys)
    assert code == 2
    assert err.startswith("用法：taskbot") and said in err and "--help 查看用法" in err
    assert not [word for word in ENGLISH_ARGPARSE if word in err], err


def test_deadline_names_cycles_in_chinese_and_keeps_codes_for_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["deadline", "每两个月", "每半年", "每天", "--year", "2021"], stdout=out) == 0
    table = out.getvalue()
    assert re.search(r"每两个月\s+每两个月", table) and re.search(r"每半年\s+每半年", table)
    assert not re.search(r"[a-z]", table), table
    out = io.StringIO()
    assert main(["deadline", "每两个月", "--year", "2021", "--json"], stdout=out) == 0
    assert json.loads(out.getvalue())["recurrence"] == "bimonthly"


def test_roles_are_named_in_chinese_where_members_are_listed(bot: BotHarness) -> None:
    office = bot.join(301, "督办办老李", Role.OFFICE)
    bot.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    listing = bot.say(office, "/members")["text"]
    assert "督办办公室" in listing and "责任单位成员" in listing
    assert not re.search(r"\b(member|office|leader|admin)\b", listing), listing
    invite = bot.say(office, "/invite 区商务局")["text"]
    assert "责任单位成员" in invite and "member" not in invite


def test_full_width_punctuation_is_kept_as_typed_and_no_message_previews_a_link(bot: BotHarness) -> None:
    member = bot.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    office = bot.join(301, "督办办老李", Role.OFFICE)
    task = bot.task_id(EXHIBITION)
    report = "场地已签约，装修进场：下周验收。详见 https://example.com/展销中心"
    assert "已记录任务" in bot.say(member, f"/report {task} 60% {report}")["text"]
    assert report in bot.say(member, f"/task {task}")["text"]
    # Notifications, through the outbox, carry the unit's words as typed too.
    reason = "等待上级批复，预计：11月底。"
    office_before = len(bot.server.messages(office.id))
    bot.say(member, f"/extend {task} ２０２１－１１－３０ {reason}")
    assert reason in bot.next_message(office.id, office_before)["text"]
    office_before = len(bot.server.messages(office.id))
    bot.say(member, f"/done {task} 已开业运营，客流：良好。")
    assert "已开业运营，客流：良好。" in bot.next_message(office.id, office_before)["text"]
    sent = [message for message in bot.server.messages() if "text" in message]
    assert sent and all(message.get("link_preview_options") == {"is_disabled": True} for message in sent)
