"""Orders: paying for a seat hold turns it into tickets.

``place_order`` owns its units of work instead of running in the request's one transaction,
because a payment is a side effect outside the database that has to be undone when the sale
cannot be stored:

1. A short transaction looks for an order made with the same ``Idempotency-Key`` (the same
   request gets that order back, another request is refused) and checks the hold through
   ``holds.claims_of_hold``: the caller's, not expired (409 ``hold_expired``, and nothing is
   charged), its showtime still on sale.
2. The provider authorizes the amount (402 ``payment_declined`` with the reason; the hold
   stays as it is until it expires).
3. ONE transaction stores the sale: the order row first (its UNIQUE (user, key) makes a
   second request with the same key wait for, then lose to, the first), the hold's claims
   locked and checked again (a hold that expired during the payment is a 409), the payment,
   the tickets, the claims turned into sold ones (``holds.sell_claims``), the loyalty points
   and the confirmation mail's job. The authorization is captured last, just before COMMIT.
   When anything in it fails, the authorization is voided (or, captured already, refunded),
   so money is only ever taken for a stored sale. An authorization left behind by a process
   that died between 2 and 3 is never captured and lapses at the provider.

Two orders for one hold: the second finds the hold sold (409 ``hold_already_ordered``) and
voids its authorization. The same key twice at once: the loser voids its authorization
unless the provider, given the same idempotency key, answered both with one authorization.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.billing import service as billing
from kino.billing.errors import PaymentProviderUnavailable
from kino.billing.models import Payment
from kino.billing.providers import Authorization, Card, PaymentProvider
from kino.boxoffice import holds, loyalty
from kino.boxoffice.errors import HoldNotFound
from kino.boxoffice.holds import HeldSeats
from kino.boxoffice.models import SeatHold
from kino.boxoffice.sales_errors import (
    CheckoutBusy,
    HoldAlreadyOrdered,
    HoldChanged,
    IdempotencyKeyReused,
    OrderNotFound,
    is_lock_conflict,
)
from kino.boxoffice.sales_models import LoyaltyEntry, Order, OrderStatus, Ticket, TicketStatus
from kino.boxoffice.sales_schemas import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    OrderRead,
    PaymentRead,
    TicketRead,
)
from kino.boxoffice.ticket_codes import new_nonce
from kino.boxoffice.tickets import TicketPolicy, ticket_query, ticket_read
from kino.core.db import Database
from kino.core.pagination import Page, PageParams
from kino.identity.models import STAFF_ROLES, User
from kino.jobs.queue import JobQueue

log = structlog.get_logger("kino.boxoffice")

ORDER_MAIL_JOB = "boxoffice.mail_order"
KEY_CONSTRAINT = "uq_orders_user_id_idempotency_key"


@dataclass(frozen=True)
class OrderRequest:
    hold_id: int
    provider: str
    card: Card
    idempotency_key: str

    def fingerprint(self, secret: str) -> str:
        """An HMAC of what was asked (a bare hash of a card number could be guessed)."""
        document = json.dumps(
            {"hold_id": self.hold_id, "provider": self.provider, "card": self.card.number},
            sort_keys=True,
        )
        return hmac.new(secret.encode(), document.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PlacedOrder:
    order: OrderRead
    # The order was made by an earlier request with the same Idempotency-Key.
    replayed: bool


class _KeyTaken(Exception):
    """Another request with the same Idempotency-Key stored its order first."""


# ---------------------------------------------------------------------------- placing


async def place_order(
    db: Database,
    provider: PaymentProvider,
    jobs: JobQueue,
    user: User,
    request: OrderRequest,
    policy: TicketPolicy,
    *,
    secret: str,
) -> PlacedOrder:
    if request.provider != provider.name:
        raise PaymentProviderUnavailable(request.provider, provider.name)
    fingerprint = request.fingerprint(secret)
    try:
        async with db.transaction() as session:
            existing = await _order_by_key(session, user.id, request.idempotency_key)
            if existing is not None:
                return await _replay(session, existing, fingerprint, policy)
            held = await _checked_hold(session, request.hold_id, user)
    except DBAPIError as error:
        if is_lock_conflict(error):
            raise CheckoutBusy() from None
        raise
    authorization = await _authorize(provider, user, request, held)
    try:
        order = await _record_sale(
            db, provider, jobs, user, request, held, authorization, fingerprint, policy
        )
    except _KeyTaken:
        return await _after_lost_race(
            db, provider, user, request, authorization, fingerprint, policy
        )
    log.info("boxoffice.order.placed", order_id=order.id, total=order.total, seats=len(held.seats))
    return PlacedOrder(order, replayed=False)


async def _authorize(
    provider: PaymentProvider, user: User, request: OrderRequest, held: HeldSeats
) -> Authorization | None:
    if held.amount == 0:
        return None  # free seats: nothing to pay
    key = hashlib.sha256(f"{user.id}:{request.idempotency_key}".encode()).hexdigest()
    return await provider.authorize(
        amount=held.amount,
        currency=held.currency,
        card=request.card,
        idempotency_key=f"order-{key[:48]}",
        description=f"Kino: {len(held.seats)} ticket(s), showtime {held.showtime_id}",
    )


async def _checked_hold(
    session: AsyncSession, hold_id: int, user: User, *, besides: int | None = None
) -> HeldSeats:
    """The hold, locked and checked; a hold the user already paid for (by an order other than
    ``besides``, the one being stored) is named as such."""
    try:
        return await holds.claims_of_hold(session, hold_id, user)
    except HoldNotFound:
        order_id = await session.scalar(
            select(Order.id)
            .where(Order.user_id == user.id, Order.hold_id == hold_id, Order.id != (besides or 0))
            .order_by(Order.id.desc())
            .limit(1)
        )
        if order_id is not None:
            raise HoldAlreadyOrdered(hold_id, order_id) from None
        raise


async def _record_sale(
    db: Database,
    provider: PaymentProvider,
    jobs: JobQueue,
    user: User,
    request: OrderRequest,
    expected: HeldSeats,
    authorization: Authorization | None,
    fingerprint: str,
    policy: TicketPolicy,
) -> OrderRead:
    """Step 3 of the module's docstring; undoes the payment when the sale is not stored, except
    when another request with the same key won (the caller sorts that out)."""
    captured = False
    try:
        async with db.transaction() as session:
            order = await _insert_order(session, user, request, expected, fingerprint)
            held = await _checked_hold(session, request.hold_id, user, besides=order.id)
            if _differs(held, expected):
                raise HoldChanged(request.hold_id)
            if authorization is not None:
                payment = await billing.record_payment(session, user.id, authorization)
                order.payment_id = payment.id
            tickets = await _issue_tickets(session, order, held)
            await holds.sell_claims(session, held, {t.seat_id: t.id for t in tickets})
            await loyalty.award_points(session, tickets)
            await jobs.enqueue(
                session, kind=ORDER_MAIL_JOB, payload={"order_id": order.id}, created_by_id=user.id
            )
            read = await read_order(session, order.id, policy)
            if authorization is not None:
                await provider.capture(authorization)
                captured = True
        return read
    except _KeyTaken:
        raise
    except DBAPIError as error:
        await _undo_payment(provider, authorization, captured=captured)
        if is_lock_conflict(error):
            raise CheckoutBusy() from None
        raise
    except BaseException:
        await _undo_payment(provider, authorization, captured=captured)
        raise


async def _insert_order(
    session: AsyncSession,
    user: User,
    request: OrderRequest,
    held: HeldSeats,
    fingerprint: str,
) -> Order:
    order = Order(
        user_id=user.id,
        showtime_id=held.showtime_id,
        hold_id=request.hold_id,
        status=OrderStatus.PAID,
        total=held.amount,
        currency=held.currency,
        idempotency_key=request.idempotency_key,
        request_fingerprint=fingerprint,
    )
    session.add(order)
    try:
        await session.flush()
    except IntegrityError as error:
        if KEY_CONSTRAINT in str(error.orig) or "orders.idempotency_key" in str(error.orig):
            raise _KeyTaken() from None
        raise
    return order


def _differs(held: HeldSeats, expected: HeldSeats) -> bool:
    return (held.showtime_id, held.amount, held.currency, held.seats) != (
        expected.showtime_id,
        expected.amount,
        expected.currency,
        expected.seats,
    )


async def _issue_tickets(session: AsyncSession, order: Order, held: HeldSeats) -> list[Ticket]:
    references = await _new_references(session, len(held.seats))
    tickets = [
        Ticket(
            order_id=order.id,
            user_id=order.user_id,
            showtime_id=held.showtime_id,
            seat_id=seat.seat_id,
            reference=reference,
            nonce=new_nonce(),
            price=seat.price,
            currency=held.currency,
            status=TicketStatus.VALID,
        )
        for seat, reference in zip(held.seats, references, strict=True)
    ]
    session.add_all(tickets)
    await session.flush()
    return tickets


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


async def _new_references(session: AsyncSession, count: int) -> list[str]:
    """``count`` references no ticket has; the unique constraint settles the (one in a
    trillion) race with another sale drawing the same one at the same moment."""
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {new_reference() for _ in range(count - len(chosen))} - chosen
        taken = await session.scalars(
            select(Ticket.reference).where(Ticket.reference.in_(candidates))
        )
        chosen |= candidates - set(taken)
    return sorted(chosen)


async def _undo_payment(
    provider: PaymentProvider, authorization: Authorization | None, *, captured: bool
) -> None:
    if authorization is None:
        return
    try:
        if captured:
            await provider.refund(
                payment_reference=authorization.reference,
                amount=authorization.amount,
                currency=authorization.currency,
                idempotency_key=f"undo-{authorization.reference}",
            )
        else:
            await provider.void(authorization)
    except Exception as error:  # the sale failed either way; this needs a person now
        log.error(
            "boxoffice.order.payment_not_undone",
            reference=authorization.reference,
            captured=captured,
            error=repr(error),
        )
    else:
        log.info("boxoffice.order.payment_undone", reference=authorization.reference)


async def _after_lost_race(
    db: Database,
    provider: PaymentProvider,
    user: User,
    request: OrderRequest,
    authorization: Authorization | None,
    fingerprint: str,
    policy: TicketPolicy,
) -> PlacedOrder:
    """Another request with this key stored its order first: ours is not needed."""
    async with db.transaction() as session:
        winner = await _order_by_key(session, user.id, request.idempotency_key)
        winner_reference = None
        if winner is not None and winner.payment_id is not None:
            winner_reference = await session.scalar(
                select(Payment.provider_reference).where(Payment.id == winner.payment_id)
            )
    if authorization is not None and authorization.reference != winner_reference:
        await _undo_payment(provider, authorization, captured=False)
    if winner is None:
        raise CheckoutBusy()
    async with db.transaction() as session:
        return await _replay(session, winner, fingerprint, policy)


async def _order_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Order | None:
    order: Order | None = await session.scalar(
        select(Order)
        .where(Order.user_id == user_id, Order.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    return order


async def _replay(
    session: AsyncSession, order: Order, fingerprint: str, policy: TicketPolicy
) -> PlacedOrder:
    if not hmac.compare_digest(order.request_fingerprint, fingerprint):
        raise IdempotencyKeyReused()
    if order.hold_id is not None and await session.get(SeatHold, order.hold_id) is not None:
        # The sale deleted the order's hold, so this is a new hold with the same id (SQLite
        # hands out a deleted row's id again): the same body, but a different request.
        raise IdempotencyKeyReused()
    return PlacedOrder(await read_order(session, order.id, policy), replayed=True)


# ---------------------------------------------------------------------------- reading


async def read_order(session: AsyncSession, order_id: int, policy: TicketPolicy) -> OrderRead:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderNotFound(order_id)
    [read] = await _reads(session, [order], policy)
    return read


async def get_order(
    session: AsyncSession, user: User, order_id: int, policy: TicketPolicy
) -> OrderRead:
    """The order, for the user who made it and for staff; anyone else gets 404."""
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None or (order.user_id != user.id and user.role not in STAFF_ROLES):
        raise OrderNotFound(order_id)
    [read] = await _reads(session, [order], policy)
    return read


async def list_orders_of(
    session: AsyncSession, user_id: uuid.UUID, policy: TicketPolicy, *, paging: PageParams
) -> Page[OrderRead]:
    """The user's orders, newest first."""
    total = await session.scalar(
        select(func.count()).select_from(Order).where(Order.user_id == user_id)
    )
    orders = list(
        await session.scalars(
            select(Order)
            .where(Order.user_id == user_id)
            .order_by(Order.id.desc())
            .offset(paging.offset)
            .limit(paging.page_size)
            .execution_options(populate_existing=True)
        )
    )
    items = await _reads(session, orders, policy)
    return Page(items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size)


async def _reads(
    session: AsyncSession, orders: list[Order], policy: TicketPolicy
) -> list[OrderRead]:
    """The orders with their payments, tickets and points, in three queries for any number."""
    if not orders:
        return []
    order_ids = [order.id for order in orders]
    payment_ids = [order.payment_id for order in orders if order.payment_id is not None]
    payments = {
        payment.id: payment
        for payment in await session.scalars(
            select(Payment)
            .where(Payment.id.in_(payment_ids))
            .execution_options(populate_existing=True)
        )
    }
    tickets: dict[int, list[TicketRead]] = defaultdict(list)
    rows = await session.execute(
        ticket_query().where(Ticket.order_id.in_(order_ids)).order_by(Ticket.seat_id)
    )
    for row in rows:
        tickets[row.Ticket.order_id].append(ticket_read(row, policy))
    points = {
        order_id: int(total or 0)
        for order_id, total in await session.execute(
            select(Ticket.order_id, func.sum(LoyaltyEntry.points))
            .join(LoyaltyEntry, LoyaltyEntry.ticket_id == Ticket.id)
            .where(Ticket.order_id.in_(order_ids))
            .group_by(Ticket.order_id)
        )
    }
    return [
        OrderRead(
            id=order.id,
            user_id=order.user_id,
            status=order.status,
            showtime_id=order.showtime_id,
            total=order.total,
            currency=order.currency,
            payment=_payment_read(payments.get(order.payment_id or 0)),
            tickets=tickets[order.id],
            loyalty_points=points.get(order.id, 0),
            created_at=order.created_at,
        )
        for order in orders
    ]


def _payment_read(payment: Payment | None) -> PaymentRead | None:
    if payment is None:
        return None
    return PaymentRead(
        provider=payment.provider,
        status=payment.status,
        amount=payment.amount,
        refunded_amount=payment.refunded_amount,
        currency=payment.currency,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
    )
