"""Writing drafts into a library's `blocks/` folder: all of them, or none, and never over a file.

The library folder is marketing's work, so a file already there is never replaced, not even
by a second import racing this one: each file is written in full under a temporary name,
flushed to disk, then given its real name with a hard link, which fails if the name is
taken. `engine.files.write_atomic` renames over its target, which is exactly what must not
happen here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from engine.errors import InputError, Problem
from engine.importer.drafts import Draft

_REFUSE = "already exists; import never overwrites a block file"


def write_drafts(drafts: Sequence[Draft], library_root: Path) -> list[Path]:
    """Write each draft to `<library_root>/blocks/<id>.md`; return the paths, in draft order.

    Raises InputError, having written nothing, when any target already exists or any file
    cannot be written (files this call created before the failure are removed again).
    """
    folder = library_root / "blocks"
    targets = [(folder / d.file_name, d.text().encode("utf-8")) for d in drafts]
    names = [path for path, _ in targets]
    taken = [p for p in names if _exists(p)] + [p for i, p in enumerate(names) if p in names[:i]]
    if taken:
        raise InputError([Problem(str(p), "file", _REFUSE) for p in dict.fromkeys(taken)])
    written: list[Path] = []
    try:
        for path, content in targets:
            _create(path, content)
            written.append(path)
        _sync_folder(folder)
    except FileExistsError as exc:
        _remove(written)
        raise InputError([Problem(str(exc.filename or folder), "file", _REFUSE)]) from None
    except OSError as exc:
        _remove(written)
        where = str(exc.filename or folder)
        raise InputError([Problem(where, "file", f"cannot be written: {exc.strerror}")]) from None
    return written


def _exists(path: Path) -> bool:
    """Whether the name is taken: a file, a folder, or a link (even one pointing nowhere)."""
    return path.is_symlink() or path.exists()


def _create(path: Path, content: bytes) -> None:
    """Create `path` holding `content`, or raise FileExistsError; never a half-written file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: the temporary name is ours alone; 0o666 lets the umask decide who may read.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails with FileExistsError if the name was taken
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        except OSError:  # a filesystem without hard links (FAT, some network shares)
            _create_in_place(path, content)
    finally:
        temporary.unlink(missing_ok=True)


def _create_in_place(path: Path, content: bytes) -> None:
    """Exclusive creation without the temporary name; a failed write removes what it made."""
    with path.open("xb") as file:
        try:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def _sync_folder(folder: Path) -> None:
    """Make the new names durable too: a crash right after import keeps the files."""
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
