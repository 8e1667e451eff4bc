"""The contract's endpoints, each once: its method, path template, name and kind for the report.

Pure data, cheap to import: the app builds its routes from it, the Locust workers name their
requests after it and the report groups endpoints by its kinds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

Method = Literal["GET", "POST"]


class Kind(enum.Enum):
    READ = "read"
    HEAVY_READ = "heavy read"  # where the architectures differ: computed by CRUD, precomputed by CQRS
    WRITE = "write"


_METHOD_OF_KIND: dict[Kind, Method] = {Kind.READ: "GET", Kind.HEAVY_READ: "GET", Kind.WRITE: "POST"}
PATH_ID = "{id}"


@dataclass(frozen=True)
class Endpoint:
    method: Method
    path: str  # template; PATH_ID stands for the id in the path
    kind: Kind

    def __post_init__(self) -> None:
        if _METHOD_OF_KIND[self.kind] != self.method:
            raise ValueError(f"{self.name}: a {self.kind.value} is a {_METHOD_OF_KIND[self.kind]}")

    @property
    def name(self) -> str:
        """The name requests to it carry in Locust and the run directory, e.g. 'GET /accounts/{id}'."""
        return f"{self.method} {self.path}"

    def path_for(self, id: str | None = None) -> str:
        """The path of a request to this endpoint, with `id` in place of PATH_ID."""
        if (PATH_ID in self.path) != (id is not None):
            raise ValueError(f"{self.name}: expected {'an id' if id is None else 'no id'}")
        return self.path if id is None else self.path.replace(PATH_ID, id)


def is_query(endpoint: Endpoint) -> bool:
    """Whether the endpoint reads (the query side serves it) rather than writes."""
    return endpoint.kind is not Kind.WRITE


OPEN_ACCOUNT = Endpoint("POST", "/accounts", Kind.WRITE)
DEPOSIT = Endpoint("POST", "/accounts/{id}/deposits", Kind.WRITE)
WITHDRAW = Endpoint("POST", "/accounts/{id}/withdrawals", Kind.WRITE)
GET_ACCOUNT = Endpoint("GET", "/accounts/{id}", Kind.READ)
STATEMENT = Endpoint("GET", "/accounts/{id}/statement", Kind.HEAVY_READ)
CREATE_ORDER = Endpoint("POST", "/orders", Kind.WRITE)
PAY_ORDER = Endpoint("POST", "/orders/{id}/pay", Kind.WRITE)
SHIP_ORDER = Endpoint("POST", "/orders/{id}/ship", Kind.WRITE)
CANCEL_ORDER = Endpoint("POST", "/orders/{id}/cancel", Kind.WRITE)
GET_ORDER = Endpoint("GET", "/orders/{id}", Kind.READ)
CUSTOMER_ORDERS = Endpoint("GET", "/customers/{id}/orders", Kind.HEAVY_READ)

# In the order of the OpenAPI document's paths.
CONTRACT: tuple[Endpoint, ...] = (
    OPEN_ACCOUNT,
    DEPOSIT,
    WITHDRAW,
    GET_ACCOUNT,
    STATEMENT,
    CREATE_ORDER,
    PAY_ORDER,
    SHIP_ORDER,
    CANCEL_ORDER,
    GET_ORDER,
    CUSTOMER_ORDERS,
)
