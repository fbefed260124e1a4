"""The engine's errors mapped to HTTP answers in one place: bad input is a 4xx naming the field."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, Response
from litestar._openapi.responses import create_error_responses
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.exceptions.responses import create_exception_response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Operation
from litestar.routes import HTTPRoute
from litestar.types import Scope
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import DBAPIError

from engine import InputError, PitchmapError, Problem
from engine.errors import NUL_REFUSED


class NoLibraryError(PitchmapError):
    """The server has no active library, so nothing can be selected."""


def bad_field(field: str, message: str) -> InputError:
    return InputError([Problem("request", field, message)])


def input_error(request: Request[Any, Any, Any], exc: InputError) -> Response[object]:
    problems = [{"field": p.field, "message": p.message, "where": p.file} for p in exc.problems]
    detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
    body = {"status_code": 400, "detail": detail, "problems": problems}
    return Response(body, status_code=400, media_type=MediaType.JSON)


def no_library(request: Request[Any, Any, Any], exc: NoLibraryError) -> Response[object]:
    detail = "no library is loaded: start the server with `pitchmap serve --library DIR`"
    return Response(
        {"status_code": 409, "detail": detail}, status_code=409, media_type=MediaType.JSON
    )


class BodyTooLargeException(HTTPException):
    """What Litestar answers a body over `request_max_body_size` with."""

    status_code = 413


def document_errors(app: Litestar) -> None:
    """Add the refusals every operation can answer to its OpenAPI entry, so the schema tells the
    truth without each handler repeating them: 401/403 where the handler takes an API key (and
    no key requirement where it does not), 404 where the path names something, 413 where a
    body is read. Litestar offers `raises=` per handler only; this runs at start-up, after the
    routes are registered and before the schema is first served."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(paths[route.path_format], method.lower(), None)
                if isinstance(operation, Operation):
                    _document_refusals(operation, handler, bool(route.path_parameters))


def _document_refusals(operation: Operation, handler: HTTPRouteHandler, names: bool) -> None:
    refusals: list[type[HTTPException]] = []
    if _takes_api_key(handler):
        refusals += [NotAuthorizedException, PermissionDeniedException]
    elif operation.security is None:
        operation.security = []
    if names:
        refusals.append(NotFoundException)
    if operation.request_body is not None:
        refusals.append(BodyTooLargeException)
    responses = operation.responses if operation.responses is not None else {}
    for status, response in create_error_responses(refusals):
        responses.setdefault(status, response)
    operation.responses = responses


def _takes_api_key(handler: HTTPRouteHandler) -> bool:
    """Whether `caller` (the API key, api.auth.authenticate) is among what the handler or any
    of its dependencies asks for."""
    providers = handler.resolve_dependencies()
    wanted = list(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen or name not in providers:
            continue
        seen.add(name)
        wanted += list(providers[name].parsed_fn_signature.parameters)
    return "caller" in seen


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[object]:
    """Litestar's answer, labelled JSON: Litestar labels an error with the handler's media
    type, so a download's 404 said application/octet-stream over a JSON body."""
    response = create_exception_response(request, exc)
    response.media_type = MediaType.JSON
    return response


def too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[object]:
    """msgspec decodes nesting up to the interpreter's recursion limit and then raises
    RecursionError while Litestar reads the body (10,000 levels of `[[[...]]]`); no request
    of ours nests more than a few levels, so that is the caller's bad body, not our fault."""
    return input_error(request, bad_field("body", "is nested too deeply"))


def not_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[object]:
    """msgspec raises UnicodeDecodeError, which Litestar does not catch, on a JSON body that is
    not UTF-8; everything we decode ourselves we wrote as UTF-8."""
    return input_error(request, bad_field("body", "is not valid UTF-8"))


# SQLSTATEs of PostgreSQL refusing NUL: in text (22021) and in JSON (22P05).
_NUL_REFUSED = {"22021", "22P05"}


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[object]:
    """A NUL that reached PostgreSQL through a path or query value (bodies are checked field
    by field) is the caller's bad input: a 400 naming the value; anything else stays a 500."""
    if getattr(exc.orig, "sqlstate", None) not in _NUL_REFUSED:
        return create_exception_response(request, exc)
    values = {**request.path_params, **dict(request.query_params)}
    named = sorted(name for name, value in values.items() if "\x00" in str(value))
    field = named[0] if named else "request"
    return input_error(request, bad_field(field, NUL_REFUSED))


def answered_status(scope: Scope, exc: Exception) -> int:
    """The status the app answers `exc` with: that of the response built by the handler
    Litestar picks for it (the route's, else the app's; the nearest class in its MRO), so what
    the log calls a fault and what the caller gets cannot disagree; 500 when no handler takes
    it, or when the handler itself fails. An HTTPException carries its own status, and its
    handlers are not run twice: one logs outages."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    handlers = ScopeState.from_scope(scope).exception_handlers
    if not isinstance(handlers, dict):  # raised before a route was matched
        handlers = scope["litestar_app"].exception_handlers
    handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    try:
        return (handler(Request(scope), exc).status_code or 500) if handler else 500
    except Exception:  # a handler that fails on this error answers 500 too
        return 500


EXCEPTION_HANDLERS: dict[type[Exception], object] = {
    HTTPException: http_error,
    RecursionError: too_deep,
    UnicodeDecodeError: not_utf8,
    DBAPIError: database_error,
    InputError: input_error,
    NoLibraryError: no_library,
}
__all__ = [
    "EXCEPTION_HANDLERS",
    "BodyTooLargeException",
    "HTTPException",
    "NoLibraryError",
    "answered_status",
    "bad_field",
    "document_errors",
]
