"""What a failed step was, in two texts: one for a person, one for an administrator.

Neither may carry case data. The person's message is built only from the
failure's kind and the model's own names. The administrator's detail adds
the exception type, the element and, for a script, the line of the model's
code that raised; the exception's own text is kept with every quoted literal
that is not a name from the model's code masked, because messages such as
``invalid literal for int(): 'Maria'`` quote the data they choked on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.decisions import NoMatchingRule
from engine.errors import WorkflowFailed

MAX_MESSAGE = 400
MAX_DETAIL = 4000
_QUOTED = re.compile(r"""(['"])(.*?)\1""")


@dataclass(frozen=True)
class StepFailure:
    """The classified failure of one step."""

    error_type: str  # script_error | no_matching_rule | step_failed
    element_id: str | None
    element_name: str | None
    message: str
    detail: str


class StepFailed(WorkflowFailed):
    """A step raised and was rolled back; ``failure`` says what, for the incident it becomes."""

    def __init__(self, text: str, failure: StepFailure):
        super().__init__(text)
        self.failure = failure


def describe(error: BaseException) -> StepFailure:
    """Classify ``error`` (the exception a step raised) without reading any case data."""
    chain = _chain(error)
    task_error = next((e for e in chain if isinstance(e, WorkflowTaskException)), None)
    spec = _failing_spec(chain)
    element_id = getattr(spec, "bpmn_id", None) if spec is not None else None
    element_name = (getattr(spec, "bpmn_name", None) or element_id) if spec is not None else None
    code_names = _code_names(task_error)
    if any(isinstance(e, NoMatchingRule) for e in chain):
        error_type = "no_matching_rule"
        message = f"No rule of the decision at '{element_name}' matched this case."
    elif task_error is not None:  # SpiffWorkflow wraps what a script or condition raised
        error_type = "script_error"
        message = f"A script or condition at '{element_name}' failed."
    elif element_name:
        error_type = "step_failed"
        message = f"The process could not continue at '{element_name}'."
    else:
        error_type = "step_failed"
        message = "The process could not continue."
    return StepFailure(
        error_type,
        element_id,
        element_name,
        message[:MAX_MESSAGE],
        _detail(chain, task_error, element_id, code_names)[:MAX_DETAIL],
    )


def masked(text: str, keep: set[str]) -> str:
    """``text`` with every quoted literal masked unless it is one of the names in ``keep``."""

    def mask(match: re.Match[str]) -> str:
        quoted = match.group(2)
        return match.group(0) if quoted in keep else f"{match.group(1)}…{match.group(1)}"

    return _QUOTED.sub(mask, text)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and its causes, outermost first (bounded: causes can form a loop)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _failing_spec(chain: list[BaseException]) -> object | None:
    for error in chain:
        if isinstance(error, WorkflowTaskException) and error.task is not None:
            return error.task.task_spec
        if isinstance(error, SpiffWorkflowException) and getattr(error, "task_spec", None):
            return error.task_spec
    return None


def _code_names(task_error: WorkflowTaskException | None) -> set[str]:
    """Names the model itself wrote (the element's id, name, code, decision table): safe to show."""
    if task_error is None or task_error.task is None:
        return set()
    spec = task_error.task.task_spec
    table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
    names = {getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None)}
    names |= {getattr(table, "id", None), getattr(table, "name", None)}
    code = " ".join(
        str(text)
        for text in (
            task_error.error_line,
            getattr(spec, "script", None),
            getattr(spec, "prescript", None),
            getattr(spec, "postscript", None),
        )
        if text
    )
    return {n for n in names if n} | set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))


def _detail(
    chain: list[BaseException],
    task_error: WorkflowTaskException | None,
    element_id: str | None,
    keep: set[str],
) -> str:
    lines = [f"element: {element_id or '(none)'}"]
    if task_error is not None:
        if task_error.line_number:
            lines.append(f"script line {task_error.line_number}: {task_error.error_line or ''}")
        if task_error.error_type and task_error.error_type != "unknown":
            lines.append(f"error type: {task_error.error_type}")
    for error in chain:
        lines.append(f"{type(error).__name__}: {masked(str(error), keep)}")
    return "\n".join(lines)
