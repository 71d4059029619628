"""Errors a service raises when it refuses something; each says what and how to fix it."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain rules refuse. Nothing has been changed when it is raised."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """A value is missing, malformed or out of range."""


class NotFound(DomainError):
    """A record the request refers to does not exist."""


class TransitionNotAllowed(DomainError):
    """A status change the status machine does not allow from the current state."""


class ConcurrentUpdate(DomainError):
    """Someone else changed the record first; reload and try again."""


class PermissionDenied(DomainError):
    """The user may not do this."""
