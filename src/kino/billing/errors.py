"""Billing's errors: each a ``KinoError`` with its own code."""

from __future__ import annotations

from kino.core.errors import InvalidInput, KinoError


class PaymentDeclined(KinoError):
    """The provider refused the card; ``details.reason`` says why (``insufficient_funds``,
    ``expired_card`` …). Nothing was charged."""

    status = 402
    code = "payment_declined"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason


class PaymentProviderError(KinoError):
    """The provider could not be reached or answered with an error: nothing was charged, and
    trying again later is safe."""

    status = 502
    code = "payment_provider_error"


class PaymentProviderUnavailable(InvalidInput):
    code = "payment_provider_unavailable"

    def __init__(self, asked: str, available: str) -> None:
        message = f"Payments go through {available!r} here, not {asked!r}."
        super().__init__(message, details=[{"field": "payment.provider", "message": message}])
