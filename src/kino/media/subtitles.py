"""Subtitles: uploaded SRT or WebVTT in any common encoding out as UTF-8 WebVTT, language tags,
and the HLS media playlist that carries one track.

The format is told from the content, never from the file name, and the encoding from the bytes:
a byte-order mark, UTF-16 without one (subtitles are mostly ASCII digits, so every other byte is
zero), strict UTF-8, and only then a detector for legacy code pages (Windows-1251, GBK …).
Nothing here touches storage or the database.
"""

from __future__ import annotations

import codecs
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import langcodes
from charset_normalizer import from_bytes

from kino.media.errors import InvalidSubtitles

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
# The subtitle_tracks.language column's width.
MAX_LANGUAGE_LENGTH = 16

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Code pages subtitles are still found in, the likelier first: a tie between equally plausible
# readings goes to the earlier one. Windows-1254 comes before 1252 because the two differ only
# in letters Western languages other than Icelandic never use.
_LEGACY_ENCODINGS = (
    "cp1254",
    "cp1252",
    "cp1251",
    "cp1250",
    "cp1253",
    "cp1257",
    "cp1256",
    "cp1255",
    "cp874",
    "koi8_r",
    "gb18030",
    "big5",
    "cp932",
    "cp949",
    "iso8859_15",
)
_CONTROL_OK = frozenset("\t\n")
_ODD = frozenset({"Co", "Cf"})  # private use; invisible marks (LRM, soft hyphen)
# Scripts that share words: Japanese writes kanji and kana together without spaces.
_SCRIPT_FAMILIES = {"CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK"}

_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s+(.*?))?\s*$")
_LOOKS_LIKE_TIMING = re.compile(r"^\s*\d+:\d")
_CUE_NUMBER = re.compile(r"^\s*\d+\s*$")
_VTT_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_VTT_METADATA_BLOCK = re.compile(r"^(NOTE|STYLE|REGION)(?:[ \t].*)?$")
# SRT markup: tags, and the ASS override codes ({\an8}, {\i1}) some tools leave in.
_SRT_MARKUP = re.compile(r"<[^<>]*>|\{\\[^{}]*\}")
_SRT_KEPT_TAG = re.compile(r"^<\s*(/?)\s*([ibu])\s*>$", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:amp|lt|gt|nbsp|lrm|rlm|#\d+|#x[0-9a-fA-F]+);")


def to_webvtt(raw: bytes) -> str:
    """The uploaded subtitles as UTF-8 WebVTT text: SRT is converted (timestamps, tags), WebVTT
    is kept cue for cue (identifiers, settings, STYLE and REGION blocks). Raises
    ``InvalidSubtitles`` with a message for the uploader."""
    if len(raw) > MAX_SUBTITLE_BYTES:
        raise InvalidSubtitles(
            f"The subtitle file is larger than {MAX_SUBTITLE_BYTES // (1024 * 1024)} MiB."
        )
    text = _normalize_newlines(_decode(raw))
    if not text.strip():
        raise InvalidSubtitles("The subtitle file is empty.")
    lines = text.split("\n")
    first = next(line for line in lines if line.strip())
    if _VTT_HEADER.match(first.strip()):
        document = _parse(lines, webvtt=True)
    elif any("-->" in line for line in lines):
        document = _parse(lines, webvtt=False)
    else:
        raise InvalidSubtitles("This is neither SRT nor WebVTT: no cue timings were found.")
    if not document.shown_cues:
        raise InvalidSubtitles("The subtitle file has no cue with text.")
    return document.render()


# ---------------------------------------------------------------------------- decoding


def _decode(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _strict(raw[len(bom) :], encoding)
    utf16 = _bomless_utf16(raw)
    if utf16 is not None:
        return _strict(raw, utf16)
    if b"\x00" in raw:
        raise InvalidSubtitles("This is not a text file.")
    try:
        return _checked_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _decode_legacy(raw)


def _strict(raw: bytes, encoding: str) -> str:
    try:
        return _checked_text(raw.decode(encoding))
    except UnicodeDecodeError as error:
        raise InvalidSubtitles(
            f"The file says it is {encoding.upper()} but byte {error.start} is not."
        ) from None


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 without a byte-order mark: subtitles are mostly ASCII (timings, digits, spaces),
    so the high byte of most code units is zero, all on one side."""
    sample = raw[:4096]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    zeros_even = sample[0 : pairs * 2 : 2].count(0)
    zeros_odd = sample[1 : pairs * 2 : 2].count(0)
    if zeros_odd >= pairs * 0.3 and zeros_even <= pairs * 0.02:
        return "utf-16-le"
    if zeros_even >= pairs * 0.3 and zeros_odd <= pairs * 0.02:
        return "utf-16-be"
    return None


def _decode_legacy(raw: bytes) -> str:
    """A legacy code page. The detector is right on whole films but is easily fooled by a few
    short lines, so its guesses and the usual code pages are ranked by how plausible their text
    looks; ties go to the detector's guesses, then to its language fit (in coarse steps, as it
    means little on short text), then to the likelier code page."""
    fits = {match.encoding: round(match.coherence, 1) for match in from_bytes(raw)}
    readings: list[tuple[float, bool, float, int, str]] = []
    for encoding in dict.fromkeys([*fits, *_LEGACY_ENCODINGS]):
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        likelihood = (
            _LEGACY_ENCODINGS.index(encoding) if encoding in _LEGACY_ENCODINGS else len(fits)
        )
        implausibility = round(_implausibility(text), 2)
        fit = fits.get(encoding, 0.0)
        readings.append((implausibility, encoding not in fits, -fit, likelihood, text))
    if not readings:
        raise InvalidSubtitles("The subtitle file's text encoding could not be recognised.")
    return _checked_text(min(readings)[-1])


def _implausibility(text: str) -> float:
    """Share of non-ASCII letters in words that no language writes: scripts mixed in a word,
    capitals after small letters, Latin words made only of accented letters (Cyrillic read as
    Windows-1250 comes out as ``\u010e\u0111\u010d\u00e2\u013a\u0148``), symbols between
    letters. Control, private and invisible format characters count too."""
    odd = sum(1 for char in text if _is_control(char) or unicodedata.category(char) in _ODD)
    odd += sum(
        1
        for before, char, after in zip(text, text[1:], text[2:], strict=False)
        if not char.isascii() and unicodedata.category(char)[0] == "S"
        and before.isalpha() and after.isalpha()
    )  # fmt: skip
    letters = 0
    for word in re.findall(r"[^\W\d_]+", text):
        if word.isascii():
            continue
        letters += len(word)
        scripts = {_script(char) for char in word}
        mixed_case = any(a.islower() and b.isupper() for a, b in itertools.pairwise(word))
        all_accented = scripts == {"LATIN"} and len(word) >= 3 and not any(map(str.isascii, word))
        if len(scripts) > 1 or mixed_case or all_accented or "HALFWIDTH" in scripts:
            odd += len(word)
    return odd / max(letters, 1)


def _script(char: str) -> str:
    script = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_FAMILIES.get(script, script)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in _CONTROL_OK and char != "\r"


def _checked_text(text: str) -> str:
    """Refuse binary files; drop the odd stray control character (old DOS files end in ^Z)."""
    text = text.removeprefix("\ufeff")
    controls = sum(1 for char in text if _is_control(char))
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise InvalidSubtitles("This is not a text file.")
    if controls:
        text = "".join(char for char in text if not _is_control(char))
    return text


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------- parsing


@dataclass
class _Cue:
    start_ms: int
    end_ms: int
    identifier: str | None
    settings: str
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        timing = f"{_timestamp(self.start_ms)} --> {_timestamp(self.end_ms)}"
        if self.settings:
            timing += f" {self.settings}"
        head = [self.identifier, timing] if self.identifier else [timing]
        return "\n".join([*head, *self.text])

    @property
    def text(self) -> list[str]:
        return [line for line in self.lines if line.strip()]


@dataclass
class _Document:
    blocks: list[str] = field(default_factory=list)  # WebVTT STYLE and REGION blocks
    cues: list[_Cue] = field(default_factory=list)

    @property
    def shown_cues(self) -> list[_Cue]:
        """Cues with text and a duration, in start order (a few SRT tools write them out of
        order); the others could never be seen."""
        shown = [cue for cue in self.cues if cue.end_ms > cue.start_ms and cue.text]
        return sorted(shown, key=lambda cue: cue.start_ms)

    def render(self) -> str:
        cues = [cue.render() for cue in self.shown_cues]
        return "\n\n".join(["WEBVTT", *self.blocks, *cues]) + "\n"


def _blocks(lines: list[str]) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines, each line with its 1-based number in the file."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            block.append((number, line.rstrip()))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _parse(lines: list[str], *, webvtt: bool) -> _Document:
    document = _Document()
    blocks = _blocks(lines)
    if webvtt:
        next(blocks)  # the header block: "WEBVTT" and header lines, not carried over
    for block in blocks:
        first = block[0][1]
        if webvtt and (metadata := _VTT_METADATA_BLOCK.match(first)):
            if metadata.group(1) != "NOTE" and not document.cues:
                document.blocks.append("\n".join(line for _, line in block))
            continue
        _parse_cue_block(block, document, webvtt=webvtt)
    return document


def _parse_cue_block(block: list[tuple[int, str]], document: _Document, *, webvtt: bool) -> None:
    """One block: ``[identifier] timing text…``. A timing line inside the text starts the next
    cue (SRT files that forgot a blank line); a block without timing is the previous cue's
    text continued after a stray blank line."""
    timing_at = next((i for i, (_, line) in enumerate(block[:2]) if "-->" in line), None)
    if timing_at is None:
        _continue_previous_cue(block, document)
        return
    identifier = block[0][1].strip() if timing_at == 1 else None
    number, timing_line = block[timing_at]
    cue = _cue(number, timing_line, identifier, webvtt=webvtt)
    document.cues.append(cue)
    rest = block[timing_at + 1 :]
    for index, (_, line) in enumerate(rest):
        if "-->" in line:
            if cue.lines and _CUE_NUMBER.match(cue.lines[-1]):
                cue.lines.pop()
                index -= 1
            _parse_cue_block(rest[index:], document, webvtt=webvtt)
            return
        cue.lines.append(line if webvtt else _srt_text(line))


def _continue_previous_cue(block: list[tuple[int, str]], document: _Document) -> None:
    number, first = block[0]
    if _LOOKS_LIKE_TIMING.match(first):
        raise InvalidSubtitles(f"Line {number}: the cue timing is not valid: {first.strip()!r}.")
    if _CUE_NUMBER.match(first) and len(block) > 1:
        number, line = block[1]
        raise InvalidSubtitles(
            f"Line {number}: expected a cue timing like 00:00:01,000 --> 00:00:04,000, "
            f"found {line.strip()[:80]!r}."
        )
    if not document.cues:
        raise InvalidSubtitles(f"Line {number}: expected a cue, found {first.strip()[:80]!r}.")
    document.cues[-1].lines.extend(_srt_text(line) for _, line in block)


def _cue(number: int, line: str, identifier: str | None, *, webvtt: bool) -> _Cue:
    match = _TIMING.match(line)
    if match is None:
        raise InvalidSubtitles(f"Line {number}: the cue timing is not valid: {line.strip()!r}.")
    groups = match.groups()
    start, end = _milliseconds(groups[0:4], number), _milliseconds(groups[4:8], number)
    if end < start:
        raise InvalidSubtitles(
            f"Line {number}: the cue ends ({_timestamp(end)}) before it starts "
            f"({_timestamp(start)})."
        )
    settings = " ".join((groups[8] or "").split()) if webvtt else ""
    return _Cue(start, end, identifier, settings)


def _milliseconds(parts: tuple[str | None, ...], number: int) -> int:
    hours, minutes, seconds, fraction = parts
    if int(minutes or 0) >= 60 or int(seconds or 0) >= 60:
        raise InvalidSubtitles(f"Line {number}: minutes and seconds must be below 60.")
    millis = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)) * 1000 + millis


def _timestamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _srt_text(line: str) -> str:
    """SRT cue text as WebVTT cue text: <i>, <b> and <u> kept, every other tag (font, colour)
    and ASS override dropped, and the characters WebVTT reserves escaped."""
    parts: list[str] = []
    position = 0
    for markup in _SRT_MARKUP.finditer(line):
        parts.append(_escape(line[position : markup.start()]))
        kept = _SRT_KEPT_TAG.match(markup.group())
        if kept:
            parts.append(f"<{kept.group(1)}{kept.group(2).lower()}>")
        position = markup.end()
    parts.append(_escape(line[position:]))
    return "".join(parts)


def _escape(text: str) -> str:
    pieces = _ENTITY.split(text)
    entities = _ENTITY.findall(text)
    escaped = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in pieces]
    return "".join(e for pair in zip(escaped, [*entities, ""], strict=True) for e in pair)


# ---------------------------------------------------------------------------- languages


def check_language(code: str) -> str:
    """A BCP 47 language tag in its normal form (``pt_br`` → ``pt-BR``, ``eng`` → ``en``,
    ``zh-hant`` → ``zh-Hant``); ``InvalidSubtitles`` for anything else."""
    cleaned = code.strip().replace("_", "-")
    try:
        tag = langcodes.standardize_tag(cleaned)
    except (langcodes.LanguageTagError, ValueError):
        tag = ""
    if not tag or not langcodes.Language.get(tag).is_valid():
        raise InvalidSubtitles(
            f"{code!r} is not a language tag such as 'en', 'pt-BR' or 'zh-Hant'."
        )
    if len(tag) > MAX_LANGUAGE_LENGTH:
        raise InvalidSubtitles(f"The language tag {code!r} is longer than {MAX_LANGUAGE_LENGTH}.")
    return tag


def language_label(code: str) -> str:
    """The language's English name for a track the uploader did not name: ``en`` → "English",
    ``pt-BR`` → "Portuguese (Brazil)"; the code itself when it is not a known language."""
    try:
        language = langcodes.Language.get(code)
    except (langcodes.LanguageTagError, ValueError):
        return code
    name = str(language.display_name())
    # langcodes names what it does not know "Unknown language [qaa]".
    return name if language.is_valid() and not name.startswith("Unknown") else code


# ---------------------------------------------------------------------------- HLS


def subtitle_playlist(vtt_name: str, duration: float) -> str:
    """An HLS media playlist whose one WebVTT segment (``vtt_name``, relative to the playlist)
    covers the whole film. The WebVTT has no X-TIMESTAMP-MAP, which HLS reads as cue time 0
    at media time 0: the fMP4 ladder starts at 0."""
    if not vtt_name or any(char in vtt_name for char in '\r\n"') or duration <= 0:
        raise ValueError(f"no subtitle playlist for {vtt_name!r} lasting {duration}")
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{duration:.3f},",
            vtt_name,
            "#EXT-X-ENDLIST",
            "",
        ]
    )
