"""Signing in to the pages: sessions in the database, cookie flags, rate limits and CSRF, on
both backends. No library is loaded (the pages' sign-in does not need the model)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

import api.web_auth
from api.app import create_app
from api.settings import Settings
from api.web_auth import CSRF_COOKIE, SESSION_COOKIE, load_secret
from tests.conftest import BACKENDS, make_settings, new_database
from tracker.database import create_engine, create_sessions, migrate
from tracker.models import SignInAttempt, UserSession
from tracker.users import (
    FAILURES_PER_CLIENT,
    FAILURES_PER_EMAIL,
    SESSION_IDLE,
    SESSION_LIFETIME,
    create_user,
    session_user,
    start_session,
)

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="_csrf_token" value="([0-9a-f]+)"')


# --- helpers other page tests use ------------------------------------------------------------


async def new_user(url: str, email: str, role: str = "rep", password: str = PASSWORD) -> int:
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            user = await create_user(session, email, role, password)
            await session.commit()
            return user.id
    finally:
        await engine.dispose()


def csrf_token(client: TestClient) -> str:  # type: ignore[type-arg]
    """The token the page's forms carry (GET `/` sets the CSRF cookie when there is none)."""
    match = _TOKEN.search(client.get("/").text)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:  # type: ignore[type-arg]
    form = {"email": email, "password": password, "_csrf_token": csrf_token(client)}
    return client.post("/sign-in", data=form, follow_redirects=False)


def hold_session(client: TestClient, token: str) -> None:  # type: ignore[type-arg]
    """Make the browser send `token` as its session cookie, and only that one."""
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, token)


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for `name`, lower-cased names."""
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() != name:
            continue
        value, *attributes = rest.split(";")
        parsed = {"value": value.strip().strip('"')}
        for attribute in attributes:
            attr_name, _, attr_value = attribute.strip().partition("=")
            parsed[attr_name.lower()] = attr_value
        return parsed
    raise AssertionError(f"no Set-Cookie for {name}")


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    settings: Settings

    def user(self, email: str, role: str = "rep", password: str = PASSWORD) -> int:
        return asyncio.run(new_user(self.settings.database_url, email, role, password))

    async def _count(self, statement: Any) -> int:
        engine = create_engine(self.settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                return int(await session.scalar(statement) or 0)
        finally:
            await engine.dispose()

    def sessions_of(self, user_id: int) -> int:
        statement = select(func.count()).where(UserSession.user_id == user_id)
        return asyncio.run(self._count(statement))

    def attempts(self) -> int:
        return asyncio.run(self._count(select(func.count()).select_from(SignInAttempt)))


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """An app behind https (as in production), without a library, on a fresh database."""
    data = tmp_path / "data"
    settings = make_settings(
        data,
        database=new_database(request, str(request.param), data),
        base_url="https://pitchmap.example.com",
    )
    with TestClient(create_app(settings), base_url="https://testserver.local") as client:
        yield Site(client, settings)


# --- the sign-in form and sessions ----------------------------------------------------------


def test_a_visitor_gets_the_sign_in_form_with_labelled_fields(site: Site) -> None:
    page = site.client.get("/")
    assert page.status_code == 200
    assert '<form method="post" action="/sign-in">' in page.text
    assert '<label for="email">' in page.text and 'id="email" name="email"' in page.text
    assert '<label for="password">' in page.text and 'name="password" type="password"' in page.text
    assert _TOKEN.search(page.text)
    assert "Sign out" not in page.text
    csrf = cookie_attributes(page, CSRF_COOKIE)
    assert "httponly" in csrf and "secure" in csrf


def test_signing_in_sets_a_secure_http_only_lax_session_cookie(site: Site) -> None:
    site.user("rita@example.com")
    response = sign_in(site.client, "Rita@Example.com ")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = cookie_attributes(response, SESSION_COOKIE)
    assert len(cookie["value"]) >= 40
    assert "httponly" in cookie
    assert "secure" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    home = site.client.get("/")
    assert home.status_code == 200
    assert "Signed in as <strong>rita@example.com</strong>" in home.text
    assert 'action="/sign-out"' in home.text


def test_the_session_cookie_is_not_secure_on_plain_http(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        asyncio.run(new_user(settings.database_url, "rita@example.com"))
        response = sign_in(client, "rita@example.com")
        assert response.status_code == 303
        cookie = cookie_attributes(response, SESSION_COOKIE)
        assert "secure" not in cookie and "httponly" in cookie


def test_a_wrong_password_and_an_unknown_email_answer_alike(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.user("rita@example.com")
    checked: list[str | None] = []
    verify = api.web_auth.verify_password

    async def counting(stored: str | None, password: str) -> bool:
        checked.append(stored)
        return await verify(stored, password)

    monkeypatch.setattr(api.web_auth, "verify_password", counting)
    wrong = sign_in(site.client, "rita@example.com", "not the password")
    unknown = sign_in(site.client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert SESSION_COOKIE not in unknown.headers.get("set-cookie", "")
    assert "do not match an account" in wrong.text
    assert wrong.text.replace("rita@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    # Both checked a password hash: the unknown email a decoy, so it takes as long.
    assert len(checked) == 2 and checked[0] is not None and checked[1] is None


def test_failures_per_email_are_limited_then_429_even_with_the_right_password(site: Site) -> None:
    site.user("rita@example.com")
    for _ in range(FAILURES_PER_EMAIL):
        assert sign_in(site.client, "rita@example.com", "guess guess guess").status_code == 400
    limited = sign_in(site.client, "rita@example.com")
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in limited.headers.get("set-cookie", "")
    # An unknown email is limited the same way.
    for _ in range(FAILURES_PER_EMAIL):
        assert sign_in(site.client, "ghost@example.com", "guess guess guess").status_code == 400
    assert sign_in(site.client, "ghost@example.com", "guess guess guess").status_code == 429
    # Another account from the same client is not locked out by this one.
    site.user("sam@example.com")
    assert sign_in(site.client, "sam@example.com").status_code == 303


def test_a_success_forgives_the_email_s_earlier_failures(site: Site) -> None:
    site.user("rita@example.com")
    for _ in range(FAILURES_PER_EMAIL - 1):
        assert sign_in(site.client, "rita@example.com", "typo typo typo").status_code == 400
    assert sign_in(site.client, "rita@example.com").status_code == 303
    for _ in range(FAILURES_PER_EMAIL - 1):
        assert sign_in(site.client, "rita@example.com", "typo typo typo").status_code == 400
    assert sign_in(site.client, "rita@example.com").status_code == 303


def test_failures_per_client_are_limited_across_emails(site: Site) -> None:
    site.user("rita@example.com")
    for n in range(FAILURES_PER_CLIENT):
        assert sign_in(site.client, f"guess{n}@example.com", "guess guess").status_code == 400
    assert sign_in(site.client, "rita@example.com").status_code == 429
    assert site.attempts() == FAILURES_PER_CLIENT  # the refused one is not counted again


def test_sign_out_ends_the_session_and_the_old_cookie_no_longer_works(site: Site) -> None:
    user_id = site.user("rita@example.com")
    signed = sign_in(site.client, "rita@example.com")
    old = cookie_attributes(signed, SESSION_COOKIE)["value"]
    assert site.sessions_of(user_id) == 1
    out = site.client.post(
        "/sign-out", data={"_csrf_token": csrf_token(site.client)}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert cookie_attributes(out, SESSION_COOKIE)["max-age"] == "0"
    assert site.sessions_of(user_id) == 0
    hold_session(site.client, old)
    page = site.client.get("/")
    assert 'action="/sign-in"' in page.text and "Signed in as" not in page.text
    assert site.client.get("/prospects/p-any", follow_redirects=False).status_code == 303


def test_every_sign_in_gets_a_new_session_id(site: Site) -> None:
    user_id = site.user("rita@example.com")
    planted = secrets.token_urlsafe(32)
    hold_session(site.client, planted)
    first = cookie_attributes(sign_in(site.client, "rita@example.com"), SESSION_COOKIE)["value"]
    assert first != planted
    second = cookie_attributes(sign_in(site.client, "rita@example.com"), SESSION_COOKIE)["value"]
    assert second not in (first, planted)
    assert site.sessions_of(user_id) == 1  # the session signed in over was ended
    hold_session(site.client, first)
    assert "Signed in as" not in site.client.get("/").text
    hold_session(site.client, second)
    assert "Signed in as" in site.client.get("/").text


@pytest.mark.parametrize("path", ["/prospects/p-demo", "/select"])
def test_pages_send_a_visitor_to_the_sign_in_form(site: Site, path: str) -> None:
    if path == "/select":
        form = {"company": "Acme", "_csrf_token": csrf_token(site.client)}
        response = site.client.post(path, data=form, follow_redirects=False)
    else:
        response = site.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


# --- CSRF ----------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    site.user("rita@example.com")
    csrf_token(site.client)  # the browser holds a CSRF cookie; the forged form lacks the field
    form = {"email": "rita@example.com", "password": PASSWORD}
    assert site.client.post("/sign-in", data=form).status_code == 403
    forged = {**form, "_csrf_token": secrets.token_hex(64)}
    assert site.client.post("/sign-in", data=forged).status_code == 403
    assert sign_in(site.client, "rita@example.com").status_code == 303
    assert site.client.post("/sign-out", follow_redirects=False).status_code == 403
    assert site.client.post("/select", data={"company": "Acme"}).status_code == 403
    assert "Signed in as" in site.client.get("/").text  # the refused sign-out changed nothing


def test_the_api_and_the_viewer_are_outside_csrf(site: Site) -> None:
    # Bearer keys, no cookies: a missing key is a 401, never a CSRF 403.
    assert site.client.post("/api/select", json={}).status_code == 401
    assert site.client.post(f"/d/{secrets.token_urlsafe(32)}/visits").status_code == 404


def test_every_worker_of_one_data_folder_checks_the_same_csrf_tokens(site: Site) -> None:
    token = csrf_token(site.client)
    cookie = site.client.cookies[CSRF_COOKIE]
    with TestClient(create_app(site.settings), base_url="https://testserver.local") as other:
        other.cookies.set(CSRF_COOKIE, cookie)
        form = {"email": "nobody@example.com", "password": "whatever it is", "_csrf_token": token}
        assert other.post("/sign-in", data=form).status_code == 400  # not 403


def test_the_secret_is_made_once_private_and_read_back(tmp_path: Path) -> None:
    first = load_secret(tmp_path / "data")
    path = tmp_path / "data" / "secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_secret(tmp_path / "data") == first
    path.chmod(0o644)
    assert load_secret(tmp_path / "data") == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret"]


# --- sessions in the database -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_session_ends_when_idle_or_at_its_absolute_end(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    start = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    try:
        async with create_sessions(engine)() as session:
            user = await create_user(session, "rita@example.com", "rep", PASSWORD)
            idle = await start_session(session, user.id, start)
            busy = await start_session(session, user.id, start)
            await session.commit()
            assert (await session_user(session, idle, start)) == user
            assert await session_user(session, idle, start + SESSION_IDLE) is None
            # Used within every idle period, a session lives until its absolute end.
            moment = start
            while moment + SESSION_IDLE / 2 < start + SESSION_LIFETIME:
                moment += SESSION_IDLE / 2
                assert await session_user(session, busy, moment) == user
            assert await session_user(session, busy, start + SESSION_LIFETIME) is None
            assert await session_user(session, "not a token", start) is None
    finally:
        await engine.dispose()
