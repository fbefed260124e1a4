"""Hostile or mistaken input on the installed `pitchmap` command: one line per problem naming
the file and the field, exit code 2 (bad input), no traceback, nothing written. Every run here
stops before the embedding model is loaded, so they are quick."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import Run, pitchmap
from tests.factories import write_library, write_prospect

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
