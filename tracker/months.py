"""UTC calendar months: the unit of the roll-ups and of the raw event tables' partitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Final

# The calendar's last month: no month follows it (datetime ends with the year 9999), so code
# that steps past a month must stop here rather than name January 10000.
LAST_MONTH: Final = dt.date(dt.MAXYEAR, 12, 1)


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of `moment`'s UTC month, the key months are stored under."""
    utc = moment.astimezone(dt.UTC)
    return dt.date(utc.year, utc.month, 1)


def month_start(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def next_month(month: dt.date) -> dt.date:
    """The month after `month`; ValueError for LAST_MONTH, which has none."""
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_from(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every month from `first`'s to `last`'s, both included."""
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        yield month
        if month == LAST_MONTH:
            return
        month = next_month(month)
