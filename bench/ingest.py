"""Heartbeat ingestion on the real server: events/s and p99 against a hello-world route.

Starts `pitchmap serve` on the demo library with SQLite in a fresh data folder, makes one
document, one link and VISITS visits through the API, then drives the same `wrk -t -c -d` at
/health (the app's hello-world route) and at /d/{token}/events (every request a new
(visit, seq), so every acknowledged event must be stored). Afterwards it counts the stored
events in the database: acknowledged (2xx answered) must all be there.

Usage: python bench/ingest.py [--seconds 10] [--connections 64] [--visits 512]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select` (which subprocess and socket import): put the root first.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time

import httpx

from bench.common import FIXTURES, free_port

PITCHMAP = Path(sys.executable).with_name("pitchmap")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"

# Each wrk thread drives its own share of the visits, each visit counting its own seq, so no
# two requests ever carry the same (visit, seq): every 2xx is one distinct stored event.
LUA = r"""
local visits = %(visits)s
local counter = 0
local threads = {}
ok, bad = 0, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  mine = {}
  local n = tonumber(%(threads)d)
  for i = 1, #visits do
    if (i - 1) %% n == id then table.insert(mine, visits[i]) end
  end
  seqs = {}
  for i = 1, #mine do seqs[i] = 0 end
  turn = 0
  ok, bad = 0, 0
end

function request()
  turn = turn %% #mine + 1
  seqs[turn] = seqs[turn] + 1
  local v = mine[turn]
  local body = string.format(
    '{"visit":%%d,"secret":"%%s","seq":%%d,"dwell":{"0":100,"1":50},"seen":[0,1]}',
    v[1], v[2], seqs[turn])
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local acked, failed = 0, 0
  for _, t in ipairs(threads) do
    acked = acked + t:get("ok")
    failed = failed + t:get("bad")
  end
  io.write(string.format("LUA acknowledged=%%d failed=%%d p99_us=%%d\n",
    acked, failed, latency:percentile(99)))
end
"""


def start_server(command: list[str], env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    """Start `pitchmap serve`, its output (a JSON line per request) into `work`/server.log:
    kept for chasing an error, and off the terminal, which would slow the server down."""
    with (work / "server.log").open("wb") as log:
        return subprocess.Popen(command, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)


def rep_key(env: dict[str, str], work: Path, name: str) -> str:
    """A new rep key from `pitchmap keys create`, as an operator makes one."""
    return subprocess.run(
        [str(PITCHMAP), "keys", "create", "--role", "rep", "--name", name],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy")


def prepare(base: str, key: str, visits: int) -> tuple[str, list[tuple[int, str]]]:
    auth = {"Authorization": f"Bearer {key}"}
    prospect = {"id": "p-bench", "company": "Bench Corp", "needs": "Stop phishing."}
    with httpx.Client(base_url=base, timeout=60) as client:
        document = client.post("/api/documents", json={"prospect": prospect}, headers=auth)
        document.raise_for_status()
        link = client.post(
            f"/api/documents/{document.json()['id']}/links",
            json={"recipient": "bench@example.com"},
            headers=auth,
        )
        link.raise_for_status()
        token = link.json()["token"]
        made = []
        for _ in range(visits):
            visit = client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER})
            visit.raise_for_status()
            made.append((visit.json()["visit"], visit.json()["secret"]))
    return token, made


def run_wrk(args: argparse.Namespace, url: str, script: Path | None) -> str:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    return subprocess.run(
        [*command, url], check=True, capture_output=True, text=True, timeout=args.seconds + 60
    ).stdout


def requests_per_s(output: str) -> float:
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise SystemExit(f"wrk printed no rate:\n{output}")
    return float(found.group(1))


def p99_ms(output: str) -> float:
    found = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk printed no p99:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return float(found.group(1)) * scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--visits", type=int, default=512)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="pitchmap-ingest-"))
    env = {**os.environ, "PITCHMAP_DATA_DIR": str(work / "data"), "PITCHMAP_REP_NAME": "Bench"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    library = FIXTURES / "bastion" / "library"
    serve = [str(PITCHMAP), "serve", "--library", str(library), "--port", str(port)]
    server = start_server(serve, env, work)
    try:
        wait_healthy(base, server)
        key = rep_key(env, work, "bench")
        token, visits = prepare(base, key, args.visits)
        script = work / "events.lua"
        table = "{" + ",".join(f'{{{v},"{s}"}}' for v, s in visits) + "}"
        path = f"/d/{token}/events"
        script.write_text(LUA % {"visits": table, "threads": args.threads, "path": path})
        hello = run_wrk(args, f"{base}/health", None)
        events = run_wrk(args, f"{base}{path}", script)
    finally:
        server.terminate()
        server.wait(timeout=60)
    tally = re.search(r"LUA acknowledged=(\d+) failed=(\d+)", events)
    if tally is None:
        raise SystemExit(f"the wrk script printed no tally:\n{events}")
    acknowledged, failed = int(tally.group(1)), int(tally.group(2))
    with sqlite3.connect(work / "data" / "pitchmap.db") as db:
        stored = db.execute("SELECT count(*) FROM view_events").fetchone()[0]
    hello_rate, event_rate = requests_per_s(hello), requests_per_s(events)
    detail = {
        "wrk": f"-t{args.threads} -c{args.connections} -d{args.seconds}s",
        "visits": args.visits,
        "failed": failed,
        "hello_p99_ms": p99_ms(hello),
        "ratio": round(event_rate / hello_rate, 3),
    }
    print(json.dumps(detail), file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"ingest events_per_s={event_rate:.0f} hello_per_s={hello_rate:.0f} "
        f"p99_ms={p99_ms(events):.1f} acknowledged={acknowledged} stored={stored}"
    )


if __name__ == "__main__":
    main()
