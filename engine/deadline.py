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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
TICK_SECONDS = 0.02


class DeadlineExceeded(BaseException):
    """BaseException so that ``except Exception`` in a script does not swallow it."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else ctypes.c_void_p(0)
    )


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, float] = {}
        self._thread: threading.Thread | None = None

    def _ensure_running(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="nrmflow-deadline", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:
                for thread_id, expires in self._deadlines.items():
                    if now > expires:
                        _set_async_exc(thread_id, DeadlineExceeded)

    @contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        thread_id = threading.get_ident()
        with self._lock:
            if thread_id in self._deadlines:  # nested call: the outer limit already rules
                nested = True
            else:
                nested = False
                self._deadlines[thread_id] = time.monotonic() + seconds
                self._ensure_running()
        try:
            yield
        finally:
            if not nested:
                with self._lock:
                    del self._deadlines[thread_id]
                    _set_async_exc(thread_id, None)  # drop one injected but not yet delivered


_watchdog = _Watchdog()


def call_with_deadline(seconds: float, function: Callable[[], T]) -> T:
    """Run ``function`` and raise :class:`DeadlineExceeded` once ``seconds`` have passed."""
    with _watchdog.limit(seconds):
        return function()
