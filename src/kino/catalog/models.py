from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kino.core.db import Base, BigIntId, TimestampMixin, str_enum


class MovieStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Access(enum.StrEnum):
    FREE = "free"
    REGISTERED = "registered"
    SUBSCRIPTION = "subscription"
    RENTAL = "rental"
    PURCHASE = "purchase"


class CreditRole(enum.StrEnum):
    DIRECTOR = "director"
    WRITER = "writer"
    ACTOR = "actor"
    PRODUCER = "producer"
    COMPOSER = "composer"


movie_genres = Table(
    "movie_genres",
    Base.metadata,
    Column("movie_id", ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_movie_genres_genre_id", "genre_id"),
)


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class MovieCountry(Base):
    __tablename__ = "movie_countries"
    __table_args__ = (Index("ix_movie_countries_name", "name"),)

    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MovieLanguage(Base):
    __tablename__ = "movie_languages"
    __table_args__ = (Index("ix_movie_languages_name", "name"),)

    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Movie(TimestampMixin, Base):
    __tablename__ = "movies"
    __table_args__ = (
        # One index per sort order; the trailing id makes paging stable and index-only.
        Index("ix_movies_status_year", "status", "year", "id"),
        Index("ix_movies_status_popularity", "status", "popularity", "id"),
        Index("ix_movies_status_rating", "status", "rating_avg", "rating_count", "id"),
        Index("ix_movies_status_created_at", "status", "created_at", "id"),
        Index("ix_movies_status_sort_title", "status", "sort_title", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(320), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    # Lower-cased, accents and a leading article removed: what "sort=title" orders by.
    sort_title: Mapped[str] = mapped_column(String(300))
    original_title: Mapped[str | None] = mapped_column(String(300), default=None)
    year: Mapped[int | None] = mapped_column(Integer, default=None)
    release_date: Mapped[date | None] = mapped_column(Date, default=None)
    runtime_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    synopsis: Mapped[str | None] = mapped_column(Text, default=None)
    age_rating: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[MovieStatus] = mapped_column(
        str_enum(MovieStatus, "movie_status"),
        default=MovieStatus.DRAFT,
    )
    access: Mapped[Access] = mapped_column(str_enum(Access, "movie_access"), default=Access.FREE)
    popularity: Mapped[int] = mapped_column(BigInteger, default=0)
    rating_avg: Mapped[float | None] = mapped_column(Float, default=None)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    # Kept exact by the community domain in the transaction that adds or removes a like.
    like_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The id of the film in the source it was imported from (an IMDb id for the demo data),
    # so re-importing updates instead of duplicating.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)

    genres: Mapped[list[Genre]] = relationship(secondary=movie_genres, lazy="raise")
    countries: Mapped[list[MovieCountry]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by=MovieCountry.position
    )
    languages: Mapped[list[MovieLanguage]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by=MovieLanguage.position
    )
    credits: Mapped[list[Credit]] = relationship(
        back_populates="movie", lazy="raise", cascade="all, delete-orphan"
    )


class Person(TimestampMixin, Base):
    __tablename__ = "people"
    __table_args__ = (Index("ix_people_name", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(320), unique=True)
    bio: Mapped[str | None] = mapped_column(Text, default=None)

    credits: Mapped[list[Credit]] = relationship(back_populates="person", lazy="raise")


class Credit(Base):
    __tablename__ = "credits"
    __table_args__ = (
        UniqueConstraint("movie_id", "person_id", "role"),
        Index("ix_credits_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[CreditRole] = mapped_column(str_enum(CreditRole, "credit_role"))
    character: Mapped[str | None] = mapped_column(String(300), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)

    movie: Mapped[Movie] = relationship(back_populates="credits", lazy="raise")
    person: Mapped[Person] = relationship(back_populates="credits", lazy="raise")


class CatalogVersion(Base):
    """One row whose ``token`` changes, by database triggers (migration 0010), with every change
    that can move a film in or out of a filtered list: a film added or deleted, its status, year
    or age rating changed, its genres, countries, languages or credits changed. A count stored
    under the token it was read with is therefore exact, whichever process or command made the
    change. The token is random, not a counter, so a rolled-back change never hands its value
    to a later one."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[int] = mapped_column(BigInteger)


class MovieFacetCount(Base):
    """How many films have one facet value (a genre's id, a country, a language, an age rating;
    ``film`` with an empty value for every film), by status and year (-1 when unknown). Kept by
    database triggers (migration 0012), whatever writes the films, so that a filtered list's
    total is a sum over a few of these rows instead of a count over the films."""

    __tablename__ = "movie_facet_counts"

    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    films: Mapped[int] = mapped_column(Integer)
