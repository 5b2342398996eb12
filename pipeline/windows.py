"""Freeze windows of a stage (``freeze:`` in stacks/pipeline.yaml): weekly spans of wall-clock
time in a named IANA time zone during which nothing is promoted into the stage, e.g. Friday
16:00 to Monday 08:00 Europe/Berlin.

Times are the zone's wall clock (zoneinfo), so a window stays at 16:00 local across daylight
saving changes. A window whose end is before its start in the week wraps over the weekend.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WHEN = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)$")
WEEK = 7 * 24 * 60


def _minute_of_week(when: str) -> int:
    match = WHEN.match(when)
    assert match is not None  # validated on load
    day, hour, minute = match.groups()
    return DAYS.index(day) * 24 * 60 + int(hour) * 60 + int(minute)


class FreezeWindow(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    start: str = Field(
        description="When the freeze begins each week: a day and a 24-hour time, e.g. 'Fri 16:00'."
    )
    end: str = Field(description="When it ends, e.g. 'Mon 08:00' (before start: it wraps).")
    time_zone: str = Field(description="IANA time zone of both times, e.g. 'Europe/Berlin'.")
    reason: str = Field(default="", description="Why the stage is frozen then (shown).")

    @field_validator("start", "end")
    @classmethod
    def _when(cls, value: str) -> str:
        if not WHEN.match(value):
            raise ValueError(
                f"expected a day ({', '.join(DAYS)}) and a 24-hour time, e.g. 'Fri 16:00';"
                f" got {value!r}"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as 'Europe/Berlin'; got {value!r}"
            ) from None
        return value

    @model_validator(mode="after")
    def _span(self) -> FreezeWindow:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start!r}: a window needs a length")
        return self

    def covers(self, now: datetime) -> bool:
        """Whether ``now`` (aware) falls inside the window, on the zone's wall clock."""
        local = now.astimezone(ZoneInfo(self.time_zone))
        at = local.weekday() * 24 * 60 + local.hour * 60 + local.minute
        start, end = _minute_of_week(self.start), _minute_of_week(self.end)
        if start < end:
            return start <= at < end
        return at >= start or at < end  # wraps over the end of the week

    def describe(self) -> str:
        return f"{self.start} to {self.end} {self.time_zone}" + (
            f" ({self.reason})" if self.reason else ""
        )
