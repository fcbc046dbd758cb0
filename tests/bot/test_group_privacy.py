"""A unit's group chat as Telegram really delivers it: under privacy mode (the default) the bot
hears commands, replies to its own messages and button taps, not a group's plain words; /help in
the group offers only what reaches it. The local Bot API server withholds what Telegram would."""

from typing import Any

from bot.sandbox.server import Person
from tasks.models import Role
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

GROUP = -1001234


def bound_group(bot: BotHarness) -> tuple[dict[str, Any], Person]:
    """区商务局's group, bound, and a member of the unit who speaks in it."""
    group = bot.server.group(GROUP, "商务局工作群")
    wang = bot.join(201, "商务局小王", Role.MEMBER, COMMERCE)
    assert "绑定成功" in bot.say(wang, f"/start {bot.invite(Role.MEMBER, COMMERCE)}", chat_id=GROUP)["text"]
    return group, wang


def answers_to(bot: BotHarness, person: Person, words: str) -> list[str]:
    """What the bot says in the group to ``words``, up to its answer to a /help sent after them
    (the bot answers a chat's messages in order, so an answer to the words would come first)."""
    before = len(bot.server.messages(GROUP))
    bot.server.send_text(person, words, chat_id=GROUP)
    bot.server.send_text(person, "/help", chat_id=GROUP)
    bot.server.wait_for(GROUP, after=before, predicate=lambda message: "您的身份" in message["text"])
    texts = [message["text"] for message in bot.server.messages(GROUP)[before:]]
    return texts[:next(i for i, text in enumerate(texts) if "您的身份" in text)]


def test_plain_words_in_a_group_do_not_reach_the_bot_while_privacy_is_on(bot: BotHarness) -> None:
    _group, wang = bound_group(bot)
    assert bot.server.send_text(wang, "我的任务", chat_id=GROUP) is None  # Telegram keeps it from the bot
    assert answers_to(bot, wang, "我的任务") == []
    assert "区商务局 未办结任务" in bot.say(wang, "/mytasks", chat_id=GROUP)["text"]
    # In a private chat the same words work.
    assert "区商务局 未办结任务" in bot.say(wang, "我的任务")["text"]


def test_with_privacy_off_or_the_bot_an_administrator_plain_words_work(bot: BotHarness) -> None:
    _group, wang = bound_group(bot)
    bot.server.set_privacy(False)
    assert any("区商务局 未办结任务" in text for text in answers_to(bot, wang, "我的任务"))
    bot.server.set_privacy(True)
    assert answers_to(bot, wang, "我的任务") == []
    bot.server.set_admin(GROUP, True)
    assert any("区商务局 未办结任务" in text for text in answers_to(bot, wang, "我的任务"))


def test_help_in_a_group_offers_what_works_there(bot: BotHarness) -> None:
    _group, wang = bound_group(bot)
    in_group = bot.say(wang, "/help", chat_id=GROUP)["text"]
    assert "/mytasks" in in_group and "/report" in in_group
    assert "也可发送" not in in_group  # no plain word is offered: it would not arrive
    assert "隐私模式" in in_group and "/setprivacy" in in_group and "管理员" in in_group
    assert "回复机器人的消息" in in_group
    private = bot.say(wang, "/help")["text"]
    assert "也可发送“我的任务”" in private and "隐私模式" not in private

    bot.server.set_privacy(False)
    heard = bot.say(wang, "/help", chat_id=GROUP)["text"]
    assert "也可发送“我的任务”" in heard and "隐私模式" not in heard
    bot.server.set_privacy(True)
    bot.server.set_admin(GROUP, True)
    assert "也可发送“我的任务”" in bot.say(wang, "/help", chat_id=GROUP)["text"]


def test_a_buttons_question_in_a_group_is_answered_by_replying_to_it(bot: BotHarness) -> None:
    _group, wang = bound_group(bot)
    task = bot.task_id(EXHIBITION)
    card = bot.say(wang, f"/task {task}", chat_id=GROUP)
    question = bot.tap(wang, card, "报进展")
    assert "回复这条消息" in question["text"]
    # Written plainly, the answer never reaches the bot; as a reply to its question, it does.
    assert bot.server.send_text(wang, "60% 场地已签约", chat_id=GROUP) is None
    before = len(bot.server.messages(GROUP))
    bot.server.send_text(wang, "60% 场地已签约", chat_id=GROUP, reply_to=question)
    recorded = bot.server.wait_for(GROUP, after=before)[0]
    assert "已记录任务" in recorded["text"]
    assert "场地已签约" in bot.say(wang, f"/task {task}")["text"]
