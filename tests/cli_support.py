"""`bench` in-process: the exit code and messages the console script gives, without an interpreter per call."""

from __future__ import annotations

from click.testing import CliRunner, Result

from bench.cli import cli


class BenchCli:
    """Calls `bench` with CliRunner, for what ends before servers, signals or process trees matter (usage errors)."""

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        # An exception that escapes the command is a bug: it fails the test with its own traceback.
        return CliRunner().invoke(cli, list(args), env=env, prog_name="bench", catch_exceptions=False)
