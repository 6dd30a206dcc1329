# ruff: noqa: RUF001 - the test data is text in Cyrillic, Greek and CJK scripts
from __future__ import annotations

import codecs
import math
import re
from pathlib import Path

import pytest

from kino.media.errors import InvalidSubtitles
from kino.media.subtitles import (
    MAX_SUBTITLE_BYTES,
    check_language,
    language_label,
    subtitle_playlist,
    to_webvtt,
)

RUSSIAN_SRT = (
    "1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    "Привет, мир\r\n"
    "\r\n"
    "2\r\n"
    "00:00:03,000 --> 00:00:04,250\r\n"
    "Как дела?\r\n"
    "Всё хорошо, спасибо.\r\n"
)
RUSSIAN_VTT = (
    "WEBVTT\n\n"
    "1\n00:00:01.000 --> 00:00:02.500\nПривет, мир\n\n"
    "2\n00:00:03.000 --> 00:00:04.250\nКак дела?\nВсё хорошо, спасибо.\n"
)


def cues(vtt: str) -> list[tuple[str, str, list[str]]]:
    """(start, end, text lines) of every cue in a WebVTT document."""
    found = []
    for block in vtt.split("\n\n")[1:]:
        lines = block.strip("\n").split("\n")
        index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if index is None:
            continue
        start, _, end = lines[index].partition(" --> ")
        found.append((start, end.split(" ")[0], lines[index + 1 :]))
    return found


def write(tmp_path: Path, name: str, data: bytes) -> bytes:
    """Uploads arrive as files: write the bytes and read them back as the service would."""
    path = tmp_path / name
    path.write_bytes(data)
    return path.read_bytes()


# ---------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("cp1251", b""),
    ],
)
def test_every_encoding_comes_out_as_the_same_utf8_webvtt(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    raw = write(tmp_path, "film.srt", bom + RUSSIAN_SRT.encode(encoding))

    assert to_webvtt(raw) == RUSSIAN_VTT


def test_a_single_short_cyrillic_cue_in_windows_1251_is_read_as_cyrillic(tmp_path: Path) -> None:
    raw = write(
        tmp_path, "short.srt", "1\n00:00:01,000 --> 00:00:02,000\nПривет, мир\n".encode("cp1251")
    )

    assert cues(to_webvtt(raw)) == [("00:00:01.000", "00:00:02.000", ["Привет, мир"])]


@pytest.mark.parametrize(
    ("encoding", "lines"),
    [
        ("cp1252", ["Ça va, café?", "Où étiez-vous hier soir?"]),
        ("cp1250", ["Zażółć gęślą jaźń.", "Příliš žluťoučký kůň úpěl ďábelské ódy."]),
        ("cp1253", ["Γειά σου κόσμε", "Τι κάνεις; Είμαι καλά, ευχαριστώ."]),
        ("cp1254", ["Günaydın, nasılsın?", "Şimdi çık buradan, lütfen."]),
        ("gbk", ["你好，世界。", "你昨天晚上在哪里？我不知道。"]),
        ("shift_jis", ["こんにちは世界", "昨日の夜はどこにいたの？わからない。"]),
    ],
)
def test_legacy_code_pages_are_recognised(encoding: str, lines: list[str]) -> None:
    srt = "".join(
        f"{n}\n00:00:0{n},000 --> 00:00:0{n},900\n{text}\n\n" for n, text in enumerate(lines, 1)
    )

    assert [text for _, _, text in cues(to_webvtt(srt.encode(encoding)))] == [[x] for x in lines]


def test_a_file_that_claims_utf8_with_a_bom_but_is_not_is_rejected() -> None:
    with pytest.raises(InvalidSubtitles, match="UTF-8"):
        to_webvtt(codecs.BOM_UTF8 + RUSSIAN_SRT.encode("cp1251"))


# ---------------------------------------------------------------------------- SRT


def test_srt_timestamps_tags_and_numbers_become_webvtt() -> None:
    srt = (
        "7\n"
        "00:01:02,003 --> 01:02:03,400 X1:100 X2:200 Y1:10 Y2:20\n"
        '<font color="#ff0000"><I>Red</I></font> and <b>bold</b> <u>under</u> <span>x</span>\n'
        "{\\an8}Fish & chips <3 &amp; more\n"
    )

    vtt = to_webvtt(srt.encode())

    assert vtt == (
        "WEBVTT\n\n"
        "7\n"
        "00:01:02.003 --> 01:02:03.400\n"
        "<i>Red</i> and <b>bold</b> <u>under</u> x\n"
        "Fish &amp; chips &lt;3 &amp; more\n"
    )


def test_sloppy_srt_missing_and_stray_blank_lines_and_cues_out_of_order() -> None:
    srt = (
        "\n\n2\n00:00:05,000 --> 00:00:06,000\nsecond\n"
        "3\n00:00:07.5 --> 00:00:08\nthird, first line\n\n\ncontinued after a stray blank\n\n"
        "1\n00:00:01,000 --> 00:00:02,000\nfirst\n\n"
        "4\n00:00:09,000 --> 00:00:09,000\nnever shown: no duration\n\n"
        "5\n00:00:10,000 --> 00:00:11,000\n<font color=red></font>\n"
    )

    assert cues(to_webvtt(srt.encode())) == [
        ("00:00:01.000", "00:00:02.000", ["first"]),
        ("00:00:05.000", "00:00:06.000", ["second"]),
        ("00:00:07.500", "00:00:08.000", ["third, first line", "continued after a stray blank"]),
    ]


def test_cr_only_line_endings_are_understood() -> None:
    srt = "1\r00:00:01,000 --> 00:00:02,000\rHello\rthere\r"

    assert cues(to_webvtt(srt.encode())) == [("00:00:01.000", "00:00:02.000", ["Hello", "there"])]


# ---------------------------------------------------------------------------- WebVTT


def test_webvtt_cues_ids_settings_and_styles_are_kept() -> None:
    vtt = (
        "\ufeffWEBVTT - a film\r\nKind: captions\r\n\r\n"
        "STYLE\r\n::cue(.yellow) { color: yellow }\r\n\r\n"
        "NOTE a comment\r\nspanning lines\r\n\r\n"
        "intro\r\n00:01.000 --> 00:02.000 align:start   line:10%\r\n"
        "<v Anna><c.yellow>Hello</c> &amp; welcome</v>\r\n\r\n"
        "00:00:03.000 --> 00:00:04.000\r\n<ruby>漢<rt>kan</rt></ruby>\r\n"
    )

    assert to_webvtt(vtt.encode()) == (
        "WEBVTT\n\n"
        "STYLE\n::cue(.yellow) { color: yellow }\n\n"
        "intro\n00:00:01.000 --> 00:00:02.000 align:start line:10%\n"
        "<v Anna><c.yellow>Hello</c> &amp; welcome</v>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<ruby>漢<rt>kan</rt></ruby>\n"
    )


def test_a_webvtt_file_named_srt_is_still_read_as_webvtt(tmp_path: Path) -> None:
    raw = write(
        tmp_path, "film.srt", b"WEBVTT\n\n00:01.000 --> 00:02.000 line:0\nHi <i>there</i>\n"
    )

    assert to_webvtt(raw) == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0\nHi <i>there</i>\n"


# ---------------------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"\r\n \n\t\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (bytes(range(256)) * 8, "not a text file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x01" * 50, "not a text file"),
        (b"Just a letter.\nNo timings here.\n", "no cue timings"),
        (b"WEBVTT\n\nNOTE only a note\n", "no cue"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\n", "no cue"),
    ],
)
def test_files_that_are_not_subtitles_are_rejected(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidSubtitles, match=message):
        to_webvtt(raw)


FIRST_CUE = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n"


@pytest.mark.parametrize(
    ("srt", "message"),
    [
        (FIRST_CUE + "2\n00:00:03,000 --> 00:0x:04,000\nbad\n", "Line 6"),
        (FIRST_CUE + "2\n00:00:03,000 -> 00:00:04,000\nbad\n", "Line 6"),
        (FIRST_CUE + "2\n00:00:03,000 00:00:04,000\nbad\n", "Line 6"),
        (FIRST_CUE + "2\nno timing at all\n", "Line 6"),
        (FIRST_CUE + "2\n00:00:03,000 --> 00:00:61,000\nx\n", "Line 6"),
        ("1\n00:00:05,000 --> 00:00:04,000\nbackwards\n", "Line 2: the cue ends"),
        ("Some preface\n\n1\n00:00:01,000 --> 00:00:02,000\nok\n", "Line 1"),
    ],
)
def test_a_malformed_cue_is_rejected_naming_its_line(srt: str, message: str) -> None:
    with pytest.raises(InvalidSubtitles, match=message):
        to_webvtt(srt.encode())


def test_a_file_over_the_size_limit_is_rejected_before_it_is_read() -> None:
    cue = b"1\n00:00:01,000 --> 00:00:02,000\nline\n\n"
    raw = cue * (MAX_SUBTITLE_BYTES // len(cue) + 1)

    with pytest.raises(InvalidSubtitles, match="larger than 5 MiB"):
        to_webvtt(raw)
    assert to_webvtt(raw[:MAX_SUBTITLE_BYTES].rsplit(b"\n\n", 1)[0]).startswith("WEBVTT\n\n1\n")


def test_the_error_is_a_422_with_its_code() -> None:
    with pytest.raises(InvalidSubtitles) as caught:
        to_webvtt(b"")

    assert (caught.value.status, caught.value.code) == (422, "invalid_subtitles")


# ---------------------------------------------------------------------------- languages


@pytest.mark.parametrize(
    ("given", "tag", "label"),
    [
        ("en", "en", "English"),
        ("EN", "en", "English"),
        ("eng", "en", "English"),
        ("pt-BR", "pt-BR", "Portuguese (Brazil)"),
        ("pt_br", "pt-BR", "Portuguese (Brazil)"),
        (" zh-hant ", "zh-Hant", "Chinese (Traditional)"),
        ("es-419", "es-419", "Spanish (Latin America)"),
        ("ru", "ru", "Russian"),
    ],
)
def test_language_tags_are_normalized_and_named(given: str, tag: str, label: str) -> None:
    assert check_language(given) == tag
    assert language_label(tag) == label


@pytest.mark.parametrize("given", ["", "english", "xx", "en us", "en-", "a", "x-private-only-tags"])
def test_what_is_not_a_language_tag_is_rejected(given: str) -> None:
    with pytest.raises(InvalidSubtitles, match="language tag"):
        check_language(given)


def test_an_unknown_code_is_its_own_label() -> None:
    assert language_label("qaa") == "qaa"
    assert language_label("not a tag") == "not a tag"


# ---------------------------------------------------------------------------- HLS


@pytest.mark.parametrize("duration", [0.4, 5.5, 7200.0, 5999.96])
def test_the_subtitle_playlist_is_one_segment_covering_the_film(duration: float) -> None:
    playlist = subtitle_playlist("en.vtt", duration)

    lines = playlist.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    target = int(next(x for x in lines if x.startswith("#EXT-X-TARGETDURATION:")).split(":")[1])
    extinf = [float(m) for m in re.findall(r"^#EXTINF:([\d.]+),$", playlist, re.MULTILINE)]
    assert extinf == [pytest.approx(duration, abs=0.001)]
    assert round(extinf[0]) <= target == max(1, math.ceil(duration))
    assert [x for x in lines if not x.startswith("#")] == ["en.vtt"]


def test_a_playlist_for_nothing_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no subtitle playlist"):
        subtitle_playlist("en.vtt", 0)
    with pytest.raises(ValueError, match="no subtitle playlist"):
        subtitle_playlist("en.vtt\n#EXT-X-ENDLIST", 10)
