"""Hostile input on the signed-in pages and the engagement reports, on SQLite and PostgreSQL:
days in the calendar's last month, digits that are not ASCII, expiry days whose end is past
the calendar in UTC, ids larger than any row can have. Each is answered (a 200 where the value
makes sense, a 4xx naming it where it does not), never a 500, and nothing is written."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import new_key
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tracker.models import ShareLink, User

pytestmark = pytest.mark.slow

# The last month the calendar has: a window starting inside it has no whole month after it.
LAST_MONTH_DAYS = ["9999-12-01", "9999-12-15", "9999-12-31"]
BEYOND_ANY_ID = ["2147483648", "9223372036854775808", "99999999999999999999999"]


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend."""
    return any_site


def with_zone(site: Site, zone: str) -> None:
    """The signed-in users of the site all live in `zone`."""

    async def move(session: AsyncSession) -> None:
        await session.execute(update(User).values(time_zone=zone))

    in_database(site, move)


def links_of(site: Site, document_id: str) -> int:
    async def count(session: AsyncSession) -> int:
        query = select(func.count()).where(ShareLink.document_id == document_id)
        return int(await session.scalar(query) or 0)

    return in_database(site, count)


def shared_link(site: Site) -> tuple[str, int]:
    """A new document of a new rep, signed in, with one share link: (document id, link id)."""
    site.rep()
    document_id = site.generate(site.new_prospect("Calendar Freight"))
    made = site.post(f"/documents/{document_id}/links", {"recipient": "pat@example.com"})
    assert made.status_code == 200, made.text
    link = site.row(ShareLink, document_id=document_id)
    assert isinstance(link, ShareLink)
    return document_id, link.id


@pytest.mark.parametrize(
    "since",
    ["9999-12-01T00:00:00Z", "9999-12-15T00:00:00Z", "9999-12-31T23:59:59.999999Z"],
)
@pytest.mark.parametrize("path", ["/api/blocks/engagement", "/api/blocks/engagement.csv"])
def test_engagement_since_the_calendars_last_month_counts_no_session(
    site: Site, path: str, since: str
) -> None:
    key = asyncio.run(new_key(site.settings.database_url, "marketing", ""))
    answer = site.client.get(
        path, params={"since": since}, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    if path.endswith(".csv"):
        return
    rows = answer.json()["blocks"]
    assert rows and all(row["sessions"] == 0 for row in rows), rows


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("page", ["/marketing/blocks", "/marketing/funnel"])
def test_marketing_pages_since_a_day_of_the_calendars_last_month_answer(
    site: Site, page: str, zone: str
) -> None:
    site.rep("marketing")
    with_zone(site, zone)
    for day in LAST_MONTH_DAYS:
        answer = site.client.get(page, params={"since": day})
        assert answer.status_code == 200, (day, answer.text)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_marketing_pages_until_a_day_of_the_calendars_last_month_never_fail(
    site: Site, zone: str
) -> None:
    """The end of 31 December 9999 is past the calendar: refused naming `until`, or read as no
    end at all, but never a 500."""
    site.rep("marketing")
    with_zone(site, zone)
    for page in ("/marketing/blocks", "/marketing/funnel"):
        for day in LAST_MONTH_DAYS:
            answer = site.client.get(page, params={"since": "2024-01-01", "until": day})
            assert answer.status_code in (200, 400), (page, day, answer.text)
            assert answer.status_code == 200 or "until:" in answer.text


@pytest.mark.parametrize(
    "page",
    [
        "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
        "\u0663",  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
        "\uff11",  # FULLWIDTH DIGIT ONE
        "9" * 5000,  # past int()'s 4,300-digit limit
        " 1",
        "0",
        "1000001",
        "",
    ],
)
def test_a_leaderboard_page_that_is_not_ascii_digits_in_range_is_a_400_naming_page(
    site: Site, page: str
) -> None:
    site.rep("marketing")
    answer = site.client.get("/marketing/blocks", params={"page": page})
    assert answer.status_code == 400, answer.text
    assert "page:" in answer.text


def test_a_leaderboard_page_in_ascii_digits_is_shown(site: Site) -> None:
    site.rep("marketing")
    assert site.client.get("/marketing/blocks", params={"page": "2"}).status_code == 200


@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Pacific/Kiritimati"])
def test_a_link_expiring_on_the_calendars_last_day_in_a_zone_past_it_is_refused(
    site: Site, zone: str
) -> None:
    """The end of 31 December 9999 west of UTC is in the year 10000 in UTC: a 400 on `expires`,
    nothing written, where the JSON API refuses `expires_at` the same way. East of UTC (and in
    UTC) the link is made."""
    site.rep()
    with_zone(site, zone)
    document_id = site.generate(site.new_prospect("Far Future Freight"))
    form = {"recipient": "a@b.co", "expires": "9999-12-31"}
    answer = site.post(f"/documents/{document_id}/links", form)
    if zone == "America/New_York":
        assert answer.status_code == 400, answer.text
        assert 'id="expires-error"' in answer.text
        assert links_of(site, document_id) == 0
    else:
        assert answer.status_code == 200, answer.text
        assert links_of(site, document_id) == 1


@pytest.mark.parametrize("link_id", BEYOND_ANY_ID)
def test_revoking_a_link_id_no_row_can_have_is_a_404(site: Site, link_id: str) -> None:
    document_id, real = shared_link(site)
    answer = site.post(f"/documents/{document_id}/links/{link_id}/revoke", {})
    assert answer.status_code == 404, answer.text
    link = site.row(ShareLink, id=real)
    assert isinstance(link, ShareLink) and link.revoked_at is None


@pytest.mark.parametrize("user_id", BEYOND_ANY_ID)
@pytest.mark.parametrize("action", ["role", "email", "delete"])
def test_a_user_id_no_row_can_have_is_a_404(site: Site, action: str, user_id: str) -> None:
    site.rep("admin")
    listed = site.client.get("/admin/users").text
    form = {"role": "marketing", "email": "new.address@example.com"}
    answer = site.post(f"/admin/users/{user_id}/{action}", form)
    assert answer.status_code == 404, answer.text
    assert re.findall(r'data-user="\d+"', site.client.get("/admin/users").text) == re.findall(
        r'data-user="\d+"', listed
    )


@pytest.mark.parametrize("page", ["/marketing/gaps", "/marketing/blocks", "/marketing/funnel"])
def test_the_calendars_first_day_east_of_utc_is_refused_or_read_never_a_500(
    site: Site, page: str
) -> None:
    # Midnight of 1 January of the year 1 in Tokyo is still the year 0 in UTC.
    site.rep("marketing")
    with_zone(site, "Asia/Tokyo")
    name = "from" if page == "/marketing/gaps" else "since"
    answer = site.client.get(page, params={name: "0001-01-01"})
    assert answer.status_code in (200, 400), answer.text
    assert answer.status_code == 200 or f"{name}:" in answer.text
