from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from kino.core.mail import (
    OutboxMailer,
    SmtpMailer,
    SmtpServer,
    compose_mail,
    create_mailer,
    send_quietly,
)
from kino.settings import Settings
from tests.core.smtp_server import SmtpTestServer, accept_only, free_port, smtp_server

SENDER = "Kino <no-reply@kino.local>"


@pytest.fixture
def plain_server() -> Iterator[SmtpTestServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def server_with_auth() -> Iterator[SmtpTestServer]:
    with smtp_server(
        authenticator=accept_only("kino", "s3cret/pass"), auth_require_tls=False
    ) as server:
        yield server


def _greeting(to: str = "ada@example.com") -> EmailMessage:
    return compose_mail(sender=SENDER, to=to, subject="Hello", text="Your tickets are ready.\n")


async def test_outbox_mailer_writes_a_readable_eml_file(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    await OutboxMailer(outbox).send(_greeting())
    [written] = list(outbox.iterdir())
    assert written.suffix == ".eml"
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"] == "ada@example.com"
    assert parsed["Subject"] == "Hello"
    assert parsed["Message-ID"]
    body = parsed.get_body()
    assert body is not None
    assert body.get_content() == "Your tickets are ready.\n"


async def test_outbox_mailer_keeps_every_message(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    for _ in range(3):
        await mailer.send(_greeting())
    assert len(list(tmp_path.glob("*.eml"))) == 3
    assert not list(tmp_path.glob(".*"))  # no half-written files left behind


def test_embedded_settings_give_the_outbox_mailer(tmp_path: Path) -> None:
    mailer = create_mailer(Settings(data_dir=tmp_path))
    assert isinstance(mailer, OutboxMailer)
    assert mailer.directory == tmp_path / "outbox"


def test_smtp_url_gives_the_smtp_mailer(tmp_path: Path) -> None:
    mailer = create_mailer(Settings(data_dir=tmp_path, smtp_url="smtp://mail.example.com:2525"))
    assert isinstance(mailer, SmtpMailer)
    assert mailer.server == SmtpServer("mail.example.com", 2525, implicit_tls=False)


def test_smtp_url_carries_credentials_and_tls() -> None:
    server = SmtpServer.from_url("smtps://kino%40example.com:p%3Ass@mail.example.com")
    assert server == SmtpServer(
        "mail.example.com",
        465,
        implicit_tls=True,
        username="kino@example.com",
        password="p:ss",
    )
    assert SmtpServer.from_url("smtp://mail.example.com").port == 25


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com"])
def test_smtp_url_that_is_not_smtp_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="KINO_SMTP_URL"):
        SmtpServer.from_url(url)


async def test_smtp_mailer_delivers_to_a_real_server(plain_server: SmtpTestServer) -> None:
    mailer = create_mailer(Settings(smtp_url=f"smtp://127.0.0.1:{plain_server.port}"))
    await mailer.send(_greeting(to="grace@example.com"))
    [received] = plain_server.inbox.messages
    assert plain_server.inbox.recipients == ["grace@example.com"]
    assert received["Subject"] == "Hello"
    assert received["From"] == SENDER


async def test_smtp_mailer_signs_in_with_the_urls_credentials(
    server_with_auth: SmtpTestServer,
) -> None:
    port = server_with_auth.port
    mailer = SmtpMailer(SmtpServer.from_url(f"smtp://kino:s3cret%2Fpass@127.0.0.1:{port}"))
    await mailer.send(_greeting())
    assert len(server_with_auth.inbox.messages) == 1


async def test_smtp_mailer_with_wrong_credentials_raises(
    server_with_auth: SmtpTestServer,
) -> None:
    port = server_with_auth.port
    mailer = SmtpMailer(SmtpServer.from_url(f"smtp://kino:wrong@127.0.0.1:{port}"))
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await mailer.send(_greeting())
    assert server_with_auth.inbox.messages == []


async def test_send_quietly_survives_an_unreachable_server() -> None:
    mailer = SmtpMailer(SmtpServer("127.0.0.1", free_port(), implicit_tls=False))
    await send_quietly(mailer, _greeting())  # logged, not raised
