"""A platform's directory in chat: the office maps departments to units (``部门``), and a person of a
mapped department, or of one under it not mapped itself, is bound to its unit as they first write to
the app.

The directory is read here, on the event loop and before any transaction (a transaction on SQLite
holds the write lock from its start, and a platform may take seconds to answer); what was read is
then handed to tasks/work/departments.py, which decides in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import texts
from bot.channels import CHANNEL_NAMES
from bot.channels.directory import Department, DirectoryError
from bot.context import BotContext, Request, Who
from bot.render import Page, Reply, say
from tasks.errors import ServiceError, quoted
from tasks.models import Role
from tasks.work.departments import (
    Joined,
    bind_by_department,
    following,
    map_department,
    mappings,
    standing,
    unmap_department,
)
from tasks.work.duties import actor_of
from tasks.work.members import ROLE_NAMES

log = logging.getLogger(__name__)


# --- the office's command -------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryRead:
    """The directory's departments as ``部门`` needs them, read before its transaction; or the one
    sentence that says why there are none (the platform has no directory, or it could not be read)."""

    departments: tuple[Department, ...] = ()
    refusal: str = ""


async def read_departments(ctx: BotContext, who: Who) -> DirectoryRead:
    directory = ctx.directories.get(who.channel)
    if directory is None:
        return DirectoryRead(refusal=texts.no_directory(who.channel))
    try:
        return DirectoryRead(tuple(await directory.departments()))
    except DirectoryError as error:
        log.warning("could not read the %s directory: %s", who.channel, error.said)
        return DirectoryRead(refusal=error.said)


# What the command reads when it was not read first (the person was bound between the two looks).
NOT_READ = DirectoryRead(refusal=texts.HANDLER_FAILED)


def departments_command(req: Request, read: DirectoryRead = NOT_READ) -> Reply:
    """部门 — list; 部门 <部门> <单位> — map; 部门 <部门> 取消 — unmap."""
    if read.refusal:
        raise ServiceError(read.refusal)
    words = req.args.split()
    if not words:
        return _listing(req, read.departments)
    shown = [(d.id, d.name) for d in read.departments]
    known = shown + _gone(req, read.departments)
    key, rest = _named_first(known, words)
    if not rest:
        raise ServiceError(texts.USAGE_DEPARTMENTS)
    channel, platform = req.who.channel, CHANNEL_NAMES.get(req.who.channel, req.who.channel)
    actor = actor_of(req.member)
    if rest == [texts.DEPARTMENT_UNMAP_WORD]:
        department_id, name = _department(known, key, platform)
        unit = unmap_department(req.session, req.clock, actor, channel, department_id, name)
        return say(texts.department_unmapped(name, unit))
    department_id, name = _department(shown, key, platform)
    mapped = map_department(req.session, req.clock, actor, channel, department_id, name, " ".join(rest),
                            req.ctx.district)
    return say(texts.department_mapped(name, mapped.unit.name, mapped.before))


def _gone(req: Request, departments: tuple[Department, ...]) -> list[tuple[str, str]]:
    """(id, name) of the mapped departments the directory no longer shows: found only to unmap them."""
    shown = {d.id for d in departments}
    return [(m.department_id, m.department_name) for m in mappings(req.session, req.who.channel).values()
            if m.department_id not in shown]


def _spaced(name: str) -> str:
    """A name as the words of a command give it back: one space between its words."""
    return " ".join(name.split())


def _named_first(known: list[tuple[str, str]], words: list[str]) -> tuple[str, list[str]]:
    """The department named at the start of the words, and the words after it. A directory's name may
    have spaces in it ("区财政局 预算科"), so the longest known name or id the words begin with is
    the department; none: the first word is (and is said to be unknown)."""
    names = {key for entry in known for key in (entry[0], _spaced(entry[1]))}
    for count in range(len(words), 0, -1):
        if " ".join(words[:count]) in names:
            return " ".join(words[:count]), words[count:]
    return words[0], words[1:]


def _department(known: list[tuple[str, str]], key: str, platform: str) -> tuple[str, str]:
    """(id, name) of the department ``key`` names: its id, or its name when only one has it."""
    by_id = [entry for entry in known if entry[0] == key]
    if by_id:
        return by_id[0]
    named = [entry for entry in known if _spaced(entry[1]) == key]
    if len(named) > 1:
        raise ServiceError(texts.department_ambiguous(quoted(key), [i for i, _ in named]))
    if not named:
        raise ServiceError(texts.unknown_department(platform, quoted(key)))
    return named[0]


def _listing(req: Request, departments: tuple[Department, ...]) -> Reply:
    mapped = mappings(req.session, req.who.channel)
    if not departments and not mapped:
        return say(texts.NO_DEPARTMENTS)
    platform = CHANNEL_NAMES.get(req.who.channel, req.who.channel)
    followed = following([(d.id, d.parent_id) for d in departments], mapped)
    page = Page().add(texts.departments_title(platform, len(departments)))
    shown: set[str] = set()
    for depth, department in _as_tree(departments):
        shown.add(department.id)
        own, above = mapped.get(department.id), followed.get(department.id)
        page.add(texts.department_line(depth, department.id, department.name, own.unit_name if own else None,
                                       (above.department_name, above.unit_name) if above else None))
    for gone in (m for m in mapped.values() if m.department_id not in shown):
        page.add(texts.department_gone_line(gone.department_id, gone.department_name, gone.unit_name))
    page.add(texts.DEPARTMENTS_HINT)
    return page.reply()


def _as_tree(departments: tuple[Department, ...]) -> list[tuple[int, Department]]:
    """Each department with its depth, every one right under its parent: a platform lists them level
    by level (DingTalk) or as it pleases, and an indented line read under the wrong parent says the
    wrong thing about which unit a section follows."""
    known = {department.id for department in departments}
    children: dict[str, list[Department]] = {}
    for department in departments:
        parent = department.parent_id if department.parent_id in known else ""
        children.setdefault(parent or "", []).append(department)
    ordered: list[tuple[int, Department]] = []
    placed: set[str] = set()

    def walk(parent: str, depth: int) -> None:
        for child in children.get(parent, []):
            if child.id not in placed:  # a directory with a loop in it is still listed once
                placed.add(child.id)
                ordered.append((depth, child))
                walk(child.id, depth + 1)

    walk("", 0)
    ordered += [(0, department) for department in departments if department.id not in placed]
    return ordered


# --- binding by department --------------------------------------------------------------------------


@dataclass(frozen=True)
class Joining:
    """What the directory said of a person who wrote: ``reply`` answers instead of what they asked
    (they cannot be bound this way, and are told why); ``greeting`` goes before the answer (they
    were bound just now); neither: nothing to do, go on as usual."""

    reply: Reply | None = None
    greeting: str = ""


async def join_by_department(ctx: BotContext, who: Who) -> Joining:
    """Bind a person who writes to the app privately, on a platform with a directory and a mapped
    department, to the one unit their departments lead to (each its nearest mapping: its own, or
    one above it). Runs in transactions of its own; a
    message taken again finds them bound and binds nobody twice."""
    directory = ctx.directories.get(who.channel)
    if who.is_group or directory is None:
        return Joining()
    where = await ctx.run(lambda session: standing(session, who.channel, who.user_id))
    if where == "unbound_by_office":
        return Joining(say(texts.UNBOUND_BY_OFFICE))
    if where != "unknown":
        return Joining()
    try:
        person = await directory.person(who.user_id)
    except DirectoryError as error:
        log.warning("could not read %s on the %s directory: %s", who.user_id, who.channel, error.said)
        return Joining(say(texts.directory_unreadable(error.said)))
    if person is None or not person.department_ids:
        return Joining()

    def work(session: Session) -> Joined:
        return bind_by_department(session, ctx.clock, channel=who.channel, user_id=who.user_id,
                                  address=who.address, name=person.name or who.name, mobile=person.mobile,
                                  chains=person.chains)

    try:
        joined = await ctx.run(work)
    except IntegrityError:  # another message of theirs bound them meanwhile: this one finds them bound
        joined = await ctx.run(work)
    if joined.elsewhere is not None:
        platform = CHANNEL_NAMES.get(joined.elsewhere.channel, joined.elsewhere.channel)
        return Joining(say(texts.bound_elsewhere(platform, ROLE_NAMES[joined.elsewhere.role])))
    if joined.units:
        return Joining(say(texts.several_units(joined.units)))
    if joined.member is None or joined.unit is None:
        return Joining(say(texts.UNBOUND_BY_OFFICE)) if joined.standing == "unbound_by_office" else Joining()
    log.info("bound %s on %s to %s by department", who.user_id, who.channel, joined.unit.name)
    return Joining(greeting=texts.bound_by_department(joined.unit.name, ROLE_NAMES[Role.MEMBER]))


def greeted(greeting: str, reply: Reply | None) -> Reply:
    """The answer with the greeting before it, as a message of its own."""
    if reply is None:
        return say(greeting)
    return Reply([greeting, *reply.pages], reply.buttons, reply.files)
