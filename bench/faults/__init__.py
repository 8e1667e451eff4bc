"""Faults injected into a run under load: what they are, how they are applied, and what happened."""
