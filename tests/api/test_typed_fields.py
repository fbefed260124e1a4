"""Request fields of the wrong type or holding NUL are refused with a 400 that names the field
and says what is wrong, on the real app: a date sent as a JSON number is no date, and a
passcode with NUL is told so rather than that its length is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Served
from tests.api.test_documents_and_links import PROSPECT, make_document

pytestmark = pytest.mark.slow


def refusal(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.text
    (problem,) = response.json()["problems"]
    return {"field": problem["field"], "message": problem["message"]}


@pytest.mark.parametrize("path", ["/api/documents", "/api/select"])
@pytest.mark.parametrize("as_of", [20260101, 2026.5, ["2026-01-01"], True])
def test_a_date_that_is_not_a_string_is_refused(served: Served, path: str, as_of: Any) -> None:
    body = {"prospect": PROSPECT, "as_of": as_of}
    refused = served.client.post(path, json=body, headers=served.auth("rep"))
    assert refusal(refused) == {"field": "as_of", "message": "must be a date string (YYYY-MM-DD)"}


def test_a_passcode_with_nul_is_told_about_the_nul(served: Served) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    body = {"recipient": "dana@northwind.example", "passcode": "a\x00b"}
    refused = served.client.post(f"/api/documents/{document['id']}/links", json=body, headers=rep)
    assert refusal(refused) == {
        "field": "passcode",
        "message": "must not contain NUL (\\x00) characters",
    }
