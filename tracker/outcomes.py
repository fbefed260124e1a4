"""Deals' outcomes: how each prospect's deal ended (won, lost, no decision), for how much, when
and why, as the rep, the API, a CRM's CSV export or a CRM's webhook says.

One parser (`parse_outcome`) serves every way in, so "Closed Won", "€12,500" or "03/11/2026"
mean the same from a CSV row as from the API or the page, and every refusal names its field.
A prospect has one current outcome: recording again replaces it, with the backend's own atomic
upsert (`ON CONFLICT`, as tracker/feedback.py does for ratings), so a CRM that sends the same
deal twice, or two quick submits, never collide on the unique key. Amounts are kept in minor
units (cents): `amount` is read with at most two decimals, whatever the currency.
The functions here flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from engine.errors import NUL_REFUSED, InputError, Problem
from tracker.models import DealOutcome, Document, Prospect, User, utcnow

SOURCES = ("api", "web", "csv", "webhook")
FIELDS = ("outcome", "amount", "currency", "closed_on", "reason")
MAX_REASON = 2_000
MAX_AMOUNT_CENTS = 10**15  # ten trillion in major units: more is a typo, not a deal

# What CRMs call the end of a deal, after lower-casing and turning `_`, `-` and runs of spaces
# into one space: Salesforce's stages ("Closed Won"), HubSpot's ids ("closedwon"), plain words.
_OUTCOME_WORDS = {
    "won": "won",
    "win": "won",
    "closed won": "won",
    "closedwon": "won",
    "lost": "lost",
    "loss": "lost",
    "closed lost": "lost",
    "closedlost": "lost",
    "no decision": "no_decision",
    "nodecision": "no_decision",
    "closed no decision": "no_decision",
}
# A symbol stands for one currency; `$` is taken as US dollars (name the currency to differ).
_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD", "¥": "JPY"}
_AMOUNT = re.compile(
    r"(?P<before>US\$|[€£$¥]|[A-Za-z]{3})?\s*(?P<number>\d[\d.,'\s]*?)\s*"
    r"(?P<after>[€£$¥]|[A-Za-z]{3})?"
)
_GAPS = re.compile(r"[\s']")  # spaces (also no-break ones) and apostrophes grouping thousands
# A whole number, its thousands grouped by one mark at most.
_WHOLE = re.compile(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+|[0-9]{1,3}(\.[0-9]{3})+")
_DATE_FORMATS = ("%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y")  # besides ISO; slashes are US month/day
T = TypeVar("T")


@dataclass(frozen=True)
class OutcomeInput:
    """A deal's outcome as read and checked, not yet tied to a stored prospect."""

    outcome: str  # 'won', 'lost' or 'no_decision'
    amount_cents: int | None
    currency: str | None  # ISO 4217, upper-case
    closed_on: dt.date
    reason: str | None


@dataclass(frozen=True)
class Outcome:
    """A prospect's stored outcome, with who recorded it and how."""

    prospect_key: str
    outcome: str
    amount_cents: int | None
    currency: str | None
    closed_on: dt.date
    reason: str | None
    source: str
    recorded_at: dt.datetime
    recorded_by: str | None  # the user's email; None through an API key, a CSV or a webhook

    @property
    def amount(self) -> str | None:
        """The amount in major units with two decimals, e.g. '12500.00'."""
        if self.amount_cents is None:
            return None
        return f"{self.amount_cents // 100}.{self.amount_cents % 100:02d}"


class _FieldError(ValueError):
    """One field's value that cannot be used; the message says why."""


def parse_outcome(values: Mapping[str, object], where: str) -> OutcomeInput:
    """The outcome in `values` (keys as in FIELDS; empty strings count as missing), or an
    InputError with a Problem per bad field, each at `where`."""
    problems: list[Problem] = []

    def checked(field: str, parse: Callable[[object], T]) -> T | None:
        try:
            return parse(values.get(field))
        except _FieldError as refusal:
            problems.append(Problem(where, field, str(refusal)))
            return None

    outcome = checked("outcome", outcome_value)
    cents, marked = checked("amount", amount_value) or (None, None)
    currency = checked("currency", currency_value)
    closed_on = checked("closed_on", closed_on_value)
    reason = checked("reason", reason_value)
    if marked and currency and marked != currency:
        problems.append(Problem(where, "amount", f"is in {marked} but the currency is {currency}"))
    if outcome is None or closed_on is None or problems:
        raise InputError(problems)
    return OutcomeInput(outcome, cents, currency or marked, closed_on, reason)


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _FieldError("must be a string")
    if "\x00" in value:
        raise _FieldError(NUL_REFUSED)
    return value.strip()


def outcome_value(value: object) -> str:
    """'won', 'lost' or 'no_decision' from what a CRM calls it ("Closed Won", "closedlost")."""
    text = _text(value)
    if not text:
        raise _FieldError("is required (won, lost or no decision)")
    word = re.sub(r"[\s_\-]+", " ", text.lower()).strip()
    if word not in _OUTCOME_WORDS:
        raise _FieldError(f"{text[:40]!r} is not won, lost or no decision")
    return _OUTCOME_WORDS[word]


def currency_value(value: object) -> str | None:
    text = _text(value)
    if not text:
        return None
    code = _SYMBOLS.get(text, text.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise _FieldError(f"{text[:40]!r} is not a currency code such as EUR or USD")
    return code


def reason_value(value: object) -> str | None:
    text = _text(value)
    if len(text) > MAX_REASON:
        raise _FieldError(f"is longer than {MAX_REASON:,} characters")
    return text or None


def closed_on_value(value: object) -> dt.date:
    """A day as YYYY-MM-DD, an ISO datetime (its date), YYYY/MM/DD, MM/DD/YYYY or DD.MM.YYYY."""
    text = _text(value)
    if not text:
        raise _FieldError("is required (YYYY-MM-DD)")
    with contextlib.suppress(ValueError):
        return dt.date.fromisoformat(text)
    with contextlib.suppress(ValueError):
        return dt.datetime.fromisoformat(text).date()
    for form in _DATE_FORMATS:
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text, form).date()
    raise _FieldError(f"{text[:40]!r} is not a date (YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)")


def amount_value(value: object) -> tuple[int | None, str | None]:
    """The amount in cents and the currency its symbol or code names, if any: a JSON number,
    or text such as "12,500.00", "€12.500,50", "EUR 1 200" or "1200 USD"."""
    if isinstance(value, bool):
        raise _FieldError("must be a number")
    if isinstance(value, int | float):
        return _cents(_decimal_of(str(value))), None
    text = _text(value)
    if not text:
        return None, None
    if "-" in text:
        raise _FieldError(f"{text[:40]!r} is negative; an amount is what the deal was worth")
    match = _AMOUNT.fullmatch(text)
    if match is None or (match["before"] and match["after"]):
        raise _FieldError(f"{text[:40]!r} is not an amount such as 12500.00")
    mark = match["before"] or match["after"]
    currency = currency_value(mark) if mark else None
    return _cents(_decimal_of(_plain_number(match["number"], text))), currency


def _plain_number(number: str, text: str) -> str:
    """`number` with its thousands separators dropped and `.` as its decimal mark."""
    digits = _GAPS.sub("", number)
    mark = _decimal_mark(digits)
    whole, _, fraction = digits.partition(mark) if mark else (digits, "", "")
    if not _WHOLE.fullmatch(whole) or not re.fullmatch("[0-9]*", fraction):
        raise _FieldError(f"{text[:40]!r} is not an amount such as 12,500.00")
    return f"{re.sub(r'[.,]', '', whole)}.{fraction or '0'}"


def _decimal_mark(digits: str) -> str:
    """The decimal mark of a number written with `,` and `.`, or '' when it has none.

    Money has at most two decimals, so a lone separator followed by exactly three digits groups
    thousands ("1,234" and "1.234" are both 1234); with both marks, the last one is decimal."""
    marks = [c for c in digits if c in ",."]
    if not marks:
        return ""
    if len(set(marks)) == 2:
        return marks[-1]
    if len(marks) == 1 and len(digits) - digits.index(marks[0]) - 1 != 3:
        return marks[0]
    return ""


def _decimal_of(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _FieldError(f"{text[:40]!r} is not an amount") from None
    if not number.is_finite():
        raise _FieldError(f"{text[:40]!r} is not an amount")
    return number


def _cents(amount: Decimal) -> int:
    if amount < 0:
        raise _FieldError("must not be negative")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise _FieldError(f"{amount} has more than two decimals")
    if cents > MAX_AMOUNT_CENTS:
        raise _FieldError(f"{amount} is too large")
    return int(cents)


async def record_outcomes(
    session: AsyncSession,
    outcomes: Sequence[tuple[int, OutcomeInput]],
    source: str,
    user_id: int | None,
) -> None:
    """Store each (prospect id, outcome), replacing the prospects' earlier outcomes, in one
    statement. Each prospect may appear once (PostgreSQL refuses to upsert a row twice)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not outcomes:
        return
    now = utcnow()
    rows = [
        {
            "prospect_id": prospect_id,
            "outcome": given.outcome,
            "amount_cents": given.amount_cents,
            "currency": given.currency,
            "closed_on": given.closed_on,
            "reason": given.reason,
            "source": source,
            "recorded_at": now,
            "recorded_by_user_id": user_id,
        }
        for prospect_id, given in outcomes
    ]
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (pg_insert if postgres else sqlite_insert)(DealOutcome)
    replaced = {name: statement.excluded[name] for name in rows[0] if name != "prospect_id"}
    await session.execute(
        statement.on_conflict_do_update(index_elements=[DealOutcome.prospect_id], set_=replaced),
        rows,
    )


async def record_outcome(
    session: AsyncSession,
    prospect: Prospect,
    given: OutcomeInput,
    source: str,
    user_id: int | None,
) -> Outcome:
    """Store the prospect's outcome, replacing an earlier one; returns it as stored."""
    await record_outcomes(session, [(prospect.id, given)], source, user_id)
    stored = await prospect_outcome(session, prospect.id)
    assert stored is not None
    return stored


async def prospect_outcome(session: AsyncSession, prospect_id: int) -> Outcome | None:
    found = await _outcomes(session, DealOutcome.prospect_id == prospect_id)
    return found[0] if found else None


async def list_outcomes(session: AsyncSession) -> list[Outcome]:
    """Every prospect's outcome, the latest closed first."""
    return await _outcomes(session, None)


async def works_on(
    session: AsyncSession,
    prospect: Prospect,
    *,
    user_id: int | None = None,
    key_id: int | None = None,
) -> bool:
    """Whether the user (or API key) works on the prospect's deal: a user owns the prospect
    or made a document for it; a key made a document for it."""
    if user_id is not None and prospect.owner_user_id == user_id:
        return True
    made_by = [Document.created_by_user_id == user_id] if user_id is not None else []
    made_by += [Document.created_by_key_id == key_id] if key_id is not None else []
    if not made_by:
        return False
    made = exists().where(Document.prospect_id == prospect.id, or_(*made_by))
    return bool(await session.scalar(select(made)))


async def _outcomes(session: AsyncSession, where: ColumnElement[bool] | None) -> list[Outcome]:
    query = (
        select(DealOutcome, Prospect.key, User.email)
        .join(Prospect, Prospect.id == DealOutcome.prospect_id)
        .outerjoin(User, User.id == DealOutcome.recorded_by_user_id)
        .order_by(DealOutcome.closed_on.desc(), DealOutcome.id.desc())
    )
    if where is not None:
        query = query.where(where)
    rows = await session.execute(query)
    return [
        Outcome(
            prospect_key=key,
            outcome=row.outcome,
            amount_cents=row.amount_cents,
            currency=row.currency,
            closed_on=row.closed_on,
            reason=row.reason,
            source=row.source,
            recorded_at=row.recorded_at,
            recorded_by=email,
        )
        for row, key, email in rows
    ]
