"""Writing files so that a crash leaves the previous version, never half of a new one nor
part of a set of them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO


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
