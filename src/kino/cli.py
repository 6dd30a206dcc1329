"""The ``kino`` command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kino.core.migrate import pending_migrations, upgrade
from kino.identity.models import Role
from kino.settings import Settings

if TYPE_CHECKING:
    from kino.catalog.seed import SeedReport

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
def seed(
    sample: Annotated[
        bool, typer.Option("--sample", help="Import the demo catalog: 17,472 films (CC0).")
    ] = False,
    titles: Annotated[
        int | None, typer.Option(help="Make a synthetic catalog of N films.", min=1)
    ] = None,
) -> None:
    """Fill the catalog. Safe to repeat: films already there are skipped."""
    if not sample and titles is None:
        typer.echo("error: say what to seed: --sample, --titles N, or both.", err=True)
        raise typer.Exit(2)
    settings = Settings()
    _require_migrated(settings)

    async def run() -> None:
        from kino.catalog.sample import seed_sample
        from kino.catalog.synthetic import seed_synthetic
        from kino.core.db import Database

        db = Database(settings.sqlalchemy_url)
        try:
            if sample:
                typer.echo(f"Demo catalog: {(await seed_sample(db)).summary()}")
            if titles is not None:
                report = await seed_synthetic(db, titles=titles, progress=_print_progress)
                typer.echo(f"Synthetic catalog of {titles:,} films: {report.summary()}")
        finally:
            await db.dispose()

    asyncio.run(run())


def _print_progress(report: SeedReport) -> None:
    typer.echo(f"  {report.films:,} films added ({report.seconds:.0f} s)", err=True)


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    videos: Annotated[
        bool, typer.Option(help="Give three films sample videos (made and encoded here).")
    ] = True,
) -> None:
    """Try Kino on this machine: migrate, load the demo catalog, create the admin, make sample
    videos for three films and a week of showtimes in three cinemas, serve."""
    from kino.demo import SAMPLE_CLIPS, describe_films, prepare_demo

    settings = Settings()
    clips = SAMPLE_CLIPS if videos else ()
    ready = asyncio.run(prepare_demo(settings, say=typer.echo, sample_clips=clips))
    credentials = ready.credentials
    if credentials.password is not None:
        sign_in = f"sign in as {credentials.email} / {credentials.password}"
    else:
        sign_in = f"sign in as {credentials.email} ({credentials.note})"
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if "public_url" not in settings.model_fields_set:
        # Links the API gives out (playback URLs, mails) lead to this server, whatever --port.
        settings = settings.model_copy(update={"public_url": url})
    for line in describe_films(ready.films, url):
        typer.echo(line)
    typer.secho(f"Kino is running at {url}  —  {sign_in}", fg="green", bold=True)
    typer.echo(f"The API and its documentation: {url}/docs   (Ctrl-C stops the server)")
    run_server(settings, host=host, port=port, workers=1)


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


@app.command("stream-secret")
def stream_secret() -> None:
    """Print the secret nginx's secure_link checks stream paths with (deploy/nginx). Derived
    from KINO_SECRET_KEY: it signs stream paths and nothing else."""
    from kino.playback.signing import stream_secret as derive

    settings = Settings()
    if settings.secret_key_is_generated and settings.environment != "test":
        typer.secho(
            f"warning: KINO_SECRET_KEY is not set; this comes from the key kept in "
            f"{settings.data_dir}.",
            fg="yellow",
            err=True,
        )
    typer.echo(derive(settings))


@app.command()
def worker(
    include: Annotated[
        list[str] | None,
        typer.Option(help="Also import this module, to register its job kinds. Repeatable."),
    ] = None,
) -> None:
    """Run jobs from the broker (KINO_BROKER_URL), KINO_WORKERS at a time."""
    settings = Settings()
    if not settings.broker_url:
        typer.secho(
            "error: KINO_BROKER_URL is not set. Without a broker, jobs run inside `kino serve` "
            "(its embedded worker pool); set KINO_BROKER_URL (redis://… or amqp://…) to run "
            "them in `kino worker` processes.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    _require_migrated(settings)
    from kino.jobs.celery_app import run_worker
    from kino.ops.logging import configure_logging

    configure_logging(settings)
    run_worker(settings, include=include or [], concurrency=max(settings.workers, 1))


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="The video file to publish.")],
    title: Annotated[str, typer.Option(help="The film's title.")],
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep the film hidden from viewers.")
    ] = False,
) -> None:
    """Publish a local video file as a new film: copy it to storage, then probe, encode and
    publish it like an upload, with a progress bar."""
    from kino.catalog.models import MovieStatus
    from kino.core.errors import KinoError
    from kino.jobs.models import Job, JobStatus
    from kino.media.ingest import ingest as ingest_file

    settings = Settings()
    _require_migrated(settings)
    status = MovieStatus.DRAFT if draft else MovieStatus.PUBLISHED
    with typer.progressbar(length=100, label="queued", show_pos=False) as bar:
        shown = 0

        def show(job: Job) -> None:
            nonlocal shown
            bar.label = job.stage or job.status.value
            bar.update(int(job.progress) - shown)
            shown = int(job.progress)

        try:
            result = asyncio.run(
                ingest_file(settings, path, title=title, status=status, on_progress=show)
            )
        except KinoError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(1) from None
    job = result.job
    if job.status is not JobStatus.SUCCEEDED:
        typer.echo(f"error: job {job.id} {job.status.value}: {job.error or ''}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"Published {title!r}: {settings.public_url}/movies/{result.movie_id} (job {job.id})"
    )


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    settings.signing_key  # noqa: B018 - create the kept key once, before workers race for it
    os.environ["KINO_DATA_DIR"] = str(settings.data_dir)
    os.environ["KINO_PUBLIC_URL"] = settings.public_url
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
