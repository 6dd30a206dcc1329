"""Errors of orders, tickets and check-in: each a ``KinoError`` with its own code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import DBAPIError

from kino.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    """Also what another user's order looks like: orders are private."""

    code = "order_not_found"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"You have no order with id {order_id}.")


class TicketNotFound(NotFound):
    """Also what another user's ticket looks like: tickets are private."""

    code = "ticket_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__(f"You have no ticket with the reference {reference}.")


class HoldAlreadyOrdered(Conflict):
    code = "hold_already_ordered"

    def __init__(self, hold_id: int, order_id: int) -> None:
        super().__init__(
            f"Hold {hold_id} has already been paid for: order {order_id}.",
            details={"hold_id": hold_id, "order_id": order_id},
        )


class HoldChanged(Conflict):
    code = "hold_changed"

    def __init__(self, hold_id: int) -> None:
        super().__init__(
            f"Hold {hold_id} changed while it was being paid for; nothing was charged. "
            "Look at it again and pay once more."
        )


# SQLSTATEs of losing a lock race on PostgreSQL: deadlock, lock timeout, serialization.
BUSY_SQLSTATES = frozenset({"40P01", "55P03", "40001"})


def is_lock_conflict(error: DBAPIError) -> bool:
    """The database gave up waiting for a lock (or broke a deadlock): worth trying again."""
    if getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


class CheckoutBusy(Conflict):
    code = "checkout_busy"

    def __init__(self) -> None:
        super().__init__(
            "These seats are being sold or cancelled right now; nothing was charged. "
            "Try again in a moment."
        )


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        message = (
            "This Idempotency-Key was already used for a different order; use a new key for "
            "a new order."
        )
        super().__init__(message, details=[{"field": "idempotency-key", "message": message}])


class NotTicketHolder(PermissionDenied):
    code = "not_ticket_holder"

    def __init__(self) -> None:
        super().__init__("Only the ticket's holder can cancel it.")


class TicketBusy(Conflict):
    code = "ticket_busy"

    def __init__(self, reference: str) -> None:
        super().__init__(f"Ticket {reference} is being changed right now; try again in a moment.")


class TicketNotValid(Conflict):
    code = "ticket_not_valid"

    def __init__(self, reference: str, status: str) -> None:
        super().__init__(f"Ticket {reference} is {status} already.", details={"status": status})


class TicketUsed(Conflict):
    code = "ticket_used"

    def __init__(self, reference: str) -> None:
        super().__init__(f"Ticket {reference} has been used for admission; it is not refunded.")


class RefundWindowClosed(Conflict):
    code = "refund_window_closed"

    def __init__(self, reference: str, closed_at: datetime) -> None:
        super().__init__(
            f"Ticket {reference} could be cancelled until {closed_at.isoformat()}; "
            "it can no longer be refunded.",
            details={"refundable_until": closed_at.isoformat()},
        )


class BadDateRange(InvalidInput):
    code = "bad_date_range"

    def __init__(self, message: str) -> None:
        super().__init__(message, details=[{"field": "from", "message": message}])
