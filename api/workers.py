"""The app each worker process of `pitchmap serve` serves, and what the processes share.

With `--workers N` uvicorn starts every worker as a fresh interpreter that builds its app by
calling `worker_app`; what `serve` was told travels in the environment. By then the serving
process has migrated the database, embedded the library and stored it (api/cli.py), so each
worker finds the schema current (its own migration is a no-op under the migration lock), the
embeddings in the data folder's cache (it loads its own index from there) and the library
stored (its own import changes nothing). Nothing a worker keeps in memory is needed by
another: sessions, sign-in attempts, one-time codes, heartbeats and the webhook queue all live
in the database.

Nothing heavy is imported at module level, so that the supervising process never imports
prometheus_client: that reads `PROMETHEUS_MULTIPROC_DIR` once, when first imported, and the
workers must find it set from their start (`share_metrics`).
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp

LIBRARY_ENV: Final = "PITCHMAP_WORKER_LIBRARY"
METRICS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
METRICS_FOLDER: Final = "metrics"


def share_metrics(data_dir: Path) -> None:
    """Point the workers about to start at one empty folder for their metrics
    (`<data dir>/metrics`): one server per data folder, its counts starting at zero."""
    folder = (data_dir / METRICS_FOLDER).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[METRICS_ENV] = str(folder)


def hand_over(library: Path | None) -> None:
    """Tell the workers about to start which library to serve."""
    os.environ[LIBRARY_ENV] = str(library.resolve()) if library is not None else ""


def worker_app() -> ASGIApp:
    """uvicorn's app factory in each worker process."""
    from api.app import create_app
    from api.settings import Settings

    library = os.environ.get(LIBRARY_ENV) or None
    return serving(create_app(Settings.from_env(), Path(library) if library else None))


def serving(app: Litestar) -> ASGIApp:
    """The app as a server process serves it for the rest of its life: measured and logged
    (api/observe.py), warnings logged too, and counted among the workers in the metrics."""
    from api.logs import log_warnings
    from api.metrics import worker_started
    from api.observe import Observed

    # Everything loaded so far (the model, the index, the library) lives as long as the
    # process: keep it out of the collector's full passes, which otherwise stall every
    # request for a quarter of a second now and then.
    gc.freeze()
    log_warnings()
    worker_started()
    return Observed(app)
