"""The slot funnel over real rows on both backends, every share worked out by hand.

Library "Enterprise", message map opening → value → proof. Documents (sections in brackets):

    d1  logistics / finance     [opening, value, value, proof]
    d2  banking / operations    [opening, value, proof]
    (library "Other" has d9 [opening], whose visit must never count)

Sessions (visit day in March 2024; slots seen, * = a row that was not seen):

    d1  s1 1st   opening                     (reads slot 1 only)
        s2 2nd   opening, value, value, proof (reads slots 1-3; value twice counts once)
        s3 3rd   value                       (skipped ahead to slot 2)
        s4 4th   opening*                    (a row, but nothing seen)
        s5 5th   (no rows: left before the first section showed)
    d2  s6 20th  opening, value
    d9  s9 1st   opening
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from tracker.funnel import Funnel, slot_funnel
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
from tracker.reports import EngagementFilter

pytestmark = pytest.mark.asyncio
SLOTS = ("opening", "value", "proof")


def march(day: int) -> dt.datetime:
    return dt.datetime(2024, 3, day, 10, tzinfo=dt.UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def build(session) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The world above; returns the two libraries' ids."""
    enterprise = Library(name="Enterprise", root="/e")
    other = Library(name="Other", root="/o")
    session.add_all([enterprise, other])
    await session.flush()
    version_of: dict[tuple[int, str], int] = {}
    for library in (enterprise, other):
        for slot in SLOTS:
            block = Block(library_id=library.id, key=f"b-{slot}")
            session.add(block)
            await session.flush()
            version = BlockVersion(
                block_id=block.id,
                number=1,
                content_hash=sha(f"{library.id}/{slot}"),
                slot=slot,
                title=slot,
                body="Body.",
                status="approved",
                tags={},
                source=f"blocks/b-{slot}.md",
            )
            session.add(version)
            await session.flush()
            version_of[library.id, slot] = version.id

    async def document(doc_id: str, library: Library, profile: dict, *slots: str) -> list[int]:
        prospect = Prospect(key=f"p-{doc_id}", company=doc_id, profile=profile)
        session.add(prospect)
        await session.flush()
        sections = [
            DocumentSection(
                position=position,
                slot=slot,
                block_version_id=version_of[library.id, slot],
                title=slot,
                reading_ms=1000,
            )
            for position, slot in enumerate(slots)
        ]
        session.add(
            Document(
                id=doc_id,
                library_id=library.id,
                prospect_id=prospect.id,
                title=doc_id,
                as_of=dt.date(2024, 3, 1),
                profile={"company": doc_id, **profile},
                sections=sections,
            )
        )
        await session.flush()
        return [s.id for s in sections]

    d1 = await document(
        "d1", enterprise, {"industry": "Logistics", "persona": "finance"}, *SLOTS[:2], *SLOTS[1:]
    )
    d2 = await document("d2", enterprise, {"industry": "banking"}, *SLOTS)
    d9 = await document("d9", other, {"industry": "logistics"}, "opening")

    async def visit(doc_id: str, day: int, seen: dict[int, bool]) -> None:
        link = ShareLink(document_id=doc_id, token_hash=sha(f"{doc_id}/{day}"))
        session.add(link)
        await session.flush()
        row = Visit(
            link_id=link.id,
            created_at=march(day),
            secret_hash=sha(f"v{doc_id}{day}"),
            user_agent_kind="browser",
        )
        session.add(row)
        await session.flush()
        for section_id, was_seen in seen.items():
            session.add(
                SectionTime(visit_id=row.id, section_id=section_id, dwell_ms=1500, seen=was_seen)
            )

    await visit("d1", 1, {d1[0]: True})
    await visit("d1", 2, {d1[0]: True, d1[1]: True, d1[2]: True, d1[3]: True})
    await visit("d1", 3, {d1[1]: True})
    await visit("d1", 4, {d1[0]: False})
    await visit("d1", 5, {})
    await visit("d2", 20, {d2[0]: True, d2[1]: True})
    await visit("d9", 1, {d9[0]: True})
    await session.commit()
    return enterprise.id, other.id


def shares(funnel: Funnel) -> list[tuple[str, int, float, float]]:
    return [(s.slot, s.sessions_reached, s.share, s.drop) for s in funnel.steps]


async def test_every_slot_in_message_map_order_with_the_share_that_reached_it(session) -> None:
    enterprise, _ = await build(session)
    funnel = await slot_funnel(session, SLOTS, EngagementFilter(library_id=enterprise))
    assert funnel.sessions == 6  # every visit counts, also those that saw nothing
    assert shares(funnel) == [
        ("opening", 3, 3 / 6, 0.0),  # s1, s2, s6 (s4's row was not seen)
        ("value", 3, 3 / 6, 0.0),  # s2 (twice, once counted), s3, s6
        ("proof", 1, 1 / 6, 3 / 6 - 1 / 6),
    ]
    assert funnel.steps[2].lost == pytest.approx(2 / 3)
    assert funnel.steps[0].lost == 0.0


async def test_the_order_is_the_message_map_s_and_unknown_slots_are_empty_steps(session) -> None:
    enterprise, _ = await build(session)
    funnel = await slot_funnel(
        session, ("proof", "retired", "opening"), EngagementFilter(library_id=enterprise)
    )
    assert shares(funnel) == [
        ("proof", 1, 1 / 6, 0.0),
        ("retired", 0, 0.0, 1 / 6),
        ("opening", 3, 3 / 6, -3 / 6),  # readers jumped here: a negative drop
    ]


async def test_facets_and_the_date_window_narrow_the_sessions(session) -> None:
    enterprise, _ = await build(session)
    logistics = EngagementFilter(library_id=enterprise, industry=" LOGISTICS ")
    funnel = await slot_funnel(session, SLOTS, logistics)
    assert funnel.sessions == 5
    assert [s.sessions_reached for s in funnel.steps] == [2, 2, 1]

    window = EngagementFilter(library_id=enterprise, since=march(2), until=march(5))
    funnel = await slot_funnel(session, SLOTS, window)
    assert funnel.sessions == 3  # s2, s3, s4; `until` is exclusive
    assert [s.sessions_reached for s in funnel.steps] == [1, 2, 1]

    nobody = EngagementFilter(library_id=enterprise, persona="legal")
    funnel = await slot_funnel(session, SLOTS, nobody)
    assert funnel.sessions == 0 and [s.share for s in funnel.steps] == [0.0, 0.0, 0.0]


async def test_without_a_library_every_library_counts(session) -> None:
    await build(session)
    funnel = await slot_funnel(session, SLOTS)
    assert funnel.sessions == 7
    assert [s.sessions_reached for s in funnel.steps] == [4, 3, 1]
