"""The admin's users page through the real app, on both backends: only admins reach it; a user
is made with the CLI's rules, given another role, or deleted (which ends their sessions); an
admin can neither demote nor delete themselves."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.web_auth import SESSION_COOKIE
from tests.api.sites import in_database
from tests.api.test_account import user_row
from tests.api.test_journey import Site
from tests.api.test_sign_in import PASSWORD, hold_session, sign_in
from tracker.mail import is_mailable
from tracker.models import User

_ROW = re.compile(r'<tr data-user="(\d+)">\s*<td>([^<]+)')


@pytest.fixture(scope="module")
def library_blocks() -> None:
    """These pages need no library."""


@pytest.fixture(scope="module")
def site(any_site: Site) -> Site:
    """Every test here runs on each backend."""
    return any_site


def users(site: Site) -> int:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)

    return in_database(site, count)


def new_user_form(email: str, role: str = "rep", password: str = PASSWORD) -> dict[str, str]:
    return {"email": email, "role": role, "password": password, "password_again": password}


@pytest.mark.parametrize("role", ["rep", "marketing"])
def test_only_an_admin_reaches_the_users_page(site: Site, role: str) -> None:
    site.rep(role)
    assert site.client.get("/admin/users").status_code == 403
    before = users(site)
    made = site.post("/admin/users", new_user_form(f"sneaky-{role}@vendor.example", "admin"))
    assert made.status_code == 403
    assert users(site) == before
    site.client.cookies.clear()
    assert site.client.get("/admin/users", follow_redirects=False).status_code == 303


def test_an_admin_creates_a_user_who_can_then_sign_in(site: Site) -> None:
    admin = site.rep("admin")
    made = site.post("/admin/users", new_user_form("New.Person@Vendor.example", "marketing"))
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/admin/users?done=created&email=new.person%40vendor.example"
    page = site.client.get(made.headers["location"])
    assert page.status_code == 200
    assert "Created new.person@vendor.example." in page.text
    rows = dict((email.strip(), int(id_)) for id_, email in _ROW.findall(page.text))
    assert admin in rows and "new.person@vendor.example" in rows
    assert user_row(site, "new.person@vendor.example").role == "marketing"
    site.client.cookies.clear()
    assert sign_in(site.client, "new.person@vendor.example").status_code == 303


def test_the_confirmation_is_escaped(site: Site) -> None:
    site.rep("admin")
    page = site.client.get("/admin/users?done=created&email=<script>x</script>")
    assert "<script>x</script>" not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (new_user_form("not-an-email"), "email"),
        (new_user_form("someone@vendor.example", "owner"), "role"),
        (new_user_form("someone@vendor.example", password="9 chars!!"), "password"),
        (
            {**new_user_form("someone@vendor.example"), "password_again": "another password"},
            "password_again",
        ),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_written(
    site: Site, form: dict[str, str], field: str
) -> None:
    site.rep("admin")
    before = users(site)
    refused = site.post("/admin/users", form)
    assert refused.status_code == 400
    assert f'id="{field}-error"' in refused.text
    assert f'aria-describedby="{field}-error"' in refused.text
    assert users(site) == before


def test_an_email_that_has_an_account_is_refused_naming_it(site: Site) -> None:
    admin = site.rep("admin")
    before = users(site)
    refused = site.post("/admin/users", new_user_form(admin.upper()))
    assert refused.status_code == 400
    assert 'id="email-error"' in refused.text and f"{admin} already has an account" in refused.text
    assert users(site) == before


def test_an_admin_cannot_demote_or_delete_themselves(site: Site) -> None:
    admin = site.rep("admin")
    me = user_row(site, admin).id
    demoted = site.post(f"/admin/users/{me}/role", {"role": "rep"})
    assert demoted.status_code == 400 and "You cannot demote yourself" in demoted.text
    deleted = site.post(f"/admin/users/{me}/delete", {})
    assert deleted.status_code == 400 and "You cannot delete yourself" in deleted.text
    assert user_row(site, admin).role == "admin"
    assert site.client.get("/admin/users").status_code == 200


def test_an_admin_changes_another_user_s_role(site: Site) -> None:
    other = site.rep()
    site.rep("admin")
    their_id = user_row(site, other).id
    refused = site.post(f"/admin/users/{their_id}/role", {"role": "owner"})
    assert refused.status_code == 400 and "role:" in refused.text
    assert user_row(site, other).role == "rep"
    changed = site.post(f"/admin/users/{their_id}/role", {"role": "marketing"})
    assert changed.status_code == 303
    assert "Changed the role of" in site.client.get(changed.headers["location"]).text
    assert user_row(site, other).role == "marketing"
    assert site.post("/admin/users/999999/role", {"role": "rep"}).status_code == 404


def test_a_deleted_user_s_session_no_longer_works(site: Site) -> None:
    doomed = site.rep()
    their_session = site.client.cookies[SESSION_COOKIE]
    assert site.client.get("/account", follow_redirects=False).status_code == 200
    site.rep("admin")
    their_id = user_row(site, doomed).id
    gone = site.post(f"/admin/users/{their_id}/delete", {})
    assert gone.status_code == 303
    assert f"Deleted {doomed}" in site.client.get(gone.headers["location"]).text
    assert site.post(f"/admin/users/{their_id}/delete", {}).status_code == 404
    hold_session(site.client, their_session)
    assert site.client.get("/account", follow_redirects=False).status_code == 303
    site.client.cookies.clear()
    assert sign_in(site.client, doomed).status_code != 303


# --- changing a user's email -----------------------------------------------------------------

LEGACY = "josé@vendor.example"  # let in before addresses had to be mailable


def email_of(site: Site, user_id: int) -> str:
    async def read(session: AsyncSession) -> str:
        return str(await session.scalar(select(User.email).where(User.id == user_id)))

    return in_database(site, read)


def add_legacy_user(site: Site) -> int:
    """A marketing user stored as the admin page once did, with an address it cannot mail."""

    async def add(session: AsyncSession) -> int:
        user = User(email=LEGACY, role="marketing", password_hash="not a hash")
        session.add(user)
        await session.flush()
        return user.id

    return in_database(site, add)


def test_an_admin_changes_a_user_s_email_who_then_signs_in_with_it_alone(site: Site) -> None:
    old = site.rep()
    site.rep("admin")
    their_id = user_row(site, old).id
    new = f"Moved.{old}".upper()
    changed = site.post(f"/admin/users/{their_id}/email", {"email": f"  {new} "})
    assert changed.status_code == 303, changed.text
    page = site.client.get(changed.headers["location"])
    assert f"Changed the email to {new.lower()}" in page.text
    assert email_of(site, their_id) == new.lower()
    assert user_row(site, new.lower()).role == "rep"
    site.client.cookies.clear()
    assert sign_in(site.client, old).status_code != 303
    assert sign_in(site.client, new).status_code == 303


def test_an_unmailable_address_is_replaced_so_the_digest_reaches_the_user(site: Site) -> None:
    site.rep("admin")
    legacy_id = add_legacy_user(site)
    assert not is_mailable(email_of(site, legacy_id))  # the digest skips them
    changed = site.post(f"/admin/users/{legacy_id}/email", {"email": "jose@vendor.example"})
    assert changed.status_code == 303, changed.text
    assert email_of(site, legacy_id) == "jose@vendor.example"
    assert is_mailable(email_of(site, legacy_id))  # the digest's own test of a recipient
    assert user_row(site, "jose@vendor.example").role == "marketing"


def test_keeping_one_s_own_address_in_another_case_is_no_clash(site: Site) -> None:
    admin = site.rep("admin")
    me = user_row(site, admin).id
    assert site.post(f"/admin/users/{me}/email", {"email": admin.upper()}).status_code == 303
    assert email_of(site, me) == admin
    assert site.client.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("", "email: '' is not an email address pitchmap can mail"),
        ("   ", "email: '   ' is not an email address pitchmap can mail"),
        ("a\x00@vendor.example", "is not an email address pitchmap can mail"),
        ("josé@vendor.example", "is not an email address pitchmap can mail"),
        ("not-an-email", "email: 'not-an-email' is not an email address pitchmap can mail"),
        ("x" * 65 + "@vendor.example", "is not an email address pitchmap can mail"),
        ("x" * 400 + "@vendor.example", "email: must be at most 320 characters long"),
    ],
)
def test_a_bad_new_email_is_refused_naming_the_field_and_nothing_is_written(
    site: Site, email: str, says: str
) -> None:
    other = site.rep()
    site.rep("admin")
    their_id = user_row(site, other).id
    refused = site.post(f"/admin/users/{their_id}/email", {"email": email})
    assert refused.status_code == 400
    assert says in html.unescape(refused.text)
    assert 'id="message"' in refused.text
    assert f'id="email-{their_id}"' in refused.text
    field = refused.text.split(f'id="email-{their_id}"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true" aria-describedby="message"' in field
    assert "x" * 400 not in refused.text
    assert email_of(site, their_id) == other


def test_a_missing_email_field_is_refused_naming_it(site: Site) -> None:
    other = site.rep()
    site.rep("admin")
    their_id = user_row(site, other).id
    refused = site.post(f"/admin/users/{their_id}/email", {})
    assert refused.status_code == 400 and "email: " in refused.text
    assert email_of(site, their_id) == other


def test_another_user_s_address_is_refused_naming_it(site: Site) -> None:
    first = site.rep()
    second = site.rep()
    site.rep("admin")
    second_id = user_row(site, second).id
    refused = site.post(f"/admin/users/{second_id}/email", {"email": first.upper()})
    assert refused.status_code == 400
    assert f"email: {first} already has an account" in refused.text
    assert email_of(site, second_id) == second
    assert user_row(site, first).email == first


@pytest.mark.parametrize("user_id", ["999999", "2147483647", "2147483648", "99999999999999999999"])
def test_an_unknown_or_impossible_user_id_is_a_404_and_nothing_is_written(
    site: Site, user_id: str
) -> None:
    site.rep("admin")
    before = site.client.get("/admin/users").text
    answer = site.post(f"/admin/users/{user_id}/email", {"email": "nobody@vendor.example"})
    assert answer.status_code == 404, answer.text
    assert _ROW.findall(site.client.get("/admin/users").text) == _ROW.findall(before)
    assert users(site) == len(_ROW.findall(before))


@pytest.mark.parametrize("role", ["rep", "marketing"])
def test_only_an_admin_changes_an_email(site: Site, role: str) -> None:
    other = site.rep()
    their_id = user_row(site, other).id
    site.rep(role)
    refused = site.post(f"/admin/users/{their_id}/email", {"email": f"taken-{role}@vendor.example"})
    assert refused.status_code == 403
    assert email_of(site, their_id) == other


def test_an_email_change_without_the_csrf_token_is_refused(site: Site) -> None:
    other = site.rep()
    site.rep("admin")
    their_id = user_row(site, other).id
    data = {"email": "forged@vendor.example"}
    forged = site.client.post(f"/admin/users/{their_id}/email", data=data, follow_redirects=False)
    assert forged.status_code == 403
    assert email_of(site, their_id) == other
