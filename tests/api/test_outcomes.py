"""Deals' outcomes through the real app: recorded and read over the API by the roles that may,
imported from a CRM's CSV (all or nothing, bad rows by line), sent by a CRM's signed webhook,
posted from the prospect's page, and imported with `pitchmap outcomes import`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from tests.api.conftest import new_key
from tests.api.test_journey import Site
from tests.cli_runner import pitchmap
from tests.conftest import make_settings, new_database
from tracker.models import DealOutcome
from tracker.webhooks import sign

SECRET = "crm-shared-secret"
PROFILE = {"company": "Umbrella Freight", "industry": "logistics", "needs": "Diesel costs."}
WON = {"outcome": "Closed Won", "amount": "€12,500.50", "closed_on": "2026-11-03"}


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    site_library: Path | None,
) -> Iterator[Site]:
    """The app with the journey's library and a webhook secret, on SQLite."""
    data = tmp_path_factory.mktemp("data")
    settings = make_settings(
        data,
        database=new_database(request, "sqlite", data),
        base_url="https://s.example",
        webhook_secret=SECRET,
    )
    with TestClient(create_app(settings, site_library), base_url="https://testserver.local") as c:
        yield Site(c, settings)


def auth(site: Site, role: str) -> dict[str, str]:
    key = asyncio.run(new_key(site.settings.database_url, role, f"{role} key"))
    return {"Authorization": f"Bearer {key}"}


def api_prospect(site: Site, key: str, headers: dict[str, str]) -> None:
    """A prospect `key` made through the API with a document by the key of `headers`."""
    body = {"prospect": {"id": key, **PROFILE}, "as_of": "2026-11-24"}
    response = site.client.post("/api/documents", json=body, headers=headers)
    assert response.status_code == 201, response.text


def stored(site: Site, key: str) -> dict[str, Any] | None:
    response = site.client.get(f"/api/prospects/{key}/outcome", headers=auth(site, "marketing"))
    assert response.status_code in (200, 404), response.text
    return response.json() if response.status_code == 200 else None


def test_the_api_records_reads_and_replaces_an_outcome(site: Site) -> None:
    marketing = auth(site, "marketing")
    api_prospect(site, "p-acme", marketing)
    assert site.client.get("/api/prospects/p-acme/outcome", headers=marketing).status_code == 404
    put = site.client.put("/api/prospects/p-acme/outcome", json=WON, headers=marketing)
    assert put.status_code == 200, put.text
    assert put.json() | {"recorded_at": None} == {
        "prospect": "p-acme",
        "outcome": "won",
        "amount": "12500.50",
        "amount_cents": 1_250_050,
        "currency": "EUR",
        "closed_on": "2026-11-03",
        "reason": None,
        "source": "api",
        "recorded_at": None,
        "recorded_by": None,
    }
    lost = {"outcome": "lost", "closed_on": "2026-11-20", "reason": "Budget cut"}
    again = site.client.put("/api/prospects/p-acme/outcome", json=lost, headers=marketing)
    assert again.status_code == 200
    shown = site.client.get("/api/prospects/p-acme/outcome", headers=marketing).json()
    assert (shown["outcome"], shown["amount"], shown["reason"]) == ("lost", None, "Budget cut")
    listed = site.client.get("/api/outcomes", headers=marketing).json()["outcomes"]
    assert [o["prospect"] for o in listed if o["prospect"] == "p-acme"] == ["p-acme"]
    assert site.row(DealOutcome, outcome="lost") is not None


def test_a_rep_records_the_deals_its_key_made_documents_for_only(site: Site) -> None:
    rep, other_rep = auth(site, "rep"), auth(site, "rep")
    api_prospect(site, "p-rep", rep)
    assert site.client.put("/api/prospects/p-rep/outcome", json=WON).status_code == 401
    refused = site.client.put("/api/prospects/p-rep/outcome", json=WON, headers=other_rep)
    assert refused.status_code == 403 and "any prospect" in refused.text
    assert site.client.get("/api/prospects/p-rep/outcome", headers=other_rep).status_code == 403
    assert site.client.put("/api/prospects/p-rep/outcome", json=WON, headers=rep).status_code == 200
    assert site.client.get("/api/prospects/p-rep/outcome", headers=rep).status_code == 200
    missing = site.client.put("/api/prospects/p-nobody/outcome", json=WON, headers=rep)
    assert missing.status_code == 404
    assert site.client.get("/api/outcomes", headers=rep).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "maybe", "closed_on": "2026-11-03"}, "outcome"),
        ({"outcome": "won"}, "closed_on"),
        ({"outcome": "won", "closed_on": "2026-11-03", "amount": "12.345.6"}, "amount"),
        ({"outcome": "won", "closed_on": "2026-11-03", "amount": -5}, "amount"),
        ({"outcome": "won", "closed_on": "2026-11-03", "currency": "euro"}, "currency"),
        ({"outcome": "won", "closed_on": "2026-11-03", "stage": "x"}, "stage"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(site: Site, body: dict[str, Any], field: str) -> None:
    marketing = auth(site, "marketing")
    api_prospect(site, "p-bad", marketing)
    response = site.client.put("/api/prospects/p-bad/outcome", json=body, headers=marketing)
    assert response.status_code == 400, response.text
    assert [p["field"] for p in response.json()["problems"]] == [field]


def signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "X-Pitchmap-Timestamp": str(stamp),
        "X-Pitchmap-Signature": "sha256=" + sign(secret, stamp, body),
    }


def test_a_signed_webhook_records_the_outcome(site: Site) -> None:
    api_prospect(site, "p-hook", auth(site, "rep"))
    body = json.dumps({"prospect": "p-hook", **WON, "reason": "Best fit"}).encode()
    response = site.client.post("/api/outcomes/webhook", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "webhook"
    outcome = stored(site, "p-hook")
    assert outcome is not None and (outcome["outcome"], outcome["reason"]) == ("won", "Best fit")


def test_a_webhook_without_a_good_fresh_signature_is_refused(site: Site) -> None:
    api_prospect(site, "p-forged", auth(site, "rep"))
    body = json.dumps({"prospect": "p-forged", **WON}).encode()
    stale = int(time.time()) - 600
    for headers in (
        {"Content-Type": "application/json"},
        signed(body, secret="not-the-secret"),
        signed(body, at=stale),
        signed(b'{"prospect": "p-other"}'),
    ):
        response = site.client.post("/api/outcomes/webhook", content=body, headers=headers)
        assert response.status_code == 401, response.text
    assert stored(site, "p-forged") is None
    unknown = json.dumps({"prospect": "p-unknown", **WON}).encode()
    response = site.client.post("/api/outcomes/webhook", content=unknown, headers=signed(unknown))
    assert response.status_code == 404
    bad = json.dumps({"prospect": "p-forged", "outcome": "won"}).encode()
    response = site.client.post("/api/outcomes/webhook", content=bad, headers=signed(bad))
    assert response.status_code == 400 and "closed_on" in response.text


def test_without_a_secret_the_webhook_is_off(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, database=new_database(request, "sqlite", tmp_path))
    with TestClient(create_app(settings)) as client:
        body = b'{"prospect": "p", "outcome": "won", "closed_on": "2026-11-03"}'
        response = client.post("/api/outcomes/webhook", content=body, headers=signed(body))
    assert response.status_code == 503 and "PITCHMAP_WEBHOOK_SECRET" in response.text


EXPORT = (
    "\ufeffAccount ID,Stage,Amount,Currency,Close Date,Loss Reason\r\n"
    'p-csv-1,Closed Won,"1,200.00",USD,11/03/2026,\r\n'
    "p-csv-2,Closed Lost,,,2026-11-04,Price\r\n"
)


def test_a_crm_export_is_imported_as_a_body_or_a_file(site: Site) -> None:
    marketing = auth(site, "marketing")
    for key in ("p-csv-1", "p-csv-2"):
        api_prospect(site, key, marketing)
    headers = {**marketing, "Content-Type": "text/csv"}
    response = site.client.post("/api/outcomes/import", content=EXPORT.encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 2}
    first, second = stored(site, "p-csv-1"), stored(site, "p-csv-2")
    assert first is not None and second is not None
    assert (first["outcome"], first["amount_cents"], first["currency"]) == ("won", 120_000, "USD")
    assert (second["outcome"], second["reason"], second["source"]) == ("lost", "Price", "csv")
    edited = EXPORT.replace("Closed Lost", "No decision")
    files = {"file": ("export.csv", edited.encode(), "text/csv")}
    response = site.client.post("/api/outcomes/import", files=files, headers=marketing)
    assert response.status_code == 200, response.text
    assert (stored(site, "p-csv-2") or {})["outcome"] == "no_decision"
    rep = {**auth(site, "rep"), "Content-Type": "text/csv"}
    assert site.client.post("/api/outcomes/import", content=b"", headers=rep).status_code == 403
    assert site.client.post("/api/outcomes/import", content=b"x").status_code == 401


def test_an_import_with_bad_rows_writes_nothing_and_says_which_lines(site: Site) -> None:
    marketing = auth(site, "marketing")
    api_prospect(site, "p-keep", marketing)
    lost = {"outcome": "lost", "closed_on": "2026-10-01"}
    site.client.put("/api/prospects/p-keep/outcome", json=lost, headers=marketing)
    content = (
        "prospect,outcome,amount,closed_on\n"
        "p-keep,won,100,2026-11-03\n"
        "p-ghost,won,100,2026-11-03\n"
        "p-keep,won,lots,2026-11-03\n"
    )
    headers = {**marketing, "Content-Type": "text/csv"}
    response = site.client.post("/api/outcomes/import", content=content.encode(), headers=headers)
    assert response.status_code == 400, response.text
    problems = [(p["where"], p["field"]) for p in response.json()["problems"]]
    assert problems == [("line 3", "prospect"), ("line 4", "amount")]
    assert (stored(site, "p-keep") or {})["outcome"] == "lost"  # line 2 was not written
    latin = "prospect,outcome,closed_on\np-keep,gewonnen ä,2026-11-03\n".encode("latin-1")
    response = site.client.post("/api/outcomes/import", content=latin, headers=headers)
    assert response.status_code == 400
    assert response.json()["problems"][0]["where"] == "line 2"
    assert "UTF-8" in response.json()["problems"][0]["message"]


def test_the_prospect_page_records_the_deal_outcome(site: Site) -> None:
    email = site.rep()
    key = site.new_prospect("Stark Haulage")
    page = site.client.get(f"/prospects/{key}/preview")
    assert page.status_code == 200
    assert 'id="deal-outcome"' in page.text and "No outcome recorded yet." in page.text
    assert f'action="/prospects/{key}/outcome"' in page.text
    form = {"outcome": "won", "amount": "12.345.6", "currency": "EUR", "closed_on": "2026-11-03"}
    refused = site.post(f"/prospects/{key}/outcome", {**form, "back": "preview"})
    assert refused.status_code == 400
    assert 'aria-describedby="outcome-amount-error"' in refused.text
    assert "Amount: &#39;12.345.6&#39; is not an amount" in refused.text
    assert 'name="back" value="preview"' in refused.text
    saved = site.post(f"/prospects/{key}/outcome", {**form, "amount": "12,500", "back": "preview"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/prospects/{key}/preview#deal-outcome"
    page = site.client.get(f"/prospects/{key}/preview")
    assert "<strong>Won</strong> on 2026-11-03 · 12500.00 EUR" in page.text
    assert f"by {email}" in page.text
    row = site.row(DealOutcome, source="web")
    assert isinstance(row, DealOutcome) and row.amount_cents == 1_250_000

    site.rep()  # another rep: not their deal
    assert site.client.get(f"/prospects/{key}/outcome").status_code == 403
    assert site.post(f"/prospects/{key}/outcome", form).status_code == 403
    site.rep("marketing")
    lost = {"outcome": "lost", "closed_on": "2026-11-05", "reason": "Timing"}
    assert site.post(f"/prospects/{key}/outcome", lost).status_code == 303
    page = site.client.get(f"/prospects/{key}/outcome?saved=1")
    assert "The outcome is saved." in page.text and "<strong>Lost</strong>" in page.text
    site.client.cookies.clear()
    signed_out = site.client.get(f"/prospects/{key}/outcome", follow_redirects=False)
    assert signed_out.status_code == 303


def test_the_command_imports_a_file_or_reports_every_bad_line(site: Site, tmp_path: Path) -> None:
    api_prospect(site, "p-cli", auth(site, "marketing"))
    env = {"PITCHMAP_DATABASE_URL": site.settings.database_url}
    good = tmp_path / "good.csv"
    good.write_text("prospect,outcome,closed_on\np-cli,won,2026-11-03\n", encoding="utf-8-sig")
    done = pitchmap(tmp_path, "outcomes", "import", good, **env)
    assert (done.code, done.stdout.strip()) == (0, "1"), done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("prospect,outcome,closed_on\np-cli,lost,2026-11-04\np-cli,x,\n")
    done = pitchmap(tmp_path, "outcomes", "import", bad, **env)
    assert done.code != 0 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: line 3: closed_on: is required (YYYY-MM-DD)",
        "error: line 3: outcome: 'x' is not won, lost or no decision",
    ]
    assert (stored(site, "p-cli") or {})["outcome"] == "won"
