"""Before the call with a prospect, through the real app and model: every document made for
the prospect with its own pre-call report, newest first, under one line across them; times in
the reader's zone, on this page and on a document's own pre-call page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.sites import in_database
from tests.api.test_journey import Site
from tests.api.test_precall import read_second_section
from tracker.models import Visit

pytestmark = pytest.mark.slow

DASH = "\N{EN DASH}"  # between a visit's start and end
STARTED = dt.datetime(2026, 11, 24, 18, 5, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend."""
    return any_site


def visit_at(site: Site, document_id: str, started: dt.datetime) -> None:
    """A visit of the document that read its second section for 2.2 s, moved to `started`."""
    visit_id = read_second_section(site, document_id)

    async def move(session: AsyncSession) -> None:
        ended = started + dt.timedelta(minutes=2)
        moved = update(Visit).where(Visit.id == visit_id)
        await session.execute(moved.values(created_at=started, last_seen_at=ended))

    in_database(site, move)


def test_two_documents_each_with_its_report_newest_first(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Hooli Trucking")
    empty = site.client.get(f"/prospects/{key}/before-the-call")
    assert empty.status_code == 200 and "No documents yet." in empty.text
    first = site.generate(key)
    second = site.generate(key)
    visit_at(site, first, STARTED)

    page = site.client.get(f"/prospects/{key}/before-the-call")
    assert page.status_code == 200
    assert "2 documents, 1 opened · 1 visit · 1 of 8 sections read" in page.text
    assert "last seen 2026-11-24 18:07 UTC" in page.text
    linked = re.findall(r'<h2 id="doc-\d"><a href="/documents/([^"]+)">', page.text)
    assert linked == [second, first]
    summaries = re.findall(r'<p class="summary" id="doc-(\d)-summary">([^<]+)</p>', page.text)
    assert [n for n, _ in summaries] == ["1", "2"]
    assert summaries[0][1] == "Not opened yet." and summaries[1][1].startswith("Read: ")
    assert page.text.count('<rect class="bar"') == 1
    assert 'aria-labelledby="doc-2-timeline-title"' in page.text
    visit = f"Visit 1: 2026-11-24 18:05{DASH}18:07 UTC · link for dana@northwind.example"
    assert visit in page.text

    site.rep()
    assert site.client.get(f"/prospects/{key}/before-the-call").status_code == 403
    site.rep("marketing")
    assert site.client.get(f"/prospects/{key}/before-the-call").status_code == 200


def test_times_follow_the_reader_s_zone(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Pied Piper Freight")
    document_id = site.generate(key)
    visit_at(site, document_id, STARTED)
    own_page = f"/documents/{document_id}/before-the-call"
    in_utc = site.client.get(own_page).text
    assert f"Visit 1: 2026-11-24 18:05{DASH}18:07 UTC" in in_utc
    assert '<text class="tick" x="8" y="' in in_utc and ">2026-11-24 18:05 UTC</text>" in in_utc
    assert "<title>Visit 1: 2026-11-24 18:05 UTC, 2 s reading" in in_utc

    assert site.post("/account/time-zone", {"time_zone": "Europe/Berlin"}).status_code == 303
    in_berlin = site.client.get(own_page).text
    assert f"Visit 1: 2026-11-24 19:05{DASH}19:07 CET" in in_berlin and "UTC" not in in_berlin
    assert ">2026-11-24 19:05 CET</text>" in in_berlin
    prospect_page = site.client.get(f"/prospects/{key}/before-the-call").text
    assert f"Visit 1: 2026-11-24 19:05{DASH}19:07 CET" in prospect_page
    assert "last seen 2026-11-24 19:07 CET" in prospect_page
