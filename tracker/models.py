"""What pitchmap stores: libraries and block versions, documents, share links, visits, keys.

The tables follow the one-way flow of the product: a library's blocks are kept as immutable
versions, a document points at the exact versions it was assembled from (so a later re-import
never rewrites what a prospect was sent), a share link opens one document for one recipient, and
each visit records per-section time. Secrets (link tokens, visit secrets, API keys, passwords)
are stored only as hashes: a copy of the database lets nobody open a link or call the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator

from tracker.months import month_of

ROLES = ("rep", "marketing", "admin")
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns: a larger one must never reach a query
_ROLE_CHECK = "role IN ('rep', 'marketing', 'admin')"
_SHA256_HEX = 64

# Named constraints let Alembic alter or drop them later, also on SQLite (batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones and hands back naive datetimes; PostgreSQL converts to the session's
    zone. Normalising on the way in and out means callers always compare aware UTC values, and a
    naive value (a programming error) is refused instead of silently taken as local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class Library(Base):
    """One imported content library; re-importing the same library keeps its row and history."""

    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    root: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    slots: Mapped[list[Slot]] = relationship(
        back_populates="library", order_by="Slot.position", cascade="all, delete-orphan"
    )


class Slot(Base):
    """One position of a library's message map, as of its latest import."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("library_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # the slot id of message_map.yaml
    title: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer)

    library: Mapped[Library] = relationship(back_populates="slots")


class Block(Base):
    """A block's identity in a library (its id); what it says lives in its versions."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("library_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # the block id of its front matter
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[BlockVersion]] = relationship(
        back_populates="block", order_by="BlockVersion.number"
    )


class BlockVersion(Base):
    """One content of a block, identified by its content hash and never changed afterwards.

    Documents reference versions, not blocks, so a report shows what the prospect actually read.
    """

    __tablename__ = "block_versions"
    __table_args__ = (
        UniqueConstraint("block_id", "content_hash"),
        UniqueConstraint("block_id", "number"),
        CheckConstraint("status IN ('approved', 'draft', 'retired')", name="status"),
        # Each block's latest slot without reading the versions' bodies (the block report).
        Index("ix_block_versions_latest_slot", "block_id", "number", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in import order
    content_hash: Mapped[str] = mapped_column(String(_SHA256_HEX))
    slot: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    expires: Mapped[dt.date | None] = mapped_column(Date)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    block: Mapped[Block] = relationship(back_populates="versions")


class Prospect(Base):
    """The latest profile seen for a prospect id; each document keeps its own snapshot."""

    __tablename__ = "prospects"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the profile's `id`
    company: Mapped[str] = mapped_column(Text)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The signed-in user whose prospect it is (made with the new-prospect form); None for
    # prospects that arrived through the API.
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class Document(Base):
    """One assembled document for one prospect, frozen at the block versions it used."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    as_of: Mapped[dt.date] = mapped_column(Date)
    # The profile and rep as they were when assembled: re-rendering gives the same document.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rep: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The signed-in user who generated it on the pages (None when made through the API).
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The blocks the rep swapped in: [{"slot", "block_id", "replaced"}], in section order.
    swaps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The prospect's stated needs that no eligible block answered well when it was assembled:
    # [{"need", "best_score"}]; marketing's content gaps gather them across documents.
    unanswered: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    sections: Mapped[list[DocumentSection]] = relationship(
        back_populates="document", order_by="DocumentSection.position", cascade="all"
    )


class DocumentFile(Base):
    """A document rendered once, when it was made: what the prospect opens never re-renders.

    `format` is pptx, docx, html (the stand-alone page) or viewer (the page with the tracking
    script, served at /d/{token}).
    """

    __tablename__ = "document_files"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentSection(Base):
    """One section of a document, in order: which block version filled which slot."""

    __tablename__ = "document_sections"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    slot: Mapped[str] = mapped_column(String(200))
    block_version_id: Mapped[int] = mapped_column(ForeignKey("block_versions.id"), index=True)
    title: Mapped[str] = mapped_column(Text)  # after placeholders were filled
    why: Mapped[str] = mapped_column(Text, default="")
    # The time a reader needs for the section at 250 words a minute (2 s at least): a session
    # whose dwell reaches it counts the section as read.
    reading_ms: Mapped[int] = mapped_column(Integer, default=2000)
    # Sessions in the roll-ups that saw / read the section (tracker/rollup.py): what deal
    # influence and the digest know of a section once its raw rows are purged.
    rolled_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rolled_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    document: Mapped[Document] = relationship(back_populates="sections")
    block_version: Mapped[BlockVersion] = relationship()


class ShareLink(Base):
    """One recipient's way into one document. Only the token's SHA-256 is stored."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), unique=True)
    recipient_email: Mapped[str | None] = mapped_column(String(320), index=True)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False)
    require_email: Mapped[bool] = mapped_column(Boolean, default=False)
    passcode_hash: Mapped[str | None] = mapped_column(String(200))
    created_by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


def _start_month(context: DefaultExecutionContext) -> dt.date:
    """Derived from the start when the visit is written, never set apart from it: the raw
    event tables' partitions and foreign keys go by it."""
    started = context.get_current_parameters().get("created_at")  # type: ignore[no-untyped-call]
    return month_of(started or utcnow())


class Visit(Base):
    """One page load whose script reported in; its secret authenticates its heartbeats."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_link_id_created_at", "link_id", "created_at"),
        # What the raw event tables' foreign keys point at: with the month in them, removing a
        # visit looks for its rows in one monthly partition instead of in every one.
        Index("ix_visits_id_month", "id", "month", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    month: Mapped[dt.date] = mapped_column(Date, default=_start_month)  # UTC, of created_at
    secret_hash: Mapped[str] = mapped_column(String(_SHA256_HEX))
    user_agent_kind: Mapped[str] = mapped_column(String(32))  # e.g. browser, headless, mobile
    email: Mapped[str | None] = mapped_column(String(320))  # when the link's email gate was passed
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # the highest sequence applied
    last_seen_at: Mapped[dt.datetime | None]
    # SHA-256 of the address with a salt that is replaced every day: a raw IP is never stored.
    client_hash: Mapped[str | None] = mapped_column(String(_SHA256_HEX))


def _visit_month(context: DefaultExecutionContext) -> dt.date:
    """The month of the row's visit, for writers that do not pass it (tests, tools): the row
    refers to its visit by (visit, month), so any other month would be refused."""
    visit_id = context.get_current_parameters()["visit_id"]  # type: ignore[no-untyped-call]
    month = context.connection.scalar(select(Visit.month).where(Visit.id == visit_id))
    # No such visit: any month will do, the foreign key refuses the row.
    return month or month_of(utcnow())


def _by_visit_month() -> tuple[Any, ...]:
    """On PostgreSQL the raw event tables are partitioned by the UTC month of the visit's start
    (tracker/partitions.py): their keys carry the month, since PostgreSQL wants the partition
    key in every unique key, and so does their reference to the visit. Elsewhere the month is an
    ordinary column."""
    return (
        ForeignKeyConstraint(
            ["visit_id", "month"], ["visits.id", "visits.month"], ondelete="CASCADE"
        ),
        {"postgresql_partition_by": "RANGE (month)"},
    )


class ViewEvent(Base):
    """One heartbeat as applied: its key makes each (visit, sequence) count once."""

    __tablename__ = "view_events"
    __table_args__ = _by_visit_month()

    visit_id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True, default=_visit_month)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dwell_ms: Mapped[int] = mapped_column(Integer, default=0)  # after clamping, all sections


class SectionTime(Base):
    """How long one visit had one section on screen; a row exists once the section was seen."""

    __tablename__ = "section_time"
    __table_args__ = _by_visit_month()

    visit_id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("document_sections.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True, default=_visit_month)
    dwell_ms: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)


def visit_of_section_time() -> ColumnElement[bool]:
    """Joins section time to its visit on the whole reference, month included: PostgreSQL then
    reads each visit's rows from its month's partition alone instead of probing every one."""
    return and_(SectionTime.visit_id == Visit.id, SectionTime.month == Visit.month)


class ViewerGrant(Base):
    """A browser's pass through a link's email gate or passcode, held in a cookie by its token."""

    __tablename__ = "viewer_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("share_links.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class EmailCode(Base):
    """A one-time code mailed to prove an address at a link's email gate."""

    __tablename__ = "email_codes"
    __table_args__ = (Index("ix_email_codes_link_id_email", "link_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(_SHA256_HEX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None]
    client_hash: Mapped[str | None] = mapped_column(String(_SHA256_HEX))  # who asked for it


class GateFailure(Base):
    """A wrong passcode at a link's gate: counted per link and per client to stop guessing."""

    __tablename__ = "gate_failures"
    __table_args__ = (Index("ix_gate_failures_link_id_created_at", "link_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    client_hash: Mapped[str | None] = mapped_column(String(_SHA256_HEX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One notification to one URL, kept until delivered or given up: a queue in a table, so a
    slow receiver never slows the request that caused it and a restart loses nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]  # set when the retries are used up
    last_error: Mapped[str | None] = mapped_column(Text)


class DailySalt(Base):
    """The salt of one day's client hashes; older salts are deleted, so hashes cannot be
    linked across days or reversed by trying every address."""

    __tablename__ = "daily_salts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(_SHA256_HEX))


class User(Base):
    """A person who signs in to the pages; the API itself authenticates with keys."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # An IANA zone name ("Europe/Berlin"): every page shows this user's times in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class ApiKey(Base):
    """A bearer key for the internal API, stored as its SHA-256 and checked on every request."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class UserSession(Base):
    """A signed-in browser: the cookie's token is known here only by its SHA-256.

    A session ends when it has been idle too long (`last_seen_at`), at its absolute end
    (`expires_at`), at sign-out (the row is deleted), or when its user is deleted.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()


class SignInAttempt(Base):
    """A sign-in that did not succeed (or is being checked): counted per email and per client
    to stop password guessing. The email is as typed (normalised), whether or not it has an
    account; the client is the address hashed with the day's salt, never the address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_created_at", "email", "created_at"),
        Index("ix_sign_in_attempts_client_hash_created_at", "client_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    client_hash: Mapped[str | None] = mapped_column(String(_SHA256_HEX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BlockRating(Base):
    """A rep's verdict on a block they sent in one document: useful or not, and why.

    One per (document, block, user): rating again replaces the earlier verdict.
    """

    __tablename__ = "block_ratings"
    __table_args__ = (UniqueConstraint("document_id", "block_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    useful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReportedNeed(Base):
    """A need a prospect raised that no block answered, reported by the rep from the field.

    `slot` is where the rep would have wanted an answer, when they said.
    """

    __tablename__ = "reported_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(
        ForeignKey("prospects.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    slot: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Roll-ups of finished visits (tracker/rollup.py): marketing's reports add these up instead of
# scanning section_time. A month is the UTC month of the visit's start, kept as its first day.


class RollupState(Base):
    """How far the roll-up has gone: every visit with an id up to `visit_id`, and every
    document section with an id up to `section_id`, is in the roll-ups."""

    __tablename__ = "rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: one row
    visit_id: Mapped[int] = mapped_column(Integer, default=0)
    section_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RollupProfile(Base):
    """A prospect profile's facets as the reports match them, keyed by their hash."""

    __tablename__ = "rollup_profiles"

    hash: Mapped[str] = mapped_column(String(_SHA256_HEX), primary_key=True)
    facets: Mapped[dict[str, Any]] = mapped_column()


class RollupDocumentSessions(Base):
    """Sessions of a document's links started in a month."""

    __tablename__ = "rollup_document_sessions"

    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class RollupSlotReach(Base):
    """Sessions that saw a section of a slot, per month, library and prospect profile."""

    __tablename__ = "rollup_slot_reach"

    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    library_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), primary_key=True)
    slot: Mapped[str] = mapped_column(String(200), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class RollupBlockDwell(Base):
    """Sessions per month, block, profile and slot by whether they saw and read the block and
    their dwell on it, rounded down to two significant digits (0 when not seen)."""

    __tablename__ = "rollup_block_dwell"

    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    block_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_hash: Mapped[str] = mapped_column(String(_SHA256_HEX), primary_key=True)
    slot: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    read: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    dwell_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class RollupBlockTotal(Base):
    """`rollup_block_dwell` over all months and profiles, one row per block and slot: what the
    block report with no date range or facet reads. `dwell` lists [dwell, sessions] pairs by
    dwell: each (rounded) dwell of the sessions that saw the block and how many had it."""

    __tablename__ = "rollup_block_totals"

    block_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen: Mapped[int] = mapped_column(Integer, default=0)  # sessions that saw it
    read: Mapped[int] = mapped_column(Integer, default=0)  # sessions that read it
    dwell: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    # The median of `dwell`, kept beside it: a block with no other sessions to merge needs
    # only this, and the leaderboard need not decode ten thousand histograms.
    median_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RollupBlockUsage(Base):
    """Per block and slot: the documents using it (from the rolled-up sections) and those
    documents' rolled-up sessions, the denominators of the block report with no date range or
    facet, so it need not read every section of every document."""

    __tablename__ = "rollup_block_usage"

    block_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[str] = mapped_column(String(200), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class DealOutcome(Base):
    """How a prospect's deal ended, as the CRM or the rep says: one current outcome per prospect,
    recording again replaces it. Money is kept in minor units so sums are exact."""

    __tablename__ = "deal_outcomes"
    __table_args__ = (CheckConstraint("outcome IN ('won', 'lost', 'no_decision')", name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(
        ForeignKey("prospects.id", ondelete="CASCADE"), unique=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217, upper-case
    closed_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # 'api', 'web', 'csv' or 'webhook'
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class DigestRun(Base):
    """A week whose digest was mailed to marketing (its Monday, UTC): claimed before sending, so
    several workers and the command never mail one week twice."""

    __tablename__ = "digest_runs"

    week: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
