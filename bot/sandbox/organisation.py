"""An organisation's directory for the platforms' doubles to serve (bot/sandbox/dingtalk_double.py,
feishu_double.py): departments and the people in them, as an administrator set them up.

Each double writes the ids in its platform's own way (DingTalk's numbered departments, Feishu's
open_department_ids) from the numbers here; a person's id is the one the platform's messages carry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrgDepartment:
    number: int  # unique in the organisation; the organisation itself is not one
    name: str
    parent: int | None = None  # None: directly under the organisation


@dataclass(frozen=True)
class OrgPerson:
    user_id: str
    name: str
    mobile: str | None  # as the platform keeps it: eleven digits (Feishu writes +86 before them)
    departments: tuple[int, ...]


@dataclass
class Organisation:
    """Departments and people; changed by a test while the double serves it (thread-safe)."""

    departments: dict[int, OrgDepartment] = field(default_factory=dict)
    people: dict[str, OrgPerson] = field(default_factory=dict)
    # The app may not read the directory (its contact permission withdrawn): every call is refused.
    denied: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def department(self, number: int, name: str, parent: int | None = None) -> int:
        with self.lock:
            self.departments[number] = OrgDepartment(number, name, parent)
        return number

    def person(self, user_id: str, name: str, mobile: str | None, *departments: int) -> str:
        with self.lock:
            self.people[user_id] = OrgPerson(user_id, name, mobile, tuple(departments))
        return user_id

    def children(self, parent: int | None) -> list[OrgDepartment]:
        with self.lock:
            return [d for d in self.departments.values() if d.parent == parent]

    def chain(self, number: int) -> list[int]:
        """The department and those above it, nearest first, up to one directly under the organisation."""
        found: list[int] = []
        with self.lock:
            at: int | None = number
            while at is not None and at in self.departments and at not in found:
                found.append(at)
                at = self.departments[at].parent
        return found

    def below(self, parent: int | None) -> list[OrgDepartment]:
        """Every department under ``parent``, each level before the next."""
        found, level = [], self.children(parent)
        while level:
            found += level
            level = [child for d in level for child in self.children(d.number)]
        return found


def sandbox_organisation() -> Organisation:
    """The sandbox's organisation: departments named like units of the bundled document, and a
    person or two in each (their ids are not the workflow tests' people, who are strangers to it)."""
    org = Organisation()
    government = org.department(100, "区政府部门")
    finance = org.department(101, "区财政局", government)
    commerce = org.department(102, "区商务局", government)
    agriculture = org.department(103, "区农业农村局", government)
    science = org.department(104, "区科技和信息化局", government)
    budget = org.department(105, "预算科", finance)
    org.person("czj-wang", "财政局王科长", "13800001001", finance)
    org.person("czj-li", "预算科李会计", "13800001002", budget)
    org.person("swj-zhao", "商务局赵干事", "13800001003", commerce)
    org.person("nyj-sun", "农业农村局孙干事", "13800001004", agriculture)
    org.person("kxj-zhou", "科信局周工", None, science)
    return org
