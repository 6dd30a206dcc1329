"""Small generated video clips for media tests, made with ffmpeg's ``testsrc2`` and ``sine``.

``make_clip`` writes a clip into ``directory`` and remembers it for the rest of the test
session: asking again for the same clip returns the same file, whatever directory is passed.
A session-scoped temporary directory is the usual ``directory``::

    @pytest.fixture(scope="session")
    def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tmp_path_factory.mktemp("clips")

    path = make_clip(clip_dir, seconds=3, width=320, height=180, rotation=90)
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kino.settings import Settings

# The clip made for each set of parameters in this session.
_made: dict[str, Path] = {}


@dataclass(frozen=True)
class AudioSpec:
    """One audio stream of a clip: a sine tone with these channels and tags."""

    channels: int = 2
    language: str | None = None
    title: str | None = None
    default: bool = False
    sample_rate: int = 48000
    frequency: int = 440
    delay: float = 0.0  # seconds the stream starts after the video


def ffmpeg_exe() -> str:
    return Settings().ffmpeg_path


def make_clip(
    directory: Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 180,
    fps: float = 25,
    codec: str = "h264",
    pix_fmt: str = "yuv420p",
    audio_streams: int | Sequence[AudioSpec] = 1,
    audio_codec: str = "aac",
    container: str = "mp4",
    rotation: int = 0,
    vfr: bool = False,
    hdr: str | None = None,
    sar: tuple[int, int] | None = None,
    gop_seconds: float | None = None,
    faststart: bool = False,
    video: bool = True,
    video_delay: float = 0.0,
    streamed: bool = False,
    hdr_primaries: bool = True,
) -> Path:
    """A clip with the given properties (cached for the session).

    ``codec``: ``h264``, ``hevc``, ``mpeg4``, ``vp9`` or ``mjpeg``; ``pix_fmt`` any the encoder
    takes (``yuv420p10le`` for 10-bit). ``audio_streams``: how many stereo streams, or one
    ``AudioSpec`` per stream. ``rotation``: display rotation in degrees, counter-clockwise as
    ffmpeg's ``-display_rotation`` counts. ``vfr``: frames at irregular intervals. ``hdr``:
    ``"pq"`` or ``"hlg"`` tags the clip BT.2020 with that transfer (use a 10-bit ``pix_fmt``).
    ``hdr_primaries=False`` tags only the transfer, as some files do.
    ``sar``: a sample aspect ratio for anamorphic clips. ``gop_seconds``: keyframe interval
    (default: the encoder's). ``video=False`` makes an audio-only file; ``video_delay`` starts
    the picture that many seconds after the sound (``AudioSpec.delay`` the other way round).
    ``streamed``: written to a pipe, as a live recorder does, so the header states no duration
    and there is no index (Matroska/WebM).
    """
    audio = _audio_specs(audio_streams)
    parameters = (seconds, width, height, fps, codec, pix_fmt, audio, audio_codec, container)
    variations = (rotation, vfr, hdr, sar, gop_seconds, faststart, video, video_delay, streamed)
    variations += (hdr_primaries,)
    key = repr((*parameters, *variations))
    made = _made.get(key)
    if made is not None and made.exists():
        return made
    name = hashlib.sha1(key.encode()).hexdigest()[:12]
    path = directory / f"clip-{name}.{container}"
    args = _inputs(seconds, width, height, fps, audio, video)
    if video_delay:
        args = ["-itsoffset", str(video_delay), *args]
    if video:
        args += _video_args(codec, pix_fmt, fps, vfr, hdr, sar, gop_seconds, hdr_primaries)
    args += _audio_args(audio, audio_codec, video)
    if faststart and container in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    if rotation:
        # -display_rotation applies when the stream is copied, so rotate in a second pass.
        plain = directory / f"clip-{name}-plain.{container}"
        _ffmpeg([*args, str(plain)])
        rotate = ["-display_rotation:v:0", str(rotation), "-i", str(plain)]
        _ffmpeg([*rotate, "-map", "0", "-c", "copy", str(path)])
        plain.unlink()
    elif streamed:
        muxer = "webm" if container == "webm" else "matroska"
        with path.open("wb") as out:
            _ffmpeg([*args, "-f", muxer, "pipe:1"], stdout=out)
    else:
        _ffmpeg([*args, str(path)])
    _made[key] = path
    return path


def _audio_specs(audio_streams: int | Sequence[AudioSpec]) -> tuple[AudioSpec, ...]:
    if isinstance(audio_streams, int):
        return tuple(AudioSpec(frequency=440 + 110 * i) for i in range(audio_streams))
    return tuple(audio_streams)


def _inputs(
    seconds: float,
    width: int,
    height: int,
    fps: float,
    audio: tuple[AudioSpec, ...],
    video: bool,
) -> list[str]:
    args: list[str] = []
    if video:
        source = f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"
        if width % 2 or height % 2:  # testsrc2 rounds odd sizes down
            source = f"testsrc2=size={width + 1}x{height + 1}:rate={fps}:duration={seconds}"
            source += f",format=yuv444p,crop={width}:{height}:0:0"
        args += ["-f", "lavfi", "-i", source]
    for spec in audio:
        layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[spec.channels]
        tone = f"sine=frequency={spec.frequency}:sample_rate={spec.sample_rate}:duration={seconds}"
        if spec.delay:
            args += ["-itsoffset", str(spec.delay)]
        args += ["-f", "lavfi", "-i", f"{tone},aformat=channel_layouts={layout}"]
    return args


def _video_args(
    codec: str,
    pix_fmt: str,
    fps: float,
    vfr: bool,
    hdr: str | None,
    sar: tuple[int, int] | None,
    gop_seconds: float | None,
    hdr_primaries: bool,
) -> list[str]:
    encoders = {
        "h264": ["libx264", "-preset", "ultrafast"],
        "hevc": ["libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"],
        "mpeg4": ["mpeg4", "-q:v", "5"],
        "vp9": ["libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
        "mjpeg": ["mjpeg", "-q:v", "5"],
    }
    args = ["-map", "0:v", "-c:v", *encoders[codec], "-pix_fmt", pix_fmt]
    filters = []
    if vfr:
        # Keep two frames out of every three, and every frame of the first second: the
        # intervals between frames vary.
        filters.append(f"select='lt(n,{round(fps)})+not(eq(mod(n,3),2))'")
        args += ["-fps_mode", "vfr"]
    if sar:
        filters.append(f"setsar={sar[0]}/{sar[1]}")
    if hdr:
        # The encoder takes its colour tags from the frames, so tag the frames.
        transfer = {"pq": "smpte2084", "hlg": "arib-std-b67"}[hdr]
        tags = f"color_trc={transfer}"
        if hdr_primaries:
            tags += ":color_primaries=bt2020:colorspace=bt2020nc"
        filters.append(f"setparams={tags}")
    if filters:
        args += ["-vf", ",".join(filters)]
    if gop_seconds:
        gop = max(1, round(gop_seconds * fps))
        args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    return args


def _audio_args(audio: tuple[AudioSpec, ...], audio_codec: str, video: bool) -> list[str]:
    first = 1 if video else 0
    args: list[str] = []
    for index in range(len(audio)):
        args += ["-map", f"{first + index}:a"]
    if audio:
        args += ["-c:a", audio_codec, "-b:a", "96k"]
        if audio_codec == "mp3":
            args[-3] = "libmp3lame"
    for index, spec in enumerate(audio):
        if spec.language:
            args += [f"-metadata:s:a:{index}", f"language={spec.language}"]
        if spec.title:
            args += [f"-metadata:s:a:{index}", f"title={spec.title}"]
        args += [f"-disposition:a:{index}", "default" if spec.default else "0"]
    return args


def _ffmpeg(args: list[str], stdout: IO[bytes] | None = None) -> None:
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    if stdout is None:
        subprocess.run(command, check=True, capture_output=True)
    else:
        subprocess.run(command, check=True, stdout=stdout, stderr=subprocess.PIPE)


def make_still_image(directory: Path, *, width: int = 320, height: int = 180) -> Path:
    """A PNG picture: a file that is a still image, not a video."""
    path = directory / f"still-{width}x{height}.png"
    if not path.exists():
        source = f"testsrc2=size={width}x{height}"
        _ffmpeg(["-f", "lavfi", "-i", source, "-frames:v", "1", str(path)])
    return path


def truncate(source: Path, destination: Path, *, keep: float) -> Path:
    """A copy of ``source`` cut after the first ``keep`` fraction of its bytes."""
    data = source.read_bytes()
    destination.write_bytes(data[: int(len(data) * keep)])
    return destination
