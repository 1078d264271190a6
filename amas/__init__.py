"""AMAS: a multi-agent task platform on NATS, pykka actors and an append-only event log."""

__version__ = "0.1.0"
