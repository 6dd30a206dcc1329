"""Endpoints of orders, tickets, check-in, loyalty and box office statistics. Parse, authorize,
call the service. A user only ever reads their own orders and tickets (anyone else's are 404);
staff read any, scan tickets at the door and read the figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Response, status

from kino.billing.dependencies import AppPaymentProvider
from kino.billing.providers import Card
from kino.boxoffice import checkin, loyalty, orders, stats, tickets
from kino.boxoffice.orders import OrderRequest
from kino.boxoffice.sales_models import TicketStatus
from kino.boxoffice.sales_schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    BoxOfficeStats,
    CheckInCreate,
    CheckInRead,
    LoyaltyRead,
    OrderCreate,
    OrderRead,
    SigningKeyRead,
    TicketRead,
)
from kino.boxoffice.ticket_codes import PREFIX
from kino.boxoffice.tickets import TicketPolicy
from kino.core.http import MAX_ID, AppSettings, DbSession, IdPath
from kino.core.pagination import Page, Paging
from kino.core.routing import GatedRouter
from kino.identity.dependencies import AppDatabase, CurrentUser, StaffUser
from kino.jobs.dependencies import AppJobQueue

orders_router = GatedRouter(tags=["orders"])
tickets_router = GatedRouter(tags=["tickets"])
staff_router = GatedRouter(tags=["box office staff"])

CREATED = status.HTTP_201_CREATED
# Private to the holder, and a ticket's QR code is as good as the ticket: never cached.
NO_STORE = {"Cache-Control": "private, no-store"}


async def _policy(settings: AppSettings) -> TicketPolicy:
    return TicketPolicy.from_settings(settings)


Policy = Annotated[TicketPolicy, Depends(_policy)]


def _reference(value: str) -> str:
    return value.upper()


Reference = Annotated[
    str,
    Path(
        min_length=REFERENCE_LENGTH,
        max_length=REFERENCE_LENGTH,
        pattern=f"^[{REFERENCE_ALPHABET}{REFERENCE_ALPHABET.lower()}]+$",
        description="The booking reference, 8 letters and digits (any case).",
    ),
]
IdempotencyKey = Annotated[
    str,
    Header(
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="A key of the client's choosing (a UUID, say), new for each order: the same "
        "request sent again with it returns the same order instead of paying twice.",
    ),
]


# --- orders ------------------------------------------------------------------------------------


@orders_router.post("/orders", status_code=CREATED)
async def place_order(
    body: OrderCreate,
    idempotency_key: IdempotencyKey,
    user: CurrentUser,
    db: AppDatabase,
    provider: AppPaymentProvider,
    jobs: AppJobQueue,
    settings: AppSettings,
    policy: Policy,
    response: Response,
) -> OrderRead:
    """Pays for a seat hold and turns it into tickets, mailed to the buyer. A declined card is a
    402 ``payment_declined`` with ``details.reason``, and the hold stays until it expires; an
    expired hold is a 409 ``hold_expired`` and nothing is charged. Sent again with the same
    ``Idempotency-Key``, the same request returns the same order (``Idempotent-Replayed:
    true``), a different one is a 422 ``idempotency_key_reused``."""
    request = OrderRequest(
        hold_id=body.hold_id,
        provider=body.payment.provider,
        card=Card(body.payment.card_number),
        idempotency_key=idempotency_key,
    )
    placed = await orders.place_order(
        db, provider, jobs, user, request, policy, secret=settings.signing_key
    )
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@orders_router.get("/orders/{order_id}")
async def get_order(
    order_id: IdPath, user: CurrentUser, session: DbSession, policy: Policy
) -> OrderRead:
    return await orders.get_order(session, user, order_id, policy)


@orders_router.get("/me/orders")
async def list_my_orders(
    user: CurrentUser, session: DbSession, policy: Policy, paging: Paging
) -> Page[OrderRead]:
    """The caller's orders, newest first."""
    return await orders.list_orders_of(session, user.id, policy, paging=paging)


@orders_router.get("/me/loyalty")
async def read_my_loyalty(user: CurrentUser, session: DbSession, paging: Paging) -> LoyaltyRead:
    """The caller's loyalty points (one per whole currency unit paid for tickets, given back
    with a refund) and the entries behind them, newest first."""
    return await loyalty.loyalty_account(session, user.id, paging=paging)


# --- tickets -----------------------------------------------------------------------------------


@tickets_router.get("/me/tickets")
async def list_my_tickets(
    user: CurrentUser,
    session: DbSession,
    policy: Policy,
    paging: Paging,
    status: TicketStatus | None = None,
) -> Page[TicketRead]:
    """The caller's tickets, the latest showtime first."""
    return await tickets.list_tickets_of(session, user.id, policy, paging=paging, status=status)


@tickets_router.get("/tickets/signing-key")
async def ticket_signing_key(settings: AppSettings) -> SigningKeyRead:
    """The public key that verifies tickets' QR codes offline: a code is
    ``KINO1.<payload>.<signature>``, the signature Ed25519 over ``KINO1.<payload>``."""
    signer = TicketPolicy.from_settings(settings).signer
    return SigningKeyRead(
        code_prefix=PREFIX, public_key=signer.public_key_b64, public_key_pem=signer.public_key_pem
    )


@tickets_router.get("/tickets/{reference}")
async def get_ticket(
    reference: Reference, user: CurrentUser, session: DbSession, policy: Policy
) -> TicketRead:
    """The ticket, for its holder and for staff."""
    return await tickets.get_ticket(session, user, _reference(reference), policy)


@tickets_router.get(
    "/tickets/{reference}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def ticket_qr_svg(
    reference: Reference, user: CurrentUser, session: DbSession, policy: Policy
) -> Response:
    svg = await tickets.ticket_qr(session, user, _reference(reference), policy, "svg")
    return Response(svg, media_type="image/svg+xml", headers=NO_STORE)


@tickets_router.get(
    "/tickets/{reference}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def ticket_qr_png(
    reference: Reference, user: CurrentUser, session: DbSession, policy: Policy
) -> Response:
    png = await tickets.ticket_qr(session, user, _reference(reference), policy, "png")
    return Response(png, media_type="image/png", headers=NO_STORE)


@tickets_router.post("/tickets/{reference}/cancel")
async def cancel_ticket(
    reference: Reference,
    user: CurrentUser,
    session: DbSession,
    jobs: AppJobQueue,
    policy: Policy,
) -> TicketRead:
    """The holder cancels the ticket for a full refund, until KINO_REFUND_CUTOFF_HOURS before
    the start (later: 409 ``refund_window_closed``). The seat is free again at once; the
    refund and a mail follow."""
    return await tickets.cancel_ticket(session, jobs, user, _reference(reference), policy)


# --- staff -------------------------------------------------------------------------------------


@staff_router.post("/checkin")
async def check_in(
    body: CheckInCreate, staff: StaffUser, session: DbSession, policy: Policy
) -> CheckInRead:
    """Scans a ticket at the door. ``result``: ok, already_used, wrong_showtime, cancelled,
    not_yet, ended or invalid; a ticket is admitted once."""
    return await checkin.check_in(session, staff, body, policy)


@staff_router.get("/boxoffice/stats")
async def box_office_stats(
    staff: StaffUser,
    session: DbSession,
    cinema_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> BoxOfficeStats:
    """Tickets sold, revenue (per currency, net of refunds) and occupancy of scheduled
    showtimes whose local date is in [from, to]; in total, per day, per film and per showtime.
    Without dates: the 30 days before and after today; at most 366 days."""
    return await stats.box_office_stats(
        session, cinema_id=cinema_id, date_from=date_from, date_to=date_to
    )


router = GatedRouter()
router.include_router(orders_router)
router.include_router(tickets_router)
router.include_router(staff_router)
