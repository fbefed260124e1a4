"""The rep's journey through the real app and the real model, on both backends: a prospect
made with the form, listed and found, previewed with its alternatives, one block swapped,
the document generated and shown, a share link made and revoked from the page."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from tests.api.test_sign_in import csrf_token, new_user, sign_in
from tests.conftest import BACKENDS, make_settings, new_database
from tests.factories import write_library
from tracker.database import create_engine, create_sessions
from tracker.models import Document, Prospect, ShareLink

pytestmark = pytest.mark.slow

BLOCKS = [
    {
        "id": "o-now",
        "slot": "opening",
        "title": "Why {{ prospect.company }} should act now",
        "body": "Fuel prices rose 30% this year. Every idle hour costs {{ prospect.company }}.",
        "tags": {"industry": ["logistics"]},
    },
    {
        "id": "o-peers",
        "slot": "opening",
        "title": "Your peers moved first",
        "body": "Three of the five largest carriers already track idle time.",
        "tags": {"industry": ["retail"]},
    },
    {
        "id": "v-fuel",
        "slot": "value",
        "title": "Cut diesel spend",
        "body": "Idle alerts cut fuel.",
        "tags": {"persona": ["finance"]},
    },
    {"id": "v-safety", "slot": "value", "title": "Safer drivers", "body": "Coach harsh braking."},
    {"id": "v-routes", "slot": "value", "title": "Shorter routes", "body": "Plan fewer miles."},
    {"id": "p-fleet", "slot": "proof", "title": "Acme saved 12%", "body": "12% less diesel."},
]
_emails = itertools.count(1)
_URL = re.compile(r'id="new-url" readonly value="([^"]+)"')


class Site:
    def __init__(self, client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
        self.client = client
        self.settings = settings

    def rep(self, role: str = "rep") -> str:
        """A new signed-in user of `role` in this browser; returns the email."""
        email = f"{role}{next(_emails)}@vendor.example"
        asyncio.run(new_user(self.settings.database_url, email, role))
        self.client.cookies.clear()
        assert sign_in(self.client, email).status_code == 303
        return email

    def post(self, path: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
        data = {**form, "_csrf_token": csrf_token(self.client)}
        return self.client.post(path, data=data, follow_redirects=False)

    def new_prospect(self, company: str = "Northwind Freight") -> str:
        form = {
            "company": company,
            "contact_name": "Dana Lee",
            "contact_title": "CFO",
            "contact_email": "dana@northwind.example",
            "industry": "logistics",
            "persona": "finance",
            "needs": "Diesel is our biggest cost. Our drivers brake too hard.",
        }
        response = self.post("/prospects/new", form)
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        match = re.fullmatch(r"/prospects/([a-z0-9-]+)/preview", location)
        assert match is not None, location
        return match.group(1)

    def generate(self, key: str, choices: dict[str, str] | None = None) -> str:
        response = self.post(f"/prospects/{key}/generate", choices or {})
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        return location.removeprefix("/documents/")

    def row(self, model: type, **where: object) -> object:
        async def fetch() -> object:
            engine = create_engine(self.settings.database_url)
            try:
                async with create_sessions(engine)() as session:
                    query = select(model).filter_by(**where)
                    return (await session.scalars(query)).one()
            finally:
                await engine.dispose()

        return asyncio.run(fetch())


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_library(tmp_path_factory.mktemp("lib") / "library", BLOCKS)


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, library_dir: Path
) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("data")
    settings = make_settings(
        data,
        database=new_database(request, str(request.param), data),
        base_url="https://share.example.com",
    )
    with TestClient(
        create_app(settings, library_dir), base_url="https://testserver.local"
    ) as client:
        yield Site(client, settings)


def test_the_rep_s_journey_from_prospect_to_revoked_link(site: Site) -> None:
    email = site.rep()
    form = site.client.get("/prospects/new")
    assert form.status_code == 200
    assert '<label for="company">' in form.text and 'id="company" name="company"' in form.text
    assert "<option>logistics</option>" in form.text and "<option>finance</option>" in form.text
    assert 'name="_csrf_token"' in form.text

    key = site.new_prospect()
    assert key == "northwind-freight"
    assert site.new_prospect() == "northwind-freight-2"  # the same company again: a new id
    stored = site.row(Prospect, key=key)
    assert isinstance(stored, Prospect)
    assert stored.profile["contact"] == {
        "name": "Dana Lee",
        "title": "CFO",
        "email": "dana@northwind.example",
    }
    assert stored.profile["id"] == key and stored.profile["industry"] == "logistics"

    listed = site.client.get("/prospects")
    assert listed.status_code == 200
    assert listed.text.index("northwind-freight-2") < listed.text.index(
        "/prospects/northwind-freight/preview"
    )  # newest first
    found = site.client.get("/prospects", params={"q": "FREIGHT-2"})
    assert "northwind-freight-2" in found.text
    assert "/prospects/northwind-freight/preview" not in found.text
    assert "No prospect matches" in site.client.get("/prospects?q=globex").text

    preview = site.client.get(f"/prospects/{key}/preview")
    assert preview.status_code == 200
    assert preview.text.count('<fieldset class="section"') == 4  # opening, value x2, proof
    assert 'value="o-now" checked' in preview.text  # the logistics opening is chosen
    assert 'name="section-0" value="o-peers"' in preview.text  # its alternative
    assert "Generate" in preview.text

    document_id = site.generate(key, {"section-0": "o-peers"})
    page = site.client.get(f"/documents/{document_id}")
    assert page.status_code == 200
    assert 'data-block-id="o-peers"' in page.text and 'data-block-id="o-now"' not in page.text
    assert f"chosen by {email.split('@')[0]}: replaces o-now" in page.text
    assert f'src="/documents/{document_id}/page.html"' in page.text
    document = site.row(Document, id=document_id)
    assert isinstance(document, Document)
    assert document.swaps == [{"slot": "opening", "block_id": "o-peers", "replaced": "o-now"}]
    assert document.rep == {"name": email.split("@")[0], "email": email}
    framed = site.client.get(f"/documents/{document_id}/page.html")
    assert framed.status_code == 200 and "Your peers moved first" in framed.text
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    deck = site.client.get(f"/documents/{document_id}/deck.pptx")
    assert deck.status_code == 200 and deck.content[:2] == b"PK"
    assert site.client.get(f"/documents/{document_id}/proposal.docx").status_code == 200

    made = site.post(
        f"/documents/{document_id}/links",
        {"recipient": "Dana@Northwind.example", "expires": "2999-01-31", "allow_download": "1"},
    )
    assert made.status_code == 200
    match = _URL.search(made.text)
    assert match is not None
    url = match.group(1)
    assert url.startswith("https://share.example.com/d/")
    token = url.rsplit("/", 1)[1]
    assert "dana@northwind.example" in made.text and "2999-01-31" in made.text
    viewer = site.client.get(f"/d/{token}")
    assert viewer.status_code == 200 and 'data-block-id="o-peers"' in viewer.text
    link = site.row(ShareLink, document_id=document_id)
    assert isinstance(link, ShareLink) and link.allow_download and not link.require_email

    # The token is shown once: the page does not show it again.
    assert token not in site.client.get(f"/documents/{document_id}").text
    revoked = site.post(f"/documents/{document_id}/links/{link.id}/revoke", {})
    assert revoked.status_code == 303
    assert site.client.get(f"/d/{token}").status_code == 410
    assert "revoked" in site.client.get(f"/documents/{document_id}").text


def test_a_swap_to_a_block_that_is_no_alternative_is_refused(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Globex Haulage")
    for choice in ({"section-0": "v-fuel"}, {"section-0": "nope"}, {"section-9": "o-now"}):
        refused = site.post(f"/prospects/{key}/generate", choice)
        assert refused.status_code == 400
        assert 'class="message"' in refused.text
    # Two sections of one slot cannot carry the same block.
    preview = site.client.get(f"/prospects/{key}/preview").text
    kept = re.findall(r'name="section-([12])" value="(v-[a-z]+)" checked', preview)
    assert len(kept) == 2
    assert site.post(f"/prospects/{key}/generate", {"section-1": kept[1][1]}).status_code == 400


def test_another_rep_gets_403_and_marketing_reads(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Initech Logistics")
    document_id = site.generate(key)
    site.rep()
    assert "Initech" not in site.client.get("/prospects").text
    assert site.client.get(f"/prospects/{key}/preview").status_code == 403
    assert site.client.get(f"/documents/{document_id}").status_code == 403
    assert site.client.get(f"/documents/{document_id}/deck.pptx").status_code == 403
    made = site.post(f"/documents/{document_id}/links", {"recipient": "x@example.com"})
    assert made.status_code == 403
    site.rep("marketing")
    assert "Initech Logistics" in site.client.get("/prospects?q=initech").text
    assert site.client.get(f"/documents/{document_id}").status_code == 200
    assert (
        site.post(f"/documents/{document_id}/links", {"recipient": "x@example.com"}).status_code
        == 403
    )


def test_forms_without_csrf_token_are_refused(site: Site) -> None:
    site.rep()
    csrf_token(site.client)
    response = site.client.post("/prospects/new", data={"company": "Acme"})
    assert response.status_code == 403
    assert "Acme" not in site.client.get("/prospects").text
    key = site.new_prospect("Umbrella Freight")
    assert site.client.post(f"/prospects/{key}/generate", data={}).status_code == 403


def test_bad_input_reshows_the_form_with_400(site: Site) -> None:
    site.rep()
    bad = site.post(
        "/prospects/new",
        {"company": " ", "contact_email": "not-an-email", "industry": "mining", "needs": "x"},
    )
    assert bad.status_code == 400
    assert 'id="company-error"' in bad.text
    assert 'id="contact_email-error"' in bad.text and 'value="not-an-email"' in bad.text
    assert 'id="industry-error"' in bad.text
    assert ">x</textarea>" in bad.text
    key = site.new_prospect("Soylent Cargo")
    document_id = site.generate(key)
    link = site.post(
        f"/documents/{document_id}/links",
        {"recipient": "nobody", "expires": "2001-01-01", "passcode": "12"},
    )
    assert link.status_code == 400
    for field in ("recipient", "expires", "passcode"):
        assert f'id="{field}-error"' in link.text


def test_pages_need_a_signed_in_user(site: Site) -> None:
    site.client.cookies.clear()
    for path in ("/prospects", "/prospects/new", "/prospects/x/preview", "/documents/x"):
        response = site.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/"
