"""`pitchmap import` run as a real subprocess on real decks and a real library folder.

Import needs no embedding model, so these runs are quick: each one is a fresh process, as a
marketer's would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation

from engine import load_library
from tests.cli_runner import pitchmap
from tests.factories import write_block, write_library


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder holding a library (one approved block) and a two-slide deck."""
    write_library(tmp_path / "lib", [{"id": "o-kept", "slot": "opening"}])
    prs = Presentation()
    for title, body in (("Why now", "Fuel costs keep rising."), ("Proof from Contoso", "9 to 2")):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    prs.save(str(tmp_path / "deck.pptx"))
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "lib" / "blocks").iterdir())}


def test_import_writes_draft_blocks_and_prints_one_line_per_file(folder: Path) -> None:
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "lib/blocks/deck-why-now.md  slot=opening  title=Why now",
        "lib/blocks/deck-proof-from-contoso.md  slot=proof  title=Proof from Contoso",
    ]
    assert "slots were guessed" in run.stderr
    library = load_library(folder / "lib")
    assert {b.id: b.status for b in library.blocks} == {
        "deck-proof-from-contoso": "draft",
        "deck-why-now": "draft",
        "o-kept": "approved",
    }


def test_slot_option_puts_every_draft_in_that_slot(folder: Path) -> None:
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib", "--slot", "value")
    assert run.code == 0, run.stderr
    assert [line.split("  ")[1] for line in run.stdout.splitlines()] == ["slot=value"] * 2
    assert "guessed" not in run.stderr


def test_a_second_import_adds_new_drafts_and_never_changes_the_first(folder: Path) -> None:
    assert pitchmap(folder, "import", "deck.pptx", "--library", "lib").code == 0
    (folder / "lib" / "blocks" / "deck-why-now.md").write_text(
        "---\nid: deck-why-now\nslot: opening\ntitle: Edited\nstatus: approved\n---\nEdited.\n"
    )
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 0, run.stderr
    assert [line.split("  ")[0] for line in run.stdout.splitlines()] == [
        "lib/blocks/deck-why-now-2.md",
        "lib/blocks/deck-proof-from-contoso-2.md",
    ]
    after = files(folder)
    assert {name: after[name] for name in before} == before


def test_unknown_slot_exits_2_naming_slot_and_writes_nothing(folder: Path) -> None:
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib", "--slot", "closing")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: deck.pptx: --slot: unknown slot 'closing' (the message map has: opening, value, "
        "proof)"
    ]
    assert files(folder) == before


def test_a_text_file_named_pptx_exits_2_naming_the_file(folder: Path) -> None:
    (folder / "fake.pptx").write_text("not a deck")
    before = files(folder)
    run = pitchmap(folder, "import", "fake.pptx", "--library", "lib")
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "error: fake.pptx: file: is not a PowerPoint file (not a zip package)"
    ]
    assert files(folder) == before


def test_a_broken_library_is_refused_before_anything_is_written(folder: Path) -> None:
    write_block(folder / "lib", {"id": "v-bad", "slot": "nowhere"})
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 2
    assert run.stdout == ""
    assert "lib/blocks/v-bad.md: slot: unknown slot 'nowhere'" in run.stderr
    assert files(folder) == before


def test_import_needs_no_embedding_model(folder: Path) -> None:
    run = pitchmap(
        folder, "import", "deck.pptx", "--library", "lib", PITCHMAP_MODEL=str(folder / "none")
    )
    assert run.code == 0, run.stderr
    assert not (folder / "data").exists()
