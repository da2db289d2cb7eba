"""Every ``NRMFLOW_*`` environment variable is read here and nowhere else.

One place means one list of knobs to document, and safe defaults for a local
demo that a production deployment must override explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.retries import RetryPolicy

DEMO_SECRET_KEY = "nrmflow-demo-secret-key-do-not-use-in-production"


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    production: bool
    holiday_country: str
    script_time_limit_seconds: float
    worker_poll_seconds: float
    max_bundle_bytes: int
    session_timeout_minutes: float = 30
    sign_in_max_failures: int = 5
    sign_in_lockout_minutes: float = 15
    # failed password sign-ins one address may make per window (engine/sign_in_limits.py)
    sign_in_address_max_failures: int = 20
    sign_in_address_window_minutes: float = 15
    # NRMFLOW_MODE=training: the clock can be moved forward to rehearse cases; never in live use
    training: bool = False
    # JSON file naming the partner deployments messages go to (engine/partners.py)
    partners_file: str | None = None
    # automatic retries before an incident: NRMFLOW_*_RETRIES times, doubling from the base
    outbox_retry_seconds: float = 300
    outbox_max_retry_seconds: float = 3600
    outbox_retries: int = 3
    timer_retry_seconds: float = 60
    timer_retries: int = 3
    # reverse proxies in front whose X-Forwarded-For/-Proto the app believes (web/__init__.py)
    trusted_proxies: int = 0
    # a closed case whose process set no retention date is erased this long after closing
    retention_days: int = 6 * 365 + 2

    def outbox_retry(self) -> RetryPolicy:
        return RetryPolicy(
            self.outbox_retry_seconds, self.outbox_max_retry_seconds, self.outbox_retries
        )

    def timer_retry(self) -> RetryPolicy:
        return RetryPolicy(
            self.timer_retry_seconds, self.outbox_max_retry_seconds, self.timer_retries
        )


def default_database_url() -> str:
    """The embedded demo database lives under ``var/`` of the working directory."""
    return f"sqlite:///{Path('var/nrmflow.db').resolve()}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("NRMFLOW_DATABASE_URL") or default_database_url(),
        secret_key=env.get("NRMFLOW_SECRET_KEY") or DEMO_SECRET_KEY,
        production=env.get("NRMFLOW_ENV", "development") == "production",
        holiday_country=env.get("NRMFLOW_HOLIDAY_COUNTRY", "GB"),
        script_time_limit_seconds=float(env.get("NRMFLOW_SCRIPT_TIME_LIMIT", "2.0")),
        worker_poll_seconds=float(env.get("NRMFLOW_WORKER_POLL_SECONDS", "5")),
        max_bundle_bytes=int(env.get("NRMFLOW_MAX_BUNDLE_BYTES", str(5 * 1024 * 1024))),
        session_timeout_minutes=float(env.get("NRMFLOW_SESSION_TIMEOUT_MINUTES", "30")),
        sign_in_max_failures=int(env.get("NRMFLOW_SIGN_IN_MAX_FAILURES", "5")),
        sign_in_lockout_minutes=float(env.get("NRMFLOW_SIGN_IN_LOCKOUT_MINUTES", "15")),
        sign_in_address_max_failures=int(env.get("NRMFLOW_SIGN_IN_ADDRESS_MAX_FAILURES", "20")),
        sign_in_address_window_minutes=float(
            env.get("NRMFLOW_SIGN_IN_ADDRESS_WINDOW_MINUTES", "15")
        ),
        training=_mode(env.get("NRMFLOW_MODE", "production")) == "training",
        partners_file=env.get("NRMFLOW_PARTNERS_FILE") or None,
        outbox_retry_seconds=float(env.get("NRMFLOW_OUTBOX_RETRY_SECONDS", "300")),
        outbox_max_retry_seconds=float(env.get("NRMFLOW_OUTBOX_MAX_RETRY_SECONDS", "3600")),
        outbox_retries=int(env.get("NRMFLOW_OUTBOX_RETRIES", "3")),
        timer_retry_seconds=float(env.get("NRMFLOW_TIMER_RETRY_SECONDS", "60")),
        timer_retries=int(env.get("NRMFLOW_TIMER_RETRIES", "3")),
        trusted_proxies=int(env.get("NRMFLOW_TRUSTED_PROXIES", "0")),
        retention_days=int(env.get("NRMFLOW_RETENTION_DAYS", str(6 * 365 + 2))),
    )


MODES = ("production", "training")


def _mode(value: str) -> str:
    """A misspelt mode must not quietly become production or training."""
    if value not in MODES:
        raise ValueError(f"NRMFLOW_MODE must be one of {', '.join(MODES)}, not '{value}'")
    return value


class InsecureConfiguration(RuntimeError):
    """Raised at start-up so a production server never runs with demo secrets."""


MIN_SECRET_KEY_LENGTH = 32  # it signs sessions: whoever guesses it signs in as anyone


def check_production_ready(settings: Settings) -> None:
    key = settings.secret_key
    if settings.production and (key == DEMO_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH):
        raise InsecureConfiguration(
            "NRMFLOW_ENV=production needs NRMFLOW_SECRET_KEY set to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
