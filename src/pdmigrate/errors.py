"""The exception tree, arranged by what the caller should do next.

Every error pdmigrate raises is a :class:`PdmigrateError`. Its ``action`` tells the
caller what to do: ``fatal`` (stop the run), ``retry`` (the same call may succeed
later) or ``skip`` (give up on this record, keep going). Its ``exit_code`` is what
the CLI exits with when the error reaches it.

Messages carry the place (file:line, run id, endpoint) and never row values or the
API token.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

Action = Literal["fatal", "retry", "skip"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3
EXIT_BUDGET = 4
EXIT_INTERRUPTED = 130


class PdmigrateError(Exception):
    """Base of every pdmigrate error."""

    action: ClassVar[Action] = "fatal"
    exit_code: ClassVar[int] = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(PdmigrateError):
    """The user asked for something that cannot be done as asked (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A workspace, profile or mapping file is missing or invalid (exit 2)."""


class FatalError(PdmigrateError):
    """Stop: retrying will not help."""


class RetriableError(PdmigrateError):
    """The same call may succeed if tried again later."""

    action = "retry"


class SkipRecord(PdmigrateError):
    """This record cannot be processed; mark it and go on with the rest."""

    action = "skip"


# --- Pipedrive API errors -------------------------------------------------------


class FatalAPIError(FatalError):
    """Pipedrive refused in a way that retrying will not fix (e.g. 403, 404 on setup)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class AuthError(FatalAPIError):
    """The API token was refused (401) or the account is not open (402)."""

    exit_code = EXIT_USAGE


class APIRetriableError(RetriableError):
    """A 5xx, a timeout on an idempotent call, or a burst 429 that outlived its retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RecordRejected(SkipRecord):
    """Pipedrive rejected this record's payload (400/422); the message and field are kept."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.code = code


class OutcomeUnknown(RetriableError):
    """A create (POST) timed out or lost its response: it may or may not have been written.

    The caller must reconcile by source id before any retry, or it risks a duplicate.
    """


class BudgetExhausted(PdmigrateError):
    """The company's daily token budget (or the fair-use write cap) is used up.

    Never retried: the budget resets at ``resets_at``. The CLI exits with code 4.
    """

    action = "fatal"
    exit_code = EXIT_BUDGET

    def __init__(self, message: str, *, resets_at: datetime | None = None) -> None:
        hint = f"resets at {resets_at.isoformat()}" if resets_at is not None else None
        super().__init__(message, hint=hint)
        self.resets_at = resets_at
