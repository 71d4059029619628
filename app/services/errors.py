"""Errors a service raises when it refuses something; each says what and how to fix it."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain rules refuse. Nothing has been changed when it is raised.

    ``http_status`` is the status a page, fragment or API answer carries for it.
    """

    http_status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """A value is missing, malformed or out of range."""

    http_status = 422


class NotFound(DomainError):
    """A record the request refers to does not exist."""

    http_status = 404


class TransitionNotAllowed(DomainError):
    """A status change the status machine does not allow from the current state."""

    http_status = 409


class ConcurrentUpdate(DomainError):
    """Someone else changed the record first; reload and try again."""

    http_status = 409


class PermissionDenied(DomainError):
    """The user may not do this."""

    http_status = 403


class ValidationErrors(ValidationError):
    """Several values refused at once, each ``ValidationError`` naming its own field.

    Raised so that a form (or an import row) shows every problem together rather than the
    first one only; ``message`` joins them for callers that show a single line.
    """

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__(" ".join(error.message for error in errors), field=errors[0].field)
        self.errors = list(errors)


class Problems:
    """Collects the refusals of several checks, then raises them together (or nothing).

    ``value = problems.check(rule, ...)`` runs one rule and returns its result, or ``None``
    when it refused (the refusal is kept); ``problems.raise_any()`` ends the checking.
    """

    def __init__(self) -> None:
        self.errors: list[ValidationError] = []

    def check(self, rule, *args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except ValidationErrors as error:
            self.errors.extend(error.errors)
        except ValidationError as error:
            self.errors.append(error)
        return None

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ValidationErrors(self.errors)


def each_error(error: DomainError) -> list[DomainError]:
    """The single refusals ``error`` stands for (itself unless it groups several)."""
    return list(getattr(error, "errors", None) or [error])
