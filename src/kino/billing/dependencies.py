"""The app's payment provider, for endpoints that take payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kino.billing.providers import PaymentProvider


async def _payment_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.payments
    return provider


AppPaymentProvider = Annotated[PaymentProvider, Depends(_payment_provider)]
