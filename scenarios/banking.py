"""Locustfile: the banking scenario (accounts, deposits, withdrawals, statements).

Run alone: `locust -f scenarios/banking.py --host URL --bench-keys DIR [--bench-mix read-heavy] ...`
"""

from scenarios.users.banking import BankingUser


class Banking(BankingUser):
    pass
