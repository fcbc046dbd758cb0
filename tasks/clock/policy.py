"""When to remind, escalate, check in and send the digest: the office's policy, from the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from tasks.errors import ServiceError


@dataclass(frozen=True)
class Policy:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # Working days before the deadline; 0 is the deadline day (or the last working day before it).
    reminder_offsets: tuple[int, ...] = (10, 5, 2, 1, 0)
    send_at: time = time(9, 0)
    quiet_start: time = time(21, 0)  # nothing is sent from quiet_start to send_at
    # The ladder, in working days after the first working day past the deadline.
    office_after: int = 3
    leadership_after: int = 7
    repeat_every: int = 5
    checkin_cycle: str = "quarterly"  # for tasks with no fixed date
    digest_weekday: int = 0  # Monday
    digest_at: time = time(9, 0)
    silent_days: int = 30  # a unit with no report for this long is named in the digest
    # Reminders whose moment passed more than this long ago (the bot was down) are folded together.
    catch_up_grace_minutes: int = 120
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()

    @classmethod
    def from_config(cls, data: dict[str, Any], timezone: ZoneInfo) -> Policy:
        try:
            policy = cls(
                timezone=timezone,
                reminder_offsets=tuple(sorted({int(n) for n in data.get("reminder_offsets", (10, 5, 2, 1, 0))},
                                              reverse=True)),
                send_at=time.fromisoformat(str(data.get("send_at", "09:00"))),
                quiet_start=time.fromisoformat(str(data.get("quiet_start", "21:00"))),
                office_after=int(data.get("office_after", 3)),
                leadership_after=int(data.get("leadership_after", 7)),
                repeat_every=int(data.get("repeat_every", 5)),
                checkin_cycle=str(data.get("checkin_cycle", "quarterly")),
                digest_weekday=int(data.get("digest_weekday", 0)),
                digest_at=time.fromisoformat(str(data.get("digest_at", "09:00"))),
                silent_days=int(data.get("silent_days", 30)),
                holidays=tuple(date.fromisoformat(str(d)) for d in data.get("holidays", ())),
                workdays=tuple(date.fromisoformat(str(d)) for d in data.get("workdays", ())),
            )
        except (TypeError, ValueError) as error:
            raise ServiceError(f"配置 [policy] 有误：{error}") from error
        policy.validate()
        return policy

    def validate(self) -> None:
        if any(n < 0 for n in self.reminder_offsets):
            raise ServiceError("配置 [policy] reminder_offsets 不能为负数")
        if not self.send_at < self.quiet_start:
            raise ServiceError("配置 [policy] send_at 必须早于 quiet_start（安静时段内不发送）")
        if not 0 <= self.office_after <= self.leadership_after or self.repeat_every < 1:
            raise ServiceError("配置 [policy] 应满足 0 ≤ office_after ≤ leadership_after，且 repeat_every ≥ 1")
        if self.checkin_cycle not in ("monthly", "quarterly", "half-yearly", "yearly"):
            raise ServiceError("配置 [policy] checkin_cycle 只能是 monthly / quarterly / half-yearly / yearly")
        if not 0 <= self.digest_weekday <= 6:
            raise ServiceError("配置 [policy] digest_weekday 应为 0（周一）到 6（周日）")

    def is_quiet(self, moment_local: time) -> bool:
        return not self.send_at <= moment_local < self.quiet_start
