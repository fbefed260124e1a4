"""Engagement reports over real rows, with every figure worked out by hand.

The world every test reads (library "Enterprise"; reading_ms in brackets):

    d1  Logistics / finance / evaluation       d2  banking / operations / (no stage)
        0 opening  open-why   [2000]               0 opening  open-why         [2000]
        1 value    val-fuel v1 [5000]              1 proof    val-fuel v2      [5000]
        2 value    val-safety [3000]               2 proof    proof-acme       [4000]
        3 proof    proof-acme [4000]
    d3  [logistics, food] / decision
        0 opening  open-why   [2000]
        1 value    val-safety [3000]

    links and sessions (visit date in March 2024, then dwell ms per block; * = seen):
        d1 link A (alice): a1 01st  open 1000*  fuel 6000*  safety 0*
                           a2 05th  open 3000*  fuel 2000*
           link B (bob):   b1 10th  open  500*  fuel 9000*
        d2 link C (carol): c1 02nd  open 2500*  fuel 4000*  proof 4000*
                           c2 12th  open    0 (row, not seen)  fuel 7000*
        d3 link E (erin):  no sessions

Also: `unused-block` has a version but is in no document, `no-version` has none, and library
"Other" has a block `open-why` of its own.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json

import pytest

from tracker.csv_export import (
    DOCUMENT_LINKS_COLUMNS,
    DOCUMENT_REPORT_COLUMNS,
    ENGAGEMENT_COLUMNS,
    LINK_REPORT_COLUMNS,
    breakdown_csv,
    document_links_csv,
    document_report_csv,
    engagement_csv,
    link_report_csv,
    safe_cell,
)
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Library,
    Prospect,
    SectionTime,
    ShareLink,
    Visit,
)
from tracker.reports import (
    BlockEngagement,
    EngagementFilter,
    UnknownBlockError,
    UnknownDocumentError,
    UnknownLinkError,
    block_breakdown,
    block_engagement,
    document_report,
    engagement_to_dict,
    link_report,
)

pytestmark = pytest.mark.asyncio


def march(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, tzinfo=dt.UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass
class World:
    library: int
    other_library: int
    links: dict[str, int]
    visits: dict[str, dt.datetime]


async def build(session, proof_title: str = "Acme proof", alice: str = "alice@x.example") -> World:
    enterprise = Library(name="Enterprise", root="/libraries/enterprise")
    other = Library(name="Other", root="/libraries/other")
    session.add_all([enterprise, other])
    await session.flush()

    versions: dict[str, BlockVersion] = {}

    async def block(library: Library, key: str, *slots: str) -> None:
        row = Block(library_id=library.id, key=key)
        session.add(row)
        await session.flush()
        for number, slot in enumerate(slots, start=1):
            version = BlockVersion(
                block_id=row.id,
                number=number,
                content_hash=sha(f"{library.name}/{key}/{number}"),
                slot=slot,
                title=f"{key} v{number}",
                body="Body.",
                status="approved",
                tags={},
                source=f"blocks/{key}.md",
            )
            session.add(version)
            await session.flush()
            versions[f"{library.name}/{key}/{number}"] = version

    await block(enterprise, "open-why", "opening")
    await block(enterprise, "val-fuel", "value", "proof")  # re-slotted by its second version
    await block(enterprise, "val-safety", "value")
    await block(enterprise, "proof-acme", "proof")
    await block(enterprise, "unused-block", "proof")
    await block(enterprise, "no-version")
    await block(other, "open-why", "opening")

    sections: dict[tuple[str, str], DocumentSection] = {}

    async def document(doc_id: str, profile: dict, *layout: tuple[str, str, int, int]) -> None:
        prospect = Prospect(key=f"p-{doc_id}", company=f"Company {doc_id}", profile=profile)
        session.add(prospect)
        await session.flush()
        rows = [
            DocumentSection(
                position=position,
                slot=slot,
                block_version_id=versions[f"Enterprise/{key}/{number}"].id,
                title=proof_title if key == "proof-acme" else f"{key} for {doc_id}",
                reading_ms=reading_ms,
            )
            for position, (slot, key, number, reading_ms) in enumerate(layout)
        ]
        session.add(
            Document(
                id=doc_id,
                library_id=enterprise.id,
                prospect_id=prospect.id,
                title=f"Pitch {doc_id}",
                as_of=dt.date(2024, 3, 1),
                profile={"id": f"p-{doc_id}", "company": f"Company {doc_id}", **profile},
                sections=rows,
            )
        )
        await session.flush()
        for row, (_, key, _, _) in zip(rows, layout, strict=True):
            sections[doc_id, key] = row

    await document(
        "d1",
        {"industry": "Logistics", "persona": "finance", "stage": "evaluation"},
        ("opening", "open-why", 1, 2000),
        ("value", "val-fuel", 1, 5000),
        ("value", "val-safety", 1, 3000),
        ("proof", "proof-acme", 1, 4000),
    )
    await document(
        "d2",
        {"industry": "banking", "persona": "operations"},
        ("opening", "open-why", 1, 2000),
        ("proof", "val-fuel", 2, 5000),
        ("proof", "proof-acme", 1, 4000),
    )
    await document(
        "d3",
        {"industry": [" logistics", "Food"], "stage": "decision"},
        ("opening", "open-why", 1, 2000),
        ("value", "val-safety", 1, 3000),
    )

    links: dict[str, int] = {}
    for name, doc_id, email, day in [
        ("A", "d1", alice, 1),
        ("B", "d1", "bob@x.example", 2),
        ("C", "d2", "carol@y.example", 1),
        ("E", "d3", "erin@z.example", 1),
    ]:
        link = ShareLink(
            document_id=doc_id,
            token_hash=sha(f"token {name}"),
            recipient_email=email,
            created_at=dt.datetime(2024, 2, day, tzinfo=dt.UTC),
        )
        session.add(link)
        await session.flush()
        links[name] = link.id

    visits: dict[str, dt.datetime] = {}
    # visit -> (link, day, {block: (dwell, seen)})
    plan: dict[str, tuple[str, int, dict[str, tuple[int, bool]]]] = {
        "a1": (
            "A",
            1,
            {"open-why": (1000, True), "val-fuel": (6000, True), "val-safety": (0, True)},
        ),
        "a2": ("A", 5, {"open-why": (3000, True), "val-fuel": (2000, True)}),
        "b1": ("B", 10, {"open-why": (500, True), "val-fuel": (9000, True)}),
        "c1": (
            "C",
            2,
            {"open-why": (2500, True), "val-fuel": (4000, True), "proof-acme": (4000, True)},
        ),
        "c2": ("C", 12, {"open-why": (0, False), "val-fuel": (7000, True)}),
    }
    doc_of_link = {"A": "d1", "B": "d1", "C": "d2"}
    for name, (link_name, day, times) in plan.items():
        visit = Visit(
            link_id=links[link_name],
            created_at=march(day),
            secret_hash=sha(f"secret {name}"),
            user_agent_kind="browser",
        )
        session.add(visit)
        await session.flush()
        visits[name] = visit.created_at
        for key, (dwell, seen) in times.items():
            section = sections[doc_of_link[link_name], key]
            session.add(
                SectionTime(visit_id=visit.id, section_id=section.id, dwell_ms=dwell, seen=seen)
            )
    await session.commit()
    return World(enterprise.id, other.id, links, visits)


def contract(rows: list[dict]) -> list[dict]:
    return [{k: row[k] for k in ("block_id", "seen", "dwell_ms")} for row in rows]


def figures(rows: list[BlockEngagement]) -> dict[str, tuple]:
    return {
        r.block_id: (r.documents, r.sessions, r.seen_rate, r.median_dwell_ms, r.read_rate)
        for r in rows
    }


# --- link report ----------------------------------------------------------------------------


async def test_link_report_lists_every_section_in_order_with_the_contract_shape(session) -> None:
    world = await build(session)
    body = (await link_report(session, world.links["A"])).to_dict()
    assert set(body) == {"sessions", "sections"}
    assert body["sessions"] == 2
    assert contract(body["sections"]) == [
        {"block_id": "open-why", "seen": True, "dwell_ms": 4000},
        {"block_id": "val-fuel", "seen": True, "dwell_ms": 8000},
        {"block_id": "val-safety", "seen": True, "dwell_ms": 0},
        {"block_id": "proof-acme", "seen": False, "dwell_ms": 0},
    ]
    for row in body["sections"]:
        assert type(row["seen"]) is bool and type(row["dwell_ms"]) is int
    json.dumps(body)


async def test_link_report_extras_count_sessions_seen_and_reading(session) -> None:
    world = await build(session)
    report = await link_report(session, world.links["A"])
    assert [(s.position, s.slot, s.sessions_seen, s.read) for s in report.sections] == [
        (0, "opening", 2, True),  # a2 dwelt 3000 >= 2000
        (1, "value", 2, True),  # a1 dwelt 6000 >= 5000
        (2, "value", 1, False),  # seen, but no time
        (3, "proof", 0, False),
    ]
    assert report.sections[0].title == "open-why for d1"
    bob = await link_report(session, world.links["B"])
    assert [(s.block_id, s.dwell_ms, s.read) for s in bob.sections] == [
        ("open-why", 500, False),  # 500 < 2000
        ("val-fuel", 9000, True),
        ("val-safety", 0, False),
        ("proof-acme", 0, False),
    ]


async def test_a_link_with_no_sessions_reports_every_section_unseen(session) -> None:
    world = await build(session)
    body = (await link_report(session, world.links["E"])).to_dict()
    assert body["sessions"] == 0
    assert contract(body["sections"]) == [
        {"block_id": "open-why", "seen": False, "dwell_ms": 0},
        {"block_id": "val-safety", "seen": False, "dwell_ms": 0},
    ]


async def test_an_unknown_link_is_refused(session) -> None:
    await build(session)
    with pytest.raises(UnknownLinkError, match="9999"):
        await link_report(session, 9999)


# --- document report ------------------------------------------------------------------------


async def test_document_report_lists_links_and_section_figures(session) -> None:
    world = await build(session)
    report = await document_report(session, "d1")
    assert report.sessions == 3
    assert [(link.id, link.recipient_email, link.sessions) for link in report.links] == [
        (world.links["A"], "alice@x.example", 2),
        (world.links["B"], "bob@x.example", 1),
    ]
    assert [link.last_visit_at for link in report.links] == [march(5), march(10)]
    assert report.links[0].created_at == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    assert report.links[0].revoked_at is None and report.links[0].expires_at is None
    assert [
        (s.block_id, s.sessions_seen, s.seen_rate, s.dwell_ms, s.median_dwell_ms, s.read_rate)
        for s in report.sections
    ] == [
        ("open-why", 3, 1.0, 4500, 1000, 1 / 3),  # median of 1000, 3000, 500
        ("val-fuel", 3, 1.0, 17000, 6000, 2 / 3),  # read by a1 and b1
        ("val-safety", 1, 1 / 3, 0, 0, 0.0),
        ("proof-acme", 0, 0.0, 0, 0, 0.0),
    ]
    body = report.to_dict()
    assert body["links"][0]["last_visit_at"] == "2024-03-05T10:00:00+00:00"
    json.dumps(body)


async def test_document_report_median_skips_sessions_that_did_not_see_the_section(
    session,
) -> None:
    await build(session)
    report = await document_report(session, "d2")
    assert report.sessions == 2
    by_block = {s.block_id: s for s in report.sections}
    # c2 has a row for open-why, but not seen: only c1 (2500) counts.
    assert (by_block["open-why"].sessions_seen, by_block["open-why"].median_dwell_ms) == (1, 2500)
    assert by_block["open-why"].seen_rate == 0.5
    # Both saw val-fuel: the median of an even count is the mean of the middle two.
    assert by_block["val-fuel"].median_dwell_ms == 5500
    # c1 dwelt exactly the reading time of proof-acme: that counts as read.
    assert by_block["proof-acme"].read_rate == 0.5


async def test_a_document_without_sessions_has_zero_rates(session) -> None:
    await build(session)
    report = await document_report(session, "d3")
    assert report.sessions == 0
    assert [link.last_visit_at for link in report.links] == [None]
    assert [(s.seen_rate, s.median_dwell_ms, s.read_rate) for s in report.sections] == [
        (0.0, 0, 0.0),
        (0.0, 0, 0.0),
    ]


async def test_an_unknown_document_is_refused(session) -> None:
    await build(session)
    with pytest.raises(UnknownDocumentError, match="nope"):
        await document_report(session, "nope")


# --- block engagement -----------------------------------------------------------------------


async def test_block_engagement_covers_every_versioned_block_by_key(session) -> None:
    world = await build(session)
    rows = await block_engagement(session, EngagementFilter(library_id=world.library))
    assert [r.block_id for r in rows] == [
        "open-why",
        "proof-acme",
        "unused-block",
        "val-fuel",  # two versions, one block
        "val-safety",
    ]
    assert figures(rows) == {
        # d1, d2, d3; 5 sessions; c2 did not see it; median of 500, 1000, 2500, 3000
        "open-why": (3, 5, 0.8, 1750, 0.4),
        "proof-acme": (2, 5, 0.2, 4000, 0.2),
        "unused-block": (0, 0, 0.0, 0, 0.0),
        # both versions: d1 (v1) and d2 (v2); read by a1, b1, c2
        "val-fuel": (2, 5, 1.0, 6000, 0.6),
        # d1 and d3 (no sessions); only a1 saw it, for no time
        "val-safety": (2, 3, 1 / 3, 0, 0.0),
    }
    assert {r.block_id: r.slot for r in rows}["val-fuel"] == "proof"  # the latest version's


async def test_block_engagement_has_the_contract_shape(session) -> None:
    world = await build(session)
    body = engagement_to_dict(await block_engagement(session, EngagementFilter(world.library)))
    assert set(body) == {"blocks"}
    first = body["blocks"][0]
    assert {k: first[k] for k in ("block_id", "documents", "sessions", "seen_rate")} == {
        "block_id": "open-why",
        "documents": 3,
        "sessions": 5,
        "seen_rate": 0.8,
    }
    assert first["median_dwell_ms"] == 1750 and type(first["median_dwell_ms"]) is int
    for row in body["blocks"]:
        assert type(row["seen_rate"]) is float and type(row["sessions"]) is int
    json.dumps(body)


async def test_without_a_library_every_librarys_blocks_are_listed(session) -> None:
    world = await build(session)
    rows = await block_engagement(session)
    assert [(r.block_id, r.library_id) for r in rows][:2] == [
        ("open-why", world.library),
        ("open-why", world.other_library),
    ]
    assert (rows[1].documents, rows[1].sessions) == (0, 0)
    others = await block_engagement(session, EngagementFilter(library_id=world.other_library))
    assert figures(others) == {"open-why": (0, 0, 0.0, 0, 0.0)}


async def test_the_slot_filter_looks_at_the_slot_the_block_filled(session) -> None:
    world = await build(session)
    value = figures(await block_engagement(session, EngagementFilter(world.library, slot="value")))
    assert value["val-fuel"] == (1, 3, 1.0, 6000, 2 / 3)  # d1 only
    assert value["open-why"] == (0, 0, 0.0, 0, 0.0)
    proof = figures(await block_engagement(session, EngagementFilter(world.library, slot="proof")))
    assert proof["val-fuel"] == (1, 2, 1.0, 5500, 0.5)  # d2 only: median of 4000 and 7000
    assert proof["proof-acme"] == (2, 5, 0.2, 4000, 0.2)


async def test_the_industry_filter_matches_the_profile_case_insensitively(session) -> None:
    world = await build(session)
    logistics = EngagementFilter(world.library, industry="LOGISTICS")
    got = figures(await block_engagement(session, logistics))
    assert got["open-why"] == (2, 3, 1.0, 1000, 1 / 3)  # d1 and d3 (which lists two)
    assert got["proof-acme"] == (1, 3, 0.0, 0, 0.0)  # sessions, none saw it
    assert got["val-fuel"] == (1, 3, 1.0, 6000, 2 / 3)
    food = figures(
        await block_engagement(session, EngagementFilter(world.library, industry="food"))
    )
    assert food["val-safety"] == (1, 0, 0.0, 0, 0.0)  # a document, no sessions: rates are 0
    assert food["val-fuel"] == (0, 0, 0.0, 0, 0.0)


async def test_persona_and_stage_filters_need_the_profile_to_say_so(session) -> None:
    world = await build(session)
    ops = figures(
        await block_engagement(session, EngagementFilter(world.library, persona="Operations"))
    )
    assert ops["open-why"] == (1, 2, 0.5, 2500, 0.5)
    evaluation = EngagementFilter(world.library, stage="evaluation", persona="finance")
    assert figures(await block_engagement(session, evaluation))["open-why"] == (
        1,
        3,
        1.0,
        1000,
        1 / 3,
    )
    nobody = EngagementFilter(world.library, stage="evaluation", persona="operations")
    assert figures(await block_engagement(session, nobody))["open-why"] == (0, 0, 0.0, 0, 0.0)


async def test_since_and_until_bound_the_sessions(session) -> None:
    world = await build(session)
    # since is inclusive, until exclusive: a2 and b1 only
    window = EngagementFilter(world.library, since=world.visits["a2"], until=world.visits["c2"])
    got = figures(await block_engagement(session, window))
    assert got["open-why"] == (3, 2, 1.0, 1750, 0.5)  # median of 3000 and 500
    assert got["val-fuel"] == (2, 2, 1.0, 5500, 0.5)  # median of 2000 and 9000
    assert got["proof-acme"] == (2, 2, 0.0, 0, 0.0)
    later = EngagementFilter(world.library, since=march(4))
    got = figures(await block_engagement(session, later))
    assert got["open-why"] == (3, 3, 2 / 3, 1750, 1 / 3)  # a2, b1, c2 (c2 did not see it)


# --- breakdowns -----------------------------------------------------------------------------


def breakdown(rows) -> list[tuple]:
    return [
        (r.value, r.documents, r.sessions, r.seen_rate, r.median_dwell_ms, r.read_rate)
        for r in rows
    ]


async def test_breakdown_by_slot(session) -> None:
    world = await build(session)
    rows = await block_breakdown(session, "val-fuel", "slot", EngagementFilter(world.library))
    assert breakdown(rows) == [
        ("proof", 1, 2, 1.0, 5500, 0.5),
        ("value", 1, 3, 1.0, 6000, 2 / 3),
    ]
    assert {(r.block_id, r.by) for r in rows} == {("val-fuel", "slot")}


async def test_breakdown_by_industry_counts_a_document_under_each_of_its_values(session) -> None:
    world = await build(session)
    rows = await block_breakdown(session, "open-why", "industry", EngagementFilter(world.library))
    assert breakdown(rows) == [
        ("banking", 1, 2, 0.5, 2500, 0.5),
        ("food", 1, 0, 0.0, 0, 0.0),
        ("logistics", 2, 3, 1.0, 1000, 1 / 3),
    ]


async def test_breakdown_by_stage_puts_profiles_without_one_under_none_last(session) -> None:
    world = await build(session)
    rows = await block_breakdown(session, "open-why", "stage", EngagementFilter(world.library))
    assert breakdown(rows) == [
        ("decision", 1, 0, 0.0, 0, 0.0),
        ("evaluation", 1, 3, 1.0, 1000, 1 / 3),
        (None, 1, 2, 0.5, 2500, 0.5),
    ]
    assert rows[-1].to_dict()["value"] is None


async def test_breakdown_of_an_unused_block_is_empty_and_of_an_unknown_one_refused(
    session,
) -> None:
    world = await build(session)
    assert await block_breakdown(session, "unused-block", "persona") == []
    with pytest.raises(UnknownBlockError, match="no-version"):
        await block_breakdown(session, "no-version", "slot", EngagementFilter(world.library))
    with pytest.raises(ValueError, match="region"):
        await block_breakdown(session, "open-why", "region")  # type: ignore[arg-type]


# --- CSV ------------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_cells_that_start_like_a_formula_are_defused() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert safe_cell("plain = text") == "plain = text"
    assert safe_cell(-3) == "-3" and safe_cell(0.5) == "0.5000"
    assert (safe_cell(True), safe_cell(None)) == ("true", "")


async def test_link_report_csv_reads_back_with_titles_defused(session) -> None:
    title = '=HYPERLINK("http://evil.example","Click, "here"")\nline two'
    world = await build(session, proof_title=title)
    rows = read_csv(link_report_csv(await link_report(session, world.links["A"])))
    assert rows[0] == list(LINK_REPORT_COLUMNS)
    assert [row[1] for row in rows[1:]] == ["open-why", "val-fuel", "val-safety", "proof-acme"]
    proof = dict(zip(rows[0], rows[4], strict=True))
    assert proof["title"] == "'" + title
    assert (proof["seen"], proof["dwell_ms"], proof["link_sessions"]) == ("false", "0", "2")
    fuel = dict(zip(rows[0], rows[2], strict=True))
    assert (fuel["seen"], fuel["dwell_ms"], fuel["read"]) == ("true", "8000", "true")


async def test_document_csvs_defuse_emails_and_read_back(session) -> None:
    world = await build(session, alice="@SUM(1+1)*cmd|' /C calc'!A0")
    report = await document_report(session, "d1")
    links = read_csv(document_links_csv(report))
    assert links[0] == list(DOCUMENT_LINKS_COLUMNS)
    assert links[1][1:4] == [str(world.links["A"]), "'@SUM(1+1)*cmd|' /C calc'!A0", "2"]
    assert links[1][7] == "2024-03-05T10:00:00+00:00"
    assert links[2][6] == ""  # no expiry
    sections = read_csv(document_report_csv(report))
    assert sections[0] == list(DOCUMENT_REPORT_COLUMNS)
    assert sections[1] == [
        "d1", "0", "open-why", "opening", "open-why for d1", "2000",
        "3", "1.0000", "4500", "1000", "0.3333", "3",
    ]  # fmt: skip


async def test_engagement_csvs_have_a_header_and_one_row_per_block(session) -> None:
    world = await build(session)
    rows = read_csv(
        engagement_csv(await block_engagement(session, EngagementFilter(world.library)))
    )
    assert rows[0] == list(ENGAGEMENT_COLUMNS)
    assert rows[1] == [
        "open-why",
        str(world.library),
        "opening",
        "3",
        "5",
        "0.8000",
        "1750",
        "0.4000",
    ]
    assert len(rows) == 6
    stage = read_csv(breakdown_csv(await block_breakdown(session, "open-why", "stage")))
    assert stage[0][:3] == ["block_id", "by", "value"]
    assert stage[3][:4] == ["open-why", "stage", "", "1"]
