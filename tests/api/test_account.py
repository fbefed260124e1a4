"""The user's own account page through the real app, on both backends: the time zone every
page shows times in, and a password change that ends the user's other sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from api.web_auth import SESSION_COOKIE
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tests.api.test_sign_in import PASSWORD, hold_session, sign_in
from tracker.models import User
from tracker.users import FAILURES_PER_EMAIL

NEW_PASSWORD = "a new and longer passphrase"


def user_row(site: Site, email: str) -> User:
    user = site.row(User, email=email)
    assert isinstance(user, User)
    return user


@pytest.fixture(scope="module")
def library_blocks() -> None:
    """These pages need no library."""


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend."""
    return any_site


def test_the_account_page_shows_email_role_and_every_zone(site: Site) -> None:
    email = site.rep("marketing")
    page = site.client.get("/account")
    assert page.status_code == 200
    assert email in page.text and "marketing" in page.text
    assert '<label for="time_zone">' in page.text
    assert "<option selected>UTC</option>" in page.text
    assert "<option>Europe/Berlin</option>" in page.text
    assert 'name="_csrf_token"' in page.text


def test_the_chosen_zone_changes_the_times_shown(site: Site) -> None:
    email = site.rep()
    moment = dt.datetime(2026, 11, 24, 18, 5, tzinfo=dt.UTC)
    in_database(
        site,
        lambda session: session.execute(
            update(User).where(User.email == email).values(created_at=moment)
        ),
    )
    assert "since 2026-11-24 18:05 UTC" in site.client.get("/account").text

    saved = site.post("/account/time-zone", {"time_zone": "Europe/Berlin"})
    assert saved.status_code == 303 and saved.headers["location"] == "/account?saved=time_zone"
    page = site.client.get("/account?saved=time_zone")
    assert "since 2026-11-24 19:05 CET" in page.text
    assert "<option selected>Europe/Berlin</option>" in page.text
    assert "Saved: times are now shown in your time zone." in page.text
    assert user_row(site, email).time_zone == "Europe/Berlin"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "europe/berlin", "<b>UTC</b>"])
def test_an_unknown_zone_is_refused_naming_the_field_and_nothing_is_saved(
    site: Site, zone: str
) -> None:
    email = site.rep()
    refused = site.post("/account/time-zone", {"time_zone": zone})
    assert refused.status_code == 400
    assert 'id="time_zone-error"' in refused.text and "is not a time zone" in refused.text
    assert 'aria-describedby="time_zone-error"' in refused.text
    assert "<b>UTC</b>" not in refused.text
    assert user_row(site, email).time_zone == "UTC"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"current_password": "not my password"}, "current_password"),
        ({"new_password": "short", "new_password_again": "short"}, "new_password"),
        ({"new_password_again": "something else entirely"}, "new_password_again"),
    ],
)
def test_a_bad_password_change_names_the_field_and_keeps_the_old_password(
    site: Site, form: dict[str, str], field: str
) -> None:
    email = site.rep()
    before = user_row(site, email).password_hash
    defaults = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    refused = site.post("/account/password", {**defaults, **form})
    assert refused.status_code == 400
    assert f'id="{field}-error"' in refused.text
    assert user_row(site, email).password_hash == before


def test_a_new_password_keeps_this_session_and_ends_the_others(site: Site) -> None:
    email = site.rep()
    other = site.client.cookies[SESSION_COOKIE]
    site.client.cookies.clear()
    assert sign_in(site.client, email).status_code == 303
    this = site.client.cookies[SESSION_COOKIE]

    changed = site.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303, changed.text
    assert "your other sessions have ended" in site.client.get(changed.headers["location"]).text
    assert site.client.get("/account", follow_redirects=False).status_code == 200
    hold_session(site.client, other)
    assert site.client.get("/account", follow_redirects=False).status_code == 303
    hold_session(site.client, this)
    assert site.client.get("/account", follow_redirects=False).status_code == 200

    site.client.cookies.clear()
    assert sign_in(site.client, email).status_code != 303
    assert sign_in(site.client, email, NEW_PASSWORD).status_code == 303


def test_guessing_the_current_password_is_limited_like_signing_in(site: Site) -> None:
    """A stolen session cookie must not let anyone guess the password faster than the
    sign-in form does: after the email's allowance of wrong guesses even the right one waits."""
    email = site.rep()
    before = user_row(site, email).password_hash
    change = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    for _ in range(FAILURES_PER_EMAIL):
        wrong = site.post("/account/password", {**change, "current_password": "not it at all"})
        assert wrong.status_code == 400
    limited = site.post("/account/password", {**change, "current_password": PASSWORD})
    assert limited.status_code == 429
    assert "Too many wrong passwords" in limited.text
    assert user_row(site, email).password_hash == before


def test_a_mistyped_new_password_is_not_counted_as_a_guess(site: Site) -> None:
    email = site.rep()
    before = user_row(site, email).password_hash
    short = {"current_password": PASSWORD, "new_password": "x", "new_password_again": "x"}
    for _ in range(FAILURES_PER_EMAIL + 1):
        assert site.post("/account/password", short).status_code == 400
    good = {**short, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    assert site.post("/account/password", good).status_code == 303
    assert user_row(site, email).password_hash != before
