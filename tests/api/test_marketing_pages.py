"""Marketing's leaderboard and slot funnel through the real app, on documents a rep generated
with the pages and sessions written into the database, every figure worked out by hand.

The world: two documents from the journey's library (opening, two values, proof).
    doc_a  logistics / finance        sessions (UTC):
        a1 2026-03-10 09:00  opening seen and read, value 1 seen briefly
        a2 2026-03-10 23:30  every section seen and read     (11 March in Berlin)
    doc_b  retail / (no persona)
        b1 2026-03-20 12:00  no section ever came on screen
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.charts.bars import LabelledValue, bar_chart
from tests.api.test_journey import BLOCKS, Site
from tests.conftest import make_settings, new_database
from tests.factories import write_library
from tracker.database import create_engine, create_sessions
from tracker.models import Block, BlockVersion, DocumentSection, SectionTime, ShareLink, User, Visit

pytestmark = pytest.mark.slow
T = TypeVar("T")
READ_MS = 600_000  # longer than any section's reading time


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def in_db(site: Site, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(site.settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def new_prospect(site: Site, company: str, industry: str, persona: str) -> str:
    form = {"company": company, "industry": industry, "persona": persona, "needs": "Fuel."}
    made = site.post("/prospects/new", form)
    assert made.status_code == 303, made.text
    return str(made.headers["location"]).split("/")[2]


def add_visit(site: Site, document_id: str, at: dt.datetime, seen: dict[int, int]) -> None:
    """A session of a new link of the document: position -> dwell ms of each section seen."""

    async def work(session: AsyncSession) -> None:
        token = hashlib.sha256(f"{document_id}{at}".encode()).hexdigest()
        link = ShareLink(document_id=document_id, token_hash=token, recipient_email="r@x.example")
        session.add(link)
        await session.flush()
        visit = Visit(link_id=link.id, created_at=at, secret_hash=token, user_agent_kind="browser")
        session.add(visit)
        await session.flush()
        sections = await session.scalars(
            select(DocumentSection).where(DocumentSection.document_id == document_id)
        )
        for section in sections:
            if section.position in seen:
                dwell = seen[section.position]
                session.add(
                    SectionTime(visit_id=visit.id, section_id=section.id, dwell_ms=dwell, seen=True)
                )

    in_db(site, work)


def block_ids(site: Site, document_id: str) -> list[str]:
    async def work(session: AsyncSession) -> list[str]:
        keys = await session.scalars(
            select(Block.key)
            .join(BlockVersion, BlockVersion.block_id == Block.id)
            .join(DocumentSection, DocumentSection.block_version_id == BlockVersion.id)
            .where(DocumentSection.document_id == document_id)
            .order_by(DocumentSection.position)
        )
        return list(keys)

    return in_db(site, work)


def set_zone(site: Site, email: str, zone: str) -> None:
    async def work(session: AsyncSession) -> None:
        user = (await session.scalars(select(User).where(User.email == email))).one()
        user.time_zone = zone

    in_db(site, work)


class World:
    def __init__(self, site: Site) -> None:
        self.site = site
        site.rep()
        self.doc_a = site.generate(new_prospect(site, "Hooli Trucking", "logistics", "finance"))
        self.doc_b = site.generate(new_prospect(site, "Initech Stores", "retail", ""))
        self.blocks_a = block_ids(site, self.doc_a)
        self.blocks_b = block_ids(site, self.doc_b)
        add_visit(site, self.doc_a, utc(10, 9), {0: READ_MS, 1: 10})
        add_visit(site, self.doc_a, utc(10, 23, 30), {p: READ_MS for p in range(4)})
        add_visit(site, self.doc_b, utc(20, 12), {})
        self.marketing = site.rep("marketing")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    library = write_library(tmp_path_factory.mktemp("lib") / "library", BLOCKS)
    data = tmp_path_factory.mktemp("data")
    settings = make_settings(data, database=new_database(request, "sqlite", data))
    with TestClient(create_app(settings, library), base_url="https://testserver.local") as client:
        yield World(Site(client, settings))


def rows(page: str) -> dict[str, list[str]]:
    """The leaderboard's rows: block id -> its cells' text, in the page's order."""
    found = {}
    for block_id, body in re.findall(r'<tr data-block-id="([^"]+)">(.*?)</tr>', page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        texts = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
        found[block_id] = [texts[0].split()[0], *texts[1:]]  # the id, without the title
    return found


def get(world: World, path: str, **query: str) -> Any:
    return world.site.client.get(path, params=query, follow_redirects=False)


def test_the_leaderboard_counts_the_sessions_of_the_documents_using_each_block(
    world: World,
) -> None:
    assert world.blocks_a == ["o-now", "v-fuel", "v-safety", "p-fleet"]
    assert world.blocks_b == ["o-peers", "v-fuel", "v-routes", "p-fleet"]
    page = get(world, "/marketing/blocks")
    assert page.status_code == 200, page.text
    # block, slot, documents, sessions, seen rate, median dwell, read rate, won when seen (no
    # deal has an outcome here); by read rate, then id
    assert list(rows(page.text).items()) == [
        ("o-now", ["o-now", "opening", "1", "2", "100%", "10 min 00 s", "100%", "no deal"]),
        ("v-safety", ["v-safety", "value", "1", "2", "50%", "10 min 00 s", "50%", "no deal"]),
        ("p-fleet", ["p-fleet", "proof", "2", "3", "33%", "10 min 00 s", "33%", "no deal"]),
        # seen by a1 (10 ms) and a2 (10 min): the median is their mean
        ("v-fuel", ["v-fuel", "value", "2", "3", "67%", "5 min 00 s", "33%", "no deal"]),
        ("o-peers", ["o-peers", "opening", "1", "1", "0%", "0 s", "0%", "no deal"]),
        ("v-routes", ["v-routes", "value", "1", "1", "0%", "0 s", "0%", "no deal"]),
    ]
    assert 'href="/marketing/blocks/o-now"' in page.text
    assert 'class="table-wrap"' in page.text and "<option>logistics</option>" in page.text
    assert 'id="facet-stage"' not in page.text  # no block names a stage: nothing to offer


def test_filters_narrow_the_rows_and_sorting_follows_the_column(world: World) -> None:
    retail = rows(get(world, "/marketing/blocks", industry="Retail").text)
    assert retail["o-peers"][2:4] == ["1", "1"] and retail["o-now"][2:4] == ["0", "0"]
    assert retail["v-fuel"][2:7] == ["1", "1", "0%", "0 s", "0%"]
    opening = rows(get(world, "/marketing/blocks", slot="opening").text)
    assert opening["o-now"][3] == "2" and opening["v-fuel"][2:4] == ["0", "0"]
    tenth = rows(get(world, "/marketing/blocks", since="2026-03-10", until="2026-03-10").text)
    assert tenth["v-fuel"][2:4] == ["2", "2"] and tenth["o-peers"][3] == "0"
    by_id = list(rows(get(world, "/marketing/blocks", sort="block_id").text))
    assert by_id == sorted(by_id)
    by_sessions = list(rows(get(world, "/marketing/blocks", sort="sessions").text))
    assert by_sessions[:2] == ["p-fleet", "v-fuel"]  # 3 sessions each, then by id
    logistics = get(world, "/marketing/blocks", sort="sessions", industry="logistics")
    assert list(rows(logistics.text))[:4] == ["o-now", "p-fleet", "v-fuel", "v-safety"]
    assert 'href="/marketing/blocks?industry=logistics&amp;sort=block_id"' in logistics.text


def test_days_are_the_user_s_own(world: World) -> None:
    set_zone(world.site, world.marketing, "Europe/Berlin")
    try:
        tenth = rows(get(world, "/marketing/blocks", since="2026-03-10", until="2026-03-10").text)
        eleventh = rows(get(world, "/marketing/blocks", since="2026-03-11").text)
        assert tenth["o-now"][3] == "1" and eleventh["o-now"][3] == "1"  # a2 is 00:30 on 11th
    finally:
        set_zone(world.site, world.marketing, "UTC")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/marketing/blocks", {"sort": "title; drop"}, "sort"),
        ("/marketing/blocks", {"slot": "closing"}, "slot"),
        ("/marketing/blocks", {"industry": "<b>mining</b>"}, "industry"),
        ("/marketing/blocks", {"since": "10/03/2026"}, "since"),
        ("/marketing/blocks", {"since": "2026-03-12", "until": "2026-03-01"}, "until"),
        ("/marketing/blocks", {"page": "0"}, "page"),
        ("/marketing/funnel", {"persona": "pilot"}, "persona"),
        ("/marketing/funnel", {"until": "yesterday"}, "until"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(
    world: World, path: str, query: dict[str, str], field: str
) -> None:
    page = get(world, path, **query)
    assert page.status_code == 400
    message = re.search(r'id="filter-error">([^<]*)<', page.text)
    assert message is not None and message.group(1).startswith(f"{field}: ")
    assert "<b>mining" not in page.text  # shown back escaped


def test_the_funnel_shares_follow_the_message_map(world: World) -> None:
    page = get(world, "/marketing/funnel")
    assert page.status_code == 200, page.text
    assert "3 sessions." in page.text
    cells = r"\s*<td[^>]*>(\d+)</td>\s*<td>(\d+%)</td>\s*<td>(.*?)</td>"
    steps = re.findall(r'<tr data-slot="([^"]+)">\s*<td>.*?</td>' + cells, page.text, re.S)
    assert [(slot, n, share) for slot, n, share, _ in steps] == [
        ("opening", "2", "67%"),  # a1, a2; b1 saw nothing
        ("value", "2", "67%"),  # a1 saw value 1, a2 both
        ("proof", "1", "33%"),  # a2 alone
    ]
    assert steps[1][3] == "0 pt" and html.unescape(steps[2][3]).startswith("33 pt (50% of")
    assert '<svg class="chart"' in page.text and 'aria-labelledby="funnel-chart-title"' in page.text
    assert "1. Why now (opening)" in page.text and "67%" in page.text

    logistics = get(world, "/marketing/funnel", industry="logistics")
    assert "2 sessions." in logistics.text
    nobody = get(world, "/marketing/funnel", since="2026-04-01")
    assert "0 sessions." in nobody.text and '<svg class="chart"' not in nobody.text


def test_a_rep_gets_403_and_a_stranger_the_sign_in(world: World) -> None:
    site = world.site
    site.rep()
    try:
        assert get(world, "/marketing/blocks").status_code == 403
        assert get(world, "/marketing/funnel").status_code == 403
        site.client.cookies.clear()
        for path in ("/marketing/blocks", "/marketing/funnel"):
            answer = get(world, path)
            assert answer.status_code == 303 and answer.headers["location"] == "/"
    finally:
        site.client.cookies.clear()
        site.rep("admin")
    assert get(world, "/marketing/funnel").status_code == 200


def test_the_bar_chart_escapes_its_labels() -> None:
    svg = str(
        bar_chart(
            [LabelledValue('<script>alert("x")</script>', 0.5), LabelledValue("over", 7.0)],
            chart_id="c",
            title="A & B",
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '<title id="c-title">A &amp; B</title>' in svg
    widths = re.findall(r'<rect class="bar" x="0" y="\d+" width="([\d.]+)"', svg)
    assert [float(w) for w in widths] == [292.0, 584.0]  # half, and clamped to the whole
