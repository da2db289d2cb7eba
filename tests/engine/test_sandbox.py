"""Scripts, conditions and DMN cells run in the restricted interpreter."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.errors import ScriptError
from engine.scripting import RestrictedEnvironment, ScriptLimitExceeded, ScriptTimeout

ESCAPES = [
    "__import__('os').system('true')",
    "().__class__.__base__.__subclasses__()",
    "().__class__.__mro__",
    "open('/etc/passwd').read()",
    "getattr((), '__class__')",
    "eval('1+1')",
    "exec('x=1')",
    "[c for c in ().__class__.__bases__]",
    "(lambda: 1).__globals__",
    "type(1)",
    "(x for x in [1]).gi_frame.f_globals",
    "'{0.__class__}'.format(1)",
    "f'{1:>999999999}'",
    "f'{1:>{10**9}}'",
]


@pytest.fixture
def environment() -> RestrictedEnvironment:
    return RestrictedEnvironment({"double": lambda x: x * 2}, time_limit=0.5)


def test_ordinary_expressions_and_scripts_work(environment: RestrictedEnvironment) -> None:
    assert environment.evaluate('route == "fast" and amount < 10', {"route": "fast", "amount": 3})
    data = {"amount": 4}
    environment.execute("score = double(amount)\nitems = [i for i in range(3)]\nscore += 1", data)
    assert data == {"amount": 4, "score": 9, "items": [0, 1, 2]}


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_refused(environment: RestrictedEnvironment, source: str) -> None:
    with pytest.raises((ScriptError, NameError)):
        environment.evaluate(source, {})


def test_an_escape_in_a_script_leaves_no_side_effect(
    environment: RestrictedEnvironment, tmp_path: Path
) -> None:
    target = tmp_path / "pwned"
    with pytest.raises((ScriptError, NameError)):
        environment.execute(f"__import__('os').system('touch {target}')", {})
    assert not target.exists()


@pytest.mark.parametrize(
    "source",
    [
        "'x' * 10**9",
        "[0] * 10**8",
        "2 ** 10**8",
        "1 << 10**9",
        "range(10**9)",
        "'%0999999999d' % 1",
    ],
)
def test_huge_allocations_are_refused(environment: RestrictedEnvironment, source: str) -> None:
    with pytest.raises(ScriptLimitExceeded):
        environment.evaluate(source, {})


@pytest.mark.parametrize(
    "script",
    [
        "while True:\n    pass",
        "while True:\n    try:\n        x = 1\n    except BaseException:\n        pass",
        "try:\n    while True:\n        pass\nfinally:\n    while True:\n        pass",
    ],
)
def test_endless_scripts_are_stopped(environment: RestrictedEnvironment, script: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        environment.execute(script, {})
    assert time.monotonic() - started < 5
    assert environment.evaluate("1 + 1", {}) == 2  # the thread is usable afterwards
