"""How titles and names become slugs and sort keys."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

LEADING_ARTICLES = ("the ", "a ", "an ")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case, without accents: "Tchéky" → "tcheky"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def slugify(text: str, *, max_length: int = 300) -> str:
    slug = _NON_WORD.sub("-", fold(text)).strip("-")
    return slug[:max_length].rstrip("-") or "untitled"


def sort_title(title: str) -> str:
    """What ``sort=title`` orders by: folded, leading article dropped ("The Matrix" → "matrix")."""
    key = fold(title).strip()
    for article in LEADING_ARTICLES:
        if key.startswith(article) and len(key) > len(article):
            return key[len(article) :].lstrip()
    return key


class SlugAllocator:
    """Hands out slugs not yet taken: ``base``, then ``base-<year>``, then ``base-<year>-2``…
    A counter per stem keeps a thousand films called "Hamlet" from probing 1, 2, 3… each."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self._next_number: dict[str, int] = {}

    def allocate(self, title_or_name: str, *, year: int | None = None) -> str:
        base = slugify(title_or_name)
        candidates = [base] if year is None else [base, f"{base}-{year}"]
        for candidate in candidates:
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        stem = candidates[-1]
        number = self._next_number.get(stem, 2)
        while f"{stem}-{number}" in self.taken:
            number += 1
        self._next_number[stem] = number + 1
        slug = f"{stem}-{number}"
        self.taken.add(slug)
        return slug
