"""What `bench run` samples once a second besides Locust: processes, PostgreSQL's counters, the target's /stats."""
