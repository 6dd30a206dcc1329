"""Catalog shapes in and out of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kino.catalog.models import Access, CreditRole, MovieStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Year = Annotated[int, Field(ge=1870, le=2100)]
AgeRating = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class GenreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str


class GenreUsage(GenreRead):
    """A genre and how many films have it (``films``, drafts included; ``published``)."""

    films: int
    published: int


class MovieSummary(BaseModel):
    """A film in a list: enough for a card (title, year, genres, rating)."""

    id: int
    slug: str
    title: str
    year: int | None
    runtime_minutes: int | None
    age_rating: str | None
    status: MovieStatus
    access: Access
    genres: list[str]
    popularity: int
    rating_avg: float | None
    rating_count: int


class PersonSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str


class CreditRead(BaseModel):
    person: PersonSummary
    role: CreditRole
    character: str | None
    position: int


class MovieRead(BaseModel):
    id: int
    slug: str
    title: str
    original_title: str | None
    year: int | None
    release_date: date | None
    runtime_minutes: int | None
    synopsis: str | None
    age_rating: str | None
    status: MovieStatus
    access: Access
    popularity: int
    rating_avg: float | None
    rating_count: int
    like_count: int
    genres: list[GenreRead]
    countries: list[str]
    languages: list[str]
    credits: list[CreditRead]
    created_at: datetime
    updated_at: datetime
    # For a signed-in caller only (null otherwise): what they have done with this film.
    liked: bool | None = None
    my_rating: int | None = None
    favorite: bool | None = None


class CreditWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int = Field(gt=0, le=2**63 - 1)
    role: CreditRole
    character: Annotated[str, StringConstraints(max_length=300)] | None = None
    position: int = Field(default=0, ge=0, le=10_000)


class MovieCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    original_title: Title | None = None
    year: Year | None = None
    release_date: date | None = None
    runtime_minutes: int | None = Field(default=None, ge=1, le=2000)
    synopsis: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    age_rating: AgeRating | None = None
    status: MovieStatus = MovieStatus.DRAFT
    access: Access = Access.FREE
    genres: list[Name] = Field(default_factory=list, max_length=20)
    countries: list[Name] = Field(default_factory=list, max_length=50)
    languages: list[Name] = Field(default_factory=list, max_length=50)
    credits: list[CreditWrite] = Field(default_factory=list, max_length=500)


class MovieUpdate(BaseModel):
    """Fields to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    original_title: Title | None = None
    year: Year | None = None
    release_date: date | None = None
    runtime_minutes: int | None = Field(default=None, ge=1, le=2000)
    synopsis: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    age_rating: AgeRating | None = None
    status: MovieStatus | None = None
    access: Access | None = None
    genres: list[Name] | None = Field(default=None, max_length=20)
    countries: list[Name] | None = Field(default=None, max_length=50)
    languages: list[Name] | None = Field(default=None, max_length=50)
    credits: list[CreditWrite] | None = Field(default=None, max_length=500)


class FilmographyEntry(BaseModel):
    movie: MovieSummary
    role: CreditRole
    character: str | None


class PersonRead(BaseModel):
    id: int
    slug: str
    name: str
    bio: str | None
    filmography: list[FilmographyEntry]


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Title
    bio: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class PersonUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Title | None = None
    bio: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class SearchResults(BaseModel):
    query: str
    movies: list[MovieSummary]
    people: list[PersonSummary]
