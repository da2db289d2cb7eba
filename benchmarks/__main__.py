"""``make bench``: every benchmark, one table.

Each module measures its own area and returns :class:`~benchmarks.table.Figure`
rows; they run one after the other (never together, so none slows another) and
the table is printed once at the end, with progress on stderr meanwhile.
PostgreSQL rows appear when ``NRMFLOW_BENCH_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import importlib
import sys
import time

from benchmarks.table import Figure, render

AREAS = ("engine_overhead", "history_growth", "inbox_page", "http_load", "storage_memory")


def main() -> int:
    figures: list[Figure] = []
    for name in AREAS:
        started = time.monotonic()
        print(f"benchmark {name}...", file=sys.stderr)
        figures += importlib.import_module(f"benchmarks.{name}").figures()
        print(f"benchmark {name}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
