"""Whose address a request is: X-Forwarded-For is believed only when the peer is one of
PITCHMAP_TRUSTED_PROXIES, and then only its right-most hop no trusted proxy wrote."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from api.clients import client_address
from api.settings import Settings, SettingsError

PROXIES = Settings.from_env({"PITCHMAP_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"}).trusted_proxies


def request_from(peer: str | None, *forwarded: str) -> Request[Any, Any, Any]:
    """A request as the server sees it: the TCP peer, and the X-Forwarded-For headers sent."""
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers,
        "client": (peer, 40000) if peer is not None else None,
        "server": ("pitchmap.example", 443),
        "scheme": "https",
        "root_path": "",
    }
    return Request(scope)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # A stranger's header is never believed, whatever it claims.
        ("203.0.113.9", ["198.51.100.7"], "203.0.113.9"),
        ("203.0.113.9", ["10.0.0.5"], "203.0.113.9"),
        # Without any trusted proxy configured, the peer is the client.
        ("203.0.113.9", [], "203.0.113.9"),
        # Behind our proxy: the address it appended.
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        # A client forging hops: the proxy appends the real address on the right.
        ("10.0.0.2", ["1.1.1.1, 2.2.2.2, 198.51.100.7"], "198.51.100.7"),
        ("10.0.0.2", ["1.1.1.1", "198.51.100.7"], "198.51.100.7"),
        # Two trusted proxies in a row: skip both, stop at the first untrusted hop.
        ("10.0.0.2", ["6.6.6.6, 198.51.100.7, 192.0.2.1"], "198.51.100.7"),
        # Junk a client sent left of the real hop is never reached.
        ("10.0.0.2", ["not-an-ip, 198.51.100.7"], "198.51.100.7"),
        # A trusted proxy that forwarded nothing: the proxy itself.
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", [" , "], "10.0.0.2"),
        # IPv6 peers and hops.
        ("2001:db8::1", ["198.51.100.7"], "2001:db8::1"),
        # No peer at all (a unix socket).
        (None, ["198.51.100.7"], None),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str | None
) -> None:
    assert client_address(request_from(peer, *forwarded), PROXIES) == expected


def test_with_no_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(request_from("10.0.0.2", "198.51.100.7"), ()) == "10.0.0.2"


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.example", "10.0.0.1;"])
def test_a_trusted_proxy_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="PITCHMAP_TRUSTED_PROXIES"):
        Settings.from_env({"PITCHMAP_TRUSTED_PROXIES": value})
