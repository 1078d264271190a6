"""Errors of the runtime.

AmasError
 └── NatsServerError   the nats-server binary is missing or did not start (also RuntimeError)
"""

from __future__ import annotations


class AmasError(Exception):
    """Root of every error raised by `amas.runtime`."""


class NatsServerError(AmasError, RuntimeError):
    """The nats-server binary is missing or did not start."""
