"""Probing a source file with PyAV: what it holds, and whether Kino can play it at all.

``probe`` is synchronous and reads the file (it decodes the first picture and looks at the
last seconds), so callers run it in a thread. Whatever Kino cannot turn into a film is refused
with ``UnsupportedMedia`` and a message a manager understands.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream
import av.video.stream
from av.error import FFmpegError

from kino.media.errors import UnsupportedMedia

MAX_LONG_SIDE = 7680  # 8K UHD, in either orientation
MAX_SHORT_SIDE = 4320
MIN_SIDE = 16
MAX_ASPECT_RATIO = 8.0  # wider than 8:1 (or taller than 1:8) is not a film
MIN_DURATION_SECONDS = 0.1
# The video may end a little before the container says (audio runs on); more than this and
# the file was cut short.
TRUNCATION_TOLERANCE_SECONDS = 1.0
TRUNCATION_TOLERANCE_FRACTION = 0.02
# How far from the end the truncation check starts reading.
TAIL_SECONDS = 5.0
# Packets read from the start to find the first picture and judge the frame rate.
FIRST_PICTURE_PACKETS = 400
RATE_SAMPLE_PACKETS = 120
VFR_TOLERANCE = 0.03
HDR_TRANSFERS = {16: "pq", 18: "hlg"}  # AVColorTransferCharacteristic: SMPTE 2084, ARIB B67
STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


@dataclass(frozen=True)
class AudioStream:
    """An audio stream; ``index`` counts audio streams only (ffmpeg's ``0:a:{index}``)."""

    index: int
    codec: str
    channels: int
    sample_rate: int
    language: str | None
    title: str | None
    default: bool
    profile: str | None = None


@dataclass(frozen=True)
class SourceInfo:
    """What a source holds. ``width``/``height`` are the coded picture; ``display_width`` and
    ``display_height`` are the picture as shown: upright (``rotation``, counter-clockwise
    degrees, applied) with square pixels."""

    container: str
    duration: float
    video_codec: str
    profile: str | None
    pix_fmt: str
    bit_depth: int
    width: int
    height: int
    rotation: int
    display_width: int
    display_height: int
    frame_rate: float
    variable_frame_rate: bool
    hdr: bool
    audio: tuple[AudioStream, ...]
    bit_rate: int | None
    color_transfer: str | None = None  # "pq" or "hlg" when ``hdr``
    video_stream: int = 0  # which video stream is the film (ffmpeg's ``0:v:{video_stream}``)
    # The largest gap between the picture's start and an audio stream's (seconds).
    start_skew: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, for ``MediaAsset.source``."""
        data = dataclasses.asdict(self)
        data["audio"] = [dataclasses.asdict(stream) for stream in self.audio]
        return data

    @property
    def chroma_420(self) -> bool:
        return self.pix_fmt in ("yuv420p", "yuvj420p", "nv12")


def probe(path: Path) -> SourceInfo:
    """Read ``path`` and describe it; raise ``UnsupportedMedia`` for what cannot be played."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnsupportedMedia("The file could not be read.") from error
    if size == 0:
        raise UnsupportedMedia("The file is empty.")
    try:
        container = av.open(str(path), mode="r")
    except (FFmpegError, UnicodeDecodeError, ValueError) as error:
        if _looks_like_video_container(path):
            raise UnsupportedMedia(
                "The file is truncated or damaged: it starts like a video but cannot be read. "
                "Upload the complete file."
            ) from error
        raise UnsupportedMedia(
            "This file is not a video Kino can read: its format is not recognised."
        ) from error
    with container:
        return _describe(container)


def _looks_like_video_container(path: Path) -> bool:
    """An MP4/MOV (``ftyp`` box) or Matroska/WebM (EBML) header: a file of a known format that
    failed to open is incomplete, typically an MP4 cut before its index (``moov``) at the end."""
    with path.open("rb") as handle:
        head = handle.read(12)
    return head[4:8] == b"ftyp" or head.startswith(EBML_MAGIC)


def _describe(container: av.container.InputContainer) -> SourceInfo:
    video = _video_stream(container)
    context = video.codec_context
    width, height = context.width, context.height
    _check_dimensions(width, height)
    duration, stated = _duration(container, video)
    frame = _first_picture(container, video)
    pix_fmt = frame.format.name
    rotation = _normalize_rotation(frame.rotation)
    display_width, display_height = _display_size(width, height, video.sample_aspect_ratio)
    if rotation in (90, 270):
        display_width, display_height = display_height, display_width
    _check_aspect(display_width, display_height)
    frame_rate, variable = _frame_rate(container, video)
    if stated:
        _check_complete(container, video, duration)
    transfer = HDR_TRANSFERS.get(frame.color_trc) or HDR_TRANSFERS.get(context.color_trc)
    return SourceInfo(
        container=container.format.name.split(",")[0],
        duration=duration,
        video_codec=context.name,
        profile=video.profile,
        pix_fmt=pix_fmt,
        bit_depth=_bit_depth(frame),
        width=width,
        height=height,
        rotation=rotation,
        display_width=display_width,
        display_height=display_height,
        frame_rate=frame_rate,
        variable_frame_rate=variable,
        hdr=transfer is not None,
        audio=_audio_streams(container),
        bit_rate=container.bit_rate or None,
        color_transfer=transfer,
        video_stream=list(container.streams.video).index(video),
        start_skew=_start_skew(container, video),
    )


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    name = container.format.name
    pictures = [
        stream
        for stream in container.streams.video
        if not stream.disposition & av.stream.Disposition.attached_pic
    ]
    if not pictures:
        if container.streams.audio:
            raise UnsupportedMedia("The file has no video, only sound: upload a video file.")
        raise UnsupportedMedia("The file has no video stream.")
    if any(part.endswith(STILL_IMAGE_FORMATS) for part in name.split(",")):
        raise UnsupportedMedia("The file is a still image, not a video.")
    return pictures[0]


def _check_dimensions(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UnsupportedMedia("The video's picture size is unknown; the file may be damaged.")
    if max(width, height) > MAX_LONG_SIDE or min(width, height) > MAX_SHORT_SIDE:
        raise UnsupportedMedia(
            f"The video is {width}x{height}, larger than 8K ({MAX_LONG_SIDE}x{MAX_SHORT_SIDE}); "
            "scale it down to 8K or less."
        )
    if min(width, height) < MIN_SIDE:
        raise UnsupportedMedia(
            f"The video is {width}x{height}, too small to be shown (at least {MIN_SIDE} pixels "
            "each way)."
        )


def _check_aspect(display_width: int, display_height: int) -> None:
    ratio = max(display_width, display_height) / min(display_width, display_height)
    if ratio > MAX_ASPECT_RATIO:
        raise UnsupportedMedia(
            f"The video's picture is {display_width}x{display_height}, too narrow to be a film."
        )


def _duration(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> tuple[float, bool]:
    """The duration in seconds, and whether the file's header stated it. A file without one
    (a browser's MediaRecorder WebM, a stream dump) is read to its end to find it."""
    seconds: float | None = None
    if container.duration is not None and container.duration > 0:
        seconds = container.duration / av.time_base
    elif video.duration is not None and video.time_base is not None and video.duration > 0:
        seconds = float(video.duration * video.time_base)
    stated = seconds is not None and math.isfinite(seconds) and seconds > 0
    if not stated:
        end = _last_video_time(container, video, 0.0)
        seconds = end - _start_seconds(video) if end is not None else None
        container.seek(0, backward=True, any_frame=False)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise UnsupportedMedia(
            "The video's duration is zero or unknown; the file may be damaged or still being "
            "recorded."
        )
    if seconds < MIN_DURATION_SECONDS:
        raise UnsupportedMedia("The video is too short to play (under a tenth of a second).")
    return seconds, stated


def _first_picture(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> av.VideoFrame:
    try:
        for count, packet in enumerate(container.demux(video)):
            for frame in packet.decode():
                assert isinstance(frame, av.VideoFrame)
                return frame
            if count >= FIRST_PICTURE_PACKETS:
                break
    except FFmpegError as error:
        raise UnsupportedMedia(
            "The video could not be decoded: the file is damaged or its codec is not supported."
        ) from error
    raise UnsupportedMedia(
        "No picture could be decoded from the video: the file is damaged or empty."
    )


def _normalize_rotation(degrees: float | int | None) -> int:
    if not degrees or not math.isfinite(degrees):
        return 0
    return (round(degrees / 90) * 90) % 360


def _display_size(width: int, height: int, sample_aspect: Fraction | None) -> tuple[int, int]:
    if not sample_aspect or sample_aspect <= 0 or sample_aspect == 1:
        return width, height
    if sample_aspect > 1:
        return round(width * sample_aspect), height
    return width, round(height / sample_aspect)


def _bit_depth(frame: av.VideoFrame) -> int:
    components = frame.format.components
    return max((component.bits for component in components), default=8)


def _frame_rate(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> tuple[float, bool]:
    """The average frame rate, and whether frames come at varying intervals (judged from the
    container's average against its base rate, and from the first packets' timestamps)."""
    average = video.average_rate
    guessed = video.guessed_rate or video.base_rate
    rate = average or guessed
    if not rate or rate <= 0:
        rate = Fraction(25)
    variable = bool(average and guessed and abs(average / guessed - 1) > VFR_TOLERANCE)
    return float(rate), variable or _irregular_timestamps(container, video)


def _irregular_timestamps(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> bool:
    container.seek(0, any_frame=False, backward=True)
    stamps: list[int] = []
    try:
        for packet in container.demux(video):
            if packet.pts is not None:
                stamps.append(packet.pts)
            if len(stamps) >= RATE_SAMPLE_PACKETS:
                break
    except FFmpegError:
        return False
    stamps.sort()
    steps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    steps = [step for step in steps if step > 0]
    if len(steps) < 2:
        return False
    return max(steps) > min(steps) * (1 + VFR_TOLERANCE) + 1


def _check_complete(
    container: av.container.InputContainer, video: av.video.stream.VideoStream, duration: float
) -> None:
    """Read the last seconds: a file cut short (an interrupted copy) ends before its header says."""
    expected = duration
    if video.duration and video.time_base and video.duration > 0:
        expected = float(video.duration * video.time_base)
    start = float(video.start_time * video.time_base) if video.start_time and video.time_base else 0
    end = _last_video_time(container, video, start + max(0.0, expected - TAIL_SECONDS))
    tolerance = TRUNCATION_TOLERANCE_SECONDS + TRUNCATION_TOLERANCE_FRACTION * expected
    if end is None or end - start < expected - tolerance:
        raise UnsupportedMedia(
            "The file is truncated: it ends before the video does. Upload the complete file."
        )


def _last_video_time(
    container: av.container.InputContainer, video: av.video.stream.VideoStream, seek_to: float
) -> float | None:
    assert video.time_base is not None
    try:
        container.seek(int(seek_to / video.time_base), stream=video, backward=True)
    except FFmpegError:
        container.seek(0, backward=True)
    last: float | None = None
    try:
        for packet in container.demux(video):
            if packet.pts is None or packet.size == 0:
                continue
            end = float((packet.pts + (packet.duration or 0)) * video.time_base)
            last = end if last is None else max(last, end)
    except FFmpegError:
        pass  # a damaged tail ends where reading stopped
    return last


def _start_seconds(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _start_skew(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> float:
    picture = _start_seconds(video)
    return max((abs(_start_seconds(s) - picture) for s in container.streams.audio), default=0.0)


def _audio_streams(container: av.container.InputContainer) -> tuple[AudioStream, ...]:
    streams = []
    for index, stream in enumerate(container.streams.audio):
        context = stream.codec_context
        language = stream.language if stream.language not in (None, "", "und") else None
        streams.append(
            AudioStream(
                index=index,
                codec=context.name,
                channels=context.channels,
                sample_rate=context.sample_rate,
                language=language,
                # MP4 keeps a stream's title in its "name" box.
                title=stream.metadata.get("title") or stream.metadata.get("name") or None,
                default=bool(stream.disposition & av.stream.Disposition.default),
                profile=stream.profile,
            )
        )
    return tuple(streams)
