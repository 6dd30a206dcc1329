"""The HLS ladder: which renditions a source gets, the instant remux, and the one-process encode.

Output layout under ``out_dir`` (every URI in every playlist is relative)::

    master.m3u8                     written by Kino after measuring
    720p/index.m3u8                 one directory per video rendition (``source/`` for a remux)
    720p/init.mp4, 720p/seg-00000.m4s …
    a0/index.m3u8, a0/init.mp4 …    one directory per audio rendition
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from kino.media.ffmpeg import ProgressCallback, run_ffmpeg
from kino.media.hls import (
    AUDIO_GROUP,
    AudioRendition,
    HlsPackage,
    VariantStream,
    finalize_media_playlist,
    language_name,
    language_tag,
    master_playlist,
    measure_playlist,
    stream_codecs,
)
from kino.media.probe import SourceInfo

SEGMENT_SECONDS = 6
GOP_SECONDS = 2
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 1.5
AUDIO_BITRATE = 128_000
AUDIO_SAMPLE_RATE = 48_000
MAX_FRAME_RATE = 60.0
# Frame rates kept exactly (NTSC ones as the fractions they are) when a source is within 1%.
STANDARD_FRAME_RATES = tuple(
    Fraction(rate)
    for rate in ("24000/1001", "24", "25", "30000/1001", "30", "48", "50", "60000/1001", "60")
)
# A source this close to a rung's size (a few lines cropped) still gets that rung, at its own size.
NEAR_MISS = 1.05
MIN_BITRATE = 200_000
# Sound this much out of step with the picture at the start is not remuxed (AAC priming and
# B-frame delays are a few hundredths of a second).
MAX_REMUX_START_SKEW = 0.1
# HDR (PQ or HLG) to SDR BT.709: linearize, map the primaries, tone-map (Hable), re-encode.
# The source's colours are named rather than read from the frames: files that tag PQ or HLG
# often leave the primaries or matrix unset, and HDR video is BT.2020 in practice. The result
# is 4:4:4 so that odd sizes pass; each rung's scaler makes it 4:2:0.
TONEMAP = (
    "zscale=tin={transfer}:pin=bt2020:min=bt2020nc:t=linear:p=bt2020:npl=100,"
    "format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv444p"
)
ZSCALE_TRANSFERS = {"pq": "smpte2084", "hlg": "arib-std-b67"}
MASTER = "master.m3u8"
PLAYLIST = "index.m3u8"
INIT = "init.mp4"
SEGMENTS = "seg-%05d.m4s"
REMUX_VIDEO = "source"


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int


def _rung(name: str, width: int, height: int, bitrate: int) -> Rung:
    maxrate = round(bitrate * MAXRATE_FACTOR)
    return Rung(name, width, height, bitrate, maxrate, round(bitrate * BUFSIZE_FACTOR))


LADDER: tuple[Rung, ...] = (
    _rung("360p", 640, 360, 800_000),
    _rung("480p", 854, 480, 1_400_000),
    _rung("720p", 1280, 720, 2_800_000),
    _rung("1080p", 1920, 1080, 5_000_000),
    _rung("1440p", 2560, 1440, 8_000_000),
    _rung("2160p", 3840, 2160, 14_000_000),
)


def _even(value: float) -> int:
    """The nearest even number (H.264 4:2:0 needs even sizes), at least 2."""
    return max(2, 2 * math.floor(value / 2 + 0.5))


def _even_down(value: int) -> int:
    return max(2, value - value % 2)


def plan_ladder(info: SourceInfo) -> list[Rung]:
    """The rungs for ``info``: each of ``LADDER`` whose frame the upright picture fills without
    being enlarged, sized to the source's display aspect ratio (even dimensions). A portrait
    source uses the rung's frame turned upright. A source smaller than the lowest rung gets one
    rung at its own (even) size."""
    width, height = info.display_width, info.display_height
    portrait = height > width
    rungs: list[Rung] = []
    for rung in LADDER:
        box_width, box_height = (rung.height, rung.width) if portrait else (rung.width, rung.height)
        scale = min(box_width / width, box_height / height)
        fitted = (_even(width * scale), _even(height * scale))
        if fitted[0] <= width and fitted[1] <= height:
            size = fitted
        elif scale <= NEAR_MISS:
            size = (min(fitted[0], _even_down(width)), min(fitted[1], _even_down(height)))
        else:
            break
        rungs.append(_rung(rung.name, *size, rung.video_bitrate))
    if not rungs:
        rungs.append(_small_rung(width, height))
    return rungs


def _small_rung(width: int, height: int) -> Rung:
    lowest = LADDER[0]
    size = (_even_down(width), _even_down(height))
    pixels = size[0] * size[1] / (lowest.width * lowest.height)
    bitrate = max(MIN_BITRATE, 1000 * round(lowest.video_bitrate * pixels / 1000))
    return _rung(f"{min(size)}p", *size, bitrate)


def can_remux(info: SourceInfo) -> bool:
    """Whether the source plays as it is once repackaged: H.264 8-bit 4:2:0 SDR, upright,
    with AAC audio or none, its sound starting with its picture (each rendition is repackaged
    to start at 0, so an offset between them would be lost)."""
    return (
        info.video_codec == "h264"
        and info.bit_depth == 8
        and info.chroma_420
        and not info.hdr
        and info.rotation == 0
        and all(stream.codec == "aac" for stream in info.audio)
        and info.start_skew <= MAX_REMUX_START_SKEW
    )


def output_frame_rate(info: SourceInfo) -> Fraction:
    """A constant frame rate for the output: the source's (halved above 60 fps), snapped to a
    standard rate within 1%; a variable-rate source gets its average rounded."""
    rate = info.frame_rate if info.frame_rate > 0 else 25.0
    while rate > MAX_FRAME_RATE + 0.5:
        rate /= 2
    nearest = min(STANDARD_FRAME_RATES, key=lambda standard: abs(rate / float(standard) - 1))
    if abs(rate / float(nearest) - 1) <= 0.01:
        return nearest
    if info.variable_frame_rate or rate >= 10:
        return Fraction(max(1, round(rate)))
    return Fraction(rate).limit_denominator(1001)


def _hls_output(directory: Path) -> list[str]:
    return [
        "-f",
        "hls",
        "-hls_time",
        str(SEGMENT_SECONDS),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "fmp4",
        "-hls_flags",
        "independent_segments",
        # Timestamps that need no edit list (players ignore it in fMP4 HLS): signed composition
        # offsets let the first picture's time be its decode time, so a rendition starts at 0
        # and video stays in step with the separately packaged audio.
        "-hls_segment_options",
        "movflags=+negative_cts_offsets:use_editlist=0",
        "-hls_fmp4_init_filename",
        INIT,
        "-hls_segment_filename",
        str(directory / SEGMENTS),
        str(directory / PLAYLIST),
    ]


def _audio_outputs(info: SourceInfo, out_dir: Path, *, encode: bool) -> list[str]:
    args: list[str] = []
    for stream in info.audio:
        args += ["-map", f"0:a:{stream.index}"]
        if encode:
            # Each rendition is its own file starting at 0, so a stream that starts late in
            # the source (or has gaps) is padded with silence to keep its place in time.
            args += ["-af", "aresample=async=1:first_pts=0"]
            args += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE)]
            args += ["-ar", str(AUDIO_SAMPLE_RATE), "-ac", "2"]
        else:
            args += ["-c:a", "copy"]
        args += _hls_output(out_dir / f"a{stream.index}")
    return args


def _filter_graph(info: SourceInfo, rungs: list[Rung]) -> str:
    """Decode once, convert once (tone-map, constant frame rate), then scale in a cascade: the
    top rung from the source, each lower rung from the one above it. Each step is a proper
    bicubic downscale, and the lower rungs cost a fraction of scaling from the source."""
    # ffmpeg turns the picture upright (its display matrix) before this graph. The picture
    # starts at 0 like the audio renditions (a late first frame is held from 0).
    prepare = []
    if info.hdr:
        transfer = ZSCALE_TRANSFERS.get(info.color_transfer or "", "smpte2084")
        prepare.append(TONEMAP.format(transfer=transfer))
    prepare.append(f"fps={output_frame_rate(info)}:start_time=0")
    order = sorted(range(len(rungs)), key=lambda index: -rungs[index].height)
    graph = [f"[0:v:{info.video_stream}]{','.join(prepare)}[c0]"]
    for step, index in enumerate(order):
        rung = rungs[index]
        scale = f"[c{step}]scale={rung.width}:{rung.height},setsar=1,format=yuv420p"
        if step == len(order) - 1:
            graph.append(f"{scale}[v{index}]")
        else:
            graph.append(f"{scale},split=2[v{index}][c{step + 1}]")
    return ";".join(graph)


def _video_output(index: int, rung: Rung, gop: int, preset: str, out_dir: Path) -> list[str]:
    return [
        "-map",
        f"[v{index}]",
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-preset",
        preset,
        "-b:v",
        str(rung.video_bitrate),
        "-maxrate",
        str(rung.maxrate),
        "-bufsize",
        str(rung.bufsize),
        # Closed 2 s GOPs at the same instants in every rung: segments switch cleanly.
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-flags",
        "+cgop",
        "-forced-idr",
        "1",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{GOP_SECONDS})",
        *_hls_output(out_dir / rung.name),
    ]


def _ladder_args(
    source: Path,
    info: SourceInfo,
    rungs: list[Rung],
    out_dir: Path,
    *,
    preset: str,
    audio: bool = True,
) -> list[str]:
    if not rungs:
        raise ValueError("a ladder needs at least one rung")
    gop = max(1, round(GOP_SECONDS * output_frame_rate(info)))
    args = ["-y", "-i", str(source), "-filter_complex", _filter_graph(info, rungs)]
    for index, rung in enumerate(rungs):
        args += _video_output(index, rung, gop, preset, out_dir)
    return args + (_audio_outputs(info, out_dir, encode=True) if audio else [])


def ladder_command(
    ffmpeg: str,
    source: Path,
    info: SourceInfo,
    rungs: list[Rung],
    out_dir: Path,
    *,
    preset: str,
    audio: bool = True,
) -> list[str]:
    """The one ffmpeg command that encodes every rung (and, unless ``audio`` is False, every
    audio rendition) of the ladder. Its output directories must exist
    (``prepare_output_dirs``)."""
    args = _ladder_args(source, info, rungs, out_dir, preset=preset, audio=audio)
    return [ffmpeg, "-hide_banner", "-nostdin", *args]


def prepare_output_dirs(info: SourceInfo, names: list[str], out_dir: Path) -> None:
    for name in [*names, *(f"a{stream.index}" for stream in info.audio)]:
        (out_dir / name).mkdir(parents=True, exist_ok=True)


async def encode_ladder(
    ffmpeg: str,
    source: Path,
    info: SourceInfo,
    rungs: list[Rung],
    out_dir: Path,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    preset: str = "veryfast",
) -> HlsPackage:
    """Encode the ladder in one ffmpeg process, then measure it and write ``master.m3u8``."""
    prepare_output_dirs(info, [rung.name for rung in rungs], out_dir)
    args = _ladder_args(source, info, rungs, out_dir, preset=preset)
    await run_ffmpeg(ffmpeg, args, duration=info.duration, on_progress=on_progress, cancel=cancel)
    frame_rate = float(output_frame_rate(info))
    return await asyncio.to_thread(
        _package, info, [rung.name for rung in rungs], out_dir, frame_rate
    )


async def remux_to_hls(
    ffmpeg: str,
    source: Path,
    info: SourceInfo,
    out_dir: Path,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
) -> HlsPackage:
    """Repackage a source that ``can_remux`` as HLS without re-encoding: one video variant
    (cut at the source's keyframes) and its AAC streams as audio renditions."""
    if not can_remux(info):
        raise ValueError("the source cannot be remuxed; encode the ladder")
    prepare_output_dirs(info, [REMUX_VIDEO], out_dir)
    args = ["-y", "-i", str(source), "-map", f"0:v:{info.video_stream}", "-c:v", "copy"]
    args += _hls_output(out_dir / REMUX_VIDEO)
    args += _audio_outputs(info, out_dir, encode=False)
    await run_ffmpeg(ffmpeg, args, duration=info.duration, on_progress=on_progress, cancel=cancel)
    return await asyncio.to_thread(_package, info, [REMUX_VIDEO], out_dir, info.frame_rate)


def _package(info: SourceInfo, names: list[str], out_dir: Path, frame_rate: float) -> HlsPackage:
    """Correct and measure what ffmpeg wrote, and write the master playlist."""
    audio = [_audio_rendition(info, stream.index, out_dir) for stream in info.audio]
    _unique_names(audio)
    group = AUDIO_GROUP if audio else None
    variants = [_variant(out_dir, name, frame_rate, group) for name in names]
    duration = finalize_media_playlist(out_dir / names[0] / PLAYLIST).duration
    package = HlsPackage(variants=variants, audio=audio, duration=duration or info.duration)
    (out_dir / MASTER).write_text(master_playlist(package))
    return package


def _variant(out_dir: Path, name: str, frame_rate: float, group: str | None) -> VariantStream:
    directory = out_dir / name
    finalize_media_playlist(directory / PLAYLIST)
    peak, average = measure_playlist(directory / PLAYLIST)
    with av.open(str(directory / INIT)) as container:
        context = container.streams.video[0].codec_context
        width, height = context.width, context.height
    return VariantStream(
        playlist=f"{name}/{PLAYLIST}",
        width=width,
        height=height,
        frame_rate=frame_rate,
        codecs=stream_codecs(directory / INIT),
        bandwidth=peak,
        average_bandwidth=average,
        audio_group=group,
    )


def _audio_rendition(info: SourceInfo, index: int, out_dir: Path) -> AudioRendition:
    stream = info.audio[index]
    directory = out_dir / f"a{index}"
    finalize_media_playlist(directory / PLAYLIST)
    peak, average = measure_playlist(directory / PLAYLIST)
    with av.open(str(directory / INIT)) as container:
        channels = container.streams.audio[0].codec_context.channels
    name = stream.title or language_name(stream.language) or f"Audio {index + 1}"
    return AudioRendition(
        playlist=f"a{index}/{PLAYLIST}",
        group_id=AUDIO_GROUP,
        language=language_tag(stream.language),
        name=name,
        default=index == _default_audio(info),
        codecs=stream_codecs(directory / INIT),
        bandwidth=peak,
        average_bandwidth=average,
        channels=channels,
    )


def _unique_names(renditions: list[AudioRendition]) -> None:
    """NAME is unique within a group: a second "English" becomes "English (2)"."""
    seen: dict[str, int] = {}
    for rendition in renditions:
        count = seen.get(rendition.name, 0) + 1
        seen[rendition.name] = count
        if count > 1:
            rendition.name = f"{rendition.name} ({count})"


def _default_audio(info: SourceInfo) -> int:
    """The audio stream marked default in the source, else the first."""
    for stream in info.audio:
        if stream.default:
            return stream.index
    return 0
