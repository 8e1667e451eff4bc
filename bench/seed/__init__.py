"""Seeding: one deterministic data set per seed, loaded into whichever target a run drives."""
