"""Documents, share links and the viewer through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import pytest
from docx import Document as WordDocument
from pptx import Presentation

from tests.api.conftest import Served

pytestmark = pytest.mark.slow

PROSPECT = {
    "id": "p-northwind",
    "company": "Northwind Freight",
    "contact": {"name": "Dana Lee", "title": "COO"},
    "industry": "logistics",
    "needs": "Diesel is too expensive. Our drivers brake too hard.",
}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"


def make_document(served: Served, headers: dict[str, str]) -> dict[str, Any]:
    response = served.client.post(
        "/api/documents", json={"prospect": PROSPECT, "as_of": "2026-11-24"}, headers=headers
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def make_link(served: Served, document_id: str, headers: dict[str, str], **options: Any) -> str:
    body = {"recipient": "Dana@Northwind.example", **options}
    response = served.client.post(f"/api/documents/{document_id}/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    assert response.json()["url"] == f"https://share.example.com/d/{token}"
    return token


def start_visit(served: Served, token: str, agent: str = BROWSER) -> dict[str, Any]:
    response = served.client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": agent})
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    return visit


def beat(served: Served, token: str, visit: dict[str, Any], seq: int, **body: Any) -> int:
    payload = {"visit": visit["visit"], "secret": visit["secret"], "seq": seq, **body}
    return served.client.post(f"/d/{token}/events", json=payload).status_code


def report(served: Served, token: str, headers: dict[str, str]) -> dict[str, Any]:
    response = served.client.get(f"/api/links/{token}/report", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_document_is_made_stored_and_downloadable(served: Served) -> None:
    rep = served.auth("rep", "Riley Rep")
    document = make_document(served, rep)
    slots = [s["slot"] for s in document["sections"]]
    assert slots == ["opening", "value", "value", "proof"]
    assert document["sections"][0]["title"] == "Why Northwind Freight should act now"
    deck = served.client.get(f"/api/documents/{document['id']}/deck.pptx", headers=rep)
    assert deck.status_code == 200
    slides = Presentation(io.BytesIO(deck.content)).slides
    texts = " ".join(s.text for slide in slides for s in slide.shapes if s.has_text_frame)
    assert "Why Northwind Freight should act now" in texts
    proposal = served.client.get(f"/api/documents/{document['id']}/proposal.docx", headers=rep)
    words = " ".join(p.text for p in WordDocument(io.BytesIO(proposal.content)).paragraphs)
    assert "Riley Rep" in words or "Northwind Freight" in words
    shown = served.client.get(f"/api/documents/{document['id']}", headers=rep).json()
    assert [s["block_version"] for s in shown["sections"]] == [1, 1, 1, 1]


def test_the_viewer_page_records_nothing_until_its_script_reports(served: Served) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    assert len(token) >= 43  # 256 bits in base64url
    page = served.client.get(f"/d/{token}", headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    assert page.headers["x-robots-tag"].startswith("noindex")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    block_ids = re.findall(r'data-block-id="([^"]+)"', page.text)
    assert block_ids == [s["block_id"] for s in document["sections"]]
    assert '<script src="/static/viewer.js" defer></script>' in page.text
    assert served.client.get("/static/viewer.js").status_code == 200
    data = report(served, token, rep)
    assert data["sessions"] == 0
    assert [s["block_id"] for s in data["sections"]] == block_ids
    assert all(s["seen"] is False and s["dwell_ms"] == 0 for s in data["sections"])


def test_preview_bots_are_dropped_even_when_they_run_scripts(served: Served) -> None:
    rep = served.auth("rep")
    token = make_link(served, make_document(served, rep)["id"], rep)
    for agent in (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "LinkedInBot/1.0",
        "WhatsApp/2.23",
    ):
        response = served.client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": agent})
        assert response.status_code == 204
    assert report(served, token, rep)["sessions"] == 0


def test_heartbeats_count_once_only_with_the_visits_secret(served: Served) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    other = make_link(served, document["id"], rep)
    visit = start_visit(served, token)
    assert visit["heartbeat_ms"] <= 2000
    time.sleep(1.6)
    assert beat(served, token, visit, 1, dwell={"1": 1500}, seen=[0, 1]) == 204
    assert beat(served, token, visit, 1, dwell={"1": 1500}, seen=[0, 1]) == 204  # replay
    forged = {**visit, "secret": "x" * 32}
    assert beat(served, token, forged, 2, dwell={"1": 1500}) == 403
    assert beat(served, other, visit, 3, dwell={"1": 1500}) == 403  # another link's token
    sections = report(served, token, rep)["sections"]
    assert report(served, token, rep)["sessions"] == 1
    assert [s["seen"] for s in sections] == [True, True, False, False]
    assert [s["dwell_ms"] for s in sections] == [0, 1500, 0, 0]
    assert report(served, other, rep)["sessions"] == 0


def test_time_beyond_the_wall_clock_is_clamped(served: Served) -> None:
    rep = served.auth("rep")
    token = make_link(served, make_document(served, rep)["id"], rep)
    visit = start_visit(served, token)
    assert beat(served, token, visit, 1, dwell={"2": 3_600_000}) == 204
    dwell = report(served, token, rep)["sections"][2]["dwell_ms"]
    assert 0 < dwell <= 3_000  # a second of slack over the time that really passed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seq": 0}, "seq"),
        ({"dwell": {"0": -5}}, "dwell"),
        ({"dwell": {"x": 5}}, "dwell"),
        ({"seen": [1, "a"]}, "seen"),
        ({"extra": 1}, "extra"),
        ({"visit": 2**40}, "visit"),
    ],
)
def test_malformed_heartbeats_are_400s_naming_the_field(
    served: Served, body: dict[str, Any], field: str
) -> None:
    rep = served.auth("rep")
    token = make_link(served, make_document(served, rep)["id"], rep)
    visit = start_visit(served, token)
    payload = {"visit": visit["visit"], "secret": visit["secret"], "seq": 1, **body}
    response = served.client.post(f"/d/{token}/events", json=payload)
    assert response.status_code == 400
    assert field in response.text
    too_far = {"visit": visit["visit"], "secret": visit["secret"], "seq": 1, "seen": [99]}
    assert served.client.post(f"/d/{token}/events", json=too_far).status_code == 400


def test_revoked_and_expired_links_answer_410(served: Served) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    visit = start_visit(served, token)
    assert served.client.delete(f"/api/links/{token}", headers=rep).status_code == 204
    gone = served.client.get(f"/d/{token}")
    assert gone.status_code == 410
    assert "Northwind" not in gone.text
    assert beat(served, token, visit, 1, seen=[0]) == 410
    assert served.client.post(f"/d/{token}/visits", json={}).status_code == 410
    assert served.client.get("/d/" + "A" * 43).status_code == 404
    soon = time.time() + 1.5
    expiring = make_link(
        served,
        document["id"],
        rep,
        expires_at=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(soon)),
    )
    assert served.client.get(f"/d/{expiring}").status_code == 200
    time.sleep(max(0.0, soon - time.time()) + 0.6)
    assert served.client.get(f"/d/{expiring}").status_code == 410
    past = {"recipient": "a@b.example", "expires_at": "2020-01-01T00:00:00"}
    response = served.client.post(f"/api/documents/{document['id']}/links", json=past, headers=rep)
    assert response.status_code == 400
    assert "expires_at" in response.text


def test_keys_and_roles(served: Served) -> None:
    assert served.client.post("/api/documents", json={"prospect": PROSPECT}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert served.client.get("/api/blocks/engagement", headers=wrong).status_code == 401
    rep, marketing, admin = served.auth("rep"), served.auth("marketing"), served.auth("admin")
    assert served.client.get("/api/blocks/engagement", headers=rep).status_code == 403
    assert served.client.get("/api/blocks", headers=rep).status_code == 403
    assert served.client.get("/api/keys", headers=marketing).status_code == 403
    token = make_link(served, make_document(served, rep)["id"], rep)
    other_rep = served.auth("rep")
    assert served.client.get(f"/api/links/{token}/report", headers=other_rep).status_code == 403
    assert served.client.get(f"/api/links/{token}/report", headers=marketing).status_code == 200
    engagement = served.client.get("/api/blocks/engagement", headers=marketing).json()
    assert {"block_id", "documents", "sessions", "seen_rate", "median_dwell_ms"} <= set(
        engagement["blocks"][0]
    )
    made = served.client.post("/api/keys", json={"role": "rep", "name": "ci"}, headers=admin)
    assert made.status_code == 201
    fresh = {"Authorization": f"Bearer {made.json()['key']}"}
    assert served.client.get(f"/api/documents/{'x' * 24}", headers=fresh).status_code == 404
    revoked = served.client.delete(f"/api/keys/{made.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert served.client.get(f"/api/documents/{'x' * 24}", headers=fresh).status_code == 401
    bad_role = served.client.post("/api/keys", json={"role": "boss"}, headers=admin)
    assert bad_role.status_code == 400 and "role" in bad_role.text


def test_document_bodies_are_checked_field_by_field(served: Served) -> None:
    rep = served.auth("rep")
    cases = [
        ({"prospect": {"id": "p-1"}}, "company"),
        ({"prospect": PROSPECT, "as_of": "2026-13-01"}, "as_of"),
        ({"prospect": PROSPECT, "colour": "red"}, "colour"),
        ({"prospect": PROSPECT, "rep": {"email": "not-an-address"}}, "rep.email"),
    ]
    for body, field in cases:
        response = served.client.post("/api/documents", json=body, headers=rep)
        assert response.status_code == 400, (body, response.text)
        assert field in response.text
    document = make_document(served, rep)
    bad_links = [
        ({}, "recipient"),
        ({"recipient": "dana"}, "recipient"),
        ({"recipient": "d@x.example", "allow_download": "yes"}, "allow_download"),
        ({"recipient": "d@x.example", "expires_at": "tomorrow"}, "expires_at"),
    ]
    for body, field in bad_links:
        response = served.client.post(
            f"/api/documents/{document['id']}/links", json=body, headers=rep
        )
        assert response.status_code == 400, (body, response.text)
        assert field in response.text


def test_email_gate_passcode_and_downloads(served: Served) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    token = make_link(
        served, document["id"], rep, require_email=True, passcode="open sesame", allow_download=True
    )
    gate = served.client.get(f"/d/{token}")
    assert gate.status_code == 200
    assert "data-block-id" not in gate.text
    assert served.client.post(f"/d/{token}/visits", json={}).status_code == 403
    assert served.client.get(f"/d/{token}/deck.pptx").status_code == 403
    outbox = served.settings.data_dir / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    sent = served.client.post(f"/d/{token}/code", data={"email": "dana@northwind.example"})
    assert sent.status_code == 200
    (mail,) = set(outbox.glob("*.eml")) - before
    code = re.search(r"\b(\d{6})\b", mail.read_text()).group(1)  # type: ignore[union-attr]
    wrong = served.client.post(
        f"/d/{token}/unlock",
        data={"email": "dana@northwind.example", "code": code, "passcode": "wrong"},
    )
    assert wrong.status_code == 403  # and the mailed code is still good:
    opened = served.client.post(
        f"/d/{token}/unlock",
        data={"email": "dana@northwind.example", "code": code, "passcode": "open sesame"},
        follow_redirects=False,
    )
    assert opened.status_code in (302, 303)
    page = served.client.get(f"/d/{token}")
    assert "data-block-id" in page.text
    assert f"/d/{token}/deck.pptx" in page.text
    deck = served.client.get(f"/d/{token}/deck.pptx")
    assert deck.status_code == 200
    assert Presentation(io.BytesIO(deck.content)).slides
    plain = make_link(served, document["id"], rep)
    assert served.client.get(f"/d/{plain}/deck.pptx").status_code == 403


def test_passcode_guessing_is_cut_off(served: Served) -> None:
    rep = served.auth("rep")
    token = make_link(served, make_document(served, rep)["id"], rep, passcode="right one")
    answers = [
        served.client.post(f"/d/{token}/unlock", data={"passcode": f"guess {n}"}).status_code
        for n in range(11)
    ]
    assert answers == [403] * 10 + [429]
    blocked = served.client.post(f"/d/{token}/unlock", data={"passcode": "right one"})
    assert blocked.status_code == 429


def test_marketing_reads_but_does_not_share_or_revoke_a_reps_document(served: Served) -> None:
    rep, marketing, admin = served.auth("rep"), served.auth("marketing"), served.auth("admin")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    body = {"recipient": "someone@else.example"}
    links = f"/api/documents/{document['id']}/links"
    assert served.client.post(links, json=body, headers=marketing).status_code == 403
    assert served.client.delete(f"/api/links/{token}", headers=marketing).status_code == 403
    assert served.client.get(f"/api/links/{token}/report", headers=marketing).status_code == 200
    csv = served.client.get(f"/api/links/{token}/report.csv", headers=marketing)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert served.client.delete(f"/api/links/{token}", headers=admin).status_code == 204


def test_reports_as_json_and_csv_agree(served: Served) -> None:
    rep, marketing = served.auth("rep"), served.auth("marketing")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    visit = start_visit(served, token)
    time.sleep(1.2)
    assert beat(served, token, visit, 1, dwell={"1": 1000}, seen=[1]) == 204
    base = f"/api/documents/{document['id']}"
    summary = served.client.get(f"{base}/report", headers=rep).json()
    assert summary["sessions"] == 1
    assert [s["sessions_seen"] for s in summary["sections"]] == [0, 1, 0, 0]
    rows = list(
        csv.DictReader(io.StringIO(served.client.get(f"{base}/report.csv", headers=rep).text))
    )
    assert [int(r["sessions_seen"]) for r in rows] == [0, 1, 0, 0]
    links = list(
        csv.DictReader(io.StringIO(served.client.get(f"{base}/links.csv", headers=rep).text))
    )
    assert [(r["recipient_email"], r["sessions"]) for r in links] == [
        ("dana@northwind.example", "1")
    ]
    block = document["sections"][1]["block_id"]
    by_slot = served.client.get(f"/api/blocks/{block}/engagement", headers=marketing).json()
    assert by_slot["by"] == "slot" and by_slot["groups"][0]["sessions"] >= 1
    by_industry = served.client.get(
        f"/api/blocks/{block}/engagement.csv", params={"by": "industry"}, headers=marketing
    )
    assert "logistics" in by_industry.text
    assert served.client.get("/api/blocks/no-such/engagement", headers=marketing).status_code == 404
    assert served.client.get(f"{base}/links.csv", headers=served.auth("rep")).status_code == 403


def test_out_of_range_values_are_400s_not_500s(served: Served) -> None:
    rep, marketing, admin = served.auth("rep"), served.auth("marketing"), served.auth("admin")
    document = make_document(served, rep)
    far = {"recipient": "a@b.example", "expires_at": "9999-12-31T23:59:59-01:00"}
    links = f"/api/documents/{document['id']}/links"
    assert served.client.post(links, json=far, headers=rep).status_code == 400
    since = served.client.get(
        "/api/blocks/engagement", params={"since": "9999-12-31T23:59:59-01:00"}, headers=marketing
    )
    assert since.status_code == 400 and "since" in since.text
    assert served.client.delete(f"/api/keys/{2**63}", headers=admin).status_code == 404
    huge = {"prospect": {**PROSPECT, "company": "A" * 100_000}}
    response = served.client.post("/api/documents", json=huge, headers=rep)
    assert response.status_code == 400 and "company" in response.text


def test_erasure_removes_a_recipients_visits(served: Served) -> None:
    rep, marketing = served.auth("rep"), served.auth("marketing")
    document = make_document(served, rep)
    token = make_link(served, document["id"], rep)
    start_visit(served, token)
    assert report(served, token, rep)["sessions"] == 1
    gated = make_link(served, document["id"], rep, require_email=True)
    sent = served.client.post(f"/d/{gated}/code", data={"email": "dana@northwind.example"})
    assert sent.status_code == 200
    erased = served.client.post(
        "/api/erasure", json={"email": "dana@northwind.example"}, headers=marketing
    )
    assert erased.status_code == 200
    assert erased.json()["visits_erased"] >= 1
    assert erased.json()["codes_erased"] >= 1
    assert erased.json()["mails_erased"] >= 1
    assert report(served, token, rep)["sessions"] == 0
    links = served.client.get(f"/api/documents/{document['id']}/links", headers=rep).json()
    assert {link["recipient"] for link in links["links"]} == {None}
    outbox = served.settings.data_dir / "outbox"
    assert not any("dana@northwind.example" in p.read_text() for p in outbox.glob("*.eml"))


def test_erasure_takes_an_address_stored_before_it_had_to_be_mailable(served: Served) -> None:
    marketing = served.auth("marketing")
    # Recipients were once accepted with non-ASCII addresses; their erasure cannot be refused.
    erased = served.client.post("/api/erasure", json={"email": "José@b.co"}, headers=marketing)
    assert erased.status_code == 200 and erased.json()["email"] == "josé@b.co"
    refused = served.client.post("/api/erasure", json={"email": "nobody"}, headers=marketing)
    assert refused.status_code == 400 and "email" in refused.text
