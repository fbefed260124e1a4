"""Bad input found by a hostile review, through the real app on both backends: each is refused
with a 400 naming the field (a page re-shown with the error, or the API's problems), nothing
is written, and the refusal is an answer in the log, not an "unhandled error" traceback."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import new_key
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tracker.models import Base, BlockRating, DealOutcome, Document, Prospect, ReportedNeed

pytestmark = pytest.mark.slow

NUL = "\x00"
PROFILE = {"company": "Nul Freight", "industry": "logistics", "needs": "Diesel costs."}
WON = {"outcome": "won", "closed_on": "2026-11-03"}


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend: PostgreSQL is the one that refuses NUL."""
    return any_site


def count(site: Site, table: type[Base]) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    return in_database(site, work)


def auth(site: Site, role: str) -> dict[str, str]:
    key = asyncio.run(new_key(site.settings.database_url, role, f"{role} key"))
    return {"Authorization": f"Bearer {key}"}


def problems(response: Any) -> list[dict[str, str]]:
    """The API's 400 answer's problems."""
    assert response.status_code == 400, (response.status_code, response.text)
    found: list[dict[str, str]] = response.json()["problems"]
    return found


def problem_fields(response: Any) -> list[str]:
    return [problem["field"] for problem in problems(response)]


def outcomes_of(site: Site, key: str) -> int:
    """How many outcomes are stored for the prospect `key`."""

    async def work(session: AsyncSession) -> int:
        query = (
            select(func.count()).select_from(DealOutcome).join(Prospect).where(Prospect.key == key)
        )
        return int(await session.scalar(query) or 0)

    return in_database(site, work)


def kept_sections(site: Site, key: str) -> dict[int, str]:
    """The preview's block per section index, as its Generate form would keep them."""
    page = site.client.get(f"/prospects/{key}/preview").text
    found = re.findall(r'name="section-(\d+)" value="([^"]+)" checked', page)
    return {int(index): block for index, block in found}


@pytest.mark.parametrize("digit", ["\u00b2", "\u0663"], ids=["superscript-two", "arabic-three"])
def test_a_section_field_numbered_with_a_non_ascii_digit_is_refused_by_name(
    site: Site, digit: str
) -> None:
    site.rep()
    key = site.new_prospect("Digit Freight")
    index, block = max(kept_sections(site, key).items())
    field = "section-" + (digit if digit == "\u00b2" else chr(0x0660 + index))
    before = count(site, Document)
    refused = site.post(f"/prospects/{key}/generate", {field: block})
    assert refused.status_code == 400, refused.text
    assert field in refused.text and "unknown field" in refused.text
    assert count(site, Document) == before


def test_a_section_number_too_long_for_int_is_refused_not_a_crash(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Digits Freight")
    _, block = max(kept_sections(site, key).items())
    refused = site.post(f"/prospects/{key}/generate", {"section-" + "9" * 5_000: block})
    assert refused.status_code == 400 and "unknown field" in refused.text


@pytest.mark.parametrize("field", ["company", "contact_name", "needs"])
def test_nul_in_the_prospect_form_re_shows_it_naming_the_field_and_stores_nothing(
    site: Site, field: str
) -> None:
    site.rep()
    form = {**PROFILE, "contact_name": "Dana Lee", field: f"Nul{NUL}Co"}
    before = count(site, Prospect)
    refused = site.post("/prospects/new", form)
    assert refused.status_code == 400, refused.text
    assert f'id="{field}-error"' in refused.text and "NUL" in refused.text
    assert "Please correct the fields" in refused.text
    assert count(site, Prospect) == before


def test_nul_in_the_edit_form_is_refused_and_the_prospect_keeps_its_profile(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Edit Nul Freight")
    before = site.row(Prospect, key=key)
    assert isinstance(before, Prospect)
    refused = site.post(f"/prospects/{key}/edit", {**PROFILE, "contact_title": f"C{NUL}O"})
    assert refused.status_code == 400
    assert 'id="contact_title-error"' in refused.text
    after = site.row(Prospect, key=key)
    assert isinstance(after, Prospect) and after.profile == before.profile
    assert site.client.get(f"/prospects/{key}/preview").status_code == 200


def test_nul_in_an_outcome_over_the_api_is_a_400_naming_the_field_and_nothing_is_stored(
    site: Site,
) -> None:
    site.rep()
    key = site.new_prospect("Reason Freight")
    marketing = auth(site, "marketing")
    for field in ("reason", "currency", "amount"):
        body = {**WON, field: f"a{NUL}"}
        refused = site.client.put(f"/api/prospects/{key}/outcome", json=body, headers=marketing)
        assert problem_fields(refused) == [field]
    assert outcomes_of(site, key) == 0


def test_nul_in_an_imported_csv_names_the_row_and_column_and_imports_nothing(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Import Nul Freight")
    marketing = {**auth(site, "marketing"), "Content-Type": "text/csv"}
    csv = f"Prospect,Stage,Close Date,Loss Reason\n{key},Closed Lost,2026-11-03,Pri{NUL}ce\n"
    refused = site.client.post("/api/outcomes/import", content=csv.encode(), headers=marketing)
    assert [(p["where"], p["field"]) for p in problems(refused)] == [("line 2", "Loss Reason")]
    nul_key = f"Prospect,Stage,Close Date\n{key}{NUL},won,2026-11-03\n{key},won,2026-11-03\n"
    refused = site.client.post("/api/outcomes/import", content=nul_key.encode(), headers=marketing)
    assert [(p["where"], p["field"]) for p in problems(refused)] == [("line 2", "Prospect")]
    assert outcomes_of(site, key) == 0


def test_nul_in_the_outcome_form_re_shows_it_naming_the_reason(site: Site) -> None:
    site.rep()
    key = site.new_prospect("Form Nul Freight")
    refused = site.post(f"/prospects/{key}/outcome", {**WON, "reason": NUL})
    assert refused.status_code == 400, refused.text
    assert "Reason: must not contain NUL" in refused.text
    assert outcomes_of(site, key) == 0


def test_nul_in_a_rating_comment_or_a_reported_need_re_shows_the_page_and_stores_nothing(
    site: Site,
) -> None:
    site.rep()
    document_id = site.generate(site.new_prospect("Feedback Nul Freight"))
    page = site.client.get(f"/documents/{document_id}").text
    block = re.findall(r'<li data-block-id="([a-z-]+)"', page)[-1]
    ratings, needs = count(site, BlockRating), count(site, ReportedNeed)
    rating = {"block": block, "useful": "yes", "comment": NUL}
    need = {"need": f"Rail{NUL}", "slot": ""}
    for form, body in (("ratings", rating), ("needs", need)):
        # The document page again, the form's error beside the field, as for a too-long text.
        refused = site.post(f"/documents/{document_id}/{form}", body)
        assert refused.status_code == 400
        assert "Remove the NUL (\\x00) character: it cannot be stored." in refused.text
    assert (count(site, BlockRating), count(site, ReportedNeed)) == (ratings, needs)


@pytest.mark.parametrize("path", ["/api/select", "/api/documents"])
@pytest.mark.parametrize("body", [{}, {"prospect": "p-acme"}, {"prospect": ["p-acme"]}])
def test_a_missing_or_non_object_prospect_is_refused_as_prospect(
    site: Site, path: str, body: dict[str, Any]
) -> None:
    before = count(site, Document)
    refused = site.client.post(path, json=body, headers=auth(site, "rep"))
    assert problem_fields(refused) == ["prospect"]
    assert count(site, Document) == before


class Recorded(logging.Handler):
    """The records a logger writes, kept for the test to read."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def app_log() -> Iterator[Recorded]:
    """What the app's logger (Litestar's, where it logs the exceptions routes raise) writes
    during the test."""
    recorded = Recorded()
    logger = logging.getLogger("litestar")
    logger.addHandler(recorded)
    try:
        yield recorded
    finally:
        logger.removeHandler(recorded)


def test_refusals_and_the_sign_in_redirect_are_not_logged_as_errors(
    site: Site, app_log: Recorded
) -> None:
    site.client.cookies.clear()
    assert site.client.get("/prospects", follow_redirects=False).status_code == 303
    rep = auth(site, "rep")
    assert problem_fields(site.client.post("/api/select", json={}, headers=rep)) == ["prospect"]
    body = {"prospect": {"id": "p-bad", "company": ""}}
    assert problem_fields(site.client.post("/api/documents", json=body, headers=rep))
    csv = b"Prospect,Stage,Close Date\nnobody,maybe,2026-11-03\n"
    marketing = {**auth(site, "marketing"), "Content-Type": "text/csv"}
    assert problem_fields(site.client.post("/api/outcomes/import", content=csv, headers=marketing))
    faults = [r for r in app_log.records if r.levelno >= logging.WARNING or r.exc_info]
    assert faults == []
