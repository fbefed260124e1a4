"""Deals' outcomes over real rows on both backends: recording again replaces, a CRM's CSV export
is imported whole or not at all with every bad row reported by its line, and who works on a
deal; and how CRM values (stages, amounts, dates) are read."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine import InputError
from tracker.models import ApiKey, DealOutcome, Document, Library, Prospect, User
from tracker.outcome_import import (
    MAX_BYTES,
    MAX_ROWS,
    OutcomeImportError,
    import_outcomes,
    read_outcomes,
)
from tracker.outcomes import (
    OutcomeInput,
    amount_value,
    closed_on_value,
    list_outcomes,
    outcome_value,
    parse_outcome,
    prospect_outcome,
    record_outcome,
    works_on,
)

NOV_3 = dt.date(2026, 11, 3)


@dataclasses.dataclass
class World:
    prospects: dict[str, Prospect]
    users: dict[str, int]
    key: int


async def build(session: AsyncSession) -> World:
    """Prospects acme (owned by ann), globex (a document by ben) and initech (a document by
    an API key); users ann and ben."""
    users = {}
    for name in ("ann", "ben"):
        user = User(email=f"{name}@vendor.example", password_hash="x", role="rep")
        session.add(user)
        await session.flush()
        users[name] = user.id
    key = ApiKey(name="crm", role="rep", key_hash="0" * 64)
    library = Library(name="Outcomes", root="/libraries/outcomes")
    session.add_all([key, library])
    await session.flush()
    prospects = {}
    for name in ("acme", "globex", "initech"):
        prospect = Prospect(key=name, company=name.title(), profile={})
        session.add(prospect)
        prospects[name] = prospect
    prospects["acme"].owner_user_id = users["ann"]
    await session.flush()
    for doc_id, name, by_user, by_key in (
        ("d-globex", "globex", users["ben"], None),
        ("d-initech", "initech", None, key.id),
    ):
        session.add(
            Document(
                id=doc_id,
                library_id=library.id,
                prospect_id=prospects[name].id,
                title=f"Pitch {name}",
                as_of=NOV_3,
                created_by_user_id=by_user,
                created_by_key_id=by_key,
            )
        )
    await session.commit()
    return World(prospects, users, key.id)


async def outcome_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DealOutcome)) or 0)


@pytest.mark.asyncio
async def test_recording_again_replaces_the_outcome(session: AsyncSession) -> None:
    world = await build(session)
    acme = world.prospects["acme"]
    lost = OutcomeInput("lost", None, None, NOV_3, "Price")
    await record_outcome(session, acme, lost, "api", None)
    await session.commit()
    won = OutcomeInput("won", 1_250_050, "EUR", dt.date(2026, 11, 20), None)
    stored = await record_outcome(session, acme, won, "web", world.users["ann"])
    await session.commit()
    assert await outcome_count(session) == 1
    assert (stored.prospect_key, stored.outcome, stored.amount, stored.currency) == (
        "acme",
        "won",
        "12500.50",
        "EUR",
    )
    assert (stored.source, stored.recorded_by, stored.reason) == ("web", "ann@vendor.example", None)
    assert stored.closed_on == dt.date(2026, 11, 20)
    assert stored.recorded_at.tzinfo is not None
    assert await prospect_outcome(session, world.prospects["globex"].id) is None


@pytest.mark.asyncio
async def test_outcomes_are_listed_latest_closed_first(session: AsyncSession) -> None:
    world = await build(session)
    for name, day in (("acme", 1), ("globex", 9), ("initech", 5)):
        given = OutcomeInput("won", None, None, dt.date(2026, 11, day), None)
        await record_outcome(session, world.prospects[name], given, "api", None)
    await session.commit()
    assert [o.prospect_key for o in await list_outcomes(session)] == ["globex", "initech", "acme"]


@pytest.mark.asyncio
async def test_a_user_works_on_the_deals_it_owns_or_made_a_document_for(
    session: AsyncSession,
) -> None:
    world = await build(session)
    ann, ben = world.users["ann"], world.users["ben"]
    acme, globex, initech = (world.prospects[n] for n in ("acme", "globex", "initech"))
    assert await works_on(session, acme, user_id=ann)
    assert not await works_on(session, acme, user_id=ben)
    assert await works_on(session, globex, user_id=ben)
    assert not await works_on(session, globex, user_id=ann)
    assert await works_on(session, initech, key_id=world.key)
    assert not await works_on(session, globex, key_id=world.key)
    assert not await works_on(session, initech, user_id=ann)


CRM_EXPORT = (
    "\ufeffAccount ID;Opportunity Name;Stage;Amount;Close Date;Loss Reason\r\n"
    'acme;Fleet deal;Closed Won;"€12.500,50";11/03/2026;\r\n'
    'globex;Trucks;Closed Lost;USD 1,200;03.11.2026;"Went with\r\na competitor"\r\n'
    "\r\n"
    "initech;Pilot;no_decision;;2026-11-03T16:00:00Z;\r\n"
)


@pytest.mark.asyncio
async def test_a_crm_export_is_imported_with_its_own_column_names(session: AsyncSession) -> None:
    world = await build(session)
    assert await import_outcomes(session, CRM_EXPORT.encode(), "export.csv") == 3
    await session.commit()
    stored = {o.prospect_key: o for o in await list_outcomes(session)}
    acme, globex, initech = stored["acme"], stored["globex"], stored["initech"]
    assert (acme.outcome, acme.amount_cents, acme.currency, acme.closed_on) == (
        "won",
        1_250_050,
        "EUR",
        NOV_3,
    )
    assert (globex.outcome, globex.amount_cents, globex.currency) == ("lost", 120_000, "USD")
    assert globex.reason == "Went with\r\na competitor"
    assert (initech.outcome, initech.amount_cents, initech.closed_on) == (
        "no_decision",
        None,
        NOV_3,
    )
    assert {o.source for o in stored.values()} == {"csv"}
    assert {o.recorded_by for o in stored.values()} == {None}
    assert len(world.prospects) == await outcome_count(session)


@pytest.mark.asyncio
async def test_a_file_with_bad_rows_writes_nothing_and_names_every_line(
    session: AsyncSession,
) -> None:
    world = await build(session)
    acme_id = world.prospects["acme"].id
    before = OutcomeInput("lost", None, None, NOV_3, "Price")
    await record_outcome(session, world.prospects["acme"], before, "api", None)
    await session.commit()
    rows = ["prospect,outcome,amount,closed_on"]
    rows += ["acme,won,100,2026-11-03"]  # line 2: fine
    rows += ["globex,won,12.345.6,2026-11-03"]  # line 3: amount
    rows += [f"initech,won,{n},2026-11-0{n}" for n in range(1, 7)]  # lines 5-9 repeat line 4
    rows += ["initech,Negotiation,,2026-11-31"]  # line 10: outcome and date
    rows += ["hooli,won,,2026-11-03"]  # line 11: unknown prospect
    with pytest.raises(OutcomeImportError) as raised:
        await import_outcomes(session, "\n".join(rows).encode(), "bad.csv")
    await session.rollback()
    assert [str(p) for p in raised.value.problems] == [
        "line 3: amount: '12.345.6' is not an amount such as 12,500.00",
        *[
            f"line {n}: prospect: 'initech' is also on line 4; one outcome a prospect"
            for n in range(5, 10)
        ],
        "line 10: closed_on: '2026-11-31' is not a date (YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)",
        "line 10: outcome: 'Negotiation' is not won, lost or no decision",
        "line 11: prospect: no prospect 'hooli'",
    ]
    stored = await prospect_outcome(session, acme_id)
    assert stored is not None and stored.outcome == "lost"  # line 2 was good, yet not written
    assert await outcome_count(session) == 1


def test_a_file_without_the_required_columns_says_which_are_missing() -> None:
    with pytest.raises(OutcomeImportError) as raised:
        read_outcomes(b"Account Name,Amount\nAcme,100\n", "x.csv")
    fields = [(p.file, p.field) for p in raised.value.problems]
    assert fields == [("line 1", "closed_on"), ("line 1", "outcome"), ("line 1", "prospect")]


def test_bytes_that_are_not_utf8_are_refused_naming_the_line() -> None:
    content = "prospect,outcome,closed_on\nacme,won,2026-11-03\nzürich,won,2026-11-03\n"
    with pytest.raises(OutcomeImportError) as raised:
        read_outcomes(content.encode("latin-1"), "x.csv")
    (problem,) = raised.value.problems
    assert problem.file == "line 3" and "is not UTF-8" in problem.message


def test_too_big_or_too_long_files_are_refused_whole() -> None:
    with pytest.raises(OutcomeImportError) as raised:
        read_outcomes(b"x" * (MAX_BYTES + 1), "big.csv")
    assert str(raised.value) == "big.csv: file: is larger than 5 MB; split it into smaller files"
    rows = "prospect,outcome,closed_on\n" + "acme,won,2026-11-03\n" * (MAX_ROWS + 1)
    with pytest.raises(OutcomeImportError) as raised:
        read_outcomes(rows.encode(), "long.csv")
    assert [p.field for p in raised.value.problems] == ["file"]
    assert "more than 20,000 rows" in str(raised.value)


def test_a_quote_left_open_is_refused_naming_its_line_not_read_as_one_cell() -> None:
    content = b'prospect,outcome,closed_on\nacme,won,2026-11-03\nbeta,"won,2026-11-03\n'
    with pytest.raises(OutcomeImportError) as raised:
        read_outcomes(content, "open.csv")
    assert [(p.file, p.field, p.message) for p in raised.value.problems] == [
        ("line 3", "file", "is not valid CSV: unexpected end of data")
    ]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(OutcomeImportError, match="is empty"):
        read_outcomes(b"", "empty.csv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Closed Won", "won"),
        ("closedwon", "won"),
        ("WON", "won"),
        ("Closed-Lost", "lost"),
        ("loss", "lost"),
        ("No decision", "no_decision"),
        ("no_decision", "no_decision"),
    ],
)
def test_crm_stages_are_read_as_outcomes(text: str, expected: str) -> None:
    assert outcome_value(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12,500.00", (1_250_000, None)),
        ("12.500,50 €", (1_250_050, "EUR")),
        ("€12,500", (1_250_000, "EUR")),
        ("EUR 1 200", (120_000, "EUR")),
        ("1200 usd", (120_000, "USD")),
        ("$99.9", (9_990, "USD")),
        ("1.234", (123_400, None)),  # money has two decimals at most: this groups thousands
        ("12,5", (1_250, None)),
        ("1'234'567.89", (123_456_789, None)),
        ("0", (0, None)),
        (12500, (1_250_000, None)),
        (12.5, (1_250, None)),
        ("", (None, None)),
    ],
)
def test_amounts_are_read_in_cents_with_their_currency(
    value: object, expected: tuple[int | None, str | None]
) -> None:
    assert amount_value(value) == expected


@pytest.mark.parametrize("value", ["-5", "12.345.6", "1,23,4", "€5 EUR", "ten", 0.125, True])
def test_what_is_not_an_amount_is_refused(value: object) -> None:
    with pytest.raises(InputError) as raised:
        parse_outcome({"outcome": "won", "closed_on": "2026-11-03", "amount": value}, "request")
    assert [p.field for p in raised.value.problems] == ["amount"]


@pytest.mark.parametrize(
    "text", ["2026-11-03", "2026-11-03T23:30:00+00:00", "2026/11/03", "11/03/2026", "03.11.2026"]
)
def test_close_dates_are_read_in_the_common_formats(text: str) -> None:
    assert closed_on_value(text) == NOV_3


def test_every_bad_field_is_named_at_once() -> None:
    values = {"outcome": "maybe", "amount": "£5", "currency": "EUR", "reason": "x" * 2001}
    with pytest.raises(InputError) as raised:
        parse_outcome(values, "request")
    assert sorted(p.field for p in raised.value.problems) == [
        "amount",
        "closed_on",
        "outcome",
        "reason",
    ]
    assert "is in GBP but the currency is EUR" in str(raised.value)
