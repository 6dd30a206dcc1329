"""What a ticket's QR code says, signed so that a scanner can check it without asking Kino.

A code is ``KINO1.<payload>.<signature>``: ``payload`` is base64url (no padding) of compact
JSON ``{"n": nonce, "s": showtime id, "seat": "A7", "t": ticket id}``, and ``signature`` is
base64url of the Ed25519 signature of the ASCII text ``KINO1.<payload>``. The key pair is
derived from ``KINO_SECRET_KEY`` (HKDF-SHA256, its own label), so every process of an
installation signs alike and nothing else has to be stored; ``GET /api/v1/tickets/signing-key``
publishes the public key for scanners. A scanner that verifies offline knows the code is
genuine; only Kino knows whether the ticket was refunded or already used since, which is what
``POST /api/v1/checkin`` answers. Changing the secret key changes the key pair, and with it
every ticket's code.

The codes are drawn as QR codes (segno): SVG for screens, PNG for mail and print.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "KINO1"
MAX_CODE_LENGTH = 512
SIGNATURE_BYTES = 64
KEY_LABEL = b"kino ticket codes v1"


@dataclass(frozen=True)
class TicketCode:
    """What a code vouches for."""

    ticket_id: int
    showtime_id: int
    seat: str
    nonce: str


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class TicketSigner:
    def __init__(self, secret: str) -> None:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL).derive(
            secret.encode()
        )
        self._private_key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: Ed25519PublicKey = self._private_key.public_key()

    @property
    def public_key_b64(self) -> str:
        raw = self.public_key.public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )
        return _encode(raw)

    @property
    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode()

    def sign(self, code: TicketCode) -> str:
        document = {"n": code.nonce, "s": code.showtime_id, "seat": code.seat, "t": code.ticket_id}
        payload = _encode(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{PREFIX}.{payload}"
        return f"{signed}.{_encode(self._private_key.sign(signed.encode()))}"

    def verify(self, text: str) -> TicketCode | None:
        """The ticket a genuine code names; None for anything else (forged, damaged, garbage)."""
        if len(text) > MAX_CODE_LENGTH or not text.isascii():
            return None
        parts = text.strip().split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        signature = _decode(parts[2])
        if signature is None or len(signature) != SIGNATURE_BYTES:
            return None
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
        except InvalidSignature:
            return None
        return _parse(_decode(parts[1]))


def _parse(payload: bytes | None) -> TicketCode | None:
    """A signed payload is ours, but read it defensively all the same."""
    if payload is None:
        return None
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    ticket_id, showtime_id = document.get("t"), document.get("s")
    seat, nonce = document.get("seat"), document.get("n")
    if not (isinstance(ticket_id, int) and isinstance(showtime_id, int)):
        return None
    if not (isinstance(seat, str) and isinstance(nonce, str)):
        return None
    return TicketCode(ticket_id=ticket_id, showtime_id=showtime_id, seat=seat, nonce=nonce)


@lru_cache(maxsize=4)
def ticket_signer(secret: str) -> TicketSigner:
    return TicketSigner(secret)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes | None:
    if not text or len(text) % 4 == 1:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


# ---------------------------------------------------------------------------- drawing


def qr_svg(code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(
        buffer, kind="svg", scale=4, border=4, xmldecl=False, title="Kino ticket"
    )
    return buffer.getvalue()


def qr_png(code: str, *, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
