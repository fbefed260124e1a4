"""Reading request bodies field by field, each refusal a 400 that names the field.

The API takes plain JSON objects rather than typed models so that one request with several
problems is told about the first bad field in words a person can act on, and so that unknown
fields are refused instead of silently ignored (a typo'd `expire_at` must not make a link
that never expires).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from litestar.exceptions import NotFoundException

from api.errors import bad_field
from engine.errors import NUL_REFUSED
from tracker.mail import UNMAILABLE, is_mailable
from tracker.models import MAX_ID as MAX_ID  # refused here, never by the database

MAX_TEXT = 2_000
# A query value without NUL or U+FFFD (what invalid UTF-8 in a URL decodes to): neither is in
# any name we filter by, and PostgreSQL cannot compare text holding NUL.
PLAIN_TEXT = r"^[^\x00\ufffd]*$"


def body_object(data: object, name: str = "body") -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise bad_field(name, "must be a JSON object")
    return data


def only(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    known = set(allowed)
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise bad_field(unknown[0], f"is not a known field (known: {', '.join(sorted(known))})")


def text(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise bad_field(name, "is required")
        return None
    if not isinstance(value, str):
        raise bad_field(name, "must be a string")
    value = no_nul(value.strip(), name)
    if required and not value:
        raise bad_field(name, "must not be empty")
    if len(value) > MAX_TEXT:
        raise bad_field(name, f"is longer than {MAX_TEXT} characters")
    return value or None


def no_nul(value: str, name: str) -> str:
    """`value`, refused if it holds NUL: PostgreSQL cannot store it in text, and no name,
    email or note means one."""
    if "\x00" in value:
        raise bad_field(name, NUL_REFUSED)
    return value


def known_id(value: int, what: str) -> int:
    """`value`, or 404 when no row can have it: ids are 32-bit (MAX_ID), and a larger one (a
    path takes any integer) must be refused here, never by the database, which fails on it
    (SQLite past 64 bits, PostgreSQL past 32)."""
    if not 0 < value <= MAX_ID:
        raise NotFoundException(f"no {what} {value}")
    return value


def is_email(value: str) -> bool:
    """Whether `value` is an address pitchmap can mail: tracker.mail's one rule, so that what
    the API and pages accept is never refused when the mail goes out."""
    return is_mailable(value)


def email(value: str | None, name: str) -> str:
    if value is None or not is_email(value):
        raise bad_field(name, f"{value!r} {UNMAILABLE}")
    return value.lower()


def flag(data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_field(name, "must be true or false")
    return value


def date(data: Mapping[str, Any], name: str, default: dt.date) -> dt.date:
    value = data.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str):  # 20260101 as a number is no date, whatever str() makes of it
        raise bad_field(name, "must be a date string (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad_field(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def moment(data: Mapping[str, Any], name: str) -> dt.datetime | None:
    """An ISO 8601 datetime; one without an offset means UTC (contract §4)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_field(name, "must be an ISO 8601 datetime string")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_field(name, f"{value!r} is not an ISO 8601 datetime") from None
    return utc(parsed, name)


def utc(value: dt.datetime, name: str) -> dt.datetime:
    """The moment in UTC; one without an offset is taken as UTC. 400 when it cannot be."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise bad_field(name, f"{value.isoformat()} is out of range") from None


def typed_day(field: str, value: str, message: str | None = None) -> dt.date | None:
    """The day a person typed into `field` (YYYY-MM-DD), or None when it is empty; 400 naming
    `field` with `message` (else a plain one) when it is no day."""
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad_field(field, message or f"{value[:40]!r} is not a date (YYYY-MM-DD)") from None


def day_start(field: str, value: str, local: dt.tzinfo, days_after: int = 0) -> dt.datetime | None:
    """The start of the day `value` in the user's zone (plus `days_after` days: 1 makes the
    end of an inclusive range), in UTC, or None when the field is empty; 400 naming `field`
    otherwise. In UTC because the reports step through UTC months: a local moment before the
    year 1 or after 9999 in UTC would overflow there instead of being refused here."""
    day = typed_day(field, value)
    if day is None:
        return None
    try:
        day += dt.timedelta(days=days_after)
    except OverflowError:
        raise bad_field(field, f"{day.isoformat()} is out of range") from None
    return utc(dt.datetime.combine(day, dt.time(), local), field)


def form_text(data: Mapping[str, Any]) -> dict[str, str]:
    """A posted form's text fields: a field sent twice (a list) or as a file is dropped, so
    each handler sees one string per name or nothing."""
    return {k: v for k, v in data.items() if isinstance(v, str)}
