"""Reading 完成时限: from the phrases work-point documents use to dates.

Every reading is given the plan year, because documents write "10月底前" and mean
31 October of the year the plan covers. The parser is strict: a phrase must be
read whole, otherwise it is kept verbatim and reported (``understood`` is False).
It never guesses a date from part of a phrase it does not understand.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from tasks.text import WHITE_SPACE, arabic_numerals, fold_width, strip_markup


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


# --- normalisation -----------------------------------------------------------

_CJK = r"[\u3400-\u9fff]"
_TRAILING_NOISE = re.compile(r"[\s。.,，;；:：!！]+$")
# Spaces between CJK characters, or between a digit and CJK, are layout, not meaning;
# "2021 5" (year, month) keeps its space because both sides are digits.
_LAYOUT_SPACE = re.compile(rf"(?<={_CJK})\s+|\s+(?={_CJK})")
_DONE_SUFFIX = re.compile(r"(?:全面|全部|基本)?(?:完成|完工|竣工|办结|结束|落实|到位)$")


def _normalise(text: str) -> str:
    text = arabic_numerals(fold_width(strip_markup(text))).strip()
    text = text.replace("之前", "前").replace("以前", "前")
    text = WHITE_SPACE.sub(" ", _LAYOUT_SPACE.sub("", text))
    return _TRAILING_NOISE.sub("", text)


# --- recurrence and open-ended phrases -----------------------------------------

_RECURRENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"每(?:个)?(?:半年|6个月)"), "half-yearly"),
    (re.compile(r"每(?:2|两)个?月"), "bimonthly"),
    (re.compile(r"每(?:个)?季度?"), "quarterly"),
    (re.compile(r"每(?:个)?月"), "monthly"),
    (re.compile(r"每(?:一)?年(?:度)?"), "yearly"),
    (re.compile(r"每(?:周|星期)"), "weekly"),
    (re.compile(r"每(?:个工作日|天|日)"), "daily"),
)

_OPEN_ENDED = re.compile(
    r"^(?:按|根据|依据|结合|视|随)"
    r"|持续|长期|常态|经常|适时|随时|按需|动态|定期|及时|逐步|不定期"
)


def find_recurrence(text: str) -> str | None:
    """The cycle a text asks for (每半年…一次 → "half-yearly"), or None."""
    return _recurrence_in(_normalise(text))


def _recurrence_in(normalised: str) -> str | None:
    for pattern, word in _RECURRENCES:
        if pattern.search(normalised):
            return word
    return None


# --- points and spans ----------------------------------------------------------

_RELATIVE_YEAR = {"次年": 1, "明年": 1, "翌年": 1, "来年": 1, "下一年": 1, "下年": 1,
                  "下一年度": 1, "今年": 0, "本年": 0, "当年": 0, "本年度": 0}
_YEAR_PREFIX = re.compile(r"^(?:(?P<year>\d{4}) ?(?:年度|年)?|(?P<rel>" + "|".join(
    sorted(_RELATIVE_YEAR, key=len, reverse=True)) + r"))")

_MONTH_DAY = re.compile(r"(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]")
_MONTH_PART = re.compile(r"(?P<m>\d{1,2})月(?P<part>上旬|中旬|下旬|初|中|底|末|份|)")
_QUARTER = re.compile(r"第?(?P<q>[1-4])季度?(?P<end>末|底|)")
_HALF = re.compile(r"(?P<h>上|下)半年(?P<end>末|底|)")
_YEAR_END = re.compile(r"年?(?:底|末|内)|全年|年度")
_MID_YEAR = re.compile(r"年中")
_NUMERIC_DATE = re.compile(r"(?P<y>\d{4})[-./年](?P<m>\d{1,2})[-./月](?P<d>\d{1,2})日?")
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


def _read_body(body: str, year: int) -> Period | None:
    """A point in time without its year prefix, read in ``year``."""
    if m := _MONTH_DAY.fullmatch(body):
        month, day = int(m["m"]), int(m["d"])
        if not _plausible(year, month, day):
            return None
        return Period(date(year, month, day), date(year, month, day))
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
    if _MID_YEAR.fullmatch(body):
        return Period(date(year, 1, 1), date(year, 6, 30))
    if body == "" or _YEAR_END.fullmatch(body):
        return Period(date(year, 1, 1), date(year, 12, 31))
    return None


def _read_point(text: str, plan_year: int, *, bare_unit: str | None = None) -> Period | None:
    """One point or period: "2021年8月底", "次年3月", "9月中旬", "2021.5".

    ``bare_unit`` lets the left side of a range borrow its unit from the right:
    in "6-9月" the 6 is a month, in "2021-2025年" the 2021 is a year.
    """
    text = text.strip()
    if m := _NUMERIC_DATE.fullmatch(text):
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        return Period(date(y, mo, d), date(y, mo, d)) if _plausible(y, mo, d) else None
    if m := _NUMERIC_MONTH.fullmatch(text):
        y, mo = int(m["y"]), int(m["m"])
        return _months_span(y, mo) if _plausible(y, mo) else None
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
    return _read_body(body, year) if 1900 <= year <= 2200 else None


# Word separators first: "2021-06-01至2021-09-30" must not be split at its hyphens.
_RANGE_SEPARATORS = (re.compile(r"\s*(?:至|到|~|～|—|–)\s*"), re.compile(r"\s*-\s*"))


def _unit_of(text: str) -> str:
    """Which unit a bare number on the left side of a range should borrow."""
    if re.fullmatch(r"\d{4}年?", text.strip()):
        return "year"
    return "month"


def _read_range(text: str, plan_year: int) -> Period | None:
    for separator in _RANGE_SEPARATORS:
        parts = separator.split(text)
        if len(parts) == 2 and all(parts):
            return _read_range_parts(parts[0], parts[1], plan_year)
    return None


def _read_range_parts(left_text: str, right_text: str, plan_year: int) -> Period | None:
    right = _read_point(right_text, plan_year, bare_unit="month")
    if right is None:
        return None
    left_year = right.end.year if not _YEAR_PREFIX.match(left_text) else plan_year
    left = _read_point(left_text, left_year, bare_unit=_unit_of(right_text))
    if left is None or left.start > right.end:
        return None
    return Period(left.start, right.end, is_span=True)


def _read_single(text: str, plan_year: int) -> Period | None:
    """A whole phrase naming one due point or one span, or None."""
    text = _DONE_SUFFIX.sub("", text).strip()
    by = text.endswith("前")
    core = text[:-1] if by else text
    core = re.sub(r"^(?:于|在|截至|截止|到)", "", core)
    if not core:
        return None
    period = _read_point(core, plan_year)
    if period is not None:
        if by and re.fullmatch(r"(?:\d{4}年)?\d{1,2}月", core):
            # "6月前" is literally "before June": the last day of May.
            end = period.start - timedelta(days=1)
            return Period(end, end)
        return period
    if not by:
        return _read_range(core, plan_year)
    return None


def read_period(text: str, plan_year: int) -> Period | None:
    """The span a phrase names ("2021年6月-2021年9月" is 1 June to 30 September), or None."""
    return _read_single(_normalise(text), plan_year)


_CLAUSE_SEPARATOR = re.compile(r"[,，;；、]|(?:并|且|和|及)(?=\d)")
_CLAUSE_VERB = re.compile(r"(?:启动|开始|开工|动工|部署|完成|完工|竣工|验收|办结|结束|上报|报送|实施|推进)+$")


def read_deadline(text: str, plan_year: int) -> DeadlineReading:
    """Read one 完成时限 cell. Unknown text is kept verbatim with ``understood=False``."""
    original = text
    normalised = _normalise(text)
    if not normalised:
        return DeadlineReading(original, note="未写完成时限", understood=False)

    recurrence = _recurrence_in(normalised)
    if recurrence is not None:
        return DeadlineReading(original, recurrence=recurrence, note=f"周期性：{normalised}")

    period = _read_single(normalised, plan_year)
    if period is not None:
        return DeadlineReading(original, deadline=period.end, start=period.start if period.is_span else None)

    if _OPEN_ENDED.search(normalised):
        return DeadlineReading(original, note=f"无固定时限：{normalised}")

    clauses = [c for c in _CLAUSE_SEPARATOR.split(normalised) if c.strip()]
    if len(clauses) > 1:
        steps = []
        for clause in clauses:
            step = _read_single(_CLAUSE_VERB.sub("", clause.strip()), plan_year)
            if step is None:
                break
            steps.append(Milestone(step.end, clause.strip()))
        else:
            last = max(steps, key=lambda s: s.due)
            earlier = tuple(s for s in steps if s is not last)
            return DeadlineReading(original, deadline=last.due, milestones=earlier)

    return DeadlineReading(original, note="无法识别的完成时限，已按原文保留", understood=False)


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
