"""Converting generated files to PDF with LibreOffice, as a reader's machine would show them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

_PAGE = re.compile(rb"/Type\s*/Page(?!s)")


def to_pdf(source: Path, tmp_path: Path) -> Path:
    """The PDF LibreOffice makes of `source` (its own throwaway profile, 120 s at most)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out = tmp_path / "pdf"
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pdf = out / f"{source.stem}.pdf"
    assert pdf.is_file(), f"LibreOffice wrote no PDF for {source.name}"
    return pdf


def page_count(pdf: Path) -> int:
    """Pages as pdfinfo reports them, else by counting the PDF's page objects."""
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is not None:
        info = subprocess.run([pdfinfo, str(pdf)], check=True, capture_output=True, text=True)
        match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
        assert match is not None, info.stdout
        return int(match.group(1))
    return len(_PAGE.findall(pdf.read_bytes()))
