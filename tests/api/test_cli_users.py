"""`pitchmap users` run as a real subprocess, the password on stdin; and the demo's users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import PITCHMAP, Run
from tracker.database import create_engine, create_sessions, migrate
from tracker.mail import is_mailable
from tracker.models import User
from tracker.users import (
    DEMO_USERS,
    ensure_demo_users,
    find_credentials,
    list_users,
    verify_password,
)

PASSWORD = "correct horse battery"


def users(cwd: Path, url: str, *args: str, stdin: str = "") -> Run:
    done = subprocess.run(
        [str(PITCHMAP), "users", *args],
        env={
            **os.environ,
            "PITCHMAP_DATA_DIR": str(cwd / "data"),
            "PITCHMAP_DATABASE_URL": url,
        },
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


async def _emails(url: str) -> list[tuple[str, str]]:
    migrate(url)
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            return [(u.email, u.role) for u in await list_users(session)]
    finally:
        await engine.dispose()


async def _signs_in(url: str, email: str, password: str) -> bool:
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            found = await find_credentials(session, email)
    finally:
        await engine.dispose()
    return found is not None and await verify_password(found[1], password)


def test_users_create_reads_the_password_from_stdin_and_prints_the_id(
    tmp_path: Path, db_url: str
) -> None:
    made = users(tmp_path, db_url, "create", "Rita@Example.com", "--role", "rep", stdin=PASSWORD)
    assert made.code == 0, made.stderr
    assert re.fullmatch(r"\d+\n", made.stdout)
    other = users(
        tmp_path, db_url, "create", "mo@example.com", "--role", "marketing", stdin="x" * 12
    )
    assert other.code == 0, other.stderr
    assert int(other.stdout) != int(made.stdout)
    assert asyncio.run(_emails(db_url)) == [
        ("rita@example.com", "rep"),
        ("mo@example.com", "marketing"),
    ]
    assert asyncio.run(_signs_in(db_url, "rita@example.com", PASSWORD))
    listed = users(tmp_path, db_url, "list")
    assert listed.code == 0, listed.stderr
    assert "rita@example.com" in listed.stdout and "marketing" in listed.stdout
    assert "argon2" not in listed.stdout and PASSWORD not in listed.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (("rita@example.com", "--role", "rep"), "too short", "password"),
        (("rita@example.com", "--role", "rep"), "", "password"),
        (("rita@example.com", "--role", "boss"), PASSWORD, "role"),
        (("not-an-email", "--role", "rep"), PASSWORD, "email"),
    ],
)
def test_users_create_refuses_bad_input_naming_the_field(
    tmp_path: Path, db_url: str, args: tuple[str, ...], stdin: str, field: str
) -> None:
    refused = users(tmp_path, db_url, "create", *args, stdin=stdin)
    assert refused.code == 2
    assert refused.stdout == ""
    assert re.search(rf"^error: users create: {field}: ", refused.stderr, re.M), refused.stderr
    assert asyncio.run(_emails(db_url)) == []


def test_users_create_refuses_an_email_that_has_an_account(tmp_path: Path, db_url: str) -> None:
    assert (
        users(tmp_path, db_url, "create", "rita@example.com", "--role", "rep", stdin=PASSWORD).code
        == 0
    )
    again = users(tmp_path, db_url, "create", "RITA@example.com", "--role", "admin", stdin=PASSWORD)
    assert again.code == 2
    assert "email: rita@example.com already has an account" in again.stderr
    assert asyncio.run(_emails(db_url)) == [("rita@example.com", "rep")]


def test_users_set_email_changes_the_address_the_user_signs_in_with(
    tmp_path: Path, db_url: str
) -> None:
    made = users(tmp_path, db_url, "create", "rita@example.com", "--role", "rep", stdin=PASSWORD)
    assert made.code == 0, made.stderr
    changed = users(tmp_path, db_url, "set-email", "RITA@example.com", " Rita.Moss@Example.com ")
    assert changed.code == 0, changed.stderr
    assert changed.stdout == f"{int(made.stdout)} rita.moss@example.com\n"
    assert asyncio.run(_emails(db_url)) == [("rita.moss@example.com", "rep")]
    assert asyncio.run(_signs_in(db_url, "rita.moss@example.com", PASSWORD))
    assert not asyncio.run(_signs_in(db_url, "rita@example.com", PASSWORD))


def test_users_set_email_mends_an_address_pitchmap_cannot_mail(tmp_path: Path, db_url: str) -> None:
    asyncio.run(_add_legacy_user(db_url, "josé@example.com"))
    changed = users(tmp_path, db_url, "set-email", "josé@example.com", "jose@example.com")
    assert changed.code == 0, changed.stderr
    assert asyncio.run(_emails(db_url)) == [("jose@example.com", "marketing")]
    assert is_mailable("jose@example.com")  # the rule the digest picks its recipients by


@pytest.mark.parametrize(
    ("args", "field", "says"),
    [
        (("rita@example.com", ""), "new_email", "'' is not an email address pitchmap can mail"),
        (("rita@example.com", "not-an-email"), "new_email", "is not an email address"),
        (("rita@example.com", "josé@example.com"), "new_email", "is not an email address"),
        (("rita@example.com", "x" * 400 + "@example.com"), "new_email", "at most 320"),
        (("rita@example.com", "mo@example.com"), "new_email", "mo@example.com already has"),
        (("nobody@example.com", "new@example.com"), "email", "'nobody@example.com' has no"),
    ],
)
def test_users_set_email_refuses_bad_input_naming_the_field(
    tmp_path: Path, db_url: str, args: tuple[str, ...], field: str, says: str
) -> None:
    for email in ("rita@example.com", "mo@example.com"):
        made = users(tmp_path, db_url, "create", email, "--role", "rep", stdin=PASSWORD)
        assert made.code == 0, made.stderr
    refused = users(tmp_path, db_url, "set-email", *args)
    assert refused.code == 2
    assert refused.stdout == ""
    assert re.search(
        rf"^error: users set-email: {field}: .*{re.escape(says)}", refused.stderr, re.M
    ), refused.stderr
    assert asyncio.run(_emails(db_url)) == [("rita@example.com", "rep"), ("mo@example.com", "rep")]


async def _add_legacy_user(url: str, email: str) -> None:
    """A marketing user stored before addresses had to be mailable."""
    migrate(url)
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            session.add(User(email=email, role="marketing", password_hash="not a hash"))
            await session.commit()
    finally:
        await engine.dispose()


def test_the_password_is_never_an_argument(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'pitchmap.db'}"
    args = ("create", "rita@example.com", "--role", "rep", "--password", PASSWORD)
    refused = users(tmp_path, url, *args)
    assert refused.code == 2
    assert "No such option" in refused.stderr


def test_demo_users_get_fresh_passwords_each_time(db_url: str) -> None:
    first = dict(asyncio.run(_demo_accounts(db_url)))
    assert set(first) == {email for email, _role in DEMO_USERS}
    second = dict(asyncio.run(_demo_accounts(db_url)))
    for email, password in second.items():
        assert len(password) >= 10 and password != first[email]
        assert asyncio.run(_signs_in(db_url, email, password))
        assert not asyncio.run(_signs_in(db_url, email, first[email]))
    assert asyncio.run(_emails(db_url)) == list(DEMO_USERS)


async def _demo_accounts(url: str) -> list[tuple[str, str]]:
    migrate(url)
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            accounts = await ensure_demo_users(session)
            await session.commit()
            return accounts
    finally:
        await engine.dispose()


@pytest.mark.slow
def test_serve_makes_no_users_and_demo_prints_passwords_that_sign_in(tmp_path: Path) -> None:
    """The real commands as a newcomer runs them: a server, then the demo, over HTTP."""
    env = {**os.environ, "PITCHMAP_DATA_DIR": str(tmp_path / "data")}
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'pitchmap.db'}"
    with _server(["serve"], env, tmp_path) as (base, _lines):
        assert httpx.get(f"{base}/health").status_code == 200
    assert asyncio.run(_emails(url)) == []
    with _server(["demo"], env, tmp_path) as (base, lines):
        found = (re.search(r"sign in as (\S+) with (\S+)", line) for line in lines)
        accounts = {m.group(1): m.group(2) for m in found if m}
        assert set(accounts) == {email for email, _role in DEMO_USERS}
        with httpx.Client(base_url=base) as browser:
            form = browser.get("/")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            email, password = next(iter(accounts.items()))
            signed = browser.post(
                "/sign-in",
                data={"email": email, "password": password, "_csrf_token": token.group(1)},
            )
            assert signed.status_code == 303
            assert email in browser.get("/").text


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[str, list[str]]]:
    """Start `pitchmap <command>` on a free port; yield its base URL once it answers and the
    lines it printed by then."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(PITCHMAP), *command, "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines: list[str] = []
        assert server.stdout is not None
        for line in server.stdout:  # the URL is printed once the app is built
            lines.append(line)
            if line.startswith("pitchmap is serving at"):
                break
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        lines.extend(_drain(server))
        yield base, lines
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def _drain(server: subprocess.Popen[str]) -> list[str]:
    """The lines printed right after the URL (the demo's accounts), without blocking."""
    assert server.stdout is not None
    os.set_blocking(server.stdout.fileno(), False)
    try:
        return server.stdout.readlines()
    finally:
        os.set_blocking(server.stdout.fileno(), True)
