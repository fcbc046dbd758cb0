"""The deadline parser on the phrasings work-point documents actually use (plan year 2021)."""

from datetime import date

import pytest

from tasks.plan.deadlines import find_milestones, find_recurrence, read_deadline, read_period

D = date
YEAR = 2021

# (phrase, deadline, start)
DATED = [
    ("10月底前", D(2021, 10, 31), None),
    ("8月底前", D(2021, 8, 31), None),
    ("6月底前", D(2021, 6, 30), None),
    ("9月底前", D(2021, 9, 30), None),
    ("2月底前", D(2021, 2, 28), None),
    ("11月底", D(2021, 11, 30), None),
    ("12月底前完成", D(2021, 12, 31), None),
    ("十月底", D(2021, 10, 31), None),
    ("十二月底前", D(2021, 12, 31), None),
    ("三月末", D(2021, 3, 31), None),
    ("7月份", D(2021, 7, 31), None),
    ("9月", D(2021, 9, 30), None),
    ("６月底前", D(2021, 6, 30), None),  # full-width digit
    ("10 月底前", D(2021, 10, 31), None),  # a space from the conversion
    ("**10月底前**", D(2021, 10, 31), None),  # bold markup left in the cell
    ("6月前", D(2021, 5, 31), None),  # literally "before June"
    ("年底前", D(2021, 12, 31), None),
    ("年内", D(2021, 12, 31), None),
    ("年底", D(2021, 12, 31), None),
    ("年末", D(2021, 12, 31), None),
    ("全年", D(2021, 12, 31), None),
    ("2021年底前", D(2021, 12, 31), None),
    ("2021年", D(2021, 12, 31), None),
    ("2021年度", D(2021, 12, 31), None),
    ("年中", D(2021, 6, 30), None),
    ("上半年", D(2021, 6, 30), D(2021, 1, 1)),
    ("下半年", D(2021, 12, 31), D(2021, 7, 1)),
    ("上半年前", D(2021, 6, 30), D(2021, 1, 1)),
    ("一季度", D(2021, 3, 31), D(2021, 1, 1)),
    ("二季度", D(2021, 6, 30), D(2021, 4, 1)),
    ("第三季度", D(2021, 9, 30), D(2021, 7, 1)),
    ("四季度", D(2021, 12, 31), D(2021, 10, 1)),
    ("一季度末", D(2021, 3, 31), None),
    ("三季度末前", D(2021, 9, 30), None),
    ("四季度末", D(2021, 12, 31), None),
    ("9月中旬", D(2021, 9, 20), None),
    ("9月上旬", D(2021, 9, 10), None),
    ("9月下旬", D(2021, 9, 30), None),
    ("2月下旬", D(2021, 2, 28), None),
    ("11月中旬前", D(2021, 11, 20), None),
    ("12月31日前", D(2021, 12, 31), None),
    ("12月31日", D(2021, 12, 31), None),
    ("6月30日前完成", D(2021, 6, 30), None),
    ("9月15号前", D(2021, 9, 15), None),
    ("2021年12月31日", D(2021, 12, 31), None),
    ("2021年12月31日前", D(2021, 12, 31), None),
    ("二〇二一年十二月三十一日前", D(2021, 12, 31), None),
    ("2021-12-31", D(2021, 12, 31), None),
    ("2021.09.30", D(2021, 9, 30), None),
    ("2021/9/30", D(2021, 9, 30), None),
    ("2021年8月底前", D(2021, 8, 31), None),
    ("2022年3月", D(2022, 3, 31), None),
    ("次年3月", D(2022, 3, 31), None),
    ("次年3月底前", D(2022, 3, 31), None),
    ("明年一季度", D(2022, 3, 31), D(2022, 1, 1)),
    ("次年上半年", D(2022, 6, 30), D(2022, 1, 1)),
    ("2021年6月-2021年9月", D(2021, 9, 30), D(2021, 6, 1)),
    ("2021年4月-2021年11月", D(2021, 11, 30), D(2021, 4, 1)),
    ("2021年6月-2021年12月", D(2021, 12, 31), D(2021, 6, 1)),
    ("2021年1月-2021年12月", D(2021, 12, 31), D(2021, 1, 1)),
    ("2021年6-2021年10月", D(2021, 10, 31), D(2021, 6, 1)),  # the seed's irregular range
    ("2021年4月-5月", D(2021, 5, 31), D(2021, 4, 1)),
    ("2021年6月至12月", D(2021, 12, 31), D(2021, 6, 1)),
    ("2021年6月—2021年9月", D(2021, 9, 30), D(2021, 6, 1)),
    ("6-9月", D(2021, 9, 30), D(2021, 6, 1)),
    ("6月-9月", D(2021, 9, 30), D(2021, 6, 1)),
    ("2021 5-2025 12", D(2025, 12, 31), D(2021, 5, 1)),
    ("2021.5-2022.12", D(2022, 12, 31), D(2021, 5, 1)),
    ("2021-2025年", D(2025, 12, 31), D(2021, 1, 1)),
    ("2021年-2023年", D(2023, 12, 31), D(2021, 1, 1)),
    ("2021-06-01至2021-09-30", D(2021, 9, 30), D(2021, 6, 1)),
    ("2021年11月-2022年3月", D(2022, 3, 31), D(2021, 11, 1)),
]


@pytest.mark.parametrize(("phrase", "deadline", "start"), DATED)
def test_dated_phrases(phrase: str, deadline: date, start: date | None) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.understood, reading.note
    assert (reading.deadline, reading.start) == (deadline, start)
    assert reading.text == phrase  # the original is kept verbatim


NO_FIXED_DATE = ["按选派和培训计划完成", "持续推进", "长期坚持", "按计划推进", "根据工作安排", "常态化开展",
                 "按照市级要求完成", "适时开展", "持续开展"]


@pytest.mark.parametrize("phrase", NO_FIXED_DATE)
def test_plan_based_phrases_have_no_date_and_keep_their_text(phrase: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.understood
    assert reading.deadline is None and reading.start is None
    assert reading.note is not None and phrase in reading.note


RECURRING = [
    ("每半年召开一次", "half-yearly"),
    ("每半年至少一次", "half-yearly"),
    ("每季度", "quarterly"),
    ("每季度末报送", "quarterly"),
    ("每月5日前", "monthly"),
    ("每月底前报送", "monthly"),
    ("每两个月一次", "bimonthly"),
    ("每年至少一次", "yearly"),
    ("每周一报送", "weekly"),
]


@pytest.mark.parametrize(("phrase", "recurrence"), RECURRING)
def test_recurring_phrases(phrase: str, recurrence: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.understood
    assert reading.recurrence == recurrence
    assert reading.deadline is None


UNREADABLE = ["尽快", "待定", "13月底前", "2月30日前", "10月底后", "xx", "2021年13月", "9月-6月"]


@pytest.mark.parametrize("phrase", UNREADABLE)
def test_unknown_text_is_kept_verbatim_and_not_guessed(phrase: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert not reading.understood
    assert reading.deadline is None and reading.start is None
    assert reading.text == phrase


def test_empty_cell_is_reported_not_dated() -> None:
    reading = read_deadline("  ", YEAR)
    assert not reading.understood and reading.deadline is None


def test_two_steps_in_one_cell_give_a_deadline_and_a_milestone_each() -> None:
    reading = read_deadline("6月底前启动，10月底前完成", YEAR)
    assert reading.deadline == D(2021, 10, 31)
    assert reading.start == D(2021, 6, 30)  # 启动 is when the work begins, not a completion
    assert [(m.due, m.text) for m in reading.milestones] == [(D(2021, 6, 30), "6月底前启动"),
                                                            (D(2021, 10, 31), "10月底前完成")]


def test_plan_year_decides_the_year() -> None:
    assert read_deadline("10月底前", 2023).deadline == D(2023, 10, 31)
    assert read_deadline("次年3月", 2023).deadline == D(2024, 3, 31)
    assert read_deadline("2月底前", 2024).deadline == D(2024, 2, 29)  # leap year


def test_deadline_inside_task_text_becomes_a_milestone() -> None:
    text = "4. 会同协作地区制定年度项目计划，建立项目专班机制，产业项目9月底100%开工，项目按计划要求按时完工。"
    assert [(m.due, m.text) for m in find_milestones(text, YEAR)] == [(D(2021, 9, 30), "产业项目9月底100%开工")]
    text = "区委书记或区长到协作地区每年调研对接至少一次，召开至少一次联席会议，8月底前完成。"
    assert [(m.due, m.text) for m in find_milestones(text, YEAR)] == [(D(2021, 8, 31), "8月底前完成")]


def test_recurring_and_counting_phrases_in_text_are_not_milestones() -> None:
    assert find_milestones("每月5日前报送进展，连续3个月跟踪", YEAR) == []
    assert find_recurrence("区委书记或区长每半年召开一次以上会议研究部署支援合作工作") == "half-yearly"
    assert find_recurrence("出台推进东西部协作政策文件") is None


def test_period_of_a_project_column() -> None:
    period = read_period("2021年6月-2021年9月", YEAR)
    assert period is not None and (period.start, period.end) == (D(2021, 6, 1), D(2021, 9, 30))
    assert read_period("看情况", YEAR) is None
