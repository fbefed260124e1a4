"""Expiry propagation through the real app and model: a rep's document is shared and read, the
server restarts on the library with one of its blocks retired, the document's page flags it,
one click regenerates it, and the same link serves the new version while each version keeps
its own visits. Then the API: expiry by date (`as_of`), a regeneration, and a refusal that
changes nothing.

`o-now` expires 2099-06-30 and `p-fleet`, the only proof block, 2099-12-31.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from api.app import create_app
from tests.api.conftest import new_key
from tests.api.test_journey import BLOCKS as JOURNEY_BLOCKS
from tests.api.test_journey import Site
from tests.api.test_precall import BROWSER, share
from tests.api.test_sign_in import sign_in
from tests.conftest import make_settings, new_database
from tests.factories import write_block, write_library
from tracker.database import create_engine, create_sessions
from tracker.links import token_hash
from tracker.models import Document, DocumentSection, ShareLink

pytestmark = pytest.mark.slow

EXPIRES = {"o-now": "2099-06-30", "p-fleet": "2099-12-31"}
BLOCKS = [{**b, "expires": EXPIRES[b["id"]]} if b["id"] in EXPIRES else b for b in JOURNEY_BLOCKS]
_BLOCK_IDS = re.compile(r'data-block-id="([^"]+)"')


@dataclass
class World:
    site: Site
    rep: str  # the signed-in rep's email
    document: str  # made before the restart, shared and read
    token: str  # its live link
    revoked: str  # its revoked link's token
    shown: list[str]  # its blocks, in order
    retired: str  # the value block retired by the restart
    marketing: dict[str, str]  # API headers
    current: str = ""  # the latest regenerated version

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.site.client.request(method, path, headers=self.marketing, **kwargs)


def count(site: Site, model: type) -> int:
    async def run() -> int:
        engine = create_engine(site.settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def whys(site: Site, document_id: str) -> list[str]:
    async def run() -> list[str]:
        engine = create_engine(site.settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                sections = await session.scalars(
                    select(DocumentSection)
                    .where(DocumentSection.document_id == document_id)
                    .order_by(DocumentSection.position)
                )
                return [s.why for s in sections]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def visit(site: Site, token: str) -> None:
    started = site.client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER})
    assert started.status_code == 201, started.text


def viewer_blocks(site: Site, token: str) -> list[str]:
    page = site.client.get(f"/d/{token}")
    assert page.status_code == 200, page.text
    return _BLOCK_IDS.findall(page.text)


def headers(site: Site, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {asyncio.run(new_key(site.settings.database_url, role, ''))}"}


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    data = tmp_path_factory.mktemp("data")
    root = write_library(tmp_path_factory.mktemp("lib") / "library", BLOCKS)
    url = new_database(request, "sqlite", data)
    settings = make_settings(data, database=url, base_url="https://s.example")
    with TestClient(create_app(settings, root), base_url="https://testserver.local") as client:
        site = Site(client, settings)
        email = site.rep()
        document = site.generate(site.new_prospect())
        token, revoked = share(site, document), share(site, document)
        link = site.row(ShareLink, token_hash=token_hash(revoked))
        assert isinstance(link, ShareLink)
        assert site.post(f"/documents/{document}/links/{link.id}/revoke", {}).status_code == 303
        visit(site, token)
        visit(site, token)
        shown = viewer_blocks(site, token)
    retired = next(b for b in shown if b.startswith("v-"))
    write_block(root, {**next(b for b in BLOCKS if b["id"] == retired), "status": "retired"})
    # The server restarts on the edited folder, which it re-imports (contract §3).
    with TestClient(create_app(settings, root), base_url="https://testserver.local") as client:
        site = Site(client, settings)
        assert sign_in(client, email).status_code == 303
        marketing = headers(site, "marketing")
        yield World(site, email, document, token, revoked, shown, retired, marketing)


def test_the_document_page_flags_the_retired_block_and_marketing_sees_the_link(
    world: World,
) -> None:
    page = world.site.client.get(f"/documents/{world.document}")
    assert page.status_code == 200
    flag = page.text.split('id="out-of-date"')[1].split("</section>")[0]
    title = next(b["title"] for b in BLOCKS if b["id"] == world.retired)
    assert "1 block out of date" in flag and title in flag
    assert "the block was retired since (version 2)" in flag
    assert f'action="/documents/{world.document}/regenerate"' in flag
    assert 'name="_csrf_token"' in flag
    home = world.site.client.get("/").text.split('class="flagged"')[1].split("</ul>")[0]
    assert f'data-document-id="{world.document}"' in home and "1 block out of date" in home
    assert f'action="/documents/{world.document}/regenerate"' in home

    answer = world.api("GET", f"/api/documents/{world.document}/out-of-date")
    assert answer.status_code == 200, answer.text
    assert answer.json()["live"] is True
    assert [(s["block_id"], s["reason"]) for s in answer.json()["sections"]] == [
        (world.retired, "the block was retired since (version 2)")
    ]
    rep_key = headers(world.site, "rep")
    path = f"/api/documents/{world.document}/out-of-date"
    assert world.site.client.get(path, headers=rep_key).status_code == 403  # not its document

    world.site.rep("marketing")
    stale = world.site.client.get("/marketing/stale")
    (row,) = re.findall(
        r"<tr data-block-id.*?</tr>", stale.text.split('class="stale-live"')[1].split("</table>")[0]
    )
    assert f'data-block-id="{world.retired}"' in row and f"/documents/{world.document}" in row
    assert "Northwind Freight" in row and "dana@northwind.example" in row
    world.site.client.cookies.clear()
    assert sign_in(world.site.client, world.rep).status_code == 303


def test_regeneration_swaps_the_block_and_the_same_link_serves_the_new_version(
    world: World,
) -> None:
    documents = count(world.site, Document)
    done = world.site.post(f"/documents/{world.document}/regenerate", {})
    assert done.status_code == 303, done.text
    new, query = done.headers["location"].removeprefix("/documents/").split("?")
    assert query == f"regenerated={world.document}" and new != world.document
    world.current = new
    assert count(world.site, Document) == documents + 1

    blocks = viewer_blocks(world.site, world.token)
    position = world.shown.index(world.retired)
    replacement = blocks[position]
    assert replacement.startswith("v-") and replacement not in world.shown
    assert blocks[:position] + blocks[position + 1 :] == (
        world.shown[:position] + world.shown[position + 1 :]
    )
    old_whys, new_whys = whys(world.site, world.document), whys(world.site, new)
    assert (
        new_whys[position] == f"replaces {world.retired} (the block was retired since (version 2))"
    )
    assert new_whys[:position] + new_whys[position + 1 :] == (
        old_whys[:position] + old_whys[position + 1 :]
    )
    assert world.site.client.get(f"/d/{world.revoked}").status_code == 410  # not moved

    page = world.site.client.get(f"/documents/{new}?regenerated={world.document}")
    assert "Regenerated from" in page.text and 'id="out-of-date"' not in page.text
    assert 'id="out-of-date"' not in world.site.client.get(f"/documents/{world.document}").text
    assert 'class="flagged"' not in world.site.client.get("/").text

    visit(world.site, world.token)
    link = world.api("GET", f"/api/links/{world.token}/report").json()
    assert link["sessions"] == 1 and [s["block_id"] for s in link["sections"]] == blocks
    old = world.api("GET", f"/api/documents/{world.document}/report").json()
    assert old["sessions"] == 2
    assert world.api("GET", f"/api/documents/{new}/report").json()["sessions"] == 1


def test_the_api_flags_by_date_regenerates_and_refuses_without_changing_anything(
    world: World,
) -> None:
    current = world.current
    path = f"/api/documents/{current}"
    assert world.api("GET", f"{path}/out-of-date?as_of=2099-06-30").json()["sections"] == []
    flagged = world.api("GET", f"{path}/out-of-date?as_of=2099-07-01").json()
    assert [(s["block_id"], s["reason"]) for s in flagged["sections"]] == [
        ("o-now", "version 1 expired on 2099-06-30")
    ]
    bad = world.api("GET", f"{path}/out-of-date?as_of=July")
    assert bad.status_code == 400 and "as_of" in bad.text

    done = world.api("POST", f"{path}/regenerate", json={"as_of": "2099-07-01"})
    assert done.status_code == 201, done.text
    assert done.json()["links_moved"] == 1
    ((replaced, block),) = [(r["replaced"], r["block_id"]) for r in done.json()["replacements"]]
    assert (replaced, block) == ("o-now", "o-peers")
    assert viewer_blocks(world.site, world.token)[0] == "o-peers"

    latest = done.json()["id"]
    documents, links = count(world.site, Document), count(world.site, ShareLink)
    refused = world.api("POST", f"/api/documents/{latest}/regenerate", json={"as_of": "2100-01-01"})
    assert refused.status_code == 409
    assert "no eligible block is left for the slot 'proof'" in refused.json()["detail"]
    assert (count(world.site, Document), count(world.site, ShareLink)) == (documents, links)
    assert world.site.row(ShareLink, token_hash=token_hash(world.token)).document_id == latest  # type: ignore[attr-defined]

    nothing = world.api("POST", f"/api/documents/{latest}/regenerate")
    assert nothing.status_code == 409 and "nothing to do" in nothing.json()["detail"]
    page = world.site.post(f"/documents/{latest}/regenerate", {})
    assert page.status_code == 409 and "nothing to do" in page.text
    assert count(world.site, Document) == documents
    unknown = world.api("POST", f"/api/documents/{latest}/regenerate", json={"as_at": "x"})
    assert unknown.status_code == 400 and "as_at" in unknown.text

    schema = world.site.client.get("/schema/openapi.json").json()["paths"]
    assert "get" in schema["/api/documents/{document_id}/out-of-date"]
    assert "post" in schema["/api/documents/{document_id}/regenerate"]
