"""A database that cannot be reached, or cannot write, is an outage and not a bug: the caller
gets 503 with `Retry-After` (the viewer script sends an unacknowledged heartbeat again, and
the server deduplicates it), and the operator gets one ERROR line saying what the database
answered. Nothing is written for that request: its transaction failed whole.

What counts as an outage: the driver reporting the database's operation failing
(OperationalError: server shut down, connection refused, "database or disk is full", a lock
held too long), the connection broken under the driver (InterfaceError, or any driver error
SQLAlchemy marks `connection_invalidated`), the pool waiting too long for a connection, and the
operating system refusing or resetting the connection before the driver wraps it. The line
holds the driver's message only, never the statement or its parameters (emails, tokens).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.controllers.viewer import ServiceUnavailableException
from api.errors import database_error, http_error

RETRY_AFTER_S: Final = 5
_MESSAGE_CHARS: Final = 200

_logger = logging.getLogger("pitchmap.outage")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database is unreachable or cannot write, rather than that the
    request or the code is wrong."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    """A database error raised by a route: 503 when it is an outage, else what api.errors
    answers for it."""
    if isinstance(exc, DBAPIError) and not is_outage(exc):
        return database_error(request, exc)
    _log(exc)
    detail = "the database is unavailable; try again shortly"
    body = {"status_code": HTTP_503_SERVICE_UNAVAILABLE, "detail": detail}
    return Response(
        body, status_code=HTTP_503_SERVICE_UNAVAILABLE, media_type=MediaType.JSON, headers=_retry()
    )


def unavailable(request: Request[Any, Any, Any], exc: HTTPException) -> Response[object]:
    """The heartbeat route's own 503 (it turns a failed batch into one): logged with its
    cause when the database caused it, and always told when to try again."""
    if exc.__cause__ is not None and is_outage(exc.__cause__):
        _log(exc.__cause__)
    response = http_error(request, exc)
    response.headers.update(_retry())
    return response


def _retry() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}


def _log(exc: BaseException) -> None:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = (str(cause).strip().splitlines() or [""])[0][:_MESSAGE_CHARS]
    _logger.error("the database is unavailable: %s: %s", type(cause).__name__, message)


OUTAGE_HANDLERS: dict[type[Exception], object] = {
    ServiceUnavailableException: unavailable,
    DBAPIError: database_unavailable,
    PoolTimeoutError: database_unavailable,
    ConnectionError: database_unavailable,
}
