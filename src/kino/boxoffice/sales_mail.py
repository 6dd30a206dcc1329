"""The mail a ticket buyer gets: the order's confirmation with a QR code per ticket, and the
notice when tickets are cancelled (by the buyer, or with their showtime)."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from kino.boxoffice.sales_schemas import OrderRead, TicketRead
from kino.boxoffice.ticket_codes import qr_png
from kino.boxoffice.tickets import SHOWTIME_CANCELLED
from kino.core.mail import compose_mail
from kino.core.money import format_money
from kino.identity.models import User


def _when(ticket: TicketRead) -> str:
    local = ticket.showtime.local_starts_at
    return f"{local:%a %d %b %Y, %H:%M} ({ticket.showtime.cinema.time_zone})"


def _where(ticket: TicketRead) -> str:
    showtime = ticket.showtime
    return f"{showtime.cinema.name}, {showtime.cinema.city}, {showtime.hall.name}"


def _refundable_until(ticket: TicketRead) -> str:
    local = ticket.refundable_until.astimezone(ticket.showtime.local_starts_at.tzinfo)
    return f"{local:%a %d %b, %H:%M}"


def _ticket_line(ticket: TicketRead) -> str:
    seat = f"Seat {ticket.seat.name} ({ticket.seat.type.value})"
    return f"  {seat:<24} {format_money(ticket.price, ticket.currency):>14}   {ticket.reference}"


def order_confirmation(
    order: OrderRead, user: User, *, sender: str, account_url: str
) -> EmailMessage:
    first = order.tickets[0]
    lines = [
        f"Hello {user.display_name},",
        "",
        f"thank you for your order {order.id}. Your tickets:",
        "",
        f"  {first.showtime.movie.title}",
        f"  {_where(first)}",
        f"  {_when(first)}",
        "",
        *(_ticket_line(ticket) for ticket in order.tickets),
        "",
        f"  Total: {format_money(order.total, order.currency)}" + _paid_with(order),
        "",
        "Show a ticket's QR code (attached) at the entrance; its booking reference works too.",
        f"You can cancel a ticket for a full refund until {_refundable_until(first)}.",
    ]
    if order.loyalty_points:
        lines += ["", f"This order earned you {order.loyalty_points} loyalty points."]
    lines += ["", f"Your tickets: {account_url}", "", "Enjoy the film!", "Kino"]
    message = compose_mail(
        sender=sender,
        to=user.email,
        subject=f"Your tickets: {first.showtime.movie.title}, {_when(first)}",
        text="\n".join(lines) + "\n",
    )
    for ticket in order.tickets:
        message.add_attachment(
            qr_png(ticket.code),
            maintype="image",
            subtype="png",
            filename=f"ticket-{ticket.reference}.png",
        )
    return message


def _paid_with(order: OrderRead) -> str:
    payment = order.payment
    if payment is None or payment.card_last4 is None:
        return ""
    return f", paid with {payment.card_brand} ending in {payment.card_last4}"


def cancellation_notice(
    order: OrderRead,
    user: User,
    references: Sequence[str],
    reason: str,
    *,
    sender: str,
) -> EmailMessage | None:
    """None when none of the tickets is left to tell about."""
    cancelled = [ticket for ticket in order.tickets if ticket.reference in references]
    if not cancelled:
        return None
    first = cancelled[0]
    amount = sum(ticket.price for ticket in cancelled)
    if reason == SHOWTIME_CANCELLED:
        subject = f"Cancelled: {first.showtime.movie.title}, {_when(first)}"
        opening = "we are sorry: this showtime has been cancelled, and your tickets with it."
    else:
        subject = f"Tickets cancelled: {first.showtime.movie.title}, {_when(first)}"
        opening = "your tickets have been cancelled, as you asked."
    lines = [
        f"Hello {user.display_name},",
        "",
        opening,
        "",
        f"  {first.showtime.movie.title}",
        f"  {_where(first)}",
        f"  {_when(first)}",
        "",
        *(_ticket_line(ticket) for ticket in cancelled),
        "",
    ]
    if amount:
        lines.append(
            f"{format_money(amount, order.currency)} will be refunded to the card you paid with."
        )
    lines += ["", "Kino"]
    return compose_mail(sender=sender, to=user.email, subject=subject, text="\n".join(lines) + "\n")
