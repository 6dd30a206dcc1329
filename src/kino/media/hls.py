"""HLS playlists: reading and correcting media playlists, measuring their bitrates, and writing
the master playlist.

ffmpeg writes the media playlists and segments; Kino then makes each media playlist's target
duration honest, measures every rendition from its segment files, and writes the master
playlist itself, so BANDWIDTH and AVERAGE-BANDWIDTH are what a player will really fetch.
Every URI is relative: a signed path prefix is put in front of the master playlist's URL and
covers everything under it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import langcodes

HLS_VERSION = 7
AUDIO_GROUP = "audio"
SUBTITLE_GROUP = "subs"
# The variant a player starts with is listed first: the best one within this bandwidth.
START_BANDWIDTH = 3_000_000

# Language codes that name no language.
NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})


def language_tag(code: str | None) -> str | None:
    """The BCP 47 tag for a stream's language code (``eng`` → ``en``, ``pt_BR`` → ``pt-BR``);
    None for an empty, undetermined or unknown code."""
    if not code or code.strip().lower() in NO_LANGUAGE:
        return None
    try:
        tag = langcodes.standardize_tag(code.strip().replace("_", "-"))
    except (langcodes.LanguageTagError, ValueError):
        return None
    return tag if langcodes.Language.get(tag).is_valid() and tag not in NO_LANGUAGE else None


def language_name(code: str | None) -> str | None:
    """The language's English name (``fra`` and ``fr`` → ``French``); None when unknown."""
    tag = language_tag(code)
    if tag is None:
        return None
    name = str(langcodes.Language.get(tag).display_name())
    return None if name.startswith("Unknown") else name


@dataclass
class VariantStream:
    """One video rendition. ``codecs``, ``bandwidth`` and ``average_bandwidth`` are the video's
    own; the master playlist adds the audio group's to them."""

    playlist: str
    width: int
    height: int
    frame_rate: float
    codecs: str
    bandwidth: int
    average_bandwidth: int
    audio_group: str | None = None


@dataclass
class AudioRendition:
    playlist: str
    group_id: str
    language: str | None
    name: str
    default: bool
    codecs: str
    bandwidth: int
    average_bandwidth: int
    channels: int = 2


@dataclass
class SubtitleRendition:
    playlist: str
    language: str
    name: str
    default: bool = False


@dataclass
class HlsPackage:
    variants: list[VariantStream]
    audio: list[AudioRendition] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class Segment:
    uri: str
    duration: float


@dataclass
class MediaPlaylist:
    target_duration: int
    segments: list[Segment]
    map_uri: str | None
    tags: list[str]  # every tag line, as written

    @property
    def duration(self) -> float:
        return sum(segment.duration for segment in self.segments)


def parse_media_playlist(text: str) -> MediaPlaylist:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("not an M3U8 playlist")
    target = 0
    map_uri: str | None = None
    segments: list[Segment] = []
    pending: float | None = None
    for line in lines:
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.partition(":")[2])
        elif line.startswith("#EXT-X-MAP:"):
            map_uri = _attribute(line, "URI")
        elif line.startswith("#EXTINF:"):
            pending = float(line.partition(":")[2].split(",")[0])
        elif not line.startswith("#"):
            if pending is None:
                raise ValueError(f"segment {line!r} has no #EXTINF")
            segments.append(Segment(line, pending))
            pending = None
    return MediaPlaylist(target, segments, map_uri, [line for line in lines if line[0] == "#"])


def _attribute(line: str, name: str) -> str | None:
    return parse_attributes(line).get(name)


def parse_attributes(line: str) -> dict[str, str]:
    """The attributes of a tag line (``#EXT-X-STREAM-INF:BANDWIDTH=…,CODECS="a,b"``), quoted
    values unquoted."""
    attributes: dict[str, str] = {}
    for part in _split_attributes(line.partition(":")[2]):
        key, _, value = part.partition("=")
        if key:
            attributes[key.strip()] = value.strip().strip('"')
    return attributes


def _split_attributes(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def honest_target_duration(segments: Sequence[Segment]) -> int:
    """The smallest whole number of seconds no segment exceeds (ffmpeg rounds to nearest)."""
    longest = max((segment.duration for segment in segments), default=1.0)
    return max(1, math.ceil(round(longest, 3)))


def finalize_media_playlist(path: Path) -> MediaPlaylist:
    """Rewrite ffmpeg's media playlist so its target duration is no shorter than any segment
    and it declares independent segments (each starts on a keyframe; every audio frame is one)."""
    playlist = parse_media_playlist(path.read_text())
    target = honest_target_duration(playlist.segments)
    out: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("#EXT-X-TARGETDURATION:"):
            line = f"#EXT-X-TARGETDURATION:{target}"
        elif line == "#EXT-X-INDEPENDENT-SEGMENTS":
            continue
        out.append(line)
        if line.startswith("#EXT-X-VERSION:"):
            out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    path.write_text("\n".join(out) + "\n")
    playlist.target_duration = target
    return playlist


def measure_playlist(path: Path) -> tuple[int, int]:
    """(peak, average) bit/s of a media playlist, from its segment files' sizes.

    The peak is the highest rate of any run of consecutive segments lasting between half and
    one and a half target durations, as the HLS specification defines the peak segment bit
    rate (a short last segment does not count alone). The average is all segment bytes over
    the playlist's duration.
    """
    playlist = parse_media_playlist(path.read_text())
    sizes = [(path.parent / segment.uri).stat().st_size for segment in playlist.segments]
    durations = [segment.duration for segment in playlist.segments]
    total = sum(durations)
    if total <= 0:
        return 0, 0
    average = sum(sizes) * 8 / total
    target = playlist.target_duration or honest_target_duration(playlist.segments)
    peak = 0.0
    for start in range(len(sizes)):
        seconds = bits = 0.0
        for end in range(start, len(sizes)):
            seconds += durations[end]
            bits += sizes[end] * 8
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target and seconds > 0:
                peak = max(peak, bits / seconds)
    if peak == 0:  # shorter in all than half a target duration
        peak = average
    return math.ceil(max(peak, average)), math.ceil(average)


def stream_codecs(init_segment: Path) -> str:
    """The RFC 6381 codec string of the first stream in an fMP4 init segment:
    ``avc1.PPCCLL`` from the H.264 configuration record, ``mp4a.40.N`` from the AAC profile."""
    with av.open(str(init_segment)) as container:
        stream = container.streams[0]
        context = stream.codec_context
        if context.name == "h264":
            record = context.extradata or b""
            if len(record) < 4 or record[0] != 1:
                raise ValueError(f"{init_segment} has no avcC configuration record")
            return "avc1." + record[1:4].hex()
        if context.name == "aac":
            object_type = {"HE-AAC": 5, "HE-AACv2": 29}.get(stream.profile or "", 2)
            return f"mp4a.40.{object_type}"
        raise ValueError(f"no HLS codec string for {context.name}")


def _quoted(value: str) -> str:
    # A quoted-string holds no double quote, carriage return or line feed.
    cleaned = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return f'"{cleaned}"'


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


def master_playlist(package: HlsPackage, subtitles: Sequence[SubtitleRendition] = ()) -> str:
    """The master playlist for ``package`` (and subtitle renditions, when given)."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    lines += [_audio_media(rendition) for rendition in package.audio]
    lines += [_subtitle_media(rendition) for rendition in subtitles]
    for variant in _start_first(package):
        lines.append(_stream_inf(variant, package.audio, bool(subtitles)))
        lines.append(variant.playlist)
    return "\n".join(lines) + "\n"


def _audio_media(rendition: AudioRendition) -> str:
    attributes = [f"TYPE=AUDIO,GROUP-ID={_quoted(rendition.group_id)}"]
    if rendition.language:
        attributes.append(f"LANGUAGE={_quoted(rendition.language)}")
    attributes += [
        f"NAME={_quoted(rendition.name)}",
        f"DEFAULT={_yes(rendition.default)}",
        "AUTOSELECT=YES",
        f'CHANNELS="{rendition.channels}"',
        f"URI={_quoted(rendition.playlist)}",
    ]
    return "#EXT-X-MEDIA:" + ",".join(attributes)


def _subtitle_media(rendition: SubtitleRendition) -> str:
    attributes = [
        f"TYPE=SUBTITLES,GROUP-ID={_quoted(SUBTITLE_GROUP)}",
        f"LANGUAGE={_quoted(rendition.language)}",
        f"NAME={_quoted(rendition.name)}",
        f"DEFAULT={_yes(rendition.default)}",
        "AUTOSELECT=YES",
        f"URI={_quoted(rendition.playlist)}",
    ]
    return "#EXT-X-MEDIA:" + ",".join(attributes)


def variant_bandwidth(variant: VariantStream, audio: Sequence[AudioRendition]) -> tuple[int, int]:
    """(BANDWIDTH, AVERAGE-BANDWIDTH) of a variant: its video plus the audio group's largest."""
    group = [rendition for rendition in audio if rendition.group_id == variant.audio_group]
    peak = max((rendition.bandwidth for rendition in group), default=0)
    average = max((rendition.average_bandwidth for rendition in group), default=0)
    return variant.bandwidth + peak, variant.average_bandwidth + average


def _stream_inf(variant: VariantStream, audio: Sequence[AudioRendition], subtitles: bool) -> str:
    bandwidth, average = variant_bandwidth(variant, audio)
    codecs = [variant.codecs]
    for rendition in audio:
        if rendition.group_id == variant.audio_group and rendition.codecs not in codecs:
            codecs.append(rendition.codecs)
    attributes = [
        f"BANDWIDTH={bandwidth}",
        f"AVERAGE-BANDWIDTH={average}",
        f"CODECS={_quoted(','.join(codecs))}",
        f"RESOLUTION={variant.width}x{variant.height}",
        f"FRAME-RATE={variant.frame_rate:.3f}",
    ]
    if variant.audio_group:
        attributes.append(f"AUDIO={_quoted(variant.audio_group)}")
    if subtitles:
        attributes.append(f"SUBTITLES={_quoted(SUBTITLE_GROUP)}")
    return "#EXT-X-STREAM-INF:" + ",".join(attributes)


def _start_first(package: HlsPackage) -> list[VariantStream]:
    """Variants from the lowest bandwidth up, with the one to start on moved to the front
    (players begin with the first listed)."""
    ranked = sorted(package.variants, key=lambda v: variant_bandwidth(v, package.audio)[0])
    within = [v for v in ranked if variant_bandwidth(v, package.audio)[0] <= START_BANDWIDTH]
    start = within[-1] if within else ranked[0] if ranked else None
    if start is None:
        return []
    return [start, *(variant for variant in ranked if variant is not start)]
