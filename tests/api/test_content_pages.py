"""Marketing's content gaps and stale content through the real app and model: documents stored
with known unanswered needs and reps' reports give the themes' counts; blocks written with
statuses and expiry dates land in the stale sections; a rep gets 403."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.sites import in_database
from tests.api.test_journey import Site
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Library,
    Prospect,
    ReportedNeed,
    ShareLink,
    Visit,
)
from tracker.stale import RARELY_SEEN_DOCUMENTS

pytestmark = pytest.mark.slow

TODAY = dt.datetime.now(dt.UTC).date()
BLOCKS = [
    {"id": "o-now", "slot": "opening", "title": "Act now", "body": "Fuel prices rose."},
    {
        "id": "v-old",
        "slot": "value",
        "title": "Last year's offer",
        "body": "Valid until recently.",
        "expires": (TODAY - dt.timedelta(days=2)).isoformat(),
    },
    {
        "id": "v-soon",
        "slot": "value",
        "title": "This quarter's offer",
        "body": "Valid a little longer.",
        "expires": (TODAY + dt.timedelta(days=10)).isoformat(),
    },
    {"id": "v-fuel", "slot": "value", "title": "Cut diesel spend", "body": "Idle alerts."},
    {"id": "p-draft", "slot": "proof", "title": "Unfinished", "body": "Soon.", "status": "draft"},
    {"id": "p-quiet", "slot": "proof", "title": "Read by nobody", "body": "Far down the page."},
]


@pytest.fixture(scope="module")
def library_blocks() -> list[dict[str, Any]]:
    return BLOCKS


def march(day: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)


def store(site: Site, company: str, when: dt.datetime, needs: list[Any], *blocks: str) -> str:
    """A document of the served library for a new prospect, made `when`, with its unanswered
    `needs` and a section per block id; returns its id."""

    async def work(session: AsyncSession) -> str:
        library = await session.scalar(select(Library.id))
        prospect = Prospect(key=company.lower().replace(" ", "-"), company=company)
        session.add(prospect)
        await session.flush()
        versions = {
            key: version
            for key, version in await session.execute(
                select(Block.key, BlockVersion.id).join(BlockVersion)
            )
        }
        document = Document(
            id=f"doc-{prospect.key}",
            library_id=library,
            prospect_id=prospect.id,
            title=f"Pitch for {company}",
            as_of=when.date(),
            created_at=when,
            unanswered=needs,
            sections=[
                DocumentSection(position=i, slot="value", block_version_id=versions[key], title=key)
                for i, key in enumerate(blocks)
            ],
        )
        session.add(document)
        await session.flush()
        return document.id

    return in_database(site, work)


def report(site: Site, document_id: str, text: str, when: dt.datetime, slot: str | None) -> None:
    async def work(session: AsyncSession) -> None:
        document = await session.get(Document, document_id)
        assert document is not None
        session.add(
            ReportedNeed(
                prospect_id=document.prospect_id,
                document_id=document_id,
                slot=slot,
                text=text,
                created_at=when,
            )
        )

    in_database(site, work)


def link(site: Site, document_id: str, email: str, revoked: bool = False, visits: int = 0) -> None:
    """A share link, opened `visits` times by a reader who saw no section."""

    async def work(session: AsyncSession) -> None:
        row = ShareLink(
            document_id=document_id,
            token_hash=hashlib.sha256(f"{document_id} {email}".encode()).hexdigest(),
            recipient_email=email,
            revoked_at=march(1) if revoked else None,
        )
        session.add(row)
        await session.flush()
        session.add_all(
            Visit(link_id=row.id, secret_hash="0" * 64, user_agent_kind="browser")
            for _ in range(visits)
        )

    in_database(site, work)


def rows(page: str, table: str) -> list[str]:
    body = page.split(f'<table class="{table}">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>", 1)[1], re.S)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_gaps_gather_needs_into_themes_with_counts_and_examples(site: Site) -> None:
    fuel = {"need": "cut fuel spend", "best_score": 0.31}
    paraphrase = {"need": "reduce what we pay for fuel", "best_score": 0.42}
    gdpr = {"need": "GDPR audit", "best_score": 0.12}
    first = store(site, "Northwind", march(2), [fuel, gdpr], "v-fuel")
    store(site, "Globex", march(5), [paraphrase, fuel], "v-fuel")
    store(site, "Initech", march(9), [fuel], "v-fuel")
    store(site, "Old Corp", march(9), None, "v-fuel")  # made before the gaps were kept
    report(site, first, "Reduce what we pay for fuel", march(20), "value")

    site.rep("marketing")
    page = site.client.get("/marketing/gaps")
    assert page.status_code == 200, page.text
    assert "2 themes from 6 mentions by 3 prospects." in page.text
    themes = rows(page.text, "gaps")
    assert len(themes) == 2
    fuel_theme, gdpr_theme = (cells(row) for row in themes)
    assert " ".join(fuel_theme[0]) == "cut fuel spend Wanted in: value"
    assert fuel_theme[1] == ["5", "1", "reported", "by", "reps"]
    assert fuel_theme[2] == ["3"] and fuel_theme[3] == ["0.42"]
    examples = " ".join(fuel_theme[4])
    assert "“cut fuel spend” — Initech" in examples
    assert "“reduce what we pay for fuel” — Globex" in examples
    assert "“Reduce what we pay for fuel” — Northwind · reported by reps" in examples
    assert " ".join(gdpr_theme[0]) == "GDPR audit" and gdpr_theme[1:4] == [["1"], ["1"], ["0.12"]]
    assert '<svg class="chart" id="gaps-chart"' in page.text

    march_early = site.client.get(
        "/marketing/gaps", params={"from": "2026-03-02", "to": "2026-03-05"}
    )
    assert "2 themes from 4 mentions by 2 prospects." in march_early.text
    assert "Initech" not in march_early.text

    bad = site.client.get("/marketing/gaps", params={"from": "2026-13-01"})
    assert bad.status_code == 400 and "from: &#39;2026-13-01&#39; is not a date" in bad.text
    backwards = site.client.get(
        "/marketing/gaps", params={"from": "2026-03-05", "to": "2026-03-01"}
    )
    assert backwards.status_code == 400 and "to: is before from" in backwards.text


def test_stale_blocks_land_in_their_sections(site: Site) -> None:
    live = store(site, "Live Co", march(10), [], "v-old", "v-fuel")
    link(site, live, "dana@live.example")
    link(site, live, "former@live.example", revoked=True)
    dead = store(site, "Dead Co", march(10), [], "v-old")
    link(site, dead, "erin@dead.example", revoked=True)
    for n in range(RARELY_SEEN_DOCUMENTS):
        quiet = store(site, f"Quiet {n}", march(11), [], "p-quiet")
        link(site, quiet, f"reader@quiet{n}.example", visits=2)

    site.rep("marketing")
    page = site.client.get("/marketing/stale")
    assert page.status_code == 200, page.text

    def keys(table: str) -> list[str]:
        return re.findall(
            r'<tr data-block-id="([^"]+)"',
            page.text.split(f'class="{table}"')[1].split("</table>")[0],
        )

    assert keys("stale-expired") == ["v-old"]
    assert keys("stale-expiring") == ["v-soon"]
    assert keys("stale-live") == ["v-old"]  # in the live document only: Dead Co's link is revoked
    (live_row,) = rows(page.text, "stale-live")
    assert "Pitch for Live Co" in live_row and "dana@live.example" in live_row
    assert "former@live.example" not in live_row
    assert f'href="/documents/{live}"' in live_row
    assert "o-now" in keys("stale-never") and "v-soon" in keys("stale-never")
    assert "v-fuel" not in keys("stale-never") and "p-draft" not in keys("stale-never")
    assert keys("stale-rarely") == ["p-quiet"]
    (quiet_row,) = rows(page.text, "stale-rarely")
    assert [" ".join(c) for c in cells(quiet_row)[1:]] == [
        "0%",
        str(RARELY_SEEN_DOCUMENTS),
        str(2 * RARELY_SEEN_DOCUMENTS),
    ]
    assert 'href="/marketing/blocks/v-old"' in page.text


def test_a_rep_may_open_neither_page_and_an_admin_both(site: Site) -> None:
    site.rep("admin")
    assert site.client.get("/marketing/gaps").status_code == 200
    assert site.client.get("/marketing/stale").status_code == 200
    site.rep()
    assert site.client.get("/marketing/gaps").status_code == 403
    assert site.client.get("/marketing/stale").status_code == 403
    site.client.cookies.clear()
    assert site.client.get("/marketing/gaps", follow_redirects=False).status_code == 303
