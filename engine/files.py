"""Reading input files only when they are what they claim to be, and writing files so that a
crash leaves the previous version, never half of a new one nor part of a set of them."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

# Library and prospect files are a few KB (the largest fixture block is 2.5 KB, the largest
# message map and profile under 1 KB): a hundred times that is still a mistake or an attack.
MAX_INPUT_BYTES = 256 * 1024


class FileRefusedError(OSError):
    """A path that is not a regular file, or a file over its limit: refused, never read.

    Its text (`str(exc)`) is the whole message, e.g. "is not a regular file"; `strerror` is None.
    """


def open_regular(path: Path) -> BinaryIO:
    """Open `path` for reading in binary, refusing anything but a regular file (after symbolic
    links): a FIFO would block the open or the read forever, a device such as /dev/zero never
    ends. The open cannot block (O_NONBLOCK), and the file opened is checked again, so a path
    swapped after the first check is refused too. OSErrors (missing, no permission) propagate."""
    _refuse_unless_regular(os.stat(path).st_mode)  # before opening: a device's open may act
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _refuse_unless_regular(os.fstat(fd).st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """A regular file's UTF-8 text, as `Path.read_text(encoding="utf-8")` gives it, refused
    (FileRefusedError) when over `limit` bytes without reading more than limit + 1 of them."""
    with open_regular(path) as file:
        if os.fstat(file.fileno()).st_size > limit:
            raise FileRefusedError(f"is larger than {_size(limit)}")
        data = file.read(limit + 1)  # the file may have grown since fstat
    if len(data) > limit:
        raise FileRefusedError(f"is larger than {_size(limit)}")
    # Universal newlines, as text mode reads them.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _refuse_unless_regular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise FileRefusedError("is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise FileRefusedError("is not a regular file")


def _size(limit: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit:,} bytes"


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide outputs from a web server
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    """Read once at import: os.umask can only be read by setting it, which is not thread-safe."""
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _read_umask()


class StagedFiles:
    """A set of files that lands together or not at all, as a run's documents must.

    Every file is first written into a hidden staging folder inside `root` (so on the same
    filesystem), then each is renamed into place. Only writing takes space, so a full disk
    stops the run while nothing is in place yet; a rename needs none, so once all files are
    written they can all be placed. Files of an earlier run at the same paths are replaced
    only in that last step, and so survive a run that fails before it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._created: list[Path] = []  # folders made for this set, outermost first
        self._staged: dict[Path, Path] = {}  # destination -> its copy in the staging folder
        self._folder: Path | None = None

    def __enter__(self) -> StagedFiles:
        try:
            self._make_folders(self.root)
            self._folder = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        except BaseException:
            self._remove_empty_folders()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Remove the staging folder, and on failure the folders made for files never placed,
        so a failed run leaves --out as it found it."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        if kind is not None:
            self._remove_empty_folders()

    def write(self, path: Path, content: bytes) -> None:
        """Stage `content` for `path`. Its folders are made now: a folder takes space too, so
        it belongs to the step allowed to fail."""
        if self._folder is None:
            raise RuntimeError("StagedFiles.write outside its `with` block")
        self._make_folders(path.parent)
        staged = self._folder / str(len(self._staged))
        staged.write_bytes(content)  # a new file follows the umask, as a user expects
        self._staged[path] = staged

    def place(self, path: Path) -> None:
        """Rename the staged file over `path`: one step that needs no new space."""
        os.replace(self._staged.pop(path), path)

    def _make_folders(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self._created.extend(reversed(missing))

    def _remove_empty_folders(self) -> None:
        for folder in reversed(self._created):
            with suppress(OSError):  # not empty: something else put a file there
                folder.rmdir()
