"""Marketing's block page through the real app: the block's text and versions (also after a
re-import of a changed library), the documents using it, its weekly engagement counted from
visits made here, the breakdown by prospect facets, and the reps' ratings and needs. Reps get
403; an unknown block is a 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine import load_library
from tests.api.sites import in_database
from tests.api.test_journey import BLOCKS, Site
from tests.factories import write_block
from tracker.library_store import import_library
from tracker.models import DocumentSection, SectionTime, ShareLink, Visit, utcnow

pytestmark = pytest.mark.slow


def visit(site: Site, document_id: str, dwell_ms: int | None) -> None:
    """A session of the document now; with `dwell_ms`, the proof section was seen that long."""

    async def add(session: AsyncSession) -> None:
        link = await session.scalar(select(ShareLink).where(ShareLink.document_id == document_id))
        assert link is not None
        row = Visit(
            link_id=link.id,
            created_at=utcnow(),
            secret_hash=hashlib.sha256(str(dwell_ms).encode()).hexdigest(),
            user_agent_kind="browser",
        )
        session.add(row)
        await session.flush()
        if dwell_ms is not None:
            section = await session.scalar(
                select(DocumentSection).where(
                    DocumentSection.document_id == document_id, DocumentSection.slot == "proof"
                )
            )
            assert section is not None and section.reading_ms <= 5_000
            session.add(
                SectionTime(visit_id=row.id, section_id=section.id, dwell_ms=dwell_ms, seen=True)
            )

    in_database(site, add)


def reimport_changed(site: Site, library_dir: Path, tmp: Path) -> None:
    """Another import of the same library (by name) in which p-fleet's text changed."""
    changed = tmp / "changed"
    shutil.copytree(library_dir, changed)
    proof = next(b for b in BLOCKS if b["id"] == "p-fleet")
    write_block(changed, {**proof, "body": "14% less diesel, audited."})

    async def store(session: AsyncSession) -> None:
        await import_library(session, load_library(changed))

    in_database(site, store)


def table_row(page: str, marker: str) -> list[str]:
    row = page.split(marker, 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.split(r"</t[dh]>", row)][:-1]


def test_a_rep_may_not_open_a_block_page(site: Site) -> None:
    site.rep()
    assert site.client.get("/marketing/blocks/p-fleet").status_code == 403


def test_an_unknown_block_is_a_404(site: Site) -> None:
    site.rep("marketing")
    missing = site.client.get("/marketing/blocks/no-such-block")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "No block “no-such-block”" in missing.text and 'href="/marketing/blocks"' in missing.text


def test_the_block_page_tells_the_block_s_whole_story(
    site: Site, site_library: Path, tmp_path: Path
) -> None:
    rep = site.rep()
    document_id = site.generate(site.new_prospect("Story Freight"))
    sections = site.client.get(f"/documents/{document_id}").text
    unused_key = next(b["id"] for b in BLOCKS if f'data-block-id="{b["id"]}"' not in sections)
    made = site.post(f"/documents/{document_id}/links", {"recipient": "dana@example.com"})
    assert made.status_code == 200
    for dwell in (4_000, 500, None):  # read; seen but not read; opened, never got there
        visit(site, document_id, dwell)
    rated = site.post(
        f"/documents/{document_id}/ratings",
        {"block": "p-fleet", "useful": "yes", "comment": "Numbers <b>sell</b>"},
    )
    assert rated.status_code == 303
    reported = site.post(
        f"/documents/{document_id}/needs", {"need": "Proof from a bank", "slot": "proof"}
    )
    assert reported.status_code == 303
    reimport_changed(site, site_library, tmp_path)

    site.rep("marketing")
    page = site.client.get("/marketing/blocks/p-fleet")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Acme saved 12%</h1>" in text  # the text in use: the running library's
    assert '<pre class="block-body">12% less diesel.</pre>' in text
    assert 'data-version="2"' in text and 'data-version="1"' in text
    assert table_row(text, 'data-version="1">')[0] == "1 (in use)"
    assert table_row(text, 'data-version="2">')[0] == "2"

    uses = text.split('id="uses"', 1)[1].split("</table>", 1)[0]
    assert f'href="/documents/{document_id}"' in uses and "Story Freight" in uses
    assert re.search(r"<td>1</td><td>3</td></tr>", uses)  # version 1, three visits

    this_week = dt.datetime.now(dt.UTC).isocalendar()
    label = f"{this_week.year}-W{this_week.week:02d}"
    # The median dwell of the two sessions that saw it: (4000 + 500) / 2.
    assert table_row(text, f'data-week="{label}">') == [label, "3", "67%", "33%", "2.2 s"]
    assert f"{label}: 3 sessions, seen in 67%, read in 33%" in text  # the column's title
    assert text.count('<rect class="sessions"') == 1
    assert '<svg class="chart"' in text and 'aria-labelledby="weekly-title"' in text

    breakdown = text.split('id="breakdown"', 1)[1].split('id="ratings"', 1)[0]
    assert '<th scope="row">logistics</th><td>1</td><td>3</td><td>67%</td>' in breakdown
    assert '<th scope="row">finance</th>' in breakdown

    ratings = text.split('id="ratings"', 1)[1].split('id="needs"', 1)[0]
    assert "1 useful · 0 not useful" in ratings
    assert "Numbers &lt;b&gt;sell&lt;/b&gt;" in ratings and rep in ratings
    needs = text.split('id="needs"', 1)[1]
    assert "Proof from a bank" in needs and "proof ·" in needs

    # Another block of the same document has the need too; a block of no document has none.
    assert "Proof from a bank" in site.client.get("/marketing/blocks/o-now").text
    unused = site.client.get(f"/marketing/blocks/{unused_key}")
    assert unused.status_code == 200 and "Proof from a bank" not in unused.text
    assert "No document has used this block yet." in unused.text
