"""Identity's errors: each a ``KinoError`` with its own code, rendered by the one handler."""

from __future__ import annotations

from kino.core.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated

# What a caller is told whose token or key is forged, expired or ended, or whose account is not
# active any more.
INVALID_CREDENTIALS = "The access token or API key is invalid or has expired."


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class InvalidRefreshToken(Unauthenticated):
    code = "invalid_refresh_token"


class AccountDeactivated(PermissionDenied):
    code = "account_deactivated"


class EmailTaken(Conflict):
    code = "email_taken"


class SelfLockout(Conflict):
    """An admin may not take away their own admin role or account: someone must stay admin."""

    code = "self_lockout"


class TooManyApiKeys(Conflict):
    code = "too_many_api_keys"


class WeakPassword(InvalidInput):
    code = "weak_password"

    def __init__(self, reason: str, *, field: str = "password") -> None:
        super().__init__(reason, details=[{"field": field, "message": reason}])


class WrongPassword(InvalidInput):
    code = "wrong_password"

    def __init__(self) -> None:
        message = "The current password is not right."
        super().__init__(message, details=[{"field": "current_password", "message": message}])


class InvalidResetToken(InvalidInput):
    code = "invalid_token"

    def __init__(self) -> None:
        message = "This password reset link is invalid, used or expired. Ask for a new one."
        super().__init__(message, details=[{"field": "token", "message": message}])
