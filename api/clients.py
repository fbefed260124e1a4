"""Who is on the other end of a request: the address (believing X-Forwarded-For only from
PITCHMAP_TRUSTED_PROXIES) and whether the browser announces itself as a link-preview bot."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from litestar import Request

from api.settings import Network


def client_address(request: Request[Any, Any, Any], trusted: Sequence[Network]) -> str | None:
    """The peer's address, or, when the peer is a trusted proxy, the nearest untrusted address
    in X-Forwarded-For (the right-most one a trusted hop appended)."""
    peer = request.client.host if request.client else None
    if peer is None or not _is_trusted(peer, trusted):
        return peer
    # Every X-Forwarded-For line, in order: a proxy may add its own line after the client's.
    forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
