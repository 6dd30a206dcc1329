"""Media playlists corrected and measured, and the master playlist Kino writes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kino.media.hls import (
    AudioRendition,
    HlsPackage,
    SubtitleRendition,
    VariantStream,
    finalize_media_playlist,
    language_name,
    language_tag,
    master_playlist,
    measure_playlist,
    parse_attributes,
    parse_media_playlist,
    stream_codecs,
)
from kino.media.ladder import remux_to_hls
from kino.media.probe import probe
from tests.media.clips import ffmpeg_exe, make_clip


def write_playlist(directory: Path, segments: list[tuple[float, int]], target: int = 6) -> Path:
    """A media playlist of segments (duration, size in bytes) with files of those sizes."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        '#EXT-X-MAP:URI="init.mp4"',
    ]
    (directory / "init.mp4").write_bytes(b"\0" * 1000)
    for number, (duration, size) in enumerate(segments):
        name = f"seg-{number:05d}.m4s"
        (directory / name).write_bytes(b"\0" * size)
        lines += [f"#EXTINF:{duration:.6f},", name]
    lines.append("#EXT-X-ENDLIST")
    path = directory / "index.m3u8"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_average_is_every_segment_byte_over_the_duration(tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path, [(6.0, 600_000), (6.0, 300_000), (3.0, 150_000)])
    _, average = measure_playlist(playlist)
    assert average == 1_050_000 * 8 // 15


def test_peak_is_the_busiest_segment(tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path, [(6.0, 300_000), (6.0, 900_000), (6.0, 300_000)])
    peak, _ = measure_playlist(playlist)
    assert peak == 900_000 * 8 // 6


def test_a_short_last_segment_is_not_a_peak_on_its_own(tmp_path: Path) -> None:
    # 1 s of 200 kB is 1.6 Mbit/s alone, but it is shorter than half the target duration, so
    # it counts only together with the segment before it.
    playlist = write_playlist(tmp_path, [(6.0, 450_000), (6.0, 450_000), (1.0, 200_000)])
    peak, _ = measure_playlist(playlist)
    assert peak == math.ceil((450_000 + 200_000) * 8 / 7)


def test_a_playlist_shorter_than_half_a_target_duration(tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path, [(2.0, 100_000)])
    assert measure_playlist(playlist) == (400_000, 400_000)


def test_finalizing_makes_the_target_duration_honest(tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path, [(6.006, 1000), (6.006, 1000), (2.0, 100)], target=6)
    finalized = finalize_media_playlist(playlist)
    assert finalized.target_duration == 7
    text = playlist.read_text()
    assert "#EXT-X-TARGETDURATION:7" in text
    assert text.count("#EXT-X-INDEPENDENT-SEGMENTS") == 1
    assert parse_media_playlist(text).target_duration == 7
    finalize_media_playlist(playlist)  # twice changes nothing
    assert playlist.read_text() == text


def test_whole_second_segments_keep_their_target_duration(tmp_path: Path) -> None:
    playlist = write_playlist(tmp_path, [(6.0, 1000), (6.0, 1000), (2.0, 100)], target=6)
    assert finalize_media_playlist(playlist).target_duration == 6


def test_parsing_refuses_what_is_not_a_playlist() -> None:
    with pytest.raises(ValueError, match="M3U8"):
        parse_media_playlist("<html></html>")
    with pytest.raises(ValueError, match="EXTINF"):
        parse_media_playlist("#EXTM3U\nseg-00000.m4s\n")


def test_attributes_keep_commas_inside_quotes() -> None:
    line = '#EXT-X-STREAM-INF:BANDWIDTH=10,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1x1'
    assert parse_attributes(line) == {
        "BANDWIDTH": "10",
        "CODECS": "avc1.64001f,mp4a.40.2",
        "RESOLUTION": "1x1",
    }


def test_language_tags_and_names() -> None:
    assert (language_tag("eng"), language_name("eng")) == ("en", "English")
    assert (language_tag("fre"), language_name("fra")) == ("fr", "French")
    assert language_tag("pt_BR") == "pt-BR"
    assert language_tag("und") is None
    assert language_tag("") is None
    assert language_tag("xyz") is None
    assert language_name(None) is None


# --------------------------------------------------------------------------- the master


def variant(height: int, bandwidth: int, *, audio_group: str | None = "audio") -> VariantStream:
    return VariantStream(
        playlist=f"{height}p/index.m3u8",
        width=height * 16 // 9 // 2 * 2,
        height=height,
        frame_rate=24000 / 1001,
        codecs="avc1.64001f",
        bandwidth=bandwidth,
        average_bandwidth=bandwidth * 9 // 10,
        audio_group=audio_group,
    )


def audio(
    index: int, language: str | None, name: str, peak: int, *, default: bool
) -> AudioRendition:
    return AudioRendition(
        playlist=f"a{index}/index.m3u8",
        group_id="audio",
        language=language,
        name=name,
        default=default,
        codecs="mp4a.40.2",
        bandwidth=peak,
        average_bandwidth=peak - 10_000,
    )


def parsed(master: str) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    lines = master.splitlines()
    media = [parse_attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    variants = [
        (parse_attributes(line), lines[number + 1])
        for number, line in enumerate(lines)
        if line.startswith("#EXT-X-STREAM-INF:")
    ]
    return media, variants


def test_master_adds_the_largest_audio_to_each_variant() -> None:
    package = HlsPackage(
        variants=[variant(360, 800_000), variant(720, 2_800_000)],
        audio=[
            audio(0, "en", "English", 140_000, default=True),
            audio(1, "de", "Deutsch", 150_000, default=False),
        ],
        duration=60.0,
    )
    master = master_playlist(package)
    assert master.startswith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
    media, variants = parsed(master)
    by_uri = {uri: attributes for attributes, uri in variants}
    assert by_uri["720p/index.m3u8"]["BANDWIDTH"] == str(2_800_000 + 150_000)
    assert by_uri["720p/index.m3u8"]["AVERAGE-BANDWIDTH"] == str(2_520_000 + 140_000)
    for attributes in by_uri.values():
        assert attributes["CODECS"] == "avc1.64001f,mp4a.40.2"
        assert attributes["FRAME-RATE"] == "23.976"
        assert attributes["AUDIO"] == "audio"
        assert "SUBTITLES" not in attributes
    assert by_uri["360p/index.m3u8"]["RESOLUTION"] == "640x360"
    assert [(m["TYPE"], m["LANGUAGE"], m["NAME"], m["DEFAULT"]) for m in media] == [
        ("AUDIO", "en", "English", "YES"),
        ("AUDIO", "de", "Deutsch", "NO"),
    ]
    assert all(m["CHANNELS"] == "2" and m["AUTOSELECT"] == "YES" for m in media)


def test_master_starts_with_the_best_variant_a_modest_connection_takes() -> None:
    package = HlsPackage(
        variants=[variant(1080, 5_000_000), variant(360, 800_000), variant(720, 2_800_000)],
        audio=[audio(0, "en", "English", 130_000, default=True)],
    )
    _, variants = parsed(master_playlist(package))
    assert [uri for _, uri in variants] == [
        "720p/index.m3u8",
        "360p/index.m3u8",
        "1080p/index.m3u8",
    ]


def test_master_without_audio_has_no_audio_group() -> None:
    package = HlsPackage(variants=[variant(360, 800_000, audio_group=None)])
    master = master_playlist(package)
    media, [(attributes, _)] = parsed(master)
    assert media == []
    assert "AUDIO" not in attributes
    assert attributes["CODECS"] == "avc1.64001f"
    assert attributes["BANDWIDTH"] == "800000"


def test_master_lists_subtitles_in_their_group() -> None:
    package = HlsPackage(
        variants=[variant(360, 800_000)], audio=[audio(0, None, "Audio 1", 1, default=True)]
    )
    subtitles = [
        SubtitleRendition("subtitles/en/index.m3u8", "en", "English", default=True),
        SubtitleRendition("subtitles/fr/index.m3u8", "fr", 'Français "forcé"'),
    ]
    media, [(attributes, _)] = parsed(master_playlist(package, subtitles))
    assert attributes["SUBTITLES"] == "subs"
    english, french = (m for m in media if m["TYPE"] == "SUBTITLES")
    assert (english["LANGUAGE"], english["DEFAULT"], english["URI"]) == (
        "en",
        "YES",
        "subtitles/en/index.m3u8",
    )
    assert (french["NAME"], french["DEFAULT"], french["GROUP-ID"]) == (
        "Français 'forcé'",
        "NO",
        "subs",
    )
    [untagged] = (m for m in media if m["TYPE"] == "AUDIO")
    assert "LANGUAGE" not in untagged


async def test_codec_strings_come_from_the_encoded_streams(tmp_path: Path) -> None:
    source = make_clip(tmp_path, seconds=1, audio_streams=1)
    await remux_to_hls(ffmpeg_exe(), source, probe(source), tmp_path / "out")
    video_codecs = stream_codecs(tmp_path / "out" / "source" / "init.mp4")
    assert video_codecs.startswith("avc1.42")  # x264 ultrafast: Constrained Baseline
    assert len(video_codecs) == len("avc1.42c00d")
    assert stream_codecs(tmp_path / "out" / "a0" / "init.mp4") == "mp4a.40.2"
