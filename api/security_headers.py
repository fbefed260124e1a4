"""The security headers every response carries: pages, the viewer, the API, static files,
redirects and the error answers Litestar makes itself (404 for no route, 405, 500).

They are added by a `before_send` hook, the one place that sees every message the app sends,
including those of routing and of the exception handlers, which `after_request` hooks and
route middleware never see. A handler that sets one of these headers keeps its own value: the
viewer's stricter CSP, and the rep's framed web preview (sandboxed, framed by its own page).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from api.settings import Settings

# Scripts and styles only from files served here (never inline, never another origin);
# nothing may frame a page, and forms post only back here.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Features no page of pitchmap uses; denied so that an injected frame or script cannot ask.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), xr-spatial-tracking=()"
)
HSTS = "max-age=31536000"
SECURITY_HEADERS = {
    "Content-Security-Policy": APP_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Share links carry their token in the URL: no page tells another site where it came from.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def over_https(scheme: str, settings: Settings) -> bool:
    """Whether the browser reached us over https: the request's own scheme, or (behind a proxy
    that ends TLS) the public base URL."""
    return scheme == "https" or (settings.base_url or "").startswith("https")


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """The hook that adds `SECURITY_HEADERS` (and HSTS over https) to every response."""

    def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        message.setdefault("headers", [])
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        if over_https(scope.get("scheme", "http"), settings):
            headers["Strict-Transport-Security"] = HSTS

    return add_headers
