"""The people's pages at scale: p50 and p95 of each main page against a trivial route.

Starts `pitchmap serve` on a synthetic library of BLOCKS blocks (made from the fixtures'
blocks, see bench/common.py) with SQLite in a fresh data folder, makes DOCUMENTS real
documents through the API for the fixtures' prospects, then writes VISITS visits with their
section times straight into the database (seeded random reading: a visit reads the first
sections and drops off at a random slot, each seen section for a random time), spread over
the documents' share links and the last 90 days, their ids in order of start as the server
gives them. Then it runs `pitchmap rollup` as the server's background task would within a
minute: every visit finished (quiet for 30 minutes) goes into the roll-ups marketing's reports
read, and the visits of the last half hour stay raw, as they would in production. Then, signed
in as the demo rep and the demo marketing user, it asks each page REPEAT times in turn and
prints its p50 and p95 beside /health (the app's hello-world route) measured in the same run.

Usage: python bench/pages.py [--blocks 10000] [--visits 100000] [--documents 40] [--repeat 40]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select` (which subprocess and socket import): put the root first.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import datetime as dt
import os
import random
import re
import sqlite3
import statistics
import subprocess
import tempfile
import time

import httpx

from bench.common import FIXTURES, free_port, synthetic_library
from bench.ingest import start_server, wait_healthy

PITCHMAP = Path(sys.executable).with_name("pitchmap")
PASSWORD = "bench-password-1234"
REP = "rep@bench.example"
MARKETING = "marketing@bench.example"
LINKS_PER_DOCUMENT = 3
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def command(env: dict[str, str], work: Path, *args: str, stdin: str = "") -> str:
    return subprocess.run(
        [str(PITCHMAP), *args],
        env=env,
        cwd=work,
        input=stdin,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def make_documents(base: str, key: str, count: int) -> list[str]:
    """Real documents (selected, assembled, rendered) for the fixtures' prospects, each with
    LINKS_PER_DOCUMENT share links."""
    from engine.prospect import load_prospects

    prospects = load_prospects(FIXTURES / "bastion" / "prospects")
    auth = {"Authorization": f"Bearer {key}"}
    made = []
    with httpx.Client(base_url=base, timeout=120, headers=auth) as client:
        for i in range(count):
            profile = dict(prospects[i % len(prospects)].fields)
            profile["id"] = f"{profile['id']}-{i}"
            document = client.post("/api/documents", json={"prospect": profile})
            document.raise_for_status()
            for n in range(LINKS_PER_DOCUMENT):
                client.post(
                    f"/api/documents/{document.json()['id']}/links",
                    json={"recipient": f"reader{n}@prospect{i}.example"},
                ).raise_for_status()
            made.append(document.json()["id"])
    return made


def stored(moment: dt.datetime) -> str:
    """A UTC moment as SQLAlchemy keeps it in SQLite (naive, space-separated)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed_visits(database: Path, visits: int, rep_id: int, seed: int = 11) -> None:
    """VISITS visits with section times, written in one transaction; the documents become the
    rep's own (as if generated on the pages)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    with sqlite3.connect(database) as db:
        db.execute("UPDATE documents SET created_by_user_id = ?", (rep_id,))
        db.execute("UPDATE prospects SET owner_user_id = ?", (rep_id,))
        links = db.execute("SELECT id, document_id FROM share_links").fetchall()
        sections: dict[str, list[tuple[int, int]]] = {}
        for section_id, document_id, reading_ms in db.execute(
            "SELECT id, document_id, reading_ms FROM document_sections ORDER BY position"
        ):
            sections.setdefault(document_id, []).append((section_id, reading_ms))
        first = (db.execute("SELECT coalesce(max(id), 0) FROM visits").fetchone()[0]) + 1
        visit_rows, time_rows = [], []
        ago = sorted((rng.randrange(90 * 86400) for _ in range(visits)), reverse=True)
        starts = [now - dt.timedelta(seconds=seconds) for seconds in ago]
        for visit_id, started in enumerate(starts, start=first):
            month = f"{started:%Y-%m}-01"  # starts are UTC
            link_id, document_id = rng.choice(links)
            reached = rng.randint(1, len(sections[document_id]))
            total = 0
            for section_id, reading_ms in sections[document_id][:reached]:
                dwell = int(rng.expovariate(1 / reading_ms))
                total += dwell
                time_rows.append((visit_id, section_id, month, dwell, 1))
            ended = started + dt.timedelta(milliseconds=total + 1000)
            visit_rows.append(
                (visit_id, link_id, stored(started), month, "x" * 64, "browser", stored(ended))
            )
        db.executemany(
            "INSERT INTO visits (id, link_id, created_at, month, secret_hash, user_agent_kind, "
            "last_seq, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            visit_rows,
        )
        db.executemany(
            "INSERT INTO section_time (visit_id, section_id, month, dwell_ms, seen) "
            "VALUES (?, ?, ?, ?, ?)",
            time_rows,
        )
        db.execute("ANALYZE")


def signed_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/")
    token = _CSRF.search(form.text)
    if token is None:
        raise SystemExit("the sign-in form has no CSRF token")
    answer = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "_csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"signing in as {email} answered {answer.status_code}")
    return client


def timings_ms(client: httpx.Client, path: str, repeat: int) -> list[float]:
    warm = client.get(path)  # warm: first template compile, caches
    if warm.status_code != 200:
        raise SystemExit(f"{path} answered {warm.status_code}")
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}")
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pitchmap-pages-"))
    library = synthetic_library(work / "library", args.blocks)
    data = work / "data"
    env = {**os.environ, "PITCHMAP_DATA_DIR": str(data), "PITCHMAP_REP_NAME": "Bench"}
    rep_id = int(command(env, work, "users", "create", REP, "--role", "rep", stdin=PASSWORD))
    command(env, work, "users", "create", MARKETING, "--role", "marketing", stdin=PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [str(PITCHMAP), "serve", "--library", str(library), "--port", str(port)]
    server = start_server(serve, env, work)
    try:
        wait_healthy(base, server, timeout=900)
        key = command(env, work, "keys", "create", "--role", "rep", "--name", "bench")
        documents = make_documents(base, key, args.documents)
        seed_visits(data / "pitchmap.db", args.visits, rep_id)
        rolled_up = command(env, work, "rollup")
        print(f"rolled up {rolled_up} of {args.visits} visits", file=sys.stderr)
        rep, marketing = signed_in(base, REP), signed_in(base, MARKETING)
        prospect_key = rep.get("/prospects").text
        key_match = re.search(r'href="/prospects/([^"/]+)/', prospect_key)
        pages = {
            "home": (rep, "/"),
            "prospects": (rep, "/prospects"),
            "precall": (rep, f"/documents/{documents[0]}/before-the-call"),
            "leaderboard": (marketing, "/marketing/blocks"),
            "funnel": (marketing, "/marketing/funnel"),
            "gaps": (marketing, "/marketing/gaps"),
        }
        if key_match is not None:
            pages["prospect_precall"] = (rep, f"/prospects/{key_match.group(1)}/before-the-call")
        hello = timings_ms(rep, "/health", args.repeat)
        figures = {}
        for name, (client, path) in pages.items():
            try:
                figures[name] = timings_ms(client, path, args.repeat)
            except SystemExit as failure:  # one broken page must not hide the others' figures
                print(f"{name}: {failure}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=60)
        print(f"data folder and server log in {work}", file=sys.stderr)
    hello_p50 = statistics.median(hello)
    print(f"{'page':<18}{'p50 ms':>10}{'p95 ms':>10}{'p50 / hello':>14}")
    print(f"{'hello (/health)':<18}{hello_p50:>10.1f}{p95(hello):>10.1f}{1.0:>14.1f}")
    for name, values in figures.items():
        p50 = statistics.median(values)
        print(f"{name:<18}{p50:>10.1f}{p95(values):>10.1f}{p50 / hello_p50:>14.1f}")
    worst_p50 = max(statistics.median(v) for v in figures.values())
    worst_p95 = max(p95(v) for v in figures.values())
    print(
        f"pages worst_p50_ms={worst_p50:.1f} worst_p95_ms={worst_p95:.1f} "
        f"hello_p50_ms={hello_p50:.1f}"
    )


if __name__ == "__main__":
    main()
