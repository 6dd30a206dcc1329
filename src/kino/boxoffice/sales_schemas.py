"""Shapes in and out of the orders, tickets, check-in, loyalty and statistics endpoints. What a
client sends is bounded here: bad input is a 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kino.billing.models import PaymentStatus
from kino.billing.providers import luhn_valid
from kino.boxoffice.models import SeatType, ShowtimeStatus
from kino.boxoffice.sales_models import LoyaltyReason, OrderStatus, TicketStatus
from kino.boxoffice.ticket_codes import MAX_CODE_LENGTH
from kino.core.http import MAX_ID
from kino.core.pagination import Page

MIN_CARD_DIGITS = 12
MAX_CARD_DIGITS = 19
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _card_number(value: str) -> str:
    digits = value.replace(" ", "")
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("must be the card's digits, optionally in groups separated by spaces")
    if not MIN_CARD_DIGITS <= len(digits) <= MAX_CARD_DIGITS:
        raise ValueError(f"must have {MIN_CARD_DIGITS} to {MAX_CARD_DIGITS} digits")
    if not luhn_valid(digits):
        raise ValueError("is not a valid card number (its check digit is wrong)")
    return digits


CardNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=40), AfterValidator(_card_number)
]
ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
# Printable ASCII without spaces, like the keys clients generate (UUIDs, random strings).
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]+$"
ScanId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
CodeText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_LENGTH)]


# --- orders ---------------------------------------------------------------------------------


class PaymentDetails(Strict):
    provider: ProviderName = Field(description='"sandbox" (test card numbers) for now.')
    card_number: CardNumber = Field(
        description="Digits, optionally grouped with spaces. Never stored: only the brand and "
        "last four digits are kept."
    )


class OrderCreate(Strict):
    hold_id: Id
    payment: PaymentDetails


class PaymentRead(BaseModel):
    provider: str
    status: PaymentStatus
    amount: int
    refunded_amount: int
    currency: str
    card_brand: str | None
    card_last4: str | None


class TicketMovie(BaseModel):
    id: int
    title: str


class TicketCinema(BaseModel):
    id: int
    name: str
    city: str
    time_zone: str


class TicketHall(BaseModel):
    id: int
    name: str


class TicketShowtime(BaseModel):
    id: int
    status: ShowtimeStatus
    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime = Field(description="starts_at in the cinema's time zone.")
    movie: TicketMovie
    cinema: TicketCinema
    hall: TicketHall


class TicketSeat(BaseModel):
    name: str
    row: str
    number: int
    type: SeatType


class TicketRead(BaseModel):
    reference: str = Field(description="The booking reference: 8 letters and digits.")
    code: str = Field(description="What the QR code holds: KINO1.<payload>.<Ed25519 signature>.")
    status: TicketStatus
    order_id: int
    showtime: TicketShowtime
    seat: TicketSeat
    price: int = Field(description="In minor units of currency.")
    currency: str
    refundable_until: datetime = Field(
        description="Until then the holder can cancel it for a full refund."
    )
    checked_in_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    qr_svg_url: str
    qr_png_url: str


class OrderRead(BaseModel):
    id: int
    user_id: uuid.UUID
    status: OrderStatus
    showtime_id: int
    total: int = Field(description="In minor units of currency.")
    currency: str
    payment: PaymentRead | None = Field(description="None for a free order.")
    tickets: list[TicketRead]
    loyalty_points: int = Field(description="Points the order earned (less those given back).")
    created_at: datetime


# --- check-in -------------------------------------------------------------------------------


CheckInResult = Literal[
    "ok", "already_used", "wrong_showtime", "cancelled", "not_yet", "ended", "invalid"
]


class CheckInCreate(Strict):
    code: CodeText = Field(description="The QR code's text, as scanned.")
    showtime_id: Id | None = Field(
        default=None, description="The showtime being admitted: a ticket for another is refused."
    )
    scan_id: ScanId | None = Field(
        default=None,
        description="The scanner's id for this scan: repeating it (a retry) answers ok again.",
    )


class CheckInTicket(BaseModel):
    reference: str
    status: TicketStatus
    seat: str
    showtime_id: int
    starts_at: datetime
    movie_title: str
    hall_name: str


class CheckInRead(BaseModel):
    result: CheckInResult
    message: str
    ticket: CheckInTicket | None = Field(description="None when the code is invalid.")
    checked_in_at: datetime | None = Field(description="When the ticket was admitted.")


class SigningKeyRead(BaseModel):
    algorithm: Literal["Ed25519"] = "Ed25519"
    code_prefix: str
    public_key: str = Field(description="The raw 32-byte public key, base64url without padding.")
    public_key_pem: str


# --- loyalty --------------------------------------------------------------------------------


class LoyaltyEntryRead(BaseModel):
    id: int
    points: int
    reason: LoyaltyReason
    ticket_reference: str
    created_at: datetime


class LoyaltyRead(BaseModel):
    points: int = Field(description="The balance: one point per whole currency unit paid.")
    entries: Page[LoyaltyEntryRead]


# --- statistics -----------------------------------------------------------------------------


Revenue = dict[str, int]


class SalesFigures(BaseModel):
    showtimes: int
    capacity: int
    tickets_sold: int = Field(description="Valid tickets; refunded and cancelled ones are not.")
    checked_in: int
    revenue: Revenue = Field(description="Per currency, in minor units, net of refunds.")
    occupancy: float = Field(description="tickets_sold / capacity, 0 to 1.")


class ShowtimeFigures(SalesFigures):
    showtime_id: int
    starts_at: datetime
    local_date: date
    movie_id: int
    movie_title: str
    hall_id: int
    hall_name: str


class FilmFigures(SalesFigures):
    movie_id: int
    movie_title: str


class DayFigures(SalesFigures):
    date: date


class BoxOfficeStats(BaseModel):
    cinema_id: int | None
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    totals: SalesFigures
    by_day: list[DayFigures]
    by_film: list[FilmFigures]
    by_showtime: list[ShowtimeFigures]
