"""The runtime: the composition root that boots NATS, the store, the actors and the edge."""
