"""A parsed plan made to fit the database's columns, the same way on SQLite and PostgreSQL.

SQLite stores a 500-character 任务类别 in a VARCHAR(200), an amount of 10¹² in a NUMERIC(14,2) and
a NaN; PostgreSQL refuses each of them, and the whole import with it. So a document that imported
on one database failed on the other with a driver's error. Here every such value is cut to its
column or left out before anything is stored, and each becomes a problem the office reads in the
import summary (and in ``--dry-run``), so both databases store the same thing and say why.
"""

from __future__ import annotations

import functools
import hashlib
from decimal import Decimal

from sqlmodel import SQLModel

from tasks.models import Plan, Project, Task, Unit, WorkTeam
from tasks.plan.parsed import Item, ParsedPlan, Problem
from tasks.text import compact

# NUMERIC(14, 2): twelve digits before the point.
AMOUNT_LIMIT = Decimal(10) ** 12
CENT = Decimal("0.01")
ELLIPSIS = "…"


@functools.cache  # read for every item: a column lookup each time was most of this module's time
def _length(model: type[SQLModel], column: str) -> int:
    """The column's declared length, read from the model so that the two never disagree."""
    length = model.__table__.c[column].type.length  # type: ignore[attr-defined]
    assert isinstance(length, int)
    return length


def fit_to_columns(plan: ParsedPlan) -> None:
    """Cut over-long text to its column and leave out amounts no column can hold, recording a problem
    for each; refs keep their identity (a cut ref ends with a digest of the whole one)."""
    if len(plan.title) > (limit := _length(Plan, "title")):
        plan.problems.append(_problem("fit.title", "", plan.title, f"标题超过 {limit} 字，已截断"))
        plan.title = _cut(plan.title, limit)
    plan.source = _cut(plan.source, _length(Plan, "source"))
    renamed_units = _fit_unit_names(plan)
    renamed_refs: dict[str, str] = {}
    for item in plan.items:
        model = WorkTeam if item.kind == "team" else Task
        if len(item.ref) > (limit := _length(model, "ref")):
            renamed_refs[item.ref] = item.ref = _cut_ref(item.ref, limit)
        item.number = _fit(plan, item, "序号", item.number, _length(model, "number"))
        if item.kind == "team":
            item.text = _fit(plan, item, "专班名称", item.text, _length(WorkTeam, "name"))
        else:
            item.category = _fit_optional(plan, item, "类别", item.category, _length(Task, "category"))
            item.topic = _fit_optional(plan, item, "任务类别", item.topic, _length(Task, "topic"))
            item.deadline_text = _fit(plan, item, "完成时限", item.deadline_text, _length(Task, "deadline_text"))
            item.officials = _fit_officials(plan, item, _length(Task, "officials"))
        if renamed_units:
            item.units = [renamed_units.get(unit, unit) for unit in item.units]
            item.roles = {renamed_units.get(unit, unit): role for unit, role in item.roles.items()}
        if item.project is not None:
            _fit_project(plan, item)
    for item in plan.items:
        if item.parent in renamed_refs:
            item.parent = renamed_refs[item.parent]


def _fit_officials(plan: ParsedPlan, item: Item, limit: int) -> list[str]:
    """As many named leaders as the column holds, in document order; the rest said."""
    kept: list[str] = []
    for name in item.officials:
        if len("、".join([*kept, name])) > limit:
            plan.problems.append(_problem("fit.officials", f"第{item.line}行" if item.line else "", name,
                                          f"责任领导超过 {limit} 字，“{name}”及其后未保存", item.line))
            break
        kept.append(name)
    return kept


def _fit_project(plan: ParsedPlan, item: Item) -> None:
    detail = item.project
    assert detail is not None
    detail.region = _fit(plan, item, "地区", detail.region, _length(Project, "region"))
    detail.nature = _fit(plan, item, "建设性质", detail.nature, _length(Project, "nature"))
    detail.period_text = _fit(plan, item, "实施周期", detail.period_text, _length(Project, "period_text"))
    for field, label in (("total_investment", "总投资"), ("funds", "资金")):
        amount: Decimal | None = getattr(detail, field)
        # Compared as stored, to the cent: 999999999999.995 rounds up to 10¹², which no longer fits.
        if amount is not None and (not amount.is_finite() or abs(amount.quantize(CENT)) >= AMOUNT_LIMIT):
            plan.problems.append(_problem("fit.amount", _where(item), str(amount),
                                          f"{label}不是可以存储的金额（应为 1 万亿以内的数字），已留空", item.line))
            setattr(detail, field, None)


def _fit_unit_names(plan: ParsedPlan) -> dict[str, str]:
    """Unit names longer than a unit's name column, each cut the same way wherever it appears."""
    limit = _length(Unit, "name")
    names = {unit for item in plan.items for unit in item.units} | set(plan.new_units)
    renamed = {name: _cut_unit_name(name, limit) for name in names if len(compact(name)) > limit}
    for name in renamed:
        plan.problems.append(_problem("fit.unit", "", name, f"单位名称超过 {limit} 字，已截断；请办公室确认"))
    plan.new_units = {renamed.get(name, name): kind for name, kind in plan.new_units.items()}
    return renamed


def _fit(plan: ParsedPlan, item: Item, label: str, value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    plan.problems.append(_problem("fit.length", _where(item), value, f"{label}超过 {limit} 字，已截断", item.line))
    return _cut(value, limit)


def _fit_optional(plan: ParsedPlan, item: Item, label: str, value: str | None, limit: int) -> str | None:
    return None if value is None else _fit(plan, item, label, value, limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _cut_unit_name(name: str, limit: int) -> str:
    """A unit's name is also stored as its alias in compact form (NFKC, which can lengthen it:
    "…" becomes "..."), so the name is cut until both fit, and without an ellipsis."""
    cut = name[:limit]
    while len(compact(cut)) > limit:
        cut = cut[:-1]
    return cut


def _cut_ref(ref: str, limit: int) -> str:
    """A ref is the item's identity across imports: the cut one ends with a digest of the whole, so
    two long refs that share their start stay two, and the same document cuts them the same way."""
    digest = hashlib.sha256(ref.encode()).hexdigest()[:16]
    return f"{ref[: limit - len(digest) - 1]}#{digest}"


def _where(item: Item) -> str:
    return f"第{item.line}行" if item.line else ""


def _problem(code: str, where: str, text: str, message: str, line: int | None = None) -> Problem:
    # The line too, so that a Word document's problem is said at its 表N第M行 (tasks.plan.importer).
    return Problem(code, where, text[:200], message, line)
