"""Wall-clock limits for sandboxed code, enforced from outside the script.

A trace function that raises is removed by Python, so a script could catch
one timeout and then loop forever. Instead one watchdog thread injects the
timeout into the script's thread again and again (every tick) until the
script has really left the sandbox, so no ``except`` or ``finally`` can keep
it alive. Works in any thread, unlike ``SIGALRM``.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TICK_SECONDS = 0.02


class DeadlineExceeded(BaseException):
    """BaseException so that ``except Exception`` in a script does not swallow it."""


def _set_async_exc(thread_id: int, exc: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))


class _TakenBack(BaseException):
    """Injected by a thread into itself, and caught at once, to take back a timeout.

    Clearing a pending exception with ``PyThreadState_SetAsyncExc(id, NULL)`` leaves
    CPython 3.11's interpreter-wide "asynchronous exception pending" flag set, so from
    then on every thread takes the interpreter's slow path at each call and loop (a
    hypothesis run slowed to a standstill). Delivering a harmless exception instead
    replaces the pending timeout and resets the flag.
    """


def _checkpoint() -> None:
    """A call: a point where Python delivers an injected exception."""


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deadlines: dict[int, float] = {}
        self._thread: threading.Thread | None = None

    def _ensure_running(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="nrmflow-deadline", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:  # a snapshot: a finishing thread drops its entry without the lock
                for thread_id, expires in list(self.deadlines.items()):
                    if now > expires:
                        _set_async_exc(thread_id, DeadlineExceeded)

    def watch(self, thread_id: int, seconds: float) -> bool:
        """Start the thread's clock; False when an outer limit already rules (a nested call)."""
        with self._lock:
            if thread_id in self.deadlines:
                return False
            self.deadlines[thread_id] = time.monotonic() + seconds
            self._ensure_running()
            return True

    def take_back(self, thread_id: int) -> None:
        """Cancel a timeout injected but not yet delivered, once the deadline is gone.

        Under the lock, so a pass of the watchdog that began before the deadline was
        dropped has finished, and none can follow.
        """
        with self._lock:
            try:
                _set_async_exc(thread_id, _TakenBack)
                _checkpoint()
            except _TakenBack:
                pass


_watchdog = _Watchdog()


def call_with_deadline(seconds: float, function: Callable[[], T]) -> T:
    """Run ``function`` and raise :class:`DeadlineExceeded` once ``seconds`` have passed."""
    thread_id = threading.get_ident()
    if not _watchdog.watch(thread_id, seconds):
        return function()
    try:
        return function()
    finally:
        # First, and a C call: Python delivers injected exceptions only on calls and
        # loops, so a timeout landing here cannot skip it. A deadline left behind would
        # interrupt the thread forever after. A plain try, not a context manager, for
        # the same reason: a timeout landing in __exit__ would skip the clean-up.
        _watchdog.deadlines.pop(thread_id, None)
        _watchdog.take_back(thread_id)
