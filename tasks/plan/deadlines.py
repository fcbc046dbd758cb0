"""Reading 完成时限: from the phrases work-point documents and chat users write to dates.

A phrase is read by a small grammar of date expressions: a year part (2023年, 次年, 明年, 今年), a month
with its part (上中下旬, 初, 中, 底, 末) or day, quarters (第三季度, 三季度末, 一季度内), half years, the
year's end (年底, 全年), festivals (春节前, 国庆节前, 元旦前), five-year plans (十四五), ranges (6-9月,
即日起至9月27日) and compounds of dated stages split at ，；、 and 并 ("1月底前…；其它事项12月底前…并长期坚持").

Dates without a year belong to the plan year: documents write "10月底前" and mean 31 October of the
year the plan covers. Relative phrases ("限期30天", "3个工作日内", "下月底", "两周后") need a reference
day, which the caller gives: a document's issue date, or the day a chat message was written. Without
one they are not read. In chat (``upcoming=True``) a date without a year is the next such date on or
after the reference, so "1月底" written in December means next January.

The parser is strict: a phrase must be read whole, otherwise it is kept verbatim and reported
(``understood`` is False). It never guesses a date from part of a phrase it does not understand.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import chinese_calendar
from dateutil.relativedelta import relativedelta
from lunardate import LunarDate

from tasks.script import to_simplified
from tasks.text import WHITE_SPACE, arabic_numerals, chinese_number, fold_width, strip_markup


@dataclass(frozen=True)
class Period:
    """A span of the calendar a phrase names: 9月 is 1–30 September."""

    start: date
    end: date
    # True when the phrase names a stretch of time to work in (上半年, 2021年6月-9月),
    # False when it only names a moment to be done by (10月底前).
    is_span: bool = False


@dataclass(frozen=True)
class Milestone:
    """A dated step named inside a phrase or a task's text ("产业项目9月底100%开工")."""

    due: date
    text: str


@dataclass(frozen=True)
class DeadlineReading:
    text: str
    deadline: date | None = None
    start: date | None = None
    recurrence: str | None = None
    note: str | None = None
    understood: bool = True
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "start": self.start.isoformat() if self.start else None,
            "recurrence": self.recurrence,
            "note": self.note,
        }


@dataclass
class _Context:
    """What a reading may lean on besides the phrase itself."""

    year: int  # the year of a date written without one
    reference: date | None = None  # the issue date or the chat message's day, for relative phrases
    upcoming: bool = False  # chat: a date without a year is the next one on or after the reference
    # Why a phrase could not be read although its grammar was known (no reference day, no calendar).
    missing: set[str] = field(default_factory=set)


# --- normalisation -----------------------------------------------------------

_CJK = r"[\u3400-\u9fff]"
_TRAILING_NOISE = re.compile(r"[\s。.,，;；:：!！]+$")
# Spaces between CJK characters, or between a digit and CJK, are layout, not meaning;
# "2021 5" (year, month) keeps its space because both sides are digits.
_LAYOUT_SPACE = re.compile(rf"(?<={_CJK})\s+|\s+(?={_CJK})")
# A zero written as a circle or a letter O in a Chinese year (二○○六年).
_ZERO_LOOKALIKE = re.compile(r"(?<=[〇零一二三四五六七八九])[○◯OoΟ]|[○◯OoΟ](?=[〇零一二三四五六七八九○◯])")
# Counts before the units relative phrases use (三个工作日内, 三十天内); tasks.text reads the calendar units.
_COUNT_BEFORE_UNIT = re.compile(r"([〇零一二两三四五六七八九十]+)(?=天|个?(?:工作日|自然日|星期|礼拜))")
# The N-th five-year plan, read before the numerals: "第十一个五年" would otherwise become "第十一个5年".
_FIVE_YEAR_PLAN = re.compile(
    r"第([一二三四五六七八九十]+|\d+)个五年(?:规划|计划)?|(?<![\d〇零一二三四五六七八九十])十([一二三四五六七八九])五(?:规划|计划)?")
_FIVE_YEAR_TOKEN = "§"


def _five_year_token(match: re.Match[str]) -> str:
    number = chinese_number(match[1]) if match[1] else 10 + (chinese_number(match[2]) or 0)
    return f"{_FIVE_YEAR_TOKEN}{number}" if number else match[0]


# Quotation marks around a name ("十四五", "五一") carry no meaning for the date.
_QUOTES = re.compile(r"[“”\"‘’「」『』]")
# A 一 between a day and the next date is a dash ("5月30日一6月4日"), typed for "—".
_ONE_AS_DASH = re.compile(r"(?<=[日号])一(?=\d|[一二三四五六七八九十]+月)")
# Several numbers sharing one unit: "三、四季度" is 三季度、四季度; "6、7月" is 6月、7月.
_SHARED_QUARTER = re.compile(r"(?<![\d一二三四五六七八九十])([一二三四1-4])(?=(?:[、和及与][一二三四1-4])+季度)")
_SHARED_MONTH = re.compile(r"(?<![\d一二三四五六七八九十年])(1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])"
                           r"(?=(?:[、和及与](?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九]))+月)")
# Years listed and then counted, "今年和明年两年": the count only repeats the list.
_YEAR_WORD = r"(?:今年|本年|明年|次年|\d{4}年)"
_COUNTED_YEARS = re.compile(rf"(?P<list>{_YEAR_WORD}(?:[和、及与]{_YEAR_WORD})+)(?P<n>[两二三四五2-5])个?年$")


def _uncount_years(match: re.Match[str]) -> str:
    count = int(match["n"]) if match["n"].isdigit() else chinese_number(match["n"])
    return match["list"] if len(re.findall(_YEAR_WORD, match["list"])) == count else match[0]


# "1.2021年8月 2.2021年12月", "1、…7月1日投入试运营 2、…12月底完成": numbered stages of one time limit.
_STAGE_NUMBER = re.compile(r"(?:^|(?<=\s))[1-9][、.．](?=\d{4}年|\d{1,2}月|[^\d\s])")


_DASHED_YEARS = re.compile(r"((?:19|20)\d{2})\s*[-—–~～]+\s*((?:19|20)\d{2})\s*年")
_MONTH_DOT_DAY = re.compile(r"(?P<m>1[0-2]|0?[1-9])\.(?P<d>3[01]|[12]\d|0?[1-9])")
_MONTH_WITHOUT_YUE = re.compile(r"(?<=年)(1[0-2]|[1-9])(?=底|末|上旬|中旬|下旬)")
_YEAR_WITHOUT_NIAN = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=第?[一二三四1-4]季度|[上下]半年)")


def _normalise(text: str) -> str:
    text = to_simplified(fold_width(strip_markup(text)))
    if len(_STAGE_NUMBER.findall(text)) > 1:
        text = _STAGE_NUMBER.sub("；", text).strip("；")
    text = _QUOTES.sub("", text).replace("之内", "内").replace("零时", "0时").replace("零点", "0点")
    text = re.sub(r"(?<![公纪])元月", "1月", text)
    text = _ONE_AS_DASH.sub("-", text)
    text = _SHARED_MONTH.sub(r"\1月", _SHARED_QUARTER.sub(r"\1季度", text))
    text = _ZERO_LOOKALIKE.sub("〇", text.replace("○", "〇").replace("◯", "〇"))
    text = _FIVE_YEAR_PLAN.sub(_five_year_token, text)
    text = _COUNT_BEFORE_UNIT.sub(lambda m: str(chinese_number(m[1]) or m[1]), arabic_numerals(text)).strip()
    text = text.replace("或之前", "前").replace("或以前", "前").replace("之前", "前").replace("以前", "前")
    text = text.replace("以内", "内")
    text = WHITE_SPACE.sub(" ", _LAYOUT_SPACE.sub("", text))
    text = _TRAILING_NOISE.sub("", text)
    # A phrase wrapped whole in parentheses, "(2018—2020年)", reads as its content.
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1 and text.count(")") == 1:
        text = text[1:-1].strip()
    # A time limit that is only a year or a span of years ("2022", "2022-2023", "(2023-2025)", as a
    # 建设年限 cell or a plan's title gives them) is that year, that span of years.
    if (m := re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text)) and 1950 <= int(m[1]) <= 2100 and (
            m[2] is None or int(m[1]) < int(m[2]) <= 2100):
        text += "年"
    # "2016—2017年底前": a span of years written with a dash; "2016年6底前": a month without its 月.
    text = _DASHED_YEARS.sub(r"\1年至\2年", text)
    text = _MONTH_WITHOUT_YUE.sub(r"\1月", text)
    # "2020第三季度", "2021上半年": a year written without its 年.
    if "季度" in text or "半年" in text:
        text = _YEAR_WITHOUT_NIAN.sub(r"\1年", text)
    return _COUNTED_YEARS.sub(_uncount_years, text)


# --- recurrence and open-ended phrases -----------------------------------------

_CADENCE_VERB = r"(?:调度|检查|通报|考核|督查|督导|评估|讲评|点评|盘点|报告|小结|总结|分析|会商|例会|报送|上报|报)"
_NOT_A_CYCLE = r"(?![份初中底末内]|度?(?:计划|安排|要求|目标|任务|进度|序时|分解|节点))"
_RECURRENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"每(?:个)?(?:半年|6个月)"), "half-yearly"),
    (re.compile(r"每(?:2|两)个?月|双月|隔月"), "bimonthly"),
    (re.compile(r"每(?:个)?季度?"), "quarterly"),
    (re.compile(r"每(?:个)?月"), "monthly"),
    (re.compile(r"每(?:一)?年(?:度)?"), "yearly"),
    (re.compile(r"每(?:周|星期)"), "weekly"),
    (re.compile(r"每(?:个工作日|天|日)"), "daily"),
    # "以季度为节点": the cycle a piece of work is checked at.
    (re.compile(r"以(?:每)?季度?为(?:节点|周期|单位)"), "quarterly"),
    (re.compile(r"以(?:每)?月度?为(?:节点|周期|单位)"), "monthly"),
    (re.compile(r"以(?:每)?半年为(?:节点|周期|单位)"), "half-yearly"),
    (re.compile(r"以(?:每)?年度?为(?:节点|周期|单位)"), "yearly"),
    # "按月", "按季度报送"; "按年度计划推进" is following a plan, not a cycle, so a word must follow or nothing.
    (re.compile(rf"按(?:每)?季度?(?=$|{_CADENCE_VERB}|推进|更新|统计)"), "quarterly"),
    (re.compile(rf"按(?:每)?月度?(?=$|{_CADENCE_VERB}|推进|更新|统计)"), "monthly"),
    (re.compile(rf"按(?:每)?半年度?(?=$|{_CADENCE_VERB}|推进|更新|统计)"), "half-yearly"),
    (re.compile(rf"按(?:每)?年度?(?=$|{_CADENCE_VERB}|推进|更新|统计)"), "yearly"),
    (re.compile(rf"按(?:每)?周(?=$|{_CADENCE_VERB}|推进|更新|统计)"), "weekly"),
    # "按月足额支付", "按月逐级向上报送": by the month, unless a plan or target follows (按月度计划).
    (re.compile(rf"按(?:每)?季度?{_NOT_A_CYCLE}"), "quarterly"),
    (re.compile(rf"按(?:每)?月度?{_NOT_A_CYCLE}"), "monthly"),
    (re.compile(rf"按(?:每)?周{_NOT_A_CYCLE}"), "weekly"),
    # "逐月查账", "逐季盘点": month by month.
    (re.compile(r"逐季度?"), "quarterly"),
    (re.compile(r"逐月"), "monthly"),
    # "一月一调度", "一季度一观摩", "一年一考核": once in every month, quarter, year.
    (re.compile(r"^(?:1|一)个?(?:季度?)(?:1|一)次?[\u3400-\u9fff]"), "quarterly"),
    (re.compile(r"^(?:1|一)个?月(?:1|一)次?[\u3400-\u9fff]"), "monthly"),
    (re.compile(r"^(?:1|一)(?:周|星期)(?:1|一)次?[\u3400-\u9fff]"), "weekly"),
    (re.compile(r"^(?:1|一)年(?:1|一)次?[\u3400-\u9fff]"), "yearly"),
    # A cadence written as its own activity: 月调度、季检查、半年通报、年终考核, 季报, 年报.
    (re.compile(rf"^(?:月度?){_CADENCE_VERB}$"), "monthly"),
    (re.compile(rf"^(?:季度?){_CADENCE_VERB}$"), "quarterly"),
    (re.compile(rf"^半年度?{_CADENCE_VERB}$"), "half-yearly"),
    (re.compile(rf"^(?:年终|年度|年底|年末|年){_CADENCE_VERB}$"), "yearly"),
    (re.compile(rf"^(?:周){_CADENCE_VERB}$"), "weekly"),
)

# Each cycle's code (stored, and in ``--json``) as a person says it.
RECURRENCE_NAMES = {"daily": "每天", "weekly": "每周", "monthly": "每月", "bimonthly": "每两个月",
                    "quarterly": "每季度", "half-yearly": "每半年", "yearly": "每年"}

_OPEN_ENDED = re.compile(
    r"^(?:按|根据|依据|结合|视|随)"
    r"|持续|长期|常态|常年|经常|适时|随时|按需|动态|定期|及时|逐步|不定期"
)


def find_recurrence(text: str) -> str | None:
    """The cycle a text asks for (每半年…一次 → "half-yearly"), or None."""
    cycles = _cycles_in(_normalise(text))
    return cycles[0] if cycles else None


def _cycles_in(normalised: str) -> list[str]:
    """Every distinct cycle the text names, in the order of the table above."""
    found: list[str] = []
    rest = normalised
    for pattern, word in _RECURRENCES:
        if pattern.search(rest):
            # The words matched are taken out, so "每半年" is not seen a second time as a yearly "年".
            rest = pattern.sub("\x00", rest)
            if word not in found:
                found.append(word)
    return found


# --- points and spans ----------------------------------------------------------

_RELATIVE_YEAR = {"次年": 1, "明年": 1, "翌年": 1, "来年": 1, "下一年": 1, "下年": 1, "下一年度": 1,
                  "今年": 0, "本年": 0, "当年": 0, "本年度": 0, "去年": -1, "上一年": -1, "上年": -1}
# A year needs its 年: a bare "2024" is a number, not a date, unless a range gives it the unit.
_YEAR_PREFIX = re.compile(r"^(?:(?P<year>\d{4}) ?(?:年度|年)|(?P<rel>" + "|".join(
    sorted(_RELATIVE_YEAR, key=len, reverse=True)) + r"))的?")
_ANY_YEAR = re.compile(r"\d{4}|" + "|".join(sorted(_RELATIVE_YEAR, key=len, reverse=True)))

# A weekday in brackets after a day, and an hour: "4月20日(星期五)前", "12月31日24时前".
_WEEKDAY = r"(?:\((?:星期|周|礼拜)(?P<wd>[一二三四五六日天1-7])\))?(?:\d{1,2}(?:时|点)(?:\d{1,2}分)?|\d{1,2}:\d{2})?"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_MONTH_DAY = re.compile(rf"(?P<m>\d{{1,2}})月(?P<d>\d{{1,2}})[日号]{_WEEKDAY}")
# A conversion that lost the 月 leaves "615日" (6月15日): read only when one split of the digits
# is a date; "128日" (1月28日 or 12月8日) stays unread.
_MONTH_DAY_RUN = re.compile(rf"(?P<md>\d{{3,4}})[日号]{_WEEKDAY}")
_YEAR_MONTH_DAY_RUN = re.compile(rf"(?P<y>\d{{4}})(?P<md>\d{{3,4}})[日号]{_WEEKDAY}")
_MONTH_PART = re.compile(r"(?P<m>\d{1,2})月(?P<part>上旬|中旬|下旬|初|中|底|末|份|内|)")
_QUARTER = re.compile(r"第?(?P<q>[1-4])季度?(?P<end>末|底|内|)")
_HALF = re.compile(r"(?P<h>上|下)半年(?P<end>末|底|内|)")
_YEAR_END = re.compile(r"年?(?:底|末|内|终)|全年|年度(?:目标|指标|任务)?")
_MID_YEAR = re.compile(r"年?中")
_FESTIVAL = re.compile(r"(?P<name>春节|元宵节?|端午节?|中秋节?|元旦|五一(?:国际)?(?:劳动节)?|(?:国际)?劳动节"
                       r"|国庆节?|清明节?)(?:假期)?")
_FIVE_YEAR = re.compile(rf"{_FIVE_YEAR_TOKEN}(?P<n>\d{{1,2}})(?:期间|时期|期末|末|内|)")
# Hong Kong's financial year: "2023-24年度" runs from 1 April 2023 to 31 March 2024.
_FINANCIAL_YEAR = re.compile(r"(?P<y>\d{4})-(?P<yy>\d{2})(?P<unit>年度)?")
_NUMERIC_DATE = re.compile(rf"(?P<y>\d{{4}})[-./年](?P<m>\d{{1,2}})[-./月](?P<d>\d{{1,2}})日?{_WEEKDAY}")
_YEAR_MONTH_RUN = re.compile(r"(?P<y>\d{4})(?P<rest>\d{1,2}月.*)")
_NUMERIC_MONTH = re.compile(r"(?P<y>\d{4})(?:[./]| )(?P<m>\d{1,2})")
_BARE_NUMBER = re.compile(r"\d{1,4}")


# Long-range goals in these documents reach 到2035年 from plans of the early 2020s.
HORIZON_YEARS = 15


def latest_date(plan_year: int) -> date:
    """The last date a plan of this year may set for anything: a date typed in chat (an extension)
    beyond it is refused, so that no date near the calendar's end reaches the clock."""
    return date(plan_year + HORIZON_YEARS, 12, 31)


@functools.lru_cache(maxsize=4096)
def _months_span(year: int, first_month: int, months: int = 1) -> Period:
    """Whole months: 9月 is 1–30 September, 第三季度 is 1 July – 30 September. (Cached: an
    import reads the same few months in every row.)"""
    start = date(year, first_month, 1)
    return Period(start, start + relativedelta(months=months, days=-1))


def _plausible(year: int, month: int, day: int = 1) -> bool:
    if not (1900 <= year <= 2200 and 1 <= month <= 12):
        return False
    return 1 <= day <= _months_span(year, month).end.day


def _day(year: int, month: int, day: int, weekday: str | None) -> Period | None:
    """One day; a weekday written beside it ("4月20日(星期五)") must be that day's."""
    if not _plausible(year, month, day):
        return None
    when = date(year, month, day)
    if weekday and when.weekday() != _WEEKDAYS[weekday]:
        return None
    return Period(when, when)


def _day_from_run(year: int, digits: str, weekday: str | None) -> Period | None:
    readings = [p for cut in (1, 2) if len(digits) - cut in (1, 2)
                if (p := _day(year, int(digits[:cut]), int(digits[cut:]), weekday)) is not None]
    return readings[0] if len(readings) == 1 else None


@functools.lru_cache(maxsize=1024)
def festival_day(name: str, year: int) -> date | None:
    """The day of a festival in a calendar year: lunar ones from the lunar calendar, 清明 from the
    solar terms; None outside the calendars' range (lunardate: 1900–2099)."""
    name = name.replace("国际", "").replace("假期", "")
    try:
        if name.startswith("春节"):
            return LunarDate(year, 1, 1).to_solar_date()
        if name.startswith("元宵"):
            return LunarDate(year, 1, 15).to_solar_date()
        if name.startswith("端午"):
            return LunarDate(year, 5, 5).to_solar_date()
        if name.startswith("中秋"):
            return LunarDate(year, 8, 15).to_solar_date()
        if name.startswith("清明"):
            terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
            return next((day for day, term in terms if term == "清明"), None)
    except (ValueError, KeyError, NotImplementedError):
        return None
    fixed = {"元旦": (1, 1), "五一": (5, 1), "劳动节": (5, 1), "国庆": (10, 1)}
    for prefix, (month, day) in fixed.items():
        if name.startswith(prefix):
            return date(year, month, day)
    return None


def _festival(body: str, year: int, explicit_year: bool) -> Period | None:
    if not (m := _FESTIVAL.fullmatch(body)):
        return None
    # A plan's 元旦 is the one that closes its year; the one opening it has passed before the plan
    # is issued. A year written with it ("2022年元旦") names that year's.
    if m["name"] == "元旦" and not explicit_year:
        year += 1
    day = festival_day(m["name"], year)
    return Period(day, day) if day else None


def _read_body(body: str, year: int, explicit_year: bool = True) -> Period | None:
    """A point in time without its year prefix, read in ``year``."""
    if m := _MONTH_DAY.fullmatch(body):
        return _day(year, int(m["m"]), int(m["d"]), m["wd"])
    if m := _MONTH_DAY_RUN.fullmatch(body):
        return _day_from_run(year, m["md"], m["wd"])
    if m := _MONTH_PART.fullmatch(body):
        month = int(m["m"])
        if not _plausible(year, month):
            return None
        whole = _months_span(year, month)
        part = m["part"]
        if part in ("上旬", "初"):
            return Period(whole.start, date(year, month, 10))
        if part in ("中旬", "中"):
            return Period(date(year, month, 11), date(year, month, 20))
        if part == "下旬":
            return Period(date(year, month, 21), whole.end)
        return whole
    if m := _QUARTER.fullmatch(body):
        quarter = int(m["q"])
        return replace(_months_span(year, quarter * 3 - 2, months=3), is_span=not m["end"])
    if m := _HALF.fullmatch(body):
        return replace(_months_span(year, 1 if m["h"] == "上" else 7, months=6), is_span=not m["end"])
    # "底", "中" alone are a year's only after one: "2023年中", "年中".
    year_named = explicit_year or body.startswith(("年", "全年"))
    if _MID_YEAR.fullmatch(body) and year_named:
        return Period(date(year, 1, 1), date(year, 6, 30))
    if body == "" or (_YEAR_END.fullmatch(body) and year_named):
        return Period(date(year, 1, 1), date(year, 12, 31))
    return _festival(body, year, explicit_year)


def _five_year_plan(number: int) -> Period | None:
    """The N-th five-year plan's years: the first ran 1953–1957, the second 1958–1962, and after
    the 1963–1965 adjustment the third began in 1966 (the 14th is 2021–2025)."""
    if number < 1 or number > 40:
        return None
    first = 1953 + 5 * (number - 1) if number <= 2 else 1966 + 5 * (number - 3)
    return Period(date(first, 1, 1), date(first + 4, 12, 31), is_span=True)


def _read_point(text: str, plan_year: int, *, bare_unit: str | None = None) -> Period | None:
    """One point or period: "2021年8月底", "次年3月", "9月中旬", "2021.5", "春节".

    ``bare_unit`` lets the left side of a range borrow its unit from the right:
    in "6-9月" the 6 is a month, in "2021-2025年" the 2021 is a year.
    """
    text = text.strip()
    if m := _NUMERIC_DATE.fullmatch(text):
        return _day(int(m["y"]), int(m["m"]), int(m["d"]), m["wd"])
    if m := _YEAR_MONTH_DAY_RUN.fullmatch(text):
        return _day_from_run(int(m["y"]), m["md"], m["wd"])
    if m := _NUMERIC_MONTH.fullmatch(text):
        y, mo = int(m["y"]), int(m["m"])
        return _months_span(y, mo) if _plausible(y, mo) else None
    if m := _FIVE_YEAR.fullmatch(text):
        plan = _five_year_plan(int(m["n"]))
        return replace(plan, is_span=False) if plan and m[0].endswith("末") else plan
    if (m := _YEAR_MONTH_RUN.fullmatch(text)) and 1900 <= int(m["y"]) <= 2200:
        # "202111月底": a conversion lost the 年; a year has four digits, so the split is the only one.
        return _read_point(f"{m['y']}年{m['rest']}", plan_year)
    if (m := _FINANCIAL_YEAR.fullmatch(text)) and (m["unit"] or bare_unit == "financial"):
        first = int(m["y"])
        if (first + 1) % 100 != int(m["yy"]):
            return None
        return Period(date(first, 4, 1), date(first + 1, 3, 31), is_span=True)
    year = plan_year
    body = text
    explicit_year = False
    if m := _YEAR_PREFIX.match(text):
        explicit_year = True
        year = int(m["year"]) if m["year"] else plan_year + _RELATIVE_YEAR[m["rel"]]
        body = text[m.end():].strip()
    if bare_unit and _BARE_NUMBER.fullmatch(body or "x"):
        value = int(body)
        if bare_unit == "month" and _plausible(year, value):
            return _months_span(year, value)
    if not explicit_year and bare_unit and _BARE_NUMBER.fullmatch(text):
        value = int(text)
        if bare_unit == "year" and 1900 <= value <= 2200:
            return Period(date(value, 1, 1), date(value, 12, 31))
        if bare_unit == "month" and _plausible(plan_year, value):
            return _months_span(plan_year, value)
    if not body and not explicit_year:
        return None
    return _read_body(body, year, explicit_year) if 1900 <= year <= 2200 else None


# --- phrases relative to a reference day ----------------------------------------

_WITHIN = r"(?:内|后|止|为止|)"
_DAYS = re.compile(rf"(?:限期|限)(?P<n>\d+)(?:天|日|个自然日){_WITHIN}|(?P<m>\d+)(?:天|个自然日){_WITHIN}"
                   rf"|(?P<k>\d+)日(?:内|后)")
_WORKING_DAYS = re.compile(rf"(?:限期|限)?(?P<n>\d+)个?工作日{_WITHIN}")
_WEEKS = re.compile(rf"(?P<n>\d+)(?:周|个星期|个礼拜){_WITHIN}")
_MONTHS = re.compile(r"(?P<n>\d+)个月(?:内|后)?")
_DAY_WORDS = {"今天": 0, "今日": 0, "当天": 0, "当日": 0, "明天": 1, "明日": 1, "次日": 1, "后天": 2, "大后天": 3}
# "今天晚间", "明天上午": the day, whatever its hour.
_DAY_WORD = re.compile(r"(?P<day>" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True))
                       + r")(?:上午|中午|下午|晚上|晚间|夜间|夜里|下班)?")
_THIS_OR_NEXT = {"本": 0, "这": 0, "这个": 0, "当": 0, "下": 1, "下个": 1, "下一个": 1, "次": 1}
_REL_MONTH = re.compile(r"(?P<which>本|这个?|当|下一?个?|次)?月(?P<rest>上旬|中旬|下旬|初|中|底|末|份|内|"
                        r"\d{1,2}[日号]|)")
_REL_QUARTER = re.compile(r"(?P<which>本|这个?|当|下一?个?|次)季度?(?P<end>末|底|内|)")
_REL_WEEKDAY = re.compile(r"(?P<which>本|这|下一?个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")
_REL_WEEK = re.compile(r"(?P<which>本|这|下一?个?)(?:周|星期)(?:内|末|)")
_TODAY_ON = re.compile(r"(?:自|从)?(?:即日|今日|今天|(?:本|该)?(?:通告|公告|通知|文件|方案|意见|办法|决定)?"
                       r"(?:发布|印发|公布|下发|施行|实施)?之日)(?:起|开始)?")


def _working_day(reference: date, count: int, ctx: _Context) -> date | None:
    """The ``count``-th working day after ``reference`` on the State Council's calendar, which
    chinese_calendar carries for the years it knows (it raises for others: then nothing is read)."""
    day = reference
    try:
        while count > 0:
            day += timedelta(days=1)
            count -= chinese_calendar.is_workday(day)
    except NotImplementedError:
        ctx.missing.add(f"法定工作日历没有{day.year}年的数据")
        return None
    return day


def _read_relative(core: str, ctx: _Context) -> Period | None:
    """A phrase counted from the reference day, or None; notes a missing reference."""
    kind: str | None = None
    for pattern, name in ((_DAYS, "days"), (_WORKING_DAYS, "working"), (_WEEKS, "weeks"), (_MONTHS, "months"),
                          (_REL_MONTH, "month"), (_REL_QUARTER, "quarter"), (_REL_WEEKDAY, "weekday"),
                          (_REL_WEEK, "week")):
        if m := pattern.fullmatch(core):
            kind = name
            break
    if kind is None and (m := _TODAY_ON.match(core)) and 0 < m.end() < len(core) and any(
            p.fullmatch(core[m.end():]) for p in (_DAYS, _WORKING_DAYS, _WEEKS, _MONTHS)):
        # "本公告公布之日起十日内": counted from the day itself, which is the reference.
        return _read_relative(core[m.end():], ctx)
    if kind is None and (m := _DAY_WORD.fullmatch(core)):
        kind, core = "dayword", m["day"]
    if kind is None:
        return None
    reference = ctx.reference
    if reference is None:
        ctx.missing.add("相对时限需要参照日期（发文日期或申请当天）")
        return None
    end: date | None
    if kind == "dayword":
        end = reference + timedelta(days=_DAY_WORDS[core])
    elif kind == "days":
        end = reference + timedelta(days=int(m["n"] or m["m"] or m["k"]))
    elif kind == "working":
        end = _working_day(reference, int(m["n"]), ctx)
    elif kind == "weeks":
        end = reference + timedelta(weeks=int(m["n"]))
    elif kind == "months":
        end = reference + relativedelta(months=int(m["n"]))
    elif kind == "month":
        first = reference.replace(day=1) + relativedelta(months=_THIS_OR_NEXT.get(m["which"] or "本", 0))
        rest = m["rest"]
        if not m["which"] and rest not in ("底", "末"):
            return None  # a bare "月中" or "月" names no month
        period = _read_body(f"{first.month}月{rest}", first.year)
        return replace(period, is_span=False) if period else None
    elif kind == "quarter":
        quarter = (reference.month - 1) // 3 + _THIS_OR_NEXT.get(m["which"], 0)
        year = reference.year + quarter // 4
        span = _months_span(year, quarter % 4 * 3 + 1, months=3)
        return replace(span, is_span=not m["end"])
    elif kind == "weekday":
        monday = reference - timedelta(days=reference.weekday())
        wanted = _WEEKDAYS[m["wd"]]
        if m["which"]:
            end = monday + timedelta(weeks=_THIS_OR_NEXT.get(m["which"], 1), days=wanted)
        else:  # "周五前": the next Friday on or after the reference
            end = reference + timedelta(days=(wanted - reference.weekday()) % 7)
    else:  # a whole week: it ends on its Sunday
        monday = reference - timedelta(days=reference.weekday())
        end = monday + timedelta(weeks=_THIS_OR_NEXT.get(m["which"], 1), days=6)
    return Period(end, end) if end else None


# --- ranges and single phrases ----------------------------------------------------

# Word separators first: "2021-06-01至2021-09-30" must not be split at its hyphens.
_RANGE_SEPARATORS = (re.compile(r"\s*(?:至|到|~|～|—+|–+)\s*"), re.compile(r"\s*-+\s*"))
# "9月15日-25日", "10月11-31日": the side written without its month borrows it from the other.
_DAY_ONLY = re.compile(r"\d{1,2}[日号]")
_WITH_MONTH = re.compile(r"(?P<month>.*\d{1,2}月)\d{1,2}(?P<unit>[日号]?)")


def _unit_of(text: str) -> str:
    """Which unit a bare number on the left side of a range should borrow."""
    if re.fullmatch(r"\d{4}年?", text.strip()):
        return "year"
    if _FINANCIAL_YEAR.fullmatch(text.strip()):
        return "financial"
    return "month"


def _read_range(text: str, ctx: _Context, year: int) -> Period | None:
    for separator in _RANGE_SEPARATORS:
        parts = separator.split(text)
        if len(parts) == 2 and all(parts):
            return _read_range_parts(parts[0], parts[1], ctx, year)
    return None


def _read_range_parts(left_text: str, right_text: str, ctx: _Context, year: int) -> Period | None:
    left_text = re.sub(r"^(?:自|从|由)", "", left_text).strip()
    left_text = re.sub(r"(?:起|开始)$", "", left_text).strip()
    right_text = re.sub(r"(?:止|为止)$", "", right_text).strip()
    if _DAY_ONLY.fullmatch(right_text) and (m := _WITH_MONTH.fullmatch(left_text)):
        right_text = m["month"] + right_text
        left_text += "" if m["unit"] else right_text[-1]
    right_year = year
    if (m := _YEAR_PREFIX.match(left_text)) and m["year"] and not _ANY_YEAR.search(right_text):
        right_year = int(m["year"])  # "2009年1月5日至15日": the right side is in the left side's year
    if right_text.endswith("前"):
        # "9月底至今年年底前", "至2020年春节前": the end is read as a deadline of its own.
        right = _read_absolute(right_text, ctx, right_year)
        year = right_year
    else:
        right = _read_point(right_text, right_year, bare_unit="month")
    if right is None and re.fullmatch(r"\d{4}", right_text) and re.fullmatch(r"\d{4}年", left_text):
        # "2021年-2025": the left side's 年 covers a bare year on the right.
        right = _read_point(right_text, year, bare_unit="year")
    if right is None:
        return None
    if _TODAY_ON.fullmatch(left_text) or _read_relative(left_text, replace(ctx, missing=set())) is not None \
            or (ctx.reference is None and _RELATIVE_START.fullmatch(left_text)):
        # "即日起至9月27日": from the issue day on; the end is what matters.
        if ctx.reference and ctx.reference <= right.end:
            return Period(ctx.reference, right.end, is_span=True)
        return Period(right.end, right.end)
    left_year = right.end.year if not _YEAR_PREFIX.match(left_text) else year
    left = _read_point(left_text, left_year, bare_unit=_unit_of(right_text))
    if left is None or left.start > right.end:
        return None
    return Period(left.start, right.end, is_span=True)


# A start counted from the day ("从本周起至5月底"): the end is what matters.
_RELATIVE_START = re.compile(r"(?:本|这|当|今)(?:周|星期|月|天|日)")
_LEAD_WORDS = re.compile(r"^(?:分别)?(?:以期|力争|争取|确保|预计|计划|拟|务必|必须|须|最迟|最晚|不晚于)?"
                         r"(?:于|在|截至|截止到|截止|到|至)?")
_COMING_YEARS = re.compile(r"(?:未来|今后)(?P<n>\d+)年内?")
_YEARS_AHEAD = re.compile(r"(?:未来|今后)?(?P<n>\d+)年内?\((?P<range>.+)\)")


def _read_time(text: str, ctx: _Context) -> Period | None:
    """A whole time expression ("10月底前", "即日起至9月27日", "春节前"), or None."""
    text = _LEAD_WORDS.sub("", text.strip(), count=1).strip()
    if not text:
        return None
    relative = _read_relative(text[:-1] if text.endswith("前") else text, ctx)
    if relative is not None:
        return relative
    period = _read_absolute(text, ctx, ctx.year)
    if (period is not None and ctx.upcoming and ctx.reference is not None and period.end < ctx.reference
            and not _ANY_YEAR.search(text)):
        # Chat: "1月底" written in December is next January, the next such date from the request day.
        period = _read_absolute(text, ctx, ctx.year + 1)
    return period


def _read_absolute(text: str, ctx: _Context, year: int) -> Period | None:
    by = text.endswith("前")
    core = text[:-1] if by else text
    if not core:
        return None
    if m := _COMING_YEARS.fullmatch(core):
        # "今后四年" in a 2008 plan: the four years after it, 2009–2012.
        count = int(m["n"])
        return Period(date(year + 1, 1, 1), date(year + count, 12, 31), is_span=True) if 0 < count <= 10 else None
    if m := _YEARS_AHEAD.fullmatch(core):
        # "在未来十年(2023-24至2032-33年度)": the years in brackets, which must be as many as said.
        span = _read_range(m["range"], ctx, year)
        if span is None or round((span.end - span.start).days / 365.25) != int(m["n"]):
            return None
        return span
    period = _read_point(core, year)
    if period is not None and ctx.reference is not None and _FESTIVAL.fullmatch(core):
        # A festival named without its year, in a dated document: the next one on or after that day
        # ("春节前" written on 22 December 2020 is before the Spring Festival of 2021).
        period = next((p for y in (ctx.reference.year, ctx.reference.year + 1)
                       if (p := _festival(core, y, explicit_year=True)) and p.end >= ctx.reference), None)
    if period is None and core.endswith("内"):
        inner = _read_point(core[:-1], year)
        period = replace(inner, is_span=False) if inner else None
    if period is not None:
        if by and re.fullmatch(r"(?:\d{4}年)?\d{1,2}月", core):
            # "6月前" is literally "before June": the last day of May.
            end = period.start - timedelta(days=1)
            return Period(end, end)
        if by and _FESTIVAL.search(core):
            # "春节前", "国庆节前": the festival is a holiday, so the work is due the day before.
            end = period.start - timedelta(days=1)
            return Period(end, end)
        return period
    # "9月底至今年年底前": a range whose end carries the 前.
    return _read_range(text if by else core, ctx, year)


def read_period(text: str, plan_year: int, *, reference: date | None = None) -> Period | None:
    """The span a phrase names ("2021年6月-2021年9月" is 1 June to 30 September), or None."""
    return _read_time(_normalise(text), _Context(plan_year, reference))


# --- stages: a time expression with what is to happen then ---------------------------

_START_VERBS = r"(?:开工建设|开工|动工|开建|破土动工|进场施工|进场|启动|开始|着手)"
_ONGOING_VERBS = r"(?:持续推进|持续开展|长期坚持|坚持|常态化开展|常态化推进|常态化|长期推进|持续)"
# The verbs that say a piece of work is done (as opposed to started, reported or pushed on).
_COMPLETION_VERBS = r"(?:完成|完工|竣工|建成|投入使用|投入运营|投用|投产|通车|开业|交付|办结|封顶|到位|实现)"
_DONE_VERBS = (rf"(?:{_COMPLETION_VERBS}|运营|验收|结束|落实|"
               r"出台|印发|制定|上报|报送|提交|达到|达标|整改|形成|召开|举办|开展|推进|部署|发布|公布|实施|"
               r"见效|覆盖|挂牌|揭牌|签约|签订|审批|批复|销号|清零|上线|试运行|运行)")
_ADVERBS = r"(?:全面|全部|基本|如期|按时|按期|确保|力争|争取|基本)?"
_ACTION = re.compile(rf"{_ADVERBS}(?P<verb>{_START_VERBS}|{_ONGOING_VERBS}|{_DONE_VERBS})")
# The words of an action's object, or of a clause's subject, carry no time of their own.
_TIMELESS = re.compile(r"[^\d年月日号周季旬天前后起至到每内底末初节旦半次§,，;；、]*")


_TIMELESS_WORDS = re.compile(r"\d+(?:\.\d+)?%|年度|季度|月度|半年度")


@dataclass(frozen=True)
class _Stage:
    text: str
    period: Period | None  # None: an undated, ongoing stage (长期坚持)
    role: str  # "due", "start" (the work begins by then), "from" (the work begins then)
    ongoing: bool = False


_DURING_FESTIVAL = re.compile(r"(?:\d{4}年)?(?:(?:" + _FESTIVAL.pattern.replace("?P<name>", "?:") + r")[、和及与]?)+"
                              r"(?:假日|假期)?期间")


def _read_stage(clause: str, ctx: _Context) -> _Stage | None:
    """One clause: a time expression, optionally with a subject before it and an action after it."""
    clause = clause.strip()
    text = re.sub(r"(?:时|止|为止)$", "", clause)
    # "从3月起", "3月中旬起", "3月开始实施": in force from the first day. A bare "3月上旬开始" names
    # a start like "3月上旬开工" does, which is due by the end of that time.
    from_then = re.fullmatch(r"(?P<from>自|从)?(?P<when>[^至到]+?)(?P<word>起|开始)(?P<rule>实施|执行|施行)?", text)
    if (from_then and (from_then["from"] or from_then["word"] == "起" or from_then["rule"])
            and (period := _read_time(from_then["when"], ctx))):
        return _Stage(clause, period, "from")
    if _DURING_FESTIVAL.search(text):
        # "春节期间值班": when the work is done, through the holiday, not a day it is due by; a date
        # beside it ("元旦春节期间和2月底前") is still read.
        text = _DURING_FESTIVAL.sub("", text).strip("和及与、 ")
        if not re.search(r"\d|底|末|年|季|旬", text):
            return None
        text = re.sub(r"^[（(](.+)[）)]$", r"\1", text)  # "春节期间(2月11日-17日)": the days it says
    if (period := _read_time(text, ctx)) is not None:
        return _Stage(clause, period, "due")
    if (ending := re.fullmatch(r"(?P<when>.+?)结束", text)) and (period := _read_time(ending["when"], ctx)):
        # "上半年结束时": the moment the span ends, not the span.
        return _Stage(clause, replace(period, is_span=False), "due")
    for action in _ACTION.finditer(text):
        # An amount in the object ("完成50%") is not a time, nor is a kind of report ("完成年度考核").
        if action.start() == 0 or not _TIMELESS.fullmatch(_TIMELESS_WORDS.sub("", text[action.end():])):
            continue
        before = text[:action.start()]
        period = _read_time(before, ctx)
        for cut in range(1, len(before)):
            if period is not None:
                break
            if _TIMELESS.fullmatch(before[:cut]) and not _TIMELESS.fullmatch(before[cut]):
                period = _read_time(before[cut:], ctx)
        if period is None:
            continue
        verb = action["verb"]
        if re.fullmatch(_START_VERBS, verb):
            return _Stage(clause, period, "start")
        return _Stage(clause, period, "due", ongoing=bool(re.fullmatch(_ONGOING_VERBS, verb)))
    if (period := _framed_time(text, ctx)) is not None:
        return _Stage(clause, period, "due")
    return None


# The name of the work before a time: no numbers, nor words that make a time (本, 下, 年, 月, 季度…);
# "季" only in a season's name (夏季, 收获季节).
_LABEL = re.compile(r"(?:[^\d年月日号周旬天前后起至到每内底末初半次本下当这上§,，;；、季()]"
                    r"|(?<=[春夏秋冬])季|季(?=节))*")


def _framed_time(text: str, ctx: _Context) -> Period | None:
    """A time expression between words that carry no time of their own: a campaign word before it
    ("决战四季度", "大干20天"), a name of the work ("夏收季节4月20日-6月20日", "麦收期间(6月5日-6月30日)"),
    or what is to be done after it ("年底兑现", "12月底前取得明显成效"). The longest such time is read;
    words that start work (开工, 启动) are left to the stages that know them."""
    if len(text) > 60:
        return None
    lead = len(_LABEL.match(text)[0])
    for i in (0, *range(2, lead + 1)):  # a one-character word before a time is part of it (跨年度)
        for j in range(len(text), i, -1):
            rest = _TIMELESS_WORDS.sub("", text[j:])
            if not _TIMELESS.fullmatch(rest):
                break
            if (i == 0 and j == len(text)) or re.search(_START_VERBS, rest) or (i and text[i] == "年"):
                continue
            core = text[i:j]
            if core.startswith("(") and core.endswith(")"):
                core = core[1:-1]
            if core and (period := _read_time(core, ctx)) is not None:
                return period
    return None


_CLAUSE_SEPARATOR = re.compile(r"[,，;；、]|(?:并且|并|且|和|及)(?=\d|长期|持续|常态|坚持|今年|明年|次年)")
_FESTIVAL_NAME = _FESTIVAL.pattern.replace("?P<name>", "?:")
_FESTIVAL_LIST = re.compile(rf"(?P<names>{_FESTIVAL_NAME}(?:[、和及与]{_FESTIVAL_NAME})+)前")
_TIMES = re.compile(r"分[\d一二三四五六七八九十]+次$")


def _stages(normalised: str, ctx: _Context) -> list[_Stage] | None:
    """The phrase as one stage, or as several split at ，；、 and 并; None unless every part reads
    and at least one is dated."""
    if m := _FESTIVAL_LIST.fullmatch(normalised):
        # "中秋、国庆节前": before the holidays, so before the first of them.
        stages = [_read_stage(f"{name}前", ctx) for name in re.split(r"[、和及与]", m["names"])]
        if all(stages):
            first = min(stages, key=lambda s: s.period.end if s and s.period else date.max)
            return [replace(first, text=normalised)] if first else None
    clauses = [c.strip() for c in _CLAUSE_SEPARATOR.split(normalised) if c.strip()]
    if len(clauses) < 2 or (stages := _compound(clauses, ctx)) is None:
        whole = _read_stage(normalised, ctx)
        return [whole] if whole is not None else None
    return stages


def _compound(clauses: list[str], ctx: _Context) -> list[_Stage] | None:
    stages: list[_Stage] = []
    year_ctx = ctx
    for clause in clauses:
        stage = _read_stage(clause, year_ctx)
        if stage is None and _OPEN_ENDED.search(clause) and not re.search(r"\d", clause):
            stage = _Stage(clause, None, "due", ongoing=True)
        if stage is None:
            return None
        if (m := _YEAR_PREFIX.match(clause)) and m["year"]:
            # "2023年3月25日、6月25日": later stages without a year are in the year written first.
            year_ctx = replace(ctx, year=int(m["year"]), missing=ctx.missing)
        stages.append(stage)
    return stages if any(s.period for s in stages) else None


def _schedule_cycle(normalised: str, ctx: _Context) -> str | None:
    """A bare list of three or more days about a quarter (or a month) apart is a schedule:
    "3月25日、6月25日、9月25日前", "4月25日、6月25日、9月25日、12月25日前分四次"."""
    text = _TIMES.sub("", normalised)
    clauses = [c.strip() for c in re.split(r"[,，;；、]|和|及", text) if c.strip()]
    if len(clauses) < 3:
        return None
    days = []
    year_ctx = ctx
    for clause in clauses:
        if (m := _YEAR_PREFIX.match(clause)) and m["year"]:
            year_ctx = replace(ctx, year=int(m["year"]), missing=ctx.missing)
        period = _read_time(clause, year_ctx)
        if period is None or period.is_span:  # "3月底" is a moment; "第一季度" a stretch of work
            return None
        days.append(period.end)
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    if all(55 <= gap <= 100 for gap in gaps):
        return "quarterly"
    if all(25 <= gap <= 35 for gap in gaps):
        return "monthly"
    return None


# "一月内" without a year: within one month, or in January? Neither is read.
_MONTHS_OR_MONTH = re.compile(r"(?<![\d〇零一二三四五六七八九十年])[一两三四五六七八九十]{1,2}月内")


def read_deadline(text: str, plan_year: int, *, reference: date | None = None,
                  upcoming: bool = False, dotted_dates: bool = True) -> DeadlineReading:
    """Read one 完成时限 phrase. Unknown text is kept verbatim with ``understood=False``.

    ``reference`` is the day relative phrases count from (a document's issue date, a chat message's
    day); without it "限期30天" or "下月底" are not read. ``upcoming`` (chat) reads a date without a
    year as the next such date on or after ``reference``. A time limit followed by the work it
    limits ("5月底前完成2008年度保障性住房选房", "计划到2010年完成100个") is read as the limit.
    """
    # "3.6", "12.31" alone, as a calendar's date column writes them: a month and its day. (Not where a
    # cell's kind is still being guessed: there "8.5" is as likely a target's figure.)
    if dotted_dates and (dotted := _MONTH_DOT_DAY.fullmatch(WHITE_SPACE.sub("", fold_width(text)))):
        reading = _read_phrase(f"{dotted['m']}月{dotted['d']}日", plan_year, reference=reference, upcoming=upcoming)
        return replace(reading, text=text)
    reading = _read_phrase(text, plan_year, reference=reference, upcoming=upcoming)
    if reading.understood or upcoming or not _WORK_DONE.search(text):
        return reading
    said = deadline_in_text(text, plan_year)
    if said is None:
        return reading
    return DeadlineReading(text, deadline=said.deadline, milestones=said.milestones,
                           note=f"时限读自“{said.text}”")


# "23年底前", "98年元旦": a year written with two digits, before the part of it that is meant; "112年6月底":
# a year of the Republic (Taiwan's 民國) in three.
_SHORT_YEAR = re.compile(r"(?<![\d年])(?P<yy>\d{2}|1[0-2]\d)年(?=底|末|元旦|春节|\d{1,2}月|[上下]半年|第?[1-4]季度)")


def _full_year(match: re.Match[str], plan_year: int) -> str:
    """The one of 20yy, 19yy and the Republic's year yy (Taiwan's 民國, from 1912) that falls within
    the plan's time; the words as written when none does."""
    yy = int(match["yy"])
    for year in ((1911 + yy,) if len(match["yy"]) == 3 else (2000 + yy, 1900 + yy, 1911 + yy)):
        if plan_year - 1 <= year <= plan_year + HORIZON_YEARS:
            return f"{year}年"
    return match[0]


def _read_phrase(text: str, plan_year: int, *, reference: date | None = None,
                 upcoming: bool = False) -> DeadlineReading:
    original = text
    normalised = _SHORT_YEAR.sub(lambda match: _full_year(match, plan_year), _normalise(text))
    if not normalised:
        return DeadlineReading(original, note="未写完成时限", understood=False)

    if _MONTHS_OR_MONTH.search(to_simplified(fold_width(text))):
        return DeadlineReading(original, note=f"“{normalised}”可读作几个月内，也可读作某月内，已按原文保留",
                               understood=False)

    cycles = _cycles_in(normalised)
    if len(cycles) > 1:
        return DeadlineReading(original, note=f"周期表述互相矛盾，已按原文保留：{normalised}", understood=False)
    if cycles:
        return DeadlineReading(original, recurrence=cycles[0], note=f"周期性：{normalised}")

    ctx = _Context(plan_year, reference, upcoming and reference is not None)
    if cycle := _schedule_cycle(normalised, ctx):
        return DeadlineReading(original, recurrence=cycle, note=f"周期性：{normalised}")

    if (narrowed := _NARROWED.fullmatch(normalised)) and (outer := _read_time(narrowed["outer"], ctx)) \
            and (inner := _read_time(narrowed["inner"], ctx)) and outer.start <= inner.start <= inner.end <= outer.end:
        normalised = narrowed["inner"]  # "第四季度(11月份)": the bracket says when within it

    if (stages := _stages(normalised, ctx)) is not None:
        return _reading_of(original, stages)

    if _OPEN_ENDED.search(normalised):
        return DeadlineReading(original, note=f"无固定时限：{normalised}")

    why = "；".join(sorted(ctx.missing)) or "无法识别的完成时限"
    return DeadlineReading(original, note=f"{why}，已按原文保留", understood=False)


_NARROWED = re.compile(r"(?P<outer>[^()]+)\((?P<inner>[^()]+)\)")


def _reading_of(original: str, stages: list[_Stage]) -> DeadlineReading:
    due = [s for s in stages if s.period and s.role == "due"]
    starts = [s for s in stages if s.period and s.role in ("start", "from")]
    deadline = max((s.period.end for s in due if s.period), default=None)
    start: date | None = None
    if starts:
        first = min(starts, key=lambda s: s.period.start if s.period else date.max)
        if first.period:
            start = first.period.start if first.role == "from" else first.period.end
    elif len(due) == 1 and due[0].period and due[0].period.is_span:
        start = due[0].period.start
    if start is not None and deadline is not None and start > deadline:
        start = None
    milestones: tuple[Milestone, ...] = ()
    if len(stages) > 1:
        # Every dated stage of a compound is a milestone; the last one due is also the deadline.
        milestones = tuple(Milestone(s.period.end if s.role != "from" else s.period.start, s.text)
                           for s in stages if s.period)
    ongoing = [s.text for s in stages if s.ongoing]
    note = f"其后持续：{'；'.join(ongoing)}" if ongoing else None
    if deadline is None:
        note = "只写了开始时间" + (f"；{note}" if note else "")
    return DeadlineReading(original, deadline=deadline, start=start, note=note, milestones=milestones)


# --- dates named inside a task's text -------------------------------------------

_INLINE = re.compile(
    r"(?<![每\d])(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月"
    r"(?:(?P<d>\d{1,2})[日号]|(?P<part>底|末|上旬|中旬|下旬))前?"
)
_CLAUSE_BOUNDARY = re.compile(r"[。；;，,！!？?]")


def find_milestones(text: str, plan_year: int) -> list[Milestone]:
    """Dated steps written inside a task's text, each with the clause that names it."""
    normalised = arabic_numerals(fold_width(strip_markup(text)))
    found: list[Milestone] = []
    for match in _INLINE.finditer(normalised):
        year = int(match["y"]) if match["y"] else plan_year
        phrase = f"{match['m']}月" + (f"{match['d']}日" if match["d"] else match["part"])
        period = _read_body(phrase, year)
        if period is None:
            continue
        start = max((b.end() for b in _CLAUSE_BOUNDARY.finditer(normalised, 0, match.start())), default=0)
        stop_match = _CLAUSE_BOUNDARY.search(normalised, match.end())
        stop = stop_match.start() if stop_match else len(normalised)
        clause = re.sub(r"^\s*\d{1,2}[.、]\s*", "", normalised[start:stop]).strip()
        found.append(Milestone(period.end, clause))
    return found


# --- a time limit written inside a task's sentence ---------------------------------

# "年底前完成…", "於2023年底前消除…", "到2025年实现…", "6月底前建成…，10月底前投入使用": a time
# said as a limit, by its ending (前, 底, 末, 内, 年中) or by a word before it (于, 在, 到, 力争 …).
# A bare date is an event, not a limit ("10月9日督查发现"), and is left alone.
_BY_WORD = r"(?:于|於|在|到|至|力争|确保|争取|务必)"
_PART_OF_YEAR = r"(?:年底|年末|年内|年中|全年|上半年|下半年|(?:第)?[一二三四1-4]季度末?)"
_MONTH_SAID = r"\d{1,2}月(?:\d{1,2}[日号]|份|底|末|上旬|中旬|下旬)?"
# "在未来十年(2023-24至2032-33年度)": the years ahead, with their span in brackets.
_YEARS_AHEAD_SAID = r"(?:未来|今后)?\d+年内?\(\d{4}(?:-\d{2})?年?度?至\d{4}(?:-\d{2})?年?度?\)"
_LIMIT_IN_TEXT = re.compile(
    rf"(?P<by>{_BY_WORD})?(?P<phrase>(?P<ahead>{_YEARS_AHEAD_SAID})|(?:\d{{4}}年(?:度)?(?:{_MONTH_SAID}|底|末|内|中"
    rf"|{_PART_OF_YEAR})?|{_MONTH_SAID}|{_PART_OF_YEAR})(?P<before>前|内|之前|以前)?)"
)
# "3月中旬完成", "9月投入使用": a date said as when the work is done.
_DONE = re.compile(rf"^{_ADVERBS}(?:顺利)?{_COMPLETION_VERBS}")
# A phrase that names the work as well as its time: "年内完成153个".
_WORK_DONE = re.compile(_COMPLETION_VERBS)
# "2月底召开的会议", "1月份至3月份", "3月1日起施行", "年底前已完成", "6月底完成了": no limit set.
_NOT_A_LIMIT_AFTER = re.compile(r"^(?:[\u4e00-\u9fff]{0,4}的|[至到~-](?=\d|[一二三四五六七八九十])|起|以来|已"
                                r"|(?:完成|建成|竣工|完工)了)")
_NOT_A_LIMIT_BEFORE = ("截至", "截止", "去年", "上年", "前年", "今年以来")
# "全年在省市媒体完成上稿3篇", "全年在主要媒体上稿2篇以上": the year's work, done within it, or a
# figure it is to reach (not "全年接待游客100万人次", a figure said without being set as a target).
_YEAR_WORK_DONE = re.compile(rf"^[^，。；,;]{{0,20}}?{_COMPLETION_VERBS}(?!情况|率|进度)"
                             r"|^[^，。；,;]{0,24}?\d+(?:\.\d+)?[万亿千百]?[\u4e00-\u9fff]{0,2}(?:以上|及以上)"
                             r"|^[^，。；,;]{0,20}?(?:不少于|不低于|达到)\d")
# "2021年全市力争培育高新技术企业150家", "2021年再创建4个省级森林城镇": the plan's own year framing
# what is to be done in it, as 全年 does.
# (An intent or an "again" must say so: "2021年新建农村户厕部分存在质量问题" tells what was built.)
_PLAN_YEAR_WORK = re.compile(rf"^(?:全[省市县区镇乡]|全年|我[省市县区])?(?:(?:力争|确保|争取|计划|要|将)再?|再)"
                             rf"(?:{_COMPLETION_VERBS}|培育|创建|新建|新增|改造|打造|建设)")
# Words that tell what was done or found, not what is to be: no limit is set in such a clause.
_SAID_OF_THE_PAST = re.compile(r"已|了|存在|问题")
# "5月底前开工": when work starts, not when it is done.
_STARTS = re.compile(rf"^(?:全面|正式|陆续|全部)?{_START_VERBS}")


def deadline_in_text(text: str, plan_year: int) -> DeadlineReading | None:
    """The time limit a task's own sentence sets when nothing else gives it one: the last limit
    said is the deadline, each earlier one a milestone. None when the sentence says no limit: a
    date before the plan's year or of what was done ("去年12月底完成验收的", "截至2020年底", "在2020年
    完成…的基础上", "于3月1日起施行") tells the past or a start, not a limit."""
    # Spaces dropped: a converter writes "於 2023 年底前".
    normalised = WHITE_SPACE.sub("", to_simplified(arabic_numerals(fold_width(strip_markup(text)))))
    boundaries = [b.end() for b in _CLAUSE_BOUNDARY.finditer(normalised)]
    stages: list[Milestone] = []
    said: list[str] = []
    whole_year: list[tuple[Milestone, str]] = []
    for match in _LIMIT_IN_TEXT.finditer(normalised):
        phrase, start, end = match["phrase"], match.start("phrase"), match.end()
        after = normalised[end:end + 16]
        clause_after = re.split(r"[，。；,;]", normalised[end:end + 40], maxsplit=1)[0]
        plan_year_frame = phrase == f"{plan_year}年" and not match["by"] and bool(_PLAN_YEAR_WORK.match(after)) \
            and not _SAID_OF_THE_PAST.search(clause_after)
        # (The figure a year's work is to reach may come a few words later than ``after`` looks.)
        year_work = phrase == "全年" and bool(_YEAR_WORK_DONE.match(normalised[end:end + 40])) \
            and not _SAID_OF_THE_PAST.search(clause_after)
        said_as_limit = bool(match["by"] or match["before"] or match["ahead"] or _DONE.match(after)) or re.search(
            r"(?:底|末|年内|年中)$", phrase) or year_work or plan_year_frame
        if not said_as_limit or after[:1].isdigit() or _STARTS.match(after) or _NOT_A_LIMIT_AFTER.match(after) \
                or normalised.endswith(_NOT_A_LIMIT_BEFORE, 0, start):
            continue
        if not match["before"] and not match["ahead"] and not re.search(r"[年月日号底末内中季旬份]$", phrase):
            continue
        reading = _read_phrase(phrase, plan_year)
        if reading.deadline is None or reading.deadline.year < plan_year:
            continue
        clause_start = boundaries[bisect.bisect_right(boundaries, match.start()) - 1] if boundaries and \
            boundaries[0] <= match.start() else 0
        following = bisect.bisect_left(boundaries, end)
        clause_end = boundaries[following] - 1 if following < len(boundaries) else len(normalised)
        clause = normalised[clause_start:clause_end].strip()
        if "的基础上" in clause[clause.find(phrase):]:
            continue  # "在2020年完成32个小区改造的基础上": what was done before
        if phrase == "全年" or plan_year_frame:
            whole_year.append((Milestone(reading.deadline, clause), match[0]))
            continue
        stages.append(Milestone(reading.deadline, clause))
        if match[0] not in said:
            said.append(match[0])
    if not stages and whole_year:
        # "全年" is the limit only where nothing sooner is said ("确保全年任务在11月底前完成" is due in November).
        stages, said = [whole_year[0][0]], [whole_year[0][1]]
    if not stages:
        return None
    last = max(stages, key=lambda stage: stage.due)
    return DeadlineReading("；".join(said), deadline=last.due, milestones=tuple(stages) if len(stages) > 1 else ())
