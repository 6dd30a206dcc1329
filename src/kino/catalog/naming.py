"""How titles and names become slugs and sort keys."""

from __future__ import annotations

import re
import unicodedata

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
