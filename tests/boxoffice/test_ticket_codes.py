"""Tickets' QR codes: signed with a key pair derived from the secret, verifiable offline with
the public key alone, and drawn as SVG and PNG."""

from __future__ import annotations

import base64

import pytest
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kino.boxoffice.ticket_codes import (
    PREFIX,
    TicketCode,
    TicketSigner,
    new_nonce,
    qr_png,
    qr_svg,
    ticket_signer,
)

SECRET = "a-secret-key-that-is-long-enough-for-tests"
CODE = TicketCode(ticket_id=41, showtime_id=7, seat="B12", nonce="bm9uY2Utb2YtdGhlLXRpY2tldA")


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_signed_code_verifies_to_what_it_names() -> None:
    signer = TicketSigner(SECRET)
    text = signer.sign(CODE)
    assert text.startswith(f"{PREFIX}.")
    assert signer.verify(text) == CODE


def test_a_scanner_verifies_a_code_with_the_public_key_alone() -> None:
    signer = TicketSigner(SECRET)
    prefix, payload, signature = signer.sign(CODE).split(".")
    public_key = Ed25519PublicKey.from_public_bytes(_b64(signer.public_key_b64))
    public_key.verify(_b64(signature), f"{prefix}.{payload}".encode())  # raises when forged
    with pytest.raises(InvalidSignature):
        public_key.verify(_b64(signature), f"{prefix}.{payload}x".encode())


def test_the_key_pair_follows_the_secret() -> None:
    assert TicketSigner(SECRET).public_key_b64 == TicketSigner(SECRET).public_key_b64
    assert TicketSigner(SECRET).public_key_b64 != TicketSigner(SECRET + "!").public_key_b64
    assert ticket_signer(SECRET) is ticket_signer(SECRET)
    assert "BEGIN PUBLIC KEY" in TicketSigner(SECRET).public_key_pem


def test_a_code_signed_with_another_secret_is_not_ours() -> None:
    forged = TicketSigner("somebody-elses-secret-key-of-any-length").sign(CODE)
    assert TicketSigner(SECRET).verify(forged) is None


def _swap_payload(text: str, code: TicketCode) -> str:
    """The signature of ``text`` on another payload: what a forger who changes a seat makes."""
    other = TicketSigner(SECRET).sign(code)
    return ".".join([*other.split(".")[:2], text.split(".")[2]])


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[:-3] + ("AAA" if not text.endswith("AAA") else "BBB"),
        lambda text: _swap_payload(text, TicketCode(41, 7, "A1", CODE.nonce)),
        lambda text: text.replace(PREFIX, "KINO2", 1),
        lambda text: text + ".extra",
        lambda text: text.split(".")[0] + "." + text.split(".")[1],
        lambda text: text.replace(".", ".!", 1),
        lambda _text: "",
        lambda _text: "not a ticket at all",
        lambda _text: "KINO1.e30.AAAA",
        lambda _text: "KINO1." + "A" * 600,
        lambda _text: "KINO1.Ä.ü",
    ],
)
def test_damaged_forged_or_foreign_codes_do_not_verify(damage: object) -> None:
    signer = TicketSigner(SECRET)
    assert callable(damage)
    assert signer.verify(damage(signer.sign(CODE))) is None


def test_a_genuine_signature_over_a_payload_that_is_not_a_ticket_does_not_verify() -> None:
    signer = TicketSigner(SECRET)
    for payload in (b"[1, 2]", b'{"t": "41", "s": 7, "seat": "B12", "n": "x"}', b"\xff\xfe"):
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        signed = f"{PREFIX}.{encoded}"
        signature = signer._private_key.sign(signed.encode())
        text = f"{signed}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        assert signer.verify(text) is None


def test_nonces_are_random_and_url_safe() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(nonce) == 22 and "." not in nonce for nonce in nonces)


def test_the_qr_code_is_drawn_as_svg_and_png_holding_the_code() -> None:
    text = TicketSigner(SECRET).sign(CODE)
    svg = qr_svg(text)
    assert svg.startswith(b"<svg")
    assert b"Kino ticket" in svg
    png = qr_png(text)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # The drawing is the code's and nothing else's: the same text draws the same symbol.
    assert svg == qr_svg(text)
    assert png == qr_png(text)
    other = TicketSigner(SECRET).sign(TicketCode(42, 7, "B13", new_nonce()))
    assert qr_svg(other) != svg
    assert qr_png(other) != png
    # Medium error correction: a scanner still reads a scuffed or folded print-out.
    assert segno.make(text, error="m", boost_error=False).error == "M"
