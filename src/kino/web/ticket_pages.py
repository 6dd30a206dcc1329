"""Checkout, the order's tickets and the viewer's own tickets.

Checkout pays for the viewer's seat hold with a card (the sandbox provider takes the test card
4242 4242 4242 4242); each drawing of its form carries a new idempotency key, so a form sent
twice makes one order and a retry after a declined card is a new attempt. A declined card
keeps the hold; an expired hold goes back to the seat map. The tickets show their QR codes
(the tickets service's SVG, drawn into the page) and can be cancelled for a refund until the
cut-off before the showtime."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.billing.dependencies import AppPaymentProvider
from kino.billing.errors import PaymentDeclined, PaymentProviderError
from kino.billing.providers import Card
from kino.boxoffice import holds, loyalty, orders, showtimes, tickets
from kino.boxoffice.errors import HoldExpired
from kino.boxoffice.orders import OrderRequest
from kino.boxoffice.sales_errors import (
    CheckoutBusy,
    HoldAlreadyOrdered,
    HoldChanged,
    IdempotencyKeyReused,
    RefundWindowClosed,
    TicketBusy,
    TicketNotFound,
    TicketNotValid,
    TicketUsed,
)
from kino.boxoffice.sales_models import TicketStatus
from kino.boxoffice.sales_schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    PaymentDetails,
    TicketRead,
)
from kino.boxoffice.schemas import HoldRead
from kino.boxoffice.ticket_codes import qr_svg
from kino.boxoffice.tickets import TicketPolicy
from kino.core.db import utcnow
from kino.core.errors import KinoError
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.identity.dependencies import AppDatabase
from kino.jobs.dependencies import AppJobQueue
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute
from kino.web.forms import field_errors
from kino.web.pages import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TICKETS_PER_PAGE = 20
REFERENCE = re.compile(f"^[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}$")
KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
MAX_KEY_LENGTH = 255
TEST_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
SVG_SIZE = re.compile(r'<svg ([^>]*)width="(\d+)" height="(\d+)"')
PageQuery = Annotated[int, Query(ge=1, le=10_000)]
ReferenceQuery = Annotated[str | None, Query(max_length=REFERENCE_LENGTH)]


def _policy(web: Web) -> TicketPolicy:
    return TicketPolicy.from_settings(web.settings)


# ---------------------------------------------------------------------------- checkout


@router.get("/checkout/{hold_id}")
async def checkout_page(hold_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    hold = await holds.get_hold(session, user, hold_id)
    if hold.expires_at <= utcnow():
        return web.redirect(f"/showtimes/{hold.showtime_id}?notice=expired")
    return web.render("boxoffice/checkout.html", await _checkout_context(session, web, hold))


async def _checkout_context(
    session: AsyncSession,
    web: Web,
    hold: HoldRead,
    *,
    card: str = "",
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    showtime = await showtimes.get_showtime(session, hold.showtime_id, include_drafts=True)
    seat_map = await showtimes.seat_map(
        session, hold.showtime_id, viewer_id=hold.user_id, include_drafts=True
    )
    held = set(hold.seats)
    seats = [(row.label, seat) for row in seat_map.rows for seat in row.seats if seat.name in held]
    return {
        "hold": hold,
        "showtime": showtime,
        "seats": seats,
        "seconds_left": max(0, int((hold.expires_at - utcnow()).total_seconds())),
        # New with every drawing of the form: the same form sent twice is one order.
        "idempotency_key": str(uuid.uuid4()),
        "card": card,
        "errors": errors or {},
        "test_card": TEST_CARD,
        "declined_card": DECLINED_CARD,
    }


@router.post("/checkout/{hold_id}")
async def pay(
    hold_id: IdPath,
    web: WebContext,
    session: DbSession,
    db: AppDatabase,
    provider: AppPaymentProvider,
    jobs: AppJobQueue,
) -> Response:
    user = web.require_user()
    form = await web.form()
    card, key = form.get("card_number", ""), form.get("idempotency_key", "")
    try:
        details = PaymentDetails(provider=provider.name, card_number=card)
    except ValidationError as error:
        failed = {"card_number": field_errors(error).get("card_number", "Check the number.")}
        return await _checkout_again(session, web, hold_id, card, failed, 422)
    if not KEY.match(key) or len(key) > MAX_KEY_LENGTH:
        failed = {"": "This form is out of date: check the details and pay again."}
        return await _checkout_again(session, web, hold_id, card, failed, 422)
    # The hold is read after paying, not before: a form sent twice finds its hold sold, and
    # place_order answers it with the order the first one made.
    request = OrderRequest(hold_id, provider.name, Card(details.card_number), key)
    try:
        placed = await orders.place_order(
            db, provider, jobs, user, request, _policy(web), secret=web.settings.signing_key
        )
    except HoldExpired:
        hold = await holds.get_hold(session, user, hold_id)
        return web.redirect(f"/showtimes/{hold.showtime_id}?notice=expired")
    except HoldAlreadyOrdered as error:
        return web.redirect(f"/account/orders/{_order_id(error)}")
    except PaymentDeclined as error:
        message = f"{error.message} Nothing was charged, and your seats stay held."
        return await _checkout_again(session, web, hold_id, "", {"card_number": message}, 402)
    except (CheckoutBusy, HoldChanged, IdempotencyKeyReused, PaymentProviderError) as error:
        failed = {"": error.message}
        return await _checkout_again(session, web, hold_id, card, failed, error.status)
    return web.redirect(f"/account/orders/{placed.order.id}")


def _order_id(error: KinoError) -> int:
    details = error.details if isinstance(error.details, dict) else {}
    return int(details.get("order_id", 0))


async def _checkout_again(
    session: AsyncSession,
    web: Web,
    hold_id: int,
    card: str,
    errors: dict[str, str],
    status: int,
) -> HTMLResponse:
    assert web.user is not None
    hold = await holds.get_hold(session, web.user, hold_id)
    context = await _checkout_context(session, web, hold, card=card, errors=errors)
    return web.render("boxoffice/checkout.html", context, status=status)


# ---------------------------------------------------------------------------- tickets


@dataclass(frozen=True)
class TicketView:
    ticket: TicketRead
    qr: Markup | None
    upcoming: bool
    cancellable: bool

    @property
    def state(self) -> str:
        if self.ticket.checked_in_at is not None:
            return "Used"
        if self.ticket.status is TicketStatus.VALID:
            return "Valid" if self.upcoming else "Past"
        if self.ticket.status is TicketStatus.REFUNDED:
            return "Cancelled and refunded"
        return "Showtime cancelled, refunded"


def ticket_view(ticket: TicketRead, now: datetime) -> TicketView:
    upcoming = ticket.showtime.ends_at > now
    valid = ticket.status is TicketStatus.VALID
    return TicketView(
        ticket=ticket,
        qr=_qr(ticket.code) if valid and upcoming else None,
        upcoming=upcoming,
        cancellable=valid and ticket.checked_in_at is None and now < ticket.refundable_until,
    )


def _qr(code: str) -> Markup:
    """The ticket's QR code as an inline SVG that scales (a viewBox added to segno's)."""
    svg = qr_svg(code).decode()
    svg = SVG_SIZE.sub(r'<svg \1viewBox="0 0 \2 \3" role="img" aria-label="QR code"', svg, 1)
    return Markup(svg)  # segno's own markup, drawn from our signed code


@router.get("/account/orders/{order_id}")
async def order_page(order_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    order = await orders.get_order(session, user, order_id, _policy(web))
    now = utcnow()
    context = {
        "section": "tickets",
        "order": order,
        "tickets": [ticket_view(ticket, now) for ticket in order.tickets],
        "points": await loyalty.balance(session, user.id),
    }
    return web.render("boxoffice/order.html", context)


@router.get("/account/tickets")
async def tickets_page(
    web: WebContext, session: DbSession, page: PageQuery = 1, cancelled: ReferenceQuery = None
) -> Response:
    web.require_user()
    notice = None
    if cancelled and REFERENCE.match(cancelled):
        notice = f"Ticket {cancelled} is cancelled. Its full price goes back to your card."
    return await _tickets(session, web, page=page, notice=notice)


async def _tickets(
    session: AsyncSession,
    web: Web,
    *,
    page: int = 1,
    notice: str | None = None,
    failure: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert web.user is not None
    found = await tickets.list_tickets_of(
        session, web.user.id, _policy(web), paging=PageParams(page=page, page_size=TICKETS_PER_PAGE)
    )
    now = utcnow()
    views = [ticket_view(ticket, now) for ticket in found.items]
    upcoming = sorted(
        (view for view in views if view.upcoming and view.ticket.status is TicketStatus.VALID),
        key=lambda view: view.ticket.showtime.starts_at,
    )
    context = {
        "section": "tickets",
        "upcoming": upcoming,
        "past": [view for view in views if view not in upcoming],
        "total": found.total,
        "pages": Pages.of(page, found.total, TICKETS_PER_PAGE),
        "points": await loyalty.balance(session, web.user.id),
        "notice": notice,
        "failure": failure,
    }
    return web.render("account/tickets.html", context, status=status)


@router.post("/account/tickets/{reference}/cancel")
async def cancel_ticket(
    reference: str, web: WebContext, session: DbSession, db: AppDatabase, jobs: AppJobQueue
) -> Response:
    user = web.require_user()
    await web.form()
    reference = reference.upper()
    if not REFERENCE.match(reference):
        raise TicketNotFound(reference[:REFERENCE_LENGTH])
    try:
        # Its own transaction: a refused cancel leaves nothing behind, and the page says why.
        async with db.transaction() as cancel_session:
            await tickets.cancel_ticket(cancel_session, jobs, user, reference, _policy(web))
    except RefundWindowClosed:
        message = (
            f"Ticket {reference} can no longer be cancelled: refunds end "
            f"{web.settings.refund_cutoff_hours:g} hours before the showtime starts."
        )
        return await _tickets(session, web, failure=message, status=409)
    except (TicketUsed, TicketNotValid, TicketBusy) as error:
        return await _tickets(session, web, failure=error.message, status=error.status)
    return web.redirect(f"/account/tickets?cancelled={reference}")
