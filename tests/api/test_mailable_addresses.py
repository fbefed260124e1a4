"""Addresses pitchmap cannot mail (non-ASCII, NUL, invalid UTF-8) are refused at the door, on
the real app and database: the email gate answers its page with 400 and stores no code, an
admin cannot make a user with one, and nothing is mailed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import Served
from tests.api.sites import in_database
from tests.api.test_admin_users import new_user_form, users
from tests.api.test_documents_and_links import make_document, make_link
from tests.api.test_journey import Site
from tracker.models import EmailCode

pytestmark = pytest.mark.slow

# As a browser's form sends them: é in UTF-8, a NUL, and bytes that are not UTF-8 at all.
UNMAILABLE_FORMS = ["email=jos%C3%A9@b.co", "email=a%00@b.co", "email=%ff%fe@b.co"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def library_blocks() -> None:
    """The admin's users page needs no library."""


def outbox_mails(settings_dir: Path) -> set[Path]:
    outbox = settings_dir / "outbox"
    return set(outbox.glob("*.eml")) if outbox.exists() else set()


def email_codes(served: Served) -> int:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(EmailCode)) or 0)

    return in_database(served, count)


@pytest.mark.parametrize("form", UNMAILABLE_FORMS)
def test_the_gate_refuses_an_unmailable_address_and_stores_no_code(
    served: Served, form: str
) -> None:
    rep = served.auth("rep")
    token = make_link(served, make_document(served, rep)["id"], rep, require_email=True)
    codes, mails = email_codes(served), outbox_mails(served.settings.data_dir)
    refused = served.client.post(f"/d/{token}/code", content=form, headers=FORM)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "Enter a valid email address." in refused.text
    assert 'name="email"' in refused.text  # the gate again, to try another address
    assert email_codes(served) == codes
    assert outbox_mails(served.settings.data_dir) == mails


@pytest.mark.parametrize("address", ["josé@b.co", "a\x00@b.co"])
def test_an_unmailable_recipient_is_refused_when_a_link_is_made(
    served: Served, address: str
) -> None:
    rep = served.auth("rep")
    document = make_document(served, rep)
    refused = served.client.post(
        f"/api/documents/{document['id']}/links", json={"recipient": address}, headers=rep
    )
    assert refused.status_code == 400
    assert refused.json()["problems"][0]["field"] == "recipient"


@pytest.mark.parametrize("address", ["josé@b.co", "a\x00@b.co"])
def test_an_admin_cannot_make_a_user_the_digest_could_not_mail(site: Site, address: str) -> None:
    site.rep("admin")
    before = users(site)
    refused = site.post("/admin/users", new_user_form(address, "marketing"))
    assert refused.status_code == 400
    assert 'id="email-error"' in refused.text
    assert "is not an email address pitchmap can mail" in refused.text
    assert users(site) == before
