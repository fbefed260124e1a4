"""The weekly digest when a marketing user's address cannot be mailed (an account made before
such addresses were refused): the others get the digest once, the bad one is skipped and
logged by id, and neither the run nor a retry mails anyone twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import replace
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.digest import digest_once
from api.settings import Settings
from tests.api.sites import in_database
from tests.api.test_journey import Site
from tests.smtp_sink import SmtpSink
from tracker.mail import MailError
from tracker.models import User, utcnow

pytestmark = pytest.mark.slow

LEGACY = "josé@vendor.example"


def digests_in_outbox(site: Site) -> list[str]:
    """The addressee of each digest in the outbox, one entry per mail."""
    mails = [
        message_from_bytes(path.read_bytes(), policy=default)
        for path in (site.settings.data_dir / "outbox").glob("*.eml")
    ]
    return sorted(str(m["To"]) for m in mails if str(m["Subject"]).startswith("pitchmap weekly"))


async def add_legacy_user(session: AsyncSession) -> int:
    """A marketing user as the admin page stored one before unmailable addresses were refused."""
    user = User(email=LEGACY, role="marketing", password_hash="not a hash")
    session.add(user)
    await session.flush()
    return user.id


def test_an_unmailable_user_is_skipped_and_nobody_is_mailed_twice(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    first = site.rep("marketing")
    legacy_id = in_database(site, add_legacy_user)
    last = site.rep("marketing")

    with caplog.at_level(logging.ERROR, logger="api.digest"):
        sent = asyncio.run(digest_once(site.settings, utcnow(), print_only=False))
    assert sent == "mailed the digest to 2 marketing users; 1 could not be mailed (see the log)"
    assert digests_in_outbox(site) == sorted([first, last])
    assert f"user {legacy_id} " in caplog.text and LEGACY not in caplog.text

    again = asyncio.run(digest_once(site.settings, utcnow(), print_only=False))
    assert again.endswith("was sent already")
    assert digests_in_outbox(site) == sorted([first, last])


async def digest_through(sink: SmtpSink, settings: Settings, weeks_ago: int) -> str:
    """`pitchmap digest` through a real SMTP server run on this event loop, for a week of its
    own (the site, and the weeks it sent, are shared by this module's tests)."""
    server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        smtp = replace(settings, smtp_url=f"smtp://127.0.0.1:{port}")
        until = utcnow() - dt.timedelta(weeks=weeks_ago)
        return await digest_once(smtp, until, print_only=False)
    finally:
        server.close()
        await server.wait_closed()


def received_by(sink: SmtpSink) -> list[str]:
    return sorted(r for envelope in sink.received for r in envelope.recipients)


def test_a_recipient_the_relay_refuses_does_not_stop_the_others(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    first = site.rep("marketing")
    last = site.rep("marketing")
    sink = SmtpSink(refused={first})

    with caplog.at_level(logging.ERROR, logger="api.digest"):
        sent = asyncio.run(digest_through(sink, site.settings, weeks_ago=1))
    assert "could not be mailed (see the log)" in sent
    assert last in received_by(sink) and first not in received_by(sink)
    assert "SMTPRecipientsRefused" in caplog.text and first not in caplog.text
    # Someone got the week: it stays sent, so a retry cannot mail `last` twice.
    again = asyncio.run(digest_through(sink, site.settings, weeks_ago=1))
    assert again.endswith("was sent already")
    assert received_by(sink).count(last) == 1


def test_a_week_that_reached_nobody_is_given_back_for_a_retry(site: Site) -> None:
    only = site.rep("marketing")
    with pytest.raises(MailError, match="reached none"):
        asyncio.run(digest_through(SmtpSink(refuse_all=True), site.settings, weeks_ago=2))
    sink = SmtpSink()
    assert asyncio.run(digest_through(sink, site.settings, weeks_ago=2)).startswith("mailed")
    assert only in received_by(sink)
