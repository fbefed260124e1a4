"""What the server holds while it runs: the database, the library as stored, and the
background workers (heartbeat writer, webhook deliverer, visit roll-up, retention purge, monthly
partitions, weekly digest), started and stopped with the app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.digest import Digester, DigestSource
from api.settings import Settings
from api.state import Workspace
from tracker.database import create_engine, create_sessions
from tracker.ingest import Ingestor
from tracker.library_store import StoredLibrary, import_library
from tracker.mail import Mailer
from tracker.partitions import Partitioner
from tracker.purge import Purger
from tracker.rollup import Roller
from tracker.webhooks import Deliverer


class Runtime:
    """Not a dataclass on purpose: Litestar validates dataclass dependencies field by field,
    and the settings hold types (IP networks) its validator does not know."""

    def __init__(self, settings: Settings, workspace: Workspace) -> None:
        self.settings = settings
        self.workspace = workspace
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.library: StoredLibrary | None = None
        self.ingestor: Ingestor | None = None
        self.deliverer: Deliverer | None = None
        self.mailer: Mailer | None = None
        self.roller: Roller | None = None
        self.purger: Purger | None = None
        self.partitioner: Partitioner | None = None
        self.digester: Digester | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        """Connect, store the active library (keeping earlier versions), start the workers."""
        engine = create_engine(self.settings.database_url)
        self.sessions = create_sessions(engine)
        try:
            if self.workspace.selector is not None:
                async with self.sessions() as session:
                    self.library = await import_library(
                        session, self.workspace.selector.indexed.library
                    )
                    await session.commit()
            self.mailer = Mailer(self.settings.smtp_url, self.settings.data_dir / "outbox")
            self.ingestor = Ingestor(engine)
            self.deliverer = Deliverer(engine, self.settings.webhook_secret)
            self.roller = Roller(self.sessions)
            await self.ingestor.start()
            await self.deliverer.start()
            await self.roller.start()
            self.purger = Purger(self.sessions, self.settings.retention_days)
            await self.purger.start()
            self.partitioner = Partitioner(engine)
            await self.partitioner.start()
            if self.library is not None and self.workspace.selector is not None:
                self.digester = Digester(self._digest_source(), self.mailer)
                await self.digester.start()
            yield
        finally:
            if self.digester is not None:
                await self.digester.stop()
            if self.partitioner is not None:
                await self.partitioner.stop()
            if self.purger is not None:
                await self.purger.stop()
            if self.roller is not None:
                await self.roller.stop()
            if self.ingestor is not None:
                await self.ingestor.stop()
            if self.deliverer is not None:
                await self.deliverer.stop()
            await engine.dispose()

    def _digest_source(self) -> DigestSource:
        assert self.sessions is not None and self.library is not None
        assert self.workspace.selector is not None
        return DigestSource(
            self.sessions,
            self.library.id,
            self.workspace.selector.indexed.library.name,
            self.workspace.selector.embedder,
            self.settings.base_url,
        )

    def session(self) -> AsyncSession:
        if self.sessions is None:
            raise RuntimeError("the app has not started")
        return self.sessions()
