"""Backing up the SQLite database while the server keeps writing to it.

SQLite's online backup API copies the database as one read transaction sees it: in WAL mode
readers never block writers, so heartbeats go on being stored meanwhile, and the copy is one
consistent snapshot (a transaction not committed when it started is not in it). The copy is
written to a temporary file beside the destination and only then given the destination's name,
so a backup that fails leaves nothing half-written. PostgreSQL has its own tools (`pg_dump`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from tracker.errors import TrackerError


class BackupError(TrackerError):
    """A backup that cannot be made; the message says why and what to do instead."""


def backup(url: str, dest: Path) -> Path:
    """Copy the SQLite database at `url` to the new file `dest` (readable by its owner only:
    it holds recipients' addresses); its absolute path."""
    source = _sqlite_file(url)
    dest = dest.absolute()
    if dest.exists():
        raise _exists(dest)
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a folder")
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        _copy(source, temporary)
        # A hard link, unlike a rename, refuses to replace a file that appeared meanwhile.
        os.link(temporary, dest)
    except FileExistsError:
        raise _exists(dest) from None
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"backing up to {dest} failed: {exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return dest


def _exists(dest: Path) -> BackupError:
    return BackupError(f"{dest} exists already: a backup never overwrites a file")


def _sqlite_file(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"the database is {parsed.get_backend_name()}, not SQLite: back it up with "
            "pg_dump (see the README's Backups section)"
        )
    source = Path(parsed.database or "")
    if not source.is_file():
        raise BackupError(f"there is no database at {source} to back up")
    return source


def _copy(source: Path, copy: Path) -> None:
    """The whole database in one step (a step per page range would restart at every write),
    then put the copy in rollback-journal mode, so that it is a single self-contained file."""
    with (
        contextlib.closing(sqlite3.connect(source, timeout=10)) as reading,
        contextlib.closing(sqlite3.connect(copy)) as writing,
    ):
        reading.backup(writing)
        writing.execute("PRAGMA journal_mode = DELETE")
    with copy.open("rb+") as file:
        os.fsync(file.fileno())
