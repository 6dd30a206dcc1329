"""Identity's request and response shapes. Every string is capped, so a huge or hostile value is a
422 here and never reaches Argon2 or the database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from kino.core.db import utcnow
from kino.identity.models import Role
from kino.identity.passwords import MAX_PASSWORD_LENGTH

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _no_control_characters(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no name or address needs a control character.
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("must not contain control characters")
    return value


CleanText = AfterValidator(_no_control_characters)
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), CleanText
]
# Existing accounts sign in and reset with whatever address they were created with (the CLI
# accepts addresses such as admin@kino.local), so only new accounts are held to EmailStr.
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320), CleanText
]
NewEmailAddress = Annotated[EmailStr, StringConstraints(max_length=320)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=512)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), CleanText]
KeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), CleanText
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    email: NewEmailAddress
    # Not min_length: the password policy explains what is wrong (422 with the reason).
    password: Password
    display_name: DisplayName


class LoginRequest(Strict):
    email: EmailAddress
    password: Password


class OAuth2LoginForm(BaseModel):
    """The OAuth2 password grant (what /docs "Authorize" posts): ``username`` is the e-mail."""

    username: EmailAddress
    password: Password
    grant_type: Literal["password"] | None = None

    def as_login(self) -> LoginRequest:
        return LoginRequest(email=self.username, password=self.password)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(Strict):
    refresh_token: OpaqueToken


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class PasswordResetRequest(Strict):
    email: EmailAddress


class ResetRequested(BaseModel):
    message: str


class PasswordResetConfirm(Strict):
    token: OpaqueToken
    password: Password


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    birth_date: date | None
    created_at: datetime


class ProfileUpdate(Strict):
    """Only the fields sent are changed; ``birth_date: null`` clears it."""

    display_name: DisplayName | None = None
    birth_date: date | None = None

    @field_validator("display_name")
    @classmethod
    def _display_name_is_not_cleared(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("display_name cannot be empty")
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_date_is_plausible(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST_BIRTH_DATE <= value <= utcnow().date():
            raise ValueError(f"must be between {EARLIEST_BIRTH_DATE} and today")
        return value


class RoleUpdate(Strict):
    role: Role


class ApiKeyCreate(Strict):
    name: KeyName


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The whole key. Shown once: only its digest is kept.")
