"""Running the installed `pitchmap` command as a user would, in a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PITCHMAP = Path(sys.executable).parent / "pitchmap"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def pitchmap(
    cwd: Path,
    *args: str | Path,
    preexec_fn: Callable[[], object] | None = None,
    timeout: float = 300,
    **env: str,
) -> Run:
    """Run `pitchmap args...` in `cwd`, its data folder `cwd/data`; a model load fits in 300 s.

    `preexec_fn` runs in the child before the command starts, to give it the limits (e.g. a
    file-size limit) under which a real write fails, without mocking the command's code.
    `timeout` is shorter where a command must answer at once (a hang is the regression).
    """
    done = subprocess.run(
        [str(PITCHMAP), *map(str, args)],
        env={**os.environ, "PITCHMAP_DATA_DIR": str(cwd / "data"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )
    return Run(done.returncode, done.stdout, done.stderr)
