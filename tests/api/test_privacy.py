"""What the prospect is told and what is kept of them: the viewer says that reading is measured
(in the installation's own words), and no network address is stored, only its daily-salted
hash, whatever X-Forwarded-For an untrusted client sends."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.settings import DEFAULT_NOTICE, Settings
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tests.api.test_sign_in import csrf_token
from tests.conftest import make_settings, new_database
from tracker.models import Base, DailySalt, SignInAttempt, Visit, utcnow

pytestmark = pytest.mark.slow

NOTICE = "Acme & Co measure which parts of this page you read <and for how long>."
FORGED = "198.51.100.7"
PEER = "testclient"  # the address Litestar's TestClient connects from
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
_URL = re.compile(r'id="new-url" readonly value="([^"]+)"')


@dataclass
class World:
    site: Site
    token: str


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    site_library: Path | None,
) -> Iterator[World]:
    """A site whose viewer notice is its own, with one document shared by a rep."""
    data = tmp_path_factory.mktemp("data")
    settings = make_settings(
        data,
        database=new_database(request, "sqlite", data),
        base_url="https://s.example",
        viewer_notice=NOTICE,
    )
    with TestClient(
        create_app(settings, site_library), base_url="https://testserver.local"
    ) as client:
        site = Site(client, settings)
        site.rep()
        document_id = site.generate(site.new_prospect())
        made = site.post(
            f"/documents/{document_id}/links",
            {"recipient": "dana@northwind.example", "expires": "2999-01-31"},
        )
        match = _URL.search(made.text)
        assert match is not None, made.text
        yield World(site, match.group(1).rsplit("/", 1)[1])


def test_the_notice_is_configurable_and_has_a_default() -> None:
    assert Settings.from_env({}).viewer_notice == DEFAULT_NOTICE
    assert Settings.from_env({"PITCHMAP_VIEWER_NOTICE": NOTICE}).viewer_notice == NOTICE


def test_the_viewer_says_that_reading_is_measured(world: World) -> None:
    page = world.site.client.get(f"/d/{world.token}", headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    assert f'<footer class="notice"><p>{html.escape(NOTICE)}</p></footer>' in page.text


def test_no_network_address_is_stored(world: World) -> None:
    forged = {"X-Forwarded-For": FORGED, "User-Agent": BROWSER}
    client = world.site.client
    visit = client.post(f"/d/{world.token}/visits", json={}, headers=forged)
    assert visit.status_code == 201
    form = {
        "email": "nobody@vendor.example",
        "password": "wrong",
        "_csrf_token": csrf_token(client),
    }
    refused = client.post("/sign-in", data=form, headers=forged)
    assert refused.status_code == 400  # and the attempt is counted against the client's hash

    async def stored(session: AsyncSession) -> tuple[str, str, set[str | None]]:
        rows = [
            repr(row)
            for table in Base.metadata.sorted_tables
            for row in (await session.execute(select(table))).all()
        ]
        today = utcnow().date()
        salt = await session.scalar(select(DailySalt.salt).where(DailySalt.day == today))
        visited = select(Visit.client_hash).where(Visit.id == visit.json()["visit"])
        attempted = select(SignInAttempt.client_hash).where(SignInAttempt.email == form["email"])
        kept = {await session.scalar(visited), await session.scalar(attempted)}
        return "\n".join(rows), salt or "", kept

    everything, salt, kept = in_database(world.site, stored)
    assert FORGED not in everything and PEER not in everything
    # The peer's address (the header of a client that is no trusted proxy is not believed),
    # hashed with the day's salt, is all the visit and the sign-in attempt keep.
    assert kept == {hashlib.sha256(f"{salt}:{PEER}".encode()).hexdigest()}
