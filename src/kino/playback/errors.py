"""The playback domain's typed errors: entitlements, and what /stream answers."""

from __future__ import annotations

from kino.core.errors import KinoError, NotFound, PermissionDenied

# Players fetch /stream from other origins (an embed, a CDN in front): an error must be readable
# there too, or the player sees a CORS failure instead of a 403.
STREAM_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges",
}


class PaymentRequired(KinoError):
    """The film is for subscribers, renters or buyers; billing does not exist yet, so nobody is
    entitled."""

    status = 402
    code = "payment_required"


class AgeVerificationRequired(PermissionDenied):
    code = "age_verification_required"


class AgeRestricted(PermissionDenied):
    code = "age_restricted"


class StreamForbidden(PermissionDenied):
    code = "stream_forbidden"

    def __init__(self) -> None:
        super().__init__("This stream link is invalid or has expired; start playback again.")
        self.headers = dict(STREAM_CORS_HEADERS)


class StreamFileNotFound(NotFound):
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("There is no such file in this stream.")
        self.headers = dict(STREAM_CORS_HEADERS)


class RangeNotSatisfiable(KinoError):
    status = 416
    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"The requested range is outside the file ({size} bytes).")
        self.headers = {**STREAM_CORS_HEADERS, "Content-Range": f"bytes */{size}"}
