"""What a document says, before anything is stored: items and problems.

``taskbot import --dry-run --json`` prints exactly this, and the store writes
exactly this, so what the office checks is what the database gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tasks.plan.deadlines import Milestone


@dataclass(frozen=True)
class Problem:
    code: str  # machine-readable kind, e.g. "unit.unknown", "deadline.unreadable"
    where: str  # 第163行 / 工作表Sheet1第5行
    text: str  # the document's text the problem is about
    message: str  # what is wrong and what happens to it, in Chinese
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"where": self.where, "line": self.line, "code": self.code,
                "text": self.text, "message": self.message}


@dataclass
class ProjectDetail:
    region: str = ""
    nature: str = ""
    content: str = ""
    total_investment: Decimal | None = None
    funds: Decimal | None = None
    implementing_unit: str = ""
    manager: str = ""
    period_text: str = ""
    benefit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region, "nature": self.nature, "content": self.content,
            "total_investment": str(self.total_investment) if self.total_investment is not None else None,
            "funds": str(self.funds) if self.funds is not None else None,
            "implementing_unit": self.implementing_unit, "manager": self.manager,
            "period_text": self.period_text, "benefit": self.benefit,
        }


@dataclass
class Item:
    kind: str  # workpoint | task | project | team
    ref: str
    text: str
    parent: str | None = None
    category: str | None = None
    topic: str | None = None
    number: str = ""
    units: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # unit -> lead | co
    officials: list[str] = field(default_factory=list)  # named leaders (责任领导), never units
    # The 责任单位 names as the document wrote them, in order, vague ones ("相关部门") included.
    units_as_written: list[str] = field(default_factory=list)
    deadline: date | None = None
    start: date | None = None
    deadline_text: str = ""
    recurrence: str | None = None
    milestones: list[Milestone] = field(default_factory=list)
    project: ProjectDetail | None = None
    line: int | None = None

    @property
    def lead(self) -> str | None:
        return next((u for u in self.units if self.roles.get(u) == "lead"), None)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind, "ref": self.ref, "parent": self.parent, "category": self.category,
            "topic": self.topic, "number": self.number, "text": self.text, "units": self.units,
            "officials": self.officials, "units_as_written": self.units_as_written,
            "lead": self.lead, "co_units": [u for u in self.units if self.roles.get(u) == "co"],
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "start": self.start.isoformat() if self.start else None,
            "deadline_text": self.deadline_text, "recurrence": self.recurrence,
            "milestones": [{"due": m.due.isoformat(), "text": m.text} for m in self.milestones],
            "line": self.line,
        }
        if self.project is not None:
            data["project"] = self.project.as_dict()
        return data


@dataclass
class ParsedPlan:
    year: int
    title: str
    source: str = ""
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Names the directory did not know, with the kind guessed for them: created on import.
    new_units: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Item]:
        return [item for item in self.items if item.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": {"year": self.year, "title": self.title, "source": self.source},
            "items": [item.as_dict() for item in self.items],
            "problems": [problem.as_dict() for problem in self.problems],
        }
