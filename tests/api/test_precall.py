"""The pre-call page through the real app and model: a visit reads one section, the page says
so in its summary, its sections and its timeline; before any visit it says so too."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.clock import LocalTime
from api.controllers.precall import duration, timeline
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tracker.models import DocumentSection, SectionTime, ShareLink, Visit
from tracker.precall import SHOWN_VISITS, PreCall, PreCallSection, PreCallVisit, answered_need

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
_URL = re.compile(r'id="new-url" readonly value="([^"]+)"')


def share(site: Site, document_id: str) -> str:
    made = site.post(f"/documents/{document_id}/links", {"recipient": "dana@northwind.example"})
    assert made.status_code == 200, made.text
    match = _URL.search(made.text)
    assert match is not None
    return match.group(1).rsplit("/", 1)[1]


def read_second_section(site: Site, document_id: str) -> int:
    """A browser's visit over a new share link that reads the document's second section for
    2.2 s; the wait is real, as the server believes no more dwell than time that passed.
    Returns the visit's id."""
    token = share(site, document_id)
    started = site.client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER})
    assert started.status_code == 201, started.text
    visit = started.json()
    time.sleep(2.3)
    beat = {"visit": visit["visit"], "secret": visit["secret"], "seq": 1}
    posted = site.client.post(
        f"/d/{token}/events", json={**beat, "dwell": {"1": 2200}, "seen": [1]}
    )
    assert posted.status_code == 204, posted.text
    return int(visit["visit"])


def title_at(site: Site, document_id: str, position: int) -> str:
    section = site.row(DocumentSection, document_id=document_id, position=position)
    assert isinstance(section, DocumentSection)
    return section.title


@pytest.mark.slow
def test_a_read_section_is_shown_read_and_the_others_skipped(any_site: Site) -> None:
    site = any_site
    site.rep()
    document_id = site.generate(site.new_prospect("Hooli Trucking"))
    page = site.client.get(f"/documents/{document_id}")
    assert f'href="/documents/{document_id}/before-the-call"' in page.text
    before = site.client.get(f"/documents/{document_id}/before-the-call")
    assert before.status_code == 200
    assert "Not opened yet." in before.text and "<svg" not in before.text

    read_second_section(site, document_id)
    titles = [title_at(site, document_id, position) for position in range(4)]
    page = site.client.get(f"/documents/{document_id}/before-the-call")
    assert page.status_code == 200
    text = page.text.replace("&#39;", "'").replace("&amp;", "&")
    summary = f"Read: {titles[1]}; skipped: {titles[0]}, {titles[2]}, {titles[3]}."
    assert summary in text
    items = re.findall(r'<li class="(is-[a-z]+)" data-position="(\d)">', page.text)
    assert items == [("is-unseen", "0"), ("is-read", "1"), ("is-unseen", "2"), ("is-unseen", "3")]
    read_item = page.text.split('data-position="1">', 1)[1].split("</li>", 1)[0]
    assert "2 s · 1 visit ·" in read_item and ">read<" in read_item
    assert page.text.count('<rect class="bar"') == 1
    assert "Visit 1:" in page.text and "link for dana@northwind.example" in page.text
    assert "1 section seen · 2 s reading" in page.text


@pytest.mark.slow
def test_another_rep_gets_403(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Vandelay Imports"))
    assert site.client.get(f"/documents/{document_id}/before-the-call").status_code == 200
    site.rep()
    assert site.client.get(f"/documents/{document_id}/before-the-call").status_code == 403
    site.client.cookies.clear()
    signed_out = site.client.get(
        f"/documents/{document_id}/before-the-call", follow_redirects=False
    )
    assert signed_out.status_code == 303


def _section(position: int, title: str, visits: int, read: bool) -> PreCallSection:
    return PreCallSection(
        position=position,
        slot="value",
        title=title,
        why='fits finance; answers: "Diesel is our biggest cost"; supports v-fuel',
        seen=visits > 0,
        visits_seen=visits,
        dwell_ms=65_000 if read else 0,
        read=read,
        reading_ms=2000,
    )


@pytest.mark.slow
def test_a_much_read_document_lists_its_latest_visits_and_counts_them_all(site: Site) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Initech Haulage"))
    token = share(site, document_id)
    link = site.row(ShareLink, document_id=document_id)
    section = site.row(DocumentSection, document_id=document_id, position=0)
    assert isinstance(link, ShareLink) and isinstance(section, DocumentSection)
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    total = SHOWN_VISITS + 5

    async def visits(session: AsyncSession) -> None:
        for n in range(total):
            began = start + dt.timedelta(hours=n)
            visit = Visit(
                link_id=link.id,
                created_at=began,
                last_seen_at=began + dt.timedelta(minutes=1),
                secret_hash="0" * 64,
                user_agent_kind="browser",
            )
            session.add(visit)
            await session.flush()
            session.add(
                SectionTime(visit_id=visit.id, section_id=section.id, dwell_ms=n, seen=True)
            )

    in_database(site, visits)
    assert token
    page = site.client.get(f"/documents/{document_id}/before-the-call")
    assert page.status_code == 200
    assert page.text.count('<rect class="bar"') == SHOWN_VISITS
    assert f"The latest {SHOWN_VISITS} of {total} visits" in page.text
    assert f"Visit {total}:" in page.text and "Visit 5:" not in page.text
    first = page.text.split('data-position="0">', 1)[1].split("</li>", 1)[0]
    assert f"{total} visits" in first  # the section's figures count every visit


def test_summary_durations_needs_and_timeline() -> None:
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    visits = (
        PreCallVisit(1, start, start + dt.timedelta(minutes=2), "a@x.example", 2, 65_000),
        PreCallVisit(2, start + dt.timedelta(hours=1), start + dt.timedelta(hours=1), None, 1, 0),
    )
    sections = (_section(0, "A", 2, True), _section(1, "B", 0, False), _section(2, "C", 1, True))
    report = PreCall("d", sections, visits, visit_count=len(visits))
    assert report.summary() == "Read: A, C; skipped: B; came back to: A."
    assert PreCall("d", sections, ()).summary() == "Not opened yet."
    only_skipped = PreCall("d", (_section(0, "B", 0, False),), visits, visit_count=2)
    assert only_skipped.summary() == "Skipped: B."
    assert (
        duration(65_000) == "1 min 05 s" and duration(999) == "0 s" and duration(42_500) == "42 s"
    )
    assert answered_need(sections[0].why) == '"Diesel is our biggest cost"'
    assert answered_need("general message") == ""
    drawn = timeline(report, LocalTime())
    assert drawn is not None and len(drawn.bars) == 2
    first, second = drawn.bars
    assert first.x == 8 and first.width > 3
    assert second.x + second.width <= drawn.width - 8 and second.width == 3
    assert second.y > first.y
    assert timeline(PreCall("d", sections, ()), LocalTime()) is None
