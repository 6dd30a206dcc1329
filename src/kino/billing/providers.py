"""The ``PaymentProvider`` port, and the built-in sandbox provider.

A payment is made in two steps, so that money is only taken for a sale that is stored:
``authorize`` reserves the amount on the card (or raises ``PaymentDeclined``), the caller writes
its sale, ``capture`` takes the money just before the sale commits, and ``void`` lets an
authorization go when the sale cannot be stored. An authorization that is neither captured nor
voided (the process died in between) lapses at the provider by itself. ``refund`` gives back
(part of) a captured payment.

Every call that changes money carries an idempotency key, so that a retried call (a network
blip, a job run twice) is answered with the first call's result instead of doing it again.

The sandbox provider (``KINO_STRIPE_SECRET_KEY`` unset) takes test card numbers:

==========================  =====================================
4242 4242 4242 4242         approved
4000 0000 0000 0002         declined: ``insufficient_funds``
4000 0000 0000 0069         declined: ``expired_card``
any other Luhn-valid number approved
==========================  =====================================

It keeps what it did in memory (``SandboxProvider.charges``, for tests and the demo); a
capture, void or refund of a reference it does not know (made by another process) is accepted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal, Protocol

from kino.billing.errors import PaymentDeclined, PaymentProviderError
from kino.settings import Settings

SANDBOX = "sandbox"
DECLINES = {
    "4000000000000002": ("insufficient_funds", "The card was declined: insufficient funds."),
    "4000000000000069": ("expired_card", "The card was declined: it has expired."),
}


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every card number carries in its last digit."""
    if not digits.isdigit():
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    return "card"


@dataclass(frozen=True)
class Card:
    """A card number, digits only (the schema checked its length and checksum)."""

    number: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        return card_brand(self.number)


@dataclass(frozen=True)
class Authorization:
    """An amount reserved on a card; ``reference`` names it at the provider."""

    provider: str
    reference: str
    amount: int
    currency: str
    card_brand: str
    card_last4: str


class PaymentProvider(Protocol):
    name: str

    async def authorize(
        self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str
    ) -> Authorization:
        """Reserve ``amount`` minor units of ``currency``; ``PaymentDeclined`` when refused,
        ``PaymentProviderError`` when the provider failed."""
        ...

    async def capture(self, authorization: Authorization) -> None:
        """Take the reserved money."""
        ...

    async def void(self, authorization: Authorization) -> None:
        """Let an authorization that was not captured go; nothing is charged."""
        ...

    async def refund(
        self, *, payment_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        """Give back ``amount`` of a captured payment; returns the refund's reference."""
        ...


ChargeStatus = Literal["authorized", "captured", "voided"]


@dataclass
class SandboxCharge:
    reference: str
    amount: int
    currency: str
    card_last4: str
    idempotency_key: str
    status: ChargeStatus = "authorized"
    refunded: int = 0


@dataclass
class SandboxRefund:
    reference: str
    payment_reference: str
    amount: int
    idempotency_key: str


class SandboxProvider:
    """Test card numbers, no network, no money."""

    name = SANDBOX

    def __init__(self) -> None:
        self.charges: dict[str, SandboxCharge] = {}
        self.refunds: dict[str, SandboxRefund] = {}
        self._charge_keys: dict[str, str] = {}
        self._refund_keys: dict[str, str] = {}

    async def authorize(
        self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str
    ) -> Authorization:
        if amount <= 0:
            raise PaymentProviderError("The sandbox authorizes positive amounts only.")
        known = self.charges.get(self._charge_keys.get(idempotency_key, ""))
        if known is not None and known.status != "voided":
            return self._authorization(known, card)
        decline = DECLINES.get(card.number)
        if decline is not None:
            raise PaymentDeclined(*decline)
        charge = SandboxCharge(
            reference=f"sbx_ch_{secrets.token_hex(12)}",
            amount=amount,
            currency=currency,
            card_last4=card.last4,
            idempotency_key=idempotency_key,
        )
        self.charges[charge.reference] = charge
        self._charge_keys[idempotency_key] = charge.reference
        return self._authorization(charge, card)

    def _authorization(self, charge: SandboxCharge, card: Card) -> Authorization:
        return Authorization(
            provider=self.name,
            reference=charge.reference,
            amount=charge.amount,
            currency=charge.currency,
            card_brand=card.brand,
            card_last4=card.last4,
        )

    async def capture(self, authorization: Authorization) -> None:
        charge = self.charges.get(authorization.reference)
        if charge is None:
            return
        if charge.status == "voided":
            raise PaymentProviderError("This authorization was voided and cannot be captured.")
        charge.status = "captured"

    async def void(self, authorization: Authorization) -> None:
        charge = self.charges.get(authorization.reference)
        if charge is None or charge.status == "voided":
            return
        if charge.status == "captured":
            raise PaymentProviderError("A captured payment is refunded, not voided.")
        charge.status = "voided"

    async def refund(
        self, *, payment_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        known = self._refund_keys.get(idempotency_key)
        if known is not None:
            return known
        charge = self.charges.get(payment_reference)
        if charge is not None:
            if charge.status != "captured":
                raise PaymentProviderError("Only a captured payment can be refunded.")
            if charge.refunded + amount > charge.amount or currency != charge.currency:
                raise PaymentProviderError("The refund is larger than what is left to refund.")
            charge.refunded += amount
        reference = f"sbx_re_{secrets.token_hex(12)}"
        self.refunds[reference] = SandboxRefund(
            reference, payment_reference, amount, idempotency_key
        )
        self._refund_keys[idempotency_key] = reference
        return reference

    def captured(self) -> list[SandboxCharge]:
        return [charge for charge in self.charges.values() if charge.status == "captured"]


def create_payment_provider(settings: Settings) -> PaymentProvider:
    """The sandbox for now; Stripe (``KINO_STRIPE_SECRET_KEY``) gets its adapter later."""
    return SandboxProvider()
