"""Block influence through the real app: `GET /api/blocks/{id}/influence` and the Deals section
of marketing's block page, counted from documents made over the API, visits recorded here and
outcomes written as the outcomes feature stores them.

Seven deals, each with one document holding p-fleet (the library's only proof block):

    deal  industry   p-fleet seen?  outcome
    0     retail     yes            won
    1     logistics  yes            won
    2     retail     yes            won
    3     logistics  yes            lost
    4     retail     yes            no_decision
    5     logistics  no             won            (a visit saw the opening only)
    6     retail     no             lost           (a visit saw the opening only)

Seen: 5 deals, 3 won (60%, Wilson 95% 23%-88%); sent but not seen: 2 deals, too few. A draft
block of the library is in no deal at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import new_key
from tests.api.sites import in_database
from tests.api.test_journey import BLOCKS, Site
from tracker.influence import MIN_DEALS
from tracker.models import (
    DealOutcome,
    Document,
    DocumentSection,
    SectionTime,
    ShareLink,
    Visit,
    utcnow,
)

pytestmark = pytest.mark.slow

OUTCOMES = ("won", "won", "won", "lost", "no_decision", "won", "lost")
SEEN = 5  # the first five deals saw p-fleet
DASH = "\N{EN DASH}"  # between an interval's ends on the page


@pytest.fixture(scope="module")
def library_blocks() -> list[dict[str, Any]]:
    """The journey's library and a draft, which no document ever holds."""
    draft = {"id": "p-draft", "slot": "proof", "status": "draft", "body": "Not yet."}
    return [*BLOCKS, draft]


def industry(deal: int) -> str:
    return "logistics" if deal % 2 else "retail"


@pytest.fixture(scope="module")
def keys(site: Site) -> dict[str, str]:
    url = site.settings.database_url
    return {role: asyncio.run(new_key(url, role, role)) for role in ("rep", "marketing")}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def deals(site: Site, keys: dict[str, str]) -> list[str]:
    """The seven deals above; returns their document ids."""
    documents = []
    for deal, outcome in enumerate(OUTCOMES):
        prospect = {"id": f"deal-{deal}", "company": f"Deal {deal}", "industry": industry(deal)}
        made = site.client.post(
            "/api/documents", json={"prospect": prospect}, headers=auth(keys["rep"])
        )
        assert made.status_code == 201, made.text
        assert "p-fleet" in [s["block_id"] for s in made.json()["sections"]]
        document_id = made.json()["id"]
        link = site.client.post(
            f"/api/documents/{document_id}/links",
            json={"recipient": f"buyer{deal}@example.com"},
            headers=auth(keys["rep"]),
        )
        assert link.status_code == 201, link.text
        in_database(site, lambda s, d=document_id, n=deal, o=outcome: record(s, d, n, o))
        documents.append(document_id)
    return documents


async def record(session: AsyncSession, document_id: str, deal: int, outcome: str) -> None:
    """A visit that saw p-fleet (or only the opening), and the deal's outcome."""
    link = await session.scalar(select(ShareLink).where(ShareLink.document_id == document_id))
    document = await session.get(Document, document_id)
    assert link is not None and document is not None
    slot = "proof" if deal < SEEN else "opening"
    section = await session.scalar(
        select(DocumentSection).where(
            DocumentSection.document_id == document_id, DocumentSection.slot == slot
        )
    )
    assert section is not None
    visit = Visit(
        link_id=link.id,
        created_at=utcnow(),
        secret_hash=hashlib.sha256(document_id.encode()).hexdigest(),
        user_agent_kind="browser",
    )
    session.add(visit)
    await session.flush()
    session.add(SectionTime(visit_id=visit.id, section_id=section.id, dwell_ms=4000, seen=True))
    session.add(
        DealOutcome(
            prospect_id=document.prospect_id,
            outcome=outcome,
            closed_on=utcnow().date(),
            source="api",
        )
    )


def influence(site: Site, key: str, query: str = "") -> Any:
    return site.client.get(f"/api/blocks/p-fleet/influence{query}", headers=auth(key))


def test_the_api_splits_deals_by_whether_the_block_was_seen(
    site: Site, keys: dict[str, str], deals: list[str]
) -> None:
    response = influence(site, keys["marketing"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["block_id"] == "p-fleet" and body["min_deals"] == MIN_DEALS == 5
    assert "groups" not in body
    seen, unseen = body["seen"], body["unseen"]
    assert (seen["deals"], seen["won"], seen["enough"]) == (5, 3, True)
    assert seen["win_rate"] == pytest.approx(0.6)
    assert seen["interval"] == pytest.approx([0.2307, 0.8824], abs=5e-5)
    assert unseen == {"deals": 2, "won": 1, "win_rate": None, "interval": None, "enough": False}
    assert body["lift"] is None and body["lift_interval"] is None


def test_the_api_breaks_influence_down_by_segment(
    site: Site, keys: dict[str, str], deals: list[str]
) -> None:
    body = influence(site, keys["marketing"], "?by=industry").json()
    assert body["by"] == "industry"
    groups = {g["value"]: g for g in body["groups"]}
    assert list(groups) == ["logistics", "retail"]
    assert (groups["logistics"]["seen"]["deals"], groups["logistics"]["seen"]["won"]) == (2, 1)
    assert (groups["logistics"]["unseen"]["deals"], groups["logistics"]["unseen"]["won"]) == (1, 1)
    assert (groups["retail"]["seen"]["deals"], groups["retail"]["seen"]["won"]) == (3, 2)
    assert groups["retail"]["seen"]["win_rate"] is None  # 3 deals: too few
    by_slot = influence(site, keys["marketing"], "?by=slot").json()
    assert [g["value"] for g in by_slot["groups"]] == ["proof"]
    assert by_slot["groups"][0]["seen"]["win_rate"] == pytest.approx(0.6)


def test_the_api_refuses_reps_strangers_unknown_blocks_and_bad_groupings(
    site: Site, keys: dict[str, str], deals: list[str]
) -> None:
    assert influence(site, keys["rep"]).status_code == 403
    assert site.client.get("/api/blocks/p-fleet/influence").status_code == 401
    missing = site.client.get("/api/blocks/nope/influence", headers=auth(keys["marketing"]))
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    bad = influence(site, keys["marketing"], "?by=region")
    assert bad.status_code == 400 and "by" in bad.text


def test_the_endpoint_is_in_the_openapi_schema(site: Site) -> None:
    schema = site.client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/api/blocks/{block_id}/influence"]["get"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["by"]


def cells(page: str, marker: str) -> list[str]:
    row = page.split(marker, 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.split(r"</t[dh]>", row)][:-1]


def test_the_block_page_shows_both_arms_honestly(site: Site, deals: list[str]) -> None:
    site.rep("marketing")
    page = site.client.get("/marketing/blocks/p-fleet")
    assert page.status_code == 200
    section = page.text.split('id="deals"', 1)[1].split('id="ratings"', 1)[0]
    assert cells(section, 'data-arm="seen">') == ["Seen", "5", "3", f"60% (95%: 23%{DASH}88%)"]
    assert cells(section, 'data-arm="sent, not seen">') == [
        "Sent, not seen",
        "2",
        "1",
        "too few deals",
    ]
    assert "Too few deals to compare: each side needs 5." in section
    assert "no decision counts as not won" in section
    assert cells(section, 'data-group="industry:retail">') == [
        "retail",
        "3",
        "2",
        "too few deals",
        "1",
        "0",
        "too few deals",
        "too few deals",
    ]
    assert cells(section, 'data-group="slot:proof">')[1:4] == ["5", "3", f"60% (95%: 23%{DASH}88%)"]


def test_a_block_of_no_deal_says_so(site: Site, deals: list[str]) -> None:
    site.rep("marketing")
    page = site.client.get("/marketing/blocks/p-draft").text
    assert "No deal with a recorded outcome contained this block yet." in page


def test_the_leaderboard_gives_each_block_its_win_rate_when_seen(
    site: Site, deals: list[str]
) -> None:
    site.rep("marketing")
    page = site.client.get("/marketing/blocks")
    assert page.status_code == 200
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r'<tr data-block-id="([^"]+)">.*?data-field="won_when_seen">(.*?)</td>', page.text, re.S
        )
    }
    assert rows["p-fleet"] == "60% of 5 deals"
    assert "no deal" in rows["p-draft"]
    # Only deal 5 (logistics, o-now) saw its opening block.
    assert "too few deals (1)" in rows["o-now"]
