"""A throwaway PostgreSQL 15 server (Debian's package) for the tests and the benchmarks: initdb
into a temporary folder, trust authentication, loopback only, removed afterwards.

initdb and the server refuse to run as root, so as root they run as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.common import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# What a throwaway server may skip: it holds nothing worth a crash's recovery.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def installed() -> bool:
    return (PG_BIN / "initdb").exists()


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def throwaway_postgres(settings: Sequence[str] = FAST) -> Iterator[str]:
    """The SQLAlchemy URL of a running server's `postgres` database; `settings` are
    `name=value` server settings."""
    root = Path(tempfile.mkdtemp(prefix="pitchmap-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    initdb += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} "
    options += " ".join(f"-c {setting}" for setting in settings)
    pg_ctl = str(PG_BIN / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w", "-o", options, "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
