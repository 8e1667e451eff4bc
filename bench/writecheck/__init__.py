"""The acknowledged-writes check: every write the load generator logged, held against the store and the read side."""
