"""Comments on films, with one level of replies.

- A reply names its parent; a reply to a reply is attached to the top-level comment of that
  thread (so a client replying from inside a thread needs no special case).
- The author edits a comment within 15 minutes of posting it, and deletes it at any time. A
  comment that has replies is kept as a placeholder ("deleted by its author", text erased) so
  the thread stands; otherwise its row goes (and a placeholder parent left with no replies goes
  with it).
- Anyone signed in reports someone else's comment, once. Moderators remove a comment (kept,
  shown to others as "removed by a moderator") and restore it.

Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kino.catalog.models import Movie
from kino.community.errors import (
    AlreadyReported,
    CommentGone,
    CommentNotFound,
    EditWindowClosed,
    InvalidParent,
    NotCommentAuthor,
    OwnCommentReport,
)
from kino.community.models import Comment, CommentReport, CommentStatus
from kino.community.schemas import Author, CommentCreate, CommentRead
from kino.community.service import (
    check_movie_visible,
    display_names,
    ensure_movie_visible,
    is_moderator,
    upsert,
)
from kino.core.db import utcnow
from kino.core.errors import KinoError, NotFound
from kino.core.pagination import Page, PageParams
from kino.identity.models import User

EDIT_WINDOW = timedelta(minutes=15)
# How many replies each thread of a comment list carries; /comments/{id}/replies has them all.
REPLIES_SHOWN = 20
NOTICES = {
    CommentStatus.DELETED: "Deleted by its author.",
    CommentStatus.REMOVED: "Removed by a moderator.",
}


# ---------------------------------------------------------------------------- reading


async def list_comments(
    session: AsyncSession, actor: User | None, movie_id: int, *, paging: PageParams
) -> Page[CommentRead]:
    """A film's threads, newest first, each with its first replies (oldest first)."""
    await ensure_movie_visible(session, actor, movie_id)
    query = select(Comment).where(Comment.movie_id == movie_id, Comment.parent_id.is_(None))
    total = await _count(session, query)
    threads = (
        await session.scalars(
            query.order_by(Comment.created_at.desc(), Comment.id.desc())
            .offset(paging.offset)
            .limit(paging.page_size)
            .execution_options(populate_existing=True)
        )
    ).all()
    items = await _threads(session, actor, threads)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def list_replies(
    session: AsyncSession, actor: User | None, comment_id: int, *, paging: PageParams
) -> Page[CommentRead]:
    """All replies to one comment, oldest first."""
    await _readable_comment(session, actor, comment_id)
    query = select(Comment).where(Comment.parent_id == comment_id)
    total = await _count(session, query)
    replies = (
        await session.scalars(
            query.order_by(Comment.created_at, Comment.id)
            .offset(paging.offset)
            .limit(paging.page_size)
            .execution_options(populate_existing=True)
        )
    ).all()
    items = await _reads(session, actor, replies)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def get_comment(session: AsyncSession, actor: User | None, comment_id: int) -> CommentRead:
    comment = await _readable_comment(session, actor, comment_id)
    if comment.parent_id is not None:
        [read] = await _reads(session, actor, [comment])
        return read
    [thread] = await _threads(session, actor, [comment])
    return thread


async def list_reported_comments(
    session: AsyncSession, moderator: User, *, paging: PageParams
) -> Page[CommentRead]:
    """For moderators: comments still shown that viewers reported, most reported first."""
    query = select(Comment).where(Comment.report_count > 0, Comment.status == CommentStatus.VISIBLE)
    total = await _count(session, query)
    comments = (
        await session.scalars(
            query.order_by(Comment.report_count.desc(), Comment.id.desc())
            .offset(paging.offset)
            .limit(paging.page_size)
            .execution_options(populate_existing=True)
        )
    ).all()
    items = await _reads(session, moderator, comments)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def _count(session: AsyncSession, query: Select[Comment]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _readable_comment(
    session: AsyncSession, actor: User | None, comment_id: int, *, lock: bool = False
) -> Comment:
    """The comment, if its film is visible to the actor. ``lock`` holds its row, so a reply
    being added meanwhile is either seen or waits (see ``_delete_by_author``)."""
    query = (
        select(Comment, Movie.status)
        .join(Movie, Movie.id == Comment.movie_id)
        .where(Comment.id == comment_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=Comment)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise CommentNotFound(comment_id)
    try:
        check_movie_visible(row.status, actor, row.Comment.movie_id)
    except NotFound:
        raise CommentNotFound(comment_id) from None
    comment: Comment = row.Comment
    return comment


async def _threads(
    session: AsyncSession, actor: User | None, threads: Sequence[Comment]
) -> list[CommentRead]:
    thread_ids = [thread.id for thread in threads]
    replies = await _first_replies(session, thread_ids)
    counts = await _reply_counts(session, thread_ids)
    reads = await _reads(session, actor, [*threads, *replies])
    by_id = {read.id: read for read in reads}
    for reply in replies:
        assert reply.parent_id is not None
        by_id[reply.parent_id].replies.append(by_id[reply.id])
    for thread_id in thread_ids:
        by_id[thread_id].reply_count = counts.get(thread_id, 0)
    return [by_id[thread_id] for thread_id in thread_ids]


async def _first_replies(session: AsyncSession, thread_ids: list[int]) -> Sequence[Comment]:
    if not thread_ids:
        return []
    position = func.row_number().over(
        partition_by=Comment.parent_id, order_by=(Comment.created_at, Comment.id)
    )
    ranked = (
        select(Comment, position.label("position"))
        .where(Comment.parent_id.in_(thread_ids))
        .subquery()
    )
    reply = aliased(Comment, ranked)
    query = (
        select(reply)
        .where(ranked.c.position <= REPLIES_SHOWN)
        .order_by(ranked.c.created_at, ranked.c.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).all()


async def _reply_counts(session: AsyncSession, thread_ids: list[int]) -> dict[int, int]:
    if not thread_ids:
        return {}
    rows = await session.execute(
        select(Comment.parent_id, func.count())
        .where(Comment.parent_id.in_(thread_ids))
        .group_by(Comment.parent_id)
    )
    return {parent_id: count for parent_id, count in rows if parent_id is not None}


async def _reads(
    session: AsyncSession, actor: User | None, comments: Sequence[Comment]
) -> list[CommentRead]:
    names = await display_names(session, {comment.user_id for comment in comments})
    now = utcnow()
    return [_read(comment, actor, names.get(comment.user_id, ""), now) for comment in comments]


def _read(comment: Comment, actor: User | None, author_name: str, now: datetime) -> CommentRead:
    moderator = is_moderator(actor)
    shown = comment.status is CommentStatus.VISIBLE or (
        moderator and comment.status is CommentStatus.REMOVED
    )
    own = actor is not None and comment.user_id == actor.id
    editable_until = comment.created_at + EDIT_WINDOW
    editable = own and comment.status is CommentStatus.VISIBLE and now <= editable_until
    return CommentRead(
        id=comment.id,
        movie_id=comment.movie_id,
        parent_id=comment.parent_id,
        author=Author(id=comment.user_id, display_name=author_name) if shown or moderator else None,
        body=comment.body if shown else None,
        status=comment.status,
        notice=NOTICES.get(comment.status),
        created_at=comment.created_at,
        edited_at=comment.edited_at,
        editable_until=editable_until if editable else None,
        report_count=comment.report_count if moderator else None,
    )


# ---------------------------------------------------------------------------- writing


@contextmanager
def _missing_reference_as(error: KinoError) -> Iterator[None]:
    """A foreign key that fails because a row went since it was checked (the film deleted, the
    comment deleted by its author) is that error, not a 500."""
    try:
        yield
    except IntegrityError:
        raise error from None


async def create_comment(
    session: AsyncSession, actor: User, movie_id: int, body: CommentCreate
) -> CommentRead:
    await ensure_movie_visible(session, actor, movie_id)
    parent_id = None
    if body.parent_id is not None:
        parent_id = await _thread_of(session, body.parent_id, movie_id)
    comment = Comment(movie_id=movie_id, user_id=actor.id, parent_id=parent_id, body=body.body)
    session.add(comment)
    gone = CommentGone() if parent_id else NotFound(f"There is no film with id {movie_id}.")
    with _missing_reference_as(gone):
        await session.flush()
    return await get_comment(session, actor, comment.id)


async def _thread_of(session: AsyncSession, parent_id: int, movie_id: int) -> int:
    """The top-level comment a reply to ``parent_id`` belongs under."""
    parent = await session.get(Comment, parent_id)
    if parent is None or parent.movie_id != movie_id:
        raise InvalidParent(parent_id, movie_id)
    if parent.status is not CommentStatus.VISIBLE:
        raise CommentGone()
    return parent.parent_id if parent.parent_id is not None else parent.id


async def edit_comment(
    session: AsyncSession, actor: User, comment_id: int, *, body: str
) -> CommentRead:
    comment = await _readable_comment(session, actor, comment_id)
    if comment.user_id != actor.id:
        raise NotCommentAuthor()
    if comment.status is not CommentStatus.VISIBLE:
        raise CommentGone()
    now = utcnow()
    if now > comment.created_at + EDIT_WINDOW:
        raise EditWindowClosed(comment.created_at + EDIT_WINDOW)
    comment.body = body
    comment.edited_at = now
    await session.flush()
    return await get_comment(session, actor, comment_id)


async def delete_comment(session: AsyncSession, actor: User, comment_id: int) -> None:
    """The author deletes their comment; a moderator deleting someone else's removes it."""
    comment = await _readable_comment(session, actor, comment_id, lock=True)
    if comment.user_id == actor.id:
        if comment.status is CommentStatus.REMOVED:
            raise CommentGone()  # the moderators' record stays
        if comment.status is CommentStatus.VISIBLE:
            await _delete_by_author(session, comment)
    elif is_moderator(actor):
        await _remove(session, actor, comment)
    else:
        raise NotCommentAuthor()


async def _delete_by_author(session: AsyncSession, comment: Comment) -> None:
    """Delete the row unless it has replies, in one statement (no reply slips in between the
    check and the delete); with replies, keep a placeholder without the text."""
    deleted = await _delete_if_childless(session, comment.id)
    if deleted is None:
        comment.status = CommentStatus.DELETED
        comment.body = ""
        await session.flush()
    elif comment.parent_id is not None:
        await _delete_if_childless(session, comment.parent_id, status=CommentStatus.DELETED)
    session.expunge(comment)


async def _delete_if_childless(
    session: AsyncSession, comment_id: int, *, status: CommentStatus | None = None
) -> int | None:
    reply = aliased(Comment)
    query = delete(Comment).where(
        Comment.id == comment_id, ~exists().where(reply.parent_id == comment_id)
    )
    if status is not None:
        query = query.where(Comment.status == status)
    return await session.scalar(
        query.returning(Comment.id).execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------- reports


async def report_comment(
    session: AsyncSession, actor: User, comment_id: int, *, reason: str | None
) -> None:
    comment = await _readable_comment(session, actor, comment_id)
    if comment.user_id == actor.id:
        raise OwnCommentReport()
    if comment.status is not CommentStatus.VISIBLE:
        raise CommentGone()
    with _missing_reference_as(CommentNotFound(comment_id)):
        added = await session.scalar(
            upsert(session, CommentReport)
            .values(comment_id=comment_id, user_id=actor.id, reason=reason, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["comment_id", "user_id"])
            .returning(CommentReport.comment_id)
        )
    if added is None:
        raise AlreadyReported()
    await session.execute(
        update(Comment)
        .where(Comment.id == comment_id)
        .values(report_count=Comment.report_count + 1, updated_at=Comment.updated_at)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------- moderation


async def remove_comment(session: AsyncSession, moderator: User, comment_id: int) -> CommentRead:
    comment = await _readable_comment(session, moderator, comment_id)
    await _remove(session, moderator, comment)
    return await get_comment(session, moderator, comment_id)


async def _remove(session: AsyncSession, moderator: User, comment: Comment) -> None:
    if comment.status is CommentStatus.DELETED:
        raise CommentGone()
    if comment.status is CommentStatus.VISIBLE:
        comment.status = CommentStatus.REMOVED
        comment.removed_at = utcnow()
        comment.removed_by = moderator.id
        await session.flush()


async def restore_comment(session: AsyncSession, moderator: User, comment_id: int) -> CommentRead:
    comment = await _readable_comment(session, moderator, comment_id)
    if comment.status is CommentStatus.DELETED:
        raise CommentGone()
    if comment.status is CommentStatus.REMOVED:
        comment.status = CommentStatus.VISIBLE
        comment.removed_at = None
        comment.removed_by = None
        await session.flush()
    return await get_comment(session, moderator, comment_id)
