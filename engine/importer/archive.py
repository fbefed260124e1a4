"""Checks on an Office file's zip package, made before any Office library opens it.

A .pptx or .docx is a zip archive, and an uploaded one may be hostile: a few kilobytes that
inflate to gigabytes (a zip bomb), member names that climb out of a folder (`../`), or
symbolic links. The archive's directory is checked first, with nothing inflated: the sizes it
declares are what Python's zip reader will at most produce, so checking them bounds what
parsing can use. Only then is the start of each member read, for the other classic bomb, an
XML DTD (engine.importer.doctype). Nested archives and pictures are never opened.
"""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from engine.errors import InputError, Problem
from engine.files import FileRefusedError, open_regular
from engine.importer.doctype import doctype_problems

MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
# A member this small cannot exhaust anything, whatever its ratio, while short, repetitive
# XML parts of ordinary files can compress better than 100:1.
RATIO_FROM_BYTES = 1024 * 1024
MAX_MEMBERS = 10_000
_ZIP_MAGIC = b"PK\x03\x04"
_UNIX = 3  # the "version made by" host whose external attributes hold st_mode
_DRIVE = re.compile(r"^[A-Za-z]:")


@contextmanager
def checked_package(path: Path, kind: str) -> Iterator[BinaryIO]:
    """`path` opened, once it is known to be a zip package safe to hand to an Office library
    (InputError otherwise). The caller reads this same open file, never the path again: a
    path swapped for a FIFO after the check could not block the reader.

    `kind` names what the file should be ("PowerPoint file", "Word document") in messages.
    """
    where = str(path)
    try:
        file = open_regular(path)  # a FIFO or a device is refused, never read
    except FileNotFoundError:
        raise InputError([Problem(where, "file", "does not exist")]) from None
    except FileRefusedError as exc:  # "is a folder, not a file", as before, or not regular
        raise InputError([Problem(where, "file", str(exc))]) from None
    except OSError as exc:
        raise InputError([Problem(where, "file", f"cannot be read: {exc.strerror}")]) from None
    with file:
        _check(file, where, kind)
        file.seek(0)
        yield file


def _check(file: BinaryIO, where: str, kind: str) -> None:
    try:
        if file.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise InputError([Problem(where, "file", f"is not a {kind} (not a zip package)")])
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            problems = member_problems(archive.infolist()) or doctype_problems(archive)
    except OSError as exc:
        raise InputError([Problem(where, "file", f"cannot be read: {exc.strerror}")]) from None
    except zipfile.BadZipFile as exc:
        raise InputError([Problem(where, "file", f"is not a {kind} ({exc})")]) from None
    if problems:
        raise InputError([Problem(where, "file", p) for p in problems])


def member_problems(members: list[zipfile.ZipInfo]) -> list[str]:
    """What is wrong with an archive's members, judged from its directory alone."""
    if len(members) > MAX_MEMBERS:
        return [f"holds {len(members)} files; an Office file this large is refused"]
    problems: list[str] = []
    total = sum(m.file_size for m in members)
    if total > MAX_TOTAL_BYTES:
        megabytes = MAX_TOTAL_BYTES // (1024 * 1024)
        problems.append(f"would unpack to {total:,} bytes, more than the {megabytes} MB allowed")
    for member in members:
        if _escapes(member.filename):
            problems.append(f"holds a file named {member.filename!r} outside its own folder")
        elif _is_link(member):
            problems.append(f"holds {member.filename!r}, a symbolic link; Office files hold none")
        elif _inflates(member):
            problems.append(
                f"holds {member.filename!r}, compressed more than {MAX_RATIO}:1 (a zip bomb?)"
            )
    return problems


def _escapes(name: str) -> bool:
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(_DRIVE.match(path)) or ".." in PurePosixPath(path).parts


def _is_link(member: zipfile.ZipInfo) -> bool:
    """Unix zip tools keep a link as a member holding the target's path, mode bits saying so."""
    return member.create_system == _UNIX and stat.S_ISLNK(member.external_attr >> 16)


def _inflates(member: zipfile.ZipInfo) -> bool:
    if member.file_size < RATIO_FROM_BYTES:
        return False
    return member.compress_size == 0 or member.file_size / member.compress_size > MAX_RATIO
