"""Domain exceptions raised by the engine and mapped once to HTTP codes by ``web``.

Messages are written for a person and never carry case data: they may end up
in logs and on screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class EngineError(Exception):
    """Base of every error a caller of the engine is expected to handle."""


class ModelNotFound(EngineError):
    pass


class UserNotFound(EngineError):
    pass


class CaseNotFound(EngineError):
    pass


class TaskNotReady(EngineError):
    """The task was completed, cancelled or moved on by someone else meanwhile."""


class NotAuthorized(EngineError):
    pass


class NotClaimant(NotAuthorized):
    """Only the person who claimed a work item may give it back."""


class AlreadyClaimed(EngineError):
    """Someone else holds the work item; it must be unclaimed or reassigned first."""


class MessageNotExpected(EngineError):
    """The case is not (or no longer) waiting for a message of that name."""


class StaleRevision(EngineError):
    """Another transaction changed the case first; nothing was overwritten."""


class ScriptError(EngineError):
    """A script, condition or expression failed or broke the sandbox's rules."""


class WorkflowFailed(EngineError):
    """A step of the process raised; the transaction was rolled back."""


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str


class FormInvalid(EngineError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.path or '(form)'}: {e.message}" for e in errors))


@dataclass(frozen=True)
class Problem:
    """One deploy validation finding, printable as ``file:line:element_id: message``."""

    file: str
    line: int | None
    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}:{self.element_id or '-'}: {self.message}"


class ModelInvalid(EngineError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SignInFailed(EngineError):
    """One message for an unknown user and a wrong password, so neither reveals the other.

    ``locked_until`` is set when the account is locked, so a screen can say until when.
    """

    def __init__(self, message: str, locked_until: datetime | None = None):
        self.locked_until = locked_until
        super().__init__(message)


class PasswordRejected(EngineError):
    """The password breaks the policy (too short); nothing was stored."""
