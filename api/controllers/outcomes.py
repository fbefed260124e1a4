"""Deals' outcomes over the API: recorded per prospect, listed, imported from a CRM's CSV
export, or sent by a CRM to a webhook signed the way pitchmap signs its own webhooks.

Who may record a prospect's outcome: marketing and admins any prospect's; a rep the outcomes
of the deals it works on (tracker.outcomes.works_on: a user owns the prospect or made a
document for it, a key made a document for it). Importing a file is marketing's and admins'.
The webhook takes no key: the HMAC signature with PITCHMAP_WEBHOOK_SECRET is the credential,
so without a secret it answers 503 rather than accept unsigned outcomes.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from api import fields
from api.auth import Action, may, permit
from api.errors import BodyTooLargeException, bad_field
from api.runtime import Runtime
from tracker.keys import KeyInfo
from tracker.models import Prospect, utcnow
from tracker.outcome_import import MAX_BYTES, import_outcomes
from tracker.outcomes import (
    FIELDS,
    Outcome,
    list_outcomes,
    parse_outcome,
    prospect_outcome,
    record_outcome,
    works_on,
)
from tracker.prospects import find_prospect
from tracker.users import UserInfo
from tracker.webhooks import verify

TIMESTAMP_HEADER = "X-Pitchmap-Timestamp"
SIGNATURE_HEADER = "X-Pitchmap-Signature"
UPLOAD_FIELD = "file"
_MULTIPART_SLACK = 64_000  # room for the multipart envelope around a file of MAX_BYTES


def outcome_view(outcome: Outcome) -> dict[str, Any]:
    return {
        "prospect": outcome.prospect_key,
        "outcome": outcome.outcome,
        "amount": outcome.amount,
        "amount_cents": outcome.amount_cents,
        "currency": outcome.currency,
        "closed_on": outcome.closed_on.isoformat(),
        "reason": outcome.reason,
        "source": outcome.source,
        "recorded_at": outcome.recorded_at.isoformat(),
        "recorded_by": outcome.recorded_by,
    }


async def known_prospect(session: AsyncSession, key: str) -> Prospect:
    row = await find_prospect(session, key)
    if row is None:
        raise NotFoundException(f"no prospect {key!r}")
    return row


async def deal_prospect(session: AsyncSession, key: str, caller: KeyInfo | UserInfo) -> Prospect:
    """The prospect, if the caller (a key or a signed-in user) may record its outcome."""
    row = await known_prospect(session, key)
    if may(caller, Action.RECORD_ALL_OUTCOMES):
        return row
    user_id = caller.id if isinstance(caller, UserInfo) else None
    key_id = caller.id if isinstance(caller, KeyInfo) else None
    if not await works_on(session, row, user_id=user_id, key_id=key_id):
        permit(caller, Action.RECORD_ALL_OUTCOMES)  # refuses, saying what
    return row


def signed_body(request: Request[Any, Any, Any], body: bytes, secret: str | None) -> None:
    """401 unless `body` carries a current signature under `secret`; 503 without a secret."""
    if not secret:
        raise ServiceUnavailableException(
            "the outcome webhook is off: set PITCHMAP_WEBHOOK_SECRET to sign its requests"
        )
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not verify(secret, timestamp, body, signature, utcnow()):
        raise NotAuthorizedException(
            f"send {TIMESTAMP_HEADER} (unix seconds, within 5 minutes) and {SIGNATURE_HEADER}: "
            'sha256=<hex HMAC-SHA256 of "<timestamp>." + body>'
        )


async def uploaded_csv(request: Request[Any, Any, Any]) -> tuple[bytes, str]:
    """The CSV file of an import and the name problems give it: the body itself, or the
    multipart field `file`."""
    content_type, _ = request.content_type
    if content_type != RequestEncodingType.MULTI_PART:
        return await request.body(), "body"
    upload = (await request.form()).get(UPLOAD_FIELD)
    if not isinstance(upload, UploadFile):
        raise bad_field(UPLOAD_FIELD, "send the CSV file as the multipart field `file`")
    return await upload.read(), upload.filename or UPLOAD_FIELD


class OutcomeController(Controller):
    path = "/api"
    tags = ("outcomes",)

    @put("/prospects/{key:str}/outcome", summary="Record how a prospect's deal ended")
    async def record(
        self,
        key: FromPath[str],
        data: JSONBody[dict[str, Any]],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"outcome": "won"|"lost"|"no_decision" (also "Closed Won" and the like),
        "closed_on": "YYYY-MM-DD", "amount": number or text ("12,500.00", "€12,500")?,
        "currency": "EUR"?, "reason": str?}. Replaces the prospect's earlier outcome."""
        async with runtime.session() as session:
            row = await deal_prospect(session, key, caller)
            body = fields.body_object(data)
            fields.only(body, FIELDS)
            stored = await record_outcome(session, row, parse_outcome(body, "request"), "api", None)
            await session.commit()
        return outcome_view(stored)

    @get("/prospects/{key:str}/outcome", summary="How a prospect's deal ended; 404 if not known")
    async def show(
        self,
        key: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        async with runtime.session() as session:
            row = await deal_prospect(session, key, caller)
            stored = await _outcome_of(session, row)
        return outcome_view(stored)

    @get("/outcomes", summary="Every prospect's outcome, the latest closed first")
    async def index(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[KeyInfo]
    ) -> dict[str, Any]:
        permit(caller, Action.READ_ALL_REPORTS)
        async with runtime.session() as session:
            return {"outcomes": [outcome_view(o) for o in await list_outcomes(session)]}

    @post(
        "/outcomes/import",
        status_code=200,
        summary="Import outcomes from a CRM's CSV export: all rows or, if any is bad, none",
        request_max_body_size=MAX_BYTES + _MULTIPART_SLACK,
        raises=[ValidationException, BodyTooLargeException],  # the body is read by hand
    )
    async def import_csv(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """The CSV as the body (text/csv) or as the multipart field `file`. 200 {"imported": n},
        or 400 with every bad row in `problems`, each `where` its line ("line 3")."""
        permit(caller, Action.RECORD_ALL_OUTCOMES)
        content, name = await uploaded_csv(request)
        async with runtime.session() as session:
            imported = await import_outcomes(session, content, name)
            await session.commit()
        return {"imported": imported}

    @post(
        "/outcomes/webhook",
        status_code=200,
        summary="A CRM reports how a deal ended; signed, no API key",
        security=[{}],  # the signature is the credential, not the schema's bearer key
        raises=[
            ValidationException,
            NotAuthorizedException,
            NotFoundException,
            BodyTooLargeException,
            ServiceUnavailableException,
        ],
    )
    async def webhook(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> dict[str, Any]:
        """Body as for PUT /api/prospects/{key}/outcome plus "prospect": the prospect's id.
        Headers X-Pitchmap-Timestamp and X-Pitchmap-Signature as on pitchmap's own webhooks,
        with PITCHMAP_WEBHOOK_SECRET; 401 when missing, wrong or over five minutes off, 503
        when no secret is set."""
        raw = await request.body()
        signed_body(request, raw, runtime.settings.webhook_secret)
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad_field("body", "must be a JSON object") from None
        body = fields.body_object(data)
        fields.only(body, ("prospect", *FIELDS))
        key = fields.text(body, "prospect", required=True) or ""
        given = parse_outcome(body, "request")
        async with runtime.session() as session:
            row = await known_prospect(session, key)
            stored = await record_outcome(session, row, given, "webhook", None)
            await session.commit()
        return outcome_view(stored)


async def _outcome_of(session: AsyncSession, row: Prospect) -> Outcome:
    stored = await prospect_outcome(session, row.id)
    if stored is None:
        raise NotFoundException(f"no outcome recorded for prospect {row.key!r}")
    return stored
