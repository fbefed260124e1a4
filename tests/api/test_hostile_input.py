"""Hostile input on the HTTP API, on SQLite and PostgreSQL: oversized and deeply nested
bodies, bad UTF-8, NUL bytes, path traversal, template injection, wrong types and huge values,
CRLF. Each gets a clear 4xx (never a 5xx or a traceback) and nothing is written."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from docx import Document as WordDocument
from markupsafe import escape
from pptx import Presentation
from sqlalchemy import func, select

from api.app import MAX_BODY
from tests.api.conftest import Served
from tracker.database import create_engine, create_sessions
from tracker.models import Base, Document, Prospect, ShareLink
from tracker.outcome_import import MAX_BYTES

pytestmark = pytest.mark.slow

PROSPECT = {"id": "p-hostile", "company": "Hostile Haulage", "needs": "Diesel is too expensive."}
INJECTIONS = ["{{ 7*191 }}", "{% raw %}x{% endraw %}", "{{ ''.__class__.__mro__ }}", "${7*191}"]
TABLES: tuple[type[Base], ...] = (Document, ShareLink, Prospect)


def row_counts(served: Served) -> dict[str, int]:
    async def count() -> dict[str, int]:
        engine = create_engine(served.settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                return {
                    table.__tablename__: int(
                        await session.scalar(select(func.count()).select_from(table)) or 0
                    )
                    for table in TABLES
                }
        finally:
            await engine.dispose()

    return asyncio.run(count())


@pytest.fixture(scope="module")
def admin(served: Served) -> dict[str, str]:
    return served.auth("admin", "Rita Rep")


@pytest.fixture(scope="module")
def document_id(served: Served, admin: dict[str, str]) -> str:
    response = served.client.post("/api/documents", json={"prospect": PROSPECT}, headers=admin)
    assert response.status_code == 201, response.text
    made: str = response.json()["id"]
    return made


@pytest.fixture
def unchanged(served: Served) -> Iterator[None]:
    """The test's requests write no document, link or prospect."""
    before = row_counts(served)
    yield
    assert row_counts(served) == before


def refused(response: Any, *statuses: int) -> dict[str, Any]:
    """A 4xx among `statuses` (default 400) with a JSON body saying why."""
    assert response.status_code in (statuses or (400,)), (response.status_code, response.text)
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


@pytest.mark.usefixtures("unchanged")
def test_a_body_over_the_limit_is_refused_before_it_is_read(served, admin):
    filler = "x" * (MAX_BODY + 1)
    prospect = {**PROSPECT, "needs": filler}
    response = served.client.post("/api/documents", json={"prospect": prospect}, headers=admin)
    refused(response, 413)


@pytest.mark.usefixtures("unchanged")
def test_deeply_nested_json_is_a_400_not_a_recursion_error(served, admin, document_id):
    json_headers = {**admin, "Content-Type": "application/json"}
    nested = "[" * 10_000 + "]" * 10_000
    bodies = {
        "/api/documents": '{"prospect": {"needs": ' + nested + "}}",
        f"/api/documents/{document_id}/links": nested,
        "/api/select": nested,
    }
    for path, body in bodies.items():
        answer = refused(served.client.post(path, content=body, headers=json_headers))
        assert "body" in answer["detail"], answer


@pytest.mark.usefixtures("unchanged")
def test_invalid_utf8_in_a_body_path_or_query_is_a_400(served, admin, document_id):
    body = b'{"prospect": {"id": "p-x", "company": "\xff\xfe", "needs": "x"}}'
    response = served.client.post(
        "/api/documents", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    refused(response, 400)
    for path in (
        "/api/documents/%ff%fe",
        f"/api/documents/{document_id}/%ff.pptx",
        "/api/links/%c3%28/report",
        "/api/blocks/%ff/engagement",
        "/api/prospects/%ff/outcome",
        "/api/blocks/engagement?slot=%ff%fe",
        f"/api/documents/{document_id}/out-of-date?as_of=%ff",
    ):
        response = served.client.get(path, headers=admin)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert served.client.get("/d/%ff%fe").status_code == 404


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "body",
    [
        {"prospect": {**PROSPECT, "company": "Nul\x00Freight"}},
        {"prospect": {**PROSPECT, "needs": "Diesel\x00"}},
        {"prospect": {**PROSPECT, "contact": {"name": "Dana\x00Lee"}}},
        {"prospect": {**PROSPECT, "industry": "logistics\x00"}},
        {"prospect": PROSPECT, "rep": {"name": "Rita\x00Rep"}},
        {"prospect": PROSPECT, "rep": {"title": "\x00"}},
    ],
    ids=["company", "needs", "contact", "industry", "rep-name", "rep-title"],
)
def test_nul_in_a_document_field_is_a_400_naming_it(served, admin, body):
    body = refused(served.client.post("/api/documents", json=body, headers=admin))
    assert "NUL" in body["detail"] or "\\x00" in body["detail"] or "control" in body["detail"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "body",
    [
        {"recipient": "dana\x00@x.example"},
        {"recipient": "dana@x.example", "passcode": "pass\x00word"},
    ],
    ids=["recipient", "passcode"],
)
def test_nul_in_a_link_field_is_a_400(served, admin, document_id, body):
    refused(served.client.post(f"/api/documents/{document_id}/links", json=body, headers=admin))


@pytest.mark.usefixtures("unchanged")
def test_nul_in_a_path_parameter_is_a_4xx(served, admin, document_id):
    for path in (
        "/api/documents/a%00b",
        f"/api/documents/{document_id}/deck%00.pptx",
        "/api/links/a%00b/report",
        "/api/blocks/o-now%00/engagement",
        "/api/blocks/o-now%00",
        "/api/prospects/p%00/outcome",
    ):
        response = served.client.get(path, headers=admin)
        assert response.status_code in (400, 404), (path, response.status_code, response.text)
        if response.status_code == 400:  # PostgreSQL refused the value; SQLite found nothing
            assert "must not contain NUL" in response.json()["detail"]
    if served.settings.database_url.startswith("postgresql"):
        answer = refused(served.client.get("/api/documents/a%00b", headers=admin))
        assert answer["detail"] == "document_id: must not contain NUL (\\x00) characters"
    query = "/api/blocks/engagement?industry=a%00b"
    assert refused(served.client.get(query, headers=admin))["extra"][0]["key"] == "industry"
    response = served.client.put("/api/prospects/p%00/outcome", json={}, headers=admin)
    assert response.status_code in (400, 404), response.text
    for path in ("/d/a%00b", "/d/a%00b/deck.pptx"):
        assert served.client.get(path).status_code == 404
    assert served.client.post("/d/a%00b/visits", json={}).status_code == 404


@pytest.mark.usefixtures("unchanged")
def test_path_traversal_names_nothing(served, admin, document_id):
    for path in (
        "/d/..%2f..%2fetc%2fpasswd",
        "/d/..%2f..%2fetc%2fpasswd/deck.pptx",
        f"/d/{'..%2f' * 8}etc%2fpasswd",
    ):
        response = served.client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "root:" not in response.text
    for path in (
        "/api/documents/..%2fx",
        f"/api/documents/{document_id}/..%2f..%2fetc%2fpasswd",
        f"/api/documents/{document_id}/..%2findex.html",
        "/api/links/..%2f..%2fetc%2fpasswd/report",
        "/api/blocks/..%2f..%2fetc%2fpasswd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
    ):
        response = served.client.get(path, headers=admin)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert "root:" not in response.text


def texts_of(served: Served, admin: dict[str, str], document_id: str) -> dict[str, str]:
    """The page, deck and proposal of a document, as text."""
    files = {}
    for name in ("index.html", "deck.pptx", "proposal.docx"):
        response = served.client.get(f"/api/documents/{document_id}/{name}", headers=admin)
        assert response.status_code == 200, response.text
        files[name] = response.content
    deck = Presentation(io.BytesIO(files["deck.pptx"]))
    slides = [
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    ]
    proposal = WordDocument(io.BytesIO(files["proposal.docx"]))
    paragraphs = [p.text for p in proposal.paragraphs]
    paragraphs += [c.text for t in proposal.tables for row in t.rows for c in row.cells]
    return {
        "index.html": files["index.html"].decode(),
        "deck.pptx": "\n".join(slides),
        "proposal.docx": "\n".join(paragraphs),
    }


@pytest.mark.parametrize("injection", INJECTIONS)
def test_template_syntax_in_profile_fields_is_shown_as_written(served, admin, injection):
    prospect = {
        "id": "p-injection",
        "company": f"Acme {injection}",
        "contact": {"name": f"Dana {injection}", "title": f"COO {injection}"},
        "industry": "logistics",
        "needs": f"Diesel is too expensive {injection}.",
    }
    rep = {"name": f"Rita {injection}", "title": f"AE {injection}"}
    response = served.client.post(
        "/api/documents", json={"prospect": prospect, "rep": rep}, headers=admin
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert "1337" not in json.dumps(made)
    texts = texts_of(served, admin, made["id"])
    for name, text in texts.items():
        assert "1337" not in text, name
        assert "Traceback" not in text and "<class" not in text, name
    for written in (f"Acme {injection}", f"Rita {injection}"):
        assert written in texts["deck.pptx"]
        assert written in texts["proposal.docx"]
        assert str(escape(written)) in texts["index.html"]
    link = served.client.post(
        f"/api/documents/{made['id']}/links",
        json={"recipient": "dana{{7*191}}@x.example"},
        headers=admin,
    )
    assert link.status_code == 201, link.text
    assert link.json()["recipient"] == "dana{{7*191}}@x.example"


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prospect": PROSPECT, "as_of": "2024-02-30"}, "as_of"),
        ({"prospect": PROSPECT, "as_of": "99999-01-01"}, "as_of"),
        ({"prospect": PROSPECT, "as_of": 10**30}, "as_of"),
        ({"prospect": PROSPECT, "as_of": ["2024-01-01"]}, "as_of"),
        ({"prospect": PROSPECT, "as_of": {"year": 2024}}, "as_of"),
        ({"prospect": PROSPECT, "rep": 5}, "rep"),
        ({"prospect": PROSPECT, "rep": {"name": 10**400}}, "name"),
        ({"prospect": PROSPECT, "rep": {"email": "not an email"}}, "rep.email"),
        ({"prospect": PROSPECT, "learning": "yes"}, "learning"),
        ({"prospect": PROSPECT, "learning": {"seed": 10**30}}, "seed"),
        ({"prospect": PROSPECT, "learning": {"seed": 1e308}}, "seed"),
        ({"prospect": PROSPECT, "learning": {"seed": "1"}}, "seed"),
        ({"prospect": []}, "prospect"),
        ({"prospect": {**PROSPECT, "company": 10**400}}, "company"),
        ({"prospect": {**PROSPECT, "company": ["a"]}}, "company"),
        ({"prospect": {**PROSPECT, "needs": 5}}, "needs"),
        ({"prospect": {**PROSPECT, "contact": "Dana"}}, "contact"),
        ({"prospect": {**PROSPECT, "id": "../x"}}, "id"),
        ({"prospect": {**PROSPECT, "id": "x" * 10_000}}, "id"),
        ({"prospect": {**PROSPECT, "company": "x" * 100_000}}, "company"),
        ({"prospect": PROSPECT, "unknown": 1}, "unknown"),
    ],
)
def test_wrong_types_and_huge_values_in_a_document_are_400s_naming_the_field(
    served, admin, body, field
):
    answer = refused(served.client.post("/api/documents", json=body, headers=admin))
    named = [answer["detail"]] + [f"{p['where']}.{p['field']}" for p in answer["problems"]]
    assert any(field in text for text in named), answer


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient": "d@x.example", "expires_at": "99999-01-01T00:00:00Z"}, "expires_at"),
        ({"recipient": "d@x.example", "expires_at": "+99999-01-01T00:00:00"}, "expires_at"),
        ({"recipient": "d@x.example", "expires_at": "9999-12-31T23:59:59-23:59"}, "expires_at"),
        ({"recipient": "d@x.example", "expires_at": "2024-02-30T00:00:00Z"}, "expires_at"),
        ({"recipient": "d@x.example", "expires_at": 1e308}, "expires_at"),
        ({"recipient": "d@x.example", "expires_at": 10**400}, "expires_at"),
        ({"recipient": "d@x.example", "allow_download": "yes"}, "allow_download"),
        ({"recipient": "d@x.example", "require_email": 1}, "require_email"),
        ({"recipient": "d@x.example", "passcode": 12345}, "passcode"),
        ({"recipient": "d@x.example", "passcode": "x" * 10_000}, "passcode"),
        ({"recipient": 10**100}, "recipient"),
        ({"recipient": ["d@x.example"]}, "recipient"),
        ({"recipient": "d@x.example\r\nBcc: all@x.example"}, "recipient"),
        ({}, "recipient"),
    ],
)
def test_wrong_types_and_huge_values_in_a_link_are_400s_naming_the_field(
    served, admin, document_id, body, field
):
    path = f"/api/documents/{document_id}/links"
    answer = refused(served.client.post(path, json=body, headers=admin))
    assert field in answer["detail"], answer


@pytest.mark.usefixtures("unchanged")
def test_out_of_range_dates_in_queries_are_400s(served, admin, document_id):
    for path in (
        f"/api/documents/{document_id}/out-of-date?as_of=2024-02-30",
        f"/api/documents/{document_id}/out-of-date?as_of=99999-01-01",
        "/api/blocks/engagement?since=99999-01-01",
        "/api/blocks/engagement?until=2024-02-30",
        "/api/blocks/engagement?since=9999-12-31T23:59:59-23:59",
    ):
        response = served.client.get(path, headers=admin)
        assert response.status_code == 400, (path, response.status_code, response.text)


@pytest.mark.usefixtures("unchanged")
def test_crlf_never_reaches_a_response_header(served, admin, document_id):
    for path in (
        "/d/x%0d%0aSet-Cookie:%20pwned=1",
        "/d/x%0d%0aSet-Cookie:%20pwned=1/deck.pptx",
        "/api/documents/x%0d%0aSet-Cookie:%20pwned=1/report.csv",
    ):
        response = served.client.get(path, headers=admin)
        assert response.status_code == 404, (path, response.status_code)
        assert "pwned" not in str(response.headers)
    response = served.client.post(
        "/d/x%0d%0aLocation:%20https:%2f%2fevil.example/code", data={"email": "a@b.example"}
    )
    assert response.status_code == 404
    assert "evil" not in str(response.headers)


@pytest.mark.usefixtures("unchanged")
def test_a_malformed_api_key_is_a_401(served):
    for value in (b"Bearer \xff\xfe", b"Bearer a\x00b", b"Bearer " + b"k" * 10_000, b"Basic x"):
        response = served.client.get("/api/blocks", headers={"Authorization": value})
        refused(response, 401)


@pytest.mark.usefixtures("unchanged")
def test_the_outcome_import_takes_more_than_json_but_not_without_limit(served, admin):
    header = "prospect,outcome\n"
    over_json = header + "p-none,won\n" * (MAX_BODY // 11 + 1)
    assert MAX_BODY < len(over_json) <= MAX_BYTES
    response = served.client.post(
        "/api/outcomes/import", content=over_json, headers={**admin, "Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text  # read, and refused row by row
    too_big = "x" * (MAX_BYTES + 100_000)
    response = served.client.post(
        "/api/outcomes/import", content=too_big, headers={**admin, "Content-Type": "text/csv"}
    )
    refused(response, 413)
