"""Catalog speed: list+filter, detail and search under load, next to a bare FastAPI endpoint.

    python -m bench.catalog [--titles 200000] [--engines sqlite,postgresql] [--seconds 10]

For each catalog (the sample films, and N synthetic titles) and each engine, it seeds a database
once (kept under bench/.data and in the PostgreSQL database kino_bench_*; re-runs reuse them),
starts `kino serve` with the same worker count as the baseline, and drives both with wrk at the
same concurrency: once with the response cache off (every request reaches the database) and
once as Kino ships, its cache on with the default TTL (signed-out visitors' repeated reads),
after an unmeasured load as long as the TTL that answers every path, and for at least twice the
TTL, so that the measured load meets answers turning stale and answered anew behind them.
It prints p50/p99 latency, requests/s, and throughput as a share of the bare endpoint's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

from bench.harness import KINO, ROOT, LoadResult, bare_fastapi, free_port, load, server
from kino.settings import Settings

DATA_DIR = Path(__file__).resolve().parent / ".data"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
CACHE_TTL_SECONDS: int = Settings.model_fields["cache_ttl_seconds"].default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--titles", type=int, default=200_000, help="synthetic catalog size")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample catalog")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=int, default=10, help="load per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server processes, both apps")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL to create DBs on")
    args = parser.parse_args()

    catalogs = ([] if args.no_sample else ["sample"]) + ([f"{args.titles}"] if args.titles else [])
    results: list[dict[str, Any]] = []
    with bare_fastapi(workers=args.workers) as bare_url:
        bare = load(bare_url, ["/json"], connections=args.connections, seconds=args.seconds)
    results.append({"catalog": "-", "engine": "-", "scenario": "bare", **asdict(bare)})
    print_row("-", "-", "bare FastAPI", bare, bare)
    for catalog in catalogs:
        for engine in args.engines.split(","):
            env = prepare(catalog, engine, args.pg_server)
            for scenario, result in run_kino(env, args, cache=False) + run_kino(env, args):
                results.append(
                    {"catalog": catalog, "engine": engine, "scenario": scenario, **asdict(result)}
                )
                print_row(catalog, engine, scenario, result, bare)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"catalog-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out.relative_to(ROOT)}")


def prepare(catalog: str, engine: str, pg_server: str) -> dict[str, str]:
    """A migrated, seeded database for ``catalog`` on ``engine``; returns the server's env."""
    name = f"kino_bench_{catalog}"
    data_dir = DATA_DIR / f"{catalog}-{engine}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KINO_DATA_DIR": str(data_dir),
        "KINO_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
        "KINO_LOG_LEVEL": "WARNING",
        "KINO_ENVIRONMENT": "production",
    }
    if engine == "postgresql":
        asyncio.run(create_database(pg_server, name))
        env["KINO_DATABASE_URL"] = f"{pg_server.replace('postgresql', 'postgresql+asyncpg')}/{name}"
    subprocess.run([KINO, "db", "upgrade"], env=env, check=True, capture_output=True)
    seed = ["--sample"] if catalog == "sample" else ["--titles", catalog]
    started = time.perf_counter()
    subprocess.run([KINO, "seed", *seed], env=env, check=True, capture_output=True)
    print(f"# {catalog} on {engine}: seeded/checked in {time.perf_counter() - started:.1f} s")
    return env


async def create_database(pg_server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{pg_server}/postgres")
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def run_kino(
    env: dict[str, str], args: argparse.Namespace, *, cache: bool = True
) -> list[tuple[str, LoadResult]]:
    """Load each scenario; without ``cache`` every request reaches the database."""
    env = {**env, "KINO_CACHE_TTL_SECONDS": str(CACHE_TTL_SECONDS if cache else 0)}
    seconds = max(args.seconds, 2 * CACHE_TTL_SECONDS) if cache else args.seconds
    suffix = " cached" if cache else ""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [KINO, "serve", "--port", str(port), "--workers", str(args.workers)]
    with server(command, env=env, health_url=f"{base}/healthz"):
        results = []
        for name, paths in request_paths(base).items():
            if cache:  # steady state: the scenario's paths answered (and cached) before
                load(base, paths, connections=args.connections, seconds=CACHE_TTL_SECONDS)
            result = load(base, paths, connections=args.connections, seconds=seconds)
            results.append((name + suffix, result))
        return results


def request_paths(base: str) -> dict[str, list[str]]:
    """Paths for each scenario, drawn from the catalog being served."""
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=60) as http:
        genres = [genre["slug"] for genre in http.get("/api/v1/genres").json()]
        total = http.get("/api/v1/movies", params={"page_size": 1}).json()["total"]
        pages = rng.sample(range(1, max(2, total // 100)), k=min(5, max(1, total // 100 - 1)))
        films = [
            film
            for page in pages
            for film in http.get("/api/v1/movies", params={"page": page, "page_size": 100}).json()[
                "items"
            ]
        ]
        details = [http.get(f"/api/v1/movies/{film['id']}").json() for film in films[:40]]
    countries = sorted({c for detail in details for c in detail["countries"]}) or ["France"]
    languages = sorted({lang for detail in details for lang in detail["languages"]}) or ["English"]
    sorts = ["-popularity", "-year", "title", "-rating", "-created_at"]
    listing = []
    for _ in range(300):
        params = [f"sort={rng.choice(sorts)}", f"page={rng.randint(1, 5)}"]
        match rng.randrange(5):
            case 0:
                params.append(f"genre={rng.choice(genres)}")
            case 1:
                start = rng.randint(1930, 2015)
                params.append(f"year_from={start}&year_to={start + rng.randint(1, 10)}")
            case 2:
                params.append(urlencode({"country": rng.choice(countries)}))
            case 3:
                params.append(urlencode({"language": rng.choice(languages)}))
            case _:
                params.append(f"genre={rng.choice(genres)}&year_from={rng.randint(1950, 2010)}")
        listing.append("/api/v1/movies?" + "&".join(params))
    queries = [search_query(film["title"], rng) for film in films]
    return {
        "list+filter": listing,
        "detail": [f"/api/v1/movies/{film['id']}" for film in films],
        "search": ["/api/v1/search?" + urlencode({"q": query}) for query in queries],
    }


def search_query(title: str, rng: random.Random) -> str:
    """What a person types: the title, a prefix of it, or a word of it with one typo."""
    words = [word for word in title.split() if word.isalpha()] or [title]
    match rng.randrange(3):
        case 0:
            return title
        case 1:
            return title[: max(3, len(title) // 2)]
        case _:
            word = max(words, key=len)
            if len(word) < 5:
                return word
            cut = rng.randrange(1, len(word) - 1)
            return word[:cut] + word[cut + 1 :]


def print_row(
    catalog: str, engine: str, scenario: str, result: LoadResult, bare: LoadResult
) -> None:
    print(
        f"{catalog:>8} {engine:>10} {scenario:>18}  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  {result.rps:8.0f} req/s  "
        f"{result.rps / bare.rps:5.2f}x bare  errors {result.errors + result.non_2xx}"
    )


if __name__ == "__main__":
    main()
