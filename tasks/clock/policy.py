"""When to remind, escalate, check in and send the digest: the office's policy.

``PolicyRules`` is the ``[policy]`` table of config.toml as declared, defaults and checks included
(bot/config.py nests it in the settings); ``Policy`` is those rules read in the configured
timezone, which is what the planner, the schedule and the digest take. Each ``description`` says,
in Chinese, what a value must look like: the settings quote it when a config file gets it wrong.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.clock import DEFAULT_TIMEZONE

CheckinCycle = Literal["monthly", "quarterly", "half-yearly", "yearly"]


class PolicyRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Working days before the deadline; 0 is the deadline day (or the last working day before it).
    reminder_offsets: tuple[int, ...] = Field((10, 5, 2, 1, 0), description="非负整数的列表，如 [10, 5, 2, 1, 0]")
    send_at: time = Field(time(9, 0), description="“09:00”这样的时刻")
    # Nothing is sent from quiet_start to send_at.
    quiet_start: time = Field(time(21, 0), description="“21:00”这样的时刻")
    # The ladder, in working days after the first working day past the deadline.
    office_after: int = Field(3, ge=0, description="非负整数（工作日数）")
    leadership_after: int = Field(7, ge=0, description="非负整数（工作日数）")
    repeat_every: int = Field(5, ge=1, description="正整数（工作日数）")
    checkin_cycle: CheckinCycle = Field("quarterly", description="monthly / quarterly / half-yearly / yearly 之一")
    digest_weekday: int = Field(0, ge=0, le=6, description="0（周一）到 6（周日）的整数")
    digest_at: time = Field(time(9, 0), description="“09:00”这样的时刻")
    # A unit with no report for this long is named in the digest.
    silent_days: int = Field(30, ge=1, description="正整数（天数）")
    # Reminders whose moment passed more than this long ago (the bot was down) are folded together.
    catch_up_grace_minutes: int = Field(120, ge=0, description="非负整数（分钟数）")
    holidays: tuple[date, ...] = Field((), description="日期的列表，如 [\"2031-10-01\"]")
    workdays: tuple[date, ...] = Field((), description="日期的列表，如 [\"2031-10-08\"]")

    @field_validator("reminder_offsets")
    @classmethod
    def _latest_first(cls, offsets: tuple[int, ...]) -> tuple[int, ...]:
        if any(offset < 0 for offset in offsets):
            raise ValueError("reminder_offsets 不能有负数")
        return tuple(sorted(set(offsets), reverse=True))

    @model_validator(mode="after")
    def _consistent(self) -> PolicyRules:
        if not self.send_at < self.quiet_start:
            raise ValueError("send_at 必须早于 quiet_start（安静时段内不发送）")
        if self.office_after > self.leadership_after:
            raise ValueError("office_after 不能大于 leadership_after（先告知办公室，再告知领导）")
        return self

    def in_timezone(self, timezone: ZoneInfo) -> Policy:
        return Policy(timezone=timezone, **dict(self))


class Policy(PolicyRules):
    timezone: ZoneInfo = DEFAULT_TIMEZONE

    def is_quiet(self, moment_local: time) -> bool:
        return not self.send_at <= moment_local < self.quiet_start
