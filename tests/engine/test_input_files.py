"""Library and prospect paths that are not the small regular files they claim to be: a FIFO, a
folder, an oversized file, a block with too many passages. Each is one problem naming the file,
collected with the library's other problems, and never blocks or reads a file whole.

A FIFO is never opened here, so nothing writes to it; should a regression open one, a helper
opens its writing end after a few seconds, so the test fails on what was read instead of hanging.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine import load_library, load_prospects
from engine.files import MAX_INPUT_BYTES, FileRefusedError, read_text
from engine.library import MAX_PASSAGES
from tests.factories import (
    library_problems,
    prospect_problems,
    write_block,
    write_library,
    write_prospect,
)

BLOCKS = [{"id": "o-hello", "slot": "opening"}]


@contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A FIFO at `path`; a reader that opens it gets end-of-file after 3 s instead of waiting
    forever (the old code's hang becomes a wrong answer, so the test fails)."""
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        while not done.wait(3):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:  # ENXIO: nobody reads it, as it should be
                if exc.errno != errno.ENXIO:
                    raise

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()


def test_a_fifo_among_the_blocks_is_one_problem_beside_the_others(tmp_path: Path) -> None:
    library = write_library(tmp_path, [*BLOCKS, {"id": "v-lost", "slot": "nowhere"}])
    with fifo(library / "blocks" / "x.md"):
        found = library_problems(library)

    assert found[0] == ("v-lost.md", "slot", found[0][2])
    assert found[1:] == [("x.md", "file", "is not a regular file")]


def test_a_fifo_as_the_message_map_is_refused_unopened(tmp_path: Path) -> None:
    library = write_library(tmp_path, BLOCKS)
    (library / "message_map.yaml").unlink()
    with fifo(library / "message_map.yaml"):
        assert library_problems(library) == [("message_map.yaml", "file", "is not a regular file")]


def test_a_block_linked_to_a_device_is_refused_unread(tmp_path: Path) -> None:
    library = write_library(tmp_path, BLOCKS)
    # /dev/null, not /dev/zero, which the old code read until memory ran out; the CLI tests
    # use /dev/zero under a memory limit.
    (library / "blocks" / "link.md").symlink_to("/dev/null")

    assert library_problems(library) == [("link.md", "file", "is not a regular file")]


def test_read_text_refuses_dev_zero_without_reading_it() -> None:
    with pytest.raises(FileRefusedError, match=r"^is not a regular file$"):
        read_text(Path("/dev/zero"))


def test_a_folder_named_like_a_block_says_so(tmp_path: Path) -> None:
    library = write_library(tmp_path, BLOCKS)
    (library / "blocks" / "x.md").mkdir()

    assert library_problems(library) == [("x.md", "file", "is a folder, not a file")]


def test_a_block_file_over_the_limit_is_refused_by_size(tmp_path: Path) -> None:
    library = write_library(tmp_path, BLOCKS)
    write_block(library, {"id": "v-huge", "slot": "value", "body": "word " * MAX_INPUT_BYTES})

    assert library_problems(library) == [("v-huge.md", "file", "is larger than 256 KB")]


def test_a_block_just_under_the_limit_loads(tmp_path: Path) -> None:
    library = write_library(tmp_path, BLOCKS)
    path = write_block(library, {"id": "v-long", "slot": "value", "body": "x"})
    path.write_text(path.read_text() + "y" * (MAX_INPUT_BYTES - path.stat().st_size))

    assert path.stat().st_size == MAX_INPUT_BYTES
    assert load_library(library).block("v-long").body.endswith("y")


def test_a_block_with_too_many_passages_names_its_body(tmp_path: Path) -> None:
    rows = "".join(f"| {i} | v |\n" for i in range(MAX_PASSAGES))
    library = write_library(tmp_path, BLOCKS)
    write_block(
        library, {"id": "v-table", "slot": "value", "body": f"| a | b |\n|---|---|\n{rows}"}
    )
    write_block(library, {"id": "v-lost", "slot": "nowhere"})

    found = library_problems(library)

    assert [(file, field) for file, field, _ in found] == [
        ("v-lost.md", "slot"),
        ("v-table.md", "body"),
    ]
    assert found[1][2] == (
        f"has 1,002 passages (title, paragraphs, list items and table rows); "
        f"a block may have at most {MAX_PASSAGES:,}"
    )


def test_a_block_at_the_passage_limit_loads(tmp_path: Path) -> None:
    items = "".join(f"- item {i}\n" for i in range(MAX_PASSAGES - 1))  # plus the title
    library = write_library(tmp_path, [*BLOCKS, {"id": "v-list", "slot": "value", "body": items}])

    assert len(load_library(library).block("v-list").passages) == MAX_PASSAGES


def test_windows_line_endings_read_as_before(tmp_path: Path) -> None:
    library = write_library(tmp_path, [])
    (library / "blocks" / "o-crlf.md").write_bytes(
        b"---\r\nid: o-crlf\r\nslot: opening\r\ntitle: T\r\n---\r\nOne.\r\n\r\nTwo.\r\n"
    )

    block = load_library(library).block("o-crlf")

    assert block.source == (library / "blocks" / "o-crlf.md").read_text(encoding="utf-8")
    assert block.passages == ("T", "One.", "Two.")


def test_a_fifo_in_a_prospects_folder_is_reported_not_skipped(tmp_path: Path) -> None:
    write_prospect(tmp_path, id="p-a")
    with fifo(tmp_path / "b.yaml"):
        assert prospect_problems(tmp_path) == [("b.yaml", "file", "is not a regular file")]


def test_a_folder_named_like_a_prospect_is_reported_not_skipped(tmp_path: Path) -> None:
    write_prospect(tmp_path, id="p-a")
    (tmp_path / "x.yaml").mkdir()

    assert prospect_problems(tmp_path) == [("x.yaml", "file", "is a folder, not a file")]


def test_a_broken_link_in_a_prospects_folder_names_nothing_and_is_passed_over(
    tmp_path: Path,
) -> None:
    """Emacs keeps `.#p-a.yaml`, a link to nowhere, beside a profile while it is edited."""
    write_prospect(tmp_path, id="p-a")
    (tmp_path / ".#p-a.yaml").symlink_to("rep@laptop.1234:1700000000")

    assert [p.id for p in load_prospects(tmp_path)] == ["p-a"]


def test_a_fifo_given_as_the_prospect_exists_and_is_refused(tmp_path: Path) -> None:
    with fifo(tmp_path / "p.yaml") as path:
        assert prospect_problems(path) == [("p.yaml", "file", "is not a regular file")]


def test_a_prospect_linked_to_dev_null_exists_and_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.json").symlink_to("/dev/null")

    assert prospect_problems(tmp_path / "p.json") == [("p.json", "file", "is not a regular file")]


def test_a_prospect_file_over_the_limit_is_refused_by_size(tmp_path: Path) -> None:
    path = write_prospect(tmp_path, id="p-a", needs="word " * MAX_INPUT_BYTES)

    assert prospect_problems(path) == [("p-a.yaml", "file", "is larger than 256 KB")]


def test_a_missing_prospect_path_is_still_no_such_file(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")

    assert prospect_problems(tmp_path / "gone.yaml") == [
        ("gone.yaml", "prospects", "no such file or folder")
    ]
