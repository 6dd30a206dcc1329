"""The ladder plan, the instant remux and the one-process encode, checked on real output."""

from __future__ import annotations

import array
import asyncio
import dataclasses
import io
import itertools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest

from kino.media.ffmpeg import FfmpegCancelled
from kino.media.hls import (
    MediaPlaylist,
    measure_playlist,
    parse_attributes,
    parse_media_playlist,
)
from kino.media.ladder import (
    LADDER,
    Rung,
    can_remux,
    encode_ladder,
    ladder_command,
    output_frame_rate,
    plan_ladder,
    remux_to_hls,
)
from kino.media.probe import AudioStream, SourceInfo, probe
from tests.media.clips import AudioSpec, ffmpeg_exe, make_clip


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


def source_info(**overrides: object) -> SourceInfo:
    info = SourceInfo(
        container="mov",
        duration=60.0,
        video_codec="h264",
        profile="High",
        pix_fmt="yuv420p",
        bit_depth=8,
        width=1920,
        height=1080,
        rotation=0,
        display_width=1920,
        display_height=1080,
        frame_rate=25.0,
        variable_frame_rate=False,
        hdr=False,
        audio=(AudioStream(0, "aac", 2, 48000, "eng", None, True, "LC"),),
        bit_rate=8_000_000,
    )
    return dataclasses.replace(info, **overrides)  # type: ignore[arg-type]


def sizes(rungs: list[Rung]) -> list[tuple[str, int, int]]:
    return [(rung.name, rung.width, rung.height) for rung in rungs]


# --------------------------------------------------------------------------- the plan


def test_a_1080p_source_gets_every_rung_up_to_1080p() -> None:
    rungs = plan_ladder(source_info())
    assert sizes(rungs) == [
        ("360p", 640, 360),
        ("480p", 854, 480),
        ("720p", 1280, 720),
        ("1080p", 1920, 1080),
    ]
    assert [rung.video_bitrate for rung in rungs] == [800_000, 1_400_000, 2_800_000, 5_000_000]


def test_the_ladder_rates() -> None:
    assert [(rung.name, rung.video_bitrate) for rung in LADDER] == [
        ("360p", 800_000),
        ("480p", 1_400_000),
        ("720p", 2_800_000),
        ("1080p", 5_000_000),
        ("1440p", 8_000_000),
        ("2160p", 14_000_000),
    ]
    for rung in LADDER:
        assert rung.maxrate == round(rung.video_bitrate * 1.07)
        assert rung.bufsize == round(rung.video_bitrate * 1.5)


def test_a_4k_source_gets_the_whole_ladder() -> None:
    info = source_info(width=3840, height=2160, display_width=3840, display_height=2160)
    assert [rung.name for rung in plan_ladder(info)] == [rung.name for rung in LADDER]


def test_no_rung_is_taller_or_wider_than_the_source() -> None:
    for width, height in [(1280, 720), (1000, 700), (1920, 800), (1440, 1080), (720, 1280)]:
        info = source_info(width=width, height=height, display_width=width, display_height=height)
        rungs = plan_ladder(info)
        assert rungs
        for rung in rungs:
            assert rung.height <= height
            assert rung.width <= width
            assert rung.width % 2 == 0
            assert rung.height % 2 == 0


def test_widths_follow_the_display_aspect_ratio() -> None:
    # 720x576 with 16:15 pixels shows as 768x576 (4:3).
    anamorphic = source_info(width=720, height=576, display_width=768, display_height=576)
    assert sizes(plan_ladder(anamorphic)) == [("360p", 480, 360), ("480p", 640, 480)]
    scope = source_info(width=1920, height=800, display_width=1920, display_height=800)
    assert sizes(plan_ladder(scope))[-1] == ("1080p", 1920, 800)


def test_a_portrait_source_gets_upright_rungs() -> None:
    portrait = source_info(
        width=1920, height=1080, rotation=90, display_width=1080, display_height=1920
    )
    assert sizes(plan_ladder(portrait)) == [
        ("360p", 360, 640),
        ("480p", 480, 854),
        ("720p", 720, 1280),
        ("1080p", 1080, 1920),
    ]


def test_a_source_a_few_lines_short_of_a_rung_still_gets_it_at_its_own_size() -> None:
    cropped = source_info(width=1916, height=1076, display_width=1916, display_height=1076)
    assert sizes(plan_ladder(cropped))[-1] == ("1080p", 1916, 1076)


def test_a_source_under_360p_gets_one_rung_at_its_own_even_size() -> None:
    small = source_info(width=321, height=241, display_width=321, display_height=241)
    [rung] = plan_ladder(small)
    assert (rung.width, rung.height) == (320, 240)
    assert 0 < rung.video_bitrate < LADDER[0].video_bitrate


def test_remux_only_for_upright_8_bit_420_h264_with_aac_or_no_audio() -> None:
    assert can_remux(source_info())
    assert can_remux(source_info(audio=()))
    assert not can_remux(source_info(video_codec="hevc"))
    assert not can_remux(source_info(bit_depth=10, pix_fmt="yuv420p10le"))
    assert not can_remux(source_info(pix_fmt="yuv444p"))
    assert not can_remux(source_info(rotation=90))
    assert not can_remux(source_info(hdr=True))
    assert not can_remux(source_info(start_skew=0.5))
    opus = AudioStream(1, "opus", 2, 48000, None, None, False)
    assert not can_remux(source_info(audio=(*source_info().audio, opus)))


def test_output_frame_rate_is_constant_and_standard() -> None:
    assert output_frame_rate(source_info(frame_rate=29.97)) == Fraction(30000, 1001)
    assert output_frame_rate(source_info(frame_rate=23.976)) == Fraction(24000, 1001)
    assert output_frame_rate(source_info(frame_rate=120.0)) == 60
    assert output_frame_rate(source_info(frame_rate=21.3, variable_frame_rate=True)) == 21


def test_the_ladder_is_one_ffmpeg_command(tmp_path: Path) -> None:
    info = source_info(frame_rate=30000 / 1001)
    rungs = plan_ladder(info)
    command = ladder_command("ffmpeg", Path("in.mp4"), info, rungs, tmp_path, preset="veryfast")

    assert command[0] == "ffmpeg"
    assert command.count("-i") == 1
    [graph] = [command[i + 1] for i, arg in enumerate(command) if arg == "-filter_complex"]
    # Decoded once; each rung scaled once, from the rung above it (the top one from the source).
    assert graph.count("[0:v:0]") == 1
    assert graph.split(";")[1:] == [
        "[c0]scale=1920:1080,setsar=1,format=yuv420p,split=2[v3][c1]",
        "[c1]scale=1280:720,setsar=1,format=yuv420p,split=2[v2][c2]",
        "[c2]scale=854:480,setsar=1,format=yuv420p,split=2[v1][c3]",
        "[c3]scale=640:360,setsar=1,format=yuv420p[v0]",
    ]
    for option, values in {
        "-b:v": [str(rung.video_bitrate) for rung in rungs],
        "-maxrate": [str(round(rung.video_bitrate * 1.07)) for rung in rungs],
        "-bufsize": [str(round(rung.video_bitrate * 1.5)) for rung in rungs],
        "-g": ["60"] * len(rungs),
        "-keyint_min": ["60"] * len(rungs),
        "-sc_threshold": ["0"] * len(rungs),
        "-profile:v": ["high"] * len(rungs),
        "-c:v": ["libx264"] * len(rungs),
        "-hls_time": ["6"] * (len(rungs) + 1),
        "-hls_segment_type": ["fmp4"] * (len(rungs) + 1),
        "-b:a": ["128000"],
        "-ar": ["48000"],
        "-ac": ["2"],
    }.items():
        assert [command[i + 1] for i, arg in enumerate(command) if arg == option] == values


# --------------------------------------------------------------------------- reading output


@dataclass
class Output:
    directory: Path
    master: list[str]
    progress: list[float]

    def stream_infs(self) -> list[tuple[dict[str, str], str]]:
        return [
            (parse_attributes(line), self.master[index + 1])
            for index, line in enumerate(self.master)
            if line.startswith("#EXT-X-STREAM-INF:")
        ]

    def media(self, kind: str) -> list[dict[str, str]]:
        return [
            parse_attributes(line)
            for line in self.master
            if line.startswith("#EXT-X-MEDIA:") and f"TYPE={kind}" in line
        ]

    def playlist(self, uri: str) -> MediaPlaylist:
        return parse_media_playlist((self.directory / uri).read_text())


def read_output(directory: Path, progress: list[float] | None = None) -> Output:
    master = (directory / "master.m3u8").read_text().splitlines()
    return Output(directory, master, progress or [])


def segment_containers(playlist_path: Path) -> list[av.container.InputContainer]:
    """Each segment of an fMP4 media playlist, opened with its init segment in front."""
    playlist = parse_media_playlist(playlist_path.read_text())
    assert playlist.map_uri is not None
    init = (playlist_path.parent / playlist.map_uri).read_bytes()
    return [
        av.open(io.BytesIO(init + (playlist_path.parent / segment.uri).read_bytes()))
        for segment in playlist.segments
    ]


def video_packets(container: av.container.InputContainer) -> list[av.Packet]:
    return [packet for packet in container.demux(video=0) if packet.size]


def nal_types(packet: av.Packet, length_size: int = 4) -> list[int]:
    data, types, position = bytes(packet), [], 0
    while position + length_size < len(data):
        size = int.from_bytes(data[position : position + length_size], "big")
        types.append(data[position + length_size] & 0x1F)
        position += length_size + size
    return types


def first_frame(playlist_path: Path) -> av.VideoFrame:
    container = segment_containers(playlist_path)[0]
    frame = next(container.decode(video=0))
    assert isinstance(frame, av.VideoFrame)
    return frame


async def encode(source: Path, directory: Path, *, cancel: asyncio.Event | None = None) -> Output:
    info = await asyncio.to_thread(probe, source)
    progress: list[float] = []

    async def on_progress(fraction: float, _left: float | None) -> None:
        progress.append(fraction)

    await encode_ladder(
        ffmpeg_exe(),
        source,
        info,
        plan_ladder(info),
        directory,
        on_progress=on_progress,
        cancel=cancel,
    )
    return read_output(directory, progress)


# --------------------------------------------------------------------------- the encode

AUDIO = [
    AudioSpec(channels=6, language="eng", title="Original"),
    AudioSpec(channels=2, language="fra", default=True, frequency=660),
]


@pytest.fixture(scope="module")
async def ladder(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Output:
    # 854x480 at 29.97 fps: two rungs, segments of 6.006 s, a 5.1 and a stereo stream.
    source = make_clip(
        clip_dir, seconds=8, width=854, height=480, fps=30000 / 1001, audio_streams=AUDIO
    )
    return await encode(source, tmp_path_factory.mktemp("ladder"))


def test_master_lists_every_rung_with_relative_uris(ladder: Output) -> None:
    assert ladder.master[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    variants = ladder.stream_infs()
    assert sorted(attributes["RESOLUTION"] for attributes, _ in variants) == [
        "640x360",
        "854x480",
    ]
    uris = [uri for _, uri in variants] + [media["URI"] for media in ladder.media("AUDIO")]
    for uri in uris:
        assert not uri.startswith("/")
        assert "://" not in uri
        assert (ladder.directory / uri).is_file()


def test_every_variant_states_bandwidth_codecs_resolution_and_frame_rate(ladder: Output) -> None:
    for attributes, _ in ladder.stream_infs():
        assert int(attributes["BANDWIDTH"]) >= int(attributes["AVERAGE-BANDWIDTH"]) > 0
        video_codec, audio_codec = attributes["CODECS"].split(",")
        assert video_codec.startswith("avc1.64")  # High profile
        assert audio_codec == "mp4a.40.2"
        assert attributes["FRAME-RATE"] == "29.970"
        assert attributes["AUDIO"] == "audio"


def test_media_playlists_are_vod_fmp4_version_7(ladder: Output) -> None:
    uris = [uri for _, uri in ladder.stream_infs()] + [m["URI"] for m in ladder.media("AUDIO")]
    for uri in uris:
        playlist = ladder.playlist(uri)
        for tag in (
            "#EXT-X-VERSION:7",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            "#EXT-X-ENDLIST",
        ):
            assert tag in playlist.tags, (uri, tag)
        assert playlist.map_uri == "init.mp4"
        assert all(segment.uri.endswith(".m4s") for segment in playlist.segments)


def test_no_segment_is_longer_than_the_target_duration(ladder: Output) -> None:
    for _, uri in ladder.stream_infs():
        playlist = ladder.playlist(uri)
        assert [round(segment.duration, 3) for segment in playlist.segments[:-1]] == [6.006]
        assert playlist.target_duration == 7  # 6.006 s does not fit in 6
        assert all(s.duration <= playlist.target_duration for s in playlist.segments)
    for audio in ladder.media("AUDIO"):
        playlist = ladder.playlist(audio["URI"])
        assert all(s.duration <= playlist.target_duration for s in playlist.segments)


def test_every_video_segment_starts_on_an_idr_frame(ladder: Output) -> None:
    for _, uri in ladder.stream_infs():
        for container in segment_containers(ladder.directory / uri):
            first = video_packets(container)[0]
            assert first.is_keyframe
            assert 5 in nal_types(first)  # NAL unit type 5: IDR slice


def test_keyframes_every_two_seconds_at_the_same_times_in_every_rung(ladder: Output) -> None:
    keyframe_times = []
    for _, uri in ladder.stream_infs():
        times = []
        for container in segment_containers(ladder.directory / uri):
            for packet in video_packets(container):
                if packet.is_keyframe:
                    assert packet.pts is not None
                    assert packet.time_base is not None
                    times.append(round(float(packet.pts * packet.time_base), 3))
        keyframe_times.append(times)
    first = keyframe_times[0]
    assert all(times == first for times in keyframe_times)
    assert [round(time - first[0], 3) for time in first] == [0.0, 2.002, 4.004, 6.006]


def test_video_and_audio_start_at_zero_without_edit_lists(ladder: Output) -> None:
    # Players ignore edit lists in fMP4 HLS: each rendition's first sample must be presented
    # at its fragment's decode time (signed composition offsets), 0 for the first segment.
    uris = [uri for _, uri in ladder.stream_infs()] + [m["URI"] for m in ladder.media("AUDIO")]
    for uri in uris:
        directory = (ladder.directory / uri).parent
        assert b"elst" not in (directory / "init.mp4").read_bytes()
        first_segment = (directory / ladder.playlist(uri).segments[0].uri).read_bytes()
        assert fragment_start(first_segment) == (0, 0)


def fragment_start(segment: bytes) -> tuple[int, int]:
    """(decode time, first sample's composition offset) of a segment's first fragment."""
    tfdt = segment.index(b"tfdt")
    version = segment[tfdt + 4]
    width = 8 if version == 1 else 4
    decode_time = int.from_bytes(segment[tfdt + 8 : tfdt + 8 + width], "big")
    trun = segment.index(b"trun")
    flags = int.from_bytes(segment[trun + 5 : trun + 8], "big")
    position = trun + 12 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    position += 4 * bin(flags & 0x700).count("1")  # duration, size, flags of the first sample
    offset = 0
    if flags & 0x800:
        offset = int.from_bytes(segment[position : position + 4], "big", signed=True)
    return decode_time, offset


def test_variants_are_upright_8_bit_420_h264_high_at_their_rung_size(ladder: Output) -> None:
    for attributes, uri in ladder.stream_infs():
        frame = first_frame(ladder.directory / uri)
        assert f"{frame.width}x{frame.height}" == attributes["RESOLUTION"]
        assert frame.format.name == "yuv420p"
        [container, *_] = segment_containers(ladder.directory / uri)
        assert container.streams.video[0].profile == "High"


def test_bandwidth_is_measured_from_the_segments(ladder: Output) -> None:
    audio = ladder.media("AUDIO")
    audio_rates = [
        rate(ladder.directory / rendition["URI"]) for rendition in audio
    ]  # (peak, average) per rendition
    for attributes, uri in ladder.stream_infs():
        average_from_sizes = average_rate(ladder.directory / uri) + max(
            average_rate(ladder.directory / rendition["URI"]) for rendition in audio
        )
        assert int(attributes["AVERAGE-BANDWIDTH"]) == pytest.approx(average_from_sizes, rel=0.1)
        video_peak, _ = rate(ladder.directory / uri)
        assert int(attributes["BANDWIDTH"]) == video_peak + max(peak for peak, _ in audio_rates)


def rate(playlist: Path) -> tuple[int, int]:
    return measure_playlist(playlist)


def average_rate(playlist_path: Path) -> float:
    """Bit/s from the files' sizes and the playlist's durations, without Kino's measuring."""
    text = playlist_path.read_text().splitlines()
    seconds = sum(float(line[8:].split(",")[0]) for line in text if line.startswith("#EXTINF:"))
    files = [line for line in text if line and not line.startswith("#")]
    return sum((playlist_path.parent / name).stat().st_size for name in files) * 8 / seconds


def test_video_rate_keeps_to_the_rung(ladder: Output) -> None:
    rungs = {f"{rung.width}x{rung.height}": rung for rung in LADDER}
    for attributes, uri in ladder.stream_infs():
        rung = rungs[attributes["RESOLUTION"]]
        _, average = measure_playlist(ladder.directory / uri)
        assert average <= rung.maxrate * 1.1


def test_every_audio_stream_is_a_stereo_aac_rendition(ladder: Output) -> None:
    original, dub = ladder.media("AUDIO")
    assert (original["LANGUAGE"], original["NAME"], original["DEFAULT"]) == ("en", "Original", "NO")
    assert (dub["LANGUAGE"], dub["NAME"], dub["DEFAULT"]) == ("fr", "French", "YES")
    for rendition in (original, dub):
        assert rendition["GROUP-ID"] == "audio"
        assert rendition["AUTOSELECT"] == "YES"
        assert rendition["CHANNELS"] == "2"
        [container, *_] = segment_containers(ladder.directory / rendition["URI"])
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.profile == "LC"
        assert stream.codec_context.channels == 2  # the 5.1 original too
        assert stream.codec_context.sample_rate == 48000


def test_progress_rises_to_one(ladder: Output) -> None:
    assert ladder.progress == sorted(ladder.progress)
    assert ladder.progress[-1] == 1.0
    assert len(ladder.progress) >= 2


# --------------------------------------------------------------------------- awkward sources


async def test_a_rotated_source_comes_out_upright(clip_dir: Path, tmp_path: Path) -> None:
    output = await encode(make_clip(clip_dir, width=320, height=180, rotation=90), tmp_path)
    [(attributes, uri)] = output.stream_infs()
    assert attributes["RESOLUTION"] == "180x320"
    frame = first_frame(tmp_path / uri)
    assert (frame.width, frame.height) == (180, 320)
    assert frame.rotation == 0


@pytest.mark.parametrize(
    ("hdr", "codec", "primaries"),
    [("pq", "hevc", True), ("hlg", "h264", True), ("pq", "hevc", False)],
)
async def test_a_10_bit_hdr_source_comes_out_8_bit_sdr(
    clip_dir: Path, tmp_path: Path, hdr: str, codec: str, primaries: bool
) -> None:
    source = make_clip(
        clip_dir, codec=codec, pix_fmt="yuv420p10le", hdr=hdr, hdr_primaries=primaries
    )
    output = await encode(source, tmp_path)
    [(attributes, uri)] = output.stream_infs()
    assert attributes["CODECS"].startswith("avc1.64")
    frame = first_frame(tmp_path / uri)
    assert frame.format.name == "yuv420p"
    assert frame.color_trc == 1  # BT.709
    assert frame.color_primaries == 1


async def test_a_variable_frame_rate_source_comes_out_constant(
    clip_dir: Path, tmp_path: Path
) -> None:
    source = make_clip(clip_dir, seconds=4, vfr=True)
    info = probe(source)
    assert info.variable_frame_rate
    output = await encode(source, tmp_path)
    [(attributes, uri)] = output.stream_infs()
    rate = output_frame_rate(info)
    assert attributes["FRAME-RATE"] == f"{float(rate):.3f}"
    stamps = sorted(
        packet.pts
        for container in segment_containers(tmp_path / uri)
        for packet in video_packets(container)
        if packet.pts is not None
    )
    steps = {later - earlier for earlier, later in itertools.pairwise(stamps)}
    assert len(steps) == 1


async def test_a_source_without_sound_has_no_audio_group(clip_dir: Path, tmp_path: Path) -> None:
    output = await encode(make_clip(clip_dir, audio_streams=0), tmp_path)
    assert output.media("AUDIO") == []
    [(attributes, _)] = output.stream_infs()
    assert "AUDIO" not in attributes
    assert attributes["CODECS"].startswith("avc1.")
    assert "," not in attributes["CODECS"]


async def test_odd_sized_444_source_comes_out_even_420(clip_dir: Path, tmp_path: Path) -> None:
    source = make_clip(clip_dir, width=321, height=241, pix_fmt="yuv444p", audio_streams=0)
    output = await encode(source, tmp_path)
    [(attributes, uri)] = output.stream_infs()
    assert attributes["RESOLUTION"] == "320x240"
    assert first_frame(tmp_path / uri).format.name == "yuv420p"


async def test_a_late_audio_stream_keeps_its_place_in_time(clip_dir: Path, tmp_path: Path) -> None:
    # The sound starts 0.5 s after the picture: its rendition starts at 0 too, with silence.
    source = make_clip(clip_dir, seconds=3, container="mkv", audio_streams=[AudioSpec(delay=0.5)])
    output = await encode(source, tmp_path)
    [rendition] = output.media("AUDIO")
    assert fragment_start((tmp_path / "a0" / "seg-00000.m4s").read_bytes()) == (0, 0)
    loudness = [
        (float(frame.time), max(map(abs, array.array("f", bytes(frame.planes[0])))))
        for container in segment_containers(tmp_path / rendition["URI"])
        for frame in container.decode(audio=0)
        if frame.time is not None
    ]
    assert all(level < 0.001 for time, level in loudness if time < 0.45)
    assert all(level > 0.05 for time, level in loudness if 0.55 < time < 3.0)


async def test_a_late_picture_is_held_from_the_start(clip_dir: Path, tmp_path: Path) -> None:
    source = make_clip(clip_dir, seconds=3, container="mkv", video_delay=0.5)
    output = await encode(source, tmp_path)
    [(_, uri)] = output.stream_infs()
    first_segment = (tmp_path / uri).parent / "seg-00000.m4s"
    assert fragment_start(first_segment.read_bytes()) == (0, 0)
    frames = sum(len(video_packets(c)) for c in segment_containers(tmp_path / uri))
    assert frames == round(3.5 * 25)  # 0.5 s of the first picture, then the 3 s clip


async def test_a_set_cancel_event_stops_the_encode(clip_dir: Path, tmp_path: Path) -> None:
    cancel = asyncio.Event()
    cancel.set()
    with pytest.raises(FfmpegCancelled):
        await encode(make_clip(clip_dir, seconds=8), tmp_path, cancel=cancel)
    assert not (tmp_path / "master.m3u8").exists()


# --------------------------------------------------------------------------- the remux


@pytest.fixture(scope="module")
async def remuxed(
    clip_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SourceInfo, Output]:
    # Keyframes every 5 s: the source decides where segments are cut.
    source = make_clip(clip_dir, seconds=14, gop_seconds=5, audio_streams=AUDIO[1:])
    info = probe(source)
    directory = tmp_path_factory.mktemp("remux")
    await remux_to_hls(ffmpeg_exe(), source, info, directory)
    return source, info, read_output(directory)


def test_remux_copies_the_video_without_encoding(
    remuxed: tuple[Path, SourceInfo, Output],
) -> None:
    source, _, output = remuxed
    [(_, uri)] = output.stream_infs()
    copied = [
        bytes(packet)
        for container in segment_containers(output.directory / uri)
        for packet in video_packets(container)
    ]
    with av.open(str(source)) as container:
        original = [bytes(packet) for packet in video_packets(container)]
    assert copied == original


def test_remux_segments_start_on_the_source_keyframes(
    remuxed: tuple[Path, SourceInfo, Output],
) -> None:
    source, _, output = remuxed
    [(attributes, uri)] = output.stream_infs()
    playlist = output.playlist(uri)
    assert [round(segment.duration, 3) for segment in playlist.segments] == [10.0, 4.0]
    assert playlist.target_duration == 10
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in playlist.tags
    for container in segment_containers(output.directory / uri):
        assert video_packets(container)[0].is_keyframe
    with av.open(str(source)) as container:
        record = container.streams.video[0].codec_context.extradata
    assert record is not None
    # The source's own profile and level (x264 ultrafast: Constrained Baseline).
    assert attributes["CODECS"] == f"avc1.{record[1:4].hex()},mp4a.40.2"
    assert attributes["CODECS"].startswith("avc1.42")
    assert attributes["RESOLUTION"] == "320x180"


def test_remux_keeps_the_audio_as_a_rendition(remuxed: tuple[Path, SourceInfo, Output]) -> None:
    _, _, output = remuxed
    [rendition] = output.media("AUDIO")
    assert (rendition["LANGUAGE"], rendition["NAME"], rendition["DEFAULT"]) == (
        "fr",
        "French",
        "YES",
    )
    assert output.playlist(rendition["URI"]).duration == pytest.approx(14, abs=0.1)


async def test_remux_refuses_a_source_it_cannot_copy(clip_dir: Path, tmp_path: Path) -> None:
    source = make_clip(clip_dir, rotation=90)
    with pytest.raises(ValueError, match="remux"):
        await remux_to_hls(ffmpeg_exe(), source, probe(source), tmp_path)
