"""Settings read once from the environment (`PITCHMAP_*`), with defaults that need no setup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: Path | None = None
    rep_name: str | None = None
    rep_email: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        model = env.get("PITCHMAP_MODEL")
        return cls(
            data_dir=Path(env.get("PITCHMAP_DATA_DIR") or ".pitchmap"),
            model=Path(model) if model else None,
            rep_name=env.get("PITCHMAP_REP_NAME") or None,
            rep_email=env.get("PITCHMAP_REP_EMAIL") or None,
        )
