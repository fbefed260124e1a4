"""The prospect's side answers as the OpenAPI schema says in the states the fuzzer rarely
reaches (tests/api/test_schema_fuzz.py makes up tokens, so it mostly meets 404s): every
`/d/{token}` operation given a revoked link's token, a deck and a proposal downloaded (from a
share link and, with the web page, from the API), and
the email gate's 400 both as its page and as Litestar's JSON. Each request is a schemathesis
case sent through the running app's own client (its ingestor must be running for heartbeats),
and each answer goes through schemathesis' conformance checks: status code, content type and
body.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from httpx import Response
from litestar.testing import TestClient
from schemathesis import BaseSchema
from schemathesis.schemas import APIOperation

from api.app import create_app
from api.controllers.documents import DOWNLOADS
from tests.api.test_schema_fuzz import CHECKS, Fuzzed, make_document, share
from tests.conftest import make_settings, new_database

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
VIEWER_OPERATIONS = [
    "GET /d/{token}",
    "GET /d/{token}/{name}",
    "POST /d/{token}/code",
    "POST /d/{token}/events",
    "POST /d/{token}/unlock",
    "POST /d/{token}/visits",
]


@dataclass(frozen=True)
class Viewer:
    """The running app and its schema, and one document's links in three states."""

    client: TestClient[Any]
    schema: BaseSchema
    revoked: str
    heartbeat: dict[str, Any]  # valid for the revoked link, had it not been revoked
    downloadable: str
    gated: str
    document: str
    admin: dict[str, str]  # the API key's headers


@pytest.fixture(scope="module")
def viewer(
    request: pytest.FixtureRequest, shared_data: Path, library_dir: Path
) -> Iterator[Viewer]:
    """The app serving one document: a link opened once and then revoked, a link that allows
    downloads, and one behind the email gate. The app runs (its ingestor too) throughout."""
    url = new_database(request, "sqlite", shared_data)
    app_settings = make_settings(shared_data, database=url, base_url="https://s.example")
    fuzzed = Fuzzed(create_app(app_settings, library_dir), url)
    auth = fuzzed.admin_headers()
    with TestClient(fuzzed.app) as client:
        document = make_document(client, auth)
        revoked = share(client, document, auth)
        visit = client.post(f"/d/{revoked}/visits").json()
        assert client.delete(f"/api/links/{revoked}", headers=auth).status_code == 204
        yield Viewer(
            client,
            schemathesis.openapi.from_dict(client.get("/schema/openapi.json").json()),
            revoked,
            {"visit": visit["visit"], "secret": visit["secret"], "seq": 1, "dwell": {"0": 500}},
            share(client, document, auth, allow_download=True),
            share(client, document, auth, require_email=True),
            document,
            auth,
        )


def operations(schema: BaseSchema, prefix: str = "/d/") -> dict[str, APIOperation]:
    found = (result.ok() for result in schema.get_all_operations())
    return {op.label: op for op in found if op.path.startswith(prefix)}


def answer(
    viewer: Viewer, case: schemathesis.Case, headers: dict[str, str] | None = None
) -> Response:
    """The app's answer to `case`, checked as `case.call_and_validate` would check it."""
    request = case.as_transport_kwargs(headers=headers)
    assert not request.pop("cookies")
    response = viewer.client.request(**request)
    case.validate_response(response, checks=CHECKS)
    return response


def revoked_case(operation: APIOperation, viewer: Viewer) -> schemathesis.Case:
    """A request that would succeed on a live link: the right file name, body and form."""
    path = {"token": viewer.revoked, "name": "deck.pptx"}
    if operation.path.endswith("/events"):
        return operation.Case(path_parameters=path, body=viewer.heartbeat)
    if operation.path.endswith(("/code", "/unlock")):
        form = {"email": "dana@fuzz.example", "code": "123456"}
        return operation.Case(path_parameters=path, body=form, media_type=FORM)
    return operation.Case(path_parameters=path)


def test_every_viewer_operation_answers_a_revoked_link_with_410_as_its_schema_says(
    viewer: Viewer,
) -> None:
    found = operations(viewer.schema)
    assert sorted(found) == VIEWER_OPERATIONS
    answers = {
        label: answer(viewer, revoked_case(operation, viewer)).status_code
        for label, operation in found.items()
    }
    assert answers == dict.fromkeys(VIEWER_OPERATIONS, 410)


@pytest.mark.parametrize("name", ["deck.pptx", "proposal.docx"])
def test_a_download_comes_as_the_office_file_type_the_schema_declares(
    viewer: Viewer, name: str
) -> None:
    download = operations(viewer.schema)["GET /d/{token}/{name}"]
    case = download.Case(path_parameters={"token": viewer.downloadable, "name": name})
    response = answer(viewer, case)
    assert response.status_code == 200
    assert response.headers["content-type"] == DOWNLOADS[name][1]


@pytest.mark.parametrize("name", list(DOWNLOADS))
def test_a_document_file_from_the_api_comes_as_a_type_the_schema_declares(
    viewer: Viewer, name: str
) -> None:
    download = operations(viewer.schema, "/api/documents/")[
        "GET /api/documents/{document_id}/{name}"
    ]
    case = download.Case(path_parameters={"document_id": viewer.document, "name": name})
    response = answer(viewer, case, viewer.admin)
    assert response.status_code == 200
    declared = DOWNLOADS[name][1]
    assert response.headers["content-type"] in (declared, f"{declared}; charset=utf-8")


@pytest.mark.parametrize(
    ("headers", "content_type"),
    [({}, "text/html; charset=utf-8"), ({"Content-Length": "x"}, "application/json")],
)
def test_the_email_gate_refuses_with_400_as_a_page_or_as_json_as_its_schema_says(
    viewer: Viewer, headers: dict[str, str], content_type: str
) -> None:
    """A form with no email address gets the gate again; a request Litestar cannot read (here
    a Content-Length that is not a number) gets Litestar's own JSON refusal."""
    send_code = operations(viewer.schema)["POST /d/{token}/code"]
    case = send_code.Case(
        path_parameters={"token": viewer.gated}, body={"email": "dana"}, media_type=FORM
    )
    response = answer(viewer, case, headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == content_type
