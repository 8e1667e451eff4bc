"""What the run manifest records about each server."""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerInfo:
    kind: str  # "postgres" | "redis"
    mode: str  # "embedded" | "external"
    version: str
    settings: dict[str, str]
    address: str  # never contains a password

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)
