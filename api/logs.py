"""Logs as one JSON object per line on stderr, so a log shipper needs no parsing rules.

Every line has `time`, `level`, `logger`, `message` and `pid` (several workers write to one
stream); a request's line adds `method`, `route`, `status`, `duration_ms` and `request_id`.
Requests are logged by their route template (`/d/{token}`), never by their path: share-link
tokens are credentials and live in paths. Nothing here logs a client address, a key, a
password or an email; messages of other modules are passed through as they wrote them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar
from typing import Any, Final

from litestar.logging.config import LoggingConfig
from litestar.types import Logger, Scope

from api.errors import answered_status
from api.outage import is_outage

# The request being answered, for the lines logged while answering it (see api/observe.py).
REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("pitchmap_request_id", default=None)
# The attributes a record may carry beyond the standard ones (passed as `extra=`).
REQUEST_FIELDS: Final = ("method", "route", "status", "duration_ms", "request_id")


class JsonFormatter(logging.Formatter):
    """One record as one line of JSON; a traceback goes into `exception`, never over lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config() -> LoggingConfig:
    """Litestar's logging set-up (root and `litestar` loggers at INFO through its non-blocking
    queue handler) with the JSON formatter in place of its text one.

    Its formatter is called "standard" because Litestar's own handlers refer to it by that name.
    """
    return LoggingConfig(
        formatters={"standard": {"()": JsonFormatter}},
        # httpx logs every request's full URL at INFO: webhook URLs often embed a secret.
        loggers={"httpx": {"level": "WARNING"}},
        log_exceptions="always",
        exception_logging_handler=log_unhandled,
    )


def configure_process_logging() -> None:
    """The same set-up for a process that builds no app (the workers' supervisor)."""
    logging_config().configure()
    log_warnings()


def log_warnings() -> None:
    """Python's warnings as log lines too, rather than as plain text between them."""
    logging.captureWarnings(True)


def log_unhandled(logger: Logger, scope: Scope, _traceback: list[str]) -> None:
    """Log an exception that became a server error, by route template, with its traceback.

    A refusal the app answers on purpose (a 400 naming a field, the sign-in redirect) is an
    answer, not a fault: anyone can cause as many as they like, so it gets one debug line and
    no traceback (the request line has its status). A database outage (503) has its own line
    from api/outage.py."""
    error = sys.exc_info()[1]
    if not isinstance(error, Exception) or is_outage(error):
        return
    status = answered_status(scope, error)
    where = {
        "method": scope.get("method"),
        "route": scope.get("path_template"),
        "status": status,
        "request_id": REQUEST_ID.get(),
    }
    if status < 500:
        logger.debug("refused: %s", type(error).__name__, extra=where)
    elif status != 503:
        logger.error("unhandled error", exc_info=True, extra=where)


def log_request(
    logger: logging.Logger,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    request_id: str,
) -> None:
    """The one line every answered request leaves: server errors as errors, the rest as info."""
    logger.log(
        logging.ERROR if status >= 500 else logging.INFO,
        "%s %s %d",
        method,
        route,
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "request_id": request_id,
        },
    )
