"""The sandbox payment provider and the card number rules every provider shares."""

from __future__ import annotations

import pytest

from kino.billing.errors import PaymentDeclined, PaymentProviderError
from kino.billing.providers import (
    Card,
    SandboxProvider,
    card_brand,
    create_payment_provider,
    luhn_valid,
)
from kino.settings import Settings

APPROVED = "4242424242424242"


@pytest.mark.parametrize(
    "number",
    [APPROVED, "4000000000000002", "4000000000000069", "5555555555554444", "378282246310005"],
)
def test_test_card_numbers_pass_the_luhn_check(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "1234567812345678", "42424242x4242424", ""])
def test_numbers_with_a_wrong_check_digit_or_no_digits_fail_it(number: str) -> None:
    assert not luhn_valid(number)


def test_card_brands_are_told_by_their_prefix() -> None:
    assert card_brand("4242424242424242") == "visa"
    assert card_brand("5555555555554444") == "mastercard"
    assert card_brand("2223003122003222") == "mastercard"
    assert card_brand("378282246310005") == "amex"
    assert card_brand("6011111111111117") == "card"


def test_a_card_never_shows_its_number() -> None:
    card = Card(APPROVED)
    assert APPROVED not in repr(card)
    assert (card.last4, card.brand) == ("4242", "visa")


async def _authorize(
    provider: SandboxProvider, number: str = APPROVED, *, key: str = "k1", amount: int = 2400
) -> object:
    return await provider.authorize(
        amount=amount, currency="EUR", card=Card(number), idempotency_key=key, description="test"
    )


async def test_the_sandbox_authorizes_then_captures_the_good_card() -> None:
    provider = SandboxProvider()
    authorization = await provider.authorize(
        amount=2400, currency="EUR", card=Card(APPROVED), idempotency_key="k1", description="t"
    )
    assert (authorization.amount, authorization.currency) == (2400, "EUR")
    assert (authorization.card_brand, authorization.card_last4) == ("visa", "4242")
    assert provider.charges[authorization.reference].status == "authorized"
    await provider.capture(authorization)
    assert [charge.reference for charge in provider.captured()] == [authorization.reference]


@pytest.mark.parametrize(
    ("number", "reason"),
    [("4000000000000002", "insufficient_funds"), ("4000000000000069", "expired_card")],
)
async def test_the_sandbox_declines_its_declining_cards(number: str, reason: str) -> None:
    provider = SandboxProvider()
    with pytest.raises(PaymentDeclined) as declined:
        await _authorize(provider, number)
    assert declined.value.reason == reason
    assert declined.value.status == 402
    assert provider.charges == {}


async def test_an_idempotency_key_authorizes_once() -> None:
    provider = SandboxProvider()
    first = await provider.authorize(
        amount=900, currency="EUR", card=Card(APPROVED), idempotency_key="same", description="t"
    )
    again = await provider.authorize(
        amount=900, currency="EUR", card=Card(APPROVED), idempotency_key="same", description="t"
    )
    other = await provider.authorize(
        amount=900, currency="EUR", card=Card(APPROVED), idempotency_key="other", description="t"
    )
    assert first.reference == again.reference != other.reference
    assert len(provider.charges) == 2


async def test_a_voided_authorization_cannot_be_captured_and_takes_nothing() -> None:
    provider = SandboxProvider()
    authorization = await provider.authorize(
        amount=900, currency="EUR", card=Card(APPROVED), idempotency_key="v", description="t"
    )
    await provider.void(authorization)
    await provider.void(authorization)  # twice is harmless
    assert provider.charges[authorization.reference].status == "voided"
    with pytest.raises(PaymentProviderError):
        await provider.capture(authorization)
    assert provider.captured() == []


async def test_refunds_are_idempotent_and_never_exceed_the_payment() -> None:
    provider = SandboxProvider()
    authorization = await provider.authorize(
        amount=1000, currency="EUR", card=Card(APPROVED), idempotency_key="r", description="t"
    )
    with pytest.raises(PaymentProviderError):  # nothing captured yet
        await provider.refund(
            payment_reference=authorization.reference,
            amount=100,
            currency="EUR",
            idempotency_key="early",
        )
    await provider.capture(authorization)
    first = await provider.refund(
        payment_reference=authorization.reference, amount=600, currency="EUR", idempotency_key="a"
    )
    again = await provider.refund(
        payment_reference=authorization.reference, amount=600, currency="EUR", idempotency_key="a"
    )
    assert first == again
    assert provider.charges[authorization.reference].refunded == 600
    with pytest.raises(PaymentProviderError):
        await provider.refund(
            payment_reference=authorization.reference,
            amount=500,
            currency="EUR",
            idempotency_key="b",
        )
    await provider.refund(
        payment_reference=authorization.reference, amount=400, currency="EUR", idempotency_key="c"
    )
    assert provider.charges[authorization.reference].refunded == 1000


async def test_the_sandbox_refuses_to_authorize_nothing() -> None:
    with pytest.raises(PaymentProviderError):
        await _authorize(SandboxProvider(), amount=0)


def test_settings_without_stripe_give_the_sandbox() -> None:
    assert isinstance(create_payment_provider(Settings()), SandboxProvider)
