"""``kino demo``: Kino on this machine with a catalog to browse, films that play, cinemas with a
week of showtimes, and an admin to sign in as.

Everything here is safe to repeat: the schema is migrated only when behind, the demo catalog
skips the films it already has, a sample film that plays (or is being processed) keeps its
video, cinemas and halls are made once and showtimes only for days without any, and the
admin's generated password is kept in the data directory, so every run prints the same
credentials.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kino.catalog.sample import seed_sample
from kino.catalog.seed import SeedReport
from kino.core.db import Database
from kino.core.migrate import upgrade
from kino.demo.boxoffice import BoxOfficeReport, prepare_box_office
from kino.demo.videos import (
    SAMPLE_CLIPS,
    SAMPLE_SECONDS,
    SampleClip,
    SampleFilm,
    SampleState,
    prepare_sample_films,
)
from kino.identity import service as identity
from kino.identity.models import Role
from kino.identity.passwords import verify_password
from kino.settings import Settings

DEMO_ADMIN_EMAIL = "admin@kino.local"
DEMO_ADMIN_PASSWORD_FILE = "demo-admin-password"


@dataclass(frozen=True)
class DemoCredentials:
    email: str
    # None when the demo does not know the account's password (see ``note``).
    password: str | None
    note: str | None = None


@dataclass(frozen=True)
class Demo:
    credentials: DemoCredentials
    films: list[SampleFilm]  # the sample films, and whether they play yet
    box_office: BoxOfficeReport


async def prepare_demo(
    settings: Settings,
    *,
    say: Callable[[str], None] | None = None,
    catalog_limit: int | None = None,
    sample_clips: Sequence[SampleClip] = SAMPLE_CLIPS,
    sample_seconds: float = SAMPLE_SECONDS,
    wait_for_videos: bool = False,
    now: datetime | None = None,
) -> Demo:
    """Migrate the database, load the demo catalog (its first ``catalog_limit`` films, when
    given), make sure the demo admin exists, give the sample films their videos (queued for
    ``kino serve``'s worker pool, or processed before returning with ``wait_for_videos``) and
    open the demo cinemas' programme from ``now`` for a week."""
    tell = say or (lambda _message: None)
    await asyncio.to_thread(upgrade, settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    try:
        tell("Loading the demo catalog (the first time takes a minute or two)…")
        catalog = await seed_sample(
            db, limit=catalog_limit, progress=(lambda report: _tell_progress(tell, report))
        )
        tell(f"Demo catalog: {catalog.summary()}")
        credentials = await ensure_demo_admin(db, password_file(settings))
        box_office = await prepare_box_office(
            db, cleaning_minutes=settings.showtime_cleaning_minutes, now=now
        )
        tell(f"Box office: {box_office.summary()}")
        films = await prepare_sample_films(
            settings,
            db,
            clips=sample_clips,
            seconds=sample_seconds,
            wait=wait_for_videos,
            say=tell,
        )
        return Demo(credentials, films, box_office)
    finally:
        await db.dispose()


def _tell_progress(tell: Callable[[str], None], report: SeedReport) -> None:
    tell(f"  {report.films:,} films added ({report.seconds:.0f} s)")


def password_file(settings: Settings) -> Path:
    return settings.data_dir / DEMO_ADMIN_PASSWORD_FILE


async def ensure_demo_admin(db: Database, kept_password: Path) -> DemoCredentials:
    """Create the demo admin with the kept password (generated on first use), or check that
    the existing account still has it."""
    async with db.transaction() as session:
        admin = await identity.get_user_by_email(session, DEMO_ADMIN_EMAIL)
        if admin is None:
            password = _keep_password(kept_password)
            await identity.create_user(
                session,
                email=DEMO_ADMIN_EMAIL,
                password=password,
                display_name="Demo admin",
                role=Role.ADMIN,
            )
            return DemoCredentials(DEMO_ADMIN_EMAIL, password)
        password_hash = admin.password_hash
    if not kept_password.exists():
        return DemoCredentials(
            DEMO_ADMIN_EMAIL,
            None,
            note=f"the account was not created by the demo, so {kept_password} does not hold "
            "its password",
        )
    password = kept_password.read_text().strip()
    if not await asyncio.to_thread(verify_password, password, password_hash):
        return DemoCredentials(
            DEMO_ADMIN_EMAIL,
            None,
            note=f"its password was changed since the demo set the one in {kept_password}",
        )
    return DemoCredentials(DEMO_ADMIN_EMAIL, password)


def _keep_password(path: Path) -> str:
    """The password kept in ``path``, or a new one written there, readable by the owner only."""
    if path.exists():
        return path.read_text().strip()
    # Three groups of hex and two dashes: letters, digits and symbols, 72 random bits.
    password = "-".join(secrets.token_hex(3) for _ in range(3))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password


def describe_films(films: Sequence[SampleFilm], url: str) -> list[str]:
    """Lines telling where each sample film plays and whether it is ready yet."""
    if not films:
        return []
    lines = ["Sample films, free to watch:"]
    for film in films:
        state = {
            SampleState.PLAYS: "plays",
            SampleState.PROCESSING: "being processed by the server; plays within minutes",
            SampleState.FAILED: f"processing failed: {film.error or 'see /admin'}",
        }[film.state]
        lines.append(f"  {film.title} ({film.shape}): {url}/watch/{film.movie_id}  ({state})")
    if any(film.state is SampleState.PROCESSING for film in films):
        lines.append(
            "  The server encodes them one after another as soon as it starts; "
            "their jobs' progress shows at /admin."
        )
    return lines
