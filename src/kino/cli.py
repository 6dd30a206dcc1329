"""The ``kino`` command."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from kino.core.migrate import pending_migrations, upgrade
from kino.identity.models import Role
from kino.settings import Settings

app = typer.Typer(help="Kino, an open cinema platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]
Workers = Annotated[int, typer.Option(help="Server processes.", min=1)]


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the newest schema (or REVISION)."""
    settings = Settings()
    upgrade(settings.sqlalchemy_url, revision)
    typer.echo(f"Database is at {revision}: {_describe_database(settings)}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The e-mail address to sign in with.")],
    password: Annotated[str, typer.Option(help="At least 10 characters, mixed kinds.")],
    role: Annotated[Role, typer.Option(help="The account's role.")] = Role.VIEWER,
    display_name: Annotated[str | None, typer.Option(help="Shown name.")] = None,
) -> None:
    """Create an account."""
    from kino.core.errors import KinoError
    from kino.identity import service

    settings = Settings()
    _require_migrated(settings)

    async def create() -> str:
        from kino.core.db import Database

        db = Database(settings.sqlalchemy_url)
        try:
            async with db.transaction() as session:
                user = await service.create_user(
                    session,
                    email=email,
                    password=password,
                    display_name=display_name or email.split("@")[0],
                    role=role,
                )
            return str(user.id)
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(create())
    except KinoError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Created {role.value} {email} ({user_id})")


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1) -> None:
    """Serve the web site and the API."""
    settings = Settings()
    _require_migrated(settings)
    if settings.secret_key_is_generated and settings.environment != "test":
        typer.secho(
            f"warning: KINO_SECRET_KEY is not set; using the key kept in {settings.data_dir}. "
            "Set KINO_SECRET_KEY for production and for more than one machine.",
            fg="yellow",
            err=True,
        )
    run_server(settings, host=host, port=port, workers=workers)


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    settings.signing_key  # noqa: B018 - create the kept key once, before workers race for it
    os.environ["KINO_DATA_DIR"] = str(settings.data_dir)
    Server(
        "kino.app:create_app_from_environment",
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        factory=True,
        log_access=False,
    ).serve()


def _require_migrated(settings: Settings) -> None:
    if asyncio.run(pending_migrations(settings.sqlalchemy_url)):
        typer.secho(
            f"The database ({_describe_database(settings)}) is not migrated to the newest "
            "schema. Run `kino db upgrade` first.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)


def _describe_database(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        return url.split(":///", 1)[-1]
    return url.split("@")[-1]
