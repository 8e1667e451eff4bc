"""Locustfile: banking and orders together, each user acting in both domains.

Run alone: `locust -f scenarios/mixed.py --host URL --bench-keys DIR [--bench-mix read-heavy] ...`
"""

from typing import ClassVar

from scenarios.mix import BANKING, ORDERS, Domain
from scenarios.users.banking import BankingUser
from scenarios.users.orders import OrdersUser


class Mixed(BankingUser, OrdersUser):
    domains: ClassVar[tuple[Domain, ...]] = (BANKING, ORDERS)
