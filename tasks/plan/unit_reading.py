"""Reading 责任单位 text during an import: the parser plus the problems it raises.

Names the directory does not know become new units (another district's document is
full of them), each occurrence reported so the office can later merge it as an
alias; phrases that name nobody are reported and assign no one.
"""

from __future__ import annotations

from tasks.plan.parsed import Problem
from tasks.plan.units import CO, LEAD, Assignee, UnitDirectory, UnitList, guess_kind, parse_units


class UnitReader:
    def __init__(self, directory: UnitDirectory) -> None:
        self.directory = directory
        self.new_units: dict[str, str] = {}  # name -> guessed kind, in order of first mention
        self._reported: set[tuple[str, str]] = set()

    def empty(self) -> UnitList:
        return UnitList()

    def read(self, text: str, where: str, line: int | None, problems: list[Problem]) -> UnitList:
        result = parse_units(text, self.directory)
        self._report(text, result, where, line, problems)
        return result

    def read_all_lead(self, text: str, where: str, line: int | None, problems: list[Problem]) -> UnitList:
        """Work-team leads: every named department leads its own field."""
        result = self.read(text, where, line, problems)
        result.assignees = [Assignee(a.unit, LEAD, a.known, a.via_group) for a in result.assignees]
        return result

    def read_lead_and_co(self, lead_text: str, co_text: str, where: str, line: int | None,
                         problems: list[Problem], *, lead_first: bool = True) -> UnitList:
        """Separate 牵头单位 and 配合单位 columns: the columns say the roles. The names as written
        follow the columns' order, each once (a 牵头单位 column often repeats a name of the 责任单位
        column beside it)."""
        leads = self.read_all_lead(lead_text, where, line, problems) if lead_text else UnitList()
        cos = self.read(co_text, where, line, problems) if co_text else UnitList()
        written = leads.as_written + cos.as_written if lead_first else cos.as_written + leads.as_written
        merged = UnitList(unresolved=leads.unresolved + cos.unresolved, unknown=leads.unknown + cos.unknown,
                          officials=leads.officials + cos.officials, as_written=list(dict.fromkeys(written)))
        merged.assignees = list(leads.assignees)
        taken = set(leads.names)
        merged.assignees += [Assignee(a.unit, CO, a.known, a.via_group) for a in cos.assignees
                             if a.unit not in taken]
        if merged.assignees and not leads.assignees:
            first = merged.assignees[0]
            merged.assignees[0] = Assignee(first.unit, LEAD, first.known, first.via_group)
        return merged

    def _report(self, text: str, result: UnitList, where: str, line: int | None,
                problems: list[Problem]) -> None:
        # One label line can serve several items (a problem list's closing 整改责任单位): said once.
        if (text, where) in self._reported:
            return
        self._reported.add((text, where))
        for name in result.unknown:
            if name not in self.new_units:
                self.new_units[name] = guess_kind(name)
                self.directory.add_unit(name, self.new_units[name])
        for assignee in result.assignees:
            if assignee.unit in self.new_units:
                problems.append(Problem(
                    "unit.unknown", where, assignee.unit,
                    f"“{assignee.unit}”不在单位名录中，已作为新单位创建；请办公室确认，或将其合并为已有单位的别名",
                    line))
        for phrase in result.unresolved:
            problems.append(Problem(
                "unit.unresolved", where, phrase,
                f"“{phrase}”没有指明具体单位，未分配给任何单位；请办公室指定", line))
        if not result.assignees and not result.unresolved and text.strip():
            problems.append(Problem("unit.none", where, text, "没有读出任何责任单位", line))
