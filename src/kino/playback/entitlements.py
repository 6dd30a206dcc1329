"""Who may play a film: its access level, its age rating, and the viewer.

Decided before any URL is signed. Staff (managers, admins) may play drafts and films of every
access level, to check them before release; the age rule holds for everyone.
"""

from __future__ import annotations

from datetime import date

from kino.catalog.models import Access, MovieStatus
from kino.core.errors import KinoError, NotFound, Unauthenticated
from kino.identity.models import STAFF_ROLES, User
from kino.playback.errors import AgeRestricted, AgeVerificationRequired, PaymentRequired

ADULT_AGE = 18
# The demo catalog holds MPAA ratings: G, PG, PG-13, R, NC-17, and the older GP, M, M/PG and X.
# Only NC-17 ("no one 17 and under admitted") and X, which it replaced in 1990, shut out every
# minor; R lets one in with a parent, which is a household's decision, not the platform's.
# Staff may also type the common "18" labels of other systems (BBFC 18, R18, R18+, 18+).
ADULTS_ONLY_RATINGS = frozenset({"NC-17", "X", "18", "18+", "R18", "R18+"})
PAID_ACCESS = frozenset({Access.SUBSCRIPTION, Access.RENTAL, Access.PURCHASE})


def is_adults_only(age_rating: str | None) -> bool:
    return age_rating is not None and age_rating.strip().upper() in ADULTS_ONLY_RATINGS


def age_on(birth_date: date, day: date) -> int:
    """Full years on ``day`` (someone born on 29 February turns a year older on 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def check_playable(
    *,
    movie_id: int,
    status: MovieStatus,
    access: Access,
    age_rating: str | None,
    viewer: User | None,
    today: date,
) -> None:
    """Raise what keeps ``viewer`` from playing the film: NotFound for a draft, 401 when signing
    in would help, 403 for the age rule, 402 for the paid access levels. The age rule goes first
    so that a minor is never asked to pay for a film they may not watch."""
    staff = viewer is not None and viewer.role in STAFF_ROLES
    if status is MovieStatus.DRAFT and not staff:
        raise NotFound(f"There is no film with id {movie_id}.")
    if is_adults_only(age_rating):
        _check_adult(viewer, today)
    if access is Access.REGISTERED and viewer is None:
        raise Unauthenticated("Sign in to watch this film.")
    if access in PAID_ACCESS and not staff:
        raise PaymentRequired(
            f"This film is available by {access.value}, which is not on sale yet.",
            details={"access": access.value},
        )


def may_play(
    *,
    status: MovieStatus,
    access: Access,
    age_rating: str | None,
    viewer: User | None,
    today: date,
) -> bool:
    try:
        check_playable(
            movie_id=0,
            status=status,
            access=access,
            age_rating=age_rating,
            viewer=viewer,
            today=today,
        )
    except KinoError:
        return False
    return True


def _check_adult(viewer: User | None, today: date) -> None:
    if viewer is None:
        raise Unauthenticated("This film is for adults: sign in to watch it.")
    if viewer.birth_date is None:
        raise AgeVerificationRequired(
            "This film is for adults: add your birth date to your profile to watch it."
        )
    if age_on(viewer.birth_date, today) < ADULT_AGE:
        raise AgeRestricted(f"This film is for viewers aged {ADULT_AGE} and over.")
