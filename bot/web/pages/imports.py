"""导入: upload the year's document, read its preview and problems, settle them on the page, import.

Uploading stores the file in a folder of its own under a random id (in ``desk.files``, with the
uploader's member id: nobody else continues it) and reads it against the directory as ``taskbot import
--dry-run`` does; nothing is written. The office then decides the units the document leaves open: a
vague phrase ("相关成员单位") is given real units, a name the directory does not know is merged into a
unit as its alias or kept as a unit of its own. The decisions stay with the upload (tasks.plan.resolutions)
and the preview shows them. 确认导入 runs ``import_file`` as the command line does, with the office
member as the actor and the decisions applied in its transaction: all of it lands, or nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select

from bot.cli.plan import KIND_NAMES, UNIT_KIND_NAMES
from bot.cli.preview import deadline_text
from bot.web.desk import MAX_UPLOAD_BYTES, RefusedError, Visit, page
from tasks.errors import ServiceError
from tasks.events import Actor
from tasks.models import Assignment, AssignmentStatus, Member, OfficeChoice, Plan, Task, Unit
from tasks.plan.directory import directory_from_db
from tasks.plan.importer import DocumentError, import_file, preview_file
from tasks.plan.parsed import Item, ParsedPlan, Problem
from tasks.plan.resolutions import Resolutions, assignable_items, pending_phrases
from tasks.plan.store import ImportSummary
from tasks.plan.units import UnitDirectory
from tasks.work.duties import actor_of
from tasks.work.lookup import NotFoundError, latest_plan

log = logging.getLogger(__name__)

FIELD = "document"
KEPT_FOR = timedelta(hours=24)  # an upload nobody finished is let go after this long
KEPT_PER_PERSON = 5
SHOWN_ROWS = 500  # the preview's table; a larger document is counted in full, listed in part
CARD_TEXT = 80  # a problem card quotes its task this far; the table below has the whole text

NO_FILE = "请先选择要导入的文件。"
EMPTY_FILE = "“{name}”是空文件，什么也没有导入：请检查后重新上传。"
GONE = "这次上传已失效（已导入、已放弃或超过一天未处理），什么也没有改动：请重新上传文件。"
BUSY = "这个文件正在导入，请稍候刷新页面查看结果。"
BAD_YEAR = "年份应为四位数字，如 2022。"
NOTHING_CHOSEN = "请至少勾选一个单位。"
FAILED = "导入没有完成，什么也没有改动：请稍后重试；仍不行请联系管理员查看日志。"


@dataclass
class Upload:
    """One uploaded document on its way to the database: what was read, and what the office decided."""

    id: str
    member_id: int
    filename: str
    folder: Path
    uploaded_at: datetime
    year: int | None
    parsed: ParsedPlan
    resolutions: Resolutions
    importing: bool = False
    summary: ImportSummary | None = None
    task_ids: dict[str, int] = field(default_factory=dict)  # after the import: ref -> task id
    imported_decisions: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / self.filename

    def discard(self) -> None:
        """The uploaded copy of the document goes (the desk stops, or the upload is let go)."""
        shutil.rmtree(self.folder, ignore_errors=True)


# --- keeping uploads ------------------------------------------------------------------------------


def _uploads(visit: Visit) -> list[Upload]:
    return [u for u in visit.desk.files.values() if isinstance(u, Upload)]


def _let_go(visit: Visit, upload: Upload) -> None:
    visit.desk.files.pop(upload.id, None)
    upload.discard()


def _tidy(visit: Visit) -> None:
    """Uploads left too long go, and a person keeps only their latest few."""
    now = visit.ctx.clock.now()
    for upload in _uploads(visit):
        if now - upload.uploaded_at > KEPT_FOR:
            _let_go(visit, upload)
    mine = sorted((u for u in _uploads(visit) if u.member_id == visit.me.member_id and u.summary is None),
                  key=lambda u: u.uploaded_at)
    for upload in mine[:-(KEPT_PER_PERSON - 1)] if len(mine) >= KEPT_PER_PERSON else []:
        _let_go(visit, upload)


def _upload(visit: Visit) -> Upload:
    """The upload the address names, if it is the viewer's own (another's is not there for them)."""
    upload = visit.desk.files.get(visit.request.match_info["token"])
    if not isinstance(upload, Upload) or upload.member_id != visit.me.member_id:
        raise RefusedError(404, GONE)
    return upload


_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


def _safe_name(name: str) -> str:
    """The file's own name, as the office knows it, without anything that could leave its folder."""
    name = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    if len(name) > 120:
        stem, suffix = Path(name).stem, Path(name).suffix
        name = stem[:120 - len(suffix)] + suffix
    return name or "上传的文件"


def _save(source: Any, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(source, out)


def _year(text: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise RefusedError(400, BAD_YEAR)
    return int(text)


def _document_sentence(error: DocumentError) -> str:
    """The importer's sentence, in the page's words where it names the command line's option."""
    return str(error).replace("请用 --year 指定", "请在“年份”一栏填写年份后重新上传")


# --- the pages -------------------------------------------------------------------------------------


@page("GET", "/import", may="import")
async def upload_form(visit: Visit) -> web.StreamResponse:
    _tidy(visit)
    plan = await visit.run(_latest_or_none)
    mine = sorted((u for u in _uploads(visit) if u.member_id == visit.me.member_id and u.summary is None),
                  key=lambda u: u.uploaded_at, reverse=True)
    return visit.render("imports.html", plan=plan, mine=mine, limit_mb=MAX_UPLOAD_BYTES >> 20, error="",
                        year=visit.query("year"))


@page("POST", "/import", may="import")
async def receive(visit: Visit) -> web.StreamResponse:
    try:
        return await _receive(visit)
    except (DocumentError, RefusedError) as error:
        sentence = _document_sentence(error) if isinstance(error, DocumentError) else error.sentence
        plan = await visit.run(_latest_or_none)
        return visit.render("imports.html", status=400, plan=plan, mine=[], limit_mb=MAX_UPLOAD_BYTES >> 20,
                            error=sentence, year=visit.form("year"))


def _latest_or_none(session: Session) -> Plan | None:
    try:
        return latest_plan(session)
    except NotFoundError:
        return None


async def _receive(visit: Visit) -> web.StreamResponse:
    sent: Any = visit.form_data.get(FIELD)
    if not isinstance(sent, web.FileField) or not sent.filename:
        raise RefusedError(400, NO_FILE)
    year = _year(visit.form("year"))
    name = _safe_name(sent.filename)
    _tidy(visit)
    folder = Path(tempfile.mkdtemp(prefix="taskbot-import-"))
    try:
        path = folder / name
        await asyncio.to_thread(_save, sent.file, path)
        if path.stat().st_size == 0:
            raise RefusedError(400, EMPTY_FILE.format(name=name))
        district = visit.ctx.district
        parsed = await visit.run(lambda session: preview_file(session, path, district=district, year=year))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    parsed.source = name
    upload = Upload(secrets.token_urlsafe(16), visit.me.member_id, name, folder, visit.ctx.clock.now(), year,
                    parsed, Resolutions(visit.me.member_id))
    visit.desk.files[upload.id] = upload
    raise web.HTTPSeeOther(f"/import/{upload.id}")


@page("GET", "/import/{token}", may="import")
async def preview(visit: Visit) -> web.StreamResponse:
    upload = _upload(visit)
    if upload.summary is not None:
        return visit.render("imports_done.html", upload=upload, view=_done_view(upload))
    return visit.render("imports_preview.html", upload=upload, view=await _preview_of(visit, upload), error="")


@page("POST", "/import/{token}/choose", may="import")
async def choose(visit: Visit) -> web.StreamResponse:
    """Units for a vague phrase on one item; a group stands for its members."""
    upload = _open(visit)
    ref, phrase = visit.form("ref"), visit.form("phrase")
    if (ref, phrase) not in _pending(upload.parsed):
        raise RefusedError(400, GONE)
    picked = [name.strip() for name in visit.form_data.getall("unit", []) if isinstance(name, str) and name.strip()]
    directory = await visit.run(lambda session: directory_from_db(session, visit.ctx.district))
    picked_units: list[str] = []  # the picked names, a group standing for its members, each once
    for name in picked:
        if name not in directory.kinds:
            raise RefusedError(400, f"单位名录中没有“{name}”：请刷新页面后重新选择。")
        picked_units += [unit for unit in directory.groups.get(name, [name]) if unit not in picked_units]
    others = [item.ref for item in assignable_items(upload.parsed)  # in the document's order
              if phrase in pending_phrases(item) and item.ref != ref
              and (item.ref, phrase) not in upload.resolutions.chosen]
    places = [ref, *others] if visit.form("everywhere") else [ref]
    # Each place gets the picked units less those its item names already: a unit picked because it
    # is missing elsewhere is not lost where the first item happens to name it.
    chosen = {place: [unit for unit in picked_units if unit not in _item(upload, place).units] for place in places}
    chosen = {place: units for place, units in chosen.items() if units}
    if not chosen:
        raise RefusedError(400, NOTHING_CHOSEN)
    _open(visit)  # the import may have been confirmed while the directory was read
    for place, units in chosen.items():
        upload.resolutions.chosen[(place, phrase)] = units
    names = "、".join(picked_units)
    if len(places) > 1:
        return visit.back_to(f"/import/{upload.id}", f"已指定“{phrase}”（共 {len(chosen)} 处）：{names}")
    return visit.back_to(f"/import/{upload.id}", f"已指定“{phrase}”：{names}")


@page("POST", "/import/{token}/merge", may="import")
async def merge(visit: Visit) -> web.StreamResponse:
    upload = _open(visit)
    name, target = visit.form("name"), visit.form("target")
    _undecided_name(upload, name)
    directory = await visit.run(lambda session: directory_from_db(session, visit.ctx.district))
    if not target:
        raise RefusedError(400, "请选择要合并到的单位。")
    if target not in directory.kinds or directory.is_group(target) or target in upload.parsed.new_units:
        raise RefusedError(400, f"“{target}”不是名录中的具体单位：请选择一个已有单位。")
    _open(visit)  # the import may have been confirmed while the directory was read
    upload.resolutions.merged[name] = target
    return visit.back_to(f"/import/{upload.id}", f"“{name}”将作为{target}的别名")


@page("POST", "/import/{token}/accept", may="import")
async def accept(visit: Visit) -> web.StreamResponse:
    upload = _open(visit)
    name = visit.form("name")
    _undecided_name(upload, name)
    upload.resolutions.accepted.add(name)
    return visit.back_to(f"/import/{upload.id}", f"“{name}”将作为新单位建立")


@page("POST", "/import/{token}/reopen", may="import")
async def reopen(visit: Visit) -> web.StreamResponse:
    """Take a decision back: the problem is open again."""
    upload = _open(visit)
    decisions = upload.resolutions
    ref, phrase, name = visit.form("ref"), visit.form("phrase"), visit.form("name")
    if ref:
        decisions.chosen.pop((ref, phrase), None)
    if name:
        decisions.merged.pop(name, None)
        decisions.accepted.discard(name)
    return visit.back_to(f"/import/{upload.id}", f"已撤销对“{phrase or name}”的处理")


@page("POST", "/import/{token}/discard", may="import")
async def discard(visit: Visit) -> web.StreamResponse:
    upload = _open(visit)
    _let_go(visit, upload)
    return visit.back_to("/import", f"已放弃“{upload.filename}”，什么也没有导入")


@page("POST", "/import/{token}/confirm", may="import")
async def confirm(visit: Visit) -> web.StreamResponse:
    upload = _open(visit)
    upload.importing = True
    try:
        actor = await visit.run(lambda session: _actor(session, visit.me.member_id))
        parsed, summary = await asyncio.to_thread(
            import_file, visit.ctx.engine, upload.path, visit.ctx.clock, actor, district=visit.ctx.district,
            year=upload.year, resolutions=upload.resolutions, source=upload.filename)
    except (ServiceError, DocumentError) as error:
        sentence = _document_sentence(error) if isinstance(error, DocumentError) else str(error)
        return await _failed(visit, upload, sentence)
    except Exception:
        log.exception("import of %s failed", upload.filename)
        return await _failed(visit, upload, FAILED)
    finally:
        upload.importing = False
    upload.parsed, upload.summary = parsed, summary
    upload.imported_decisions = _decision_lines(upload)
    upload.task_ids = await visit.run(lambda session: dict(session.exec(
        select(Task.ref, Task.id).where(Task.plan_id == summary.plan_id)).all()))
    shutil.rmtree(upload.folder, ignore_errors=True)  # the file is in the database now; the summary stays
    raise web.HTTPSeeOther(f"/import/{upload.id}")


async def _failed(visit: Visit, upload: Upload, sentence: str) -> web.Response:
    return visit.render("imports_preview.html", status=400, upload=upload, view=await _preview_of(visit, upload),
                        error=sentence)


def _actor(session: Session, member_id: int) -> Actor:
    member = session.get(Member, member_id)
    if member is None or not member.active:
        raise ServiceError("您的身份已失效，什么也没有导入：请重新登录后再试。")
    return actor_of(member)


def _open(visit: Visit) -> Upload:
    """An upload that can still be decided on: not imported, not being imported."""
    upload = _upload(visit)
    if upload.summary is not None:
        raise RefusedError(400, GONE)
    if upload.importing:
        raise RefusedError(409, BUSY)
    return upload


def _item(upload: Upload, ref: str) -> Item:
    return next(item for item in upload.parsed.items if item.ref == ref)


def _pending(parsed: ParsedPlan) -> set[tuple[str, str]]:
    return {(item.ref, phrase) for item in assignable_items(parsed) for phrase in pending_phrases(item)}


def _undecided_name(upload: Upload, name: str) -> None:
    if name not in _named_new_units(upload.parsed):
        raise RefusedError(400, GONE)


def _named_new_units(parsed: ParsedPlan) -> list[str]:
    named = {unit for item in parsed.items for unit in item.units}
    return [name for name in parsed.new_units if name in named]


# --- what the pages show ---------------------------------------------------------------------------


@dataclass
class Row:
    number: str
    kind: str
    text: str
    units: str
    deadline: str
    sub: bool
    ref: str


@dataclass
class Vague:
    ref: str
    phrase: str
    number: str
    text: str
    where: str
    units: str  # the item's units as read
    elsewhere: int = 0  # other items where the same words wait for units
    earlier: str = ""  # units the office already put on this task (an earlier import of the document)

    @property
    def short(self) -> str:
        return self.text if len(self.text) <= CARD_TEXT else self.text[:CARD_TEXT] + "…"


@dataclass
class NewName:
    name: str
    kind: str
    mentions: int
    first_where: str


@dataclass
class Decision:
    sentence: str
    ref: str = ""
    phrase: str = ""
    name: str = ""


@dataclass
class UnitChoice:
    name: str
    members: int = 0  # a group's


@dataclass
class PreviewView:
    counts: list[tuple[str, int]]
    rows: list[Row]
    hidden_rows: int
    vague: list[Vague]
    new_names: list[NewName]
    decisions: list[Decision]
    problems: list[Problem]
    open_count: int
    unit_groups: list[tuple[str, list[UnitChoice]]]  # for the pickers, by kind
    targets: list[tuple[str, list[str]]]  # for merging, by kind
    new_units_kept: list[str]


def _units_shown(item: Item, decisions: Resolutions, assignable: set[str]) -> str:
    """The item's units as the import will assign them. A row with sub-items is tracked through them
    and assigns nobody itself: its vague words are said as written, to be settled on its sub-items."""
    names = []
    for unit in item.units:
        shown = f"{decisions.merged[unit]}（原文“{unit}”）" if unit in decisions.merged else unit
        names.append(f"{shown}（牵头）" if item.roles.get(unit) == "lead" and len(item.units) > 1 else shown)
    for phrase in pending_phrases(item):
        chosen = decisions.chosen.get((item.ref, phrase))
        if item.ref not in assignable:
            names.append(phrase)
        else:
            names.append(f"{'、'.join(chosen)}（办公室指定，原文“{phrase}”）" if chosen else f"{phrase}（待指定）")
    return "、".join(names) or "（未写，导入后无人负责）"


def _covered(problem: Problem, vague: set[str], new_names: set[str]) -> bool:
    """A unit problem the page settles in its own section rather than lists."""
    return (problem.code == "unit.unknown" and problem.text in new_names) or (
        problem.code == "unit.unresolved" and problem.text in vague)


def _where_of(item: Item, parsed: ParsedPlan, phrase: str) -> str:
    """Where the document says it: its problem's place (a Word table's row keeps no line, so there
    only when the phrase is written once)."""
    said = [p for p in parsed.problems if p.code == "unit.unresolved" and p.text == phrase]
    if item.line is not None:
        return next((p.where for p in said if p.line == item.line), f"第{item.line}行")
    return said[0].where if len(said) == 1 else ""


def _office_added(session: Session, parsed: ParsedPlan) -> dict[str, list[str]]:
    """For a document imported before: the units the office put on its tasks (/assign, or this page),
    which no import takes off, by the task's ref."""
    plan = session.exec(select(Plan).where(Plan.year == parsed.year, Plan.title == parsed.title)).first()
    if plan is None:
        return {}
    added: dict[str, list[str]] = {}
    for ref, name in session.exec(
            select(Task.ref, Unit.name).join(Assignment, col(Assignment.task_id) == Task.id)
            .join(Unit, col(Unit.id) == Assignment.unit_id)
            .where(Task.plan_id == plan.id, Assignment.office_choice == OfficeChoice.ADDED,
                   Assignment.status != AssignmentStatus.WITHDRAWN).order_by(col(Assignment.id))):
        added.setdefault(ref, []).append(name)
    return added


async def _preview_of(visit: Visit, upload: Upload) -> PreviewView:
    district = visit.ctx.district

    def read(session: Session) -> tuple[UnitDirectory, dict[str, list[str]]]:
        return directory_from_db(session, district), _office_added(session, upload.parsed)

    directory, earlier = await visit.run(read)
    return _preview(upload, directory, earlier)


def _preview(upload: Upload, directory: UnitDirectory, earlier: dict[str, list[str]]) -> PreviewView:
    parsed, decisions = upload.parsed, upload.resolutions
    counts = [(name, n) for kind, name in KIND_NAMES.items() if (n := len(parsed.of_kind(kind)))]
    assignable = {item.ref for item in assignable_items(parsed)}
    rows = [Row(item.number, KIND_NAMES.get(item.kind, item.kind), item.text,
                _units_shown(item, decisions, assignable),
                "" if item.kind == "team" else deadline_text(item), item.parent is not None, item.ref)
            for item in parsed.items[:SHOWN_ROWS]]
    vague = [Vague(item.ref, phrase, item.number, item.text, _where_of(item, parsed, phrase),
                   "、".join(item.units) or "无", earlier="、".join(earlier.get(item.ref, [])))
             for item in assignable_items(parsed) for phrase in pending_phrases(item)
             if (item.ref, phrase) not in decisions.chosen]
    for entry in vague:
        entry.elsewhere = sum(1 for other in vague if other.phrase == entry.phrase) - 1
    named = _named_new_units(parsed)
    mentions = {name: [i for i in parsed.items if name in i.units] for name in named}
    new_names = [NewName(name, UNIT_KIND_NAMES.get(parsed.new_units[name], parsed.new_units[name]),
                         len(mentions[name]), _first_where(parsed, name))
                 for name in named if not decisions.decided_name(name)]
    pending_phrases_all = {phrase for _ref, phrase in _pending(parsed)}
    problems = [p for p in parsed.problems if not decisions.is_resolved(p, parsed)
                and not _covered(p, pending_phrases_all, set(named))]
    chosen_lines = [Decision(f"{_number(upload, ref)}“{phrase}”指定为：{'、'.join(names)}", ref=ref, phrase=phrase)
                    for (ref, phrase), names in decisions.chosen.items()]
    name_lines = [Decision(f"“{name}”合并为{target}的别名", name=name) for name, target in decisions.merged.items()]
    name_lines += [Decision(f"“{name}”作为新单位建立", name=name) for name in sorted(decisions.accepted)]
    by_kind: dict[str, list[UnitChoice]] = {}
    for name, kind in directory.kinds.items():
        if kind == "group":
            continue
        by_kind.setdefault(UNIT_KIND_NAMES.get(kind, kind), []).append(UnitChoice(name))
    groups = [UnitChoice(name, len(members)) for name, members in directory.groups.items()]
    unit_groups = ([("单位组（选中即指定其全部成员）", groups)] if groups else []) + list(by_kind.items())
    targets = [(kind, [u.name for u in units]) for kind, units in by_kind.items()]
    return PreviewView(counts, rows, max(0, len(parsed.items) - SHOWN_ROWS), vague, new_names,
                       chosen_lines + name_lines, problems, len(vague) + len(new_names), unit_groups, targets,
                       [n for n in named if n not in decisions.merged])


def _first_where(parsed: ParsedPlan, name: str) -> str:
    return next((p.where for p in parsed.problems if p.code == "unit.unknown" and p.text == name), "")


def _number(upload: Upload, ref: str) -> str:
    """An item as a decision names it: numbers repeat across a document's parts, so its words too."""
    item = _item(upload, ref)
    words = item.text if len(item.text) <= 14 else item.text[:14] + "…"
    number = f"第{item.number}项" if item.number else ""
    return f"{KIND_NAMES.get(item.kind, item.kind)}{number}“{words}”"


def _decision_lines(upload: Upload) -> list[str]:
    decisions = upload.resolutions
    return ([f"{_number(upload, ref)}“{phrase}”指定为：{'、'.join(names)}"
             for (ref, phrase), names in decisions.chosen.items()]
            + [f"“{name}”合并为{target}的别名" for name, target in decisions.merged.items()]
            + [f"“{name}”作为新单位建立" for name in sorted(decisions.accepted)])


@dataclass
class DoneView:
    counts: list[tuple[str, int]]
    rows: list[tuple[Row, int | None]]
    hidden_rows: int
    new_units: list[str]


def _done_view(upload: Upload) -> DoneView:
    parsed, summary = upload.parsed, upload.summary
    assert summary is not None
    decisions = upload.resolutions
    counts = [(name, n) for kind, name in KIND_NAMES.items() if (n := len(parsed.of_kind(kind)))]
    assignable = {item.ref for item in assignable_items(parsed)}
    rows = [(Row(item.number, KIND_NAMES.get(item.kind, item.kind), item.text,
                 _units_shown(item, decisions, assignable),
                 "" if item.kind == "team" else deadline_text(item), item.parent is not None, item.ref),
             upload.task_ids.get(item.ref))
            for item in parsed.items[:SHOWN_ROWS] if item.kind != "team"]
    return DoneView(counts, rows, max(0, len(parsed.items) - SHOWN_ROWS),
                    [n for n in summary.new_units if n not in decisions.merged])

