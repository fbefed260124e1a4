"""Times as the signed-in user reads them: every page shows a moment in the user's own zone,
named, so "14:05 CET" is never mistaken for the server's clock."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone a user may choose, sorted (the form's list)."""
    return tuple(sorted(available_timezones()))


def is_zone(name: str) -> bool:
    return name in zone_names()


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The zone called `name`; UTC for a name the zone database no longer knows (a stored
    choice must never break a page)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


class LocalTime:
    """Formats moments for one user's zone; pages get it as `local` (`{{ local(moment) }}`)."""

    def __init__(self, zone_name: str = DEFAULT_ZONE) -> None:
        self.zone = zone(zone_name)

    def __call__(self, moment: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M %Z") -> str:
        if moment is None:
            return ""
        return self.localize(moment).strftime(pattern)

    def date(self, moment: dt.datetime) -> dt.date:
        """The user's calendar day of `moment` (for grouping by day or week)."""
        return self.localize(moment).date()

    def localize(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None:  # stored moments are UTC
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.zone)
