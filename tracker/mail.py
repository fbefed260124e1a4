"""Outgoing mail (one-time codes for a link's email gate, notices): through SMTP when
`PITCHMAP_SMTP_URL` is set, else as `.eml` files in the data folder's outbox.

    smtp://[user:password@]host[:port]            plain SMTP, port 25 by default
    smtp+starttls://[user:password@]host[:port]   STARTTLS required, port 587 by default
    smtps://[user:password@]host[:port]           TLS from the start, port 465 by default

A `from` query parameter sets the sender (`smtps://mail.example?from=noreply%40example.com`),
otherwise it is `pitchmap@localhost`. User and password are percent-decoded. TLS connections
verify the server's certificate. Credentials sent over plain `smtp://` cross the network in the
clear, so use one of the TLS schemes whenever the server is not on the same host.

An outbox file is written atomically (a temporary file renamed into place), so whatever reads
the outbox never sees half a message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import email.utils
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from engine.files import write_atomic
from tracker.errors import TrackerError

DEFAULT_SENDER = "pitchmap@localhost"
SMTP_TIMEOUT = 10.0  # seconds, for connecting and for each command
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_SETTING = "PITCHMAP_SMTP_URL"
# An address pitchmap can mail: one plain `local@domain`, ASCII only, the local part a dot-atom
# (RFC 5321 §4.1.2) and the domain host names ending in a top-level name. Without SMTPUTF8,
# which neither smtplib's plain path nor many relays offer, a non-ASCII address cannot be sent;
# a control character (NUL) cannot be stored in PostgreSQL text; and a display name, list or
# group would let one request mail several people.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LOCAL = rf"(?=[^@]{{1,64}}@[^@]{{1,253}}\Z){_ATOM}(?:\.{_ATOM})*@"  # and the two lengths
_TOP = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"  # `com`, or an IDN's punycode (`xn--p1ai`)
_MAILABLE = re.compile(rf"{_LOCAL}(?:{_LABEL}\.)+{_TOP}")
# The sender only has to be one plain ASCII address a relay accepts as `MAIL FROM`: it is
# never mailed, and a host without a top-level name is usual there (`pitchmap@localhost`).
_SENDER = re.compile(rf"{_LOCAL}{_LABEL}(?:\.{_LABEL})*")
# What a refusal says after the address: the rule in words a person can act on.
UNMAILABLE = "is not an email address pitchmap can mail (one name@domain.example, in ASCII)"


class SmtpUrlError(TrackerError, ValueError):
    """`PITCHMAP_SMTP_URL` cannot be used; the message names the setting (never the password)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{_SETTING}: {problem}")


class MailError(TrackerError):
    """The message could not be handed to the SMTP server (or written to the outbox); the cause
    is chained. Nothing the recipient did: a server answers it as a temporary failure."""

    @property
    def kind(self) -> str:
        """The cause's type, for logs: the message names the recipient (and an SMTP refusal
        quotes it again), and logs never hold an email."""
        return type(self.__cause__ or self).__name__


@dataclass(frozen=True)
class SmtpServer:
    """Where `PITCHMAP_SMTP_URL` points; `repr` leaves the password out."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"SmtpServer({self.scheme}://{user}{self.host}:{self.port})"


def parse_smtp_url(url: str) -> tuple[SmtpServer, str | None]:
    """The server named by an SMTP URL and the sender its `from` parameter names, if any."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("not a valid URL (is the port a number?)") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise SmtpUrlError(
            f"the scheme must be smtp://, smtp+starttls:// or smtps://, not {scheme or 'none'!r}"
        )
    if not parts.hostname:
        raise SmtpUrlError("the URL names no host")
    if parts.path not in ("", "/"):
        raise SmtpUrlError("the URL must not have a path")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"from"})
    if unknown:
        raise SmtpUrlError(f"unknown parameter {unknown[0]!r} (only 'from' is understood)")
    sender = None
    if "from" in query:
        if len(query["from"]) != 1:
            raise SmtpUrlError("'from' is given more than once")
        sender = query["from"][0].strip()
        if not _SENDER.fullmatch(sender):
            raise SmtpUrlError("'from' is not one plain ASCII address (name@host)")
    if parts.password is not None and not parts.username:
        raise SmtpUrlError("a password without a user name")
    server = SmtpServer(
        scheme=scheme,
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
    return server, sender


class Mailer:
    """Sends plain-text mail through SMTP, or into `outbox` when no SMTP URL is set.

    `smtp_url` is checked here, so a wrong `PITCHMAP_SMTP_URL` stops the server at start
    (SmtpUrlError, a ValueError) rather than at the first code a prospect asks for.
    """

    def __init__(
        self, smtp_url: str | None, outbox: Path, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.outbox = outbox
        self.server: SmtpServer | None = None
        self.sender = DEFAULT_SENDER
        if smtp_url:
            self.server, sender = parse_smtp_url(smtp_url)
            self.sender = sender or DEFAULT_SENDER
        self._tls = tls

    async def send(self, to: str, subject: str, text: str) -> None:
        """Send `text` to the one address `to` with `subject`.

        Raises ValueError, before anything is written or sent, when `to` or `subject` holds a
        line break (header injection) or `to` is not exactly one address; MailError when the
        SMTP server or the outbox fails.
        """
        message = self.message(to, subject, text)
        try:
            if self.server is None:
                await asyncio.to_thread(self._write_outbox, message)
            else:
                await asyncio.to_thread(self._send_smtp, self.server, message, to.strip())
        except (OSError, smtplib.SMTPException) as exc:
            where = "the outbox" if self.server is None else repr(self.server)
            raise MailError(f"mail to {to.strip()!r} could not be sent via {where}: {exc}") from exc

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        """The RFC 5322 message `send` sends; refuses header injection (ValueError)."""
        for name, value in (("to", to), ("subject", subject)):
            if "\r" in value or "\n" in value:
                raise ValueError(f"{name}: must not contain a line break (CR or LF)")
        if not is_mailable(to.strip()):
            raise ValueError(f"to: {to!r} {UNMAILABLE}")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to.strip()
        message["Subject"] = subject
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = email.utils.make_msgid(domain=_domain(self.sender))
        message.set_content(text)
        return message

    def erase(self, address: str) -> int:
        """Delete the outbox mails sent to `address` (a recipient's erasure); how many."""
        if not self.outbox.is_dir():
            return 0
        wanted = address.strip().lower()
        erased = 0
        for path in self.outbox.glob("*.eml"):
            with path.open("rb") as file:
                to = BytesParser(policy=email.policy.default).parse(file, headersonly=True)["To"]
            if str(to or "").strip().lower() == wanted:
                path.unlink(missing_ok=True)
                erased += 1
        return erased

    def _write_outbox(self, message: EmailMessage) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.outbox / f"{stamp}-{secrets.token_hex(8)}.eml"
        content = message.as_bytes()
        write_atomic(path, lambda file: file.write(content))
        return path

    def _send_smtp(self, server: SmtpServer, message: EmailMessage, to: str) -> None:
        context = self._tls or ssl.create_default_context()
        client: smtplib.SMTP
        if server.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
        with client:
            client.ehlo()
            if server.scheme == "smtp+starttls":
                client.starttls(context=context)  # raises when the server does not offer it
                client.ehlo()
            if server.username is not None:
                client.login(server.username, server.password or "")
            client.send_message(message, from_addr=self.sender, to_addrs=[to])


def is_mailable(address: str) -> bool:
    """Whether pitchmap can mail `address` (see _MAILABLE). The one rule for every address that
    will be mailed, checked where it comes in (API fields, pages, users) and again when the mail
    is made: an address accepted at the door is never refused at the outbox."""
    return _MAILABLE.fullmatch(address) is not None


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"
