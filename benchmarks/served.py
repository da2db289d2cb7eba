"""An nrmflow deployment in processes of its own, as an operator runs one, on loopback.

gunicorn serves ``web.wsgi:app`` and ``nrmflow worker`` fires the timers, both
on one database and in training mode (so a client may move the clock on).
The crash harness SIGKILLs these processes at random moments and the soak
samples their memory, so each is reachable by its process id: the gunicorn
master, the web workers it forks, the timer worker.
"""

from __future__ import annotations

import contextlib
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

ROOT = Path(__file__).resolve().parents[1]
NRMFLOW = [sys.executable, "-c", "from cli.main import main; main()"]
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
COMMAND_TIMEOUT_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``, read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # the command name is in parentheses and may hold spaces; the parent id follows its state
        state_and_parent = stat.rsplit(")", 1)[1].split()
        if int(state_and_parent[1]) == pid and state_and_parent[0] != "Z":
            children.append(int(entry.name))
    return sorted(children)


def rss_kib(pid: int) -> int | None:
    """Resident memory of ``pid`` in KiB, or None once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class Served:
    """gunicorn and the timer worker on ``database_url``; logs go to files under ``home``."""

    database_url: str
    home: Path
    web_workers: int = 1
    threads: int = 1  # more than one runs gunicorn's threaded worker
    preload: bool = False  # load the app in the master: a killed worker is back in milliseconds
    worker_poll_seconds: float = 0.5
    port: int = field(default_factory=free_port)
    secret_key: str = field(default_factory=lambda: f"load-{os.urandom(16).hex()}")
    server: subprocess.Popen[bytes] | None = None
    timer_worker: subprocess.Popen[bytes] | None = None
    timer_worker_started_at: float = 0.0  # time.monotonic() when it was last started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_log(self) -> Path:
        return self.home / "server.log"

    @property
    def worker_log(self) -> Path:
        return self.home / "worker.log"

    def environment(self) -> dict[str, str]:
        return _without_nrmflow_settings() | {
            "NRMFLOW_DATABASE_URL": self.database_url,
            "NRMFLOW_MODE": "training",
            "NRMFLOW_SECRET_KEY": self.secret_key,
            "NRMFLOW_WORKER_POLL_SECONDS": str(self.worker_poll_seconds),
        }

    def prepare(self) -> None:
        """The schema and the NRM library in an empty database, as ``make run`` puts them there."""
        self.nrmflow("db", "upgrade")
        self.nrmflow("deploy-all", "bpmn")

    def nrmflow(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """An ``nrmflow`` command on this deployment, as its operator would type it."""
        return subprocess.run(
            [*NRMFLOW, *arguments],
            cwd=ROOT,
            env=self.environment(),
            check=check,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.start_server()
        self.start_timer_worker()

    def start_server(self) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.web_workers}",
            f"--threads={self.threads}",
            "--worker-class=gthread" if self.threads > 1 else "--worker-class=sync",
            "--timeout=60",
            "--no-control-socket",  # the default path is shared by every gunicorn of the user
            *(["--preload"] if self.preload else []),
            "web.wsgi:app",
        ]
        self.server = self._spawn(command, self.server_log)
        self._wait_until_answering()

    def start_timer_worker(self) -> None:
        self.timer_worker = self._spawn([*NRMFLOW, "worker"], self.worker_log)
        self.timer_worker_started_at = time.monotonic()

    def kill_timer_worker(self) -> None:
        """SIGKILL the timer worker, wherever it was in its pass."""
        if self.timer_worker is not None:
            _kill(self.timer_worker)
            self.timer_worker = None

    def web_worker_pids(self, wait_seconds: float = START_TIMEOUT_SECONDS) -> list[int]:
        """The web workers now serving; waits while the master forks a replacement."""
        assert self.server is not None
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_tail(self.server_log)}")
            workers = children_of(self.server.pid)
            if workers:
                return workers
            time.sleep(0.01)
        raise RuntimeError(f"gunicorn forked no worker:\n{log_tail(self.server_log)}")

    def processes(self) -> dict[str, int]:
        """Every process of the deployment by a label, for sampling memory."""
        assert self.server is not None and self.timer_worker is not None
        workers = {f"web worker {pid}": pid for pid in children_of(self.server.pid)}
        return {
            "gunicorn master": self.server.pid,
            **workers,
            "timer worker": self.timer_worker.pid,
        }

    def stop(self) -> None:
        """Stop both as a service manager would (SIGTERM), killing what does not go in time."""
        for process in (self.timer_worker, self.server):
            if process is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                _kill(process)
        self.server = self.timer_worker = None

    def _spawn(self, command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
        with log_file.open("ab") as log:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a Ctrl-C here does not reach it
            )

    def _wait_until_answering(self) -> None:
        assert self.server is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_tail(self.server_log)}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer:\n{log_tail(self.server_log)}")


def log_tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it died by itself
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _without_nrmflow_settings() -> dict[str, str]:
    """This process's environment minus its own ``NRMFLOW_*`` settings, which are not the
    deployment's."""
    return {name: value for name, value in os.environ.items() if not name.startswith("NRMFLOW_")}
