"""Marketing's weekly digest by mail: blocks rising and falling, the week's content gaps (new
ones marked), blocks about to expire and deals won with the blocks their prospects read.

Every user with the marketing role gets it, through the contract's mail setting (SMTP) or the
outbox. The server sends it on Mondays from SEND_AFTER (UTC) on, for the week just ended;
`pitchmap digest` sends (or prints) one at any time. A week is claimed in the database before
its mail goes out (tracker.digest.claim_week), so several workers and the command never send
one week twice; a week whose first mail failed is released and tried again an hour later.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.charts.bars import percent
from api.gap_themes import MAX_WORDINGS, gap_themes_of
from api.settings import Settings
from engine import Embedder, PitchmapError
from tracker.database import create_engine, create_sessions
from tracker.digest import (
    BASELINE_WEEKS,
    MIN_SESSIONS,
    DigestFigures,
    claim_week,
    digest_figures,
    release_week,
    week_of,
)
from tracker.gaps import GapTheme, Window, gather_wordings
from tracker.mail import Mailer, MailError, is_mailable
from tracker.models import Library
from tracker.periodic import Periodic
from tracker.users import UserInfo, list_users

SEND_AFTER: Final = dt.time(7, 0)  # Monday, UTC: the week's figures are in by then
CHECK_EVERY: Final = dt.timedelta(hours=1)
SUBJECT: Final = "pitchmap weekly digest"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapNews:
    theme: GapTheme
    new: bool  # none of its wordings was mentioned before the week


@dataclass(frozen=True)
class DigestSource:
    """What a digest is made from: the database, the library and the model that groups needs."""

    sessions: async_sessionmaker[AsyncSession]
    library_id: int
    library_name: str
    embedder: Embedder
    base_url: str | None = None  # links to the pages when set (PITCHMAP_BASE_URL)


async def compose(source: DigestSource, until: dt.datetime) -> str:
    """The digest's text for the week before `until`."""
    async with source.sessions() as session:
        figures = await digest_figures(session, source.library_id, until)
        week = await gather_wordings(session, source.library_id, Window(figures.since, until))
        earlier = await gather_wordings(session, source.library_id, Window(None, figures.since))
    themes = await gap_themes_of(source.embedder, week[:MAX_WORDINGS])
    known = {w.text for w in earlier}
    gaps = [GapNews(t, all(w.text not in known for w in t.examples)) for t in themes]
    return _render(source, figures, gaps)


def _render(source: DigestSource, figures: DigestFigures, gaps: list[GapNews]) -> str:
    return (
        _environment()
        .get_template("digest.txt")
        .render(
            library_name=source.library_name,
            link=source.base_url,
            figures=figures,
            gaps=gaps,
            baseline_weeks=BASELINE_WEEKS,
            min_sessions=MIN_SESSIONS,
            percent=percent,
            money=money,
            day=lambda moment: moment.date().isoformat(),
        )
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """Plain text for a mail body: nothing to escape, and a missing name is a bug, not blank."""
    return Environment(
        loader=PackageLoader("templates", "mail"),
        autoescape=False,  # a text/plain mail, never HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def money(cents: int, currency: str | None) -> str:
    """An amount in minor units as a reader writes it: 12,500.00 EUR."""
    whole, part = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{whole:,}.{part:02d}" + (f" {currency}" if currency else "")


@dataclass(frozen=True)
class Delivery:
    """Who got a week's digest: `mailed` marketing users, and `missed` ones who did not (an
    address pitchmap cannot mail, or a mail that failed once others had theirs), each logged."""

    mailed: int
    missed: int = 0


async def send_digest(source: DigestSource, mailer: Mailer, until: dt.datetime) -> Delivery | None:
    """Mail the digest of the week before `until` to every marketing user, once per week
    (`week_of(until)`); None when the week was sent already.

    Nobody may get a week twice, so the claimed week is given back (for a retry within the
    hour) only while no one has been mailed: a recipient whose mail fails is logged and the
    others are still mailed, and only a week that reached nobody is released (MailError). A
    user whose address cannot be mailed (made before such addresses were refused) is skipped
    and logged: a retry would not help them."""
    async with source.sessions() as session:
        marketing = [u for u in await list_users(session) if u.role == "marketing"]
        recipients = _mailable(marketing)
        if not recipients:
            return Delivery(0, len(marketing))
        week = week_of(until)
        if not await claim_week(session, week, until):
            return None
    # A line break in the library's name would be a header injection the mailer refuses.
    subject = " ".join(f"{SUBJECT}: {source.library_name}".split())
    mailed: list[UserInfo] = []
    try:
        text = await compose(source, until)
        await _mail_each(mailer, recipients, subject, text, mailed)
        if not mailed:
            raise MailError(f"the digest reached none of the {len(recipients)} marketing users")
    except BaseException:
        if not mailed:
            async with source.sessions() as session:
                await release_week(session, week)
        raise
    return Delivery(len(mailed), len(marketing) - len(mailed))


def _mailable(users: list[UserInfo]) -> list[UserInfo]:
    """The users pitchmap can mail; the others are logged by id (logs never hold an email)."""
    mailable: list[UserInfo] = []
    for user in users:
        if is_mailable(user.email):
            mailable.append(user)
        else:
            logger.error("digest: user %d has an email that cannot be mailed; skipped", user.id)
    return mailable


async def _mail_each(
    mailer: Mailer, users: list[UserInfo], subject: str, text: str, mailed: list[UserInfo]
) -> None:
    """Mail `text` to each user, adding each one reached to `mailed` as it goes (the caller
    must know, even when cancelled, whether anyone got the week), and logging each failure
    by user id rather than stopping."""
    for user in users:
        try:
            await mailer.send(user.email, subject, text)
        except MailError as exc:
            logger.error("digest: the mail to user %d failed (%s)", user.id, exc.kind)
            continue
        mailed.append(user)


async def active_library(session: AsyncSession) -> Library | None:
    """The library imported last: the one a server started most recently serves."""
    found = await session.scalars(select(Library).order_by(Library.imported_at.desc()).limit(1))
    return found.first()


def due(now: dt.datetime) -> bool:
    """Whether the server should send this week's digest by now: Monday from SEND_AFTER on, or
    any later day of the week (a server that was down on Monday catches up)."""
    moment = now.astimezone(dt.UTC)
    return moment.weekday() > 0 or moment.time() >= SEND_AFTER


class Digester(Periodic):
    """Sends the week's digest from the server once it is `due`, checking every CHECK_EVERY."""

    def __init__(self, source: DigestSource, mailer: Mailer) -> None:
        super().__init__("digest", CHECK_EVERY, CHECK_EVERY, (SQLAlchemyError, MailError))
        self._source = source
        self._mailer = mailer

    async def run_once(self) -> None:
        now = dt.datetime.now(dt.UTC)
        if due(now):
            # The week that ended on this week's Monday at 00:00 UTC.
            monday = dt.datetime.combine(week_of(now), dt.time(), tzinfo=dt.UTC)
            await send_digest(self._source, self._mailer, monday)


class NoLibraryError(PitchmapError):
    """The digest speaks of a library's blocks: none was imported yet."""

    def __init__(self) -> None:
        super().__init__(
            "no library has been imported yet: start the server once with "
            "`pitchmap serve --library DIR`"
        )


async def digest_once(settings: Settings, until: dt.datetime, print_only: bool) -> str:
    """`pitchmap digest`: the digest's text (`print_only`), or a line saying whom it was
    mailed to, on the library imported last."""
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessions(engine)
        async with sessions() as session:
            library = await active_library(session)
        if library is None:
            raise NoLibraryError
        embedder = settings.new_embedder()
        source = DigestSource(sessions, library.id, library.name, embedder, settings.base_url)
        if print_only:
            return await compose(source, until)
        mailer = Mailer(settings.smtp_url, settings.data_dir / "outbox")
        sent = await send_digest(source, mailer, until)
    finally:
        await engine.dispose()
    if sent is None:
        return f"the digest of the week of {week_of(until).isoformat()} was sent already"
    line = f"mailed the digest to {sent.mailed} marketing user{'s' if sent.mailed != 1 else ''}"
    return line + (f"; {sent.missed} could not be mailed (see the log)" if sent.missed else "")
