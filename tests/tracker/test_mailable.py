"""One rule for an address pitchmap can mail: what the API fields and the user accounts accept
is exactly what the mailer sends to, so an address let in at the door never fails at the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.fields import email, is_email
from engine import InputError
from tracker.mail import Mailer, SmtpUrlError, is_mailable
from tracker.users import user_problems

MAILABLE = [
    "dana@northwind.example",
    "Dana.Lee+deals@North-Wind.example",
    "o'brien@acme.co",
    "x" * 64 + "@acme.example",
    "ivan@example.xn--p1ai",  # an internationalised top-level name, in its ASCII form
]
UNMAILABLE = [
    "josé@b.co",  # non-ASCII: no SMTPUTF8
    "a\x00@b.co",  # NUL, as `a%00@b.co` decodes
    "\ufffd\ufffd@b.co",  # invalid UTF-8 (`%ff%fe@b.co`) decodes to U+FFFD
    "dana",
    "dana@localhost",
    "a..b@acme.example",
    ".a@acme.example",
    "a@acme..example",
    "a@-acme.example",
    "x" * 65 + "@acme.example",
    "Dana <dana@acme.example>",
    "dana@acme.example, eve@evil.example",
]


@pytest.mark.parametrize("address", MAILABLE)
def test_a_plain_ascii_address_is_mailable_everywhere(address: str, tmp_path: Path) -> None:
    assert is_mailable(address) and is_email(address)
    assert email(address, "recipient") == address.lower()
    assert not user_problems(address, "marketing")
    assert Mailer(None, tmp_path).message(address, "Hi", "text")["To"] == address


@pytest.mark.parametrize("address", UNMAILABLE)
def test_an_unmailable_address_is_refused_everywhere_alike(address: str, tmp_path: Path) -> None:
    assert not is_mailable(address) and not is_email(address)
    with pytest.raises(InputError) as refused:
        email(address, "recipient")
    assert [p.field for p in refused.value.problems] == ["recipient"]
    assert [p.field for p in user_problems(address, "marketing")] == ["email"]
    with pytest.raises(ValueError, match=r"^to: "):
        Mailer(None, tmp_path).message(address, "Hi", "text")


def test_the_smtp_sender_is_one_plain_address_but_may_name_a_local_host(tmp_path: Path) -> None:
    # Never mailed, so no top-level name is needed: the default sender has none.
    for sender in ("pitchmap@localhost", "noreply@acme.example"):
        assert Mailer(f"smtp://mail.example?from={sender}", tmp_path).sender == sender
    for sender in ("jos%C3%A9@acme.example", "a%2Cb@acme.example", "a%00@relay", "nobody"):
        with pytest.raises(SmtpUrlError, match="'from'"):
            Mailer(f"smtp://mail.example?from={sender}", tmp_path)
