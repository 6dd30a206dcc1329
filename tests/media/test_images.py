from __future__ import annotations

import asyncio
import itertools
import json
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from kino.media import images
from kino.media.ffmpeg import FfmpegCancelled, FfmpegError
from kino.media.images import (
    ImageSet,
    Storyboard,
    longest_keyframe_gap,
    make_images,
    storyboard_interval,
    tile_count,
)
from tests.media.clips import ffmpeg_exe, make_clip

SIZE = (320, 180)


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def black_then_bars(clip_dir: Path) -> Path:
    """2 s of black, then 4 s of colour bars (testsrc2)."""
    path = clip_dir / "black-then-bars.mp4"
    size = f"{SIZE[0]}x{SIZE[1]}"
    graph = (
        f"color=black:size={size}:rate=25:duration=2[black];"
        f"testsrc2=size={size}:rate=25:duration=4[bars];"
        "[black][bars]concat=n=2:v=1:a=0[out0]"
    )
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", graph, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(path)], check=True, capture_output=True)
    return path


async def images_of(
    source: Path,
    out_dir: Path,
    *,
    duration: float,
    size: tuple[int, int] = SIZE,
    hdr: bool = False,
) -> ImageSet:
    return await make_images(
        ffmpeg_exe(),
        source,
        duration=duration,
        display_width=size[0],
        display_height=size[1],
        out_dir=out_dir,
        hdr=hdr,
    )


# ---------------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class Picture:
    """A JPEG's size and luma plane, read with PyAV."""

    width: int
    height: int
    pixel_format: str
    luma: list[bytes]  # one bytes object per row

    @classmethod
    def open(cls, path: Path) -> Picture:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
        plane = bytes(frame.planes[0])
        stride = frame.planes[0].line_size
        rows = [plane[y * stride : y * stride + frame.width] for y in range(frame.height)]
        return cls(frame.width, frame.height, frame.format.name, rows)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def mean_luma(
        self, x: int = 0, y: int = 0, w: int | None = None, h: int | None = None
    ) -> float:
        w = self.width - x if w is None else w
        h = self.height - y if h is None else h
        total = sum(sum(row[x : x + w]) for row in self.luma[y : y + h])
        return total / (w * h)

    def spreads(self) -> tuple[float, float]:
        """How much the mean luma differs from column to column, and from row to row: upright
        bars differ from column to column, horizontal bands from row to row."""
        columns = [statistics.mean(row[x] for row in self.luma) for x in range(self.width)]
        rows = [statistics.mean(row) for row in self.luma]
        return statistics.pstdev(columns), statistics.pstdev(rows)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    sprite: str
    x: int
    y: int
    w: int
    h: int


CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n"
    r"(sprite-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$"
)


def read_cues(vtt: str) -> list[Cue]:
    header, *blocks = vtt.strip("\n").split("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in blocks:
        match = CUE.match(block)
        assert match, block
        g = match.groups()
        start = int(g[0]) * 3600 + int(g[1]) * 60 + int(g[2]) + int(g[3]) / 1000
        end = int(g[4]) * 3600 + int(g[5]) * 60 + int(g[6]) + int(g[7]) / 1000
        cues.append(Cue(start, end, g[8], *(int(v) for v in g[9:13])))
    return cues


def check_storyboard(out_dir: Path, storyboard: Storyboard, duration: float) -> list[Cue]:
    """The storyboard's cues run back to back from 0 to ``duration`` and every tile they name
    lies inside a sprite sheet that exists; returns the cues."""
    cues = read_cues((out_dir / storyboard.vtt).read_text(encoding="utf-8"))
    assert cues[0].start == 0
    for before, after in itertools.pairwise(cues):
        assert after.start == before.end
    assert cues[-1].end == pytest.approx(duration, abs=0.001)
    assert all(cue.end > cue.start for cue in cues)
    sheets = {Path(path).name: Picture.open(out_dir / path) for path in storyboard.sprites}
    assert {cue.sprite for cue in cues} == set(sheets)
    for cue in cues:
        sheet = sheets[cue.sprite]
        assert (cue.w, cue.h) == (storyboard.tile_width, storyboard.tile_height)
        assert cue.x + cue.w <= sheet.width
        assert cue.y + cue.h <= sheet.height
        assert (cue.x % cue.w, cue.y % cue.h) == (0, 0)
    for sheet in sheets.values():
        assert sheet.size == (
            storyboard.columns * storyboard.tile_width,
            storyboard.rows * storyboard.tile_height,
        )
    return cues


# ---------------------------------------------------------------------------- tests


async def test_poster_and_thumbnails_come_in_their_sizes(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)

    made = await images_of(clip, tmp_path, duration=3)

    assert made.poster == "images/poster.jpg"
    assert made.thumbnails == {1280: "images/thumb-1280.jpg", 320: "images/thumb-320.jpg"}
    assert Picture.open(tmp_path / made.poster).size == (320, 180)
    assert Picture.open(tmp_path / made.thumbnails[1280]).size == (1280, 720)
    assert Picture.open(tmp_path / made.thumbnails[320]).size == (320, 180)
    assert Picture.open(tmp_path / made.poster).pixel_format.startswith("yuvj420p")


async def test_the_poster_is_at_most_1920_wide(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)

    made = await images_of(clip, tmp_path, duration=3, size=(3840, 2160))

    assert Picture.open(tmp_path / made.poster).size == (1920, 1080)


async def test_anamorphic_pictures_keep_their_shape_with_even_heights(
    clip_dir: Path, tmp_path: Path
) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180, sar=(4, 3))

    made = await images_of(clip, tmp_path, duration=3, size=(427, 180))

    assert Picture.open(tmp_path / made.poster).size == (426, 180)
    assert Picture.open(tmp_path / made.thumbnails[1280]).size == (1280, 540)
    assert Picture.open(tmp_path / made.thumbnails[320]).size == (320, 134)
    assert (made.storyboard.tile_width, made.storyboard.tile_height) == (160, 68)


async def test_the_poster_is_not_the_black_opening(black_then_bars: Path, tmp_path: Path) -> None:
    made = await images_of(black_then_bars, tmp_path, duration=6)

    for path in (made.poster, *made.thumbnails.values()):
        assert Picture.open(tmp_path / path).mean_luma() > 60


async def test_a_black_film_still_gets_a_poster(clip_dir: Path, tmp_path: Path) -> None:
    black = clip_dir / "black.mp4"
    command = [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", "color=black:size=320x180:rate=25:duration=3", "-c:v", "libx264"]
    subprocess.run([*command, str(black)], check=True, capture_output=True)

    made = await images_of(black, tmp_path, duration=3)

    assert Picture.open(tmp_path / made.poster).mean_luma() < 20


async def test_the_storyboard_covers_the_film_a_tile_a_second(
    black_then_bars: Path, tmp_path: Path
) -> None:
    made = await images_of(black_then_bars, tmp_path, duration=6)

    board = made.storyboard
    assert board.vtt == "storyboard/storyboard.vtt"
    assert board.sprites == ["storyboard/sprite-1.jpg"]
    assert (board.tile_width, board.tile_height, board.interval) == (160, 90, 1.0)
    cues = check_storyboard(tmp_path, board, 6)
    assert [cue.start for cue in cues] == [0, 1, 2, 3, 4, 5]


async def test_each_tile_shows_its_moment(black_then_bars: Path, tmp_path: Path) -> None:
    made = await images_of(black_then_bars, tmp_path, duration=6)

    sheet = Picture.open(tmp_path / made.storyboard.sprites[0])
    cues = check_storyboard(tmp_path, made.storyboard, 6)
    brightness = [sheet.mean_luma(cue.x, cue.y, cue.w, cue.h) for cue in cues]
    assert [level > 60 for level in brightness] == [cue.start >= 2 for cue in cues]


async def test_many_tiles_fill_several_sheets_up_to_the_end(
    black_then_bars: Path, tmp_path: Path
) -> None:
    # The video stream stops at 6 s though the film lasts 150 s (a longer audio track): the
    # last picture stands in for the rest, so every tile the WebVTT names exists.
    made = await images_of(black_then_bars, tmp_path, duration=150.2)

    board = made.storyboard
    assert (board.columns, board.rows, board.interval) == (10, 10, 1.0)
    assert board.sprites == ["storyboard/sprite-1.jpg", "storyboard/sprite-2.jpg"]
    cues = check_storyboard(tmp_path, board, 150.2)
    assert len(cues) == 150
    assert (cues[-1].sprite, cues[-1].x, cues[-1].y) == ("sprite-2.jpg", 9 * 160, 4 * 90)
    assert Picture.open(tmp_path / board.sprites[1]).mean_luma(0, 0, 160 * 10, 90 * 5) > 60


async def test_a_rotated_source_gives_upright_pictures(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180, rotation=90)

    made = await images_of(clip, tmp_path, duration=3, size=(180, 320))

    poster = Picture.open(tmp_path / made.poster)
    assert poster.size == (180, 320)
    # testsrc2's colour bars stand upright in the picture as filmed; turned a quarter they
    # lie as horizontal bands.
    across_columns, across_rows = poster.spreads()
    assert across_rows > 3 * across_columns
    assert Picture.open(tmp_path / made.thumbnails[320]).size == (320, 568)
    assert (made.storyboard.tile_width, made.storyboard.tile_height) == (160, 284)
    check_storyboard(tmp_path, made.storyboard, 3)


async def test_an_unrotated_source_keeps_its_upright_bars(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)

    made = await images_of(clip, tmp_path, duration=3)

    across_columns, across_rows = Picture.open(tmp_path / made.poster).spreads()
    assert across_columns > 3 * across_rows


@pytest.mark.parametrize("transfer", ["pq", "hlg"])
async def test_an_hdr_10_bit_source_is_tone_mapped_to_sdr_jpegs(
    clip_dir: Path, tmp_path: Path, transfer: str
) -> None:
    clip = make_clip(
        clip_dir,
        seconds=3,
        width=320,
        height=180,
        codec="hevc",
        pix_fmt="yuv420p10le",
        hdr=transfer,
    )

    made = await images_of(clip, tmp_path, duration=3, hdr=True)

    poster = Picture.open(tmp_path / made.poster)
    assert (poster.size, poster.pixel_format) == ((320, 180), "yuvj420p")
    assert 40 < poster.mean_luma() < 220
    assert Picture.open(tmp_path / made.thumbnails[1280]).size == (1280, 720)
    check_storyboard(tmp_path, made.storyboard, 3)


async def test_a_10_bit_sdr_source_gives_8_bit_jpegs(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180, pix_fmt="yuv420p10le")

    made = await images_of(clip, tmp_path, duration=3)

    poster = Picture.open(tmp_path / made.poster)
    assert (poster.size, poster.pixel_format) == ((320, 180), "yuvj420p")
    assert poster.mean_luma() > 60


async def test_a_long_film_decodes_only_keyframes_a_tile_per_keyframe(
    clip_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_clip(clip_dir, seconds=8, width=320, height=180, gop_seconds=2)
    monkeypatch.setattr(images, "FULL_DECODE_MAX_SECONDS", 0.0)  # treat the clip as a film

    made = await images_of(clip, tmp_path, duration=8)

    assert longest_keyframe_gap(clip) == pytest.approx(2.0, abs=0.05)
    assert made.storyboard.interval == 2.0
    cues = check_storyboard(tmp_path, made.storyboard, 8)
    assert [cue.start for cue in cues] == [0, 2, 4, 6]
    assert Picture.open(tmp_path / made.poster).mean_luma() > 60


@pytest.mark.parametrize(
    ("duration", "keyframe_gap", "interval", "tiles"),
    [
        (0.4, None, 1.0, 1),
        (6.0, 2.0, 1.0, 6),  # a clip: one tile a second, every frame decoded
        (60.1, None, 1.0, 60),  # a sliver at the end joins the last tile
        (600.0, 2.002, 2.0, 300),  # tiles on keyframes at 23.976 fps, 48-frame GOP
        (600.0, 4.0, 4.0, 150),
        (600.0, 60.0, 2.0, 300),  # keyframes too sparse to rely on
        (7200.0, 2.0, 24.0, 300),  # a two-hour film: at most 300 tiles
        (10_800.0, 2.0, 36.0, 300),
    ],
)
def test_the_tile_interval_suits_the_length(
    duration: float, keyframe_gap: float | None, interval: float, tiles: int
) -> None:
    assert storyboard_interval(duration, keyframe_gap) == interval
    assert tile_count(duration, interval) == tiles


async def test_making_images_can_be_cancelled(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)
    cancel = asyncio.Event()
    cancel.set()

    with pytest.raises(FfmpegCancelled):
        await make_images(
            ffmpeg_exe(),
            clip,
            duration=3,
            display_width=320,
            display_height=180,
            out_dir=tmp_path,
            cancel=cancel,
        )
    assert not (tmp_path / "storyboard" / "storyboard.vtt").exists()


async def test_progress_is_reported_to_the_end(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)
    reports: list[float] = []

    async def report(fraction: float, seconds_left: float | None) -> None:
        reports.append(fraction)

    await make_images(
        ffmpeg_exe(),
        clip,
        duration=3,
        display_width=320,
        display_height=180,
        out_dir=tmp_path,
        on_progress=report,
    )

    assert reports[-1] == 1.0
    assert reports == sorted(reports)


async def test_the_image_set_round_trips_through_json(clip_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(clip_dir, seconds=3, width=320, height=180)
    made = await images_of(clip, tmp_path, duration=3)

    stored = json.loads(json.dumps(made.to_json()))

    assert stored["thumbnails"] == {"1280": "images/thumb-1280.jpg", "320": "images/thumb-320.jpg"}
    assert stored["storyboard"]["vtt"] == "storyboard/storyboard.vtt"
    assert ImageSet.from_json(stored) == made


async def test_a_missing_source_is_an_ffmpeg_error(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError):
        await images_of(tmp_path / "nothing.mp4", tmp_path / "out", duration=3)


@pytest.mark.parametrize(
    ("duration", "keyframe_gap", "interval"),
    [
        (60, 2.0, 2.0),  # Kino's own encode: a tile per 2 s keyframe, even for a short film
        (60, None, 1.0),  # keyframes unknown: a tile a second
        (60, 30.0, 1.0),  # keyframes too sparse for a storyboard: decode every frame
        (7200, 2.0, 24.0),  # a long film keeps its MAX_TILES spacing
    ],
)
def test_preferring_keyframes_spaces_tiles_by_the_keyframes(
    duration: float, keyframe_gap: float | None, interval: float
) -> None:
    assert storyboard_interval(duration, keyframe_gap, prefer_keyframes=True) == interval
