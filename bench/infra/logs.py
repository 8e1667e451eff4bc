"""Server log excerpts for error messages."""

from pathlib import Path


def log_size(path: Path) -> int:
    """The current size of `path` (0 if missing), to read later only what a new attempt wrote."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_tail(path: Path, *, since: int = 0, lines: int = 30) -> str:
    """The last `lines` lines written to `path` after byte offset `since`, introduced by the file name.

    Only the name: the file usually lives in a temp dir that is gone by the time anyone reads this.
    """
    try:
        with open(path, "rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path.name} was not written)"
    tail = text.rstrip().splitlines()[-lines:]
    if not tail:
        return f"({path.name} is empty)"
    return f"Last lines of {path.name}:\n" + "\n".join(tail)
