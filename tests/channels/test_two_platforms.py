"""One office on two platforms at once, as during a move: units on DingTalk, the office still on
Telegram, in one process. What a unit sends on one reaches the office on the other, files included."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.channels.renderers import button_text
from bot.channels.runtime import DomesticChannels, DomesticPlan
from bot.config import DomesticSettings
from bot.context import BotContext
from bot.render import Button
from bot.sandbox.dingtalk_double import DingTalkDouble
from tasks.clock import FixedClock
from tasks.models import Role
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

CONTRACT = b"%PDF-1.4 operating contract of the exhibition centre"


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def test_a_unit_on_dingtalk_reports_with_a_file_and_the_office_on_telegram_opens_it(
        database_url: str, dingtalk: DingTalkDouble) -> None:
    def channels(ctx: BotContext) -> DomesticChannels:
        settings = DomesticSettings(enabled=True, app_id=dingtalk.client_id, app_secret=dingtalk.client_secret)
        return DomesticChannels(ctx, [DomesticPlan("dingtalk", settings, api_base=dingtalk.base_url)])

    bot = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)), channels=channels)
    try:
        office = bot.join(301, "督办办老李", Role.OFFICE)
        task = bot.task_id(EXHIBITION)
        wait_for(lambda: dingtalk.connections)
        dingtalk.person("staff-wang", "王科长")
        dingtalk.person_says("staff-wang", f"绑定 {bot.invite(Role.MEMBER, COMMERCE)}")
        wait_for(lambda: any("绑定成功" in str(p.msg_param) for p in dingtalk.messages_to("staff-wang")))
        # 办结 on the card (a DingTalk button sends its text), then the contract as the evidence.
        dingtalk.person_says("staff-wang", button_text(Button("办结", f"dn:{task}")))
        wait_for(lambda: any("办结说明" in str(p.msg_param) for p in dingtalk.messages_to("staff-wang")))
        office_before = len(bot.server.messages(office.id))
        dingtalk.person_sends_file("staff-wang", "运营合同.pdf", CONTRACT)
        wait_for(lambda: any("等待督办办公室审核" in str(p.msg_param) for p in dingtalk.messages_to("staff-wang")))

        notice = bot.next_message(office.id, office_before)
        assert "办结申请" in notice["text"] and "王科长" in notice["text"] and "附证明材料 1 份" in notice["text"]
        before = len(bot.server.messages(office.id))
        bot.server.tap(office, notice, "查看证明材料（1）")
        sent = bot.server.wait_for(office.id, after=before, count=2)
        document = next(message for message in sent if "document" in message)
        assert bot.server.state.files[document["document"]["file_id"]][0] == CONTRACT

        member_before = len(dingtalk.messages_to("staff-wang"))
        bot.tap(office, notice, "审核通过")
        verified = wait_for(lambda: [p for p in dingtalk.messages_to("staff-wang")[member_before:]
                                     if "已审核通过" in str(p.msg_param)])
        assert "督办办老李" in str(verified[0].msg_param)
    finally:
        bot.stop()
