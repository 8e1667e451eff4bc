"""Names shared by the scenarios and the harness, importable without importing Locust."""

ENDPOINTS = ("get_account", "deposit", "statement")
