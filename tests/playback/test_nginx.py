"""deploy/nginx/kino.conf.template under a real nginx: its secure_link accepts the paths Kino
signs and refuses expired, forged and other-asset ones, and it serves the media directory as
the app does. ``make test`` installs nginx; without it the test fails where CI's variables are
set, and is skipped only on a developer's machine that lacks it."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from kino.core.db import utcnow
from kino.playback.signing import derive_stream_secret, sign_stream, stream_secret
from kino.settings import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.playback.support import FILES, MASTER, SEGMENT

TEMPLATE = Path(__file__).parents[2] / "deploy" / "nginx" / "kino.conf.template"
ASSET_ID = 7
OTHER_ASSET_ID = 8
START_SECONDS = 20.0


def _nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )
    if found is None:
        if TEST_DATABASE_URL:  # CI: `make test` installs nginx, so its absence is a failure
            pytest.fail("nginx is not installed; `make test` installs it (apt-get install nginx)")
        pytest.skip("nginx is not installed (`make test` installs it)")
    return found


def render_template(*, listen: str, app: str, media_dir: Path, secret: str) -> str:
    """What envsubst makes of the template with these values."""
    text = TEMPLATE.read_text()
    values = {
        "KINO_LISTEN": listen,
        "KINO_APP": app,
        "KINO_MEDIA_DIR": str(media_dir),
        "KINO_STREAM_SECRET": secret,
    }
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Nginx:
    base_url: str
    settings: Settings

    def signed_prefix(self, asset_id: int, *, expires_in: timedelta) -> str:
        expires_at = utcnow() + expires_in
        return sign_stream(stream_secret(self.settings), asset_id, expires_at).prefix


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx as a child process on a free port, with its prefix, configuration and the media
    directory in a temporary folder."""
    binary = _nginx_binary()
    root = tmp_path_factory.mktemp("nginx")
    settings = Settings(data_dir=root / "var", secret_key="nginx-test-secret-key")  # type: ignore[arg-type]
    for asset_id in (ASSET_ID, OTHER_ASSET_ID):
        for name, content in FILES.items():
            path = settings.media_dir / "assets" / str(asset_id) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    port = _free_port()
    site = render_template(
        listen=f"127.0.0.1:{port}",
        app="127.0.0.1:9",  # nothing answers there: these tests never reach the app
        media_dir=settings.media_dir,
        secret=stream_secret(settings),
    )
    (root / "kino.conf").write_text(site)
    (root / "nginx.conf").write_text(_main_config(root))
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "stderr"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(process, port)
        yield Nginx(f"http://127.0.0.1:{port}", settings)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _main_config(root: Path) -> str:
    """A minimal nginx.conf around the site: in the foreground, one process (no user switch, so
    it reads the temporary folder as whoever runs the tests), everything under ``root``."""
    temp = {name: root / "temp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for directory in temp.values():
        directory.mkdir(parents=True, exist_ok=True)
    return f"""
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {root}/kino.conf;
}}
"""


def _wait_for_port(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"nginx exited with {process.returncode}: {errors}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not start listening")


def test_nginx_serves_what_kino_signs(nginx: Nginx) -> None:
    prefix = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(hours=6))
    with httpx.Client(base_url=nginx.base_url) as client:
        segment = client.get(prefix + "360p/seg-00000.m4s")
        ranged = client.get(prefix + "360p/seg-00000.m4s", headers={"Range": "bytes=100-355"})
        master = client.get(prefix + "master.m3u8", headers={"Accept-Encoding": "gzip"})
        vtt = client.get(prefix + "storyboard/storyboard.vtt")

    assert segment.status_code == 200, segment.text
    assert segment.content == SEGMENT
    assert segment.headers["content-type"] == "video/iso.segment"
    assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert segment.headers["access-control-allow-origin"] == "*"
    assert (ranged.status_code, ranged.content) == (206, SEGMENT[100:356])
    assert ranged.headers["content-range"] == f"bytes 100-355/{len(SEGMENT)}"
    assert master.status_code == 200
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["content-encoding"] == "gzip"
    assert master.headers["cache-control"] == "public, max-age=60"
    assert master.text == MASTER  # httpx undid the gzip
    assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"


def test_nginx_gzips_playlists_only_when_asked(nginx: Nginx) -> None:
    prefix = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(hours=1))
    with httpx.Client(base_url=nginx.base_url) as client:
        plain = client.get(prefix + "master.m3u8", headers={"Accept-Encoding": "identity"})
        with client.stream(
            "GET", prefix + "master.m3u8", headers={"Accept-Encoding": "gzip"}
        ) as zipped:
            raw = b"".join(zipped.iter_raw())

    assert "content-encoding" not in plain.headers
    assert plain.text == MASTER
    assert gzip.decompress(raw).decode() == MASTER


def test_nginx_refuses_expired_forged_and_other_asset_paths(nginx: Nginx) -> None:
    valid = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(hours=1))
    expired = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(seconds=-2))
    token, expires, _asset = valid.strip("/").split("/")[1:]
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    foreign = sign_stream("not-the-stream-secret", ASSET_ID, utcnow() + timedelta(hours=1))
    refused = [
        expired,
        f"/stream/{flipped}/{expires}/{ASSET_ID}/",
        f"/stream/{token}/{int(expires) + 60}/{ASSET_ID}/",
        f"/stream/{token}/{expires}/{OTHER_ASSET_ID}/",  # another asset's files
        foreign.prefix,
    ]
    with httpx.Client(base_url=nginx.base_url) as client:
        for prefix in refused:
            response = client.get(prefix + "360p/seg-00000.m4s")
            assert response.status_code == 403, prefix
            assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "trick",
    [
        "../8/master.m3u8",
        "360p/../../8/360p/seg-00000.m4s",
        "..%2F8%2Fmaster.m3u8",
        "%2E%2E/%2E%2E/%2E%2E/var/secret_key.m3u8",
        "360p/..%2F..%2F..%2F..%2F..%2Fkino.conf.m3u8",
    ],
)
def test_nginx_keeps_paths_inside_the_signed_asset(nginx: Nginx, trick: str) -> None:
    prefix = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(hours=1))
    status = _raw_get_status(nginx, prefix + trick)
    # 403: normalized into another asset; 502: no longer a stream path, so on to the app
    # (absent here). Never a file.
    assert status in (400, 403, 404, 502)


def _raw_get_status(nginx: Nginx, target: str) -> int:
    """The status of a GET sent byte for byte (an HTTP client would resolve ``..`` itself)."""
    host, port = nginx.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        request = f"GET {target} HTTP/1.1\r\nHost: kino.test\r\nConnection: close\r\n\r\n"
        connection.sendall(request.encode())
        status_line = connection.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_nginx_answers_a_cors_preflight(nginx: Nginx) -> None:
    prefix = nginx.signed_prefix(ASSET_ID, expires_in=timedelta(hours=1))
    with httpx.Client(base_url=nginx.base_url) as client:
        response = client.options(
            prefix + "360p/seg-00000.m4s",
            headers={"Origin": "https://player.example", "Access-Control-Request-Method": "GET"},
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Range" in response.headers["access-control-allow-headers"]


def test_kino_stream_secret_prints_the_secret_the_template_needs(tmp_path: Path) -> None:
    kino = Path(sys.executable).parent / "kino"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
    environment |= {
        "KINO_SECRET_KEY": "a-production-secret-key",
        "KINO_DATA_DIR": str(tmp_path),
        "KINO_ENVIRONMENT": "test",
    }

    result = subprocess.run(
        [str(kino), "stream-secret"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    expected = derive_stream_secret("a-production-secret-key")
    assert result.stdout.strip() == expected
    assert "a-production-secret-key" not in result.stdout
