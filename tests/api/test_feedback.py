"""Feedback from the field through the real app on both backends: a rep rates the blocks of a
document they may see (rating again replaces the verdict), reports a need the prospect raised,
and bad input re-shows the page with a 400 that names the field and writes nothing. Also the
share link's copy button and the link expiry in the user's own time zone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.sites import in_database
from tests.api.test_journey import BLOCKS, Site
from tracker.models import BlockRating, Document, ReportedNeed, ShareLink, User

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend."""
    return any_site


def ratings_of(site: Site, document_id: str) -> list[tuple[bool, str]]:
    async def work(session: AsyncSession) -> list[tuple[bool, str]]:
        rows = await session.execute(
            select(BlockRating.useful, BlockRating.comment).where(
                BlockRating.document_id == document_id
            )
        )
        return [(useful, comment) for useful, comment in rows]

    return in_database(site, work)


def needs_count(site: Site) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(ReportedNeed)) or 0)

    return in_database(site, work)


def proof_block(site: Site, document_id: str) -> str:
    """The block of the document's last section (the proof slot has one block: p-fleet)."""
    page = site.client.get(f"/documents/{document_id}").text
    keys = re.findall(r'<li data-block-id="([a-z-]+)"', page)
    assert keys[-1] == "p-fleet"
    return keys[-1]


def test_a_second_rating_replaces_the_first_and_the_page_shows_it(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Rating Freight"))
    block = proof_block(site, document_id)
    page = site.client.get(f"/documents/{document_id}").text
    assert page.count('action="/documents/' + document_id + '/ratings"') == 4
    assert "<legend>Was this block useful?</legend>" in page

    first = site.post(
        f"/documents/{document_id}/ratings",
        {"block": block, "useful": "no", "comment": "Too generic"},
    )
    assert first.status_code == 303
    assert first.headers["location"] == f"/documents/{document_id}#rate-{block}"
    again = site.post(
        f"/documents/{document_id}/ratings",
        {"block": block, "useful": "yes", "comment": "The 12% landed"},
    )
    assert again.status_code == 303
    assert ratings_of(site, document_id) == [(True, "The 12% landed")]

    page = site.client.get(f"/documents/{document_id}").text
    item = page.split(f'id="rate-{block}">', 1)[1].split("</li>", 1)[0]
    assert "Your rating: <strong>useful</strong>" in item
    assert 'value="yes" checked' in item and 'value="no" checked' not in item
    assert ">The 12% landed</textarea>" in item


def test_rating_a_block_not_in_the_document_is_refused_and_nothing_written(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Refusal Freight"))
    page = site.client.get(f"/documents/{document_id}").text
    unused = next(b["id"] for b in BLOCKS if f'data-block-id="{b["id"]}"' not in page)
    for form, field in (
        ({"block": unused, "useful": "yes"}, "block"),
        ({"block": "no-such-block", "useful": "yes"}, "block"),
        ({"block": "p-fleet", "useful": "maybe"}, "useful"),
        ({"block": "p-fleet"}, "useful"),
        ({"block": "p-fleet", "useful": "no", "comment": "x" * 2001}, "comment"),
    ):
        refused = site.post(f"/documents/{document_id}/ratings", form)
        assert refused.status_code == 400, form
        assert f'id="{field}-error"' in refused.text, form
        assert "Refusal Freight" in refused.text  # the document page, not an error page
    assert ratings_of(site, document_id) == []
    # The comment that was too long is given back to be shortened, in its own section's form.
    assert "x" * 2001 + "</textarea>" in refused.text


def test_a_reported_need_is_stored_and_shown_for_the_prospect(site: Site) -> None:
    email = site.rep()
    key = site.new_prospect("Needful Freight")
    first = site.generate(key)
    second = site.generate(key)  # another document for the same prospect
    reported = site.post(
        f"/documents/{first}/needs", {"need": "  Does it work offline?  ", "slot": "proof"}
    )
    assert reported.status_code == 303 and reported.headers["location"].endswith("#needs")
    need = site.row(ReportedNeed, text="Does it work offline?")
    document = site.row(Document, id=first)
    assert isinstance(need, ReportedNeed) and isinstance(document, Document)
    assert (need.prospect_id, need.document_id, need.slot) == (document.prospect_id, first, "proof")
    for document_id in (first, second):
        page = site.client.get(f"/documents/{document_id}").text
        shown = page.split('id="needs"', 1)[1]
        assert "Does it work offline?" in shown and email in shown


def test_a_bad_need_reshows_the_page_with_400_and_writes_nothing(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Blank Freight"))
    before = needs_count(site)
    for form, field in (
        ({"need": "   "}, "need"),
        ({"need": "y" * 1001}, "need"),
        ({"need": "Offline", "slot": "nowhere"}, "slot"),
    ):
        refused = site.post(f"/documents/{document_id}/needs", form)
        assert refused.status_code == 400, form
        assert f'id="{field}-error"' in refused.text, form
        assert 'id="recipient-error"' not in refused.text
    assert needs_count(site) == before


def test_another_rep_may_not_rate_or_report(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Private Freight"))
    site.rep()
    rated = site.post(f"/documents/{document_id}/ratings", {"block": "p-fleet", "useful": "yes"})
    assert rated.status_code == 403
    reported = site.post(f"/documents/{document_id}/needs", {"need": "Offline"})
    assert reported.status_code == 403
    assert site.post("/documents/nope/needs", {"need": "Offline"}).status_code == 404
    assert ratings_of(site, document_id) == []


def test_the_new_link_has_a_copy_button_from_a_static_script(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Copy Freight"))
    page = site.client.get(f"/documents/{document_id}").text
    assert '<script src="/static/copy.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline: the CSP forbids it
    made = site.post(f"/documents/{document_id}/links", {"recipient": "dana@example.com"})
    assert made.status_code == 200
    assert 'id="new-url" readonly value="https://s.example/d/' in made.text
    assert 'data-copy="new-url" data-copy-status="new-url-status"' in made.text
    assert '<span id="new-url-status" class="muted" aria-live="polite"></span>' in made.text
    script = site.client.get("/static/copy.js")
    assert script.status_code == 200 and "navigator.clipboard.writeText" in script.text
    assert "javascript" in script.headers["content-type"]


def test_a_link_expires_at_the_end_of_the_day_where_the_user_is(site: Site) -> None:
    email = site.rep()

    async def to_los_angeles(session: AsyncSession) -> None:
        await session.execute(
            update(User).where(User.email == email).values(time_zone="America/Los_Angeles")
        )

    in_database(site, to_los_angeles)
    document_id = site.generate(site.new_prospect("Pacific Freight"))
    made = site.post(
        f"/documents/{document_id}/links", {"recipient": "pat@example.com", "expires": "2999-01-31"}
    )
    assert made.status_code == 200
    link = site.row(ShareLink, document_id=document_id)
    assert isinstance(link, ShareLink)
    # 23:59:59 on 31 January in Los Angeles (PST, UTC-8) is 07:59:59 on 1 February in UTC.
    assert link.expires_at == dt.datetime(2999, 2, 1, 7, 59, 59, tzinfo=dt.UTC)
