"""The watchdog that stops sandboxed code: it must stop the code, and nothing else.

Its timeouts are exceptions injected into the script's thread. One left behind, or
a deadline never forgotten, would strike whatever that thread runs next: a commit, a
page, a test runner (the hypothesis suite once slowed to a standstill this way).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine import deadline
from engine.deadline import DeadlineExceeded, call_with_deadline


def _spins() -> None:
    while True:
        pass


def _overstays() -> str:
    """Swallows timeouts for a few ticks, then returns: timeouts keep landing meanwhile."""
    leave = time.monotonic() + 5 * deadline.TICK_SECONDS
    while time.monotonic() < leave:
        try:  # noqa: SIM105 - contextlib.suppress's __exit__ could itself take a timeout
            time.sleep(0)
        except DeadlineExceeded:
            pass
    return "done"


def _strays_within(seconds: float) -> int:
    strays, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            time.sleep(0)
        except BaseException:
            strays += 1
    return strays


@pytest.fixture
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tick fifty times as often, so clean-up and injections collide often."""
    monkeypatch.setattr(deadline, "TICK_SECONDS", deadline.TICK_SECONDS / 50)


def test_timeouts_stop_code_and_then_leave_the_thread_alone(fast_ticks: None) -> None:
    kept = []  # as a test runner keeps failures, with their frames
    for _ in range(300):
        with pytest.raises(DeadlineExceeded) as raised:
            call_with_deadline(0.0002, _spins)
        kept.append(raised.value)
        assert call_with_deadline(0.0002, _overstays) == "done"
    assert deadline._watchdog.deadlines == {}
    assert _strays_within(20 * deadline.TICK_SECONDS) == 0


def test_a_nested_limit_leaves_the_outer_one_in_charge() -> None:
    def inner() -> Any:
        return call_with_deadline(60, _spins)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.05, inner)
    assert time.monotonic() - started < 5
    assert deadline._watchdog.deadlines == {}


def test_a_pending_timeout_is_taken_back_by_delivering_it_not_by_clearing_it(
    monkeypatch: pytest.MonkeyPatch, fast_ticks: None
) -> None:
    """Clearing with NULL leaves CPython 3.11's eval breaker set for every thread."""
    injected: list[Any] = []
    real = deadline._set_async_exc

    def recording(thread_id: int, exc: Any) -> None:
        injected.append(exc)
        real(thread_id, exc)

    monkeypatch.setattr(deadline, "_set_async_exc", recording)
    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.0002, _spins)
    assert call_with_deadline(1, lambda: "quick") == "quick"
    assert DeadlineExceeded in injected
    assert None not in injected
    assert _strays_within(20 * deadline.TICK_SECONDS) == 0
