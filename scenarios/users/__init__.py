"""Abstract Locust users: a base that paces and picks actions, and one base per domain of the API."""
