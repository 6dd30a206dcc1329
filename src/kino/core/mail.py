"""The ``Mailer`` port: send one e-mail.

Embedded, mail is written as ``.eml`` files under ``<data_dir>/outbox/`` (open them with any mail
program); with ``KINO_SMTP_URL`` (``smtp://[user:pass@]host[:port]``, or ``smtps://`` for
implicit TLS) it goes out over SMTP. A plain ``smtp://`` server is asked for STARTTLS when it
offers it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Annotated, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog
from fastapi import Depends, Request

from kino.core.db import utcnow
from kino.settings import Settings

log = structlog.get_logger("kino.mail")

SMTP_TIMEOUT_SECONDS = 15.0


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose_mail(*, sender: str, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="kino")
    message.set_content(text)
    return message


async def send_quietly(mailer: Mailer, message: EmailMessage) -> None:
    """Send, and log instead of raising: for mail sent after the response (nobody to tell)."""
    try:
        await mailer.send(message)
    except Exception as error:
        log.error(
            "mail.send_failed", to=message["To"], subject=message["Subject"], error=repr(error)
        )
    else:
        log.info("mail.sent", to=message["To"], subject=message["Subject"])


class OutboxMailer:
    """Writes each message to ``directory`` as ``<time>-<id>.eml``; a reader never sees half."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, bytes(message))

    def _write(self, content: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.directory / name)


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"KINO_SMTP_URL must look like smtp://host:port, not {url!r}")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.server.hostname,
            port=self.server.port,
            username=self.server.username,
            password=self.server.password,
            use_tls=self.server.implicit_tls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )


def create_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(SmtpServer.from_url(settings.smtp_url))
    return OutboxMailer(settings.outbox_dir)


async def _mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


AppMailer = Annotated[Mailer, Depends(_mailer)]
