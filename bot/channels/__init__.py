"""The chat platforms taskbot reaches people on, and what every one of them shares.

A person, or a unit's group, is reached at an *address* on a *channel*: Telegram's chat id, a
DingTalk staff id or conversation id, a WeCom user id or chat id, a Feishu open_id or chat_id, or
a one-way group robot's name. Addresses are strings whatever the channel.

The actions (bot/unit_actions.py, bot/office_actions.py) answer with a ``bot.render.Reply``;
each channel's renderer turns that one view into the platform's own message bodies, and each
channel's transport puts them on the wire. A transport sorts every failure into one of the three
things the outbox can do about it (``DeliveryError``), so tasks/outbox.py never learns a
platform's error codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["telegram", "dingtalk", "wecom", "feishu"]
CHANNELS: tuple[Channel, ...] = ("telegram", "dingtalk", "wecom", "feishu")
CHANNEL_NAMES: dict[str, str] = {"telegram": "Telegram", "dingtalk": "钉钉", "wecom": "企业微信", "feishu": "飞书"}

# retry_later: the platform asked us to wait (``retry_after`` seconds) or did not answer (None:
#   the outbox backs off); unreachable: this address will not take messages any more (blocked,
#   left the group, robot removed): the member is marked unreachable and the office told;
#   dead: this message will never be taken (malformed, too long): kept with its reason;
#   moved: the chat lives at another address now (``moved_to``; a Telegram group that became a
#   supergroup): the member and every message waiting for it follow.
FailureKind = Literal["retry_later", "unreachable", "dead", "moved"]


class DeliveryError(Exception):
    """A send the platform refused or that failed on the way, sorted for the outbox."""

    def __init__(self, kind: FailureKind, detail: str, retry_after: float | None = None, *,
                 moved_to: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after
        self.moved_to = moved_to


# On the domestic platforms an address says what it is: a person's chat with the bot
# ("user:<id>"), a group the bot is in ("group:<id>"), or a one-way group robot ("robot:<name>",
# its webhook in the configuration). Telegram's addresses are its chat ids, a group's negative.
PERSON, GROUP, ROBOT = "user:", "group:", "robot:"

# What an address reaches: a person, a group, or a one-way group robot. A transport says which
# kinds it can deliver (bot.sender.Transport.address_kinds), and its sender claims only those rows:
# the rest wait for a process that can deliver them (a WeCom app's messages go over the long
# connection that only `taskbot run` holds).
AddressKind = Literal["person", "group", "robot"]
KIND_PREFIXES: dict[AddressKind, str] = {"person": PERSON, "group": GROUP, "robot": ROBOT}
EVERY_KIND: frozenset[AddressKind] = frozenset(KIND_PREFIXES)
ROBOTS_ONLY: frozenset[AddressKind] = frozenset({"robot"})


def kinds_on(channel: str) -> frozenset[AddressKind]:
    """The kinds of address ``channel`` has: Telegram has no one-way robots."""
    return frozenset({"person", "group"}) if channel == "telegram" else EVERY_KIND


def claim_prefixes(channel: str, kinds: frozenset[AddressKind]) -> tuple[str, ...] | None:
    """How the outbox picks ``kinds``' rows out of ``channel``'s: the beginnings of their addresses;
    None when ``kinds`` cover every address there (no filter at all)."""
    if kinds >= kinds_on(channel):
        return None
    if channel == "telegram":  # its chat ids carry no kind in front: a group's is only negative
        raise ValueError("a Telegram sender delivers to every chat")
    return tuple(KIND_PREFIXES[kind] for kind in sorted(kinds))


def is_group_address(channel: str, address: str) -> bool:
    """Whether messages to ``address`` land in a group (the platforms limit those per minute)."""
    if channel == "telegram":
        return address.startswith("-")
    return address.startswith((GROUP, ROBOT))


@dataclass(frozen=True)
class IncomingFile:
    """A file a person sent: ``ref`` is the platform's own handle for fetching it again."""

    kind: Literal["photo", "document"]
    name: str
    size: int
    ref: str


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in chat, whatever the platform: wrote, tapped a button, sent a file.

    ``address`` is where the answer goes (the person's own chat, or the group they wrote in);
    ``user_ref`` is the platform's stable id of the person.
    """

    channel: Channel
    user_ref: str
    address: str
    is_group: bool
    name: str
    text: str = ""
    button: str = ""  # a tapped button's data, as bot.render.Button.callback_data
    files: list[IncomingFile] = field(default_factory=list)
    mentions_bot: bool = False  # in a group: the bot was @-ed (the platforms only pass such messages on)
    # The platform's id of this message or tap: a platform may hand the same one on again (after a
    # reconnect, or when it heard no acknowledgement), and it is acted on once (tasks/inbox.py).
    message_id: str = ""
