"""Locustfile: the orders scenario (orders, their transitions, the customer dashboard).

Run alone: `locust -f scenarios/orders.py --host URL --bench-keys DIR [--bench-mix read-heavy] ...`
"""

from scenarios.users.orders import OrdersUser


class Orders(OrdersUser):
    pass
