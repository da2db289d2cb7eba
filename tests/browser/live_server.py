"""The real app served over HTTP from a background thread, for a browser to use.

Nothing is faked between Chromium and the database: the same ``create_app``
``make run`` serves, on a SQLite file of its own with the NRM library deployed
and the demo users seeded with the demo password. The clock is a
``FixedClock`` shared by the app and the test, so a test can move a case on
through its time limits as the worker would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.runtime import Runtime
from tests.workflows.nrm_driver import NRM_BUNDLE
from web import create_app
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

MAX_BUNDLE_BYTES = 5_000_000


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    clock: FixedClock

    @property
    def runtime(self) -> Runtime:
        """The app's own runtime: what a test does through it, the pages show at once."""
        return self.app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]

    @property
    def db(self) -> Database:
        return self.app.extensions["nrmflow.db"]  # type: ignore[no-any-return]


def nrm_app(database_url: str, clock: FixedClock) -> Flask:
    """The app on a new database holding the NRM library and the demo users."""
    settings = load_settings({"NRMFLOW_DATABASE_URL": database_url})
    db = Database(database_url)
    try:
        db.upgrade()
        bundle = read_bundle(NRM_BUNDLE, MAX_BUNDLE_BYTES)
        deploy_bundle(db, bundle, "tester", build_hooks(settings), clock)
        seed_demo_users(db, clock)
    finally:
        db.dispose()
    return create_app(settings, clock=clock)


@contextmanager
def live_server(database_url: str, clock: FixedClock) -> Iterator[LiveServer]:
    """Serve the app on a free local port until the block ends, then stop and join it."""
    app = nrm_app(database_url, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="nrmflow-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["nrmflow.db"].dispose()
