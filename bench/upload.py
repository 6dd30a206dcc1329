"""Upload memory and speed: a tus upload of a large file through `kino serve`, next to the same
bytes PUT to a bare endpoint and copied with cp.

    python -m bench.upload [--size-gib 2] [--chunk-mib 256] [--s3]

It makes a file of --size-gib on disk (written a block at a time, never held in memory), starts
`kino serve` (Granian) on a temporary data directory, and tus-uploads the file in PATCHes of
--chunk-mib, each body streamed from disk, while it samples the resident memory of the server's
whole process tree from /proc. Baselines in the same run: the bytes PUT to a bare FastAPI endpoint
under Granian that streams them to disk (bench/bare_upload_app.py), and `cp` of the file.
It prints throughput and peak RSS growth for each, the ratios, and whether Kino's growth stays
within the goal (64 MiB); the exit status is 1 when it does not. With --s3 Kino stores into
moto's S3 server (started here, its memory not counted) instead of a local directory, so the
last PATCH also pays for the multipart upload.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import KINO, ROOT, free_port, wait_until_up

MIB = 1024 * 1024
GIB = 1024 * MIB
GOAL_RSS_GROWTH_MIB = 64
READ_BYTES = MIB
PASSWORD = "bench-upload-Password-1"


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: float
    size: int
    rss_growth: int | None = None  # bytes; None when there is no server

    @property
    def throughput(self) -> float:
        return self.size / self.seconds

    def row(self, baseline: Measurement | None = None) -> str:
        growth = "" if self.rss_growth is None else f"{self.rss_growth / MIB:8.1f} MiB"
        ratio = f"{self.throughput / baseline.throughput:6.2f}x" if baseline else ""
        return (
            f"{self.name:<44} {self.throughput / 1e9:6.2f} GB/s {self.seconds:7.2f} s "
            f"{growth:>12} {ratio:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-gib", type=float, default=2.0, help="size of the uploaded file")
    parser.add_argument("--chunk-mib", type=int, default=256, help="bytes per PATCH")
    parser.add_argument("--s3", action="store_true", help="store into S3 (moto) instead")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    size = int(args.size_gib * GIB)

    work = Path(tempfile.mkdtemp(prefix="kino-bench-upload-"))
    try:
        source = work / "source.bin"
        print(f"writing {size / GIB:.2f} GiB to {source} …", flush=True)
        write_source(source, size)
        results = [
            measure_cp(source, work),
            measure_bare_put(source, work),
            measure_kino(source, work, chunk=args.chunk_mib * MIB, s3=args.s3),
        ]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    kino = results[-1]
    sys.exit(
        0 if kino.rss_growth is not None and kino.rss_growth <= GOAL_RSS_GROWTH_MIB * MIB else 1
    )


def write_source(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)  # one random block, written over and over: size on disk only
    with path.open("wb") as handle:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            written += len(piece)


def read_blocks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining:
            block = handle.read(min(READ_BYTES, remaining))
            if not block:
                raise RuntimeError(f"{path} ended early")
            remaining -= len(block)
            yield block


# --- the measurements -------------------------------------------------------------------


def measure_cp(source: Path, work: Path) -> Measurement:
    target = work / "copy.bin"
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return Measurement("cp (same disk)", seconds, source.stat().st_size)


def measure_bare_put(source: Path, work: Path) -> Measurement:
    size = source.stat().st_size
    target_dir = work / "bare"
    target_dir.mkdir()
    port = free_port()
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "bench.bare_upload_app:app",
    ]  # fmt: skip
    env = {**os.environ, "BARE_UPLOAD_DIR": str(target_dir)}
    base_url = f"http://127.0.0.1:{port}"
    with running(command, env, f"{base_url}/healthz", work / "bare.log") as pid:
        with httpx.Client(base_url=base_url, timeout=None) as client:
            client.put("/files/warmup", content=b"x" * MIB)  # first-request work out of the way
            with RssSampler(pid) as rss:
                started = time.perf_counter()
                response = client.put(
                    "/files/upload.bin",
                    content=read_blocks(source, 0, size),
                    headers={"Content-Length": str(size)},
                )
                seconds = time.perf_counter() - started
    response.raise_for_status()
    if (target_dir / "upload.bin").stat().st_size != size:
        raise RuntimeError("the bare endpoint stored a different number of bytes")
    shutil.rmtree(target_dir)
    return Measurement("bare PUT (FastAPI under Granian, to disk)", seconds, size, rss.growth)


def measure_kino(source: Path, work: Path, *, chunk: int, s3: bool) -> Measurement:
    with moto_s3(work) if s3 else nullcontext(None) as storage_url:
        return _measure_kino(source, work, chunk=chunk, storage_url=storage_url)


def _measure_kino(source: Path, work: Path, *, chunk: int, storage_url: str | None) -> Measurement:
    size = source.stat().st_size
    data_dir = work / "kino"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("KINO_")},
        "KINO_DATA_DIR": str(data_dir),
        "KINO_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
        "KINO_LOG_LEVEL": "WARNING",
        "KINO_ENVIRONMENT": "production",
        "KINO_WORKERS": "0",
        "KINO_ACCESS_TOKEN_TTL_SECONDS": "86400",
    }
    if storage_url:
        env["KINO_STORAGE_URL"] = storage_url
    subprocess.run([KINO, "db", "upgrade"], env=env, check=True, capture_output=True)
    email = "uploader@bench.example.com"
    create_user = [KINO, "users", "create", "--email", email, "--password", PASSWORD]
    subprocess.run([*create_user, "--role", "manager"], env=env, check=True, capture_output=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [KINO, "serve", "--port", str(port), "--workers", "1"]
    with running(command, env, f"{base_url}/healthz", work / "kino.log") as pid:
        with httpx.Client(base_url=base_url, timeout=None) as client:
            login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            tus_upload(client, headers, source, MIB, MIB)  # warm-up: a first small upload
            with RssSampler(pid) as rss:
                started = time.perf_counter()
                upload_id = tus_upload(client, headers, source, size, chunk)
                seconds = time.perf_counter() - started
    if not storage_url:
        stored = data_dir / "media" / "sources" / "uploads" / upload_id
        if stored.stat().st_size != size:
            raise RuntimeError("Kino stored a different number of bytes")
    name = f"tus upload through kino serve{' (to S3)' if storage_url else ''}"
    return Measurement(name, seconds, size, rss.growth)


@contextmanager
def moto_s3(work: Path) -> Iterator[str]:
    """moto's S3 server with a fresh bucket; yields the KINO_STORAGE_URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    endpoint = f"http://127.0.0.1:{port}"
    with running(command, dict(os.environ), f"{endpoint}/moto-api/", work / "moto.log"):
        httpx.put(f"{endpoint}/kino-bench").raise_for_status()  # create the bucket
        yield f"s3://bench:bench-secret@kino-bench?endpoint_url={endpoint}&region=us-east-1"


def tus_upload(
    client: httpx.Client, auth: dict[str, str], source: Path, length: int, chunk: int
) -> str:
    """Upload the first ``length`` bytes of ``source`` in PATCHes of ``chunk``, each streamed
    from disk; returns the upload id."""
    tus = {"Tus-Resumable": "1.0.0", **auth}
    created = client.post("/api/v1/uploads", headers={**tus, "Upload-Length": str(length)})
    created.raise_for_status()
    location = created.headers["Location"]
    offset = 0
    while offset < length:
        piece = min(chunk, length - offset)
        response = client.patch(
            location,
            content=read_blocks(source, offset, piece),
            headers={
                **tus,
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(piece),
                "Upload-Offset": str(offset),
            },
        )
        response.raise_for_status()
        offset = int(response.headers["Upload-Offset"])
    return location.rsplit("/", 1)[1]


# --- servers and their memory -----------------------------------------------------------


@contextmanager
def running(
    command: Sequence[str], env: dict[str, str], health_url: str, log: Path
) -> Iterator[int]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
        try:
            wait_until_up(health_url)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class RssSampler:
    """Samples the summed resident memory of a process and its descendants every 20 ms; the
    growth is the peak less the first sample."""

    def __init__(self, pid: int, *, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def __enter__(self) -> RssSampler:
        self.start = self.peak = tree_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss(self.pid))


def tree_rss(pid: int) -> int:
    return sum(rss_of(member) for member in process_tree(pid))


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def rss_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def report(results: Sequence[Measurement]) -> None:
    cp, bare, kino = results
    print(f"\n{'':<44} {'throughput':>11} {'time':>9} {'peak RSS +':>12} {'vs bare':>8}")
    for measurement in results:
        print(measurement.row(bare))
    growth = (kino.rss_growth or 0) / MIB
    verdict = "within" if growth <= GOAL_RSS_GROWTH_MIB else "OVER"
    print(
        f"\nKino: {kino.throughput / bare.throughput:.2f}x the bare endpoint's throughput, "
        f"{kino.throughput / cp.throughput:.2f}x cp's; peak RSS growth {growth:.1f} MiB, "
        f"{verdict} the {GOAL_RSS_GROWTH_MIB} MiB goal."
    )


if __name__ == "__main__":
    main()
