"""One error hierarchy. Anything a user can cause raises an ``AppError``; one handler shows it."""

from __future__ import annotations


class AppError(Exception):
    """An error a person can act on: a message, an HTTP status, and optional per-field messages."""

    status: int = 400
    title: str = "Something is not right"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field_errors: dict[str, str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.field_errors = dict(field_errors or {})
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class NotFound(AppError):
    status = 404
    title = "Not found"


class PermissionDenied(AppError):
    status = 403
    title = "Not allowed"


class ValidationFailed(AppError):
    status = 422
    title = "Please check what you entered"


class ConfigError(AppError):
    status = 500
    title = "Configuration problem"


class StoreError(AppError):
    """The database is missing, unreachable or not migrated."""

    status = 503
    title = "The data store is not ready"


class InputFileError(AppError):
    """A whole input file cannot be read (wrong type, truncated, no expected columns)."""

    title = "This file cannot be imported"

    def __init__(self, path: object, message: str, **kwargs: object) -> None:
        super().__init__(f"{path}: {message}", **kwargs)  # type: ignore[arg-type]
        self.path = str(path)


class PlanningError(AppError):
    """Infeasible or inconsistent planning settings."""

    title = "This plan cannot be made"
