"""Every request timed once, around the whole app: counted in the metrics and logged as one JSON
line, whether a route answered it or the router did (an unknown path's 404 counts too).

The route is the matched template (`/d/{token}`), or `unmatched`: never the path, which holds
share-link tokens and would give the metrics one series per stranger's guess. Each answer
carries its request id in `X-Request-ID`: the one a proxy sent when it is a plain short id,
else a new one.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from api.logs import REQUEST_ID, log_request
from api.metrics import observe

UNMATCHED: Final = "unmatched"
REQUEST_ID_HEADER: Final = b"x-request-id"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_GIVEN_ID: Final = re.compile(rb"[A-Za-z0-9._-]{1,64}")

_logger = logging.getLogger("pitchmap.requests")


class Observed:
    """An ASGI app wrapped so that each HTTP request is measured, counted and logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self._observe(scope, receive, send)

    async def _observe(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500  # what the client gets if the app fails before answering
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        reset = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, answer)
        finally:
            REQUEST_ID.reset(reset)
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = scope.get("path_template") or UNMATCHED
            observe(route, method, status, seconds)
            log_request(_logger, method, route, status, seconds * 1000, request_id)


def _request_id(scope: HTTPScope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _GIVEN_ID.fullmatch(value):
            return value.decode()
    return secrets.token_hex(8)
