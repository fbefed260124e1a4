"""`pitchmap assemble` stopped midway by a write that really fails: all documents or none.

A full disk cannot be made on demand, so the command runs under a file-size limit instead
(RLIMIT_FSIZE, with SIGXFSZ ignored so the write fails with EFBIG rather than killing the
process): the pages (about 4 KB) fit under it, the decks (about 35 KB) do not, and the first
prospect's page is due before its deck, so a command that wrote as it went would already have
replaced that page when the deck fails. Three runs load the model: the earlier, successful
one, the one failing over its files and one failing into an --out that did not exist.
"""

from __future__ import annotations

import resource
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.test_cli_assemble import AS_OF, library
from tests.cli_runner import Run, pitchmap
from tests.factories import write_prospect

LIMIT = 16 * 1024


def under_file_size_limit() -> None:
    """Run in the child before the command: a file growing past LIMIT fails as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def assemble(root: Path, rep_name: str, limited: bool, out: str = "out") -> Run:
    """Each prospect's page then deck, filled for `rep_name`, so the two runs' files differ."""
    return pitchmap(
        root,
        "assemble",
        "--library",
        root / "lib",
        "--prospects",
        root / "prospects",
        "--out",
        out,
        "--as-of",
        AS_OF,
        "--format",
        "html,pptx",
        "--rep-name",
        rep_name,
        "--rep-email",
        "rep@vendor.example",
        preexec_fn=under_file_size_limit if limited else None,
    )


def contents(folder: Path) -> dict[Path, bytes]:
    """Every entry under `folder`, hidden ones too, with a file's bytes (b"" for a folder)."""
    return {
        p.relative_to(folder): p.read_bytes() if p.is_file() else b"" for p in folder.rglob("*")
    }


@dataclass(frozen=True)
class FailedRun:
    earlier: dict[Path, bytes]
    after: dict[Path, bytes]
    run: Run
    fresh_out: Path
    fresh_run: Run


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    root = tmp_path_factory.mktemp("assemble-atomic")
    library(root / "lib")
    write_prospect(root / "prospects", id="a-haulage", company="Fabrikam", industry="food")
    write_prospect(root / "prospects", id="p-trucks", company="Contoso", industry="logistics")
    earlier_run = assemble(root, "Sam Rivera", limited=False)
    assert earlier_run.code == 0, earlier_run.stderr
    earlier = contents(root / "out")
    sizes = {path.name: len(content) for path, content in earlier.items()}
    assert sizes["index.html"] < LIMIT < sizes["deck.pptx"], "the limit must fall between them"
    run = assemble(root, "Alex Kim", limited=True)
    fresh_run = assemble(root, "Alex Kim", limited=True, out="fresh/out")
    return FailedRun(earlier, contents(root / "out"), run, root / "fresh", fresh_run)


@pytest.mark.slow
def test_a_write_failing_midway_exits_2_with_one_line_naming_out_and_no_traceback(
    failed: FailedRun,
) -> None:
    run = failed.run
    assert run.code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert "--out" in errors[0]
    assert "deck.pptx" in errors[0]
    assert "cannot be written" in errors[0]
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_write_failing_midway_prints_no_path_as_none_was_put_in_place(
    failed: FailedRun,
) -> None:
    assert failed.run.stdout == ""


@pytest.mark.slow
def test_a_write_failing_midway_leaves_the_earlier_runs_files_byte_identical_and_nothing_else(
    failed: FailedRun,
) -> None:
    assert sorted(failed.earlier) == [
        Path("a-haulage"),
        Path("a-haulage/deck.pptx"),
        Path("a-haulage/index.html"),
        Path("p-trucks"),
        Path("p-trucks/deck.pptx"),
        Path("p-trucks/index.html"),
    ]
    # No file of the failed run, no staging folder or temporary file left beside them.
    assert failed.after == failed.earlier


@pytest.mark.slow
def test_a_write_failing_midway_into_a_new_out_leaves_no_folder_behind(failed: FailedRun) -> None:
    assert failed.fresh_run.code == 2, failed.fresh_run.stderr
    assert failed.fresh_run.stdout == ""
    assert not failed.fresh_out.exists()
