"""Where the commands that run load talk to people: standard error, so that standard output stays for scripts."""

from __future__ import annotations

import sys

from rich.console import Console

# Tables wider than a pipe's default 80 columns: endpoint names are long.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
