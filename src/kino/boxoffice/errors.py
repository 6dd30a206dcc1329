"""The box office's errors: each a ``KinoError`` with its own code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kino.core.errors import Conflict, InvalidInput, NotFound


class CinemaNotFound(NotFound):
    code = "cinema_not_found"

    def __init__(self, cinema_id: int) -> None:
        super().__init__(f"There is no cinema with id {cinema_id}.")


class HallNotFound(NotFound):
    code = "hall_not_found"

    def __init__(self, hall_id: int) -> None:
        super().__init__(f"There is no hall with id {hall_id}.")


class ShowtimeNotFound(NotFound):
    code = "showtime_not_found"

    def __init__(self, showtime_id: int) -> None:
        super().__init__(f"There is no showtime with id {showtime_id}.")


class HoldNotFound(NotFound):
    """Also what another user's hold looks like: holds are private."""

    code = "hold_not_found"

    def __init__(self, hold_id: int) -> None:
        super().__init__(f"You have no hold with id {hold_id}.")


class HallNameTaken(Conflict):
    code = "hall_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"This cinema already has a hall named {name!r}.")


class UnknownSeats(InvalidInput):
    code = "unknown_seats"

    def __init__(self, names: Sequence[str]) -> None:
        listed = ", ".join(names)
        super().__init__(
            f"This hall has no seat named {listed}.",
            details=[{"field": "seats", "message": f"no such seat: {name}"} for name in names],
        )


class SeatsUnavailable(Conflict):
    """Some of the seats asked for are held, sold or blocked; ``details.seats`` names them."""

    code = "seats_unavailable"

    def __init__(self, names: Sequence[str], *, message: str | None = None) -> None:
        listed = ", ".join(names)
        super().__init__(
            message or f"These seats are no longer available: {listed}.",
            details={"seats": list(names)},
        )


class ShowtimeOverlap(Conflict):
    code = "showtime_overlap"

    def __init__(self, other_id: int | None) -> None:
        message = "The hall is busy then: another showtime overlaps this one"
        if other_id is not None:
            message += f" (showtime {other_id})"
        super().__init__(message + ".", details={"showtime_id": other_id})


class ShowtimeCancelled(Conflict):
    code = "showtime_cancelled"

    def __init__(self, showtime_id: int) -> None:
        super().__init__(f"Showtime {showtime_id} is cancelled.")


class ShowtimeStarted(Conflict):
    code = "showtime_started"

    def __init__(self, showtime_id: int) -> None:
        super().__init__(f"Showtime {showtime_id} has already started; seats are no longer sold.")


class RuntimeUnknown(Conflict):
    code = "movie_runtime_unknown"

    def __init__(self, movie_id: int) -> None:
        super().__init__(
            f"Film {movie_id} has no runtime, so the showtime's end is unknown; set the film's "
            "runtime_minutes first."
        )


class FormatNotSupported(InvalidInput):
    code = "format_not_supported"

    def __init__(self, showtime_format: str, screen: str) -> None:
        message = f"A {screen} hall cannot show the {showtime_format} format."
        super().__init__(message, details=[{"field": "format", "message": message}])


class StartsInThePast(InvalidInput):
    code = "starts_in_the_past"

    def __init__(self) -> None:
        message = "A new showtime must start in the future."
        super().__init__(message, details=[{"field": "starts_at", "message": message}])


class HoldExpired(Conflict):
    code = "hold_expired"

    def __init__(self, hold_id: int, expired_at: datetime) -> None:
        super().__init__(
            f"Hold {hold_id} expired at {expired_at.isoformat()}; hold the seats again.",
            details={"hold_id": hold_id, "expires_at": expired_at.isoformat()},
        )


class HoldInProgress(Conflict):
    code = "hold_in_progress"

    def __init__(self) -> None:
        super().__init__("Another hold of yours for this showtime is being made; try again.")
