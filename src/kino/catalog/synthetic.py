"""Synthetic catalogs for benchmarks: ``kino seed --titles N``.

Film ``n`` (1…N) has the external id ``synthetic-<n>``, so seeding again with a larger N adds
only the missing films. Films are made in blocks of ``BLOCK``, each from a random generator
seeded by the block's first number: a block whose films all exist is skipped without making it.
People come from a pool of about N/2 names, drawn with a skew so that a few appear in hundreds
of films and most in a handful, as in a real catalog.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence, Set
from datetime import date
from typing import TypeVar

from kino.catalog.search import SearchIndex
from kino.catalog.seed import FilmRecord, SeedReport, load_films
from kino.core.db import Database

T = TypeVar("T")

EXTERNAL_ID_PREFIX = "synthetic-"
BLOCK = 1_000
FIRST_YEAR, LAST_YEAR = 1920, 2025

GENRES = (
    "Drama", "Comedy", "Thriller", "Romance", "Action", "Crime", "Horror", "Documentary",
    "Adventure", "Sci-Fi", "Mystery", "Fantasy", "Family", "Biography", "Animation", "History",
    "War", "Music", "Western", "Musical", "Sport",
)  # fmt: skip
GENRE_WEIGHTS = tuple(itertools.accumulate(range(len(GENRES), 0, -1)))  # drama most, sport least
# (country, weight, its main language): a catalog is mostly American, with a long tail.
COUNTRIES = (
    ("United States", 40, "English"), ("United Kingdom", 9, "English"), ("France", 8, "French"),
    ("Germany", 5, "German"), ("India", 5, "Hindi"), ("Japan", 4, "Japanese"),
    ("Italy", 4, "Italian"), ("Canada", 4, "English"), ("Spain", 3, "Spanish"),
    ("South Korea", 2, "Korean"), ("China", 2, "Mandarin"), ("Mexico", 2, "Spanish"),
    ("Sweden", 2, "Swedish"), ("Australia", 2, "English"), ("Brazil", 1, "Portuguese"),
    ("Denmark", 1, "Danish"), ("Argentina", 1, "Spanish"), ("Poland", 1, "Polish"),
    ("Nigeria", 1, "English"), ("Iran", 1, "Persian"), ("Turkey", 1, "Turkish"),
    ("Russia", 1, "Russian"), ("Egypt", 1, "Arabic"),
)  # fmt: skip
COUNTRY_NAMES = tuple(country for country, _weight, _language in COUNTRIES)
COUNTRY_WEIGHTS = tuple(itertools.accumulate(weight for _country, weight, _language in COUNTRIES))
MAIN_LANGUAGE = {country: language for country, _weight, language in COUNTRIES}
SECOND_LANGUAGES = ("English", "French", "Spanish", "German", "Italian", "Russian", "Arabic")
AGE_RATINGS = (None, "G", "PG", "PG-13", "R", "NC-17")
AGE_RATING_WEIGHTS = tuple(itertools.accumulate((50, 5, 15, 15, 14, 1)))

ADJECTIVES = (
    "Silent", "Last", "Broken", "Golden", "Hidden", "Lost", "Dark", "Crimson", "Endless", "Wild",
    "Secret", "Frozen", "Burning", "Hollow", "Distant", "Forgotten", "Quiet", "Bitter", "Brave",
    "Electric", "Fallen", "Final", "First", "Glass", "Iron", "Little", "Long", "Midnight",
    "Northern", "Pale", "Perfect", "Red", "Restless", "Savage", "Scarlet", "Second", "Shallow",
    "Sleeping", "Stolen", "Strange", "Sweet", "Tender", "Velvet", "Wandering", "White",
    "Wicked", "Young", "Blue", "Cold", "Eternal", "Empty", "Furious", "Gentle", "Lonely",
)  # fmt: skip
NOUNS = (
    "River", "Night", "City", "Heart", "Road", "House", "Summer", "Shadow", "Garden", "Storm",
    "Kingdom", "Mirror", "Promise", "Stranger", "Island", "Letter", "Song", "Dream", "Empire",
    "Harbor", "Hunter", "Journey", "Legacy", "Machine", "Memory", "Mountain", "Ocean", "Orchard",
    "Passage", "Prophecy", "Queen", "Rain", "Sky", "Soldier", "Station", "Sun", "Tide", "Tower",
    "Valley", "Voice", "Wolf", "Witness", "Winter", "Fire", "Bridge", "Crown", "Desert",
    "Detective", "Doctor", "Engine", "Forest", "Ghost", "Horizon", "Lighthouse", "Moon", "Train",
    "Dance", "Debt", "Echo", "Frontier", "Hotel", "Inheritance", "Lake", "Map", "Orchestra",
)  # fmt: skip
PLACES = (
    "Paris", "Tokyo", "Berlin", "Havana", "Lisbon", "Cairo", "Marseille", "Naples", "Montana",
    "Brooklyn", "Alaska", "Bombay", "Vienna", "Shanghai", "the North", "the Valley", "Winter",
    "the Desert", "Rome", "Istanbul", "Casablanca", "Texas", "Seoul", "Oslo", "Dublin",
)  # fmt: skip
SEQUELS = ("II", "III", "2", "Part Two", "Returns", "Reloaded")
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jack", "Kira",
    "Leo", "Maya", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Will", "Xenia", "Yusuf", "Zoe", "Amir", "Bianca", "Carlos", "Dana", "Emil", "Fatima",
    "Gustav", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nadia", "Oscar", "Priya",
    "Rafael", "Sofia", "Tomas", "Ursula", "Victor", "Wen", "Yara", "Zeynep", "Arjun", "Chloé",
    "Dmitri", "Eva", "François", "Giulia", "Henrik", "Ingrid", "Jonas", "Lucía", "Mateo", "Nina",
    "Omar", "Pilar", "Rui", "Sanjay", "Theo", "Valentina", "Wojciech", "Yuki", "Agnès", "Björn",
)  # fmt: skip
LAST_NAMES = (
    "Adler", "Baker", "Castillo", "Dubois", "Eriksson", "Fischer", "García", "Hansen", "Ito",
    "Jensen", "Kowalski", "Laurent", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero",
    "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmermann",
    "Andersson", "Bianchi", "Chen", "Diaz", "Evans", "Ferrari", "Gomez", "Horvat", "Iyer",
    "Johansson", "Kim", "Lopez", "Müller", "Novak", "Olsen", "Park", "Reyes", "Silva", "Takahashi",
    "Urban", "Virtanen", "Weber", "Young", "Zhou", "Abbott", "Brennan", "Costa", "Delgado",
    "Esposito", "Fontaine", "Gallagher", "Hoffmann", "Ibrahim", "Jovanović", "Kaur", "Lindqvist",
    "Marchetti", "Nilsson", "O'Brien", "Pereira", "Romano", "Sato", "Tremblay", "Vasquez",
    "Wagner", "Ziegler", "Ahmed", "Bauer", "Carvalho", "Dimitrov", "Fernández", "Grant",
    "Haddad", "Kovács", "Larsen", "Mendes", "Nowak", "Ortiz", "Popescu", "Richter", "Santos",
)  # fmt: skip
INITIALS = tuple("ABCDEFGHJKLMNPRSTVW")
NAME_SUFFIXES = ("", " Jr.", " II", " III", " IV", " V")


async def seed_synthetic(
    db: Database,
    *,
    titles: int,
    search_index: SearchIndex | None = None,
    progress: Callable[[SeedReport], None] | None = None,
) -> SeedReport:
    """Make the catalog hold the synthetic films 1…``titles``, adding only the missing ones."""
    report = await load_films(
        db,
        lambda known: synthetic_films(titles, known=known),
        search_index=search_index,
        progress=progress,
    )
    report.skipped = titles - report.films  # whole blocks already there were never made
    return report


def synthetic_films(count: int, *, known: Set[str] = frozenset()) -> Iterator[FilmRecord]:
    """Films 1…``count``, leaving out whole blocks whose external ids are all ``known``."""
    pool = max(count // 2, 10)
    for first in range(1, count + 1, BLOCK):
        numbers = range(first, min(first + BLOCK, count + 1))
        if all(external_id(number) in known for number in numbers):
            continue
        rng = random.Random(first)
        for number in numbers:
            yield _film(rng, number, pool)


def external_id(number: int) -> str:
    return f"{EXTERNAL_ID_PREFIX}{number}"


def person_name(index: int) -> str:
    """A distinct name for every index: every first name with every last name, then with
    middle initials, then with suffixes ("Jr.", "II" …), then with numbers."""
    index, first = divmod(index, len(FIRST_NAMES))
    index, last = divmod(index, len(LAST_NAMES))
    name = f"{FIRST_NAMES[first]} {LAST_NAMES[last]}"
    if index == 0:
        return name
    generation, initial = divmod(index - 1, len(INITIALS))
    name = f"{FIRST_NAMES[first]} {INITIALS[initial]}. {LAST_NAMES[last]}"
    if generation < len(NAME_SUFFIXES):
        return name + NAME_SUFFIXES[generation]
    return f"{name} {generation}"


def _film(rng: random.Random, number: int, pool: int) -> FilmRecord:
    # Later years are more common, as in any catalog: the power skews toward LAST_YEAR.
    year = FIRST_YEAR + int((LAST_YEAR - FIRST_YEAR + 1) * rng.random() ** 0.6)
    people = _distinct(lambda: person_name(int(pool * rng.random() ** 1.5)), rng.randint(4, 6))
    countries = _distinct(lambda: _pick(rng, COUNTRY_NAMES, COUNTRY_WEIGHTS), _one_or_two(rng))
    languages: tuple[str, ...] = (MAIN_LANGUAGE[countries[0]],)
    if rng.random() < 0.2:  # a second language, when it differs from the first
        languages = tuple(dict.fromkeys((*languages, rng.choice(SECOND_LANGUAGES))))
    return FilmRecord(
        external_id=external_id(number),
        title=_title(rng),
        year=year,
        release_date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
        runtime_minutes=max(60, min(240, int(rng.gauss(105, 20)))),
        age_rating=_pick(rng, AGE_RATINGS, AGE_RATING_WEIGHTS),
        # Pareto: most films are seen by few, a handful by very many.
        popularity=int(100 * rng.paretovariate(1.2)) - 100,
        genres=_distinct(lambda: _pick(rng, GENRES, GENRE_WEIGHTS), rng.randint(1, 3)),
        countries=countries,
        languages=languages,
        directors=people[:1],
        cast=people[1:],
    )


def _one_or_two(rng: random.Random) -> int:
    return 2 if rng.random() < 0.2 else 1


def _title(rng: random.Random) -> str:
    adjective, noun, other = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NOUNS)
    pattern = rng.randrange(7)
    if pattern == 0:
        title = f"The {adjective} {noun}"
    elif pattern == 1:
        title = f"{adjective} {noun}"
    elif pattern == 2:
        title = f"The {noun} of {rng.choice(PLACES)}"
    elif pattern == 3:
        article = "An" if noun[0] in "AEIOU" else "A"
        title = f"{article} {noun} for {rng.choice(FIRST_NAMES)}"
    elif pattern == 4:
        title = f"The {noun}'s {other}"
    elif pattern == 5:
        title = f"{noun} of the {adjective} {other}"
    else:
        title = f"{adjective} {noun} in {rng.choice(PLACES)}"
    if rng.random() < 0.04:
        title = f"{title} {rng.choice(SEQUELS)}"
    return title


def _pick(rng: random.Random, values: Sequence[T], cumulative_weights: Sequence[int]) -> T:
    """``rng.choices(values, cum_weights=…)[0]``, at a third of the cost."""
    return values[bisect.bisect(cumulative_weights, rng.random() * cumulative_weights[-1])]


def _distinct(draw: Callable[[], T], count: int) -> tuple[T, ...]:
    """``count`` different values from ``draw`` (fewer only if it keeps repeating itself)."""
    values: dict[T, None] = {}
    for _ in range(count * 10):
        if len(values) == count:
            break
        values[draw()] = None
    return tuple(values)
