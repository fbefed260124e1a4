"""Hostile or mistaken input on the installed `pitchmap` command: one line per problem naming
the file and the field, exit code 2 (bad input), no traceback, nothing written. Every run here
stops before the embedding model is loaded, so they are quick."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import Run, pitchmap
from tests.factories import write_block, write_library, write_prospect

BLOCKS = [
    {"id": "o-hello", "slot": "opening"},
    {"id": "v-fuel", "slot": "value"},
    {"id": "p-fleet", "slot": "proof"},
]


def errors_of(run: Run) -> list[str]:
    """stderr's lines, after checking it holds only `error:` lines and no Python error."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), run.stderr
    return lines


def select(cwd: Path, library: Path, prospects: Path) -> Run:
    return pitchmap(cwd, "select", "--library", library, "--prospects", prospects, "--json")


def test_an_impossible_expiry_date_is_one_problem_among_the_library_s_others(
    tmp_path: Path,
) -> None:
    library = write_library(tmp_path / "lib", [*BLOCKS, {"id": "v-lost", "slot": "nowhere"}])
    dated = library / "blocks" / "o-hello.md"
    dated.write_text(dated.read_text().replace("status: approved", "expires: 2026-13-45"))

    run = pitchmap(tmp_path, "index", "--library", library)

    assert run.code == 2
    assert run.stdout == ""
    errors = errors_of(run)
    assert f"error: {dated}: expires: at line 4 '2026-13-45' is not a valid date" in errors[0]
    assert errors[1].startswith(f"error: {library / 'blocks' / 'v-lost.md'}: slot: unknown")
    assert len(errors) == 2
    assert not (tmp_path / "data").exists()


def test_an_impossible_date_as_the_message_map_s_name_names_the_field(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    message_map = library / "message_map.yaml"
    message_map.write_text(message_map.read_text().replace("name: Test pitch", "name: 2026-13-45"))

    run = pitchmap(tmp_path, "index", "--library", library)

    assert run.code == 2
    [error] = errors_of(run)
    assert error.startswith(f"error: {message_map}: name: at line 1 '2026-13-45' is not a valid")


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        # PyYAML matches its date pattern, then cannot build the date.
        ("stage: 2026-13-45\n", "stage: at line 3 '2026-13-45' is not a valid date"),
        # Endless to anything walking the profile.
        ("a: &a [*a]\n", "a[0]: at line 3 contains itself (a recursive alias)"),
        # PyYAML would keep the second: the prospect would be pitched as p-b.
        ("id: p-b\n", "id: at line 3 repeats a key first given at line 1"),
    ],
)
def test_a_prospect_file_pyyaml_would_misread_is_refused_naming_file_and_field(
    tmp_path: Path, profile: str, problem: str
) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    prospect = tmp_path / "p.yaml"
    prospect.write_text("id: p-a\ncompany: Acme\n" + profile)

    run = select(tmp_path, library, prospect)

    assert run.code == 2
    assert run.stdout == ""
    [error] = errors_of(run)
    assert error.startswith(f"error: {prospect}: {problem}")


def test_assemble_into_an_existing_file_is_refused_naming_out_and_writes_nothing(
    tmp_path: Path,
) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    prospect = write_prospect(tmp_path / "prospects", id="p-a")
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    args = ("assemble", "--library", library, "--prospects", prospect, "--format", "html")

    run = pitchmap(tmp_path, *args, "--out", afile)

    assert run.code == 2
    assert run.stdout == ""
    assert errors_of(run) == [f"error: {afile}: --out: is a file, not a folder"]
    assert afile.read_text() == "not a folder"
    assert not (tmp_path / "data").exists()


def test_revoking_an_id_too_large_for_the_database_is_an_unknown_key(tmp_path: Path) -> None:
    huge = "99999999999999999999999"

    too_large = pitchmap(tmp_path, "keys", "revoke", huge)
    unknown = pitchmap(tmp_path, "keys", "revoke", "12345")

    assert errors_of(too_large) == [f"error: no API key with id {huge}"]
    assert errors_of(unknown) == ["error: no API key with id 12345"]
    assert too_large.code == unknown.code != 0
    assert too_large.stdout == unknown.stdout == ""


def quick(cwd: Path, *args: str | Path) -> Run:
    """`pitchmap args...` that must answer within seconds and in bounded memory: a FIFO read
    would wait forever and /dev/zero read whole would fill the memory, so either regression
    fails here (a timeout, or a MemoryError's traceback) instead of hanging the suite."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))

    return pitchmap(cwd, *args, preexec_fn=limit_memory, timeout=60)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("blocks/x.md", os.mkfifo),
        ("blocks/x.md", lambda path: path.symlink_to("/dev/zero")),
        ("message_map.yaml", os.mkfifo),
        ("message_map.yaml", lambda path: path.symlink_to("/dev/zero")),
    ],
    ids=["block-fifo", "block-dev-zero", "map-fifo", "map-dev-zero"],
)
def test_a_library_file_that_is_not_a_regular_file_is_one_line_at_once(
    tmp_path: Path, name: str, make: Callable[[Path], object]
) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    (library / name).unlink(missing_ok=True)
    make(library / name)

    run = quick(tmp_path, "index", "--library", library)

    assert run.code == 2
    assert run.stdout == ""
    assert errors_of(run) == [f"error: {library / name}: file: is not a regular file"]
    assert not (tmp_path / "data").exists()


def test_an_oversized_block_is_refused_by_its_size(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    huge = write_block(library, {"id": "v-huge", "slot": "value", "body": "word " * 200_000})

    run = quick(tmp_path, "index", "--library", library)

    assert run.code == 2
    assert errors_of(run) == [f"error: {huge}: file: is larger than 256 KB"]


@pytest.mark.parametrize(
    "make",
    [os.mkfifo, lambda path: path.symlink_to("/dev/zero")],
    ids=["fifo", "dev-zero"],
)
def test_a_prospect_path_that_is_not_a_regular_file_is_named_as_such(
    tmp_path: Path, make: Callable[[Path], object]
) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    prospect = tmp_path / "p.yaml"
    make(prospect)

    run = quick(tmp_path, "select", "--library", library, "--prospects", prospect, "--json")

    assert run.code == 2
    assert run.stdout == ""
    assert errors_of(run) == [f"error: {prospect}: file: is not a regular file"]


def test_a_fifo_in_a_prospects_folder_is_reported_not_skipped(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", BLOCKS)
    folder = tmp_path / "prospects"
    write_prospect(folder, id="p-a")
    os.mkfifo(folder / "b.yaml")

    run = quick(tmp_path, "select", "--library", library, "--prospects", folder, "--json")

    assert run.code == 2
    assert errors_of(run) == [f"error: {folder / 'b.yaml'}: file: is not a regular file"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("deck.pptx", ("import", "deck.pptx", "--library", "lib")),
        ("o.csv", ("outcomes", "import", "o.csv")),
    ],
    ids=["deck", "outcomes"],
)
def test_a_fifo_given_to_an_import_is_refused_unopened(
    tmp_path: Path, name: str, args: tuple[str, ...]
) -> None:
    write_library(tmp_path / "lib", BLOCKS)
    os.mkfifo(tmp_path / name)

    run = quick(tmp_path, *args)

    assert run.code == 2
    assert run.stdout == ""
    assert errors_of(run) == [f"error: {name}: file: is not a regular file"]
