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


class AccessRefused(NotAuthorized):
    """A person tried a case or work item that is not theirs: audited as ``access_refused``.

    An id in a URL is easy to forge; the answer is the same as for an id that does
    not exist, and the attempt is recorded so an auditor sees who probed what.
    """

    def __init__(
        self,
        message: str,
        actor: str,
        attempt: str,
        instance_id: int | None = None,
        task_id: str | None = None,
    ):
        super().__init__(message)
        self.actor = actor
        self.attempt = attempt
        self.instance_id = instance_id
        self.task_id = task_id


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
