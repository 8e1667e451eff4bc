"""URL surgery for DSNs and Redis URLs: replacing one part, and removing secrets for the record."""

from collections.abc import Collection
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

_SECRET_QUERY_KEYS = frozenset({"password", "passfile", "sslpassword"})


def unsplit_url(parts: SplitResult) -> str:
    """urlunsplit, but keeping the "//" of a URL with an empty host (unix:///run/redis.sock)."""
    url = urlunsplit(parts)
    if parts.scheme and not parts.netloc and not url.startswith(f"{parts.scheme}://"):
        url = f"{parts.scheme}://{url.removeprefix(parts.scheme + ':')}"
    return url


def query_without(query: str, keys: Collection[str]) -> str:
    """`query` without the parameters named `keys` (case-insensitive), the rest exactly as written."""
    lowered = {key.lower() for key in keys}
    kept = [pair for pair in query.split("&") if pair and unquote(pair.partition("=")[0]).lower() not in lowered]
    return "&".join(kept)


def redact_url(url: str) -> str:
    """Return `url` without any password, in the netloc or in the query string."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, hosts = netloc.rpartition("@")
        user = credentials.partition(":")[0]
        netloc = f"{user}@{hosts}" if user else hosts
    return unsplit_url(parts._replace(netloc=netloc, query=query_without(parts.query, _SECRET_QUERY_KEYS)))
