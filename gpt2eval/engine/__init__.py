"""The scoring engine: task contract, rolling windows, batched log-probabilities, shared prefixes, greedy search, work units and their store. Knows no task by name."""
