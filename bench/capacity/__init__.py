"""Capacity planning without servers: the rate search, the Universal Scalability Law fit and node planning."""
