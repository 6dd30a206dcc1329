"""Kino's settings: one object, read from the environment (prefix ``KINO_``) once and passed in.

Unset means embedded: SQLite and media under ``data_dir``, jobs in process, e-mail to files.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINO_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    # Connections each process keeps open to the database, as many again in a burst. About the
    # requests a worker has in flight at once: a connection opened and closed per burst costs a
    # server process, a handshake and every prepared statement again.
    database_pool_size: int = Field(default=32, ge=1, le=500)
    storage_url: str | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    secret_key: SecretStr | None = None
    ffmpeg: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "Kino <no-reply@kino.local>"
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None

    environment: Literal["development", "production", "test"] = "development"
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: str = "INFO"

    # How long a signed-out visitor's catalog answer may be reused; 0 turns the cache off.
    cache_ttl_seconds: int = Field(default=10, ge=0, le=3600)

    access_token_ttl_seconds: int = Field(default=900, gt=0)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, gt=0)
    password_reset_ttl_seconds: int = Field(default=3600, gt=0)
    login_attempts_per_account: int = Field(default=5, gt=0)
    login_attempts_per_address: int = Field(default=20, gt=0)
    login_attempts_window_seconds: int = Field(default=300, gt=0)

    # Media: the largest upload accepted, how long an unfinished upload is kept, and how many
    # jobs the embedded worker pool runs at once (distributed mode runs `kino worker` instead).
    max_upload_bytes: int = Field(default=50 * 1024**3, gt=0)
    upload_expiry_seconds: int = Field(default=24 * 3600, gt=0)
    workers: int = Field(default=1, ge=0, le=64)
    # How long a signed playback URL stays valid; a replaced version's files outlive it by this.
    playback_ttl_seconds: int = Field(default=6 * 3600, gt=0, le=7 * 24 * 3600)
    # libx264's speed/quality trade-off for the ladder; "veryfast" keeps a small machine's
    # encode near real time for 1080p while the bitrate caps keep quality reasonable.
    x264_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"
    ] = "veryfast"

    # Box office: how long a seat hold keeps its seats, and the cleaning time after each
    # showtime before the hall takes the next one.
    seat_hold_seconds: float = Field(default=600.0, gt=0, le=24 * 3600)
    showtime_cleaning_minutes: int = Field(default=15, ge=0, le=240)
    # A ticket's holder can cancel it for a full refund until this long before the start;
    # check-in opens this long before the start.
    refund_cutoff_hours: float = Field(default=2.0, ge=0, le=30 * 24)
    checkin_opens_minutes: int = Field(default=60, ge=0, le=24 * 60)

    # Jobs. A running job writes a heartbeat (and notices a cancel) every job_heartbeat_seconds;
    # one silent for job_stale_seconds belongs to a process that died and is taken over. The
    # embedded pool looks for due jobs every job_poll_seconds, `kino worker` re-dispatches
    # abandoned ones every job_sweep_seconds. Retries wait job_retry_base_seconds, doubling per
    # attempt up to job_retry_max_seconds. A cancelled handler has job_cancel_grace_seconds to
    # stop by itself; progress is written at most once per job_report_interval_seconds.
    job_heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    job_stale_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    job_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    job_sweep_seconds: float = Field(default=15.0, gt=0, le=3600)
    job_retry_base_seconds: float = Field(default=5.0, ge=0, le=3600)
    job_retry_max_seconds: float = Field(default=600.0, ge=0, le=24 * 3600)
    job_cancel_grace_seconds: float = Field(default=10.0, ge=0, le=3600)
    job_report_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    # Redis broker: an unacknowledged message is handed out again after this long. Longer than
    # any job; a worker that dies mid-job is covered sooner by the sweep above.
    broker_visibility_timeout_seconds: int = Field(default=6 * 3600, gt=0)

    @model_validator(mode="after")
    def _heartbeats_before_stale(self) -> Settings:
        # A live job must write at least two heartbeats before it could look abandoned.
        if self.job_heartbeat_seconds * 2 > self.job_stale_seconds:
            raise ValueError(
                "KINO_JOB_STALE_SECONDS must be at least twice KINO_JOB_HEARTBEAT_SECONDS"
            )
        return self

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def is_distributed(self) -> bool:
        return self.database_url is not None and not self.database_url.startswith("sqlite")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'kino.db'}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def uploads_dir(self) -> Path:
        """Where tus uploads are assembled before they move to storage."""
        return self.data_dir / "uploads"

    @property
    def work_dir(self) -> Path:
        """Scratch space of running jobs (sources fetched from storage, encoder output)."""
        return self.data_dir / "work"

    @property
    def ffmpeg_path(self) -> str:
        """``KINO_FFMPEG``, or the ffmpeg binary shipped in the imageio-ffmpeg wheel."""
        if self.ffmpeg:
            return self.ffmpeg
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())

    @property
    def secret_key_is_generated(self) -> bool:
        return self.secret_key is None

    @cached_property
    def signing_key(self) -> str:
        """The secret that signs tokens: ``KINO_SECRET_KEY``, or one generated once and kept."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when several workers start at once, exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_key(path)
        key = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def _read_key(path: Path) -> str:
    for _ in range(50):  # another process may still be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty; delete it to generate a new secret key")
