"""Reading posted forms into the services' schemas, and their errors back into messages shown
beside the fields."""

from __future__ import annotations

from pydantic import ValidationError

MESSAGES = {
    "string_too_short": "This cannot be empty.",
    "missing": "This cannot be empty.",
    "value_error": "This is not valid.",
    "int_parsing": "Enter a whole number.",
    "date_from_datetime_parsing": "Enter a date, such as 2021-09-30.",
    "date_parsing": "Enter a date, such as 2021-09-30.",
}


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message for each field of a failed validation, in words for a person."""
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if name in errors:
            continue
        errors[name] = _message(item["type"], str(item["msg"]))
    return errors


def _message(kind: str, message: str) -> str:
    if kind in MESSAGES and kind != "value_error":
        return MESSAGES[kind]
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def optional_int(value: str | None) -> int | None:
    """A number typed or chosen in a form, or None for an empty field or a non-number."""
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return None


def checked(value: str | None) -> bool:
    return value in ("1", "on", "true", "yes")
