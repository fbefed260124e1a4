"""The installed `pitchmap` command, run as a real subprocess on real library and prospect files.

Each run that reaches the model loads it (several seconds), so the runs are few and shared:
one module-scoped `select --json` run is checked from several angles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.factories import write_block, write_library, write_prospect

pytestmark = pytest.mark.slow

PITCHMAP = Path(sys.executable).parent / "pitchmap"
AS_OF = "2026-11-24"
KEYS = {"prospect", "sections", "gaps", "unanswered_needs", "alternatives"}
FUEL = "Cut diesel spend: route planning and idle alerts lower fuel costs for every truck."
ODD_NEED = "We must find kosher catering for the penguin researchers at our Antarctic station."


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def pitchmap(data_dir: Path, *args: str | Path) -> Run:
    env = {**os.environ, "PITCHMAP_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [str(PITCHMAP), *map(str, args)],
        env=env,
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def small_library(root: Path) -> Path:
    """opening has only a draft block (a gap); value (count 2) and proof have approved ones."""
    return write_library(
        root,
        [
            {"id": "o-draft", "slot": "opening", "status": "draft", "body": "Fuel prices bite."},
            {"id": "v-fuel", "slot": "value", "body": FUEL},
            {"id": "v-payroll", "slot": "value", "body": "Payroll runs itself every month."},
            {"id": "v-safety", "slot": "value", "body": "Fewer accidents with driver coaching."},
            {"id": "p-fleet", "slot": "proof", "body": "A 400-truck fleet cut fuel costs 12%."},
            {"id": "p-bank", "slot": "proof", "body": "A regional bank closed its books faster."},
        ],
    )


def prospects_folder(folder: Path) -> Path:
    """Two prospects whose file-name order differs from their id order."""
    write_prospect(
        folder,
        id="b-trucks",
        industry="logistics",
        needs=f"Our diesel bill is out of control. {ODD_NEED}",
    )
    (folder / "a-first.json").write_text(
        json.dumps(
            {"id": "z-haulage", "company": "Contoso Haulage", "needs": "Drivers crash too often."}
        )
    )
    (folder / "notes.txt").write_text("not a prospect")
    return folder


@dataclass(frozen=True)
class SelectRuns:
    library: Path
    prospects: Path
    data_dir: Path
    first: Run
    second: Run


@pytest.fixture(scope="module")
def select_runs(tmp_path_factory: pytest.TempPathFactory) -> SelectRuns:
    root = tmp_path_factory.mktemp("select")
    library = small_library(root / "lib")
    prospects = prospects_folder(root / "prospects")
    data_dir = root / "data"
    args = ("select", "--library", library, "--prospects", prospects, "--as-of", AS_OF, "--json")
    first = pitchmap(data_dir, *args)
    second = pitchmap(data_dir, *args)
    return SelectRuns(library, prospects, data_dir, first, second)


def test_select_json_prints_one_contract_object_per_prospect_in_file_name_order(
    select_runs: SelectRuns,
) -> None:
    run = select_runs.first
    assert run.code == 0, run.stderr
    assert run.stdout.endswith("\n")
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    objects = [json.loads(line) for line in lines]
    assert [o["prospect"] for o in objects] == ["z-haulage", "b-trucks"]
    for obj in objects:
        assert set(obj) == KEYS
        assert obj["gaps"] == ["opening"]
        sections = obj["sections"]
        assert [s["slot"] for s in sections] == ["value", "value", "proof"]
        for section in sections:
            assert set(section) == {"slot", "block_id", "score", "why"}
            assert isinstance(section["score"], float)
            assert isinstance(section["why"], str) and section["why"]
        values = [s["block_id"] for s in sections if s["slot"] == "value"]
        assert len(set(values)) == 2
        assert set(values) <= {"v-fuel", "v-payroll", "v-safety"}
        assert sections[2]["block_id"] in {"p-fleet", "p-bank"}
        assert "o-draft" not in json.dumps(obj)
        assert set(obj["alternatives"]) == {"value", "proof"}
        for slot, alternatives in obj["alternatives"].items():
            chosen = {s["block_id"] for s in sections if s["slot"] == slot}
            assert len(alternatives) == 1  # three value blocks, two proof blocks
            for alt in alternatives:
                assert set(alt) == {"block_id", "score"}
                assert isinstance(alt["score"], float)
                assert alt["block_id"] not in chosen
        for need in obj["unanswered_needs"]:
            assert set(need) == {"need", "best_score"}
            assert isinstance(need["need"], str)
            assert isinstance(need["best_score"], float)


def test_select_json_picks_by_needs_and_reports_the_need_nothing_answers(
    select_runs: SelectRuns,
) -> None:
    objects = {o["prospect"]: o for o in map(json.loads, select_runs.first.stdout.splitlines())}
    trucks, haulage = objects["b-trucks"], objects["z-haulage"]
    assert "v-fuel" in [s["block_id"] for s in trucks["sections"]]
    assert [s["block_id"] for s in trucks["sections"] if s["slot"] == "proof"] == ["p-fleet"]
    unanswered = [n["need"] for n in trucks["unanswered_needs"]]
    assert unanswered == [ODD_NEED]
    assert trucks["unanswered_needs"][0]["best_score"] < 0.45
    assert "v-safety" in [s["block_id"] for s in haulage["sections"]]


def test_select_stdout_holds_only_the_json_lines_and_progress_goes_to_stderr(
    select_runs: SelectRuns,
) -> None:
    run = select_runs.first
    for line in run.stdout.splitlines():
        assert line.startswith("{") and line.endswith("}")
        json.loads(line)
    assert "embedding Test pitch" in run.stderr
    assert "embedding" not in run.stdout


def test_the_readable_table_prints_needs_as_written_even_when_they_look_like_markup(
    select_runs: SelectRuns, tmp_path: Path
) -> None:
    """Without --json the table goes through rich: a need holding "[/x]" once stopped the
    command with a MarkupError, and "[bold]" would have been swallowed."""
    need = "Our budget is [bold]tight[/bold] and [/weird] tags close nothing [link=x]"
    prospect = write_prospect(tmp_path, id="p-brackets", needs=need)
    library = select_runs.library
    run = pitchmap(select_runs.data_dir, "select", "--library", library, "--prospects", prospect)
    assert run.code == 0, run.stderr
    assert "[bold]tight[/bold]" in run.stdout and "[/weird]" in run.stdout


def test_select_twice_gives_byte_identical_output(select_runs: SelectRuns) -> None:
    assert select_runs.second.code == 0, select_runs.second.stderr
    assert select_runs.second.stdout == select_runs.first.stdout


def test_a_broken_library_fails_with_one_line_per_problem_and_writes_no_index(
    tmp_path: Path,
) -> None:
    library = write_library(tmp_path / "lib", [{"id": "v-ok", "slot": "value", "body": FUEL}])
    unknown = write_block(library, {"id": "x-unknown", "slot": "pricing", "body": "Cheap."})
    untitled = library / "blocks" / "x-untitled.md"
    untitled.write_text("---\nid: x-untitled\nslot: value\nstatus: approved\n---\nNo title.\n")
    data_dir = tmp_path / "data"

    run = pitchmap(data_dir, "index", "--library", library)

    assert run.code != 0
    assert run.stdout == ""
    problems = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(problems) == 2, run.stderr
    assert f"{unknown}: slot:" in problems[0] and "pricing" in problems[0]
    assert f"{untitled}: title:" in problems[1]
    assert not [p for p in (data_dir / "index").rglob("*") if p.is_file()]


@dataclass(frozen=True)
class BadProspectRun:
    broken: Path
    nameless: Path
    data_dir: Path
    run: Run


@pytest.fixture(scope="module")
def bad_prospects(tmp_path_factory: pytest.TempPathFactory) -> BadProspectRun:
    """One prospect file that is not YAML, one without a company, in a single run."""
    root = tmp_path_factory.mktemp("bad-prospects")
    library = small_library(root / "lib")
    prospects = root / "prospects"
    prospects.mkdir()
    broken = prospects / "broken.yaml"
    broken.write_text("id: p-broken\ncompany: [unclosed\n")
    nameless = prospects / "nameless.json"
    nameless.write_text(json.dumps({"id": "p-nameless", "needs": "Lower costs."}))
    data_dir = root / "data"
    run = pitchmap(data_dir, "select", "--library", library, "--prospects", prospects, "--json")
    return BadProspectRun(broken, nameless, data_dir, run)


def test_bad_prospect_files_fail_naming_the_file_and_the_field(
    bad_prospects: BadProspectRun,
) -> None:
    run = bad_prospects.run
    assert run.code != 0
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, run.stderr
    assert errors[0].startswith(f"error: {bad_prospects.broken}: file: invalid YAML")
    assert errors[1] == f"error: {bad_prospects.nameless}: company: is required and must be text"
    assert not bad_prospects.data_dir.exists()


def test_each_prospect_problem_is_exactly_one_line_of_stderr(
    bad_prospects: BadProspectRun,
) -> None:
    problems = [line for line in bad_prospects.run.stderr.splitlines() if line.strip()]
    assert len(problems) == 2, bad_prospects.run.stderr


def test_an_impossible_as_of_date_is_refused(tmp_path: Path) -> None:
    library = small_library(tmp_path / "lib")
    prospects = prospects_folder(tmp_path / "prospects")
    data_dir = tmp_path / "data"

    run = pitchmap(
        data_dir, "select", "--library", library, "--prospects", prospects, "--as-of", "2026-13-01"
    )

    assert run.code != 0
    assert run.stdout == ""
    assert "--as-of" in run.stderr
    assert not data_dir.exists()


def test_a_library_name_that_looks_like_markup_is_shown_as_written(tmp_path: Path) -> None:
    library = small_library(tmp_path / "lib")
    message_map = library / "message_map.yaml"
    data = yaml.safe_load(message_map.read_text())
    message_map.write_text(yaml.safe_dump({**data, "name": "Acme [/x] pitch"}))

    run = pitchmap(tmp_path / "data", "index", "--library", library)

    assert run.code == 0, run.stderr
    assert "embedding Acme [/x] pitch" in run.stderr


def test_index_prints_a_one_line_summary_and_a_second_run_embeds_nothing(tmp_path: Path) -> None:
    library = small_library(tmp_path / "lib")
    data_dir = tmp_path / "data"

    first = pitchmap(data_dir, "index", "--library", library)
    second = pitchmap(data_dir, "index", "--library", library)

    assert first.code == 0, first.stderr
    assert second.code == 0, second.stderr
    assert len(first.stdout.splitlines()) == 1
    assert first.stdout.startswith("indexed 6 blocks: 6 embedded, 0 from cache, 6 index entries")
    assert second.stdout.splitlines() == [
        "indexed 6 blocks: 0 embedded, 6 from cache, 0 index entries written, 0 removed"
    ]
    assert [p for p in (data_dir / "index").rglob("*") if p.is_file()]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    run = pitchmap(tmp_path / "data", "--help")
    assert run.code == 0, run.stderr
    assert "select" in run.stdout
    assert "index" in run.stdout
    assert not (tmp_path / "data").exists()
