"""A real pitchmap server (`pitchmap serve` in a subprocess, on a free port) and a real
headless Chromium driven by Playwright.

Chromium is Debian's (`/usr/bin/chromium`); it is started by these fixtures with a DevTools port
and Playwright connects to it with `no_defaults`, because Playwright's own launch turns on focus
emulation for every page, and that keeps every page `visible` whatever happens to its tab. In
the browser's default context, switching tabs really hides a page (`visibilitychange` fires);
contexts made with `new_context()` keep Playwright's defaults, so their pages stay visible.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from bench.common import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 800, "height": 600}
SERVER_START_S = 120.0  # the embedding model is loaded (and exported once) at start
REP_NAME = "Robin Rep"


def pitchmap_command() -> list[str]:
    script = Path(sys.executable).with_name("pitchmap")
    if script.exists():
        return [str(script)]
    found = shutil.which("pitchmap")
    if found is None:
        pytest.skip("the pitchmap command is not installed")
    return [found]


def server_environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHMAP_")}
    # None of the run's settings but the shared ONNX export, made once for the whole run.
    env["PITCHMAP_MODEL_CACHE"] = os.environ["PITCHMAP_MODEL_CACHE"]
    env["PITCHMAP_DATA_DIR"] = str(data_dir)
    env["PITCHMAP_REP_NAME"] = REP_NAME
    return env


@dataclass(frozen=True)
class Server:
    """The running app: its base URL, a rep key, an HTTP client for the internal API, and how
    to run `pitchmap` commands against its data folder."""

    base_url: str
    key: str
    http: httpx.Client
    env: dict[str, str]
    root: Path

    def create_user(self, email: str, role: str, password: str) -> None:
        """`pitchmap users create`, the password on stdin as an administrator would pipe it."""
        made = subprocess.run(
            [*pitchmap_command(), "users", "create", email, "--role", role],
            env=self.env,
            cwd=self.root,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr

    def create_document(self, prospect: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/api/documents", json={"prospect": prospect})
        assert response.status_code == 201, (response.status_code, response.text)
        document: dict[str, Any] = response.json()
        return document

    def create_link(self, document_id: str, **options: Any) -> dict[str, Any]:
        body = {"recipient": "dana@example.com", **options}
        response = self.http.post(f"/api/documents/{document_id}/links", json=body)
        assert response.status_code == 201, (response.status_code, response.text)
        link: dict[str, Any] = response.json()
        return link

    def report(self, token: str) -> dict[str, Any]:
        response = self.http.get(f"/api/links/{token}/report")
        assert response.status_code == 200, (response.status_code, response.text)
        report: dict[str, Any] = response.json()
        return report

    def settled_report(
        self, token: str, quiet: float = 0.6, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The link's report once it has not changed for `quiet` seconds: the last heartbeats
        (a beacon sent as the page closed) have landed."""
        deadline = time.monotonic() + timeout
        last = self.report(token)
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            current = self.report(token)
            if current != last:
                last, since = current, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return current
        return last

    def revoke(self, token: str) -> httpx.Response:
        return self.http.delete(f"/api/links/{token}")


def wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pitchmap serve exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=2.0).status_code == 200:
                return
        time.sleep(0.25)
    pytest.fail(f"pitchmap serve did not answer /health in {SERVER_START_S} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pitchmap serve` on the packaged demo library, with one rep key made by `pitchmap keys`
    (while the server loads its model)."""
    root = tmp_path_factory.mktemp("server")
    env = server_environment(root / "data")
    command = pitchmap_command()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    with (
        as_file(files("fixtures") / "bastion" / "library") as library,
        log.open("wb") as output,
    ):
        serve = [*command, "serve", "--library", str(library)]
        process = subprocess.Popen(
            [*serve, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            made = subprocess.run(
                [*command, "keys", "create", "--role", "rep", "--name", "browser tests"],
                env=env,
                cwd=root,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert made.returncode == 0, made.stderr
            key = made.stdout.strip().splitlines()[-1]
            wait_until_up(base_url, process, log)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as http:
                yield Server(base_url, key, http, env, root)
        finally:
            stop(process)


@pytest.fixture(scope="module")
def prospect() -> dict[str, Any]:
    """A demo prospect's profile under a test id and company."""
    source = files("fixtures") / "bastion" / "prospects" / "p-alder-stone.yaml"
    profile: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return {**profile, "id": "p-test", "company": "Acme"}


@pytest.fixture(scope="module")
def document(server: Server, prospect: dict[str, Any]) -> dict[str, Any]:
    """One document; every test makes its own link to it, so each report is its own."""
    return server.create_document(prospect)


@pytest.fixture
def link(server: Server, document: dict[str, Any]) -> dict[str, Any]:
    return server.create_link(document["id"])


def devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    """The port Chromium chose for DevTools, from the file it writes in its profile."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chromium exited with {process.returncode}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    pytest.fail("chromium did not open its DevTools port")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Headless Chromium, started here and driven over CDP (see the module docstring)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    profile = tmp_path_factory.mktemp("chromium")
    process = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=800,700",
            *CHROMIUM_ARGS,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = devtools_port(profile, process)
        connected = playwright.chromium.connect_over_cdp(
            f"http://127.0.0.1:{port}", no_defaults=True
        )
        try:
            yield connected
        finally:
            connected.close()
    finally:
        stop(process)


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh contexts (Playwright's defaults: their pages always count as visible), closed
    after the test."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(viewport=VIEWPORT, **options)
        made.append(context)
        return context

    yield make
    for context in made:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture
def tabs(browser: Browser) -> BrowserContext:
    """The browser's own context, where a tab brought behind another is really hidden."""
    return browser.contexts[0]
