"""Marketing's weekly digest on a real site: documents made over the API, visits and a won deal
recorded here, the digest composed with the real model, then mailed to the outbox once.

One logistics prospect, one document. Its visits:

    window                      sessions  opening read  proof read
    the four weeks before       6         5             1
    this week                   6         1             5

(the document was made the day before the first of them), so the proof block rises from 17% to
83% and the opening block falls from 83% to 17%. The prospect's deal was won yesterday for
12,500.00 EUR. Its stated needs ask for something this fleet library never answers (a payroll
audit); the rep reported that again this week, and a question also asked three weeks ago: both
are gaps of the week, neither is new.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.digest import NoLibraryError, digest_once
from tests.api.conftest import new_key
from tests.api.sites import in_database
from tests.api.test_journey import BLOCKS, Site
from tracker.models import (
    Block,
    BlockVersion,
    DealOutcome,
    Document,
    DocumentSection,
    ReportedNeed,
    SectionTime,
    ShareLink,
    Visit,
    utcnow,
)
from tracker.rollup import roll_up_batch

pytestmark = pytest.mark.slow

NOW = utcnow()  # the visits are placed around it; digests are asked for later (`utcnow()`)
NEED = "Our auditors want SOC 2 reports for the payroll export every quarter"
ASKED = "Do the driver tablets keep working offline in mountain tunnels?"
_secrets = itertools.count()


@pytest.fixture(scope="module")
def library_blocks() -> list[dict[str, Any]]:
    soon = (NOW.date() + dt.timedelta(days=10)).isoformat()
    expiring: dict[str, Any] = {
        "id": "v-expiring",
        "slot": "value",
        "title": "Winter tyre offer",
        "body": "Fit winter tyres at cost.",
        "status": "approved",
        "expires": soon,
    }
    return [*BLOCKS, expiring]


@pytest.fixture(scope="module")
def document(site: Site) -> dict[str, str]:
    """The document made and visited as above; returns its sections' block ids by slot."""
    key = asyncio.run(new_key(site.settings.database_url, "rep", "digest"))
    prospect = {"id": "p-digest", "company": "Digest Freight", "industry": "logistics"}
    made = site.client.post(
        "/api/documents",
        json={"prospect": {**prospect, "needs": NEED}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 201, made.text
    document_id = made.json()["id"]
    link = site.client.post(
        f"/api/documents/{document_id}/links",
        json={"recipient": "buyer@digest.example"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert link.status_code == 201, link.text
    in_database(site, lambda s: record(s, document_id))
    return {s["slot"]: s["block_id"] for s in made.json()["sections"]}


async def record(session: AsyncSession, document_id: str) -> None:
    link = await session.scalar(select(ShareLink).where(ShareLink.document_id == document_id))
    assert link is not None
    sections = {
        s.slot: s
        for s in await session.scalars(
            select(DocumentSection).where(DocumentSection.document_id == document_id)
        )
    }
    before = NOW - dt.timedelta(days=14)
    this_week = NOW - dt.timedelta(days=1)
    for when, opening_reads, proof_reads in ((before, 5, 1), (this_week, 1, 5)):
        for n in range(6):
            visit = Visit(
                link_id=link.id,
                created_at=when + dt.timedelta(minutes=n),
                secret_hash=hashlib.sha256(str(next(_secrets)).encode()).hexdigest(),
                user_agent_kind="browser",
            )
            session.add(visit)
            await session.flush()
            for slot, reads in (("opening", opening_reads), ("proof", proof_reads)):
                dwell = 60_000 if n < reads else 500  # a minute reads it; half a second does not
                session.add(
                    SectionTime(
                        visit_id=visit.id, section_id=sections[slot].id, dwell_ms=dwell, seen=True
                    )
                )
    document = await session.get(Document, document_id)
    assert document is not None
    document.created_at = NOW - dt.timedelta(days=15)  # sent before every visit and the close
    for text, days_ago in ((NEED, 1), (ASKED, 2), (ASKED, 20)):  # the rep heard these
        session.add(
            ReportedNeed(
                prospect_id=document.prospect_id,
                text=text,
                created_at=NOW - dt.timedelta(days=days_ago),
            )
        )
    session.add(
        DealOutcome(
            prospect_id=document.prospect_id,
            outcome="won",
            amount_cents=1_250_000,
            currency="EUR",
            closed_on=(NOW - dt.timedelta(days=1)).date(),
            source="api",
        )
    )


def test_the_digest_tells_rises_falls_gaps_expiry_and_won_deals(
    site: Site, document: dict[str, str]
) -> None:
    text = asyncio.run(digest_once(site.settings, utcnow(), print_only=True))
    opening, proof = document["opening"], document["proof"]
    rising = text.split("BLOCKS READ MORE THAN BEFORE")[1].split("BLOCKS READ LESS")[0]
    falling = text.split("BLOCKS READ LESS THAN BEFORE")[1].split("CONTENT GAPS")[0]
    assert f"- {proof} (proof): 17% -> 83% of 6 sessions (6 before)" in rising
    assert opening not in rising
    assert f"- {opening} (opening): 83% -> 17% of 6 sessions (6 before)" in falling
    gaps = text.split("CONTENT GAPS THIS WEEK")[1].split("BLOCKS ABOUT TO EXPIRE")[0]
    # The document's stated need is older than the week; the rep reported it again this week,
    # so it is a gap of the week but not a new one, like the question asked twice.
    assert f'- "{NEED}": 1 mention, 1 prospect' in gaps
    assert f'- "{ASKED}": 1 mention, 1 prospect' in gaps
    assert "NEW" not in gaps
    expiring = text.split("BLOCKS ABOUT TO EXPIRE")[1].split("DEALS WON")[0]
    soon = (NOW.date() + dt.timedelta(days=10)).isoformat()
    assert f'- v-expiring (value): "Winter tyre offer" expires {soon}' in expiring
    won = text.split("DEALS WON THIS WEEK")[1]
    closed = (NOW - dt.timedelta(days=1)).date().isoformat()
    read = ", ".join(sorted((opening, proof)))
    assert f"- Digest Freight, closed {closed}, 12,500.00 EUR: read {read}" in won


def test_the_digest_is_mailed_to_marketing_once_a_week(
    site: Site, document: dict[str, str]
) -> None:
    marketing = [site.rep("marketing"), site.rep("marketing")]
    site.rep("rep")  # reps get no digest
    sent = asyncio.run(digest_once(site.settings, utcnow(), print_only=False))
    assert sent == "mailed the digest to 2 marketing users"
    outbox = sorted((site.settings.data_dir / "outbox").glob("*.eml"))
    mails = [message_from_bytes(path.read_bytes(), policy=default) for path in outbox]
    digests = [m for m in mails if str(m["Subject"]).startswith("pitchmap weekly digest")]
    assert sorted(str(m["To"]) for m in digests) == sorted(marketing)
    for mail in digests:
        assert isinstance(mail, EmailMessage)
        body = mail.get_body()
        assert body is not None and "DEALS WON THIS WEEK" in body.get_content()

    again = asyncio.run(digest_once(site.settings, utcnow(), print_only=False))
    assert again.startswith("the digest of the week of") and again.endswith("was sent already")
    assert len(list((site.settings.data_dir / "outbox").glob("*.eml"))) == len(outbox)


def test_a_purge_of_raw_rows_does_not_forget_what_the_won_deal_read(
    site: Site, document: dict[str, str]
) -> None:
    """The deal's blocks read come from each section's rolled-up counts once raw rows go."""
    in_database(site, roll_up_and_drop_raw_rows)
    text = asyncio.run(digest_once(site.settings, utcnow(), print_only=True))
    won = text.split("DEALS WON THIS WEEK")[1]
    assert f"read {', '.join(sorted((document['opening'], document['proof'])))}" in won


async def roll_up_and_drop_raw_rows(session: AsyncSession) -> None:
    assert await roll_up_batch(session, utcnow() + dt.timedelta(hours=1)) > 0
    rows = await session.scalars(select(SectionTime))
    for row in rows:
        await session.delete(row)


def test_without_a_library_the_digest_says_what_to_do(tmp_path: Any) -> None:
    from api.settings import Settings
    from tracker.database import migrate

    settings = Settings.from_env({"PITCHMAP_DATA_DIR": str(tmp_path)})
    migrate(settings.database_url)
    with pytest.raises(NoLibraryError, match="pitchmap serve --library"):
        asyncio.run(digest_once(settings, NOW, print_only=True))


def test_the_block_table_is_untouched_by_the_digest(site: Site, document: dict[str, str]) -> None:
    """Composing and sending read only: the library's blocks and versions stay as imported."""
    counts = in_database(site, count_blocks)
    asyncio.run(digest_once(site.settings, utcnow(), print_only=True))
    assert in_database(site, count_blocks) == counts


async def count_blocks(session: AsyncSession) -> tuple[int, int]:
    blocks = len((await session.scalars(select(Block))).all())
    versions = len((await session.scalars(select(BlockVersion))).all())
    return blocks, versions
