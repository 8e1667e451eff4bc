"""Statistics over repetitions: means with bootstrap confidence intervals, and deltas between arms."""
