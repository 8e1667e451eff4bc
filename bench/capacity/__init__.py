"""Capacity planning: the rate search, the Universal Scalability Law fit, node planning (all pure), and
`bench sweep`'s orchestration and report."""
