"""`bench run`: start what a run needs, drive it with Locust, sample it, and leave a run directory."""
