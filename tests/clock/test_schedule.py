"""Working days and the dates of reminders, escalations and check-ins (pure, no database)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tasks.clock.policy import Policy, PolicyRules
from tasks.clock.schedule import HORIZON, ladder_steps, next_step, reminder_steps, steps_between
from tasks.clock.workdays import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
D = date


def test_official_calendar_with_make_up_days() -> None:
    calendar = WorkCalendar()
    assert not any(calendar.is_workday(D(2021, 10, day)) for day in range(1, 8))  # National Day
    assert calendar.is_workday(D(2021, 10, 9))  # 调休 Saturday
    assert calendar.is_workday(D(2021, 9, 26))  # 调休 Sunday
    assert not calendar.is_workday(D(2021, 6, 14))  # Dragon Boat Festival, a Monday
    assert calendar.shift(D(2021, 9, 30), 1) == D(2021, 10, 8)
    assert calendar.shift(D(2021, 10, 11), -1) == D(2021, 10, 9)
    assert calendar.count_between(D(2021, 9, 30), D(2021, 10, 11)) == 3  # 10/8, 10/9, 10/11


def test_years_without_official_data_fall_back_and_warn_once() -> None:
    warnings: list[str] = []
    calendar = WorkCalendar(holidays=[D(2031, 1, 1)], workdays=[D(2031, 1, 4)], warn=warnings.append)
    assert not calendar.is_workday(D(2031, 1, 1))  # configured holiday (a Wednesday)
    assert calendar.is_workday(D(2031, 1, 4))  # configured make-up Saturday
    assert calendar.is_workday(D(2031, 1, 6)) and not calendar.is_workday(D(2031, 1, 5))
    assert len(warnings) == 1 and "2031" in warnings[0]


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def test_reminders_and_ladder_for_a_deadline_on_a_sunday() -> None:
    steps = steps_between(D(2021, 10, 31), None, Policy(), WorkCalendar(), after=at(D(2021, 6, 1)),
                          until=at(D(2021, 11, 20)))
    assert [(s.at.date(), s.level) for s in steps] == [
        (D(2021, 10, 15), "d10"), (D(2021, 10, 22), "d5"), (D(2021, 10, 27), "d2"), (D(2021, 10, 28), "d1"),
        (D(2021, 10, 29), "d0"),  # the last working day on or before the deadline
        (D(2021, 11, 1), "unit"), (D(2021, 11, 4), "office"), (D(2021, 11, 10), "leadership"),
        (D(2021, 11, 17), "repeat1")]
    assert all(s.at.hour == 9 and s.at.tzinfo == SH for s in steps)


def test_policy_numbers_change_the_steps() -> None:
    policy = Policy(reminder_offsets=(3,), office_after=1, leadership_after=2, repeat_every=10)
    steps = steps_between(D(2021, 9, 30), None, policy, WorkCalendar(), after=at(D(2021, 9, 1)),
                          until=at(D(2021, 11, 1)))
    assert [(s.at.date(), s.level) for s in steps] == [
        (D(2021, 9, 27), "d3"), (D(2021, 10, 8), "unit"), (D(2021, 10, 9), "office"), (D(2021, 10, 11), "leadership"),
        (D(2021, 10, 25), "repeat1")]


def test_check_ins_in_the_last_working_week_of_each_period() -> None:
    quarterly = steps_between(None, None, Policy(), WorkCalendar(), after=at(D(2021, 6, 18)), until=at(D(2022, 1, 31)))
    assert [(s.at.date(), s.level) for s in quarterly] == [
        (D(2021, 6, 28), "2021Q2"), (D(2021, 9, 27), "2021Q3"), (D(2021, 12, 27), "2021Q4")]
    half_yearly = [s for s in steps_between(D(2021, 10, 31), "half-yearly", Policy(), WorkCalendar(),
                                            after=at(D(2021, 6, 18)), until=at(D(2022, 1, 31))) if s.rule == "checkin"]
    assert [s.level for s in half_yearly] == ["2021H1", "2021H2"]


def test_next_step_is_the_first_one_after() -> None:
    step = next_step(D(2021, 10, 31), None, Policy(), WorkCalendar(), after=at(D(2021, 10, 15)))
    assert step is not None and (step.at.date(), step.level) == (D(2021, 10, 22), "d5")
    step = next_step(D(2021, 10, 31), None, Policy(), WorkCalendar(), after=at(D(2022, 3, 1)))
    assert step is not None and step.rule == "overdue" and step.level.startswith("repeat")


CALENDAR = WorkCalendar()  # one calendar, so that the schedules kept per deadline are reused as in the planner
DAYS = st.dates(min_value=D(2021, 1, 1), max_value=D(2023, 12, 31))


@given(DAYS, st.one_of(st.none(), DAYS), st.integers(min_value=0, max_value=30_000),
       st.integers(min_value=0, max_value=24 * 60))
@settings(max_examples=300, deadline=None)
def test_the_schedule_kept_per_deadline_answers_as_walking_the_calendar(due_on: date, after_day: date | None,
                                                                        window_hours: int, minute: int) -> None:
    policy = Policy()
    after = None if after_day is None else at(after_day) + timedelta(minutes=minute)
    until = (after or at(due_on - timedelta(days=30))) + timedelta(hours=window_hours)
    walked = sorted((s for s in [*reminder_steps(due_on, policy, CALENDAR),
                                 *ladder_steps(due_on, policy, CALENDAR, until)]
                     if (after is None or s.at > after) and s.at <= until), key=lambda s: (s.at, s.rule, s.level))
    assert steps_between(due_on, None, policy, CALENDAR, after=after, until=until) == walked
    if after is not None:
        following = [s for s in [*reminder_steps(due_on, policy, CALENDAR),
                                 *ladder_steps(due_on, policy, CALENDAR, after + HORIZON)] if s.at > after]
        step = next_step(due_on, None, policy, CALENDAR, after=after)
        assert (step.at if step else None) == min((s.at for s in following), default=None)


def test_an_extension_makes_new_occurrences() -> None:
    old = {s.key(7) for s in steps_between(D(2021, 9, 30), None, Policy(), WorkCalendar(), after=None,
                                           until=at(D(2021, 12, 1)))}
    new = {s.key(7) for s in steps_between(D(2021, 11, 30), None, Policy(), WorkCalendar(), after=None,
                                           until=at(D(2021, 12, 1)))}
    assert old.isdisjoint(new)


@pytest.mark.parametrize(("bad", "field"), [({"send_at": "22:00"}, "send_at"), ({"office_after": 9}, "office_after"),
                                            ({"checkin_cycle": "daily"}, "checkin_cycle"),
                                            ({"reminder_offsets": [-1]}, "reminder_offsets"),
                                            ({"send_at": "nine"}, "send_at"), ({"remind_dayz": [1]}, "remind_dayz")])
def test_bad_policy_is_refused_naming_the_key(bad: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        PolicyRules.model_validate(bad)


def test_the_rules_in_a_timezone_keep_every_rule() -> None:
    rules = PolicyRules(reminder_offsets=(1, 3), office_after=1)
    policy = rules.in_timezone(ZoneInfo("Asia/Urumqi"))
    assert policy.reminder_offsets == (3, 1) and policy.office_after == 1 and policy.timezone.key == "Asia/Urumqi"
