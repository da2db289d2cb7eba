"""Whole nrmflow deployments on loopback: a database, a partners file and a real server process.

Each deployment is what an operator runs: its own SQLite file with the NRM
library deployed and the demo users seeded, its own partners file, and
``gunicorn web.wsgi:app`` in a process group of its own, so a test can kill
it outright (SIGKILL, no clean shutdown) and start it again on the same port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from engine.bundle import read_bundle
from engine.clock import Clock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.partners import PartnerDirectory, load_partner_directory
from engine.runtime import Runtime
from tests.workflows.nrm_driver import NRM_BUNDLE
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    name: str
    home: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'nrmflow.db'}"

    @property
    def partners_file(self) -> Path:
        return self.home / "partners.json"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def write_partners(self, partners: dict[str, dict[str, object]]) -> None:
        self.partners_file.write_text(json.dumps({"partners": partners}, indent=2))

    def directory(self) -> PartnerDirectory:
        return load_partner_directory(str(self.partners_file))

    def set_up(self, clock: Clock) -> Database:
        """A new database holding the NRM library and the demo users, as ``make run`` has it."""
        self.home.mkdir(parents=True, exist_ok=True)
        db = Database(self.database_url)
        db.upgrade()
        hooks = self.hooks()
        deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", hooks, clock)
        seed_demo_users(db, clock)
        return db

    def hooks(self) -> Hooks:
        return build_hooks(load_settings({"NRMFLOW_DATABASE_URL": self.database_url}))

    def runtime(self, db: Database, clock: Clock) -> Runtime:
        """What a worker or a CLI command of this deployment works with, in this process."""
        return Runtime(db, self.hooks(), clock, script_time_limit=2.0, partners=self.directory())

    # ------------------------------------------------------------ the server process

    def start(self) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("NRMFLOW_")}
        environment |= {
            "NRMFLOW_DATABASE_URL": self.database_url,
            "NRMFLOW_PARTNERS_FILE": str(self.partners_file),
            "NRMFLOW_SECRET_KEY": f"{self.name}-test-secret-key-{os.urandom(8).hex()}",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=127.0.0.1:{self.port}",
            "--workers=1",
            "--timeout=30",
            "--no-control-socket",  # the default path is shared by every gunicorn of the user
            "web.wsgi:app",
        ]
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the kill takes the workers too
            )
        self._wait_until_answering()

    def kill(self) -> None:
        """SIGKILL the whole server: no graceful shutdown, as when a host fails."""
        if self.server is None:
            return
        with contextlib.suppress(ProcessLookupError):  # it died by itself
            os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait(timeout=10)
        self.server = None
        self._wait_until_refusing()

    def _wait_until_refusing(self) -> None:
        """Until the port refuses: the master is reaped before its killed workers let go of
        the listening socket, and a connection in that moment is accepted, then dropped."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except ConnectionRefusedError:
                return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} still accepts connections after being killed")

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.server is not None
            if self.server.poll() is not None:
                raise AssertionError(f"{self.name} server exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise AssertionError(f"{self.name} server did not answer:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
