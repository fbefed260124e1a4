"""Stale content on real rows, on both backends: each block below is built to land in exactly
the sections its name says (today is 2026-06-15).

    block         versions (status, expires)              documents (links)
    expired       v1 approved 2026-06-01                  -
    expiring      v1 approved 2026-07-15                  -
    far           v1 approved 2026-12-31                  -                     (nowhere)
    drafted       v1 draft                                -                     (nowhere)
    old-expired   v1 approved 2026-06-10                  live: live link (dana), revoked link
    retired-since v1 approved, v2 retired                 live uses v1 (live + expired links)
    dead-doc      v1 retired                              dead: revoked link and expired link
    rarely        v1 approved                             d1..d3 with 4 visits, seen in 0
    often         v1 approved                             d1..d3 with 4 visits, seen in 4
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest

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
from tracker.stale import RARELY_SEEN_DOCUMENTS, stale_content

pytestmark = pytest.mark.asyncio

TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)
_ids = itertools.count(1)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class World:
    def __init__(self, session) -> None:
        self.session = session
        self.versions: dict[tuple[str, int], int] = {}

    async def library(self, name: str = "Enterprise") -> int:
        row = Library(name=name, root=f"/lib/{name}")
        self.session.add(row)
        await self.session.flush()
        self.library_id = row.id
        return row.id

    async def block(self, key: str, *versions: tuple[str, dt.date | None]) -> None:
        row = Block(library_id=self.library_id, key=key)
        self.session.add(row)
        await self.session.flush()
        for number, (status, expires) in enumerate(versions, start=1):
            version = BlockVersion(
                block_id=row.id,
                number=number,
                content_hash=sha(f"{self.library_id}/{key}/{number}"),
                slot="value",
                title=f"{key} v{number}",
                body="Body.",
                status=status,
                expires=expires,
                tags={},
                source=f"blocks/{key}.md",
            )
            self.session.add(version)
            await self.session.flush()
            self.versions[key, number] = version.id

    async def document(self, *blocks: tuple[str, int]) -> tuple[str, list[int]]:
        number = next(_ids)
        prospect = Prospect(key=f"p{number}", company=f"Company {number}", profile={})
        self.session.add(prospect)
        await self.session.flush()
        sections = [
            DocumentSection(
                position=position,
                slot="value",
                block_version_id=self.versions[block],
                title=f"{block[0]} in d{number}",
            )
            for position, block in enumerate(blocks)
        ]
        document = Document(
            id=f"d{number}",
            library_id=self.library_id,
            prospect_id=prospect.id,
            title=f"Pitch {number}",
            as_of=dt.date(2026, 1, 1),
            sections=sections,
        )
        self.session.add(document)
        await self.session.flush()
        return document.id, [s.id for s in sections]

    async def link(
        self,
        document_id: str,
        email: str | None,
        revoked: bool = False,
        expires_at: dt.datetime | None = None,
    ) -> int:
        link = ShareLink(
            document_id=document_id,
            token_hash=sha(f"token {next(_ids)}"),
            recipient_email=email,
            revoked_at=NOW - dt.timedelta(days=1) if revoked else None,
            expires_at=expires_at,
        )
        self.session.add(link)
        await self.session.flush()
        return link.id

    async def visit(self, link_id: int, seen: list[int]) -> None:
        visit = Visit(
            link_id=link_id, secret_hash=sha(f"visit {next(_ids)}"), user_agent_kind="browser"
        )
        self.session.add(visit)
        await self.session.flush()
        self.session.add_all(
            SectionTime(visit_id=visit.id, section_id=s, dwell_ms=3000, seen=True) for s in seen
        )
        await self.session.flush()


async def build(session) -> int:
    """The world above; returns the id of its library."""
    world = World(session)
    library = await world.library()
    await world.block("expired", ("approved", dt.date(2026, 6, 1)))
    await world.block("expiring", ("approved", dt.date(2026, 7, 15)))
    await world.block("far", ("approved", dt.date(2026, 12, 31)))
    await world.block("drafted", ("draft", None))
    await world.block("old-expired", ("approved", dt.date(2026, 6, 10)))
    await world.block("retired-since", ("approved", None), ("retired", None))
    await world.block("dead-doc", ("retired", None))
    await world.block("rarely", ("approved", None))
    await world.block("often", ("approved", None))

    live, _ = await world.document(("old-expired", 1))
    await world.link(live, "dana@x.example")
    await world.link(live, "revoked@x.example", revoked=True)
    later = await world.document(("retired-since", 1))
    await world.link(later[0], None, expires_at=NOW + dt.timedelta(days=3))
    await world.link(later[0], "gone@x.example", expires_at=NOW - dt.timedelta(days=3))
    dead, _ = await world.document(("dead-doc", 1))
    await world.link(dead, "revoked@x.example", revoked=True)
    await world.link(dead, "expired@x.example", expires_at=NOW - dt.timedelta(minutes=1))

    for n in range(RARELY_SEEN_DOCUMENTS):
        document_id, (_rarely, often) = await world.document(("rarely", 1), ("often", 1))
        # Visits count whether or not the link is still live.
        link = await world.link(document_id, "r@x.example", revoked=True)
        for _ in range(2 if n == 0 else 1):
            await world.visit(link, [often])
    # Another library's expired block is not this library's business.
    await world.library("Other")
    await world.block("expired", ("approved", dt.date(2020, 1, 1)))
    return library


async def test_each_block_lands_in_its_sections(session) -> None:
    library = await build(session)
    await session.commit()
    content = await stale_content(session, library, TODAY, NOW)

    assert [b.key for b in content.expired] == ["expired", "old-expired"]
    assert content.expired[0].expires == dt.date(2026, 6, 1)
    assert [b.key for b in content.expiring] == ["expiring"]

    uses = {u.block.key: u for u in content.in_live_documents}
    assert set(uses) == {"old-expired", "retired-since"}  # dead-doc: no live link
    assert uses["old-expired"].recipients == ("dana@x.example",)  # the revoked one is not live
    assert uses["old-expired"].reason == "version 1 expired on 2026-06-10"
    assert uses["old-expired"].document_title.startswith("Pitch ")
    assert uses["retired-since"].recipients == ("anyone with the link",)
    assert uses["retired-since"].used_number == 1 and uses["retired-since"].block.number == 2
    assert uses["retired-since"].reason == "the block was retired since (version 2)"

    assert [b.key for b in content.never_selected] == ["expired", "expiring", "far"]

    (rare,) = content.rarely_seen
    assert rare.block.key == "rarely"
    assert (rare.documents, rare.sessions, rare.seen_rate) == (RARELY_SEEN_DOCUMENTS, 4, 0.0)


async def test_a_revoked_link_leaves_no_document_live(session) -> None:
    world = World(session)
    library = await world.library()
    await world.block("gone", ("retired", None))
    document_id, _ = await world.document(("gone", 1))
    await world.link(document_id, "x@x.example", revoked=True)
    await session.commit()
    assert (await stale_content(session, library, TODAY, NOW)).in_live_documents == ()
    await world.link(document_id, "y@x.example")
    await session.commit()
    (use,) = (await stale_content(session, library, TODAY, NOW)).in_live_documents
    assert use.reason == "version 1 is retired" and use.recipients == ("y@x.example",)
