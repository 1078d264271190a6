"""Queries on the projections (and audit reads of the log): the read side, for the edge,
the CLI and the actors that load their state at start."""
