"""Editing a prospect through the real app and model: the form comes pre-filled, a save changes
the prospect and its next preview but not the documents made before, a bad field is refused by
name with nothing written, and only the owner or an admin may edit."""

from __future__ import annotations

import pytest

from tests.api.test_journey import Site
from tracker.models import Document, Prospect

pytestmark = pytest.mark.slow

EDITED = {
    "company": "Northwind Freight & Rail",
    "contact_name": "Sam Ortiz",
    "contact_title": "COO",
    "contact_email": "sam@northwind.example",
    "industry": "retail",
    "persona": "finance",
    "needs": "Our stores wait for late trucks.",
}


def prospect_row(site: Site, key: str) -> Prospect:
    row = site.row(Prospect, key=key)
    assert isinstance(row, Prospect)
    return row


def test_the_owner_edits_the_prospect_and_documents_keep_their_snapshot(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Northwind Freight")
    document_id = site.generate(key)
    listing = site.client.get("/prospects").text
    assert f'href="/prospects/{key}/edit"' in listing
    assert f'href="/prospects/{key}/before-the-call"' in listing
    assert f'href="/prospects/{key}/edit"' in site.client.get(f"/prospects/{key}/preview").text

    form = site.client.get(f"/prospects/{key}/edit")
    assert form.status_code == 200
    assert f'action="/prospects/{key}/edit"' in form.text
    assert 'value="Northwind Freight"' in form.text and 'value="Dana Lee"' in form.text
    assert 'value="dana@northwind.example"' in form.text
    assert "<option selected>logistics</option>" in form.text
    assert "Diesel is our biggest cost." in form.text

    saved = site.post(f"/prospects/{key}/edit", EDITED)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/prospects/{key}/preview"
    row = prospect_row(site, key)
    assert row.company == "Northwind Freight & Rail"
    assert row.profile["id"] == key and row.profile["industry"] == "retail"
    assert row.profile["contact"] == {
        "name": "Sam Ortiz",
        "title": "COO",
        "email": "sam@northwind.example",
    }
    preview = site.client.get(f"/prospects/{key}/preview")
    assert "Northwind Freight &amp; Rail" in preview.text and "Sam Ortiz, COO" in preview.text
    document = site.row(Document, id=document_id)
    assert isinstance(document, Document)
    assert document.profile["company"] == "Northwind Freight"
    assert document.profile["industry"] == "logistics"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"company": "  "}, "company"),
        ({"contact_email": "sam at northwind"}, "contact_email"),
        ({"industry": "aerospace"}, "industry"),
        ({"needs": "x" * 5001}, "needs"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_written(
    site: Site, change: dict[str, str], field: str
) -> None:
    site.rep()
    key = site.new_prospect("Initech Haulage")
    before = prospect_row(site, key).profile
    refused = site.post(f"/prospects/{key}/edit", {**EDITED, **change})
    assert refused.status_code == 400
    assert f'id="{field}-error"' in refused.text and "Please correct the fields" in refused.text
    assert f'action="/prospects/{key}/edit"' in refused.text
    assert prospect_row(site, key).profile == before


def test_another_rep_and_marketing_may_not_edit_but_an_admin_may(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Globex Logistics")
    for role in ("rep", "marketing"):
        site.rep(role)
        assert site.client.get(f"/prospects/{key}/edit").status_code == 403
        assert site.post(f"/prospects/{key}/edit", EDITED).status_code == 403
    assert prospect_row(site, key).company == "Globex Logistics"
    site.rep("admin")
    assert site.client.get(f"/prospects/{key}/edit").status_code == 200
    assert site.post(f"/prospects/{key}/edit", EDITED).status_code == 303
    assert prospect_row(site, key).company == EDITED["company"]
    assert site.client.get("/prospects/no-such-prospect/edit").status_code == 404
