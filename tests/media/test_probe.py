from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kino.media.errors import UnsupportedMedia
from kino.media.probe import probe
from tests.media.clips import AudioSpec, make_clip, make_still_image, truncate


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


def refusal(path: Path) -> str:
    with pytest.raises(UnsupportedMedia) as raised:
        probe(path)
    assert raised.value.status == 422
    assert raised.value.code == "unsupported_media"
    return raised.value.message


def test_describes_a_plain_clip(clip_dir: Path) -> None:
    info = probe(make_clip(clip_dir, seconds=2, width=320, height=180, fps=25))

    assert info.container == "mov"
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert (info.video_codec, info.pix_fmt, info.bit_depth) == ("h264", "yuv420p", 8)
    assert (info.width, info.height, info.rotation) == (320, 180, 0)
    assert (info.display_width, info.display_height) == (320, 180)
    assert info.frame_rate == pytest.approx(25.0)
    assert not info.variable_frame_rate
    assert not info.hdr
    [audio] = info.audio
    assert (audio.codec, audio.channels, audio.sample_rate) == ("aac", 2, 48000)
    assert info.bit_rate is not None
    assert info.bit_rate > 0


def test_source_info_is_json(clip_dir: Path) -> None:
    info = probe(make_clip(clip_dir))
    data = json.loads(json.dumps(info.to_json()))
    assert data["video_codec"] == "h264"
    assert data["audio"][0]["channels"] == 2


def test_rotated_clip_is_described_upright(clip_dir: Path) -> None:
    info = probe(make_clip(clip_dir, width=320, height=180, rotation=90))
    assert info.rotation == 90
    assert (info.width, info.height) == (320, 180)
    assert (info.display_width, info.display_height) == (180, 320)


def test_anamorphic_clip_is_described_with_square_pixels(clip_dir: Path) -> None:
    info = probe(make_clip(clip_dir, codec="mpeg4", width=720, height=576, sar=(16, 15)))
    assert (info.display_width, info.display_height) == (768, 576)


def test_variable_frame_rate_is_noticed(clip_dir: Path) -> None:
    assert probe(make_clip(clip_dir, vfr=True)).variable_frame_rate
    assert not probe(make_clip(clip_dir, fps=30000 / 1001)).variable_frame_rate


@pytest.mark.parametrize(("hdr", "codec"), [("pq", "hevc"), ("hlg", "h264")])
def test_ten_bit_hdr_is_noticed(clip_dir: Path, hdr: str, codec: str) -> None:
    info = probe(make_clip(clip_dir, codec=codec, pix_fmt="yuv420p10le", hdr=hdr))
    assert info.hdr
    assert info.color_transfer == hdr
    assert info.bit_depth == 10


def test_ten_bit_sdr_is_not_hdr(clip_dir: Path) -> None:
    info = probe(make_clip(clip_dir, pix_fmt="yuv420p10le"))
    assert (info.bit_depth, info.hdr) == (10, False)


def test_every_audio_stream_with_its_language_title_and_default(clip_dir: Path) -> None:
    streams = [
        AudioSpec(channels=6, language="eng", title="Original"),
        AudioSpec(channels=2, language="fra", default=True),
    ]
    info = probe(make_clip(clip_dir, audio_streams=streams, container="mkv"))
    first, second = info.audio
    assert (first.index, first.channels, first.language, first.title) == (0, 6, "eng", "Original")
    assert (second.index, second.channels, second.language, second.title) == (1, 2, "fra", None)
    assert (first.default, second.default) == (False, True)


def test_an_mp4_audio_title_is_read(clip_dir: Path) -> None:
    streams = [AudioSpec(language="eng", title="Director's commentary")]
    [audio] = probe(make_clip(clip_dir, audio_streams=streams)).audio
    assert (audio.language, audio.title) == ("eng", "Director's commentary")


def test_sound_starting_after_the_picture_is_noticed(clip_dir: Path) -> None:
    late = make_clip(clip_dir, seconds=3, container="mkv", audio_streams=[AudioSpec(delay=0.5)])
    assert probe(late).start_skew == pytest.approx(0.5, abs=0.05)
    assert probe(make_clip(clip_dir, seconds=3, container="mkv")).start_skew < 0.05
    assert probe(make_clip(clip_dir)).start_skew < 0.05


def test_a_recording_without_a_stated_duration_is_measured(clip_dir: Path) -> None:
    # As a browser's MediaRecorder writes WebM: no duration in the header, no index.
    recording = make_clip(
        clip_dir, seconds=3, codec="vp9", audio_codec="libopus", container="webm", streamed=True
    )
    info = probe(recording)
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert info.video_codec == "vp9"


def test_a_clip_without_sound_has_no_audio(clip_dir: Path) -> None:
    assert probe(make_clip(clip_dir, audio_streams=0)).audio == ()


def test_refuses_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert "empty" in refusal(empty)


def test_refuses_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "film.mp4"
    garbage.write_bytes(os.urandom(64 * 1024))
    assert "not a video" in refusal(garbage)


def test_refuses_a_text_file(tmp_path: Path) -> None:
    text = tmp_path / "film.mkv"
    text.write_text("These are not the frames you are looking for.\n" * 200)
    assert "not a video" in refusal(text)


def test_refuses_sound_without_video(clip_dir: Path) -> None:
    assert "only sound" in refusal(make_clip(clip_dir, video=False, container="m4a"))


def test_refuses_a_truncated_mp4(clip_dir: Path, tmp_path: Path) -> None:
    # ffmpeg writes the index (moov) last, so a cut file has none.
    whole = make_clip(clip_dir, seconds=6)
    assert "truncated" in refusal(truncate(whole, tmp_path / "cut.mp4", keep=0.6))


def test_refuses_a_truncated_mp4_whose_index_comes_first(clip_dir: Path, tmp_path: Path) -> None:
    whole = make_clip(clip_dir, seconds=6, faststart=True)
    assert "truncated" in refusal(truncate(whole, tmp_path / "cut.mp4", keep=0.6))


def test_refuses_a_truncated_matroska_file(clip_dir: Path, tmp_path: Path) -> None:
    whole = make_clip(clip_dir, seconds=6, container="mkv")
    assert "truncated" in refusal(truncate(whole, tmp_path / "cut.mkv", keep=0.6))


def test_accepts_the_whole_files_the_truncated_ones_came_from(clip_dir: Path) -> None:
    for container in ("mp4", "mkv"):
        assert probe(make_clip(clip_dir, seconds=6, container=container)).duration > 5.9
    assert probe(make_clip(clip_dir, seconds=6, faststart=True)).duration > 5.9


def test_refuses_a_video_whose_pictures_cannot_be_decoded(clip_dir: Path, tmp_path: Path) -> None:
    # The index (at the front) is intact; every byte of picture data is zero.
    data = bytearray(make_clip(clip_dir, seconds=3, faststart=True, audio_streams=0).read_bytes())
    media_data = data.find(b"mdat") + 4
    data[media_data:] = bytes(len(data) - media_data)
    zeroed = tmp_path / "zeroed.mp4"
    zeroed.write_bytes(bytes(data))
    assert "could not be decoded" in refusal(zeroed)


def test_refuses_a_still_image(clip_dir: Path) -> None:
    assert "still image" in refusal(make_still_image(clip_dir))


def test_refuses_a_video_of_a_single_frame(clip_dir: Path) -> None:
    one_frame = make_clip(clip_dir, seconds=0.04, fps=25, audio_streams=0)
    assert "too short" in refusal(one_frame)


@pytest.mark.parametrize(("width", "height"), [(7682, 64), (64, 7682), (4322, 4322)])
def test_refuses_more_than_8k_in_either_orientation(
    clip_dir: Path, width: int, height: int
) -> None:
    huge = make_clip(
        clip_dir, seconds=0.4, fps=5, width=width, height=height, codec="mjpeg", audio_streams=0
    )
    assert "larger than 8K" in refusal(huge)


def test_accepts_8k_wide(clip_dir: Path) -> None:
    eight_k = make_clip(
        clip_dir, seconds=0.4, fps=5, width=7680, height=1080, codec="mjpeg", audio_streams=0
    )
    assert probe(eight_k).display_width == 7680


def test_refuses_absurd_dimensions(clip_dir: Path) -> None:
    assert "too small" in refusal(make_clip(clip_dir, width=8, height=8, audio_streams=0))
    sliver = make_clip(clip_dir, width=1920, height=64, audio_streams=0)
    assert "too narrow" in refusal(sliver)
