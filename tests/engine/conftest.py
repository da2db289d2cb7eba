"""The ``nrmflow`` command line run in-process against the test's database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from engine.db import Database


@pytest.fixture
def nrmflow(db: Database) -> Callable[..., Result]:
    """``nrmflow("db", "upgrade")``: the result, once its exit code is ``expect`` (0 by default)."""
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": db.url})
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return run
