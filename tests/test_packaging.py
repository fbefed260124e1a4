"""The wheel carries what pitchmap reads at run time: templates, masters and the demo library."""

from __future__ import annotations

import inspect
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[1]
NEEDED = [
    "templates/brand/master.pptx",
    "templates/brand/proposal.docx",
    "templates/web/document.html",
    "templates/web/document.css",
    "templates/pages/base.html",
    "fixtures/bastion/library/message_map.yaml",
    "fixtures/bastion/prospects/p-northwind-bank.yaml",
    "fixtures/bastion/labels.yaml",
    "engine/select.py",
    "api/cli.py",
    "tracker/migrations/env.py",
    "tracker/migrations/versions/0001_initial.py",
]


@pytest.mark.slow
def test_the_wheel_holds_templates_masters_and_the_demo_library(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pitchmap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []
    assert not [n for n in names if n.startswith(("tests/", "bench/", ".venv/"))]


def test_the_engine_public_surface_is_exactly_its_all() -> None:
    """Callers use `from engine import ...`: a refactor must not quietly change that list."""
    public = {
        name
        for name in dir(engine)
        if not name.startswith("_") and not inspect.ismodule(getattr(engine, name))
    }
    assert public == set(engine.__all__)
