"""The security headers on every kind of response the app sends (pages, the viewer, the API,
static files, redirects, errors, the schema), the CSPs' rules, and HSTS only over https."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from api.app import create_app
from bench.common import free_port
from tests.api.conftest import new_key
from tests.api.test_journey import Site
from tests.cli_runner import PITCHMAP
from tests.conftest import make_settings, new_database

pytestmark = pytest.mark.slow

_URL = re.compile(r'id="new-url" readonly value="([^"]+)"')
EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


@dataclass
class World:
    site: Site
    document_id: str
    token: str
    key: str


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    """A rep's document with a share link, and an admin API key, on the https site."""
    site.rep()
    document_id = site.generate(site.new_prospect())
    made = site.post(
        f"/documents/{document_id}/links",
        {"recipient": "dana@northwind.example", "expires": "2999-01-31"},
    )
    match = _URL.search(made.text)
    assert match is not None, made.text
    key = asyncio.run(new_key(site.settings.database_url, "admin", "headers"))
    return World(site, document_id, match.group(1).rsplit("/", 1)[1], key)


def responses(world: World) -> dict[str, httpx.Response]:
    """One response of each kind the app sends, keyed by what it is."""
    client = world.site.client
    api = {"Authorization": f"Bearer {world.key}"}
    return {
        "page": client.get("/prospects"),
        "viewer": client.get(f"/d/{world.token}"),
        "viewer gate of an unknown link": client.get("/d/no-such-token"),
        "api json": client.get(f"/api/documents/{world.document_id}", headers=api),
        "api 401": client.get(f"/api/documents/{world.document_id}"),
        "static file": client.get("/static/app.css"),
        "404": client.get("/no/such/page"),
        "405": client.delete("/static/app.css"),
        "redirect": client.post(f"/d/{world.token}/unlock", follow_redirects=False),
        "openapi json": client.get("/schema/openapi.json"),
    }


@pytest.fixture(scope="module")
def answered(world: World) -> dict[str, httpx.Response]:
    return responses(world)


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in csp.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_each_kind_of_response_is_what_it_claims(answered: dict[str, httpx.Response]) -> None:
    statuses = {kind: response.status_code for kind, response in answered.items()}
    assert statuses == {
        "page": 200,
        "viewer": 200,
        "viewer gate of an unknown link": 404,
        "api json": 200,
        "api 401": 401,
        "static file": 200,
        "404": 404,
        "405": 405,
        "redirect": 302,
        "openapi json": 200,
    }
    assert answered["api json"].headers["content-type"].startswith("application/json")
    assert answered["viewer"].headers["x-robots-tag"].startswith("noindex")


@pytest.mark.parametrize(
    "kind",
    [
        "page",
        "viewer",
        "viewer gate of an unknown link",
        "api json",
        "api 401",
        "static file",
        "404",
        "405",
        "redirect",
        "openapi json",
    ],
)
def test_every_response_carries_the_security_headers(
    answered: dict[str, httpx.Response], kind: str
) -> None:
    headers = answered[kind].headers
    for name, value in EVERYWHERE.items():
        assert headers.get(name) == value, (kind, name)
    assert headers["x-frame-options"] == "DENY"
    assert headers["permissions-policy"].startswith("accelerometer=()")
    assert "camera=()" in headers["permissions-policy"]
    assert headers["strict-transport-security"] == "max-age=31536000"
    csp = directives(headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    scripts = csp.get("script-src", csp["default-src"])
    assert scripts == ["'self'"], "scripts only from files served here, never inline"
    for sources in csp.values():
        assert not any(re.match(r"https?:|\*", source) for source in sources), "another origin"


def test_the_viewer_keeps_its_stricter_policy(answered: dict[str, httpx.Response]) -> None:
    viewer = directives(answered["viewer"].headers["content-security-policy"])
    assert viewer["default-src"] == ["'none'"]
    assert viewer["connect-src"] == ["'self'"]
    app = directives(answered["page"].headers["content-security-policy"])
    assert app["default-src"] == ["'self'"] and app["style-src"] == ["'self'"]


def test_personal_answers_are_not_cached_nor_shared_across_origins(
    answered: dict[str, httpx.Response], world: World
) -> None:
    for kind in ("page", "viewer"):
        assert "no-store" in answered[kind].headers["cache-control"], kind
    for kind, response in answered.items():
        assert "access-control-allow-origin" not in response.headers, kind
    for listing in ("/static/", "/static", "/static/../api/app.py", "/static/%2e%2e/app.css"):
        assert world.site.client.get(listing).status_code == 404, listing


def test_the_framed_preview_keeps_its_own_sandbox(world: World) -> None:
    framed = world.site.client.get(f"/documents/{world.document_id}/page.html")
    assert framed.status_code == 200
    assert framed.headers["content-security-policy"] == "sandbox; frame-ancestors 'self'"
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert framed.headers["x-content-type-options"] == "nosniff"
    assert framed.headers["referrer-policy"] == "no-referrer"


def test_downloads_are_attachments_never_sniffed(world: World) -> None:
    for name in ("deck.pptx", "proposal.docx"):
        download = world.site.client.get(f"/documents/{world.document_id}/{name}")
        assert download.status_code == 200, name
        assert download.headers["content-disposition"].startswith("attachment;")
        assert f'filename="{name}"' in download.headers["content-disposition"]
        assert download.headers["x-content-type-options"] == "nosniff"


def test_the_schema_is_json_only_and_loads_nothing_from_elsewhere(world: World) -> None:
    root = world.site.client.get("/schema")
    assert root.status_code == 200
    assert root.headers["content-type"] == "application/vnd.oai.openapi+json"
    assert root.json()["openapi"].startswith("3.")
    for ui in ("swagger", "redoc", "elements", "rapidoc", "scalar"):
        assert world.site.client.get(f"/schema/{ui}").status_code == 404, ui


@pytest.fixture(scope="module")
def plain_http(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """An app with no https base URL, reached over http (no library: nothing here needs it)."""
    data: Path = tmp_path_factory.mktemp("plain")
    settings = make_settings(data, database=new_database(request, "sqlite", data))
    with TestClient(create_app(settings), base_url="http://testserver.local") as client:
        yield client


def test_hsts_is_sent_only_over_https(plain_http: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/", "/static/app.css", "/no/such/page"):
        response = plain_http.get(path)
        assert "strict-transport-security" not in response.headers, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


@pytest.fixture(scope="module")
def served_over_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pitchmap serve` as an operator starts it (uvicorn, loopback, plain http, no library,
    no trusted proxy); its base URL."""
    folder = tmp_path_factory.mktemp("serve")
    unset = ("PITCHMAP_BASE_URL", "PITCHMAP_TRUSTED_PROXIES", "PITCHMAP_DATABASE_URL")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env["PITCHMAP_DATA_DIR"] = str(folder / "data")
    port = free_port()
    process = subprocess.Popen(
        [str(PITCHMAP), "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"pitchmap serve did not answer (exit code {process.poll()})")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_server_believes_no_forwarded_header_from_loopback(served_over_http: str) -> None:
    """uvicorn believes X-Forwarded-Proto/-For from 127.0.0.1 unless told not to; had it, this
    request would look like https to the app and get HSTS."""
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    response = httpx.get(f"{served_over_http}/health", headers=forged)
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
