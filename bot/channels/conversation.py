"""A domestic platform's app in conversation: what a person did there (an ``Incoming`` from
DingTalk's Stream, WeCom's or Feishu's long connection) answered by the same conversation as on
Telegram (bot/conversation.py), the answer sent back through the platform's transport.

The platforms have no bot commands menu and no deep links: an invite code is typed after /start,
start or 绑定, and may be followed by the person's name (WeCom gives the bot no names); every other
word, command and button is the same as on Telegram. A DingTalk button
is a link that makes the person's client send a text naming the button (bot/channels/renderers.py),
so such a text is taken as that button's tap.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from bot import conversation, texts
from bot.channels import GROUP, PERSON, Incoming
from bot.channels.renderers import button_from_text
from bot.channels.transport import DomesticTransport
from bot.commands import BY_NAME
from bot.context import BotContext, Who
from bot.render import Reply, say

log = logging.getLogger(__name__)

# The code, and optionally the person's name after it: WeCom tells the bot an id, not a name.
_START = re.compile(r"^(?:/start|start|绑定)(?:\s+(\S+))?(?:\s+(\S.{0,59}?))?\s*$", re.IGNORECASE)
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


class ChannelConversation:
    """The ``on_incoming`` of one platform's app: answers each person as they write."""

    def __init__(self, ctx: BotContext, transport: DomesticTransport) -> None:
        self.ctx = ctx
        self.transport = transport

    async def __call__(self, incoming: Incoming) -> None:
        address = (GROUP if incoming.is_group else PERSON) + incoming.address
        who = Who(incoming.channel, incoming.user_ref, address, incoming.is_group, incoming.name or incoming.user_ref)
        try:
            reply = await self.answer(who, incoming)
        except Exception:  # one message's failure is said to its sender, and the next is taken as usual
            log.exception("could not answer %s on %s", who.user_id, who.channel)
            reply = say(texts.HANDLER_FAILED)
        if reply is None:
            return
        flood = self.ctx.flood_for(self.transport.channel)
        await self.transport.deliver(address, reply, flood, reserved=None, sent_marks=None)

    async def answer(self, who: Who, incoming: Incoming) -> Reply | None:
        """The answer to one thing a person did; None: nothing to say (group talk not for the bot)."""
        ctx = self.ctx
        if incoming.files:
            file = incoming.files[0]
            reference, refusal = conversation.evidence_reference(file.kind, file.name, file.size, file.ref,
                                                                 incoming.channel)
            if reference is None:
                return say(refusal or texts.NO_FILE)
            return await conversation.evidence(ctx, who, reference, incoming.text)
        words = incoming.text.strip()
        data = incoming.button or button_from_text(words)
        if data:
            tapped = await conversation.button(ctx, who, data)
            return tapped.reply if tapped.reply is not None else say(texts.BUTTON_EXPIRED)
        if not words:
            return None
        if (started := _START.match(words)) is not None:
            if started.group(2):
                who = replace(who, name=started.group(2).strip())
            reply, _role = await conversation.start(ctx, who, started.group(1) or "", words_heard=True)
            return reply
        if (named := _COMMAND.match(words)) is not None:
            if named.group(1) == "help":
                return await conversation.help_reply(ctx, who, words_heard=True)
            chosen = BY_NAME.get(named.group(1))
            if chosen is None:
                return say(texts.unknown_command(words.split()[0][:40]))
            return await conversation.command(ctx, who, chosen, (named.group(2) or "").strip())
        # In a group the platforms pass on only what was said to the bot (an @ of it).
        return await conversation.text(ctx, who, words, addressed=incoming.mentions_bot or not incoming.is_group)
