"""Mail: outbox files that parse back, a real (tiny) SMTP server that receives, no injection."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
import pytest_asyncio

from tests.smtp_sink import SmtpSink
from tracker.mail import DEFAULT_SENDER, Mailer, MailError, SmtpUrlError, parse_smtp_url

pytestmark = pytest.mark.asyncio

TO = "dana@northwind.example"
SUBJECT = "Your code to open the document"
TEXT = "Your code is 483920. It is valid for 10 minutes.\n"


def _parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- the outbox --------------------------------------------------------------------------------


async def test_without_smtp_a_message_is_an_eml_file_in_the_outbox(tmp_path) -> None:
    outbox = tmp_path / "data" / "outbox"
    await Mailer(None, outbox).send(TO, SUBJECT, TEXT)
    [path] = outbox.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.eml", path.name)
    message = _parse(path.read_bytes())
    assert message["To"] == TO
    assert message["From"] == DEFAULT_SENDER
    assert message["Subject"] == SUBJECT
    assert message["Date"] and message["Message-ID"]
    body = message.get_body(("plain",))
    assert body is not None and body.get_content() == TEXT


async def test_every_message_gets_a_file_of_its_own_and_no_temporary_file_stays(tmp_path) -> None:
    mailer = Mailer(None, tmp_path / "outbox")
    await asyncio.gather(*(mailer.send(TO, f"{SUBJECT} {n}", TEXT) for n in range(5)))
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 5 and all(f.suffix == ".eml" for f in files)
    subjects = {_parse(f.read_bytes())["Subject"] for f in files}
    assert subjects == {f"{SUBJECT} {n}" for n in range(5)}


async def test_non_ascii_text_and_subject_survive_the_round_trip(tmp_path) -> None:
    await Mailer(None, tmp_path).send(TO, "Votre code — Zürich", "Bonjour Zoë, votre code: 1234\n")
    [path] = tmp_path.iterdir()
    message = _parse(path.read_bytes())
    assert message["Subject"] == "Votre code — Zürich"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content() == "Bonjour Zoë, votre code: 1234\n"


@pytest.mark.parametrize(
    ("to", "subject", "field"),
    [
        ("dana@northwind.example\r\nBcc: all@victim.example", SUBJECT, "to"),
        ("dana@northwind.example\nBcc: all@victim.example", SUBJECT, "to"),
        (TO, "Your code\r\nBcc: all@victim.example", "subject"),
        (TO, "Your code\rX-Injected: 1", "subject"),
    ],
)
async def test_header_injection_is_refused_and_nothing_is_written(
    tmp_path, to, subject, field
) -> None:
    outbox = tmp_path / "outbox"
    with pytest.raises(ValueError, match=rf"^{field}: .*line break"):
        await Mailer(None, outbox).send(to, subject, TEXT)
    assert not outbox.exists()


@pytest.mark.parametrize(
    "to", ["dana@northwind.example, eve@evil.example", "Dana <dana@northwind.example>", "dana", ""]
)
async def test_only_one_plain_address_is_accepted(tmp_path, to) -> None:
    with pytest.raises(ValueError, match=r"^to: "):
        await Mailer(None, tmp_path / "outbox").send(to, SUBJECT, TEXT)
    assert not (tmp_path / "outbox").exists()


async def test_an_outbox_that_cannot_be_written_is_a_mail_error(tmp_path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file, not a folder")
    with pytest.raises(MailError, match="outbox"):
        await Mailer(None, blocker).send(TO, SUBJECT, TEXT)


# --- the SMTP URL ------------------------------------------------------------------------------


async def test_smtp_urls_give_their_server_port_user_and_sender() -> None:
    server, sender = parse_smtp_url("smtps://mail.example")
    assert (server.scheme, server.host, server.port, server.username, sender) == (
        "smtps",
        "mail.example",
        465,
        None,
        None,
    )
    assert parse_smtp_url("smtp://mail.example")[0].port == 25
    assert parse_smtp_url("smtp+starttls://mail.example")[0].port == 587
    server, sender = parse_smtp_url(
        "smtp+starttls://ops%40acme.example:p%40ss%3Aw0rd@mail.example:2525?from=noreply@acme.example"
    )
    assert (server.username, server.password, server.port) == (
        "ops@acme.example",
        "p@ss:w0rd",
        2525,
    )
    assert sender == "noreply@acme.example"
    assert "p@ss:w0rd" not in repr(server)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:hunter2@mail.example", "scheme"),
        ("mail.example:25", "scheme"),
        ("smtp://", "no host"),
        ("smtp://user:hunter2@mail.example:port", "port"),
        ("smtp://mail.example/inbox", "path"),
        ("smtp://mail.example?sender=a@b.example", "parameter"),
        ("smtp://mail.example?from=not-an-address", "from"),
    ],
)
async def test_a_bad_smtp_url_is_refused_at_construction_naming_the_setting(
    tmp_path, url, problem
) -> None:
    with pytest.raises(SmtpUrlError, match=rf"^PITCHMAP_SMTP_URL: .*{problem}") as caught:
        Mailer(url, tmp_path / "outbox")
    assert isinstance(caught.value, ValueError)
    assert "hunter2" not in str(caught.value)


# --- a real SMTP server ------------------------------------------------------------------------


@pytest_asyncio.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


async def test_with_smtp_the_server_receives_the_message(tmp_path, sink) -> None:
    outbox = tmp_path / "outbox"
    await Mailer(f"smtp://127.0.0.1:{sink.port}", outbox).send(TO, SUBJECT, TEXT)
    [envelope] = sink.received
    assert (envelope.sender, envelope.recipients) == (DEFAULT_SENDER, [TO])
    message = _parse(envelope.data)
    assert (message["To"], message["From"], message["Subject"]) == (TO, DEFAULT_SENDER, SUBJECT)
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == TEXT
    assert sink.logins == []
    assert not outbox.exists()


async def test_smtp_logs_in_and_sends_from_the_urls_sender(tmp_path, sink) -> None:
    url = f"smtp://ops%40acme.example:s3cr%3At@127.0.0.1:{sink.port}?from=noreply@acme.example"
    await Mailer(url, tmp_path / "outbox").send(TO, SUBJECT, TEXT)
    assert sink.logins == [("ops@acme.example", "s3cr:t")]
    [envelope] = sink.received
    assert envelope.sender == "noreply@acme.example"
    assert message_from_bytes(envelope.data)["From"] == "noreply@acme.example"


async def test_a_dot_at_the_start_of_a_line_arrives_intact(tmp_path, sink) -> None:
    text = "Line one\n.\n..two dots\nend\n"
    await Mailer(f"smtp://127.0.0.1:{sink.port}", tmp_path).send(TO, SUBJECT, text)
    [envelope] = sink.received
    body = _parse(envelope.data).get_body(("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == text


async def test_header_injection_never_reaches_the_smtp_server(tmp_path, sink) -> None:
    mailer = Mailer(f"smtp://127.0.0.1:{sink.port}", tmp_path / "outbox")
    with pytest.raises(ValueError, match=r"^subject: "):
        await mailer.send(TO, "Hi\r\nBcc: all@victim.example", TEXT)
    with pytest.raises(ValueError, match=r"^to: "):
        await mailer.send(f"{TO}\r\nBcc: all@victim.example", SUBJECT, TEXT)
    assert (sink.connections, sink.received) == (0, [])


async def test_starttls_is_required_when_the_url_asks_for_it(tmp_path, sink) -> None:
    mailer = Mailer(f"smtp+starttls://user:pw@127.0.0.1:{sink.port}", tmp_path / "outbox")
    with pytest.raises(MailError, match="STARTTLS"):
        await mailer.send(TO, SUBJECT, TEXT)
    assert (sink.logins, sink.received) == ([], [])


async def test_an_smtp_server_that_is_down_is_a_mail_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = Mailer(f"smtp://user:hunter2@127.0.0.1:{port}", tmp_path / "outbox")
    with pytest.raises(MailError, match=TO) as caught:
        await mailer.send(TO, SUBJECT, TEXT)
    assert "hunter2" not in str(caught.value)
    assert not (tmp_path / "outbox").exists()
