"""Transcoding speed: Kino's engine next to the same ffmpeg work run without Kino.

    python -m bench.transcode [--preset veryfast] [--seconds 60] [--remux-minutes 10] [--rounds 1]

Generates (once, cached under bench/.data) a 1080p H.264/AAC source of testsrc2 and a sine
tone, then in one run measures, for the ladder that source gets (360p … 1080p):

1. raw: the ladder as one ffmpeg command (``ladder_command``) run by subprocess, no Kino;
2. per rung: one ffmpeg process per rung (the first also encodes the audio), all at once and
   one after the other;
3. Kino: probe + ``encode_ladder`` (one process, progress parsed) + measuring + master playlist.

It prints wall and CPU times and ratios (goals: Kino ≤ 1.05x raw; per rung ≥ 1.15x Kino);
with ``--rounds N`` each is run N times, interleaved, and the best kept. CPU time (user +
system, children included) hardly moves when other work shares the machine; wall time does. Then it
generates a 10-minute H.264/AAC source at a small size and times probe + ``remux_to_hls``,
the time until a new title can play (goal ≤ 10 s). Results go to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kino.media.ladder import (
    encode_ladder,
    ladder_command,
    plan_ladder,
    prepare_output_dirs,
    remux_to_hls,
)
from kino.media.probe import SourceInfo, probe
from kino.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--preset", default=Settings().x264_preset, help="x264 preset")
    parser.add_argument("--seconds", type=int, default=60, help="length of the 1080p source")
    parser.add_argument("--remux-minutes", type=int, default=10, help="length of the remux source")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each; the best is kept")
    args = parser.parse_args()
    ffmpeg = Settings().ffmpeg_path
    DATA_DIR.mkdir(exist_ok=True)

    source = make_source(ffmpeg, DATA_DIR / f"source-1080p-{args.seconds}s.mp4", args.seconds)
    info = probe(source)
    rungs = plan_ladder(info)
    print(f"source: {source.name}, {info.display_width}x{info.display_height}, "
          f"{info.duration:.0f} s; rungs: {', '.join(rung.name for rung in rungs)}; "
          f"preset {args.preset}")  # fmt: skip
    results: dict[str, Any] = {"preset": args.preset, "rungs": [r.name for r in rungs]}

    runs: dict[str, Callable[[Path], object]] = {
        "raw_one_command": lambda out: run_raw(ffmpeg, source, info, out),
        "per_rung_concurrent": lambda out: run_per_rung(ffmpeg, source, info, out, at_once=True),
        "per_rung_sequential": lambda out: run_per_rung(ffmpeg, source, info, out, at_once=False),
        "kino": lambda out: asyncio.run(run_kino(ffmpeg, source, out)),
    }
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for number in range(args.rounds):
        # Each round in a different order, so a burst of load elsewhere hits different runs.
        names = list(runs)[number % len(runs) :] + list(runs)[: number % len(runs)]
        for name in names:
            with scratch() as work:
                rounds[name].append(timed(functools.partial(runs[name], work / name)))
    # The least disturbed round of each: the best estimate of its time on an idle machine.
    for name, measured in rounds.items():
        results[name] = {
            "wall": min(run["wall"] for run in measured),
            "cpu": min(run["cpu"] for run in measured),
            "rounds": measured,
        }
    report_ladder(results)

    minutes = args.remux_minutes
    long_source = make_source(
        ffmpeg, DATA_DIR / f"source-360p-{minutes}min.mp4", minutes * 60, size="640x360"
    )
    with scratch() as work:
        remux = asyncio.run(run_remux(ffmpeg, long_source, work / "remux"))
    results["remux"] = remux
    print(f"\n{minutes}-minute H.264/AAC source: probe {remux['probe']:.2f} s + remux "
          f"{remux['remux']:.2f} s = {remux['total']:.2f} s to first playable "
          f"(goal ≤ 10 s: {'met' if remux['total'] <= 10 else 'MISSED'})")  # fmt: skip

    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"transcode-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out.relative_to(BENCH_DIR.parent)}")


def make_source(ffmpeg: str, path: Path, seconds: int, *, size: str = "1920x1080") -> Path:
    """testsrc2 + a sine tone as H.264 High/AAC in MP4, kept for later runs."""
    if path.exists():
        return path
    print(f"generating {path.name} (once) …")
    partial = path.with_suffix(".partial.mp4")
    video = f"testsrc2=size={size}:rate=25:duration={seconds}"
    audio = f"sine=frequency=440:sample_rate=48000:duration={seconds}"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(partial)],
        check=True,
    )  # fmt: skip
    partial.rename(path)
    return path


@contextmanager
def scratch() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="kino-bench-", dir=DATA_DIR))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def timed(work: Callable[[], object]) -> dict[str, float]:
    """Wall time, and CPU time (this process and its children, user + system): colleagues'
    jobs on a shared machine stretch the first, hardly the second."""
    started, cpu = time.perf_counter(), _cpu_seconds()
    work()
    return {"wall": time.perf_counter() - started, "cpu": _cpu_seconds() - cpu}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_raw(ffmpeg: str, source: Path, info: SourceInfo, out_dir: Path) -> None:
    rungs = plan_ladder(info)
    prepare_output_dirs(info, [rung.name for rung in rungs], out_dir)
    command = ladder_command(ffmpeg, source, info, rungs, out_dir, preset=Settings().x264_preset)
    subprocess.run(command, check=True, **QUIET)


def run_per_rung(
    ffmpeg: str, source: Path, info: SourceInfo, out_dir: Path, *, at_once: bool
) -> None:
    commands = []
    for index, rung in enumerate(plan_ladder(info)):
        directory = out_dir / rung.name
        prepare_output_dirs(info, [rung.name], directory)
        commands.append(
            ladder_command(
                ffmpeg, source, info, [rung], directory,
                preset=Settings().x264_preset, audio=index == 0,
            )
        )  # fmt: skip
    if at_once:
        processes = [subprocess.Popen(command, **QUIET) for command in commands]
        if any(process.wait() != 0 for process in processes):
            raise RuntimeError("a per-rung ffmpeg failed")
    else:
        for command in commands:
            subprocess.run(command, check=True, **QUIET)


async def run_kino(ffmpeg: str, source: Path, out_dir: Path) -> None:
    info = await asyncio.to_thread(probe, source)

    async def on_progress(_fraction: float, _seconds_left: float | None) -> None:
        return None

    await encode_ladder(
        ffmpeg, source, info, plan_ladder(info), out_dir,
        on_progress=on_progress, preset=Settings().x264_preset,
    )  # fmt: skip
    assert (out_dir / "master.m3u8").is_file()


async def run_remux(ffmpeg: str, source: Path, out_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    info = await asyncio.to_thread(probe, source)
    probed = time.perf_counter()
    await remux_to_hls(ffmpeg, source, info, out_dir)
    done = time.perf_counter()
    assert (out_dir / "master.m3u8").is_file()
    return {"probe": probed - started, "remux": done - probed, "total": done - started}


def report_ladder(results: dict[str, Any]) -> None:
    raw, kino = results["raw_one_command"], results["kino"]
    print(f"\n{'ladder':<40}{'wall s':>8}{'vs raw':>8}{'cpu s':>8}{'vs raw':>8}")
    for label, key in [
        ("raw: one ffmpeg command", "raw_one_command"),
        ("per rung, processes at once", "per_rung_concurrent"),
        ("per rung, one after another", "per_rung_sequential"),
        ("Kino: probe + encode_ladder + measure", "kino"),
    ]:
        run = results[key]
        print(f"{label:<40}{run['wall']:>8.1f}{run['wall'] / raw['wall']:>7.2f}x"
              f"{run['cpu']:>8.1f}{run['cpu'] / raw['cpu']:>7.2f}x")  # fmt: skip
    print(f"\nKino / raw one command: wall {kino['wall'] / raw['wall']:.3f}x, "
          f"cpu {kino['cpu'] / raw['cpu']:.3f}x (goal <= 1.05)")  # fmt: skip
    for label, key in [("at once", "per_rung_concurrent"), ("in turn", "per_rung_sequential")]:
        run = results[key]
        print(f"per rung {label} / Kino: wall {run['wall'] / kino['wall']:.2f}x, "
              f"cpu {run['cpu'] / kino['cpu']:.2f}x (goal >= 1.15)")  # fmt: skip


if __name__ == "__main__":
    main()
