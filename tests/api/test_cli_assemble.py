"""`pitchmap assemble` run as a real subprocess on real library and prospect files.

Each run that reaches the model loads it (several seconds), so there are two such runs: one
that writes every prospect's page, one that must write nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_runner import Run, pitchmap
from tests.factories import write_library, write_prospect

AS_OF = "2026-11-24"


def library(root: Path) -> Path:
    """One approved block per slot, so what is chosen (and so what is filled) is certain."""
    return write_library(
        root,
        [
            {
                "id": "o-hello",
                "slot": "opening",
                "title": "Why now for {{ prospect.company }}",
                "body": 'Dear {{ contact.name | default("team") }}, fuel costs keep rising.',
            },
            {
                "id": "v-fuel",
                "slot": "value",
                "body": "Cut diesel spend with route planning, <b>{{ prospect.industry }}</b>.",
            },
            {
                "id": "p-fleet",
                "slot": "proof",
                "body": "Ask {{ rep.name }} ({{ rep.email }}) about a 400-truck fleet.",
            },
        ],
        slots=[
            {"id": "opening", "title": "Why now"},
            {"id": "value", "title": "What changes"},
            {"id": "proof", "title": "Proof"},
        ],
    )


@dataclass(frozen=True)
class Assembled:
    out: Path
    run: Run


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Assembled:
    root = tmp_path_factory.mktemp("assemble")
    prospects = root / "prospects"
    write_prospect(prospects, id="p-trucks", company="Contoso & Sons", industry="logistics")
    write_prospect(
        prospects, id="a-haulage", company="Fabrikam", contact={"name": "Dana Lee"}, industry="food"
    )
    run = pitchmap(
        root,
        "assemble",
        "--library",
        library(root / "lib"),
        "--prospects",
        prospects,
        "--out",
        "out",
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--rep-email",
        "sam@vendor.example",
        PITCHMAP_REP_NAME="Sam Rivera",
    )
    return Assembled(root / "out", run)


@pytest.mark.slow
def test_assemble_writes_one_page_per_prospect_and_prints_each_path(assembled: Assembled) -> None:
    run = assembled.run
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == ["out/a-haulage/index.html", "out/p-trucks/index.html"]
    written = sorted(p.relative_to(assembled.out) for p in assembled.out.rglob("*") if p.is_file())
    assert written == [Path("a-haulage/index.html"), Path("p-trucks/index.html")]


@pytest.mark.slow
def test_each_page_is_filled_for_its_prospect_and_rep(assembled: Assembled) -> None:
    trucks = (assembled.out / "p-trucks" / "index.html").read_text(encoding="utf-8")
    haulage = (assembled.out / "a-haulage" / "index.html").read_text(encoding="utf-8")
    assert '<h2 id="section-1">Why now for Contoso &amp; Sons</h2>' in trucks
    assert "Dear team, fuel costs keep rising." in trucks
    assert "Dear Dana Lee, fuel costs keep rising." in haulage
    assert "route planning, &lt;b&gt;logistics&lt;/b&gt;." in trucks
    assert "Ask Sam Rivera (sam@vendor.example) about a 400-truck fleet." in trucks
    ids = [line.split('"')[1] for line in trucks.splitlines() if "data-block-id=" in line]
    assert ids == ["o-hello", "v-fuel", "p-fleet"]
    assert "{{" not in trucks + haulage


@pytest.mark.slow
def test_a_placeholder_without_value_for_any_prospect_fails_and_writes_nothing(
    tmp_path: Path,
) -> None:
    lib = library(tmp_path / "lib")
    (lib / "blocks" / "o-hello.md").write_text(
        "---\nid: o-hello\nslot: opening\ntitle: Hello\nstatus: approved\n---\n"
        "Dear {{ contact.name }}, fuel costs keep rising.\n"
    )
    prospects = tmp_path / "prospects"
    write_prospect(prospects, id="p-named", contact={"name": "Dana Lee"}, industry="logistics")
    write_prospect(prospects, id="p-nameless", industry="logistics")

    run = pitchmap(
        tmp_path,
        "assemble",
        "--library",
        lib,
        "--prospects",
        prospects,
        "--out",
        "out",
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--rep-name",
        "Sam Rivera",
        "--rep-email",
        "sam@vendor.example",
    )

    assert run.code == 2
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {lib / 'blocks' / 'o-hello.md'}: body: placeholder 'contact.name' has no value "
        "for prospect 'p-nameless'; add | default(\"...\")"
    ]
    assert not (tmp_path / "out").exists()


def test_an_unknown_format_is_refused_naming_the_option_before_any_work(tmp_path: Path) -> None:
    lib = library(tmp_path / "lib")
    prospects = tmp_path / "prospects"
    write_prospect(prospects, id="p-trucks")

    run = pitchmap(
        tmp_path,
        "assemble",
        "--library",
        lib,
        "--prospects",
        prospects,
        "--out",
        "out",
        "--format",
        "html,bogus",
    )

    assert run.code == 2
    assert run.stdout == ""
    assert "--format" in run.stderr
    assert "'bogus'" in run.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "data").exists()
