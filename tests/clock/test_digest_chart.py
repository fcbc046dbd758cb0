"""The digest's chart: a picture leadership can read on a phone, its Chinese drawn in a CJK font,
and the weekly trend it draws, told by the digests sent before."""

import io
import logging
import re
import warnings
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.text import Text
from openpyxl import Workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from bot.context import BotContext
from tasks.clock import FixedClock, digest_chart, planner
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import transaction
from tasks.models import OPEN_STATUSES, Assignment, AssignmentStatus, Member, Outbox, Role, Task, Unit
from tasks.notifications import Digest
from tasks.plan.importer import import_file
from tasks.work.duties import member_duty, report_completion
from tasks.work.review import one_reported_duty, verify
from tests.factories import ADMIN, bind, seed_plan

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy(timezone=SH)
DIGEST_DAY = date(2021, 11, 8)  # a Monday
SMALL_TITLE = "2021年区乡村振兴重点任务清单"
CJK = re.compile(r"[\u4e00-\u9fff]")


def small_plan(engine: Engine, clock: FixedClock, tmp_path: Path) -> list[str]:
    """A plan of 13 tasks, one unit each and no work teams, imported from a workbook; on 10/28 the
    first three verified as done and the fourth reported. Odd tasks are due 10月底前, even ones
    12月底前. Its units' names, in the workbook's order."""
    with Session(engine) as session:
        units = list(session.exec(select(Unit.name).where(Unit.kind == "department").order_by(Unit.id).limit(13)))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([SMALL_TITLE])
    sheet.append(["序号", "任务内容", "责任单位", "完成时限"])
    for number, unit in enumerate(units, start=1):
        sheet.append([number, f"推进第{number}项重点工作", unit, "2021年10月底前" if number % 2 else "2021年12月底前"])
    path = tmp_path / "small.xlsx"
    workbook.save(path)
    import_file(engine, path, clock, ADMIN, district="门头沟区")
    clock.moment = datetime(2021, 10, 28, 2, 0, tzinfo=UTC)
    office = bind(engine, clock, 900, Role.OFFICE)
    for number in (1, 2, 3, 4):
        member_id = bind(engine, clock, 900 + number, Role.MEMBER, units[number - 1])
        with transaction(engine) as session:
            task = session.exec(select(Task).where(Task.number == str(number))).one()
            member = session.get(Member, member_id)
            report_completion(session, clock, member, member_duty(session, member, task.id), "已完成")
            if number < 4:
                unit = session.exec(select(Unit).where(Unit.name == units[number - 1])).one()
                verify(session, clock, session.get(Member, office), one_reported_duty(session, task.id, unit))
    return units


def digest_of(engine: Engine, day: date = DIGEST_DAY) -> Digest:
    with Session(engine) as session:
        return Digest.model_validate(weekly_digest(session, day, POLICY))


def picture(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(png), format="png")


def assert_readable_picture(png: bytes) -> None:
    """A portrait picture a phone shows whole, with something drawn on most of it."""
    pixels = picture(png)
    height, width = pixels.shape[:2]
    assert 600 <= width <= 1280 and width <= height <= 1600, (width, height)
    assert len(png) < 1_000_000  # Telegram sends it as a photo, quickly
    grey = pixels[..., :3].mean(axis=2)
    assert grey.var() > 0.01  # not a blank page
    assert (grey < 0.9).mean() > 0.05  # bars, text and axes cover a good part of it


def chinese_texts(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and CJK.search(t.get_text())]


def assert_drawn_in_the_cjk_font(digest: Digest) -> list[str]:
    """Every Chinese text of the chart resolves to the CJK font file, and saving it misses no
    glyph; the Chinese texts."""
    font = digest_chart.cjk_font_file()
    assert font is not None, "scripts/bootstrap installs fonts-wqy-microhei"
    figure = digest_chart.drawn_chart(digest)
    texts = chinese_texts(figure)
    assert texts
    assert {Path(font_manager.findfont(t.get_fontproperties())) for t in texts} == {font}
    assert "DejaVu" not in font.name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        digest_chart.digest_chart(digest)
    assert [str(w.message) for w in caught if "missing from" in str(w.message)] == []
    return [t.get_text() for t in texts]


def test_a_small_plan_without_teams_is_drawn_by_unit_worst_first_and_the_rest_together(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    units = small_plan(prepared_engine, clock, tmp_path)
    digest = digest_of(prepared_engine)
    assert digest.title == SMALL_TITLE and digest.teams == []
    png = digest_chart.digest_chart(digest)
    assert_readable_picture(png)
    (tmp_path / "small.png").write_bytes(png)
    texts = assert_drawn_in_the_cjk_font(digest)
    assert any(SMALL_TITLE in text for text in texts)
    assert "逾期分工（项）" in texts and "完成率" in texts and "责任单位" in " ".join(texts)
    # Ten bars: the five units with an overdue duty (tasks 5, 7 … 13) first, then the five with
    # nothing done, then the three done units together.
    overdue_units = {units[n - 1] for n in range(5, 14, 2)}
    axis = [t.get_text().replace("\n", "") for t in digest_chart.drawn_chart(digest).axes[0].get_yticklabels()]
    assert len(axis) == digest_chart.MOST_BARS + 1 and axis[-1] == "其余3个单位"
    assert set(axis[:len(overdue_units)]) == overdue_units


def test_the_bundled_plan_is_drawn_by_work_team_under_its_own_title(prepared_engine: Engine,
                                                                    clock: FixedClock) -> None:
    seed_plan(prepared_engine, clock)
    digest = digest_of(prepared_engine)
    assert digest.title == "2021年门头沟区支援合作工作要点"
    assert_readable_picture(digest_chart.digest_chart(digest))
    texts = assert_drawn_in_the_cjk_font(digest)
    assert not any("支援合作工作周报" in text for text in texts)  # the plan's title, not a fixed topic
    axis = [t.get_text().replace("\n", "") for t in digest_chart.drawn_chart(digest).axes[0].get_yticklabels()]
    worst = sorted(digest.teams, key=lambda t: (-t.overdue, t.rate, t.name))
    assert axis == [t.name for t in worst][:digest_chart.MOST_BARS]


def counted(engine: Engine, day: date) -> tuple[int, float]:
    """Overdue duties and the completion rate on ``day``, counted from the assignments themselves."""
    with Session(engine) as session:
        live = (*OPEN_STATUSES, AssignmentStatus.DONE)
        total = session.exec(select(func.count()).where(col(Assignment.status).in_(live))).one()
        done = session.exec(select(func.count()).where(Assignment.status == AssignmentStatus.DONE)).one()
        overdue = session.exec(select(func.count()).where(col(Assignment.status).in_(OPEN_STATUSES),
                                                          col(Assignment.due_on) < day)).one()
    return overdue, round(done / total, 4)


def test_the_trend_after_two_digests_a_week_apart_has_each_weeks_figures_as_sent(
        prepared_engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    units = small_plan(prepared_engine, clock, tmp_path)
    ctx = BotContext(prepared_engine, clock, SH, "门头沟区")
    first_day, second_day = date(2021, 11, 1), date(2021, 11, 8)

    def digest_sent_on(day: date) -> Digest:
        clock.moment = datetime.combine(day, time(9, 30), tzinfo=SH)
        planner.run_tick(ctx.in_transaction, clock, POLICY, WorkCalendar())
        with Session(prepared_engine) as session:
            [row] = session.exec(select(Outbox).where(Outbox.kind == "digest", Outbox.dedupe_key.startswith(
                f"digest:{day.isocalendar()[0]}W{day.isocalendar()[1]:02d}:"), Outbox.address == "900")).all()
        return Digest.model_validate(row.payload)

    first = digest_sent_on(first_day)
    first_figures = counted(prepared_engine, first_day)
    # Between the two: the fifth unit's overdue duty is done and verified.
    clock.moment = datetime(2021, 11, 3, 10, 0, tzinfo=SH)
    member_id = bind(prepared_engine, clock, 905, Role.MEMBER, units[4])
    with transaction(prepared_engine) as session:
        task = session.exec(select(Task).where(Task.number == "5")).one()
        member = session.get(Member, member_id)
        report_completion(session, clock, member, member_duty(session, member, task.id), "已完成")
    with transaction(prepared_engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == units[4])).one()
        office = session.exec(select(Member).where(Member.address == "900")).one()
        verify(session, clock, office, one_reported_duty(session, task.id, unit))
    second = digest_sent_on(second_day)
    second_figures = counted(prepared_engine, second_day)
    assert second_figures[0] == first_figures[0] - 1 and second_figures[1] > first_figures[1]
    assert [(p.week_of, p.overdue, p.rate) for p in first.trend] == [(first_day, *first_figures)]
    assert [(p.week_of, p.overdue, p.rate) for p in second.trend] == [(first_day, *first_figures),
                                                                       (second_day, *second_figures)]
    figure = digest_chart.drawn_chart(second)
    assert [t.get_text() for t in figure.axes[1].get_xticklabels()] == ["11/1", "11/8"]


def test_a_digest_queued_before_the_chart_still_reads_and_draws() -> None:
    stored = {"week_of": "2021-09-13", "total": {"name": "合计", "total": 4, "done": 1, "reported": 1, "overdue": 1,
                                                 "rate": 0.25, "light": "red"},
              "teams": [], "units": [{"name": "区商务局", "total": 4, "done": 1, "reported": 1, "overdue": 1,
                                      "rate": 0.25, "light": "red"}],
              "lights": {"red": 1, "yellow": 1, "green": 2}, "overdue": [], "newly_done": [], "newly_overdue": [],
              "silent_units": [], "silent_days": 14}
    digest = Digest.model_validate(stored)
    assert digest.title == "" and digest.trend == []
    assert_readable_picture(digest_chart.digest_chart(digest))
    texts = assert_drawn_in_the_cjk_font(digest)
    assert any("工作周报" in text for text in texts)  # a plain heading where no title was stored


def test_without_a_cjk_font_the_chart_still_comes_and_the_log_says_why_chinese_may_not_show(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(digest_chart, "cjk_font_file", lambda: None)
    digest_chart._font_families.cache_clear()  # the warning is said once per process
    stored = {"week_of": "2021-09-13", "total": {"name": "合计", "total": 2, "done": 1, "reported": 0, "overdue": 0,
                                                 "rate": 0.5, "light": "yellow"},
              "teams": [], "units": [], "lights": {"red": 0, "yellow": 1, "green": 1}, "overdue": [],
              "newly_done": [], "newly_overdue": [], "silent_units": [], "silent_days": 14}
    with caplog.at_level(logging.WARNING, logger=digest_chart.__name__):
        png = digest_chart.digest_chart(Digest.model_validate(stored))
    assert picture(png).shape[0] > 600
    assert any("中文" in record.getMessage() and "fonts-wqy-microhei" in record.getMessage()
               for record in caplog.records)
    digest_chart._font_families.cache_clear()
