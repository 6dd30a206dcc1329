"""The community domain's errors: each a ``KinoError`` with its own code."""

from __future__ import annotations

from datetime import datetime

from kino.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class ReviewNotFound(NotFound):
    code = "review_not_found"

    def __init__(self, review_id: int) -> None:
        super().__init__(f"There is no review with id {review_id}.")


class ReviewExists(Conflict):
    code = "review_exists"

    def __init__(self, review_id: int | None) -> None:
        super().__init__(
            "You have already reviewed this film; edit that review instead.",
            details={"review_id": review_id},
        )


class NotReviewAuthor(PermissionDenied):
    code = "not_review_author"

    def __init__(self) -> None:
        super().__init__("Only the author of a review can change or delete it.")


class OwnReviewVote(PermissionDenied):
    code = "own_review"

    def __init__(self) -> None:
        super().__init__("You cannot vote on your own review.")


class ReviewHidden(Conflict):
    code = "review_hidden"

    def __init__(self) -> None:
        super().__init__("This review is hidden by a moderator; it takes no votes.")


class CommentNotFound(NotFound):
    code = "comment_not_found"

    def __init__(self, comment_id: int) -> None:
        super().__init__(f"There is no comment with id {comment_id}.")


class NotCommentAuthor(PermissionDenied):
    code = "not_comment_author"

    def __init__(self) -> None:
        super().__init__("Only the author of a comment can change or delete it.")


class EditWindowClosed(Conflict):
    code = "edit_window_closed"

    def __init__(self, editable_until: datetime) -> None:
        super().__init__(
            "A comment can be edited only in the first 15 minutes after it was posted.",
            details={"editable_until": editable_until.isoformat()},
        )


class CommentGone(Conflict):
    """The comment was deleted by its author or removed by a moderator."""

    code = "comment_removed"

    def __init__(self) -> None:
        super().__init__("This comment was deleted or removed.")


class AlreadyReported(Conflict):
    code = "already_reported"

    def __init__(self) -> None:
        super().__init__("You have already reported this comment.")


class OwnCommentReport(PermissionDenied):
    code = "own_comment"

    def __init__(self) -> None:
        super().__init__("You cannot report your own comment; edit or delete it instead.")


class InvalidParent(InvalidInput):
    code = "invalid_parent"

    def __init__(self, parent_id: int, movie_id: int) -> None:
        message = f"Comment {parent_id} is not a comment on film {movie_id}."
        super().__init__(message, details=[{"field": "parent_id", "message": message}])
