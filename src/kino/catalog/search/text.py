"""Search text, the same on every engine: how titles, names and queries become words, and
which vocabulary words a query word may stand for when it carries a typo.

Both adapters store and query only what these functions produce, so "Tchéky", "TCHEKY" and
"tcheky" are one word to SQLite and to PostgreSQL alike, and no engine-side tokenizer, stemmer
or accent table ever decides what matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz.distance import DamerauLevenshtein

ONE_TYPO_FROM = 5  # letters in a query word before one typo is forgiven
TWO_TYPOS_FROM = 9  # … and two
# Typo candidates are found by "deletion keys": a vocabulary word is filed under its first
# KEY_PREFIX letters with up to two of them deleted; a query word looks up its own keys. Two
# words within k edits always share a key made with at most k deletions on each side.
KEY_PREFIX = 7
MAX_WORD_LENGTH = 60  # longer "words" are noise (hashes, URLs): matched exactly, never fuzzily
MAX_QUERY_WORDS = 12
MIN_PREFIX = 2  # letters the word being typed needs to match longer words ("t" would match all)

# Letters that carry no combining mark to drop, so NFKD leaves them whole.
_LETTERS = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ł": "l", "ŧ": "t", "þ": "th"}
    | {"æ": "ae", "œ": "oe", "ĳ": "ij", "ŋ": "n", "ƒ": "f"}
)
# ' and its look-alikes: right and left single quotation marks, modifier letter apostrophe, the
# grave accent.
_APOSTROPHES = "'\u2019\u2018\u02bc`"
# A word: letters and digits, possibly joined by apostrophes ("l'odyssee", "o'brien").
_WORD = re.compile(rf"[^\W_]+(?:[{_APOSTROPHES}][^\W_]+)*")
_APOSTROPHE = re.compile(rf"[{_APOSTROPHES}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# The blocks of combining diacritical marks (category M throughout): the accents of Latin,
# Greek and Cyrillic letters once NFKD has taken them apart.
_COMMON_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Lower case without accents: "Tchéky KARYO" → "tcheky karyo"."""
    if text.isascii():
        return text.lower()
    text = _strip_marks(unicodedata.normalize("NFKD", text)).casefold()
    if text.isascii():
        return text
    # Case folding can itself produce decomposable letters ("İ" → "i̇"); fold those too.
    return _strip_marks(unicodedata.normalize("NFKD", text)).translate(_LETTERS)


def _strip_marks(text: str) -> str:
    """``text`` without combining marks: the common ones by one regex, any others by their
    Unicode category, looked for only in what is still not ASCII."""
    text = _COMMON_MARKS.sub("", text)
    return text if text.isascii() else _NON_ASCII.sub(_without_marks, text)


def _without_marks(run: re.Match[str]) -> str:
    return "".join(char for char in run[0] if not unicodedata.category(char).startswith("M"))


def query_words(text: str) -> list[str]:
    """The words of a query or of an exact key: "Schindler's List" → schindlers, list."""
    return [_APOSTROPHE.sub("", word) for word in _WORD.findall(fold(text))]


def document_words(text: str) -> list[str]:
    """The words a title or a name is found by: a word joined by an apostrophe is indexed whole
    and in parts, so "L'Odyssée" is found by "lodyssee" and by "odyssee"."""
    found = _WORD.findall(fold(text))
    if not _APOSTROPHE.search(text):
        return found
    words: list[str] = []
    for word in found:
        parts = _APOSTROPHE.split(word)
        words.append("".join(parts))
        if len(parts) > 1:
            words.extend(part for part in parts if part)
    return words


def exact_key(text: str | None) -> str:
    """What an exact title match compares: the query words, space-separated."""
    return " ".join(query_words(text)) if text else ""


def typo_budget(word: str) -> int:
    if len(word) > MAX_WORD_LENGTH:
        return 0
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    return 1 if len(word) >= ONE_TYPO_FROM else 0


def deletion_keys(word: str, max_deletions: int) -> dict[str, int]:
    """Each key of ``word`` with the fewest deletions that make it."""
    stem = word[:KEY_PREFIX]
    keys: dict[str, int] = {}
    for deletions in range(max_deletions + 1):
        for removed in combinations(range(len(stem)), deletions):
            key = "".join(char for index, char in enumerate(stem) if index not in removed)
            keys.setdefault(key, deletions)
    return keys


def term_key_budget(term: str) -> int:
    """How many deletions a vocabulary word is filed under: as many as the longest-budget query
    word that could reach it (a 5-letter query with a typo reaches 4-letter words, a 9-letter
    query with two reaches 7-letter ones)."""
    if len(term) > MAX_WORD_LENGTH + 2:
        return -1
    if len(term) >= TWO_TYPOS_FROM - 2:
        return 2
    return 1 if len(term) >= ONE_TYPO_FROM - 1 else -1


def typos_between(word: str, term: str, budget: int) -> int | None:
    """The edits (Damerau-Levenshtein) from ``word`` to ``term``, or None beyond ``budget``."""
    distance = DamerauLevenshtein.distance(word, term, score_cutoff=budget)
    return distance if distance <= budget else None


@dataclass(frozen=True, slots=True)
class QueryWord:
    text: str
    prefix: bool  # the word being typed (2+ letters): it also matches longer words it begins
    budget: int  # typos forgiven

    @property
    def lengths(self) -> tuple[int, int]:
        """Lengths of vocabulary words it may stand for with its typos."""
        return max(1, len(self.text) - self.budget), len(self.text) + self.budget


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    words: tuple[QueryWord, ...]
    key: str  # compared with the exact keys of titles

    @property
    def fuzzy_words(self) -> tuple[QueryWord, ...]:
        return tuple(word for word in self.words if word.budget)


def parse_query(query: str) -> ParsedQuery | None:
    """The words to look for, or None when the query has none (only punctuation, say)."""
    # A repeated word counts once, where it was typed last (it may be the one being typed).
    texts = list(dict.fromkeys(reversed(query_words(query))))[::-1][:MAX_QUERY_WORDS]
    if not texts:
        return None
    last = len(texts) - 1
    words = tuple(
        QueryWord(text, prefix=index == last and len(text) >= MIN_PREFIX, budget=typo_budget(text))
        for index, text in enumerate(texts)
    )
    return ParsedQuery(words=words, key=" ".join(query_words(query)))


def vocabulary_of(*texts: str) -> frozenset[str]:
    """The distinct words of space-separated document texts."""
    return frozenset(word for text in texts for word in text.split())
