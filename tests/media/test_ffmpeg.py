from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kino.media import ffmpeg as ffmpeg_module
from kino.media.ffmpeg import FfmpegCancelled, FfmpegError, run_ffmpeg
from tests.media.clips import ffmpeg_exe

# A synthetic source read at its real speed: the run lasts as long as the clip.
REALTIME_SOURCE = ["-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=60"]


class Processes:
    """Remembers the processes run_ffmpeg starts, to check they are gone afterwards."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[asyncio.subprocess.Process] = []
        original = asyncio.create_subprocess_exec

        async def spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            process = await original(*args, **kwargs)
            self.started.append(process)
            return process

        monkeypatch.setattr(ffmpeg_module.asyncio, "create_subprocess_exec", spawn)


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Processes:
    return Processes(monkeypatch)


async def test_progress_rises_to_one_and_estimates_time_left(tmp_path: Path) -> None:
    reports: list[tuple[float, float | None]] = []

    async def on_progress(fraction: float, seconds_left: float | None) -> None:
        reports.append((fraction, seconds_left))

    source = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", str(tmp_path / "out.mp4")]
    await run_ffmpeg(ffmpeg_exe(), [*source, *encode], duration=4.0, on_progress=on_progress)

    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert reports[-1][1] == 0.0
    assert all(0.0 <= fraction <= 1.0 for fraction in fractions)
    assert (tmp_path / "out.mp4").stat().st_size > 0


async def test_a_failure_raises_with_a_short_message_and_the_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError) as raised:
        await run_ffmpeg(
            ffmpeg_exe(), ["-i", str(tmp_path / "missing.mp4"), "out.mp4"], duration=None
        )
    assert raised.value.message.startswith("ffmpeg failed")
    assert "No such file" in raised.value.message
    assert "missing.mp4" in raised.value.stderr_tail
    assert raised.value.returncode not in (0, None)


async def test_setting_cancel_stops_ffmpeg(tmp_path: Path, processes: Processes) -> None:
    cancel = asyncio.Event()

    async def cancel_on_first_report(_fraction: float, _left: float | None) -> None:
        cancel.set()

    args = [*REALTIME_SOURCE, "-c:v", "libx264", "-preset", "ultrafast", str(tmp_path / "x.mp4")]
    with pytest.raises(FfmpegCancelled):
        await run_ffmpeg(
            ffmpeg_exe(), args, duration=60, on_progress=cancel_on_first_report, cancel=cancel
        )
    [process] = processes.started
    assert process.returncode is not None


async def test_cancelling_the_task_stops_ffmpeg(tmp_path: Path, processes: Processes) -> None:
    started = asyncio.Event()

    async def on_progress(_fraction: float, _left: float | None) -> None:
        started.set()

    args = [*REALTIME_SOURCE, "-c:v", "libx264", "-preset", "ultrafast", str(tmp_path / "x.mp4")]
    task = asyncio.create_task(run_ffmpeg(ffmpeg_exe(), args, duration=60, on_progress=on_progress))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [process] = processes.started
    assert process.returncode is not None
