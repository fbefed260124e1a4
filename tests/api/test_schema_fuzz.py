"""schemathesis over the whole OpenAPI schema, in-process against the real app with an admin
key: no request it makes gets a 5xx, and every answer is one the schema declares (status code,
content type and body), for valid requests (positive) and invalid ones (negative).

The app serves a small library with one document and one share link made through the API, so
lookups meet real ids as well as made-up ones. Each operation gets a fresh admin key, so
`DELETE /api/keys/{key_id}` revoking the fuzzer's own key costs only that operation its key.
Examples are bounded and derandomized: the run is reproducible and takes about two minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from tests.api.conftest import new_key
from tests.conftest import make_settings, new_database

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PROSPECT = {"id": "p-fuzz", "company": "Fuzz Freight", "needs": "Diesel is too expensive."}


@dataclass
class Fuzzed:
    app: Litestar
    database_url: str

    def admin_headers(self) -> dict[str, str]:
        key = asyncio.run(new_key(self.database_url, "admin", "fuzz"))
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def fuzzed(
    request: pytest.FixtureRequest, shared_data: Path, library_dir: Path
) -> Iterator[Fuzzed]:
    """The app on a new SQLite database, holding one document with one link."""
    url = new_database(request, "sqlite", shared_data)
    # With a webhook secret, as in production: without one the webhook answers 503 by design.
    app_settings = make_settings(
        shared_data, database=url, base_url="https://s.example", webhook_secret="s" * 32
    )
    fuzzed = Fuzzed(create_app(app_settings, library_dir), url)
    auth = fuzzed.admin_headers()
    with TestClient(fuzzed.app) as client:
        share(client, make_document(client, auth), auth)
    yield fuzzed


def make_document(client: TestClient[Any], auth: dict[str, str]) -> str:
    """A document for PROSPECT made through the API; its id."""
    made = client.post("/api/documents", json={"prospect": PROSPECT}, headers=auth)
    assert made.status_code == 201, made.text
    document: str = made.json()["id"]
    return document


def share(client: TestClient[Any], document: str, auth: dict[str, str], **options: bool) -> str:
    """A share link to the document, made through the API; its token."""
    made = client.post(
        f"/api/documents/{document}/links",
        json={"recipient": "dana@fuzz.example", **options},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/schema/openapi.json", fuzzed.app)


def answers_as_the_schema_says(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str]
) -> None:
    """Hypothesis over one operation; raises schemathesis' failures for the smallest case."""

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_schema_says(
    api_schema: BaseSchema, fuzzed: Fuzzed, mode: GenerationMode
) -> None:
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            answers_as_the_schema_says(operation, mode, fuzzed.admin_headers())
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in the request can be made invalid
        except (FailureGroup, Exception) as failure:
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
