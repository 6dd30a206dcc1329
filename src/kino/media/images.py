"""A film's still images: a poster, thumbnails at two widths, and a storyboard (sprite sheets
plus a WebVTT track with ``#xywh=`` fragments) for previews while seeking.

Everything comes out of one ffmpeg run that decodes the film once and splits it: one branch
takes a frame every ``interval`` seconds, shrinks it straight away and tiles it into sheets;
the other samples a window early in the film, drops near-black frames and lets ffmpeg's
``thumbnail`` filter pick the most representative one. When the film's keyframes are at least
as dense as the storyboard's tiles, only keyframes are decoded (``-skip_frame nokey``), which
is what keeps a two-hour film to seconds. ffmpeg turns rotated sources upright by itself; HDR
sources are tone-mapped to SDR (zscale + tonemap).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av

from kino.media.ffmpeg import ProgressCallback, run_ffmpeg

POSTER = "images/poster.jpg"
POSTER_MAX_WIDTH = 1920
THUMBNAIL_WIDTHS = (1280, 320)
STORYBOARD_VTT = "storyboard/storyboard.vtt"
TILE_WIDTH = 160
MAX_COLUMNS = 10
MAX_ROWS = 10
# A long film gets at most this many tiles (a tile every 24 s for two hours); a short clip
# gets one a second.
MAX_TILES = 300
# The poster is looked for between these fractions of the film (at least the first
# POSTER_WINDOW_MIN_SECONDS of a short clip), among this many evenly spread frames.
POSTER_WINDOW = (0.05, 1 / 3)
POSTER_WINDOW_MIN_SECONDS = 30.0
POSTER_CANDIDATES = 24
# A frame with more than this share of its pixels below the luma threshold is "black".
BLACK_PIXEL_PERCENT = 90
BLACK_LUMA_THRESHOLD = 32
# How much of the start of the film is read to measure the distance between keyframes.
KEYFRAME_PROBE_SECONDS = 120.0
# Decoding every frame of 60 s of 1080p H.264 takes about 4 s here, keyframes only 0.25 s.
# Sources longer than this get a tile interval no shorter than their keyframe interval (when
# that is at most MAX_KEYFRAME_INTERVAL), so that only keyframes are decoded.
FULL_DECODE_MAX_SECONDS = 120.0
MAX_KEYFRAME_INTERVAL = 10.0
# A tile may show the keyframe this much before its time (23.976 fps, 48-frame GOP: 2.002 s).
KEYFRAME_SLACK_SECONDS = 0.1
POSTER_QUALITY = "3"  # mjpeg -q:v, 2 (best) to 31
SPRITE_QUALITY = "5"


@dataclass(frozen=True)
class Storyboard:
    vtt: str
    sprites: list[str]
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    interval: float

    @property
    def tiles_per_sprite(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class ImageSet:
    """Paths relative to the ``out_dir`` given to ``make_images`` (and so to the asset)."""

    poster: str
    thumbnails: dict[int, str]
    storyboard: Storyboard

    def to_json(self) -> dict[str, Any]:
        return {
            "poster": self.poster,
            "thumbnails": {str(width): path for width, path in self.thumbnails.items()},
            "storyboard": asdict(self.storyboard),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageSet:
        thumbnails = {int(width): path for width, path in data["thumbnails"].items()}
        return cls(data["poster"], thumbnails, Storyboard(**data["storyboard"]))


async def make_images(
    ffmpeg: str,
    source: Path,
    *,
    duration: float,
    display_width: int,
    display_height: int,
    out_dir: Path,
    hdr: bool = False,
    cancel: asyncio.Event | None = None,
    on_progress: ProgressCallback | None = None,
    prefer_keyframes: bool = False,
) -> ImageSet:
    """Write the poster, thumbnails and storyboard of ``source`` under ``out_dir``.

    ``display_width`` by ``display_height`` is the picture as shown (after rotation and pixel
    aspect). ``prefer_keyframes``: space the tiles no closer than the keyframes whatever the
    length, so only keyframes are decoded — for Kino's own encodes, whose 2 s keyframes make
    a fine storyboard. Raises ``FfmpegError``, or ``FfmpegCancelled`` when ``cancel`` is set.
    """
    keyframe_gap = await asyncio.to_thread(longest_keyframe_gap, source)
    plan = _Plan.for_film(
        duration,
        display_width,
        display_height,
        hdr=hdr,
        keyframe_gap=keyframe_gap,
        prefer_keyframes=prefer_keyframes,
    )
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "storyboard").mkdir(parents=True, exist_ok=True)
    await run_ffmpeg(
        ffmpeg,
        plan.arguments(source),
        duration=duration,
        on_progress=on_progress,
        cancel=cancel,
        cwd=out_dir,
    )
    storyboard = plan.storyboard()
    (out_dir / storyboard.vtt).write_text(storyboard_vtt(storyboard, duration), encoding="utf-8")
    return ImageSet(POSTER, {width: _thumbnail(width) for width in THUMBNAIL_WIDTHS}, storyboard)


def _thumbnail(width: int) -> str:
    return f"images/thumb-{width}.jpg"


def _sprite(number: int) -> str:
    return f"sprite-{number}.jpg"


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Size:
    width: int
    height: int

    @classmethod
    def at_width(cls, width: int, display_width: int, display_height: int) -> _Size:
        """``width`` wide with the display's aspect, the height rounded to an even number."""
        return cls(width, max(2, round(width * display_height / display_width / 2) * 2))


@dataclass(frozen=True)
class _Plan:
    duration: float
    poster: _Size
    thumbnails: dict[int, _Size]
    tile: _Size
    interval: float
    tiles: int
    columns: int
    rows: int
    hdr: bool
    only_keyframes: bool

    @classmethod
    def for_film(
        cls,
        duration: float,
        display_width: int,
        display_height: int,
        *,
        hdr: bool,
        keyframe_gap: float | None,
        prefer_keyframes: bool = False,
    ) -> _Plan:
        if duration <= 0 or display_width <= 0 or display_height <= 0:
            raise ValueError(f"no images for {display_width}x{display_height}, {duration} s")
        poster_width = min(POSTER_MAX_WIDTH, display_width - display_width % 2)
        interval = storyboard_interval(duration, keyframe_gap, prefer_keyframes=prefer_keyframes)
        tiles = tile_count(duration, interval)
        columns = min(MAX_COLUMNS, tiles)
        return cls(
            duration=duration,
            poster=_Size.at_width(max(2, poster_width), display_width, display_height),
            thumbnails={
                width: _Size.at_width(width, display_width, display_height)
                for width in THUMBNAIL_WIDTHS
            },
            tile=_Size.at_width(TILE_WIDTH, display_width, display_height),
            interval=interval,
            tiles=tiles,
            columns=columns,
            rows=min(MAX_ROWS, math.ceil(tiles / columns)),
            hdr=hdr,
            only_keyframes=(
                keyframe_gap is not None and keyframe_gap <= interval + KEYFRAME_SLACK_SECONDS
            ),
        )

    @property
    def sprite_count(self) -> int:
        return math.ceil(self.tiles / (self.columns * self.rows))

    def storyboard(self) -> Storyboard:
        return Storyboard(
            vtt=STORYBOARD_VTT,
            sprites=[f"storyboard/{_sprite(n)}" for n in range(1, self.sprite_count + 1)],
            tile_width=self.tile.width,
            tile_height=self.tile.height,
            columns=self.columns,
            rows=self.rows,
            interval=self.interval,
        )

    def arguments(self, source: Path) -> list[str]:
        # Decoding is the cost: only keyframes when they are dense enough, otherwise at least
        # no frame that no other frame refers to (B-frames, mostly).
        skip = ["-skip_frame", "nokey" if self.only_keyframes else "noref"]
        outputs: list[str] = []
        for label, path in self._poster_outputs():
            outputs += ["-map", f"[{label}]", "-frames:v", "1", "-update", "1"]
            outputs += ["-q:v", POSTER_QUALITY, path]
        sprites = "storyboard/sprite-%d.jpg"  # numbered from 1, as _sprite numbers them
        outputs += ["-map", "[sprites]", "-fps_mode", "passthrough"]
        outputs += ["-q:v", SPRITE_QUALITY, sprites]
        return [*skip, "-i", str(source), "-filter_complex", self._graph(), *outputs]

    def _graph(self) -> str:
        start = self.duration * POSTER_WINDOW[0]
        end = min(self.duration, max(self.duration * POSTER_WINDOW[1], POSTER_WINDOW_MIN_SECONDS))
        candidates_per_second = POSTER_CANDIDATES / max(end - start, 0.001)
        storyboard = (
            # The frame rate filter first, so only the frames kept are scaled; clones of the
            # last frame make up for a video stream that ends a little early, so the sheets
            # hold exactly the tiles the WebVTT names.
            f"[board]fps=1/{self.interval:g}:round=up,"
            f"{self._to_sdr(self.tile)},"
            f"tpad=stop_mode=clone:stop=-1,trim=end_frame={self.tiles},"
            f"tile={self.columns}x{self.rows}[sprites]"
        )
        poster = (
            f"[poster]split=2[window][first];"
            f"[window]trim=start={start:.3f}:end={end:.3f},"
            f"fps={candidates_per_second:.6f},"
            f"{self._to_sdr(self.poster)},"
            f"blackframe=amount=0:threshold={BLACK_LUMA_THRESHOLD},"
            "metadata=mode=select:key=lavfi.blackframe.pblack"
            f":value={BLACK_PIXEL_PERCENT}:function=less,"
            f"thumbnail=n={POSTER_CANDIDATES}[best];"
            # When every candidate is black (or the video stream ends before the window), the
            # film's first frame will do: the best frame comes first, the fallback after it,
            # and only the first frame is kept.
            f"[first]trim=end_frame=1,{self._to_sdr(self.poster)}[fallback];"
            "[best][fallback]concat=n=2:v=1:a=0,trim=end_frame=1,"
            f"{self._poster_split()}"
        )
        # 0:V is the first video stream that is not cover art.
        return f"[0:V:0]split=2[board][poster];{storyboard};{poster}"

    def _poster_split(self) -> str:
        labels = [label for label, _ in self._poster_outputs()]
        chains = [
            f"[{label}_in]{self._scale(self.thumbnails[width])}[{label}]"
            for width, label in zip(THUMBNAIL_WIDTHS, labels[1:], strict=True)
        ]
        split = f"split={len(labels)}[{labels[0]}]" + "".join(f"[{x}_in]" for x in labels[1:])
        return ";".join([split, *chains])

    def _poster_outputs(self) -> list[tuple[str, str]]:
        thumbnails = [(f"thumb{width}", _thumbnail(width)) for width in THUMBNAIL_WIDTHS]
        return [("poster_out", POSTER), *thumbnails]

    def _to_sdr(self, size: _Size) -> str:
        """Scale to ``size``, tone-mapping HDR to BT.709 on the way (after the scale: fewer
        pixels to map), and end in 8-bit 4:2:0 full range, which JPEG wants."""
        if not self.hdr:
            return f"{self._scale(size)},format=yuv420p"
        return (
            f"zscale=w={size.width}:h={size.height}:filter=bicubic:t=linear:npl=100,"
            "format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
            "zscale=t=bt709:m=bt709:r=full,format=yuv420p,setsar=1"
        )

    @staticmethod
    def _scale(size: _Size) -> str:
        return f"scale={size.width}:{size.height}:flags=bicubic:out_range=full,setsar=1"


def storyboard_interval(
    duration: float, keyframe_gap: float | None = None, *, prefer_keyframes: bool = False
) -> float:
    """Seconds between storyboard tiles: one a second for a clip, at most MAX_TILES tiles for
    a long film. Past FULL_DECODE_MAX_SECONDS a tile per keyframe at most, so that only
    keyframes need decoding, when they come at least every MAX_KEYFRAME_INTERVAL seconds."""
    interval = max(1, math.ceil(duration / MAX_TILES))
    if (
        keyframe_gap is not None
        and (duration > FULL_DECODE_MAX_SECONDS or prefer_keyframes)
        and keyframe_gap <= MAX_KEYFRAME_INTERVAL
    ):
        interval = max(interval, math.ceil(keyframe_gap - KEYFRAME_SLACK_SECONDS))
    return float(interval)


def tile_count(duration: float, interval: float) -> int:
    """Tiles covering the film; a sliver of less than a quarter interval at the end joins the
    last tile instead of getting its own."""
    return max(1, math.ceil(duration / interval - 0.25))


def storyboard_vtt(storyboard: Storyboard, duration: float) -> str:
    """Cues from 0 to ``duration`` back to back, each showing its tile: the last cue runs to
    the end of the film."""
    tiles = tile_count(duration, storyboard.interval)
    end_ms = round(duration * 1000)
    cues = ["WEBVTT"]
    for index in range(tiles):
        start = round(index * storyboard.interval * 1000)
        end = end_ms if index == tiles - 1 else round((index + 1) * storyboard.interval * 1000)
        sheet, position = divmod(index, storyboard.tiles_per_sprite)
        row, column = divmod(position, storyboard.columns)
        x, y = column * storyboard.tile_width, row * storyboard.tile_height
        fragment = f"xywh={x},{y},{storyboard.tile_width},{storyboard.tile_height}"
        cue = f"{_timestamp(start)} --> {_timestamp(max(end, start + 1))}"
        cues.append(f"{cue}\n{_sprite(sheet + 1)}#{fragment}")
    return "\n\n".join(cues) + "\n"


def _timestamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def longest_keyframe_gap(source: Path) -> float | None:
    """The longest distance in seconds between keyframes over the start of the first video
    stream, read from packet flags without decoding; None when it cannot be told."""
    try:
        with av.open(str(source)) as container:
            stream = next(
                s
                for s in container.streams.video
                if not s.disposition & av.stream.Disposition.attached_pic
            )
            keyframes: list[float] = []
            last = 0.0
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                last = float(packet.pts * packet.time_base)
                if packet.is_keyframe:
                    keyframes.append(last)
                if keyframes and last - keyframes[0] > KEYFRAME_PROBE_SECONDS:
                    break
    except (av.FFmpegError, StopIteration):
        return None
    if len(keyframes) < 2:
        return None
    marks = [*keyframes, last]
    return max(b - a for a, b in itertools.pairwise(marks))
