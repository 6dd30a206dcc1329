"""Seat holds under load: holds per second and latency, next to a bare FastAPI endpoint.

    python -m bench.boxoffice [--engines sqlite,postgresql] [--seconds 10] [--runs 2] [--warmup 3]
        [--workers 2] [--kino-workers 1] [--pg-database NAME] [--redis-url URL] [--release]

For each engine it makes a fresh database (bench/.data/boxoffice-sqlite, or the PostgreSQL
database kino_bench_boxoffice), starts `kino serve` (with --redis-url the PostgreSQL run is the
distributed mode), and seeds through the API a cinema with a 400-seat hall and a showtime per
run. After a warm-up load that is not measured (the server's connections opened, its statements
prepared), wrk drives 64 buyers at once (one thread, one connection and one access token each):
a buyer holds 1 to 4 random seats, and holds again, and again: each new hold replaces the
buyer's previous one (as a buyer changing their mind does), so the hall never fills. With
--release a buyer releases each hold before the next instead (two requests per hold). A seat
named in a 409 is avoided until the buyer's next successful hold. It prints successful holds per
second, the share of hold attempts refused because a seat was taken meanwhile, p50/p99 latency
over every request, throughput as a share of the bare endpoint's under the same wrk settings,
and the servers' CPU time per request (all their processes, user + system), which a shared
machine disturbs far less than throughput: compare runs, keep the steady, and mind the load
average printed.

Server processes: the bare endpoint runs with --workers (2: its best on a 2-core machine), Kino
with --kino-workers (1, as `kino serve` by default). On two cores that also run PostgreSQL and
wrk, one Kino process answered with about two thirds of the p99 of two, and held as many seats a
second (about a tenth fewer while the machine ran slow). With two, the load split unevenly
between them (wrk's connections stay with the process that accepted them), and PostgreSQL's
backends, competing with both for the cores, used more CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import (
    BENCH_DIR,
    KINO,
    ROOT,
    LoadResult,
    bare_fastapi_server,
    cpu_seconds,
    free_port,
    load,
    require_wrk,
    server,
)

DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "kino_bench_boxoffice"
SECRET = "bench-secret-key-bench-secret-key-0123456789"
# 400 seats: 20 rows of 20 with an aisle; premium rows Q and R, VIP row S, and wheelchair
# spaces at the ends of the back row.
HALL_ROWS = [
    {"label": chr(ord("A") + index), "seats": kind * 10 + "_" + kind * 10}
    for index, kind in enumerate("S" * 16 + "PPV")
] + [{"label": "T", "seats": "WSSSSSSSSS_SSSSSSSSSW"}]


@dataclass(frozen=True)
class HoldLoad:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    holds: int
    releases: int
    conflicts: int
    failures: int
    cpu_seconds: float = 0.0
    database_cpu_seconds: float = 0.0  # PostgreSQL's backends alive throughout the run

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests

    @property
    def database_cpu_ms_per_request(self) -> float:
        return 1000 * self.database_cpu_seconds / self.requests

    @property
    def holds_per_second(self) -> float:
        return self.holds / self.seconds

    @property
    def conflict_share(self) -> float:
        attempts = self.holds + self.conflicts
        return self.conflicts / attempts if attempts else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=int, default=10, help="load per run")
    parser.add_argument("--runs", type=int, default=2, help="runs per engine")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load not measured")
    parser.add_argument("--buyers", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="the bare app's server processes")
    parser.add_argument("--kino-workers", type=int, default=1, help="Kino's server processes")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL to create the DB on")
    parser.add_argument("--pg-database", default=PG_DATABASE, help="made afresh for the run")
    parser.add_argument("--redis-url", help="Redis for the PostgreSQL run (distributed mode)")
    parser.add_argument("--release", action="store_true", help="release each hold, then hold")
    args = parser.parse_args()
    require_wrk()
    print(f"load average before: {_load_average()}")

    results: list[dict[str, Any]] = []
    with bare_fastapi_server(workers=args.workers) as (bare_url, bare_server):
        cpu_before = cpu_seconds(bare_server.pid)
        bare = load(
            bare_url, ["/json"], connections=args.buyers, threads=args.buyers, seconds=args.seconds
        )
        bare_cpu_ms = 1000 * (cpu_seconds(bare_server.pid) - cpu_before) / bare.requests
    results.append({"engine": "-", "scenario": "bare", **asdict(bare), "cpu_ms": bare_cpu_ms})
    print(
        f"{'bare FastAPI':>22}  {bare.rps:8.0f} req/s  p50 {bare.p50_ms:6.2f} ms  "
        f"p99 {bare.p99_ms:6.2f} ms  CPU {bare_cpu_ms:.3f} ms/request  "
        f"({args.workers} processes; Kino {args.kino_workers})"
    )
    for engine in args.engines.split(","):
        env = prepare(engine, args)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [KINO, "serve", "--port", str(port), "--workers", str(args.kino_workers)]
        with server(command, env=env, health_url=f"{base}/healthz") as kino:
            tokens = asyncio.run(buyer_tokens(env, args.buyers))
            movie_id, hall_id = seed_hall(base, tokens.manager)
            if args.warmup:  # connections opened, statements prepared: a server as it runs
                showtime_id = seed_showtime(base, tokens.manager, movie_id, hall_id, 0)
                drive(base, tokens.buyers, showtime_id, replace_seconds(args, args.warmup))
            for run in range(1, args.runs + 1):
                showtime_id = seed_showtime(base, tokens.manager, movie_id, hall_id, run)
                cpu_before = cpu_seconds(kino.pid)
                database_before = database_cpu_seconds(engine, args)
                result = drive(base, tokens.buyers, showtime_id, args)
                database_after = database_cpu_seconds(engine, args)
                result = replace(
                    result,
                    cpu_seconds=cpu_seconds(kino.pid) - cpu_before,
                    database_cpu_seconds=sum(
                        database_after[pid] - database_before[pid]
                        for pid in database_after.keys() & database_before.keys()
                    ),
                )
                results.append({"engine": engine, "scenario": f"holds run {run}", **asdict(result)})
                print_row(engine, run, result, bare, bare_cpu_ms)
    print(f"load average after: {_load_average()}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"boxoffice-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out.relative_to(ROOT)}")


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def prepare(engine: str, args: argparse.Namespace) -> dict[str, str]:
    """A fresh, migrated database for ``engine``; returns the server's environment."""
    data_dir = DATA_DIR / f"boxoffice-{engine}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "KINO_DATA_DIR": str(data_dir),
        "KINO_SECRET_KEY": SECRET,
        "KINO_LOG_LEVEL": "WARNING",
        "KINO_ENVIRONMENT": "production",
        "KINO_WORKERS": "0",  # no embedded job pool polling beside the load
        "KINO_ACCESS_TOKEN_TTL_SECONDS": "86400",
    }
    if engine == "postgresql":
        asyncio.run(recreate_database(args.pg_server, args.pg_database))
        env["KINO_DATABASE_URL"] = args.pg_server.replace("postgresql", "postgresql+asyncpg", 1)
        env["KINO_DATABASE_URL"] += f"/{args.pg_database}"
        if args.redis_url:
            env["KINO_REDIS_URL"] = args.redis_url
    subprocess.run([KINO, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def database_cpu_seconds(engine: str, args: argparse.Namespace) -> dict[int, float]:
    """CPU time so far of each PostgreSQL backend serving the bench database (a local server),
    by process id; none for SQLite, whose work runs inside the app's processes and is counted
    with them. The pool closes and opens connections as the load varies, so the difference over
    the backends alive before and after a run is a lower bound."""
    if engine != "postgresql":
        return {}

    async def backend_pids() -> list[int]:
        connection = await asyncpg.connect(f"{args.pg_server}/postgres")
        try:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = $1"
            return [row["pid"] for row in await connection.fetch(query, args.pg_database)]
        finally:
            await connection.close()

    return {pid: cpu_seconds(pid) for pid in asyncio.run(backend_pids())}


async def recreate_database(pg_server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{pg_server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@dataclass(frozen=True)
class Tokens:
    manager: str
    buyers: list[str]


async def buyer_tokens(env: dict[str, str], count: int) -> Tokens:
    """A manager and ``count`` buyers, made in the database, with an access token each."""
    from kino.core.db import Database
    from kino.identity import service as identity
    from kino.identity.models import Role
    from kino.models import load_all_models
    from kino.settings import Settings

    load_all_models()
    settings = Settings(
        data_dir=Path(env["KINO_DATA_DIR"]),
        database_url=env.get("KINO_DATABASE_URL"),
        secret_key=SECRET,  # type: ignore[arg-type]
        access_token_ttl_seconds=86400,
    )
    db = Database(settings.sqlalchemy_url)
    tokens = []
    try:
        for number in range(count + 1):
            async with db.transaction() as session:
                user = await identity.create_user(
                    session,
                    email=f"buyer{number}@bench.example",
                    password="bench-password-123",
                    display_name=f"Buyer {number}",
                    role=Role.MANAGER if number == 0 else Role.VIEWER,
                )
            tokens.append(identity.issue_access_token(settings, user))
    finally:
        await db.dispose()
    return Tokens(manager=tokens[0], buyers=tokens[1:])


def seed_hall(base: str, manager_token: str) -> tuple[int, int]:
    """A film, and a cinema with the 400-seat hall; returns their ids."""
    with httpx.Client(base_url=base, headers=bearer(manager_token), timeout=60) as http:
        movie = {"title": "Bench", "status": "published", "runtime_minutes": 100}
        movie_id = checked(http.post("/api/v1/movies", json=movie))["id"]
        cinema = {
            "name": "Bench Palace",
            "address": "1 Load Street",
            "city": "Benchburg",
            "latitude": 50.0,
            "longitude": 8.0,
            "time_zone": "Europe/Berlin",
        }
        cinema_id = checked(http.post("/api/v1/cinemas", json=cinema))["id"]
        hall = {"name": "Grand", "screen": "IMAX", "rows": HALL_ROWS}
        hall_id = checked(http.post(f"/api/v1/cinemas/{cinema_id}/halls", json=hall))["id"]
    return int(movie_id), int(hall_id)


def seed_showtime(base: str, manager_token: str, movie_id: int, hall_id: int, run: int) -> int:
    """A new showtime for each run, so that no run starts with another's seats held."""
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, hours=3 * run)
    showtime = {
        "movie_id": movie_id,
        "hall_id": hall_id,
        "starts_at": starts_at.isoformat(),
        "language": "en",
        "format": "2D",
        "prices": {"standard": 1100, "premium": 1400, "vip": 2200, "wheelchair": 800},
        "currency": "EUR",
    }
    with httpx.Client(base_url=base, headers=bearer(manager_token), timeout=60) as http:
        return int(checked(http.post("/api/v1/showtimes", json=showtime))["id"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def checked(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def seat_names() -> list[str]:
    names = []
    for row in HALL_ROWS:
        count = len(row["seats"].replace("_", ""))
        names += [f"{row['label']}{number}" for number in range(1, count + 1)]
    return names


def drive(base: str, tokens: list[str], showtime_id: int, args: argparse.Namespace) -> HoldLoad:
    """wrk with one thread and one connection per buyer."""
    with tempfile.TemporaryDirectory() as scratch:
        tokens_file = Path(scratch) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        seats_file = Path(scratch) / "seats.txt"
        seats_file.write_text("\n".join(seat_names()) + "\n")
        command = [require_wrk(), f"-t{args.buyers}", f"-c{args.buyers}", f"-d{args.seconds}s"]
        command += ["--timeout", "10s", "-s", str(BENCH_DIR / "wrk_holds.lua"), base]
        command += ["--", str(tokens_file), str(seats_file), str(showtime_id)]
        command += ["release" if args.release else "replace"]
        finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed: {finished.stderr or finished.stdout}")
    line = next(line for line in finished.stdout.splitlines() if line.startswith("WRK_JSON "))
    return HoldLoad(**json.loads(line.removeprefix("WRK_JSON ")))


def replace_seconds(args: argparse.Namespace, seconds: int) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "seconds": seconds})


def print_row(
    engine: str, run: int, result: HoldLoad, bare: LoadResult, bare_cpu_ms: float
) -> None:
    print(
        f"{engine:>10} holds run {run}  {result.holds_per_second:6.0f} holds/s  "
        f"{result.conflict_share:5.1%} refused  {result.rps:6.0f} req/s "
        f"({result.rps / bare.rps:4.2f}x bare)  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  CPU {result.cpu_ms_per_request:.3f} ms/request "
        f"({result.cpu_ms_per_request / bare_cpu_ms:.1f}x bare)"
        + (
            f" + database ≥ {result.database_cpu_ms_per_request:.3f} ms"
            if result.database_cpu_seconds
            else ""
        )
        + f"  errors {result.errors + result.failures}",
        file=sys.stdout,
        flush=True,
    )


if __name__ == "__main__":
    main()
