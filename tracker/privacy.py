"""A recipient's right to erasure: every trace of their address and their reading, on request.

Reports keep their shape (a link whose recipient was erased shows no recipient and no visits);
nothing else refers to the address afterwards, not the one-time codes, the grants, nor the
webhook deliveries that named it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.database import affected_rows
from tracker.models import EmailCode, ShareLink, ViewerGrant, Visit, WebhookDelivery


@dataclass(frozen=True)
class Erasure:
    visits: int
    links: int
    codes: int
    grants: int
    webhooks: int


async def erase_recipient(session: AsyncSession, email: str) -> Erasure:
    """Erase `email` (compared lower-cased) from everything stored. Flushes only."""
    address = email.strip().lower()
    links = select(ShareLink.id).where(ShareLink.recipient_email == address)
    visits = await session.execute(
        delete(Visit).where(or_(Visit.link_id.in_(links), Visit.email == address))
    )
    unnamed = await session.execute(
        update(ShareLink).where(ShareLink.recipient_email == address).values(recipient_email=None)
    )
    codes = await session.execute(delete(EmailCode).where(EmailCode.email == address))
    grants = await session.execute(delete(ViewerGrant).where(ViewerGrant.email == address))
    # Bodies are compact JSON written by tracker.webhooks; the address appears JSON-encoded.
    named = json.dumps(address)
    webhooks = await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.body.contains(named, autoescape=True))
    )
    await session.flush()
    return Erasure(
        visits=affected_rows(visits),
        links=affected_rows(unnamed),
        codes=affected_rows(codes),
        grants=affected_rows(grants),
        webhooks=affected_rows(webhooks),
    )
