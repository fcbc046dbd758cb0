"""An organisation's directory as a chat platform gives it to the app: its departments, and who a
person is (name, mobile, departments, and the departments above theirs). The office maps departments
to units (tasks/work/departments.py); a person of a mapped department, or of a department under a
mapped one, who writes to the app is bound to that unit without an invite code (bot/departments.py).

DingTalk (the contact API on oapi.dingtalk.com) and Feishu (contact v3) give it; WeCom's
intelligent robot, which is all taskbot uses of WeCom, and Telegram give none. Each platform's
channel (bot/channels/dingtalk.py, feishu.py) is its own ``Directory``: it holds the app's token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Department:
    """One department; ``parent_id`` is "" for one directly under the organisation."""

    id: str
    name: str
    parent_id: str = ""


@dataclass(frozen=True)
class DirectoryPerson:
    """A person as the directory knows them; ``user_id`` is the id the app's messages carry
    (Member.user_id): a DingTalk staff id, a Feishu open_id. ``mobile`` is None when the directory
    has none or the app may not read it; else as the platform wrote it (normalized by the caller).

    ``department_ids`` are the departments the person is directly in; ``chains`` has one entry for
    each of them, in the same order: that department, then the one above it, and so on up to one
    directly under the organisation (the organisation itself is not a department). A 科室's people
    follow their 局's mapping through it, and the platform gives it per person, so the whole
    organisation is never listed to bind one person."""

    user_id: str
    name: str
    mobile: str | None
    department_ids: tuple[str, ...]
    chains: tuple[tuple[str, ...], ...]


class DirectoryError(Exception):
    """The directory could not be read (no permission, the platform did not answer): ``said`` is
    one Chinese sentence for the person who asked."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


@runtime_checkable
class Directory(Protocol):
    """What taskbot reads of a platform's directory. Both raise ``DirectoryError``."""

    async def departments(self) -> list[Department]:
        """Every department the app may see, parents before their children."""
        ...

    async def person(self, user_id: str) -> DirectoryPerson | None:
        """The person with this id; None when the directory does not know them."""
        ...


def aligned_chains(department_ids: tuple[str, ...], found: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """One chain for each direct department, in its order, from the chains the platform gave (each
    starting with its own department). A department the platform gave no chain for stands alone:
    its own mapping still counts, as it did before chains were read."""
    by_first = {chain[0]: chain for chain in found if chain}
    return tuple(by_first.get(department, (department,)) for department in department_ids)
