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


# --- the family of real phrases (issue 16) -------------------------------------------

# (phrase, deadline, start) in a 2021 plan, dates worked out by hand from the conventions of
# tests/corpus/LABELLING.md.
FAMILY = [
    # a month alone, with what is to happen then
    ("9月投入使用", D(2021, 9, 30), None),
    ("11月底前完成", D(2021, 11, 30), None),
    ("主体工程8月底前全面完成", D(2021, 8, 31), None),
    # quarters, in Chinese and Arabic numerals
    ("三季度末", D(2021, 9, 30), None),
    ("一季度内", D(2021, 3, 31), None),
    ("3季度末", D(2021, 9, 30), None),
    ("第4季度", D(2021, 12, 31), D(2021, 10, 1)),
    ("2021年第一季度", D(2021, 3, 31), D(2021, 1, 1)),
    # next year and this year
    ("明年6月底前", D(2022, 6, 30), None),
    ("次年一季度末", D(2022, 3, 31), None),
    ("今年4月底前", D(2021, 4, 30), None),
    # the whole year
    ("全年", D(2021, 12, 31), None),
    ("年终", D(2021, 12, 31), None),
    ("年度目标", D(2021, 12, 31), None),
    ("上半年结束时", D(2021, 6, 30), None),
    ("在2023年中", D(2023, 6, 30), None),
    ("年内持续推进", D(2021, 12, 31), None),
    # festivals: 国庆 is 1 October; a plan's 元旦 is the one closing its year
    ("国庆节前", D(2021, 9, 30), None),
    ("元旦前", D(2021, 12, 31), None),
    ("2021年元旦前", D(2020, 12, 31), None),
    ("五一前", D(2021, 4, 30), None),
    # the 2021 Mid-Autumn Festival (8th month, 15th day) fell on Tuesday 21 September 2021
    ("中秋节前", D(2021, 9, 20), None),
    # traditional characters (Hong Kong documents)
    ("於 2023 年底前", D(2023, 12, 31), None),
    ("年內持續推進", D(2021, 12, 31), None),
    ("以期在2024年或之前", D(2024, 12, 31), None),
    # years and plans written as ranges
    ("(2018—2020年)", D(2020, 12, 31), D(2018, 1, 1)),
    ("到2025年", D(2025, 12, 31), None),
    ("十四五期间", D(2025, 12, 31), D(2021, 1, 1)),  # the 14th five-year plan is 2021–2025
    ("第十一个五年", D(2010, 12, 31), D(2006, 1, 1)),  # the 11th, 2006–2010
    ("2023-24年度", D(2024, 3, 31), D(2023, 4, 1)),  # Hong Kong's financial year, April to March
    ("在未來五年(2023-24 至 2027-28 年度)", D(2028, 3, 31), D(2023, 4, 1)),
    # a date whose 月 a conversion lost, when only one split of the digits is a date
    ("615日", D(2021, 6, 15), None),
    ("1215日前", D(2021, 12, 15), None),
    # a weekday beside the date, which agrees with it (1 October 2021 was a Friday)
    ("10月1日(星期五)前", D(2021, 10, 1), None),
    ("二○二一年四月二十八日", D(2021, 4, 28), None),
]


@pytest.mark.parametrize(("phrase", "deadline", "start"), FAMILY)
def test_family_of_real_phrases(phrase: str, deadline: date, start: date | None) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.understood, reading.note
    assert (reading.deadline, reading.start) == (deadline, start)


def test_a_start_milestone_is_not_a_completion() -> None:
    reading = read_deadline("5月底前动工", YEAR)
    assert reading.understood
    assert (reading.start, reading.deadline) == (D(2021, 5, 31), None)
    reading = read_deadline("6月底前开工，12月底前完工", YEAR)
    assert (reading.start, reading.deadline) == (D(2021, 6, 30), D(2021, 12, 31))
    reading = read_deadline("从2022年3月起", YEAR)
    assert (reading.start, reading.deadline) == (D(2022, 3, 1), None)


def test_a_bracket_that_says_when_within_the_time_before_it() -> None:
    assert read_deadline("第四季度(11月份)", YEAR).deadline == D(2021, 11, 30)
    assert read_deadline("年底前（12月15日）", YEAR).deadline == D(2021, 12, 15)
    # A bracket outside the time before it narrows nothing; the phrase is read as it was.
    assert read_deadline("第四季度（3月）", YEAR).deadline != D(2021, 3, 31)


def test_work_that_begins_in_a_time_is_due_to_begin_by_its_end_but_from_then_is_its_first_day() -> None:
    reading = read_deadline("3月上旬开始，6月30日前完工", YEAR)
    assert (reading.start, reading.deadline) == (D(2021, 3, 10), D(2021, 6, 30))
    assert read_deadline("从3月上旬开始", YEAR).start == D(2021, 3, 1)
    assert read_deadline("3月中旬起", YEAR).start == D(2021, 3, 11)
    assert read_deadline("7月开始实施", YEAR).start == D(2021, 7, 1)


def test_compound_every_dated_stage_a_milestone_the_last_the_deadline_the_rest_ongoing() -> None:
    reading = read_deadline("1月底前完成方案制定；其它事项12月底前完成并长期坚持", YEAR)
    assert reading.understood
    assert reading.deadline == D(2021, 12, 31)
    assert [(m.due, m.text) for m in reading.milestones] == [(D(2021, 1, 31), "1月底前完成方案制定"),
                                                            (D(2021, 12, 31), "其它事项12月底前完成")]
    assert reading.note is not None and "长期坚持" in reading.note


def test_spring_festival_comes_from_the_lunar_calendar() -> None:
    # Spring Festival fell on 12 February 2021 and on 1 February 2022: the day before is the deadline.
    assert read_deadline("春节前", 2021).deadline == D(2021, 2, 11)
    assert read_deadline("春节前", 2022).deadline == D(2022, 1, 31)
    assert read_deadline("2022年春节前", 2021).deadline == D(2022, 1, 31)


def test_dates_listed_a_quarter_apart_are_a_quarterly_schedule() -> None:
    for phrase in ("3月25日、6月25日、9月25日、12月25日前", "2021年3月31日、6月30日、9月30日和12月31日前分四次",
                   "3月底、6月底、9月底、12月底前"):
        reading = read_deadline(phrase, YEAR)
        assert (reading.recurrence, reading.deadline) == ("quarterly", None), phrase
    assert read_deadline("按月", YEAR).recurrence == "monthly"
    assert read_deadline("季检查", YEAR).recurrence == "quarterly"
    assert read_deadline("以季度為節點", YEAR).recurrence == "quarterly"


# (phrase, reference day, deadline): counted from a document's issue date or a chat message's day.
RELATIVE = [
    ("限期30天", D(2021, 8, 31), D(2021, 9, 30)),
    ("限期三十天", D(2021, 8, 31), D(2021, 9, 30)),
    ("15日内", D(2021, 8, 31), D(2021, 9, 15)),
    # 31 August 2022 was a Wednesday: Thursday 1, Friday 2 and Monday 5 September are the three.
    ("三个工作日内", D(2022, 8, 31), D(2022, 9, 5)),
    # 1–7 October 2021 were the National Day holiday and Saturday 9 October a working day in their
    # stead: the working days after 30 September are 8, 9 and 11 October.
    ("3个工作日内", D(2021, 9, 30), D(2021, 10, 11)),
    ("下月底", D(2021, 1, 15), D(2021, 2, 28)),
    ("下个月底前", D(2021, 12, 10), D(2022, 1, 31)),
    ("本月底前", D(2021, 4, 10), D(2021, 4, 30)),
    ("两周后", D(2021, 3, 1), D(2021, 3, 15)),
    ("2个月内", D(2021, 3, 1), D(2021, 5, 1)),
    ("下周五", D(2021, 11, 3), D(2021, 11, 12)),  # 3 November 2021 was a Wednesday
    ("明天", D(2021, 2, 28), D(2021, 3, 1)),
    ("即日起至9月27日", D(2022, 9, 14), D(2022, 9, 27)),
    ("通告之日起至2022年10月20日", D(2022, 10, 8), D(2022, 10, 20)),
]


@pytest.mark.parametrize(("phrase", "reference", "deadline"), RELATIVE)
def test_relative_phrases_count_from_the_reference_day(phrase: str, reference: date, deadline: date) -> None:
    reading = read_deadline(phrase, reference.year, reference=reference)
    assert reading.understood, reading.note
    assert reading.deadline == deadline


@pytest.mark.parametrize("phrase", ["限期30天", "三个工作日内", "下月底", "两周后", "本月底以前", "下周五", "明天"])
def test_relative_phrase_without_a_reference_is_not_understood(phrase: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert not reading.understood
    assert reading.deadline is None and reading.start is None
    assert reading.note is not None and "参照日期" in reading.note


def test_working_days_beyond_the_official_calendar_are_not_counted() -> None:
    # chinese_calendar carries the State Council's calendar from 2004 on; 2003 is not in it.
    reading = read_deadline("5个工作日内", 2003, reference=D(2003, 6, 2))
    assert not reading.understood and reading.deadline is None
    assert reading.note is not None and "2003" in reading.note


def test_chat_reads_a_date_without_a_year_as_the_next_one_from_the_request() -> None:
    december = D(2021, 12, 10)
    assert read_deadline("1月底", december.year, reference=december, upcoming=True).deadline == D(2022, 1, 31)
    assert read_deadline("12月底", december.year, reference=december, upcoming=True).deadline == D(2021, 12, 31)
    assert read_deadline("春节前", december.year, reference=december, upcoming=True).deadline == D(2022, 1, 31)
    assert read_deadline("2021年1月底", december.year, reference=december, upcoming=True).deadline == D(2021, 1, 31)
    # A document's "1月底" is its plan year's, whatever its issue date.
    assert read_deadline("1月底", december.year, reference=december).deadline == D(2021, 1, 31)


def test_chat_extension_request_reads_dates_from_the_day_it_is_written() -> None:
    from bot.parsing import new_date_and_reason

    assert new_date_and_reason("1月底 等待批复", D(2021, 12, 10)) == (D(2022, 1, 31), "等待批复")
    assert new_date_and_reason("下月底 材料待补", D(2021, 12, 10)) == (D(2022, 1, 31), "材料待补")
    assert new_date_and_reason("两周后", D(2021, 11, 1)) == (D(2021, 11, 15), "")


@pytest.mark.parametrize("phrase", [
    "128日前",  # 1月28日 or 12月8日: two readings, so none
    "2022121日",  # 2022年1月21日 or 2022年12月1日
    "每月双月底前",  # two cycles that contradict each other
    "在 2023 年下半年至 2024",  # a bare 2024 with nothing to borrow a unit from
    "10月底后开工",
    "春节后",
    "在国卫复审暗访以前",
    "4月20日(星期四)前",  # 20 April 2021 was a Tuesday
    "为期一年",
    "立行立改",
])
def test_unknown_or_contradictory_text_is_not_guessed(phrase: str) -> None:
    reading = read_deadline(phrase, YEAR, reference=D(2021, 3, 1))
    assert not reading.understood
    assert reading.deadline is None and reading.start is None and reading.recurrence is None
    assert reading.text == phrase


# --- ranges, campaign words, relative days and cadences (the phrase corpus's misses) ---------

# (phrase, plan year, reference, deadline): the end of a range is the deadline; dates by hand.
MORE = [
    # a range whose right side has only its day borrows the month (and year) of the left
    ("9月15日-25日", 2013, None, D(2013, 9, 25)),
    ("8月11日至21日", 2015, None, D(2015, 8, 21)),
    ("10月11-31日", 2020, None, D(2020, 10, 31)),
    ("2009年1月5日至15日", 2009, None, D(2009, 1, 15)),
    ("自2018年5月18日至28日", 2018, None, D(2018, 5, 28)),
    # a long dash, and a 一 typed for a dash between two dates
    ("2020年9月30日——10月30日", 2020, None, D(2020, 10, 30)),
    ("5月30日一6月4日", 2021, None, D(2021, 6, 4)),
    # the right side with its own 前; 五一 is 1 May, so before it is 30 April of the next year
    ("9月底至今年年底前", 2005, None, D(2005, 12, 31)),
    ("今年年底至明年“五一”前", 2005, None, D(2006, 4, 30)),
    # the 2020 Spring Festival fell on 25 January 2020
    ("从2019年11月20日至2020年春节前", 2019, None, D(2020, 1, 24)),
    ("从本周起至5月底", 2007, D(2007, 5, 8), D(2007, 5, 31)),
    # several ranges listed, each after the name of its season: the last end
    ("夏收季节4月20日-6月20日;秋收季节8月20日-11月20日", 2018, None, D(2018, 11, 20)),
    ("夏季麦收期间(6月5日一6月30日)、秋季秋收期间(10月1日一10月31日)", 2021, None, D(2021, 10, 31)),
    # quarters after a campaign word, and numbers sharing one unit
    ("决战四季度", 2022, None, D(2022, 12, 31)),
    ("決勝二季度", 2023, None, D(2023, 6, 30)),
    ("三、四季度", 2022, None, D(2022, 12, 31)),
    ("分别于6月底和7月底", 2009, None, D(2009, 7, 31)),
    # counted from the reference day: 11 Oct + 7 days; 25 Apr + 10 days; 16 Dec + 20 days crosses the year
    ("7日之内", 2017, D(2017, 10, 11), D(2017, 10, 18)),
    ("在本公告公布之日起十日内", 2025, D(2025, 4, 25), D(2025, 5, 5)),
    ("大干20天", 2017, D(2017, 12, 16), D(2018, 1, 5)),
    ("本月底前", 2017, D(2017, 12, 5), D(2017, 12, 31)),
    ("月底前", 2008, D(2008, 7, 16), D(2008, 7, 31)),
    ("今天晚间前", 2018, D(2018, 11, 28), D(2018, 11, 28)),
    # festivals with a reference: the next one on or after it (Spring Festival 2021 was 12 February)
    ("春节前", 2020, D(2020, 12, 22), D(2021, 2, 11)),
    # 2023: 中秋 on 29 September, 国庆 on 1 October; before both is before the first
    ("中秋、国庆节前", 2023, None, D(2023, 9, 28)),
    # a time with what is done in it
    ("年底兑现", 2018, None, D(2018, 12, 31)),
    ("年内可以完成", 2021, None, D(2021, 12, 31)),
    ("12月底前取得明显成效并长期坚持", 2023, None, D(2023, 12, 31)),
    ("11月前全麵完成、12月查漏補缺和完善提升", 2024, None, D(2024, 12, 31)),
    # 元月 is January; the years ahead of a plan; a plan's years in brackets; the end of a five-year plan
    ("于元月底前", 2012, None, D(2012, 1, 31)),
    ("今后四年", 2008, None, D(2012, 12, 31)),
    ("今年和明年两年", 2018, None, D(2019, 12, 31)),
    ("(2023-2025)", 2023, None, D(2025, 12, 31)),
    # a 建设年限 cell: the year itself, or the last of a span of years
    ("2022", 2022, None, D(2022, 12, 31)),
    ("2022-2023", 2022, None, D(2023, 12, 31)),
    ("2020第三季度", 2021, None, D(2020, 9, 30)),  # a year written without its 年
    # numbered stages of one time limit: the last one due
    ("1.2021年8月 2.2021年12月", 2021, None, D(2021, 12, 31)),
    ("1、物流中心7月1日投入试运营 2、南岩市场2022年12月底完成建设 3、钟楼市场10月1日前完成", 2021, None, D(2022, 12, 31)),
    ("到“十四五”期末", 2023, None, D(2025, 12, 31)),
    # a year run into its month: a year has four digits, so there is one split
    ("202111月底前", 2021, None, D(2021, 11, 30)),
    ("2021910日前动工,202112月底前全部竣工", 2021, None, D(2021, 12, 31)),
]


@pytest.mark.parametrize(("phrase", "year", "reference", "deadline"), MORE)
def test_ranges_campaigns_relative_days(phrase: str, year: int, reference: date | None, deadline: date) -> None:
    reading = read_deadline(phrase, year, reference=reference)
    assert reading.understood, reading.note
    assert reading.deadline == deadline


def test_range_and_year_run_starts() -> None:
    assert read_deadline("9月15日-25日", 2013).start == D(2013, 9, 15)
    assert read_deadline("2021910日前动工,202112月底前全部竣工", 2021).start == D(2021, 9, 10)
    assert read_deadline("4月1日零時起", 2006).start == D(2006, 4, 1)


@pytest.mark.parametrize(("phrase", "recurrence"), [
    ("一月一调度", "monthly"), ("一月一通報", "monthly"), ("一季度一观摩", "quarterly"), ("逐月查账", "monthly"),
    ("按月足额支付", "monthly"), ("按月逐级向上报送", "monthly")])
def test_cadences_written_as_once_per_period(phrase: str, recurrence: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.understood and reading.recurrence == recurrence and reading.deadline is None


@pytest.mark.parametrize("phrase", [
    "按月度计划推进",  # following a plan, not a cycle
    "在一月内",  # within one month, or in January
    "跨年度施工",  # 跨年度 is not the year's end
    "春节前后", "汛前", "128日前", "2022121日", "本月底前",
    "20221", "2022-2021", "1234"])  # a year run into a figure, years backwards, no year at all
def test_still_not_read(phrase: str) -> None:
    reading = read_deadline(phrase, YEAR)
    assert reading.recurrence is None
    assert reading.deadline is None


def test_a_festival_without_a_reference_is_the_plan_years() -> None:
    assert read_deadline("春节前", 2021).deadline == D(2021, 2, 11)


@pytest.mark.parametrize("phrase", ["春节期间", "春節期間", "国庆节假期期间", "2021年春节期间做好值班"])
def test_during_a_holiday_is_when_not_by_when(phrase: str) -> None:
    reading = read_deadline(phrase, 2021)
    assert reading.deadline is None and not reading.understood


def test_a_date_beside_a_holiday_s_period_is_read() -> None:
    assert read_deadline("元旦春节期间和2月底前", 2021).deadline == D(2021, 2, 28)


def test_a_holiday_s_period_with_its_days_is_those_days() -> None:
    reading = read_deadline("春节期间（2月11日至17日）", 2021)
    assert (reading.start, reading.deadline) == (D(2021, 2, 11), D(2021, 2, 17))


@pytest.mark.parametrize(("phrase", "year", "deadline"), [
    ("23年底前", 2023, date(2023, 12, 31)), ("98年6月底", 1997, date(1998, 6, 30)),
    # A Taiwan notice of December 2008 (民國97年) about "98年元旦": the Republic's year 98 is 2009.
    ("98年元旦", 2008, date(2009, 1, 1))])
def test_a_year_written_with_two_digits(phrase: str, year: int, deadline: date) -> None:
    assert read_deadline(phrase, year).deadline == deadline


def test_two_digits_and_years_are_a_span_not_a_year() -> None:
    assert read_deadline("15年内", 2021).deadline is None


@pytest.mark.parametrize(("phrase", "deadline"), [("3.6", date(2021, 3, 6)), ("12.31", date(2021, 12, 31))])
def test_a_calendar_s_month_dot_day(phrase: str, deadline: date) -> None:
    assert read_deadline(phrase, 2021).deadline == deadline


@pytest.mark.parametrize("phrase", ["3.6%", "13.5", "0.5"])
def test_a_figure_is_no_month_dot_day(phrase: str) -> None:
    assert read_deadline(phrase, 2021).deadline is None


def test_a_year_of_the_republic_in_three_digits() -> None:
    assert read_deadline("112年6月底", 2023).deadline == date(2023, 6, 30)
