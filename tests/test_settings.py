from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kino.app import create_app, dispose
from kino.settings import Settings


def test_unset_settings_mean_embedded_mode(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert not settings.is_distributed
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'kino.db'}"
    assert settings.outbox_dir == tmp_path / "outbox"


def test_a_database_url_means_distributed_mode(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://kino@db/kino"
    settings = Settings(data_dir=tmp_path, database_url=url)
    assert settings.is_distributed
    assert settings.sqlalchemy_url == url


def test_generated_secret_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path)
    assert first.secret_key_is_generated
    key = first.signing_key
    assert len(key) >= 48
    kept = tmp_path / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path).signing_key == key


def test_explicit_secret_key_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="from-the-environment")  # type: ignore[arg-type]
    assert settings.signing_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_settings_come_from_kino_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KINO_PUBLIC_URL", "https://kino.example")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.public_url == "https://kino.example"


async def test_each_process_keeps_the_database_connections_it_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KINO_DATABASE_POOL_SIZE", "5")
    app = create_app(Settings())
    try:
        pool: Any = app.state.db.engine.pool
        assert pool.size() == 5
    finally:
        await dispose(app)
    monkeypatch.setenv("KINO_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="database_pool_size"):
        Settings()
