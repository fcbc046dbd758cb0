"""Hostile input: random Unicode, huge messages, markup, zero-width and full-width characters.

No exception escapes a parser or a chat handler, every reply is a Bot API call the server
accepts, and nothing changes in the database without a valid command.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.events import Actor
from tasks.models import Role
from tasks.plan.deadlines import read_deadline
from tasks.plan.importer import import_file
from tasks.plan.units import UnitDirectory, parse_units
from tasks.plan.workplan import DocumentError, read_workplan
from tests.dbstate import snapshot
from tests.harness import BotHarness

DIRECTORY = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
NASTY = st.sampled_from(["<b>", "</b>", "&", "&amp;", "<script>", "\u200b", "\u200d", "\ufeff", "１２", "％", "、",
                         "：", "\n", "\t", "/", "#", "%", "月底前", "责任单位：", "1.", "（一）", "附件1", "*", "|"])
TEXT = st.lists(st.one_of(st.text(max_size=20), NASTY), max_size=30).map("".join)
COMMANDS = ["/mytasks", "/task", "/report", "/done", "/extend", "/overdue", "/due", "/unit", "/stats", "/verify",
            "/sendback", "/approve", "/refuse", "/urge", "/invite", "/help", "/start", "/foo", "我的任务", "逾期", "帮助",
            "取消", ""]


@given(TEXT, st.integers(min_value=1990, max_value=2100))
@settings(max_examples=400, deadline=None)
def test_deadline_parser_never_fails(text: str, year: int) -> None:
    reading = read_deadline(text, year)
    assert reading.text == text
    assert reading.deadline is None or isinstance(reading.deadline, date)
    assert reading.understood or reading.deadline is None
    if reading.start is not None:
        assert reading.deadline is not None and reading.start <= reading.deadline


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_unit_parser_never_fails_and_invents_nothing(text: str) -> None:
    result = parse_units(text, DIRECTORY)
    known = set(DIRECTORY.kinds)
    for assignee in result.assignees:
        assert assignee.unit in known or assignee.unit in result.unknown
    assert len(result.names) == len(set(result.names))


@given(st.lists(st.one_of(TEXT, st.sampled_from(["\t".join(["工作事项", "任务类别", "任务内容", "责任部门", "完成时限"]),
                                                  "\t组织领导\t研究\t做好工作\t区商务局\t10月底前",
                                                  "序号\t项目名称\t项目牵头单位\t开工竣工时间", "1\t某项目\t区科信局\t2021年6月-9月",
                                                  "# 2021年某区工作要点", "1. 做好工作。", "责任单位：区商务局"])),
                max_size=25).map("\n".join))
@settings(max_examples=300, deadline=None)
def test_document_reader_reports_or_refuses_but_never_crashes(text: str) -> None:
    try:
        # A fresh directory each time: reading a document adds the unknown names it meets.
        plan = read_workplan(text, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)), year=2021)
    except DocumentError:
        return
    assert plan.items
    assert all(problem.message for problem in plan.problems)


@pytest.fixture(scope="module")
def bot(tmp_path_factory) -> Iterator[BotHarness]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'hostile.db'}"
    harness = BotHarness(url, FixedClock(datetime(2021, 9, 1, 1, tzinfo=UTC)))
    harness.member = harness.join(801, "商务局成员", Role.MEMBER, "区商务局")
    harness.office = harness.join(802, "督办办公室", Role.OFFICE)
    yield harness
    harness.stop()


STATE_CHANGING = ("/report", "/done", "/extend", "/verify", "/sendback", "/approve", "/refuse", "/urge", "/invite",
                  "/start")


@pytest.mark.xdist_group("hostile-bot")  # under pytest-xdist the tests of the one module bot stay together
@given(st.sampled_from(COMMANDS), TEXT, st.booleans())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_chat_handlers_answer_anything_with_a_valid_call(bot: BotHarness, command: str, args: str,
                                                          as_office: bool) -> None:
    person = bot.office if as_office else bot.member
    text = f"{command} {args}".strip() or "\u200b"
    if len(text) > 4096:
        text = text[:4096]
    before = bot.snapshot()
    reply = bot.say(person, text)
    assert bot.server.state.rejected == []  # the reply was valid HTML within the limits
    assert "处理这条消息时出错了" not in reply["text"]  # no exception reached the error handler
    if not command.startswith(STATE_CHANGING) and command not in ("我的任务",):
        assert bot.snapshot() == before


@pytest.mark.xdist_group("hostile-bot")
def test_a_huge_message_is_answered(bot: BotHarness) -> None:
    reply = bot.say(bot.member, "/report 1 " + "很长的进展" * 800)
    assert bot.server.state.rejected == [] and reply["text"]


def test_importer_fuzz_on_mutated_seed_documents(seed_text: str, prepared_engine, tmp_path) -> None:
    """Delete, duplicate, shuffle and garble lines of the real document: problems, never a crash;
    and a document that cannot be imported leaves the database exactly as it was."""
    rng = random.Random(2021)
    clock = FixedClock(datetime(2021, 6, 18, 1, tzinfo=UTC))
    imported = refused = 0
    lines = seed_text.splitlines()
    for _ in range(150):
        mutated = list(lines)
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(mutated))
            action = rng.choice(["delete", "duplicate", "swap", "garble", "cut"])
            if action == "delete":
                del mutated[position]
            elif action == "duplicate":
                mutated.insert(position, mutated[position])
            elif action == "swap":
                other = rng.randrange(len(mutated))
                mutated[position], mutated[other] = mutated[other], mutated[position]
            elif action == "garble":
                line = mutated[position]
                cut = rng.randrange(len(line) + 1)
                mutated[position] = line[:cut] + rng.choice(["\t", "、", "月底", "&", "<b>", "（", "\u200b"]) + line[cut:]
            else:
                mutated[position] = mutated[position][: rng.randrange(len(mutated[position]) + 1)]
        document = "\n".join(mutated)
        try:
            plan = read_workplan(document, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)))
        except DocumentError:
            plan = None
        if plan is not None:
            refs = [item.ref for item in plan.items]
            assert len(refs) == len(set(refs))
            assert all(p.where and p.message for p in plan.problems)
        if rng.random() < 0.15:  # through the database too: all or nothing per document
            path = tmp_path / "mutated.txt"
            path.write_text(document, encoding="utf-8")
            before = snapshot(prepared_engine)
            try:
                import_file(prepared_engine, path, clock, Actor("fuzz", "import"), district="门头沟区")
                imported += 1
            except DocumentError:
                refused += 1
                assert snapshot(prepared_engine) == before
    assert imported > 5
