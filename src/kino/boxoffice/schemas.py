"""Box office shapes in and out of the API. Everything a client sends is bounded here, so that
bad input is a 422 that names the field, never a database error."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime
from functools import cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from kino.boxoffice.models import ScreenType, SeatType, ShowtimeFormat, ShowtimeStatus
from kino.core.http import MAX_ID

MAX_ROWS = 50
MAX_SEATS_PER_ROW = 100
MAX_ROW_WIDTH = 150  # seats and gaps
MAX_SEATS_PER_HOLD = 10
MAX_PRICE = 100_000_000  # minor units: a million in a two-decimal currency
MAX_RADIUS_KM = 20_000.0  # half the Earth's circumference, give or take: everywhere
SEAT_LETTERS = {
    "S": SeatType.STANDARD,
    "P": SeatType.PREMIUM,
    "V": SeatType.VIP,
    "W": SeatType.WHEELCHAIR,
}
GAP = "_"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_line(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be one line of text without control characters")
    return value


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a seat")
    return values


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line)
]
Name = Annotated[Text, StringConstraints(max_length=200)]
Address = Annotated[Text, StringConstraints(max_length=300)]
City = Annotated[Text, StringConstraints(max_length=100)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()./-]{2,30}$")
]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
HallName = Annotated[Text, StringConstraints(max_length=100)]
Sound = Annotated[Text, StringConstraints(max_length=100)]
RowLabel = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
RowSeats = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ROW_WIDTH, pattern=r"^[SPVW_]+$")
]
SeatName = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[1-9][0-9]{0,2}$")]
Price = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A language tag: "en", "de-CH", "pt-BR", "zh-Hant".
LanguageTag = Annotated[
    str, StringConstraints(max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]
Reason = Annotated[Text, StringConstraints(max_length=200)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


# --- cinemas --------------------------------------------------------------------------------


class OpeningInterval(Strict):
    opens: ClockTime
    closes: ClockTime = Field(description='"closes" at or before "opens" means after midnight.')

    @model_validator(mode="after")
    def _not_empty(self) -> OpeningInterval:
        if self.opens == self.closes:
            raise ValueError("opens and closes must differ")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OpeningHours = dict[Weekday, Annotated[list[OpeningInterval], Field(max_length=4)]]


class CinemaCreate(Strict):
    name: Name
    address: Address
    city: City
    phone: Phone | None = None
    email: EmailStr | None = None
    latitude: Latitude
    longitude: Longitude
    time_zone: TimeZoneName
    opening_hours: OpeningHours = Field(
        default_factory=dict,
        description='Per weekday ("mon" … "sun"), the times it is open; a day left out is closed.',
    )


class CinemaUpdate(Strict):
    """Fields to change; a field left out stays as it is. ``phone`` and ``email`` clear with
    null."""

    name: Name | None = None
    address: Address | None = None
    city: City | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    time_zone: TimeZoneName | None = None
    opening_hours: OpeningHours | None = None

    @model_validator(mode="after")
    def _required_fields_are_not_null(self) -> CinemaUpdate:
        for field in self.model_fields_set - {"phone", "email"}:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class HallSummary(BaseModel):
    id: int
    name: str
    screen: ScreenType
    sound: str | None
    capacity: int


class CinemaRead(BaseModel):
    id: int
    name: str
    address: str
    city: str
    phone: str | None
    email: str | None
    latitude: float
    longitude: float
    time_zone: str
    opening_hours: dict[str, list[OpeningInterval]]
    distance_km: float | None = Field(
        default=None, description="From the point given as near=, when one was."
    )
    created_at: datetime
    updated_at: datetime


class CinemaDetail(CinemaRead):
    halls: list[HallSummary]


# --- halls ----------------------------------------------------------------------------------


class SeatRow(Strict):
    label: RowLabel = Field(description='The row\'s name, "A" to "ZZZ"; seats are "A1", "A2" …')
    seats: RowSeats = Field(
        description="One letter per place: S standard, P premium, V VIP, W wheelchair space, "
        "_ a gap. Seats are numbered from 1, left to right, gaps not counted."
    )

    @model_validator(mode="after")
    def _has_seats(self) -> SeatRow:
        count = len(self.seats) - self.seats.count(GAP)
        if count == 0:
            raise ValueError(f"row {self.label} has no seat")
        if count > MAX_SEATS_PER_ROW:
            raise ValueError(f"row {self.label} has more than {MAX_SEATS_PER_ROW} seats")
        return self


class HallCreate(Strict):
    name: HallName
    screen: ScreenType
    sound: Sound | None = None
    rows: list[SeatRow] = Field(min_length=1, max_length=MAX_ROWS, description="Front row first.")

    @model_validator(mode="after")
    def _unique_labels(self) -> HallCreate:
        labels = [row.label for row in self.rows]
        if len(set(labels)) != len(labels):
            raise ValueError("row labels must be unique")
        return self


class HallUpdate(Strict):
    """The seat map itself is fixed once made (claims and tickets point at its seats)."""

    name: HallName | None = None
    screen: ScreenType | None = None
    sound: Sound | None = None

    @model_validator(mode="after")
    def _required_fields_are_not_null(self) -> HallUpdate:
        for field in self.model_fields_set - {"sound"}:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class BlockedSeat(BaseModel):
    name: str
    reason: str | None


class HallRead(BaseModel):
    id: int
    cinema_id: int
    name: str
    screen: ScreenType
    sound: str | None
    capacity: int
    rows: list[SeatRow]
    blocked_seats: list[BlockedSeat]
    created_at: datetime
    updated_at: datetime


class SeatsBlock(Strict):
    seats: Annotated[list[SeatName], Field(min_length=1, max_length=200), AfterValidator(_unique)]
    reason: Reason | None = None


# --- showtimes ------------------------------------------------------------------------------


class Prices(Strict):
    """Per seat type, in minor units of the showtime's currency (cents for EUR)."""

    standard: Price
    premium: Price
    vip: Price
    wheelchair: Price


class ShowtimeCreate(Strict):
    movie_id: Id
    hall_id: Id
    starts_at: AwareDatetime = Field(description="With its offset: 2026-12-24T20:15:00+01:00.")
    language: LanguageTag
    subtitles: LanguageTag | None = None
    format: ShowtimeFormat
    prices: Prices
    currency: Currency


class ShowtimeMovie(BaseModel):
    id: int
    title: str
    runtime_minutes: int | None
    age_rating: str | None


class ShowtimeCinema(BaseModel):
    id: int
    name: str
    city: str
    time_zone: str


class ShowtimeHall(BaseModel):
    id: int
    name: str
    screen: ScreenType


class ShowtimeRead(BaseModel):
    id: int
    movie: ShowtimeMovie
    cinema: ShowtimeCinema
    hall: ShowtimeHall
    starts_at: datetime
    ends_at: datetime = Field(description="The film's end plus the hall's cleaning time.")
    local_starts_at: datetime = Field(description="starts_at in the cinema's time zone.")
    local_date: date
    language: str
    subtitles: str | None
    format: ShowtimeFormat
    prices: Prices
    currency: str
    status: ShowtimeStatus
    cancelled_at: datetime | None
    capacity: int
    seats_available: int


class CancellationRead(BaseModel):
    showtime: ShowtimeRead
    released_holds: int
    ticket_ids: list[int] = Field(description="Sold tickets of the showtime, to be refunded.")


SeatState = Literal["free", "held", "sold", "blocked"]


class ShowtimeSeat(BaseModel):
    name: str
    number: int
    position: int = Field(description="Place in the row, gaps counted, from 1.")
    type: SeatType
    price: int
    state: SeatState
    mine: bool = Field(description="Held by the caller.")


class ShowtimeSeatRow(BaseModel):
    label: str
    seats: list[ShowtimeSeat]


class SeatCounts(BaseModel):
    free: int
    held: int
    sold: int
    blocked: int


class ShowtimeSeatMap(BaseModel):
    showtime_id: int
    status: ShowtimeStatus
    currency: str
    rows: list[ShowtimeSeatRow]
    counts: SeatCounts
    my_hold_id: int | None = Field(
        default=None, description="The caller's live hold for this showtime, if any."
    )


# --- holds ----------------------------------------------------------------------------------


class HoldCreate(Strict):
    seats: Annotated[
        list[SeatName],
        Field(min_length=1, max_length=MAX_SEATS_PER_HOLD),
        AfterValidator(_unique),
    ]


class HoldRead(BaseModel):
    id: int
    showtime_id: int
    user_id: uuid.UUID
    seats: list[str]
    amount: int = Field(description="The seats' prices added up, in minor units.")
    currency: str
    expires_at: datetime
