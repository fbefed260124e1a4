"""The deal outcome form of a prospect on the pages: shown on the prospect's page (the
preview) and on a page of its own, which works with no library loaded; posting it records
the outcome (source 'web') for the signed-in user who may (as over the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody

from api import fields
from api.clock import LocalTime
from api.controllers.outcomes import deal_prospect
from api.runtime import Runtime
from api.web_auth import render_page, see_other
from engine import InputError
from tracker.models import Prospect, utcnow
from tracker.outcomes import FIELDS, Outcome, parse_outcome, prospect_outcome, record_outcome
from tracker.users import UserInfo

LABELS = {
    "outcome": "Outcome",
    "amount": "Amount",
    "currency": "Currency",
    "closed_on": "Close date",
    "reason": "Reason",
}
BACK_TO_PREVIEW = "preview"  # the form's `back` when it sits on the prospect's preview


@dataclass(frozen=True)
class OutcomeForm:
    """The form as a page shows it: the stored outcome, the fields' values and what is wrong
    with each (by field name)."""

    current: Outcome | None
    values: dict[str, str]
    errors: dict[str, str]


def form_values(outcome: Outcome | None, user: UserInfo) -> dict[str, str]:
    """The stored outcome as the form's fields; with none, closed today in the user's zone."""
    if outcome is None:
        return {"closed_on": LocalTime(user.time_zone).date(utcnow()).isoformat()}
    return {
        "outcome": outcome.outcome,
        "amount": outcome.amount or "",
        "currency": outcome.currency or "",
        "closed_on": outcome.closed_on.isoformat(),
        "reason": outcome.reason or "",
    }


async def outcome_form(runtime: Runtime, row: Prospect, user: UserInfo) -> OutcomeForm:
    """The form for a prospect whose page the user may see, filled with its outcome."""
    async with runtime.session() as session:
        current = await prospect_outcome(session, row.id)
    return OutcomeForm(current, form_values(current, user), {})


class ProspectOutcomeController(Controller):
    path = "/prospects/{key:str}/outcome"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        key: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        saved: FromQuery[str] = "",
    ) -> Response[str]:
        async with runtime.session() as session:
            row = await deal_prospect(session, key, user)
        deal = await outcome_form(runtime, row, user)
        return self._page(request, user, row, deal, saved=bool(saved))

    @post("/", media_type=MediaType.HTML)
    async def record(
        self,
        key: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        form = fields.form_text(data)
        values = {name: form.get(name, "") for name in FIELDS}
        async with runtime.session() as session:
            row = await deal_prospect(session, key, user)
            try:
                given = parse_outcome(values, "form")
            except InputError as exc:
                errors = {p.field: f"{LABELS[p.field]}: {p.message}" for p in exc.problems}
                current = await prospect_outcome(session, row.id)
                deal = OutcomeForm(current, values, errors)
                back = BACK_TO_PREVIEW if form.get("back") == BACK_TO_PREVIEW else ""
                return self._page(request, user, row, deal, back=back, status_code=400)
            await record_outcome(session, row, given, "web", user.id)
            await session.commit()
        if form.get("back") == BACK_TO_PREVIEW:
            return see_other(f"/prospects/{row.key}/preview#deal-outcome")
        return see_other(f"/prospects/{row.key}/outcome?saved=1")

    def _page(
        self,
        request: Request[Any, Any, Any],
        user: UserInfo,
        row: Prospect,
        deal: OutcomeForm,
        saved: bool = False,
        back: str = "",
        status_code: int = 200,
    ) -> Response[str]:
        return render_page(
            request,
            "prospect_outcome.html",
            user=user,
            row=row,
            deal=deal,
            saved=saved,
            back=back,
            status_code=status_code,
        )
