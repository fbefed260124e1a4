"""Background work a server does on a clock (roll-ups, retention, the weekly digest): one task
per kind, started and stopped with the app, a pass every interval."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy.exc import SQLAlchemyError

_log = logging.getLogger(__name__)


class Periodic(abc.ABC):
    """Runs `run_once` every `interval` in a task of its own, the first pass after `first` (a
    server starting is busy enough). A pass that fails with one of `retried` is logged and
    the next pass tries again: the database briefly busy or away must not end the task."""

    def __init__(
        self,
        name: str,
        first: dt.timedelta,
        interval: dt.timedelta,
        retried: tuple[type[Exception], ...] = (SQLAlchemyError,),
    ) -> None:
        self.name = name
        self.first = first
        self.interval = interval
        self._retried = retried
        self._task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    async def run_once(self) -> None:
        """One pass of the work."""

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"pitchmap-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        wait = self.first
        while True:
            await asyncio.sleep(wait.total_seconds())
            wait = self.interval
            try:
                await self.run_once()
            except self._retried:
                _log.exception("%s failed; retrying in %s", self.name, self.interval)
