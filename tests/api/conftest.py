"""Fixtures of the edge tests (besides tests/conftest.py)."""

from tests.api.vendors import vendors

__all__ = ["vendors"]
