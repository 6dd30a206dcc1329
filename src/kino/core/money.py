"""Money is an integer of minor units and an ISO 4217 currency code; this knows how many minor
units make one whole unit of a currency."""

from __future__ import annotations

# ISO 4217 currencies whose minor unit is not the usual hundredth.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}


def currency_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has: 2 for EUR, 0 for JPY."""
    return _EXPONENTS.get(currency.upper(), 2)


def whole_units(amount: int, currency: str) -> int:
    """The whole currency units in ``amount`` minor units, rounded down."""
    return amount // 10 ** currency_exponent(currency)


def format_money(amount: int, currency: str) -> str:
    """``1250, "EUR"`` → ``"12.50 EUR"``: for mail and receipts, not for parsing."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{minor:0{exponent}d} {currency}"
