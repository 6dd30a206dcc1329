"""Community shapes in and out of the API. Text is kept exactly as sent (no HTML escaping here:
JSON needs none, and the web pages escape on output); it is only checked: not blank, bounded,
no control characters other than line breaks and tabs (PostgreSQL cannot store NUL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from kino.catalog.schemas import MovieSummary
from kino.community.models import CommentStatus, ReviewStatus
from kino.core.http import MAX_ID

REVIEW_TITLE_MAX = 200
REVIEW_BODY_MAX = 10_000
COMMENT_BODY_MAX = 2_000
REPORT_REASON_MAX = 500
ALLOWED_CONTROLS = frozenset("\n\r\t")


def _plain_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if any((ord(c) < 32 and c not in ALLOWED_CONTROLS) or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON allows it, UTF-8 storage does not
        raise ValueError("must be valid Unicode text") from None
    return value


def _one_line(value: str) -> str:
    if any(c in ALLOWED_CONTROLS for c in value):
        raise ValueError("must be one line")
    return value


PlainText = AfterValidator(_plain_text)
Score = Annotated[int, Field(strict=True, ge=1, le=10, description="1 (worst) to 10 (best)")]
ReviewTitle = Annotated[
    str, Field(max_length=REVIEW_TITLE_MAX), PlainText, AfterValidator(_one_line)
]
ReviewBody = Annotated[str, Field(max_length=REVIEW_BODY_MAX), PlainText]
CommentBody = Annotated[str, Field(max_length=COMMENT_BODY_MAX), PlainText]
ReportReason = Annotated[str, Field(max_length=REPORT_REASON_MAX), PlainText]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- favorites, likes, ratings ---------------------------------------------------------------


class FavoriteRead(BaseModel):
    movie: MovieSummary
    created_at: datetime


class LikeState(BaseModel):
    movie_id: int
    liked: bool
    like_count: int


class RatingWrite(Strict):
    score: Score


class RatingState(BaseModel):
    movie_id: int
    my_rating: int | None
    rating_avg: float | None
    rating_count: int


class ViewerState(BaseModel):
    """What one signed-in viewer has done with one film."""

    liked: bool
    my_rating: int | None
    favorite: bool


# --- reviews ----------------------------------------------------------------------------------


class Author(BaseModel):
    id: uuid.UUID
    display_name: str


class ReviewCreate(Strict):
    title: ReviewTitle
    body: ReviewBody
    score: Score | None = None
    spoiler: StrictBool = False


class ReviewUpdate(Strict):
    """Fields to change; a field left out stays as it is. ``score: null`` clears the score."""

    title: ReviewTitle | None = None
    body: ReviewBody | None = None
    score: Score | None = None
    spoiler: StrictBool | None = None

    @model_validator(mode="after")
    def _required_fields_are_not_null(self) -> ReviewUpdate:
        for field in ("title", "body", "spoiler"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class ReviewRead(BaseModel):
    id: int
    movie_id: int
    author: Author
    title: str
    body: str
    score: int | None
    spoiler: bool
    status: ReviewStatus
    helpful_count: int
    unhelpful_count: int
    my_vote: bool | None = Field(
        description="The caller's vote: true (helpful), false (not helpful) or null (none)."
    )
    created_at: datetime
    updated_at: datetime


class VoteWrite(Strict):
    helpful: StrictBool


# --- comments ---------------------------------------------------------------------------------


class CommentCreate(Strict):
    body: CommentBody
    parent_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        strict=True,
        description="Reply to this comment. A reply to a reply joins its top-level thread.",
    )


class CommentUpdate(Strict):
    body: CommentBody


class ReportCreate(Strict):
    reason: ReportReason | None = None


class CommentRead(BaseModel):
    id: int
    movie_id: int
    parent_id: int | None
    # Null, like body, for a comment deleted by its author or removed by a moderator (unless the
    # caller is a moderator); ``notice`` then says which.
    author: Author | None
    body: str | None
    status: CommentStatus
    notice: str | None
    created_at: datetime
    edited_at: datetime | None
    editable_until: datetime | None = Field(
        description="For the caller's own comment: until when it can still be edited."
    )
    report_count: int | None = Field(description="Shown to moderators only.")
    reply_count: int = 0
    replies: list[CommentRead] = Field(
        default_factory=list,
        description="The first replies, oldest first; /comments/{id}/replies pages them all.",
    )
