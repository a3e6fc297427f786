from django.core.exceptions import ValidationError


class Conflict(Exception):
    """A write based on a stale version of a row: the caller must reload and retry (HTTP 409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Refused(ValidationError):
    """A business rule refuses the action; the message says which rule."""
